//! [`PlainReporter`]: line-oriented output for pipes and CI logs, without any escape sequence.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opsrun_event::{
    CommandStatus, Event, EventEnvelope, EventSink, OutputLines, ProbeVerdict, RunMode, SkipReason, TaskOutcome,
};

use crate::summary::RunSummary;
use crate::task_output::TaskOutput;
use crate::text::{clean_line, clean_line_cow, clean_text, coarse_duration, duration, is_plain_line};
use crate::writer::Console;
use crate::{ReportOptions, Reporter};

/// How long a waiting gate may stay silent before a heartbeat line says it is still waiting.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);

/// How often the heartbeat thread looks at waiting gates.
const TICK: Duration = Duration::from_secs(1);

/// Writes task output to stdout as `[task] line` and status lines to stderr, then the summary.
///
/// Meant for pipes and CI logs: it never writes an ANSI escape sequence (escapes in command output
/// are stripped), and while a health gate waits a background thread prints a heartbeat at most
/// every [`HEARTBEAT_INTERVAL`]. The thread stops in [`Reporter::finish`] or on drop.
pub struct PlainReporter {
    state: Arc<Mutex<PlainState>>,
    ticker: Mutex<Option<Ticker>>,
}

struct Ticker {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

struct PlainState {
    console: Console,
    options: ReportOptions,
    /// Gates now polling, by task.
    gates: HashMap<String, GateWait>,
    /// Tasks whose skip was already announced, so their finish line is not repeated.
    skipped: HashSet<String>,
    summary: RunSummary,
    finished: bool,
    task_output: TaskOutput,
}

struct GateWait {
    gate: String,
    started: Instant,
    /// When the last line about this gate was printed.
    last_line: Instant,
    success_threshold: u32,
    last_probe: Option<Probe>,
}

struct Probe {
    attempt: u32,
    verdict: ProbeVerdict,
    detail: String,
}

impl PlainReporter {
    /// A reporter writing task output to `out` (stdout) and status lines to `err` (stderr).
    pub fn new(out: Box<dyn Write + Send>, err: Box<dyn Write + Send>, options: ReportOptions) -> Self {
        let state = Arc::new(Mutex::new(PlainState {
            console: Console::new(out, err),
            options,
            gates: HashMap::new(),
            skipped: HashSet::new(),
            summary: RunSummary::new(),
            finished: false,
            task_output: TaskOutput::default(),
        }));
        let ticker = spawn_ticker(Arc::downgrade(&state));
        Self { state, ticker: Mutex::new(ticker) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PlainState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Prints heartbeats for gates silent for [`HEARTBEAT_INTERVAL`] as of `now`; the thread
    /// calls it every second, tests call it with a clock of their own.
    #[cfg(test)]
    pub(crate) fn heartbeat_at(&self, now: Instant) {
        self.lock().heartbeat(now);
    }
}

/// Starts the heartbeat thread. It holds only a weak reference, so it never keeps the state
/// alive, and it wakes at once when told to stop. Without a thread there is no heartbeat, which
/// is better than failing the run.
fn spawn_ticker(state: Weak<Mutex<PlainState>>) -> Option<Ticker> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("opsrun-heartbeat".into())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                let Some(state) = state.upgrade() else { break };
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                state.heartbeat(Instant::now());
                state.console.flush();
            }
        })
        .ok()?;
    Some(Ticker { stop, thread })
}

impl EventSink for PlainReporter {
    fn emit(&self, event: &EventEnvelope) {
        self.lock().handle(event, Instant::now());
    }

    fn emit_output(&self, output: &OutputLines<'_>) {
        let mut state = self.lock();
        state.summary.output(output.task, output.lines);
        if state.finished {
            return;
        }
        let PlainState { task_output, console, .. } = &mut *state;
        task_output.lines(output.task, output.stream, output.lines, |stream, pieces| console.line_of(stream, pieces));
    }

    fn flush(&self) {
        self.lock().console.flush();
    }
}

impl Reporter for PlainReporter {
    fn finish(&self) {
        let ticker = self.ticker.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(ticker) = ticker {
            let _ = ticker.stop.send(());
            let _ = ticker.thread.join();
        }
        let mut state = self.lock();
        state.finished = true;
        state.gates.clear();
        state.console.flush();
    }
}

impl Drop for PlainReporter {
    fn drop(&mut self) {
        self.finish();
    }
}

impl PlainState {
    /// Writes a status line for `task`; further lines of `text` are indented under it.
    fn status(&mut self, task: &str, text: &str) {
        let task = clean_line_cow(task);
        let mut lines = text.split('\n');
        let first = lines.next().unwrap_or_default();
        self.console.line_of(opsrun_event::Stream::Stderr, &["[", &task, "] ", first]);
        for line in lines {
            self.console.line_of(opsrun_event::Stream::Stderr, &["[", &task, "]   ", line]);
        }
    }

