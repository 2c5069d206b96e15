//! The dispatcher: schedules a plan's tasks, owns state, reacts to signals.
//!
//! One loop `select!`s over finished units, units' requests, operator signals, control
//! messages and the kill timer. It alone mutates scheduling state and the state file; units run
//! as independent tokio tasks.

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
use crate::fingerprint::Fingerprint;
use crate::gate::millis;
use crate::journal::{RunJournal, TaskLogs};
use crate::lock::RunLock;
use crate::probe::ProbeRegistry;
use crate::schedule::{CallStep, NodeState, Scheduler};
use crate::signal::{Shutdown, SignalPolicy, Signals, StopSignal};
use crate::state::{Append, RecordStatus, SharedState, StateStore, TaskRecord};
use crate::unit::{Unit, UnitMsg, UnitResult};
use opsrun_process::sleep_until_opt;

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
    /// Digests of source files (the runner's cache, saved when the run ends).
    pub(crate) sources: crate::sources::SourceCache,
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
            sources: crate::sources::SourceCache::in_memory(),
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

/// Stamps events with the run id and time, masks every text field of them, and hands them to
/// the sinks: no sink (terminal, JSON, journal, logs, an embedder's) can see a secret, whatever
/// field a new piece of code puts it in.
///
/// Two kinds of sinks. The run's own records (the task logs, whose existence the dispatcher
/// asks about, and the state log's flush) get each event at once. The others (the journal, the
/// terminal or JSON output, an embedder's sinks) get the events of a burst in a batch, in
/// order, from the [`flusher`] task, which runs after the tasks that were ready when the burst
/// began: so serialising and formatting a finished task's events happens after the next
/// task's command has started, not before. Every sink is then flushed (see
/// [`EventSink::flush`]), always before the runtime waits for anything.
#[derive(Clone)]
pub(crate) struct Emitter {
    run: Arc<str>,
    masker: opsrun_spec::Masker,
    inner: Arc<EmitterInner>,
}

struct EmitterInner {
    /// Sinks that get each event as it is emitted.
    now: FanOut,
    /// Sinks that get events in batches, from [`Emitter::deliver`].
    later: FanOut,
    /// Events not yet given to `later`, and how many (output lines counted one by one).
    queue: std::sync::Mutex<(Vec<Queued>, usize)>,
    /// Held while a batch is delivered, so that two batches never interleave.
    delivering: std::sync::Mutex<()>,
    /// Set when there is something for the [`flusher`] to do.
    pending: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

/// An event, or a command's lines read together, waiting for the batched sinks.
enum Queued {
    Event(EventEnvelope),
    Output { ts: jiff::Timestamp, task: String, stream: opsrun_event::Stream, lines: opsrun_event::LineBuf },
}

/// Past this many queued events, the emitting code delivers them itself (a command printing
/// faster than the flusher gets to run costs bounded memory).
const MAX_QUEUED: usize = 4096;

impl Emitter {
    fn new(
        run: &str,
        now: Vec<Arc<dyn EventSink>>,
        later: Vec<Arc<dyn EventSink>>,
        masker: opsrun_spec::Masker,
    ) -> Self {
        let inner = EmitterInner {
            now: FanOut(now),
            later: FanOut(later),
            queue: std::sync::Mutex::default(),
            delivering: std::sync::Mutex::default(),
            pending: std::sync::atomic::AtomicBool::default(),
            notify: tokio::sync::Notify::new(),
        };
        Self { run: Arc::from(run), masker, inner: Arc::new(inner) }
    }

    pub(crate) fn emit(&self, event: Event) {
        let envelope = EventEnvelope {
            v: opsrun_event::EVENT_SCHEMA_VERSION,
            ts: jiff::Timestamp::now(),
            run: String::from(&*self.run),
            event: event.map_strings(|s| self.masker.mask_owned(s)),
        };
        self.inner.now.emit(&envelope);
        self.enqueue(Queued::Event(envelope), 1);
    }

