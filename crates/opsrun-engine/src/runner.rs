//! The entry point for running a plan: [`Runner`], a builder with a required signal policy.
//!
//! Everything a run needs that is not in the [`Plan`] is set here: parallelism, resume, where
//! state lives (and with it the cache of source digests), custom probes, where events go, and
//! how the run can be stopped. Masking is not an option: the plan carries its resolver's
//! [`Masker`](opsrun_spec::Masker), and the run masks every command echo, output line, gate
//! detail and message with it.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use opsrun_event::{EventEnvelope, EventSink, FanOut, RunMode};
use opsrun_plan::Plan;
use tokio::sync::mpsc;

use crate::error::EngineError;
use crate::probe::{Probe, ProbeRegistry};
use crate::run::{CancelReceiver, CancelToken, RunOptions, RunReport};
use crate::signal::SignalPolicy;
use crate::sources::SourceCache;

/// Runs a [`Plan`]: configure, then [`Runner::run`].
///
/// ```no_run
/// use std::path::Path;
/// use opsrun_engine::{Runner, SignalPolicy};
/// use opsrun_plan::{Plan, PlanOptions};
/// use opsrun_spec::{Invocation, Resolver};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let spec = opsrun_spec::load(Path::new("tasks.toml"))?;
/// let resolver = Resolver::new(&spec, Invocation::default());
/// let plan = Plan::build(&resolver, &["flux".into()], &PlanOptions::default())?;
/// let mut runner = Runner::new(SignalPolicy::None).jobs(4);
/// let mut events = runner.events();
/// let stop = runner.cancel_token();
/// let run = tokio::spawn(runner.run(plan));
/// while let Some(e) = events.next().await {
///     println!("{}", serde_json::to_string(&e)?);
/// #   stop.cancel();
/// }
/// let report = run.await??;
/// println!("{:?}", report.outcome);
/// # Ok(()) }
/// ```
#[must_use = "a Runner does nothing until `run` is awaited"]
pub struct Runner {
    options: RunOptions,
    sinks: Vec<Arc<dyn EventSink>>,
    secrets: Vec<String>,
    cancel: CancelToken,
    cancel_rx: CancelReceiver,
    sources: Option<SourceCache>,
}

impl Runner {
    /// A runner with opsrun's defaults (one job per CPU, no state, no resume, 10 s grace) and the
    /// given signal policy, which has no default: say whether the run may take SIGINT.
    pub fn new(signals: SignalPolicy) -> Self {
        let (cancel, cancel_rx) = CancelToken::new();
        Self {
            options: RunOptions::new(signals),
            sinks: Vec::new(),
            secrets: Vec::new(),
            cancel,
            cancel_rx,
            sources: None,
        }
    }