    fn write_task_line(&mut self, (stream, text): (opsrun_event::Stream, String)) {
        self.console.line(stream, &text);
    }

    #[expect(clippy::too_many_lines, reason = "one arm per event kind; the arms are short and read best side by side")]
    fn handle(&mut self, envelope: &EventEnvelope, now: Instant) {
        self.summary.record(envelope);
        if self.finished {
            return;
        }
        match &envelope.event {
            Event::RunStarted { mode, name, tasks, .. } => {
                self.gates.clear();
                self.skipped.clear();
                self.task_output.start(tasks);
                if self.options.quiet {
                    return;
                }
                let what = match mode {
                    RunMode::Pipeline => "pipeline",
                    RunMode::Recovery => "recovery",
                    _ => "run",
                };
                let noun = if tasks.len() == 1 { "task" } else { "tasks" };
                self.console.line(
                    opsrun_event::Stream::Stderr,
                    &format!(
                        "starting {what} {}: {} {noun} (run {})",
                        clean_line(name),
                        tasks.len(),
                        clean_line(&envelope.run)
                    ),
                );
            }
            Event::TaskWasInterrupted { task, previous_run } => {
                let text = format!("was interrupted in run {}; running it again", clean_line(previous_run));
                self.status(task, &text);
            }
            // Quiet output keeps what needs attention: failures, waits, warnings, the summary.
            Event::TaskStarted { task } if !self.options.quiet => self.status(task, "started"),
            Event::TaskSkipped { task, reason, detail } => {
                self.skipped.insert(task.clone());
                if self.options.quiet {
                    return;
                }
                let label = match reason {
                    SkipReason::UpToDate => "up to date",
                    SkipReason::Resumed => "resumed",
                    _ => "skipped",
                };
                let detail = clean_text(detail);
                let text = if detail.is_empty() { label.to_owned() } else { format!("{label}: {detail}") };
                self.status(task, &text);
            }
            Event::CommandStarted { task, command, silent, .. } if !*silent && !self.options.quiet => {
                if is_plain_line(command) {
                    // What the general case makes of one line of printable text (nothing to
                    // clean or dedent but its leading blanks), without copies.
                    let task = clean_line_cow(task);
                    self.console.line_of(opsrun_event::Stream::Stderr, &["[", &task, "] $ ", command.trim_start()]);
                } else {
                    let command = dedent(&clean_text(command)).replace('\n', "\n  ");
                    self.status(task, &format!("$ {command}"));
                }
            }
            // A task's own output is passed on as it printed it (go-task's output styles), quiet
            // or not: scripts capture it.
            Event::Output { task, stream, line } => {
                let console = &mut self.console;
                self.task_output.lines(task, *stream, opsrun_event::LineSlice::one(line), |stream, pieces| {
                    console.line_of(stream, pieces);
                });
            }
            Event::CommandFinished { task, index, exit_code, status, duration_ms } => {
                for out in self.task_output.command_finished(task, *status != CommandStatus::Succeeded) {
                    self.write_task_line(out);
                }
                if *status == CommandStatus::Succeeded {
                    return;
                }
                let took = duration(*duration_ms);
                let n = index + 1;
                let text = match (status, exit_code) {
                    (CommandStatus::Succeeded, _) => return,
                    (CommandStatus::Failed, Some(code)) => {
                        format!("command {n} failed with exit code {code} after {took}")
                    }
                    (CommandStatus::Failed, None) => format!("command {n} was killed by a signal after {took}"),
                    (CommandStatus::TimedOut, _) => format!("command {n} timed out after {took}"),
                    (CommandStatus::Interrupted, _) => format!("command {n} interrupted after {took}"),
                    (CommandStatus::SpawnFailed, _) => format!("command {n} could not be started"),
                    (_, _) => format!("command {n} ended after {took}"),
                };
                self.status(task, &text);
            }
            Event::TaskRetrying { task, attempt, of, delay_ms } => {
                let text = format!("retrying (attempt {attempt} of {of}) in {}", coarse_duration(*delay_ms));
                self.status(task, &text);
            }
            Event::GateStarted { task, gate, timeout_ms, success_threshold } => {
                let wait = GateWait {
                    gate: clean_line(gate),
                    started: now,
                    last_line: now,
                    success_threshold: *success_threshold,
                    last_probe: None,
                };
                let text = format!("waiting for health: {} (timeout {})", wait.gate, coarse_duration(*timeout_ms));
                self.gates.insert(task.clone(), wait);
                self.status(task, &text);
            }
            Event::GateProbe { task, attempt, verdict, detail, elapsed_ms, consecutive_passes, .. } => {
                let Some(wait) = self.gates.get_mut(task) else { return };
                let changed = wait.last_probe.as_ref().is_none_or(|p| p.verdict != *verdict);
                let detail = clean_line(detail);
                let mut text = format!("probe {attempt} at {}: {}", coarse_duration(*elapsed_ms), verdict.label());
                if *verdict == ProbeVerdict::Pass && wait.success_threshold > 1 {
                    let _ = write!(text, " ({consecutive_passes} of {} passes)", wait.success_threshold);
                }
                if !detail.is_empty() {
                    let _ = write!(text, ": {detail}");
                }
                wait.last_probe = Some(Probe { attempt: *attempt, verdict: *verdict, detail });
                if changed {
                    wait.last_line = now;
                    self.status(task, &text);
                }
            }
            Event::GateFinished { task, gate, passed, attempts, elapsed_ms, message } => {
                self.gates.remove(task);
                let probes = if *attempts == 1 { "probe" } else { "probes" };
                let took = coarse_duration(*elapsed_ms);
                let gate = clean_line(gate);
                let interrupted = message.as_deref().is_some_and(|m| m.starts_with("interrupted"));
                let mut text = if *passed {
                    format!("healthy: {gate} after {attempts} {probes} in {took}")
                } else if interrupted {
                    self.status(
                        task,
                        &format!("stopped waiting for health: {gate} after {attempts} {probes} in {took}"),
                    );
                    return;
                } else {
                    format!("health gate failed: {gate} after {attempts} {probes} in {took}")
                };
                if let Some(message) = message.as_deref().map(clean_text).filter(|m| !m.is_empty()) {
                    let _ = write!(text, ": {message}");
                }
                self.status(task, &text);
            }
            Event::TaskFinished { task, outcome, duration_ms, message, .. } => {
                self.gates.remove(task);

                let was_skipped = self.skipped.remove(task);
                let took = duration(*duration_ms);
                let message = message.as_deref().map(clean_text).filter(|m| !m.is_empty());
                let with_message = |text: String| match &message {
                    Some(m) => format!("{text}: {m}"),
                    None => text,
                };
                let text = match outcome {
                    TaskOutcome::Ok | TaskOutcome::UpToDate | TaskOutcome::Resumed | TaskOutcome::NotRun
                        if self.options.quiet =>
                    {
                        return;
                    }
                    TaskOutcome::Ok => {
                        let task = clean_line_cow(task);
                        self.console.line_of(opsrun_event::Stream::Stderr, &["[", &task, "] ok in ", &took]);
                        return;
                    }
                    TaskOutcome::UpToDate | TaskOutcome::Resumed if was_skipped => return,
                    TaskOutcome::UpToDate | TaskOutcome::Resumed => outcome.label().to_owned(),
                    TaskOutcome::Failed => with_message(format!("FAILED after {took}")),
                    TaskOutcome::FailedIgnored => with_message(format!("failed (ignored) after {took}")),
                    TaskOutcome::Interrupted => with_message(format!("interrupted after {took}")),
                    TaskOutcome::NotRun => with_message("not run".to_owned()),
                    _ => with_message(outcome.label().to_owned()),
                };
                self.status(task, &text);
            }
            Event::Interrupt { signal, kill } => {
                let signal = clean_line(signal);
                let line = match (*kill, signal.as_str()) {
                    (true, _) => format!("interrupt: {signal}: killing remaining processes"),
                    (false, "SIGINT") => "interrupt: SIGINT received, stopping (press Ctrl-C again to kill)".to_owned(),
                    (false, _) => format!("interrupt: {signal} received, stopping (send it again to kill)"),
                };
                self.console.line(opsrun_event::Stream::Stderr, &line);
            }
            Event::Warning { task, message } => {
                let message = clean_text(message).replace('\n', "\n  ");
                let line = match task {
                    Some(task) => format!("warning: [{}] {message}", clean_line(task)),
                    None => format!("warning: {message}"),
                };
                self.console.line(opsrun_event::Stream::Stderr, &line);
            }
            Event::RunFinished { .. } => {
                self.gates.clear();
                let summary = self.summary.render();
                self.console.raw(opsrun_event::Stream::Stderr, &format!("\n{summary}"));
            }
            // Events a newer engine adds are not shown by this renderer.
            _ => {}
        }
    }