    /// The lines a command printed on `stream`, read together: masked, then one
    /// [`Event::Output`] each for every sink (see [`EventSink::emit_output`]). Takes the lines
    /// out of `lines`.
    pub(crate) fn emit_output(&self, task: &str, stream: opsrun_event::Stream, lines: &mut opsrun_event::LineBuf) {
        let mut lines = std::mem::take(lines);
        self.masker.mask_lines(&mut lines);
        let task = self.masker.mask(task);
        let ts = jiff::Timestamp::now();
        self.inner.now.emit_output(&opsrun_event::OutputLines {
            ts,
            run: &self.run,
            task: &task,
            stream,
            lines: lines.as_slice(),
        });
        let count = lines.len();
        self.enqueue(Queued::Output { ts, task, stream, lines }, count);
    }

    fn enqueue(&self, item: Queued, count: usize) {
        let queued = {
            let mut queue = lock(&self.inner.queue);
            queue.0.push(item);
            queue.1 += count;
            queue.1
        };
        if queued >= MAX_QUEUED {
            self.deliver();
        }
        if !self.inner.pending.swap(true, std::sync::atomic::Ordering::AcqRel) {
            self.inner.notify.notify_one();
        }
    }

    /// Gives the queued events to the batched sinks, in order.
    fn deliver(&self) {
        let _one_at_a_time = lock(&self.inner.delivering);
        let (mut batch, _) = std::mem::take(&mut *lock(&self.inner.queue));
        for item in &batch {
            match item {
                Queued::Event(envelope) => self.inner.later.emit(envelope),
                Queued::Output { ts, task, stream, lines } => {
                    self.inner.later.emit_output(&opsrun_event::OutputLines {
                        ts: *ts,
                        run: &self.run,
                        task,
                        stream: *stream,
                        lines: lines.as_slice(),
                    });
                }
            }
        }
        // The emptied batch is the next queue (unless one was started meanwhile), so that a
        // burst does not grow a new one.
        batch.clear();
        let mut queue = lock(&self.inner.queue);
        if queue.0.capacity() == 0 && batch.capacity() <= MAX_QUEUED {
            queue.0 = batch;
        }
    }

    /// Delivers what is queued and writes out what the sinks buffered, now: before a command
    /// gets the terminal, and at the end of a run.
    pub(crate) fn flush_now(&self) {
        self.inner.pending.store(false, std::sync::atomic::Ordering::Release);
        self.deliver();
        self.inner.now.flush();
        self.inner.later.flush();
    }
}

/// Flushes the sinks once per burst of events, for as long as the run lasts.
async fn flusher(emitter: Emitter) {
    loop {
        emitter.inner.notify.notified().await;
        // To the back of the runtime's queue, twice: a yielding task runs again only once the
        // tasks that were ready have run and the runtime looked for I/O, so the dispatcher
        // handling the burst's end (a finished task) and the unit it starts (up to its
        // command's spawn) go first, and their events are written with this burst. A yielded
        // task keeps the runtime from sleeping, so nothing stays buffered while opsrun waits.
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        emitter.flush_now();
    }
}

/// Ends the [`flusher`] and writes out what is left, also when the run's future is dropped.
struct FlushGuard {
    emitter: Emitter,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.task.abort();
        self.emitter.flush_now();
    }
}

/// A new run id: sortable by time, unique enough for one state directory.
pub fn new_run_id() -> String {
    let now = jiff::Timestamp::now();
    let suffix = std::process::id() % 0x10000;
    format!("{}-{suffix:04x}", now.strftime("%Y%m%dT%H%M%S%.3fZ")).replace('.', "")
}

