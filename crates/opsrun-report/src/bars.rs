//! [`BarsReporter`]: live progress bars on an interactive terminal, drawn by indicatif.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use opsrun_event::{Event, EventEnvelope, EventSink, ProbeVerdict, SkipReason, TaskOutcome};

use crate::summary::RunSummary;
use crate::text::{clean_line, clean_text, duration};
use crate::writer::LineWriter;
use crate::{ReportOptions, Reporter};

/// How often spinners and elapsed times redraw.
const TICK: Duration = Duration::from_millis(100);

/// Draws one spinner per running task and an overall `[k/n] tasks done` line on stderr.
///
/// Everything else it shows (finished tasks, warnings, interrupts, output lines with
/// `verbose`) is printed above the bars through [`MultiProgress::println`], so nothing writes
/// around indicatif. The summary is written when the run finishes, after the bars are cleared.
pub struct BarsReporter {
    state: Mutex<BarsState>,
}

struct BarsState {
    multi: MultiProgress,
    options: ReportOptions,
    /// Summary output; stderr outside tests.
    err: LineWriter,
    overall: Option<ProgressBar>,
    planned: HashSet<String>,
    done: HashSet<String>,
    bars: HashMap<String, TaskBar>,
    summary: RunSummary,
    finished: bool,
    /// Task stdout lines, written above the bars.
    out: Option<LineWriter>,
    task_output: crate::task_output::TaskOutput,
}

struct TaskBar {
    bar: ProgressBar,
    gate: Option<GateView>,
    skipped: Option<SkipReason>,
}

struct GateView {
    gate: String,
    success_threshold: u32,
    /// The whole-gate limit, as text (`5m`), empty when unknown.
    timeout: String,
}

impl BarsReporter {
    /// A reporter drawing on stderr.
    pub fn new(options: ReportOptions) -> Self {
        Self::with_draw_target(ProgressDrawTarget::stderr(), Box::new(std::io::stderr()), options)
            .with_task_stdout(Box::new(std::io::stdout()))
    }

    /// Where the lines tasks print on stdout go (default: nowhere, for tests that only look at
    /// the bars; [`BarsReporter::new`] sends them to opsrun's stdout).
    #[must_use]
    pub fn with_task_stdout(self, out: Box<dyn Write + Send>) -> Self {
        self.lock().out = Some(LineWriter::new(out));
        self
    }

