//! [`JsonReporter`]: one JSON object per event on stdout, for machines.

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use std::path::PathBuf;

use opsrun_event::{Event, EventEnvelope, EventSink};

use crate::Reporter;
use crate::writer::Console;

/// Writes every [`EventEnvelope`] as one line of JSON (the schema in `docs/events.md`), written per
/// burst of events (see [`EventSink::flush`]), and nothing else.
pub struct JsonReporter {
    out: Mutex<Console>,
}

impl JsonReporter {
    /// A reporter writing JSON lines to `out` (stdout in the CLI).
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self { out: Mutex::new(Console::new(out, Box::new(std::io::sink()))) }
    }
}

impl EventSink for JsonReporter {
    fn emit(&self, event: &EventEnvelope) {
        // Serialise before writing so that a failure can never leave half a line behind.
        let line = match serde_json::to_string(event) {
            Ok(line) => line,
            // JSON cannot hold a path that is not UTF-8; show it lossily rather than drop the event.
            Err(_) => match serde_json::to_string(&lossy_paths(event)) {
                Ok(line) => line,
                Err(_) => return,
            },
        };
        self.out.lock().unwrap_or_else(PoisonError::into_inner).line(opsrun_event::Stream::Stdout, &line);
    }

    fn flush(&self) {
        self.out.lock().unwrap_or_else(PoisonError::into_inner).flush();
    }
}

impl Reporter for JsonReporter {
    fn finish(&self) {
        self.out.lock().unwrap_or_else(PoisonError::into_inner).flush();
    }
}

/// A copy of `event` whose paths are valid UTF-8 (invalid bytes become U+FFFD).
fn lossy_paths(event: &EventEnvelope) -> EventEnvelope {
    let lossy = |p: &PathBuf| PathBuf::from(p.to_string_lossy().into_owned());
    let mut copy = event.clone();
    match &mut copy.event {
        Event::RunStarted { state_dir: Some(dir), .. } => *dir = lossy(dir),
        Event::TaskFinished { log: Some(log), .. } => *log = lossy(log),
        _ => {}
    }
    copy
}