/// Runs `plan`, sending every event to `sink`; `control` stops it.
#[expect(
    clippy::too_many_lines,
    reason = "the dispatcher loop: one select over finished units, unit requests, signals and timers; decisions are the Scheduler's, records the Records'"
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
    let mut records = Records::open(&options, &run_id)?;
    // The change log is written before the journal, in every flush.
    let mut now: Vec<Arc<dyn EventSink>> = vec![Arc::new(WalFlush(Arc::clone(&records.wal)))];
    if let Some(logs) = &records.logs_kept {
        now.push(Arc::clone(logs) as Arc<dyn EventSink>);
    }
    let mut later: Vec<Arc<dyn EventSink>> =
        records.journal.take().into_iter().map(|j| j as Arc<dyn EventSink>).collect();
    later.push(sink);
    let run_env = Arc::new(std::mem::take(&mut records.run_env));
    let emitter = Emitter::new(&run_id, now, later, masker.clone());
    let _flush = FlushGuard { emitter: emitter.clone(), task: tokio::spawn(flusher(emitter.clone())) };

    let tasks = planned_tasks(&plan);
    emitter.emit(Event::RunStarted {
        mode: options.mode,
        name: options.name.clone(),
        tasks,
        state_dir: options.state_dir.clone(),
    });
    for w in std::mem::take(&mut records.warnings) {
        emitter.emit(Event::Warning { task: None, message: w });
    }
    records.end_orphans(options.grace, &emitter)?;

    let n = plan.len();
    let mut scheduler = Scheduler::new(&plan, options.keep_going);
    let mut digests: Vec<String> = vec![String::new(); n];
    let mut waiters: Vec<Vec<tokio::sync::oneshot::Sender<TaskOutcome>>> = (0..n).map(|_| Vec::new()).collect();
    let mut static_digests = crate::fingerprint::StaticMemo::new();
    let mut units: JoinSet<UnitResult> = JoinSet::new();
    let (shutdown_tx, shutdown_rx) = watch::channel(Shutdown::Running);
    let (msg_tx, mut msg_rx) = mpsc::unbounded_channel::<UnitMsg>();
    let mut interrupted: Option<StopSignal> = None;
    let mut kill_at: Option<tokio::time::Instant> = None;
    let jobs = options.jobs;
    let dynamic_env = crate::unit::DynamicEnvCache::default();

    loop {
        // State that can no longer be recorded stops the run: nothing new starts.
        records.notice_failed_writes(&emitter);
        if records.broken.is_some() {
            scheduler.stop();
        }
        while let Some((node, call)) = scheduler.next(jobs) {
            let deps: Vec<TaskId> = plan.dependencies(node).collect();
            let call_digests = plan
                .callees(node)
                .iter()
                .map(|&c| crate::fingerprint::static_digest(&plan, c, &mut static_digests, &options.sources))
                .collect();
            let unit = Unit {
                node,
                plan: Arc::clone(&plan),
                options: Arc::clone(&options),
                emitter: emitter.clone(),
                masker: masker.clone(),
                shutdown: shutdown_rx.clone(),
                to_dispatcher: msg_tx.clone(),
                prior: records.state.tasks.get(&plan.task(node).key).cloned(),
                dep_digests: deps.iter().map(|d| digests[d.index()].clone()).collect(),
                any_dep_executed: deps
                    .iter()
                    .any(|&d| matches!(scheduler.state(d), NodeState::Done { executed: true, .. })),
                dynamic_env: Arc::clone(&dynamic_env),
                call_digests,
                call,
                run_env: Arc::clone(&run_env),
                report_spawn: {
                    let to_dispatcher = msg_tx.clone();
                    Box::new(move |pgid| {
                        let _ = to_dispatcher.send(UnitMsg::Spawned { node, pgid });
                    })
                },
            };
            tracing::debug!(task = %plan.task(node).key, running = units.len() + 1, "scheduling");
            units.spawn(unit.run());
        }
        // Units that wait for callees that can never start (a dependency failed, or the run is
        // stopping) are told so, instead of waiting forever.
        if scheduler.release_deadlock() {
            for list in &mut waiters {
                for reply in list.drain(..) {
                    let _ = reply.send(TaskOutcome::NotRun);
                }
            }
        }
        if scheduler.idle() {
            break;
        }
        tokio::select! {
            joined = units.join_next() => {
                let Some(joined) = joined else { continue };
                let mut r = match joined {
                    Ok(r) => r,
                    Err(e) => {
                        // A unit panicked: a bug, but the run must still end cleanly.
                        emitter.emit(Event::Warning { task: None, message: format!("internal error in a task unit: {e}") });
                        scheduler.lost();
                        continue;
                    }
                };
                let key = plan.task(r.node).key.clone();
                tracing::debug!(task = %key, outcome = ?r.outcome, executed = r.executed, fingerprint = %r.fingerprint.digest, "finished");
                digests[r.node.index()].clone_from(&r.fingerprint.digest);
                records.finished(&key, &mut r, &run_id, &emitter);
                scheduler.finished(&plan, r.node, r.outcome, r.executed);
                let log = options
                    .state_dir
                    .as_ref()
                    .filter(|_| r.executed && records.logs_kept.as_ref().is_some_and(|l| l.has_log(&key)))
                    .map(|d| TaskLogs::path_for(d, &run_id, &key));
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
                }
            }
            Some(msg) = msg_rx.recv() => match msg {
                UnitMsg::Executing { node, fingerprint, ack } => {
                    // A resumable run must find this task `running` after any crash from here
                    // on, so the mark is fsynced before the command starts; `run` never
                    // resumes, and its marks still survive `kill -9` of opsrun.
                    let durable = options.mode != RunMode::Run;
                    records.executing(&plan.task(node).key, fingerprint, &run_id, durable, &emitter);
                    if records.broken.is_some() {
                        // Not acknowledged: the unit does not start its commands.
                        scheduler.stop();
                    } else if let Some(ack) = ack {
                        let _ = ack.send(());
                    }
                }
                UnitMsg::Call { callee, options: call, reply } => match scheduler.call(&plan, callee, call) {
                    CallStep::Answer(outcome) => {
                        let _ = reply.send(outcome);
                    }
                    CallStep::Wait => waiters[callee.index()].push(reply),
                },
                UnitMsg::Spawned { node, pgid } => records.spawned(&plan.task(node).key, pgid, &emitter),
            },
            sig = signals.recv() => on_signal(sig, &mut interrupted, &mut scheduler, &mut kill_at, &shutdown_tx, &emitter, options.grace),
            Some(sig) = recv_control(&mut control) => on_signal(sig, &mut interrupted, &mut scheduler, &mut kill_at, &shutdown_tx, &emitter, options.grace),
            () = sleep_until_opt(kill_at) => {
                kill_at = None;
                emitter.emit(Event::Interrupt { signal: "grace period over".into(), kill: true });
                let _ = shutdown_tx.send(Shutdown::Kill);
            }
        }
    }

    tracing::debug!(elapsed = ?started.elapsed(), "run loop done");
    records.close(&emitter);

    // Everything that never started.
    let mut report_tasks = Vec::with_capacity(n);
    for &node in plan.order() {
        let key = plan.task(node).key.clone();
        let outcome = match scheduler.state(node) {
            NodeState::Done { outcome, .. } => outcome,
            // A task only reached through calls that nobody called was not needed.
            NodeState::Pending if plan.node(node).on_demand && !scheduler.is_active(node) => continue,
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
    } else if scheduler.any_failed()
        || records.broken.is_some()
        || report_tasks.iter().any(|(_, o)| matches!(o, TaskOutcome::NotRun | TaskOutcome::Interrupted))
    {
        RunOutcome::Failed
    } else {
        RunOutcome::Succeeded
    };
    let resume_hint = (outcome != RunOutcome::Succeeded).then(|| options.resume_command.clone()).flatten();
    let duration = started.elapsed();
    emitter.emit(Event::RunFinished { outcome, duration_ms: millis(duration), resume_hint });
    Ok(RunReport { run_id, outcome, interrupted_by: interrupted, tasks: report_tasks, duration })
}

