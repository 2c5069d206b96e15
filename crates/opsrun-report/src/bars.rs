//! [`BarsReporter`]: the live view of a run on an interactive terminal, drawn with indicatif.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use opsrun_event::{CommandStatus, Event, EventEnvelope, EventSink, OutputLines, SkipReason, Stream, TaskOutcome};

use crate::board::{Activity, Board, GateView, ProbeView};
use crate::summary::RunSummary;
use crate::task_output::TaskOutput;
use crate::text::{clean_line, clean_text, duration};
use crate::writer::LineWriter;
use crate::{ReportOptions, Reporter};

/// How often the frame is redrawn (spinners, elapsed times, a gate's time left) and the lines
/// printed since the last redraw are written above it.
const TICK: Duration = Duration::from_millis(100);

/// Lines printed less than this after the previous batch wait for the next tick, so that a task
/// printing thousands of lines costs a few redraws a second, not one per line.
const BATCH: Duration = Duration::from_millis(50);

/// Draws the running tasks, the tasks waiting on dependencies and an overall
/// `[done/total] tasks done · elapsed` line on stderr, redrawn ten times a second.
///
/// What tasks print is written above the frame as they print it (their output style, see
/// go-task's `output`) and stays on the screen: stdout lines on opsrun's stdout (so
/// `$(opsrun run version)` still captures them), stderr lines on stderr. Finished tasks,
/// warnings and interrupts are printed above the frame as well; nothing writes around
/// indicatif. While an `interactive` task's command has the terminal, nothing is drawn. The
/// run ends with the summary table, except a `run` of a single task (its own line says it all)
/// unless [`ReportOptions::summary_table`] asks for it.
pub struct BarsReporter {
    state: Arc<Mutex<BarsState>>,
    ticker: Mutex<Option<Ticker>>,
}

struct Ticker {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

/// Makes the draw target of a new frame (after an interactive command, a new one is needed).
type TargetFactory = Box<dyn Fn() -> ProgressDrawTarget + Send>;

/// The terminal's size, `(rows, columns)`, asked at every frame (the window may be resized).
type SizeSource = Box<dyn Fn() -> (u16, u16) + Send>;

struct BarsState {
    options: ReportOptions,
    target: TargetFactory,
    size: SizeSource,
    /// The frame, while a run is drawn and no interactive command has the terminal.
    bar: Option<ProgressBar>,
    board: Option<Board>,
    /// Status lines and task stderr; the summary.
    err: LineWriter,
    /// Task stdout lines; `None` drops them (tests that only look at status lines).
    out: Option<LineWriter>,
    task_output: TaskOutput,
    /// Lines to print above the frame at the next flush, in order.
    pending: Vec<(Stream, String)>,
    last_flush: Option<Instant>,
    interactive: HashSet<String>,
    /// Interactive tasks whose command has the terminal now.
    paused_by: HashSet<String>,
    skipped: HashMap<String, SkipReason>,
    summary: RunSummary,
    finished: bool,
}

impl BarsReporter {
    /// A reporter drawing on stderr, sized to the terminal, with task stdout on stdout.
    pub fn new(options: ReportOptions) -> Self {
        let reporter = Self::build(
            Box::new(ProgressDrawTarget::stderr),
            Box::new(|| {
                let (rows, cols) = console::Term::stderr().size();
                (rows, cols)
            }),
            Box::new(std::io::stderr()),
            options,
        );
        reporter.with_task_stdout(Box::new(std::io::stdout()))
    }

    /// Where the lines tasks print on stdout go (default: nowhere, for tests that only look at
    /// the status lines; [`BarsReporter::new`] sends them to opsrun's stdout).
    #[must_use]
    pub fn with_task_stdout(self, out: Box<dyn Write + Send>) -> Self {
        self.lock().out = Some(LineWriter::new(out));
        self
    }

