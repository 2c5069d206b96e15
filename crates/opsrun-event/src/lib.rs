//! `opsrun-event`: the seam between the engine and everything that shows or records a run.
//!
//! The engine produces [`EventEnvelope`]s and hands them to an [`EventSink`]; terminal
//! renderers, the JSON-lines output, the run journal and embedders are all sinks. Keeping the
//! types in their own crate means renderers cannot reach into the engine, and embedders can
//! consume events without depending on the scheduler.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use opsrun_event::{Event, EventEnvelope, EventSink, Stream};
//!
//! let lines = Arc::new(Mutex::new(Vec::new()));
//! let seen = Arc::clone(&lines);
//! let sink = move |e: &EventEnvelope| {
//!     if let Event::Output { line, .. } = &e.event {
//!         seen.lock().unwrap().push(line.clone());
//!     }
//! };
//! sink.emit(&EventEnvelope {
//!     v: opsrun_event::EVENT_SCHEMA_VERSION,
//!     ts: jiff::Timestamp::UNIX_EPOCH,
//!     run: "r1".into(),
//!     event: Event::Output { task: "talos".into(), stream: Stream::Stdout, line: "hello".into() },
//! });
//! assert_eq!(*lines.lock().unwrap(), ["hello"]);
//! ```

#![warn(missing_docs)]

mod event;
mod lines;
mod utc;

pub use event::*;
pub use lines::{LineBuf, LineIter, LineSlice};
pub use utc::{Fraction, write_utc};
