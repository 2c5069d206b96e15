//! The end-of-run summary: [`RunSummary`] accumulates events, [`render_summary`] turns it into text.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;

use opsrun_event::{Event, EventEnvelope, RunMode, RunOutcome, SkipReason, TaskOutcome};

use crate::text::{clean_line, clean_text, duration};

/// How many of a task's last output lines the summary shows when it failed.
pub const OUTPUT_TAIL_LINES: usize = 20;

/// Everything the summary needs, accumulated from the event stream with [`RunSummary::record`].
///
/// Keeping the accumulation apart from [`render_summary`] lets the rendering be a pure function
/// that is tested on its own.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    run: String,
    mode: Option<RunMode>,
    name: String,
    tasks: Vec<TaskRecord>,
    index: HashMap<String, usize>,
    end: Option<RunEnd>,
}

#[derive(Debug, Clone)]
struct TaskRecord {
    task: String,
    started: bool,
    skipped: Option<SkipReason>,
    outcome: Option<TaskOutcome>,
    duration_ms: Option<u64>,
    gate_attempts: u32,
    message: Option<String>,
    log: Option<PathBuf>,
    /// The last [`OUTPUT_TAIL_LINES`] output lines, oldest first.
    tail: VecDeque<String>,
    output_lines: u64,
}

#[derive(Debug, Clone)]
struct RunEnd {
    outcome: RunOutcome,
    duration_ms: u64,
    resume_hint: Option<String>,
}

impl RunSummary {
    /// An empty summary, waiting for `RunStarted`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event in. A `RunStarted` starts over.
    pub fn record(&mut self, envelope: &EventEnvelope) {
        match &envelope.event {
            Event::RunStarted { mode, name, tasks, .. } => {
                *self = Self { run: envelope.run.clone(), mode: Some(*mode), name: name.clone(), ..Self::default() };
                for planned in tasks {
                    self.task_mut(&planned.task);
                }
            }
            Event::TaskStarted { task } | Event::TaskWasInterrupted { task, .. } => {
                self.task_mut(task).started = true;
            }
            Event::TaskSkipped { task, reason, .. } => {
                let record = self.task_mut(task);
                record.started = true;
                record.skipped = Some(*reason);
            }
            Event::Output { task, line, .. } => self.output(task, opsrun_event::LineSlice::one(line)),
            Event::TaskFinished { task, outcome, duration_ms, message, gate_attempts, log } => {
                let record = self.task_mut(task);
                record.outcome = Some(*outcome);
                record.duration_ms = Some(*duration_ms);
                record.gate_attempts = *gate_attempts;
                record.message.clone_from(message);
                record.log.clone_from(log);
            }
            Event::RunFinished { outcome, duration_ms, resume_hint } => {
                self.end =
                    Some(RunEnd { outcome: *outcome, duration_ms: *duration_ms, resume_hint: resume_hint.clone() });
            }
            // Commands, probes, interrupts and warnings (and events a newer engine adds) do not
            // change the summary.
            _ => {}
        }
    }

    /// True once `RunFinished` has been recorded.
    pub fn is_finished(&self) -> bool {
        self.end.is_some()
    }

    /// The summary text; see [`render_summary`].
    pub fn render(&self) -> String {
        render_summary(self)
    }

    /// True for an `opsrun run` of a single task (no pipeline, recovery or second task), whose
    /// own finished line already says what a summary table would.
    pub fn is_single_task_run(&self) -> bool {
        self.mode == Some(RunMode::Run) && self.tasks.len() == 1
    }

    /// Only what needs attention after a run: each failed task's message and output tail, and
    /// the resume hint; empty after a success. What a run of one task ends with on a terminal.
    pub fn render_failures(&self) -> String {
        let end = self.end.as_ref();
        let mut out = String::new();
        for task in self.tasks.iter().filter(|t| t.shown_outcome(end) == TaskOutcome::Failed) {
            out.push('\n');
            render_failure(&mut out, task);
        }
        if let Some(hint) = end.and_then(|e| e.resume_hint.as_deref()) {
            let _ = writeln!(out, "\nresume with: {}", clean_line(hint));
        }
        out
    }

    /// Output lines of `task`: counted, and the last ones kept as printed (cleaned when shown);
    /// the oldest kept line's string is reused, so a task printing millions of lines costs no
    /// allocation per line here.
    pub fn output(&mut self, task: &str, lines: opsrun_event::LineSlice<'_>) {
        let record = self.task_mut(task);
        record.output_lines += lines.len() as u64;
        for line in lines.last(OUTPUT_TAIL_LINES) {
            let mut kept = if record.tail.len() == OUTPUT_TAIL_LINES {
                record.tail.pop_front().unwrap_or_default()
            } else {
                String::new()
            };
            kept.clear();
            kept.push_str(line);
            record.tail.push_back(kept);
        }
    }

    fn task_mut(&mut self, task: &str) -> &mut TaskRecord {
        let index = if let Some(index) = self.index.get(task) {
            *index
        } else {
            self.tasks.push(TaskRecord {
                task: task.to_owned(),
                started: false,
                skipped: None,
                outcome: None,
                duration_ms: None,
                gate_attempts: 0,
                message: None,
                log: None,
                tail: VecDeque::new(),
                output_lines: 0,
            });
            self.index.insert(task.to_owned(), self.tasks.len() - 1);
            self.tasks.len() - 1
        };
        &mut self.tasks[index]
    }
}

