//! opsrun as a library: load or build tasks, plan them as a DAG, run them with health gates,
//! resume and cancellation, and consume what happens as events.
//!
//! Embedders depend on this crate with `default-features = false`, which leaves out the
//! command line (clap), the terminal renderers (indicatif) and logging setup
//! (tracing-subscriber); the `report` feature adds the renderers back.
//!
//! - [`Project`] loads a `tasks.toml` or a go-task `Taskfile.yml` (or takes a spec
//!   [built in code](spec::build)) and plans targets or a pipeline, with command-line-style
//!   variables;
//! - [`Runner`] runs a plan: a required [`SignalPolicy`], a [`CancelToken`], custom gate
//!   [`Probe`]s, events as a stream or through sinks, state for resume. Secrets the plan knows
//!   are masked in everything it reports;
//! - the crates underneath are re-exported as modules: [`spec`], [`taskfile`] (the Taskfile
//!   conversion behind `opsrun import`), [`plan`], [`engine`], [`event`], [`change`] (and
//!   `report` with that feature).
//!
//! ```
//! use opsrun::spec::build::{GateBuilder, SpecBuilder, TaskBuilder};
//! use opsrun::{Project, ProbeContext, ProbeResult, Runner, SignalPolicy};
//! use opsrun::event::{Event, RunOutcome};
//!
//! # fn main() -> Result<(), opsrun::Error> {
//! let dir = std::env::temp_dir();
//! let spec = SpecBuilder::new(&dir)
//!     .task(TaskBuilder::new("cni").cmd("echo installing the CNI"))
//!     .task(
//!         TaskBuilder::new("secrets")
//!             .dep("cni")
//!             .cmd("echo installing the secrets operator")
//!             .gate(GateBuilder::probe("operator-ready").interval("10ms").success_threshold(1)),
//!     )
//!     .pipeline("bootstrap", ["secrets"])
//!     .build()?;
//! let plan = Project::new(spec).pipeline("bootstrap")?;
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let report = runtime.block_on(async {
//!     let mut runner = Runner::new(SignalPolicy::None)
//!         .probe("operator-ready", |ctx: ProbeContext| async move { ProbeResult::pass(format!("{} is up", ctx.task)) });
//!     let mut events = runner.events();
//!     let report = runner.run(plan).await?;
//!     let mut finished = Vec::new();
//!     while let Some(e) = events.next().await {
//!         if let Event::TaskFinished { task, .. } = e.event {
//!             finished.push(task);
//!         }
//!     }
//!     assert_eq!(finished, ["cni", "secrets"]);
//!     Ok::<_, opsrun::Error>(report)
//! })?;
//! assert_eq!(report.outcome, RunOutcome::Succeeded);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

use std::path::Path;

use indexmap::IndexMap;

pub use opsrun_change as change;
pub use opsrun_engine as engine;
pub use opsrun_event as event;
pub use opsrun_plan as plan;
#[cfg(feature = "report")]
pub use opsrun_report as report;
pub use opsrun_spec as spec;
pub use opsrun_taskfile as taskfile;

pub use opsrun_engine::{
    CancelToken, EngineError, EventStream, Probe, ProbeContext, ProbeRegistry, ProbeResult, RunReport, Runner,
    SignalPolicy, StopSignal,
};
pub use opsrun_plan::{Plan, PlanError, PlanOptions};
pub use opsrun_spec::{Spec, SpecError};

/// Anything that can go wrong before or while running: a bad spec, a plan that cannot be built,
/// or a run that could not start or record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The tasks file or the spec built in code is invalid ([`SpecError::render`] shows it
    /// with source snippets).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The targets cannot be planned (unknown task, cycle through call vars, ...).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The run could not start or record (locked state directory, unregistered probe, I/O).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// No pipeline of that name.
    #[error("no pipeline `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownPipeline {
        /// What was asked for.
        name: String,
        /// The closest pipeline name.
        suggestion: Option<String>,
    },
}

/// A spec and the variables of one invocation: what `opsrun -f FILE VAR=value ...` holds before
/// it plans.
#[derive(Debug)]
pub struct Project {
    spec: Spec,
    vars: IndexMap<String, String>,
}

impl Project {
    /// A project over a spec (loaded, or [built in code](spec::build::SpecBuilder)).
    pub fn new(spec: Spec) -> Self {
        Self { spec, vars: IndexMap::new() }
    }

    /// Loads a `tasks.toml` and the files it includes, or a go-task `Taskfile.yml` (a `.yml` or
    /// `.yaml` file), converted as `opsrun import` converts it.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        if opsrun_taskfile::is_taskfile(path) {
            return Ok(Self::new(opsrun_taskfile::load(path)?.spec));
        }
        Ok(Self::new(opsrun_spec::load(path)?))
    }

    /// Sets a variable as `VAR=value` on the command line does (over every file and task
    /// value; a name like `*TOKEN*` or `*PASSWORD*` makes the value a masked secret).
    #[must_use]
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// The spec.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Plans `targets` (tasks, with their dependencies; internal tasks allowed), run one after
    /// the other as `opsrun run a b` does.
    pub fn tasks<S: AsRef<str>>(&self, targets: &[S]) -> Result<Plan, Error> {
        let targets: Vec<String> = targets.iter().map(|t| t.as_ref().to_string()).collect();
        self.plan(&targets, &PlanOptions { allow_internal: true, sequential: true, ..PlanOptions::default() })
    }

    /// Plans the pipeline `name`: its targets and everything they depend on, as one DAG.
    pub fn pipeline(&self, name: &str) -> Result<Plan, Error> {
        self.pipeline_with(name, PlanOptions::default())
    }

    /// Plans the pipeline `name` narrowed or forced by `options` (`from`, `only`).
    pub fn pipeline_with(&self, name: &str, options: PlanOptions) -> Result<Plan, Error> {
        let Some(pipeline) = self.spec.pipelines.get(name) else {
            return Err(Error::UnknownPipeline {
                name: name.to_string(),
                suggestion: opsrun_spec::did_you_mean(name, self.spec.pipelines.keys().map(String::as_str))
                    .map(str::to_string),
            });
        };
        self.plan(&pipeline.targets, &PlanOptions { allow_internal: true, ..options })
    }

    fn plan(&self, targets: &[String], options: &PlanOptions) -> Result<Plan, Error> {
        let invocation = opsrun_spec::Invocation {
            vars: self.vars.clone(),
            working_dir: self.spec.root_dir.clone(),
            ..opsrun_spec::Invocation::default()
        };
        let resolver = opsrun_spec::Resolver::new(&self.spec, invocation);
        Ok(Plan::build(&resolver, targets, options)?)
    }
}