/// What a run records, and the lock that lets it.
struct Records {
    /// The state file's log of changes since the snapshot (once orphans are handled), shared
    /// with the [`flusher`] (through [`WalFlush`]), which writes what is pending.
    wal: WalSlot,
    /// Why the state can no longer be recorded (a write failed): the run stops.
    broken: Option<String>,
    /// Fold the change log into the snapshot at the end of every run (resumable runs), not
    /// only once it is big (`opsrun run`).
    fold_always: bool,
    /// The journal (when a state directory is kept), until the emitter takes it.
    journal: Option<Arc<RunJournal>>,
    /// `None` for a run without a state directory, and for a joined (nested) run.
    store: Option<StateStore>,
    logs_kept: Option<Arc<TaskLogs>>,
    state: SharedState,
    lock: Option<RunLock>,
    /// Problems found loading the state, reported once the run has started.
    warnings: Vec<String>,
    /// What every command of this run gets in its environment: the token that lets an opsrun
    /// it starts join the run.
    run_env: Vec<(String, String)>,
}

impl Records {
    /// Takes the lock and loads the state (unless joining a parent run), and opens the journal
    /// and the log directory.
    fn open(options: &RunOptions, run_id: &str) -> Result<Self, EngineError> {
        let mut records = Records {
            journal: None,
            fold_always: true,
            store: None,
            logs_kept: None,
            state: SharedState { version: crate::state::STATE_VERSION, ..SharedState::default() },
            lock: None,
            warnings: Vec::new(),
            run_env: Vec::new(),
            wal: WalSlot::default(),
            broken: None,
        };
        let Some(dir) = &options.state_dir else { return Ok(records) };
        let journal_name = if let Some(parent) = &options.join {
            format!("{parent}.nested-{}", std::process::id())
        } else {
            let lock = RunLock::acquire(dir, &lock_operation(options), run_id)?;
            records.run_env.push((crate::lock::NESTED_TOKEN_ENV.to_string(), lock.token().to_string()));
            records.lock = Some(lock);
            let store = StateStore::new(dir);
            match store.load() {
                Ok((loaded, warning)) => {
                    records.state = loaded.into();
                    records.warnings.extend(warning);
                }
                // A run that does not use saved state (`--fresh`, `--force`, `opsrun run`)
                // starts over, keeping the damaged file; a resuming run refuses.
                Err(EngineError::State { .. }) if !options.resume || options.force => {
                    let moved = store.set_aside(run_id)?;
                    records.warnings.push(format!(
                        "the state file was damaged; it is kept as {} and this run starts without saved state",
                        moved.display()
                    ));
                }
                Err(e) => return Err(e),
            }
            records.store = Some(store);
            run_id.to_string()
        };
        let mut journal = RunJournal::create(dir, &journal_name)
            .map_err(|e| EngineError::Io { what: "cannot create the run journal".into(), source: e })?;
        if options.mode == RunMode::Run {
            journal = journal.unsynced();
            records.fold_always = false;
        }
        let logs = TaskLogs::create(dir, run_id)
            .map_err(|e| EngineError::Io { what: "cannot create the log directory".into(), source: e })?;
        let logs = Arc::new(logs);
        records.journal = Some(Arc::new(journal));
        records.logs_kept = Some(logs);
        Ok(records)
    }
}