    /// A reporter drawing on the targets `target` makes, for a terminal of 24 rows and 80
    /// columns, and writing status lines and the summary to `err` (tests pass
    /// [`ProgressDrawTarget::hidden`] and a buffer).
    pub fn with_draw_target(
        target: impl Fn() -> ProgressDrawTarget + Send + 'static,
        err: Box<dyn Write + Send>,
        options: ReportOptions,
    ) -> Self {
        Self::build(Box::new(target), Box::new(|| (24, 80)), err, options)
    }

    fn build(target: TargetFactory, size: SizeSource, err: Box<dyn Write + Send>, options: ReportOptions) -> Self {
        let state = Arc::new(Mutex::new(BarsState {
            options,
            target,
            size,
            bar: None,
            board: None,
            err: LineWriter::new(err),
            out: None,
            task_output: TaskOutput::default(),
            pending: Vec::new(),
            last_flush: None,
            interactive: HashSet::new(),
            paused_by: HashSet::new(),
            skipped: HashMap::new(),
            summary: RunSummary::new(),
            finished: false,
        }));
        let ticker = spawn_ticker(Arc::downgrade(&state));
        Self { state, ticker: Mutex::new(ticker) }
    }

    fn lock(&self) -> MutexGuard<'_, BarsState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts the thread that redraws the frame. It holds only a weak reference, so it never keeps
/// the state alive, and it wakes at once when told to stop. Without a thread the frame is drawn
/// on events only, which is better than failing the run.
fn spawn_ticker(state: Weak<Mutex<BarsState>>) -> Option<Ticker> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("opsrun-bars".into())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                let Some(state) = state.upgrade() else { break };
                state.lock().unwrap_or_else(PoisonError::into_inner).tick(Instant::now());
            }
        })
        .ok()?;
    Some(Ticker { stop, thread })
}

impl EventSink for BarsReporter {
    fn emit(&self, event: &EventEnvelope) {
        self.lock().handle(event, Instant::now());
    }

    /// What the renderer does with an output event, for a batch of lines at once.
    fn emit_output(&self, output: &OutputLines<'_>) {
        let mut state = self.lock();
        state.summary.output(output.task, output.lines);
        if state.finished {
            return;
        }
        let BarsState { task_output, pending, .. } = &mut *state;
        task_output.lines(output.task, output.stream, output.lines, |stream, pieces| {
            pending.push((stream, pieces.concat()));
        });
        let now = Instant::now();
        if state.last_flush.is_none_or(|last| now.saturating_duration_since(last) >= BATCH) {
            state.flush_lines(now);
        }
    }
}

impl Reporter for BarsReporter {
    fn finish(&self) {
        let ticker = self.ticker.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(ticker) = ticker {
            let _ = ticker.stop.send(());
            let _ = ticker.thread.join();
        }
        let mut state = self.lock();
        state.flush_lines(Instant::now());
        state.clear_frame();
        state.board = None;
        state.finished = true;
        state.err.flush();
    }
}

impl Drop for BarsReporter {
    fn drop(&mut self) {
        self.finish();
    }
}

impl BarsState {
    fn paint(&self, style: &Style, text: &str) -> String {
        if self.options.color { style.clone().force_styling(true).apply_to(text).to_string() } else { text.to_owned() }
    }

    /// A status line, printed above the frame.
    fn status(&mut self, line: String) {
        self.pending.push((Stream::Stderr, line));
    }

