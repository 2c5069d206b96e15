//! Helpers for the unit tests: an in-memory writer and an envelope builder.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use opsrun_event::{EVENT_SCHEMA_VERSION, Event, EventEnvelope};

/// A writer whose bytes can be read back while the reporter still owns a clone.
#[derive(Clone, Default)]
pub(crate) struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) fn envelope(event: Event) -> EventEnvelope {
    EventEnvelope { v: EVENT_SCHEMA_VERSION, ts: jiff::Timestamp::UNIX_EPOCH, run: "r1".into(), event }
}
