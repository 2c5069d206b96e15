//! `opsrun-engine`: runs a [`Plan`](opsrun_plan::Plan).
//!
//! A [`Runner`] schedules the plan's DAG on tokio (independent tasks in parallel up to `jobs`),
//! runs each command with `sh -c` in its own process group (killed when the run is dropped or
//! cancelled), waits on health gates (`cmd`, `http`, `tcp`, or a [`Probe`] written in Rust),
//! persists state ([`StateStore`]) and a journal ([`RunJournal`]) under one lock ([`RunLock`]),
//! and handles signals as its [`SignalPolicy`] says. It reports everything as
//! [`opsrun_event::Event`]s, masked with the plan's [`Masker`], to sinks and an [`EventStream`],
//! and never prints.
//!
//! ```
//! use std::path::Path;
//! use opsrun_engine::{Runner, SignalPolicy};
//! use opsrun_event::RunOutcome;
//! use opsrun_plan::{Plan, PlanOptions};
//! use opsrun_spec::{Invocation, Resolver};
//!
//! let spec = opsrun_spec::load_str(Path::new("/tmp/tasks.toml"), r#"
//!     [tasks.hello]
//!     cmds = ["echo hello"]
//! "#)?;
//! let resolver = Resolver::new(&spec, Invocation::default());
//! let plan = Plan::build(&resolver, &["hello".into()], &PlanOptions::default())?;
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let mut runner = Runner::new(SignalPolicy::None);
//! let mut events = runner.events();
//! let report = runtime.block_on(runner.run(plan))?;
//! assert_eq!(report.outcome, RunOutcome::Succeeded);
//! let mut lines = Vec::new();
//! while let Some(e) = events.try_next() {
//!     if let opsrun_event::Event::Output { line, .. } = e.event {
//!         lines.push(line);
//!     }
//! }
//! assert_eq!(lines, ["hello"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod assess;
mod decide;
mod error;
mod explain;
mod fault;
mod fingerprint;
mod gate;
mod journal;
mod lock;
mod orphans;
mod preflight;
mod private_fs;
mod probe;
mod recovery;
mod run;
mod runner;
mod schedule;
mod signal;
mod sources;
mod state;
mod unit;

pub use assess::{StageHealth, assess};
pub use error::EngineError;
pub use explain::{Explanation, explain, predict};
pub use fingerprint::{Fingerprint, matching_files};
pub use journal::{
    JOURNAL_OUTPUT_BYTES, JOURNAL_OUTPUT_TAIL, MAX_LOG_BYTES, RunInfo, RunJournal, TaskLogs, file_name, list_runs,
    read_journal,
};
pub use lock::{LockInfo, NESTED_TOKEN_ENV, RunLock, host_name, user_name};
pub use opsrun_spec::{MASK, Masker};
/// Private files under `.opsrun/` (for the CLI's own state files: overrides, audit log).
pub mod fs {
    pub use crate::private_fs::{create_dir, create_new, open_append, open_write, truncate, write_atomic};
}
pub use preflight::{CheckKind, PREFLIGHT_TIMEOUT, PreflightCheck, PreflightReport, preflight};
pub use probe::{Probe, ProbeContext, ProbeFuture, ProbeRegistry, ProbeResult};
pub use recovery::{Recovery, RecoveryStep, plan_recovery, repair_commands};
pub use run::{CancelToken, RunReport, new_run_id};
pub use runner::{EventStream, Runner};
pub use signal::{SignalPolicy, StopSignal};
pub use sources::SourceCache;
pub use state::{RecordStatus, STATE_VERSION, State, StateStore, TaskRecord};