impl Records {
    /// Tasks left `running` by a run that died (the lock proves it is gone): their leftover
    /// process groups are ended and they are marked interrupted. Then the change log opens.
    fn end_orphans(&mut self, grace: Duration, emitter: &Emitter) -> Result<(), EngineError> {
        let Some(store) = &self.store else { return Ok(()) };
        let mut dirty = false;
        for (key, record) in &mut self.state.tasks {
            if record.status == RecordStatus::Running {
                let record = Arc::make_mut(record);
                emitter.emit(Event::TaskWasInterrupted { task: key.clone(), previous_run: record.run.clone() });
                for pgid in std::mem::take(&mut record.pgids) {
                    if let Some(message) = crate::orphans::end_orphan_group(pgid, record.started, grace) {
                        emitter.emit(Event::Warning { task: Some(key.clone()), message });
                    }
                }
                record.status = RecordStatus::Interrupted;
                record.message = Some("opsrun stopped while this task ran".into());
                dirty = true;
            }
        }
        if dirty {
            store.save_shared(&self.state)?;
        }
        *lock(&self.wal) = Some(store.wal()?);
        Ok(())
    }

    /// Appends `key`'s record to the change log. A failure (a full disk) stops the run: what
    /// runs from then on could not be resumed after a crash.
    fn append(&mut self, key: &str, how: Append, emitter: &Emitter) {
        let Some(record) = self.state.tasks.get(key) else { return };
        let result = lock(&self.wal).as_mut().map(|wal| wal.append(key, record, how));
        if let Some(Err(e)) = result {
            self.stop_on_write_error(Some(key), &e, emitter);
        }
    }

    /// A write of the change log failed (here or in the [`flusher`]): said once; nothing new
    /// starts from then on.
    fn stop_on_write_error(&mut self, key: Option<&str>, e: &EngineError, emitter: &Emitter) {
        if self.broken.is_none() {
            let message = format!("{e}; the run stops: nothing new starts, since it could not be resumed");
            emitter.emit(Event::Warning { task: key.map(str::to_string), message: message.clone() });
            self.broken = Some(message);
        }
    }

    /// Notices a write the [`flusher`] could not make (without writing anything).
    fn notice_failed_writes(&mut self, emitter: &Emitter) {
        if self.broken.is_some() {
            return;
        }
        let failed = lock(&self.wal).as_ref().and_then(crate::state::StateWal::failure);
        if let Some(e) = failed {
            self.stop_on_write_error(None, &e, emitter);
        }
    }

