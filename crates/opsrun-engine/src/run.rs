//! The dispatcher: schedules a plan's tasks, owns state, reacts to signals.
//!
//! One loop `select!`s over finished units, units' requests, operator signals, control
//! messages and the kill timer. It alone mutates scheduling state and the state file; units run
//! as independent tokio tasks.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opsrun_event::{
    Event, EventEnvelope, EventSink, FanOut, OutputStyle, PlannedTask, RunMode, RunOutcome, TaskOutcome,
};
use opsrun_plan::{Plan, TaskId};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::error::EngineError;
use crate::gate::millis;
use crate::journal::{RunJournal, TaskLogs};
use crate::lock::RunLock;
use crate::probe::ProbeRegistry;
use crate::process::sleep_until_opt;
use crate::signal::{Shutdown, SignalPolicy, Signals, StopSignal};
use crate::state::{RecordStatus, State, StateStore, TaskRecord};
use crate::unit::{CallOptions, Unit, UnitMsg, UnitResult};

/// How to run a plan (built by [`crate::Runner`]).
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    /// The kind of run.
    pub(crate) mode: RunMode,
    /// Pipeline name or targets, for events and the journal.
    pub(crate) name: String,
    /// Maximum tasks at once.
    pub(crate) jobs: usize,
    /// On failure, keep running branches that do not depend on it.
    pub(crate) keep_going: bool,
    /// Ignore `status`/`sources` up-to-date checks and saved state.
    pub(crate) force: bool,
    /// Skip tasks that succeeded before with the same fingerprint (pipelines; off with `--fresh`).
    pub(crate) resume: bool,
    /// Where state, journal, logs and the lock live; `None` records nothing.
    pub(crate) state_dir: Option<PathBuf>,
    /// Time between forwarding a signal (or TERM on timeout) and SIGKILL.
    pub(crate) grace: Duration,
    /// Which signal handlers to install.
    pub(crate) signals: SignalPolicy,
    /// Custom probes, by name.
    pub(crate) probes: ProbeRegistry,
    /// The command that resumes this run, for the failure hint (`opsrun bootstrap`).
    pub(crate) resume_command: Option<String>,
    /// Join this run, which holds the state directory's lock (see [`RunLock::joinable`]): an
    /// opsrun started by one of its commands. A joined run takes no lock, never reads or
    /// writes `state.json`, and journals its events under the parent's run id (in
    /// `runs/<parent>.nested-<pid>.jsonl`, its task logs in the parent's log directory).
    pub(crate) join: Option<String>,
}

impl RunOptions {
    pub(crate) fn new(signals: SignalPolicy) -> Self {
        Self {
            mode: RunMode::Run,
            name: String::new(),
            jobs: std::thread::available_parallelism().map_or(2, usize::from),
            keep_going: false,
            force: false,
            resume: false,
            state_dir: None,
            grace: Duration::from_secs(10),
            signals,
            probes: ProbeRegistry::default(),
            resume_command: None,
            join: None,
        }
    }
}

/// The result of a run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunReport {
    /// Run id.
    pub run_id: String,
    /// How it ended.
    pub outcome: RunOutcome,
    /// The signal that interrupted it, if any.
    pub interrupted_by: Option<StopSignal>,
    /// Every task's outcome, in plan order.
    pub tasks: Vec<(String, TaskOutcome)>,
    /// Wall time.
    pub duration: Duration,
}

/// Stops a run from anywhere: another task, a thread, a signal handler of the embedding
/// program. Cheap to clone; every clone stops the same run.
#[derive(Debug, Clone)]
pub struct CancelToken {
    tx: mpsc::UnboundedSender<StopSignal>,
}

/// The receiving side of a [`CancelToken`].
#[derive(Debug)]
pub(crate) struct CancelReceiver {
    rx: mpsc::UnboundedReceiver<StopSignal>,
}

impl CancelToken {
    /// A connected pair.
    pub(crate) fn new() -> (CancelToken, CancelReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        (CancelToken { tx }, CancelReceiver { rx })
    }

    /// Stops the run as a supervisor's SIGTERM would: nothing new starts, running commands get
    /// SIGTERM and, after the grace period, SIGKILL. Calling it again kills at once.
    pub fn cancel(&self) {
        self.stop(StopSignal::Terminate);
    }