impl TaskRecord {
    /// The outcome to show. A task that started but never reported an end was cut short.
    fn shown_outcome(&self, run: Option<&RunEnd>) -> TaskOutcome {
        if let Some(outcome) = self.outcome {
            return outcome;
        }
        match self.skipped {
            Some(SkipReason::Resumed) => TaskOutcome::Resumed,
            // Up to date, not for this platform, or a reason a newer engine adds.
            Some(_) => TaskOutcome::UpToDate,
            None if self.started && run.is_some_and(|r| r.outcome == RunOutcome::Interrupted) => {
                TaskOutcome::Interrupted
            }
            None => TaskOutcome::NotRun,
        }
    }
}

/// Every outcome, in the order the totals line lists them.
const OUTCOME_ORDER: [TaskOutcome; 7] = [
    TaskOutcome::Ok,
    TaskOutcome::UpToDate,
    TaskOutcome::Resumed,
    TaskOutcome::Failed,
    TaskOutcome::FailedIgnored,
    TaskOutcome::Interrupted,
    TaskOutcome::NotRun,
];

/// Renders the summary: a table with one row per task, a totals line, the run's outcome and
/// duration, the message and output tail of every failed task, and the resume hint.
///
/// Pure: the same summary always gives the same text, which ends with a newline.
pub fn render_summary(summary: &RunSummary) -> String {
    let end = summary.end.as_ref();
    // The probes column only appears when some task has a gate that was probed.
    let columns = if summary.tasks.iter().any(|t| t.gate_attempts > 0) { 4 } else { 3 };
    let header: Vec<String> =
        ["task", "outcome", "duration", "probes"][..columns].iter().map(|h| (*h).to_owned()).collect();
    let rows: Vec<Vec<String>> = summary
        .tasks
        .iter()
        .map(|t| {
            let mut row = vec![
                clean_line(&t.task),
                t.shown_outcome(end).label().to_owned(),
                t.duration_ms.map(duration).unwrap_or_default(),
                if t.gate_attempts == 0 { String::new() } else { t.gate_attempts.to_string() },
            ];
            row.truncate(columns);
            row
        })
        .collect();

    let mut widths: Vec<usize> = header.iter().map(|h| console::measure_text_width(h)).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(console::measure_text_width(cell));
        }
    }

    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[column] - console::measure_text_width(cell));
            if column > 0 {
                line.push_str("  ");
            }
            // Names and labels align left, numbers right.
            if column < 2 {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str(&pad);
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }

    let mut counts: Vec<String> = Vec::new();
    for outcome in OUTCOME_ORDER {
        let n = summary.tasks.iter().filter(|t| t.shown_outcome(end) == outcome).count();
        if n > 0 {
            counts.push(format!("{n} {}", outcome.label()));
        }
    }
    let total = summary.tasks.len();
    let noun = if total == 1 { "task" } else { "tasks" };
    out.push('\n');
    if counts.is_empty() {
        let _ = writeln!(out, "{total} {noun}");
    } else {
        let _ = writeln!(out, "{total} {noun}: {}", counts.join(", "));
    }

    let what = match summary.mode {
        Some(RunMode::Pipeline) => format!("pipeline {}", clean_line(&summary.name)),
        Some(RunMode::Recovery) => format!("recovery {}", clean_line(&summary.name)),
        Some(_) | None => clean_line(&summary.name),
    };
    let context = match (what.is_empty(), summary.run.is_empty()) {
        (false, false) => format!(" ({what}, run {})", clean_line(&summary.run)),
        (false, true) => format!(" ({what})"),
        (true, false) => format!(" (run {})", clean_line(&summary.run)),
        (true, true) => String::new(),
    };
    match end {
        Some(end) => {
            let verdict = match end.outcome {
                RunOutcome::Succeeded => "succeeded in",
                RunOutcome::Failed => "failed after",
                RunOutcome::Interrupted => "interrupted after",
                _ => "ended after",
            };
            let _ = writeln!(out, "run {verdict} {}{context}", duration(end.duration_ms));
        }
        None => {
            let _ = writeln!(out, "run unfinished{context}");
        }
    }

    out.push_str(&summary.render_failures());
    out
}

fn render_failure(out: &mut String, task: &TaskRecord) {
    let name = clean_line(&task.task);
    match task.message.as_deref().map(clean_text) {
        Some(message) => {
            let mut lines = message.lines();
            let _ = writeln!(out, "{name} failed: {}", lines.next().unwrap_or_default());
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
        }
        None => {
            let _ = writeln!(out, "{name} failed");
        }
    }
    let log = task.log.as_ref().map(|p| clean_line(&p.display().to_string()));
    if task.tail.is_empty() {
        if let Some(log) = log {
            let _ = writeln!(out, "  no output (log: {log})");
        }
        return;
    }
    let shown = task.tail.len();
    let lines = if shown == 1 { "line" } else { "lines" };
    let mut title = if task.output_lines > shown as u64 {
        format!("last {shown} of {} output lines", task.output_lines)
    } else {
        format!("output, {shown} {lines}")
    };
    if let Some(log) = log {
        let _ = write!(title, ", log: {log}");
    }
    let _ = writeln!(out, "  {title}:");
    for line in &task.tail {
        let _ = writeln!(out, "{}", format!("  | {}", clean_line(line)).trim_end());
    }
}
