//! `opsrun-report`: turns the engine's [`Event`](opsrun_event::Event) stream into output.
//!
//! Three renderers consume the same events through the [`Reporter`] trait (an
//! [`EventSink`] that can be finished):
//!
//! - [`BarsReporter`]: live indicatif progress bars on an interactive terminal;
//! - [`PlainReporter`]: `[task] line` output and status lines for pipes and CI, never an escape
//!   sequence, with a heartbeat while a health gate waits;
//! - [`JsonReporter`]: one versioned JSON object per event (schema in `docs/events.md`).
//!
//! Bars and plain output end with a summary built by [`RunSummary`] and [`render_summary`].
//! After a run, its journal folds into a [`RunTimeline`], rendered by [`render_html`] (a
//! self-contained page with an SVG timeline) or [`render_markdown`] (`opsrun report`).
//! Which renderer runs is decided by [`resolve`] from the requested [`OutputMode`] and the
//! [`TerminalInfo`] the CLI detected; this crate never looks at the terminal itself, and nothing
//! here affects scheduling.
//!
//! ```
//! use opsrun_report::{OutputMode, Renderer, ReportOptions, TerminalInfo, reporter, resolve};
//!
//! let term = TerminalInfo { stderr_is_tty: true, ci: true, term_dumb: false };
//! let renderer = resolve("auto".parse()?, &term);
//! assert_eq!(renderer, Renderer::Plain); // CI gets plain lines even on a terminal
//!
//! let report = reporter(renderer, ReportOptions::default());
//! // Runner::new(SignalPolicy::Standard).sink(report.clone()).run(plan).await ...
//! report.finish();
//! # Ok::<(), opsrun_report::ParseOutputModeError>(())
//! ```

#![warn(missing_docs)]

mod bars;
mod board;
mod document;
mod json;
mod mode;
mod options;
mod plain;
mod summary;
mod task_output;
#[cfg(test)]
mod testing;
mod text;
mod timeline;
mod writer;

use std::sync::Arc;

use opsrun_event::EventSink;

pub use bars::BarsReporter;
pub use document::{render_html, render_markdown, render_svg};
pub use json::JsonReporter;
pub use mode::{OutputMode, ParseOutputModeError, Renderer, TerminalInfo, resolve};
pub use options::ReportOptions;
pub use plain::{HEARTBEAT_INTERVAL, PlainReporter};
pub use summary::{OUTPUT_TAIL_LINES, RunSummary, render_summary};
pub use timeline::{GateSpan, ProbeMark, REPORT_TAIL_LINES, RunTimeline, TaskSpan};

/// An [`EventSink`] that draws a run, and can be told the run is over.
pub trait Reporter: EventSink {
    /// Clears the bars, stops background threads and flushes. Calling it again does nothing.
    fn finish(&self);
}

/// The reporter for `renderer` on the real stdout and stderr.
pub fn reporter(renderer: Renderer, options: ReportOptions) -> Arc<dyn Reporter> {
    match renderer {
        Renderer::Bars => Arc::new(BarsReporter::new(options)),
        Renderer::Plain => {
            Arc::new(PlainReporter::new(Box::new(std::io::stdout()), Box::new(std::io::stderr()), options))
        }
        Renderer::Json => Arc::new(JsonReporter::new(Box::new(std::io::stdout()))),
    }
}