    /// Stops the run as if the process had received `signal` (forward your own handlers'
    /// signals with this under [`SignalPolicy::None`]).
    pub fn stop(&self, signal: StopSignal) {
        // A finished run has dropped the receiver: nothing left to stop.
        let _ = self.tx.send(signal);
    }
}

/// Stamps events with the run id and time and hands them to the sinks.
#[derive(Clone)]
pub(crate) struct Emitter {
    run: Arc<str>,
    sink: Arc<dyn EventSink>,
}

impl Emitter {
    pub(crate) fn emit(&self, event: Event) {
        self.sink.emit(&EventEnvelope {
            v: opsrun_event::EVENT_SCHEMA_VERSION,
            ts: jiff::Timestamp::now(),
            run: self.run.to_string(),
            event,
        });
    }
}

/// A new run id: sortable by time, unique enough for one state directory.
pub fn new_run_id() -> String {
    let now = jiff::Timestamp::now();
    let suffix = std::process::id() % 0x10000;
    format!("{}-{suffix:04x}", now.strftime("%Y%m%dT%H%M%S%.3fZ")).replace('.', "")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NodeState {
    Pending,
    Running,
    Done { outcome: TaskOutcome, executed: bool },
}

/// Runs `plan`, sending every event to `sink`; `control` stops it.
#[expect(
    clippy::too_many_lines,
    reason = "the dispatcher loop: one select over finished units, unit requests, signals and timers (see issue: pure step extraction)"
)]
pub(crate) async fn run(
    plan: Arc<Plan>,
    options: RunOptions,
    sink: Arc<dyn EventSink>,
    control: Option<CancelReceiver>,
) -> Result<RunReport, EngineError> {
    let started = Instant::now();
    let masker = plan.masker().clone();
    check_probes(&plan, &options.probes)?;
    let run_id = options.join.clone().unwrap_or_else(new_run_id);
    let options = Arc::new(options);
    let mut signals = Signals::new(options.signals)
        .map_err(|e| EngineError::Io { what: "cannot install signal handlers".into(), source: e })?;
    let mut control = control;

    // Lock, state, journal.
    let mut sinks: Vec<Arc<dyn EventSink>> = Vec::new();
    let mut store = None;
    let mut logs_kept: Option<Arc<TaskLogs>> = None;
    let mut state = State { version: crate::state::STATE_VERSION, ..State::default() };
    let mut _lock = None;
    let mut warnings = Vec::new();
    // What every command of this run gets in its environment: the token that lets an opsrun it
    // starts join the run.
    let mut run_env: Vec<(String, String)> = Vec::new();
    if let Some(dir) = &options.state_dir {
        let journal_name = if let Some(parent) = &options.join {
            format!("{parent}.nested-{}", std::process::id())
        } else {
            let lock = RunLock::acquire(dir, &lock_operation(&options), &run_id)?;
            run_env.push((crate::lock::NESTED_TOKEN_ENV.to_string(), lock.token().to_string()));
            _lock = Some(lock);
            let s = StateStore::new(dir);
            let (loaded, warning) = s.load()?;
            state = loaded;
            warnings.extend(warning);
            store = Some(s);
            run_id.clone()
        };
        let journal = RunJournal::create(dir, &journal_name)
            .map_err(|e| EngineError::Io { what: "cannot create the run journal".into(), source: e })?;
        let logs = TaskLogs::create(dir, &run_id)
            .map_err(|e| EngineError::Io { what: "cannot create the log directory".into(), source: e })?;
        let logs = Arc::new(logs);
        sinks.push(Arc::new(journal));
        sinks.push(Arc::clone(&logs) as Arc<dyn EventSink>);
        logs_kept = Some(logs);
    }
    let run_env = Arc::new(run_env);
    sinks.push(sink);
    let emitter = Emitter { run: Arc::from(run_id.as_str()), sink: Arc::new(FanOut(sinks)) };

    let tasks = plan
        .order()
        .iter()
        .map(|&n| {
            let t = plan.task(n);
            PlannedTask {
                task: t.key.clone(),
                deps: plan.dependencies(n).map(|d| plan.task(d).key.clone()).collect(),
                gate: t.health.as_ref().map(|h| h.name.clone()),
                desc: t.desc.clone(),
                // Rendered from templates, so they can hold a secret: masked like every line.
                label: t.label.as_deref().map(|l| masker.mask(l)),
                prefix: masker.mask(&t.prefix),
                output: match &t.output {
                    opsrun_spec::ResolvedOutput::Interleaved => OutputStyle::Interleaved,
                    opsrun_spec::ResolvedOutput::Prefixed => OutputStyle::Prefixed,
                    opsrun_spec::ResolvedOutput::Group { begin, end, error_only } => OutputStyle::Group {
                        begin: begin.as_deref().map(|b| masker.mask(b)),
                        end: end.as_deref().map(|e| masker.mask(e)),
                        error_only: *error_only,
                    },
                },
                on_demand: plan.node(n).on_demand,
            }
        })
        .collect();
    emitter.emit(Event::RunStarted {
        mode: options.mode,
        name: options.name.clone(),
        tasks,
        state_dir: options.state_dir.clone(),
    });
    for w in warnings {
        emitter.emit(Event::Warning { task: None, message: w });
    }
    // Tasks left `running` by a run that died (the lock proves it is gone).
    let mut state_dirty = false;
    for (key, record) in &mut state.tasks {
        if record.status == RecordStatus::Running {
            emitter.emit(Event::TaskWasInterrupted { task: key.clone(), previous_run: record.run.clone() });
            for pgid in std::mem::take(&mut record.pgids) {
                if let Some(message) = crate::orphans::end_orphan_group(pgid, record.started, options.grace) {
                    emitter.emit(Event::Warning { task: Some(key.clone()), message });
                }
            }
            record.status = RecordStatus::Interrupted;
            record.message = Some("opsrun stopped while this task ran".into());
            state_dirty = true;
        }
    }
    if state_dirty && let Some(s) = &store {
        s.save(&state)?;
    }
    let mut wal = match &store {
        Some(s) => Some(s.wal()?),
        None => None,
    };

    let n = plan.len();
    let position: Vec<usize> = {
        let mut p = vec![0; n];
        for (i, node) in plan.order().iter().enumerate() {
            p[node.index()] = i;
        }
        p
    };
    let mut remaining: Vec<usize> = (0..n).map(|i| plan.dependencies(TaskId::new(i)).count()).collect();
    let mut node_state = vec![NodeState::Pending; n];
    let mut digests: Vec<String> = vec![String::new(); n];
    let mut ready: BTreeSet<(usize, TaskId)> = BTreeSet::new();
    // Only activated tasks are scheduled: the targets' DAG (one target at a time when they run in
    // order), and what a running task calls, when it calls it.
    let mut activation = Activation::new(&plan);
    let targets: Vec<TaskId> = plan.targets().to_vec();
    let mut next_target = 0;
    if plan.sequential_targets() {
        if let Some(&first) = targets.first() {
            activation.activate(&plan, first, &remaining, &node_state, &position, &mut ready);
            next_target = 1;
        }
    } else {
        for &t in &targets {
            activation.activate(&plan, t, &remaining, &node_state, &position, &mut ready);
        }
        next_target = targets.len();
    }
    let mut call_options: Vec<Option<CallOptions>> = vec![None; n];
    let mut waiters: Vec<Vec<tokio::sync::oneshot::Sender<TaskOutcome>>> = (0..n).map(|_| Vec::new()).collect();
    let mut waiting = 0usize;
    let mut static_digests = std::collections::HashMap::new();
    let mut units: JoinSet<UnitResult> = JoinSet::new();
    let (shutdown_tx, shutdown_rx) = watch::channel(Shutdown::Running);
    let (msg_tx, mut msg_rx) = mpsc::unbounded_channel::<UnitMsg>();
    let mut stopping = false;
    let mut failed = false;
    let mut interrupted: Option<StopSignal> = None;
    let mut kill_at: Option<tokio::time::Instant> = None;
    let jobs = options.jobs.max(1);
    let dynamic_env = crate::unit::DynamicEnvCache::default();

    loop {
        // A unit waiting for a task it called holds no job slot: the callee may need it.
        while !stopping && units.len() - waiting < jobs {
            let Some((_, node)) = ready.pop_first() else { break };
            let deps: Vec<TaskId> = plan.dependencies(node).collect();
            let call_digests = plan
                .callees(node)
                .iter()
                .map(|&c| crate::fingerprint::static_digest(&plan, c, &mut static_digests))
                .collect();
            let unit = Unit {
                node,
                plan: Arc::clone(&plan),
                options: Arc::clone(&options),
                emitter: emitter.clone(),
                masker: masker.clone(),
                shutdown: shutdown_rx.clone(),
                to_dispatcher: msg_tx.clone(),
                prior: state.tasks.get(&plan.task(node).key).cloned(),
                dep_digests: deps.iter().map(|d| digests[d.index()].clone()).collect(),
                any_dep_executed: deps
                    .iter()
                    .any(|d| matches!(node_state[d.index()], NodeState::Done { executed: true, .. })),
                dynamic_env: Arc::clone(&dynamic_env),
                call_digests,
                call: call_options[node.index()],
                run_env: Arc::clone(&run_env),
            };
            node_state[node.index()] = NodeState::Running;
            tracing::debug!(task = %plan.task(node).key, running = units.len() + 1, "scheduling");
            units.spawn(unit.run());
        }
        // Units that wait for callees that can never start (a dependency failed, or the run is
        // stopping) are told so, instead of waiting forever.
        if waiting > 0 && units.len() == waiting && (stopping || ready.is_empty()) {
            for list in &mut waiters {
                for reply in list.drain(..) {
                    let _ = reply.send(TaskOutcome::NotRun);
                }
            }
            waiting = 0;
        }
        if units.is_empty() {
            break;
        }
        tokio::select! {
            joined = units.join_next() => {
                let Some(joined) = joined else { continue };
                let r = match joined {
                    Ok(r) => r,
                    Err(e) => {
                        // A unit panicked: a bug, but the run must still end cleanly.
                        emitter.emit(Event::Warning { task: None, message: format!("internal error in a task unit: {e}") });
                        failed = true;
                        stopping = true;
                        continue;
                    }
                };
                let key = plan.task(r.node).key.clone();
                tracing::debug!(task = %key, outcome = ?r.outcome, executed = r.executed, fingerprint = %r.fingerprint.digest, "finished");
                let record_status = match r.outcome {
                    TaskOutcome::Ok | TaskOutcome::UpToDate => Some(RecordStatus::Succeeded),
                    TaskOutcome::Failed | TaskOutcome::FailedIgnored => Some(RecordStatus::Failed),
                    TaskOutcome::Interrupted if r.executed => Some(RecordStatus::Interrupted),
                    TaskOutcome::Resumed | TaskOutcome::Interrupted | TaskOutcome::NotRun | _ => None,
                };
                if let (Some(status), Some(_)) = (record_status, &store) {
                    let prior_same = state.tasks.get(&key).is_some_and(|p| p.status == status && p.fingerprint == r.fingerprint.digest);
                    if r.executed || !prior_same {
                        let now = jiff::Timestamp::now();
                        let started_at = now.checked_sub(jiff::SignedDuration::try_from(r.duration).unwrap_or_default()).unwrap_or(now);
                        state.tasks.insert(key.clone(), TaskRecord {
                            status,
                            fingerprint: r.fingerprint.digest.clone(),
                            parts: r.fingerprint.parts.clone(),
                            run: run_id.clone(),
                            started: started_at,
                            finished: Some(now),
                            duration_ms: Some(millis(r.duration)),
                            message: r.message.clone(),
                            pgids: Vec::new(),
                        });
                        // Not fsynced: an outcome lost in a machine crash only means the task
                        // runs again.
                        if let Some(w) = &mut wal && let Err(e) = w.append(&key, &state.tasks[&key], false) {
                            emitter.emit(Event::Warning { task: Some(key.clone()), message: e.to_string() });
                        }
                    }
                }
                digests[r.node.index()].clone_from(&r.fingerprint.digest);
                node_state[r.node.index()] = NodeState::Done { outcome: r.outcome, executed: r.executed };
                let log = options.state_dir.as_ref().filter(|_| r.executed).map(|d| TaskLogs::path_for(d, &run_id, &key)).filter(|_| logs_kept.as_ref().is_some_and(|l| l.has_log(&key)));
                emitter.emit(Event::TaskFinished {
                    task: key,
                    outcome: r.outcome,
                    duration_ms: millis(r.duration),
                    message: r.message,
                    gate_attempts: r.gate_attempts,
                    log,
                });
                for reply in waiters[r.node.index()].drain(..) {
                    let _ = reply.send(r.outcome);
                    waiting -= 1;
                }
                if r.outcome.is_success() {
                    for d in plan.dependents(r.node) {
                        remaining[d.index()] -= 1;
                        if remaining[d.index()] == 0 && node_state[d.index()] == NodeState::Pending && activation.is_active(d) {
                            ready.insert((position[d.index()], d));
                        }
                    }
                    // `opsrun run a b`: b (with its deps) starts when a has finished.
                    while !stopping && next_target < targets.len() && targets[..next_target].iter().all(|t| matches!(node_state[t.index()], NodeState::Done { .. })) {
                        let t = targets[next_target];
                        next_target += 1;
                        activation.activate(&plan, t, &remaining, &node_state, &position, &mut ready);
                    }
                } else {
                    failed |= r.outcome == TaskOutcome::Failed;
                    if !options.keep_going {
                        stopping = true;
                    }
                }
            }
            Some(msg) = msg_rx.recv() => match msg {
                UnitMsg::Executing { node, fingerprint, ack } => {
                    if store.is_some() {
                        let key = plan.task(node).key.clone();
                        state.tasks.insert(key.clone(), TaskRecord {
                            status: RecordStatus::Running,
                            fingerprint: fingerprint.digest,
                            parts: fingerprint.parts,
                            run: run_id.clone(),
                            started: jiff::Timestamp::now(),
                            finished: None,
                            duration_ms: None,
                            message: None,
                            pgids: Vec::new(),
                        });
                        // A resumable run must find this task `running` after any crash from
                        // here on, so the mark is fsynced before the command starts; `run` never
                        // resumes, and its marks still survive `kill -9` of opsrun.
                        let durable = options.mode != RunMode::Run;
                        if let Some(w) = &mut wal && let Err(e) = w.append(&key, &state.tasks[&key], durable) {
                            emitter.emit(Event::Warning { task: Some(key), message: e.to_string() });
                        }
                    }
                    if let Some(ack) = ack {
                        let _ = ack.send(());
                    }
                }
                UnitMsg::Call { callee, options: call, reply } => {
                    if let NodeState::Done { outcome, .. } = node_state[callee.index()] {
                        let _ = reply.send(outcome);
                    } else {
                        waiters[callee.index()].push(reply);
                        waiting += 1;
                        if !activation.is_active(callee) {
                            call_options[callee.index()] = Some(call);
                            activation.activate(&plan, callee, &remaining, &node_state, &position, &mut ready);
                        }
                    }
                }
                UnitMsg::Spawned { node, pgid } => {
                    let key = plan.task(node).key.clone();
                    if let Some(record) = state.tasks.get_mut(&key).filter(|r| r.status == RecordStatus::Running) {
                        record.pgids.push(pgid);
                        if let Some(w) = &mut wal && let Err(e) = w.append(&key, record, false) {
                            emitter.emit(Event::Warning { task: Some(key), message: e.to_string() });
                        }
                    }
                }
            },
            sig = signals.recv() => on_signal(sig, &mut interrupted, &mut stopping, &mut kill_at, &shutdown_tx, &emitter, options.grace),
            Some(sig) = recv_control(&mut control) => on_signal(sig, &mut interrupted, &mut stopping, &mut kill_at, &shutdown_tx, &emitter, options.grace),
            () = sleep_until_opt(kill_at) => {
                kill_at = None;
                emitter.emit(Event::Interrupt { signal: "grace period over".into(), kill: true });
                let _ = shutdown_tx.send(Shutdown::Kill);
            }
        }
    }

    tracing::debug!(elapsed = ?started.elapsed(), "run loop done");
    // Fold the run's log into a new snapshot (nothing to do when every task was resumed).
    if let Some(s) = &store
        && wal.as_ref().is_some_and(crate::state::StateWal::is_dirty)
        && let Err(e) = s.save(&state)
    {
        emitter.emit(Event::Warning { task: None, message: e.to_string() });
    }

    // Everything that never started.
    let mut report_tasks = Vec::with_capacity(n);
    for &node in plan.order() {
        let key = plan.task(node).key.clone();
        let outcome = match node_state[node.index()] {
            NodeState::Done { outcome, .. } => outcome,
            // A task only reached through calls that nobody called was not needed.
            NodeState::Pending if plan.node(node).on_demand && !activation.is_active(node) => continue,
            NodeState::Pending | NodeState::Running => {
                emitter.emit(Event::TaskFinished {
                    task: key.clone(),
                    outcome: TaskOutcome::NotRun,
                    duration_ms: 0,
                    message: None,
                    gate_attempts: 0,
                    log: None,
                });
                TaskOutcome::NotRun
            }
        };
        report_tasks.push((key, outcome));
    }
    let outcome = if interrupted.is_some() {
        RunOutcome::Interrupted
    } else if failed || report_tasks.iter().any(|(_, o)| matches!(o, TaskOutcome::NotRun | TaskOutcome::Interrupted)) {
        RunOutcome::Failed
    } else {
        RunOutcome::Succeeded
    };
    let resume_hint = (outcome != RunOutcome::Succeeded).then(|| options.resume_command.clone()).flatten();
    let duration = started.elapsed();
    emitter.emit(Event::RunFinished { outcome, duration_ms: millis(duration), resume_hint });
    Ok(RunReport { run_id, outcome, interrupted_by: interrupted, tasks: report_tasks, duration })
}

