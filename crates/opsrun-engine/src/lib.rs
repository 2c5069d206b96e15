//! `opsrun-engine`: runs a [`Plan`](opsrun_plan::Plan).
//!
//! [`run`] schedules the plan's DAG on tokio (independent tasks in parallel up to `jobs`),
//! runs each command with `sh -c` in its own process group ([`process`](crate) handling),
//! waits on health gates ([`probe_once`]), persists state ([`StateStore`]) and a journal
//! ([`RunJournal`]) under one lock ([`RunLock`]), and handles signals. It reports everything as
//! [`opsrun_event::Event`]s to an [`EventSink`](opsrun_event::EventSink) and never prints.
//!
//! ```no_run
//! use std::{path::Path, sync::Arc};
//! use opsrun_engine::{Masker, RunOptions, run};
//! use opsrun_plan::{Plan, PlanOptions};
//! use opsrun_spec::{Invocation, Resolver};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = opsrun_spec::load(Path::new("tasks.toml"))?;
//! let resolver = Resolver::new(&spec, Invocation::default());
//! let plan = Plan::build(&resolver, &["flux".into()], &PlanOptions::default())?;
//! let sink = Arc::new(|e: &opsrun_event::EventEnvelope| println!("{}", serde_json::to_string(e).unwrap()));
//! let report = run(Arc::new(plan), RunOptions::default(), Masker::new(resolver.secrets()), sink, None).await?;
//! println!("{:?}", report.outcome);
//! # Ok(()) }
//! ```

mod assess;
mod error;
mod explain;
mod fingerprint;
mod gate;
mod journal;
mod lock;
mod orphans;
mod probe;
mod process;
mod run;
mod runner;
mod signal;
mod state;
mod unit;

pub use assess::{StageHealth, assess};
pub use error::EngineError;
pub use explain::{Explanation, explain};
pub use fingerprint::{Fingerprint, matching_files};
pub use journal::{RunInfo, RunJournal, TaskLogs, file_name, list_runs, read_journal};
pub use lock::{LockInfo, NESTED_TOKEN_ENV, RunLock, host_name, user_name};
pub use opsrun_spec::{MASK, Masker};
pub use probe::{Probe, ProbeContext, ProbeFuture, ProbeRegistry, ProbeResult};
pub use run::{CancelToken, RunReport, new_run_id};
pub use runner::{EventStream, Runner};
pub use signal::{SignalPolicy, StopSignal};
pub use state::{RecordStatus, STATE_VERSION, State, StateStore, TaskRecord};