    /// Writes what is pending, and notices a failure.
    fn check_writes(&mut self, emitter: &Emitter) {
        if self.broken.is_some() {
            return;
        }
        let result = lock(&self.wal).as_mut().map(crate::state::StateWal::write_pending);
        if let Some(Err(e)) = result {
            self.stop_on_write_error(None, &e, emitter);
        }
    }

    /// A task is about to execute its commands: it is `running` from now on.
    fn executing(&mut self, key: &str, fingerprint: Fingerprint, run_id: &str, durable: bool, emitter: &Emitter) {
        if self.store.is_none() {
            return;
        }
        let started = jiff::Timestamp::now();
        // The task's record, when no unit reads it, is replaced in place (its strings'
        // buffers reused).
        if let Some(Some(record)) = self.state.tasks.get_mut(key).map(Arc::get_mut) {
            record.status = RecordStatus::Running;
            record.fingerprint = fingerprint.digest;
            record.parts = fingerprint.parts;
            record.run.clear();
            record.run.push_str(run_id);
            record.started = started;
            record.finished = None;
            record.duration_ms = None;
            record.message = None;
            record.pgids.clear();
        } else {
            let record = Arc::new(TaskRecord {
                status: RecordStatus::Running,
                fingerprint: fingerprint.digest,
                parts: fingerprint.parts,
                run: run_id.to_string(),
                started,
                finished: None,
                duration_ms: None,
                message: None,
                pgids: Vec::new(),
            });
            match self.state.tasks.get_mut(key) {
                Some(slot) => *slot = record,
                None => {
                    self.state.tasks.insert(key.to_string(), record);
                }
            }
        }
        self.append(key, if durable { Append::Sync } else { Append::Later }, emitter);
    }

    /// A running task started a process group (ended by the next run if this one dies).
    fn spawned(&mut self, key: &str, pgid: i32, emitter: &Emitter) {
        let Some(record) = self.state.tasks.get_mut(key).filter(|r| r.status == RecordStatus::Running) else {
            return;
        };
        Arc::make_mut(record).pgids.push(pgid);
        // Written at once (not fsynced): the next run must find this group after a `kill -9`.
        self.append(key, Append::Now, emitter);
    }

    /// A task finished: its outcome is recorded when it executed or its record changes (a
    /// resumed task keeps the record of the run it succeeded in). The fingerprint's parts are
    /// taken from `r`, or kept from the `running` record when the unit handed them over with
    /// [`UnitMsg::Executing`] (see [`UnitResult::fingerprint`]).
    fn finished(&mut self, key: &str, r: &mut UnitResult, run_id: &str, emitter: &Emitter) {
        let status = match r.outcome {
            TaskOutcome::Ok | TaskOutcome::UpToDate => RecordStatus::Succeeded,
            TaskOutcome::Failed | TaskOutcome::FailedIgnored => RecordStatus::Failed,
            TaskOutcome::Interrupted if r.executed => RecordStatus::Interrupted,
            _ => return,
        };
        if self.store.is_none() {
            return;
        }
        let prior = self.state.tasks.get_mut(key);
        let prior_same = prior.as_ref().is_some_and(|p| p.status == status && p.fingerprint == r.fingerprint.digest);
        if !r.executed && prior_same {
            return;
        }
        let now = jiff::Timestamp::now();
        let started = now.checked_sub(jiff::SignedDuration::try_from(r.duration).unwrap_or_default()).unwrap_or(now);
        // State outlives the run: what it keeps is masked like every event.
        let message = r.message.as_deref().map(|m| emitter.masker.mask(m));
        let parts = std::mem::take(&mut r.fingerprint.parts);
        match prior {
            // Replaced in place: the record of this task's `running` mark, usually (which no
            // unit reads), keeping its parts when the unit handed them over with it.
            Some(slot) if !parts.is_empty() || slot.fingerprint == r.fingerprint.digest => {
                let record = Arc::make_mut(slot);
                record.status = status;
                record.fingerprint.clone_from(&r.fingerprint.digest);
                if !parts.is_empty() {
                    record.parts = parts;
                }
                record.run.clear();
                record.run.push_str(run_id);
                record.started = started;
                record.finished = Some(now);
                record.duration_ms = Some(millis(r.duration));
                record.message = message;
                record.pgids.clear();
            }
            _ => {
                self.state.tasks.insert(
                    key.to_string(),
                    Arc::new(TaskRecord {
                        status,
                        fingerprint: r.fingerprint.digest.clone(),
                        parts,
                        run: run_id.to_string(),
                        started,
                        finished: Some(now),
                        duration_ms: Some(millis(r.duration)),
                        message,
                        pgids: Vec::new(),
                    }),
                );
            }
        }
        // Written with the next burst, not fsynced: an outcome lost in a crash only means the
        // task runs again.
        self.append(key, Append::Later, emitter);
    }