    /// Writes the pending lines above the frame (one clear and redraw for all of them).
    fn flush_lines(&mut self, now: Instant) {
        if self.pending.is_empty() {
            return;
        }
        let lines = std::mem::take(&mut self.pending);
        let (out, err) = (&mut self.out, &mut self.err);
        let mut write = || {
            for (stream, text) in &lines {
                match stream {
                    Stream::Stdout => {
                        if let Some(out) = out.as_mut() {
                            out.line(text);
                        }
                    }
                    Stream::Stderr => err.line(text),
                }
            }
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
        self.last_flush = Some(now);
    }

    /// Redraws the frame as of `now`.
    fn draw(&mut self, now: Instant) {
        let (Some(bar), Some(board)) = (&self.bar, &self.board) else { return };
        let (rows, cols) = (self.size)();
        // One column short of the width: a line that fills it exactly makes some terminals wrap.
        let lines = board.frame(now, usize::from(cols).saturating_sub(1), usize::from(rows), self.options.color);
        bar.set_message(lines.join("\n"));
    }

    fn tick(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        self.flush_lines(now);
        self.draw(now);
    }

    fn show_frame(&mut self, now: Instant) {
        if self.bar.is_none() && self.board.is_some() && self.paused_by.is_empty() && !self.finished {
            let bar = ProgressBar::with_draw_target(None, (self.target)())
                .with_style(ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
            self.bar = Some(bar);
            self.draw(now);
        }
    }

    fn clear_frame(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn board(&mut self) -> Option<&mut Board> {
        self.board.as_mut()
    }

    #[expect(clippy::too_many_lines, reason = "one arm per event kind; the arms are short and read best side by side")]
    fn handle(&mut self, envelope: &EventEnvelope, now: Instant) {
        self.summary.record(envelope);
        if self.finished {
            return;
        }
        match &envelope.event {
            Event::RunStarted { tasks, .. } => {
                self.clear_frame();
                self.pending.clear();
                self.skipped.clear();
                self.paused_by.clear();
                self.task_output.start(tasks);
                self.interactive = tasks.iter().filter(|t| t.interactive).map(|t| t.task.clone()).collect();
                self.board = Some(Board::new(now, tasks));
                // The overall line (and what waits) shows from the first instant.
                self.show_frame(now);
            }
            Event::TaskWasInterrupted { task, previous_run } => {
                let line = format!("{task} was interrupted in run {previous_run}; running it again");
                self.status(clean_line(&line));
            }
            Event::TaskStarted { task } => {
                if let Some(board) = self.board() {
                    board.start(task, now);
                }
            }
            Event::TaskSkipped { task, reason, detail } => {
                self.skipped.insert(task.clone(), *reason);
                if let Some(board) = self.board() {
                    board.set_activity(task, Activity::Text(clean_line(detail)));
                }
            }
            Event::CommandStarted { task, command, silent, .. } => {
                let text = if *silent { "running".to_owned() } else { format!("$ {}", clean_line(command)) };
                if let Some(board) = self.board() {
                    board.set_activity(task, Activity::Text(text));
                }
                if self.interactive.contains(task) {
                    // The command gets the terminal: print what is pending and stop drawing.
                    self.flush_lines(now);
                    self.clear_frame();
                    self.paused_by.insert(task.clone());
                }
            }
            Event::Output { task, stream, line } => {
                let pending = &mut self.pending;
                self.task_output.lines(task, *stream, opsrun_event::LineSlice::one(line), |stream, pieces| {
                    pending.push((stream, pieces.concat()));
                });
            }
            Event::CommandFinished { task, status, .. } => {
                let failed = *status != CommandStatus::Succeeded;
                let lines = self.task_output.command_finished(task, failed);
                self.pending.extend(lines);
                if self.paused_by.remove(task) {
                    self.show_frame(now);
                }
            }
            Event::TaskRetrying { task, attempt, of, .. } => {
                if let Some(board) = self.board() {
                    board.set_activity(task, Activity::Text(format!("retrying, attempt {attempt} of {of}")));
                }
            }
            Event::GateStarted { task, gate, success_threshold, timeout_ms } => {
                let view = GateView {
                    name: clean_line(gate),
                    started: now,
                    timeout: Duration::from_millis(*timeout_ms),
                    success_threshold: *success_threshold,
                    probe: None,
                };
                if let Some(board) = self.board() {
                    board.set_activity(task, Activity::Gate(view));
                }
            }
            Event::GateProbe { task, attempt, verdict, detail, consecutive_passes, .. } => {
                // (A probe always follows its gate's start; one without is not drawn.)
                if let Some(gate) = self.board().and_then(|b| b.gate_mut(task)) {
                    gate.probe = Some(ProbeView {
                        attempt: *attempt,
                        verdict: *verdict,
                        detail: clean_line(detail),
                        passes: *consecutive_passes,
                    });
                }
            }
            Event::GateFinished { task, gate, passed, .. } => {
                let verdict = if *passed { "healthy" } else { "health gate failed" };
                let text = format!("{verdict}: {}", clean_line(gate));
                if let Some(board) = self.board() {
                    board.set_activity(task, Activity::Text(text));
                }
            }
            Event::TaskFinished { task, outcome, duration_ms, message, .. } => {
                if let Some(board) = self.board() {
                    board.finish(task);
                }
                if self.paused_by.remove(task) {
                    self.show_frame(now);
                }
                let skipped = self.skipped.remove(task);
                let line = self.finished_line(task, *outcome, *duration_ms, message.as_deref(), skipped);
                self.status(line);
            }
            Event::Interrupt { signal, kill } => {
                let signal = clean_line(signal);
                let line = if *kill {
                    format!("interrupt: {signal}: killing remaining processes")
                } else if signal == "SIGINT" {
                    "interrupt: SIGINT received, stopping (press Ctrl-C again to kill)".to_owned()
                } else {
                    format!("interrupt: {signal} received, stopping (send it again to kill)")
                };
                let line = self.paint(&Style::new().yellow(), &line);
                self.status(line);
            }
            Event::Warning { task, message } => {
                let message = clean_text(message).replace('\n', "\n  ");
                let text = match task {
                    Some(task) => format!("[{}] {message}", clean_line(task)),
                    None => message,
                };
                let line = format!("{} {text}", self.paint(&Style::new().yellow(), "warning:"));
                self.status(line);
            }
            Event::RunFinished { .. } => {
                self.flush_lines(now);
                self.clear_frame();
                self.board = None;
                let text = if self.summary.is_single_task_run() && !self.options.summary_table {
                    self.summary.render_failures()
                } else {
                    format!("\n{}", self.summary.render())
                };
                self.err.raw(&text);
                return;
            }
            // Events a newer engine adds are not shown by this renderer.
            _ => {}
        }
        if self.last_flush.is_none_or(|last| now.saturating_duration_since(last) >= BATCH) {
            self.flush_lines(now);
        }
    }

    /// `✔ api 3.1s`, `✘ cilium failed: ...`, `↷ talos resumed`.
    fn finished_line(
        &self,
        task: &str,
        outcome: TaskOutcome,
        duration_ms: u64,
        message: Option<&str>,
        skipped: Option<SkipReason>,
    ) -> String {
        let name = clean_line(task);
        let message = message.map(clean_text).and_then(|m| m.lines().next().map(str::to_owned));
        let with_message = |text: String| match &message {
            Some(m) if !m.is_empty() => format!("{text}: {m}"),
            _ => text,
        };
        let (green, red, dim) = (Style::new().green(), Style::new().red(), Style::new().dim());
        match outcome {
            TaskOutcome::Ok => format!("{} {name} {}", self.paint(&green, "✔"), duration(duration_ms)),
            TaskOutcome::UpToDate | TaskOutcome::Resumed => {
                let label = match (outcome, skipped) {
                    (_, Some(SkipReason::Resumed)) | (TaskOutcome::Resumed, None) => "resumed",
                    _ => "up to date",
                };
                format!("{} {name} {label}", self.paint(&dim, "↷"))
            }
            TaskOutcome::Failed => with_message(format!("{} {name} failed", self.paint(&red, "✘"))),
            TaskOutcome::FailedIgnored => with_message(format!("{} {name} failed (ignored)", self.paint(&red, "✘"))),
            TaskOutcome::Interrupted => with_message(format!("{} {name} interrupted", self.paint(&red, "✘"))),
            TaskOutcome::NotRun => with_message(format!("{} {name} not run", self.paint(&dim, "·"))),
            _ => with_message(format!("· {name} {}", outcome.label())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SharedBuf, envelope};
    use opsrun_event::{PlannedTask, RunMode, RunOutcome};

    fn reporter(options: ReportOptions) -> (BarsReporter, SharedBuf, SharedBuf) {
        let (out, err) = (SharedBuf::default(), SharedBuf::default());
        let reporter = BarsReporter::with_draw_target(ProgressDrawTarget::hidden, Box::new(err.clone()), options)
            .with_task_stdout(Box::new(out.clone()));
        (reporter, out, err)
    }

    fn run_of(tasks: &[(&str, bool)]) -> Event {
        Event::RunStarted {
            mode: RunMode::Run,
            name: "t".into(),
            tasks: tasks
                .iter()
                .map(|(t, interactive)| PlannedTask {
                    task: (*t).into(),
                    interactive: *interactive,
                    ..PlannedTask::default()
                })
                .collect(),
            state_dir: None,
        }
    }

    fn ok(task: &str) -> Event {
        Event::TaskFinished {
            task: task.into(),
            outcome: TaskOutcome::Ok,
            duration_ms: 300,
            message: None,
            gate_attempts: 0,
            log: None,
        }
    }

    fn end() -> Event {
        Event::RunFinished { outcome: RunOutcome::Succeeded, duration_ms: 300, resume_hint: None }
    }

    #[test]
    fn task_output_stays_and_a_one_task_run_has_no_table() {
        let (reporter, out, err) = reporter(ReportOptions::default());
        for event in [
            run_of(&[("hello", false)]),
            Event::TaskStarted { task: "hello".into() },
            Event::Output { task: "hello".into(), stream: Stream::Stdout, line: "one".into() },
            Event::Output { task: "hello".into(), stream: Stream::Stdout, line: "two".into() },
            ok("hello"),
            end(),
        ] {
            reporter.emit(&envelope(event));
        }
        reporter.finish();
        assert_eq!(out.text(), "one\ntwo\n");
        assert_eq!(err.text(), "✔ hello 0.3s\n");
    }

    #[test]
    fn a_table_when_asked_or_for_more_tasks() {
        let (reporter, _out, err) = reporter(ReportOptions { summary_table: true, ..ReportOptions::default() });
        for event in [run_of(&[("hello", false)]), Event::TaskStarted { task: "hello".into() }, ok("hello"), end()] {
            reporter.emit(&envelope(event));
        }
        reporter.finish();
        assert!(err.text().contains("task   outcome  duration\nhello  ok           0.3s\n"), "{}", err.text());

        let (reporter, _out, err) = reporter_pair();
        for event in [run_of(&[("a", false), ("b", false)]), ok("a"), ok("b"), end()] {
            reporter.emit(&envelope(event));
        }
        reporter.finish();
        assert!(err.text().contains("2 tasks: 2 ok"), "{}", err.text());
    }

    fn reporter_pair() -> (BarsReporter, SharedBuf, SharedBuf) {
        reporter(ReportOptions::default())
    }

    #[test]
    fn an_interactive_command_suspends_the_frame() {
        let (reporter, _out, _err) = reporter_pair();
        reporter.emit(&envelope(run_of(&[("login", true), ("after", false)])));
        assert!(reporter.lock().bar.is_some(), "the frame shows from the start");
        reporter.emit(&envelope(Event::TaskStarted { task: "login".into() }));
        reporter.emit(&envelope(Event::CommandStarted {
            task: "login".into(),
            index: 0,
            command: "op signin".into(),
            silent: false,
        }));
        assert!(reporter.lock().bar.is_none(), "nothing is drawn while the command has the terminal");
        reporter.emit(&envelope(Event::CommandFinished {
            task: "login".into(),
            index: 0,
            exit_code: Some(0),
            status: CommandStatus::Succeeded,
            duration_ms: 1,
        }));
        assert!(reporter.lock().bar.is_some(), "the frame is back");
        reporter.finish();
    }
}