    /// A reporter drawing on `target` and writing the summary to `err`
    /// (tests pass [`ProgressDrawTarget::hidden`] and a buffer).
    pub fn with_draw_target(target: ProgressDrawTarget, err: Box<dyn Write + Send>, options: ReportOptions) -> Self {
        Self {
            state: Mutex::new(BarsState {
                multi: MultiProgress::with_draw_target(target),
                options,
                err: LineWriter::new(err),
                out: None,
                task_output: crate::task_output::TaskOutput::default(),
                overall: None,
                planned: HashSet::new(),
                done: HashSet::new(),
                bars: HashMap::new(),
                summary: RunSummary::new(),
                finished: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BarsState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EventSink for BarsReporter {
    fn emit(&self, event: &EventEnvelope) {
        self.lock().handle(event);
    }
}

impl Reporter for BarsReporter {
    fn finish(&self) {
        let mut state = self.lock();
        if !state.finished {
            state.clear_bars();
            state.finished = true;
        }
        state.err.flush();
    }
}

impl Drop for BarsReporter {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Builds a style from a template known to be valid; should it ever not be, indicatif's plain
/// spinner is better than a panic.
fn template(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl BarsState {
    fn paint(&self, style: &Style, text: &str) -> String {
        if self.options.color { style.clone().force_styling(true).apply_to(text).to_string() } else { text.to_owned() }
    }

    fn println(&self, line: &str) {
        // A failed write of a log line must not disturb the run.
        let _ = self.multi.println(line);
    }

    fn task_bar(&mut self, task: &str) -> &mut TaskBar {
        let (multi, overall, color) = (&self.multi, &self.overall, self.options.color);
        self.bars.entry(task.to_owned()).or_insert_with(|| {
            let style = if color {
                template("{spinner:.cyan} {prefix:.bold} {elapsed:.dim} {wide_msg}")
            } else {
                template("{spinner} {prefix} {elapsed} {wide_msg}")
            };
            let bar = ProgressBar::new_spinner().with_style(style).with_prefix(clean_line(task));
            // Running tasks stay above the overall line.
            let bar = match overall {
                Some(overall) => multi.insert_before(overall, bar),
                None => multi.add(bar),
            };
            bar.enable_steady_tick(TICK);
            TaskBar { bar, gate: None, skipped: None }
        })
    }

    fn clear_bars(&mut self) {
        for (_, task) in self.bars.drain() {
            task.bar.finish_and_clear();
            self.multi.remove(&task.bar);
        }
        if let Some(overall) = self.overall.take() {
            overall.finish_and_clear();
            self.multi.remove(&overall);
        }
        let _ = self.multi.clear();
    }

    fn write_task_line(&mut self, (stream, text): (opsrun_event::Stream, String)) {
        let writer = match stream {
            opsrun_event::Stream::Stdout => self.out.as_mut(),
            opsrun_event::Stream::Stderr => Some(&mut self.err),
        };
        if let Some(w) = writer {
            self.multi.suspend(|| w.line(&text));
        }
    }

    #[expect(clippy::too_many_lines, reason = "one arm per event kind; the arms are short and read best side by side")]
    fn handle(&mut self, envelope: &EventEnvelope) {
        self.summary.record(envelope);
        if self.finished {
            return;
        }
        match &envelope.event {
            Event::RunStarted { tasks, .. } => {
                self.clear_bars();
                self.done.clear();
                self.planned = tasks.iter().map(|t| t.task.clone()).collect();
                self.task_output.start(tasks);
                let overall = ProgressBar::new(tasks.len() as u64).with_style(template("[{pos}/{len}] tasks done"));
                self.overall = Some(self.multi.add(overall));
            }
            Event::TaskWasInterrupted { task, previous_run } => {
                let line = format!("{task} was interrupted in run {previous_run}; running it again");
                self.println(&clean_line(&line));
            }
            Event::TaskStarted { task } => {
                self.task_bar(task).bar.set_message("starting");
            }
            Event::TaskSkipped { task, reason, detail } => {
                let bar = self.task_bar(task);
                bar.skipped = Some(*reason);
                bar.bar.set_message(clean_line(detail));
            }
            Event::CommandStarted { task, command, silent, .. } => {
                let message = if *silent { String::new() } else { format!("$ {}", clean_line(command)) };
                self.task_bar(task).bar.set_message(message);
            }
            Event::Output { task, stream, line } => {
                // What a task prints is written above the bars, in its output style, and stays
                // on the screen; its stdout goes to opsrun's stdout (scripts capture it).
                if let Some(out) = self.task_output.line(task, *stream, line) {
                    self.write_task_line(out);
                }
                let line = clean_line(line);
                let bar = self.task_bar(task);
                if bar.gate.is_none() {
                    bar.bar.set_message(line);
                }
            }
            Event::CommandFinished { task, status, .. } => {
                for out in self.task_output.command_finished(task, *status != opsrun_event::CommandStatus::Succeeded) {
                    self.write_task_line(out);
                }
            }
            Event::TaskRetrying { task, attempt, of, .. } => {
                self.task_bar(task).bar.set_message(format!("retrying, attempt {attempt} of {of}"));
            }
            Event::GateStarted { task, gate, success_threshold, timeout_ms } => {
                let gate = clean_line(gate);
                let timeout = crate::text::coarse_duration(*timeout_ms);
                let bar = self.task_bar(task);
                bar.bar.set_message(format!("waiting for health: {gate} (timeout {timeout})"));
                bar.gate = Some(GateView { gate, success_threshold: *success_threshold, timeout });
            }
            Event::GateProbe { task, attempt, verdict, detail, consecutive_passes, gate, .. } => {
                let bar = self.task_bar(task);
                let view = bar.gate.get_or_insert_with(|| GateView {
                    gate: clean_line(gate),
                    success_threshold: 1,
                    timeout: String::new(),
                });
                let limit =
                    if view.timeout.is_empty() { String::new() } else { format!(" (timeout {})", view.timeout) };
                let mut message =
                    format!("waiting for health: {}{limit}, attempt {attempt}, {}", view.gate, verdict.label());
                if *verdict == ProbeVerdict::Pass && view.success_threshold > 1 {
                    let _ = write!(message, " {consecutive_passes}/{}", view.success_threshold);
                }
                let detail = clean_line(detail);
                if !detail.is_empty() {
                    message.push_str(": ");
                    message.push_str(&detail);
                }
                bar.bar.set_message(message);
            }
            Event::GateFinished { task, passed, .. } => {
                let bar = self.task_bar(task);
                if let Some(view) = bar.gate.take() {
                    let verdict = if *passed { "healthy" } else { "health gate failed" };
                    bar.bar.set_message(format!("{verdict}: {}", view.gate));
                }
            }
            Event::TaskFinished { task, outcome, duration_ms, message, .. } => {
                let skipped = self.bars.remove(task).map(|b| {
                    b.bar.finish_and_clear();
                    self.multi.remove(&b.bar);
                    b.skipped
                });
                if self.planned.contains(task)
                    && self.done.insert(task.clone())
                    && let Some(overall) = &self.overall
                {
                    overall.inc(1);
                }
                let name = clean_line(task);
                let message = message.as_deref().map(clean_text).and_then(|m| m.lines().next().map(str::to_owned));
                let with_message = |text: String| match &message {
                    Some(m) if !m.is_empty() => format!("{text}: {m}"),
                    _ => text,
                };
                let green = Style::new().green();
                let red = Style::new().red();
                let dim = Style::new().dim();
                let line = match outcome {
                    TaskOutcome::Ok => format!("{} {name} {}", self.paint(&green, "✔"), duration(*duration_ms)),
                    TaskOutcome::UpToDate | TaskOutcome::Resumed => {
                        let label = match (outcome, skipped.flatten()) {
                            (_, Some(SkipReason::Resumed)) | (TaskOutcome::Resumed, None) => "resumed",
                            _ => "up to date",
                        };
                        format!("{} {name} {label}", self.paint(&dim, "↷"))
                    }
                    TaskOutcome::Failed => with_message(format!("{} {name} failed", self.paint(&red, "✘"))),
                    TaskOutcome::FailedIgnored => {
                        with_message(format!("{} {name} failed (ignored)", self.paint(&red, "✘")))
                    }
                    TaskOutcome::Interrupted => with_message(format!("{} {name} interrupted", self.paint(&red, "✘"))),
                    TaskOutcome::NotRun => with_message(format!("{} {name} not run", self.paint(&dim, "·"))),
                    _ => with_message(format!("· {name} {}", outcome.label())),
                };
                self.println(&line);
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
                let yellow = Style::new().yellow();
                self.println(&self.paint(&yellow, &line));
            }
            Event::Warning { task, message } => {
                let message = clean_text(message).replace('\n', "\n  ");
                let text = match task {
                    Some(task) => format!("[{}] {message}", clean_line(task)),
                    None => message,
                };
                let yellow = Style::new().yellow();
                self.println(&format!("{} {text}", self.paint(&yellow, "warning:")));
            }
            Event::RunFinished { .. } => {
                self.clear_bars();
                let summary = self.summary.render();
                let err = &mut self.err;
                self.multi.suspend(|| err.raw(&format!("\n{summary}")));
            }
            // Events a newer engine adds are not shown by this renderer.
            _ => {}
        }
    }
}