    /// Folds the run's change log into a new snapshot (nothing to do when every task was
    /// resumed). `opsrun run` leaves its lines in the log until it holds [`FOLD_WAL_BYTES`]:
    /// the next load replays them, and a run that nothing resumes from does not pay a snapshot
    /// and its fsyncs every time.
    fn close(&mut self, emitter: &Emitter) {
        self.check_writes(emitter);
        let wal = lock(&self.wal).as_ref().map(|w| (w.is_dirty(), w.size()));
        let fold = match wal {
            Some((dirty, size)) => dirty && (self.fold_always || size >= FOLD_WAL_BYTES),
            None => false,
        };
        if let Some(store) = &self.store
            && self.broken.is_none()
            && fold
            && let Err(e) = store.save_shared(&self.state)
        {
            emitter.emit(Event::Warning { task: None, message: e.to_string() });
        }
    }
}

/// How big the change log of `opsrun run`s may grow before one of them folds it into the
/// snapshot: replaying it costs every load the parsing of each task's last line in it (and the
/// reading of the rest).
const FOLD_WAL_BYTES: u64 = 1024 * 1024;

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes the change log's pending lines when the [`flusher`] flushes, before the journal (a
/// failure is kept in the log and noticed by the dispatcher).
struct WalFlush(WalSlot);

/// The change log, once open.
type WalSlot = Arc<std::sync::Mutex<Option<crate::state::StateWal>>>;

impl EventSink for WalFlush {
    fn emit(&self, _: &EventEnvelope) {}

    /// Output is not the change log's: without this, the default would build an event per line
    /// only to drop it.
    fn emit_output(&self, _: &opsrun_event::OutputLines<'_>) {}

    fn flush(&self) {
        if let Some(wal) = lock(&self.0).as_mut() {
            let _ = wal.write_pending();
        }
    }
}

/// The tasks of `plan` as `run_started` announces them. (Labels, prefixes and group frames are
/// rendered from templates, so they can hold a secret: the emitter masks them with the rest.)
fn planned_tasks(plan: &Plan) -> Vec<PlannedTask> {
    plan.order()
        .iter()
        .map(|&n| {
            let t = plan.task(n);
            PlannedTask {
                task: t.key.clone(),
                deps: plan.dependencies(n).map(|d| plan.task(d).key.clone()).collect(),
                gate: t.health.as_ref().map(|h| h.name.clone()),
                desc: t.desc.clone(),
                label: t.label.clone(),
                prefix: t.prefix.clone(),
                output: match &t.output {
                    opsrun_spec::ResolvedOutput::Interleaved => OutputStyle::Interleaved,
                    opsrun_spec::ResolvedOutput::Prefixed => OutputStyle::Prefixed,
                    opsrun_spec::ResolvedOutput::Group { begin, end, error_only } => {
                        OutputStyle::Group { begin: begin.clone(), end: end.clone(), error_only: *error_only }
                    }
                },
                on_demand: plan.node(n).on_demand,
                interactive: t.interactive,
            }
        })
        .collect()
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
    scheduler: &mut Scheduler,
    kill_at: &mut Option<tokio::time::Instant>,
    shutdown: &watch::Sender<Shutdown>,
    emitter: &Emitter,
    grace: Duration,
) {
    scheduler.stop();
    if interrupted.is_none() && sig != StopSignal::Kill {
        *interrupted = Some(sig);
        emitter.emit(Event::Interrupt { signal: sig.name().to_string(), kill: false });
        let _ = shutdown.send(Shutdown::Graceful(sig));
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