    fn heartbeat(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        let mut due: Vec<(String, String)> = Vec::new();
        for (task, wait) in &mut self.gates {
            if now.saturating_duration_since(wait.last_line) < HEARTBEAT_INTERVAL {
                continue;
            }
            wait.last_line = now;
            let waited = now.saturating_duration_since(wait.started);
            let waited = coarse_duration(waited.as_secs().saturating_mul(1000));
            let text = match &wait.last_probe {
                Some(p) => {
                    let mut state = p.verdict.label().to_owned();
                    if !p.detail.is_empty() {
                        state.push_str(": ");
                        state.push_str(&p.detail);
                    }
                    format!("still waiting for health: {} (attempt {}, {waited}, {state})", wait.gate, p.attempt)
                }
                None => format!("still waiting for health: {} ({waited}, no probe yet)", wait.gate),
            };
            due.push((task.clone(), text));
        }
        // Several gates may be due in one tick; print them in a stable order.
        due.sort();
        for (task, text) in due {
            self.status(&task, &text);
        }
    }
}

/// A multi-line script as it reads in the tasks file, without the indentation it shares.
fn dedent(text: &str) -> String {
    let trimmed = text.trim_matches('\n');
    let indent = trimmed
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    trimmed
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 0 { l.trim_start() } else { l.get(indent..).unwrap_or(l.trim_start()) })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SharedBuf, envelope};

    /// The shortcut for a command of one plain line writes what the general case would.
    #[test]
    fn a_plain_command_line_is_shown_as_the_general_case_shows_it() {
        for command in ["true", "  helm upgrade --install cilium", "a\tb  ", "\techo x"] {
            assert!(is_plain_line(command));
            assert_eq!(dedent(&clean_text(command)).replace('\n', "\n  "), command.trim_start(), "{command:?}");
        }
    }

    fn reporter() -> (PlainReporter, SharedBuf, SharedBuf) {
        let (out, err) = (SharedBuf::default(), SharedBuf::default());
        let reporter = PlainReporter::new(Box::new(out.clone()), Box::new(err.clone()), ReportOptions::default());
        (reporter, out, err)
    }

    #[test]
    fn heartbeat_at_most_every_ten_seconds() {
        let (reporter, _out, err) = reporter();
        let start = Instant::now();
        reporter.emit(&envelope(Event::GateStarted {
            task: "cilium".into(),
            gate: "cilium-ready".into(),
            timeout_ms: 300_000,
            success_threshold: 2,
        }));
        reporter.heartbeat_at(start + Duration::from_secs(5));
        reporter.emit(&envelope(Event::GateProbe {
            task: "cilium".into(),
            gate: "cilium-ready".into(),
            attempt: 1,
            verdict: ProbeVerdict::NotReady,
            detail: "exit 1: 0/3 nodes ready".into(),
            elapsed_ms: 0,
            consecutive_passes: 0,
        }));
        // Same verdict again: no line, and the heartbeat clock keeps running from the first probe.
        reporter.emit(&envelope(Event::GateProbe {
            task: "cilium".into(),
            gate: "cilium-ready".into(),
            attempt: 2,
            verdict: ProbeVerdict::NotReady,
            detail: "exit 1: 1/3 nodes ready".into(),
            elapsed_ms: 5_000,
            consecutive_passes: 0,
        }));
        let probed = Instant::now();
        reporter.heartbeat_at(probed + Duration::from_secs(9));
        reporter.heartbeat_at(probed + Duration::from_secs(11));
        reporter.heartbeat_at(probed + Duration::from_secs(15));
        reporter.heartbeat_at(probed + Duration::from_secs(21));
        reporter.finish();
        let text = err.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], "[cilium] waiting for health: cilium-ready (timeout 5m)");
        assert_eq!(lines[1], "[cilium] probe 1 at 0s: not ready: exit 1: 0/3 nodes ready");
        assert!(lines[2].starts_with("[cilium] still waiting for health: cilium-ready (attempt 2, 1"), "{}", lines[2]);
        assert!(lines[2].ends_with("s, not ready: exit 1: 1/3 nodes ready)"), "{}", lines[2]);
        assert!(lines[3].starts_with("[cilium] still waiting for health: cilium-ready (attempt 2, 2"));
    }

    #[test]
    fn no_heartbeat_after_finish() {
        let (reporter, _out, err) = reporter();
        reporter.emit(&envelope(Event::GateStarted {
            task: "api".into(),
            gate: "readyz".into(),
            timeout_ms: 60_000,
            success_threshold: 1,
        }));
        reporter.finish();
        reporter.finish();
        reporter.heartbeat_at(Instant::now() + Duration::from_secs(60));
        assert_eq!(err.text(), "[api] waiting for health: readyz (timeout 1m)\n");
    }
}