    /// At most `jobs` tasks at once (at least 1).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.options.jobs = jobs.max(1);
        self
    }

    /// On a failure, keep running the branches that do not depend on it.
    pub fn keep_going(mut self, keep_going: bool) -> Self {
        self.options.keep_going = keep_going;
        self
    }

    /// Run every task, ignoring `status`/`sources` checks and saved state.
    pub fn force(mut self, force: bool) -> Self {
        self.options.force = force;
        self
    }

    /// Skip tasks that succeeded in an earlier run with the same fingerprint (needs
    /// [`Runner::state_dir`]).
    pub fn resume(mut self, resume: bool) -> Self {
        self.options.resume = resume;
        self
    }

    /// Keep state, the journal, task logs and the cache of source digests in `dir` (created if
    /// needed; one run at a time holds its lock). Without it a run records nothing, and keeps
    /// the digests of source files for that run only.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.state_dir = Some(dir.into());
        self
    }

    /// Fingerprint source files through `cache` (shared with an [`explain`](crate::explain) or
    /// [`preflight`](crate::preflight) that came before, so the run does not read unchanged
    /// files again) instead of the state directory's. The run saves it when it ends.
    pub fn source_cache(mut self, cache: SourceCache) -> Self {
        self.sources = Some(cache);
        self
    }

    /// Time between forwarding a stop signal (or SIGTERM on a timeout) and SIGKILL.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.options.grace = grace;
        self
    }

    /// What kind of run this is and its name, for events, the journal and the lock (default:
    /// a task run with no name). [`RunMode::Recovery`] runs a task's `recover` commands and
    /// repairs a stage after the forced one only if its gate fails.
    pub fn mode(mut self, mode: RunMode, name: impl Into<String>) -> Self {
        self.options.mode = mode;
        self.options.name = name.into();
        self
    }

    /// The command that resumes this run, shown when it fails (e.g. `opsrun bootstrap`).
    pub fn resume_command(mut self, command: impl Into<String>) -> Self {
        self.options.resume_command = Some(command.into());
        self
    }

    /// Join the run that holds the state directory's lock instead of taking it (an opsrun
    /// started by one of that run's commands; see [`RunLock::joinable`](crate::RunLock::joinable)).
    pub fn join(mut self, parent_run: Option<String>) -> Self {
        self.options.join = parent_run;
        self
    }

    /// Registers a custom gate probe under `name` (see [`Probe`]).
    pub fn probe(mut self, name: impl Into<String>, probe: impl Probe) -> Self {
        self.options.probes.register(name, probe);
        self
    }

    /// Uses these custom probes (replacing those registered so far).
    pub fn probes(mut self, probes: ProbeRegistry) -> Self {
        self.options.probes = probes;
        self
    }

    /// Also masks `value` everywhere (a credential the plan's resolver did not read itself).
    pub fn secret(mut self, value: impl Into<String>) -> Self {
        self.secrets.push(value.into());
        self
    }

    /// Sends every event to `sink` as well, synchronously on the scheduler (keep it quick).
    pub fn sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Every event of the run, in order, through an unbounded channel: the scheduler never
    /// waits for the consumer. The stream ends when the run has finished.
    pub fn events(&mut self) -> EventStream {
        let (tx, rx) = mpsc::unbounded_channel();
        self.sinks.push(Arc::new(ChannelSink(tx)));
        EventStream { rx }
    }

    /// A token that stops this run (see [`CancelToken`]).
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// Runs `plan` to the end, or until it is stopped. Needs a tokio runtime with I/O and time
    /// enabled. Dropping the returned future ends the run's commands (their process groups are
    /// killed), without recording their outcome.
    pub async fn run(mut self, plan: impl Into<Arc<Plan>>) -> Result<RunReport, EngineError> {
        let plan = plan.into();
        for secret in &self.secrets {
            plan.masker().add(secret);
        }
        let sources = match (self.sources, &self.options.state_dir) {
            (Some(cache), _) => cache,
            (None, Some(dir)) => SourceCache::open(dir),
            (None, None) => SourceCache::in_memory(),
        };
        self.options.sources = sources.clone();
        let report = crate::run::run(plan, self.options, Arc::new(FanOut(self.sinks)), Some(self.cancel_rx)).await;
        // Once per run, whatever its outcome: the digests are true either way. A cache that
        // cannot be written is only slower next time.
        if let Err(e) = sources.save() {
            tracing::debug!(error = %e, "source cache not saved");
        }
        report
    }
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("options", &self.options)
            .field("sinks", &self.sinks.len())
            .finish_non_exhaustive()
    }
}

/// Hands events to an [`EventStream`].
struct ChannelSink(mpsc::UnboundedSender<EventEnvelope>);

impl EventSink for ChannelSink {
    fn emit(&self, event: &EventEnvelope) {
        // A consumer that dropped its stream no longer wants events.
        let _ = self.0.send(event.clone());
    }
}

/// The events of one run (from [`Runner::events`]); also a [`futures_core::Stream`].
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::UnboundedReceiver<EventEnvelope>,
}

impl EventStream {
    /// The next event, or `None` once the run has finished and every event was received.
    pub async fn next(&mut self) -> Option<EventEnvelope> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_next(&mut self) -> Option<EventEnvelope> {
        self.rx.try_recv().ok()
    }
}

impl futures_core::Stream for EventStream {
    type Item = EventEnvelope;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EventEnvelope>> {
        self.rx.poll_recv(cx)
    }
}