/// Every custom probe the plan's gates name must be registered: found before anything runs,
/// not after the stages below it changed the cluster.
fn check_probes(plan: &Plan, probes: &ProbeRegistry) -> Result<(), EngineError> {
    for &node in plan.order() {
        let task = plan.task(node);
        if let Some(opsrun_spec::ResolvedProbe::Custom { name, .. }) = task.health.as_ref().map(|h| &h.probe)
            && probes.get(name).is_none()
        {
            return Err(EngineError::UnknownProbe {
                task: task.key.clone(),
                probe: name.clone(),
                registered: probes.names().map(str::to_string).collect(),
            });
        }
    }
    Ok(())
}

fn lock_operation(options: &RunOptions) -> String {
    match options.mode {
        RunMode::Run => format!("run {}", options.name),
        RunMode::Pipeline => format!("pipeline {}", options.name),
        RunMode::Recovery => "emergency-recovery".into(),
        _ => format!("{:?} {}", options.mode, options.name),
    }
}

fn on_signal(
    sig: StopSignal,
    interrupted: &mut Option<StopSignal>,
    stopping: &mut bool,
    kill_at: &mut Option<tokio::time::Instant>,
    shutdown: &watch::Sender<Shutdown>,
    emitter: &Emitter,
    grace: Duration,
) {
    *stopping = true;
    if interrupted.is_none() && sig != StopSignal::Kill {
        *interrupted = Some(sig);
        emitter.emit(Event::Interrupt { signal: sig.name().to_string(), kill: false });
        let _ = shutdown.send(Shutdown::Graceful(sig.to_nix()));
        *kill_at = Some(tokio::time::Instant::now() + grace);
    } else {
        interrupted.get_or_insert(sig);
        emitter.emit(Event::Interrupt { signal: sig.name().to_string(), kill: true });
        let _ = shutdown.send(Shutdown::Kill);
        *kill_at = None;
    }
}

async fn recv_control(control: &mut Option<CancelReceiver>) -> Option<StopSignal> {
    match control {
        Some(c) => c.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Which tasks the run has been asked to run so far.
struct Activation {
    active: Vec<bool>,
}

impl Activation {
    fn new(plan: &Plan) -> Self {
        Self { active: vec![false; plan.len()] }
    }

    fn is_active(&self, node: TaskId) -> bool {
        self.active[node.index()]
    }

    /// Activates `node` and everything it depends on; those whose dependencies are all done
    /// become ready.
    fn activate(
        &mut self,
        plan: &Plan,
        node: TaskId,
        remaining: &[usize],
        node_state: &[NodeState],
        position: &[usize],
        ready: &mut BTreeSet<(usize, TaskId)>,
    ) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut self.active[n.index()], true) {
                continue;
            }
            if remaining[n.index()] == 0 && node_state[n.index()] == NodeState::Pending {
                ready.insert((position[n.index()], n));
            }
            stack.extend(plan.dependencies(n));
        }
    }
}
