//! The run journal and per-task logs.
//!
//! Every event of a recorded run is appended as a JSON line to `.opsrun/runs/<run>.jsonl`, and
//! each task's commands and output go to `.opsrun/logs/<run>/<task>.log`. Both are buffered per
//! burst of events and written when the engine flushes (see [`EventSink::flush`]: after the
//! burst, before opsrun waits for anything), so a `kill -9` loses at most the burst in flight,
//! and a torn last journal line is skipped by readers. The journal keeps the first
//! [`JOURNAL_OUTPUT_BYTES`] of each task's output and, past that, its last
//! [`JOURNAL_OUTPUT_TAIL`] lines and a note of what was left out: the task log keeps more, and
//! a journal twice the size of a command's output helps nobody.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use opsrun_event::{Event, EventEnvelope, EventSink, OutputLines, RunMode, RunOutcome, Stream};
use serde::Serialize;

/// Output of one task journaled in full; past it, only the last lines and a note.
pub const JOURNAL_OUTPUT_BYTES: u64 = 1024 * 1024;

/// How many of the last output lines past [`JOURNAL_OUTPUT_BYTES`] the journal keeps.
pub const JOURNAL_OUTPUT_TAIL: usize = 20;

/// Past this much unwritten text, a journal or log line is written without waiting for a flush.
const WRITE_BUFFER: usize = 64 * 1024;

/// Appends events to a run's journal file.
pub struct RunJournal {
    inner: Mutex<JournalInner>,
}

struct JournalInner {
    /// `None` once the run finished, or after a write failed.
    file: Option<File>,
    /// Lines not written yet.
    buf: Vec<u8>,
    /// Output journaled so far, by task.
    output: HashMap<String, OutputBudget>,
    /// fsync the journal when the run finishes.
    sync_at_end: bool,
}

/// One task's output in the journal.
#[derive(Default)]
struct OutputBudget {
    /// Bytes of output journaled.
    bytes: u64,
    /// Lines and bytes past [`JOURNAL_OUTPUT_BYTES`], not journaled.
    left_out: (u64, u64),
    /// The last lines left out (time, stream, text), written when the task finishes.
    tail: VecDeque<(jiff::Timestamp, Stream, String)>,
}

impl RunJournal {
    /// Creates `.opsrun/runs/<run>.jsonl`.
    pub fn create(state_dir: &Path, run: &str) -> std::io::Result<Self> {
        let dir = state_dir.join("runs");
        crate::private_fs::create_dir(&dir)?;
        let f = crate::private_fs::create_new(&dir.join(format!("{run}.jsonl")))?;
        Ok(Self {
            inner: Mutex::new(JournalInner {
                file: Some(f),
                buf: Vec::new(),
                output: HashMap::new(),
                sync_at_end: true,
            }),
        })
    }

    /// Not fsynced at the end of the run (`opsrun run`, which nothing resumes from).
    pub(crate) fn unsynced(self) -> Self {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).sync_at_end = false;
        self
    }
}

impl JournalInner {
    fn push(&mut self, event: &EventEnvelope) {
        if self.file.is_none() {
            return;
        }
        let at = self.buf.len();
        if serde_json::to_writer(&mut self.buf, event).is_err() {
            self.buf.truncate(at);
            return;
        }
        self.buf.push(b'\n');
        if self.buf.len() >= WRITE_BUFFER {
            self.write_out();
        }
    }

    /// Output lines: journaled while the task's budget lasts, then counted and kept in its tail.
    fn output(&mut self, output: &OutputLines<'_>) {
        let budget = match self.output.get_mut(output.task) {
            Some(b) => b,
            None => self.output.entry(output.task.to_string()).or_default(),
        };
        let mut journaled = 0;
        if budget.left_out.0 == 0 {
            for line in output.lines {
                let size = line.len() as u64 + 1;
                if budget.bytes + size > JOURNAL_OUTPUT_BYTES {
                    break;
                }
                budget.bytes += size;
                journaled += 1;
            }
        }
        let (kept, rest) = output.lines.split_at(journaled);
        budget.left_out.0 += rest.len() as u64;
        budget.left_out.1 += rest.bytes_with_newlines() as u64;
        // Only the last lines can end up in the tail; the oldest entry's string is reused, so
        // a task printing millions of lines costs no allocation per line here.
        for line in rest.last(JOURNAL_OUTPUT_TAIL) {
            let mut text = if budget.tail.len() >= JOURNAL_OUTPUT_TAIL {
                budget.tail.pop_front().map(|(_, _, t)| t).unwrap_or_default()
            } else {
                String::new()
            };
            text.clear();
            text.push_str(line);
            budget.tail.push_back((output.ts, output.stream, text));
        }
        let kept = OutputLines { lines: kept, ..*output };
        for envelope in kept.envelopes() {
            self.push(&envelope);
        }
    }

    /// A task finished: the note and the tail of the output the journal left out, if any.
    fn end_output(&mut self, task: &str, run: &str) {
        let Some(budget) = self.output.remove(task) else { return };
        let (lines, bytes) = budget.left_out;
        if lines == 0 {
            return;
        }
        let first = budget.tail.front().map_or_else(jiff::Timestamp::now, |(ts, _, _)| *ts);
        let envelope =
            |ts, event| EventEnvelope { v: opsrun_event::EVENT_SCHEMA_VERSION, ts, run: run.to_string(), event };
        let kept = budget.tail.len();
        self.push(&envelope(
            first,
            Event::Warning {
                task: Some(task.to_string()),
                message: format!(
                    "the journal keeps the first {} MiB of a task's output: {lines} more line(s) ({bytes} bytes) \
                     are not in it; the last {kept} follow, and the task's log keeps up to {} MiB",
                    JOURNAL_OUTPUT_BYTES >> 20,
                    MAX_LOG_BYTES >> 20
                ),
            },
        ));
        for (ts, stream, line) in budget.tail {
            self.push(&envelope(ts, Event::Output { task: task.to_string(), stream, line }));
        }
    }

    fn write_out(&mut self) {
        if let Some(f) = &mut self.file
            && !self.buf.is_empty()
            && f.write_all(&self.buf).is_err()
        {
            // A full disk must not take the run down; stop journaling instead.
            self.file = None;
        }
        self.buf.clear();
    }
}

impl EventSink for RunJournal {
    fn emit(&self, event: &EventEnvelope) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match &event.event {
            Event::Output { task, stream, line } => inner.output(&OutputLines {
                ts: event.ts,
                run: &event.run,
                task,
                stream: *stream,
                lines: opsrun_event::LineSlice::one(line),
            }),
            Event::TaskFinished { task, .. } => {
                inner.end_output(task, &event.run);
                inner.push(event);
            }
            Event::RunFinished { .. } => {
                let tasks: Vec<String> = inner.output.keys().cloned().collect();
                for task in tasks {
                    inner.end_output(&task, &event.run);
                }
                inner.push(event);
                inner.write_out();
                // The state's write-ahead log, not the journal, is what resume relies on, so
                // only the end of a resumable run is fsynced.
                if let Some(f) = inner.file.take()
                    && inner.sync_at_end
                {
                    let _ = f.sync_all();
                }
            }
            _ => inner.push(event),
        }
    }

    fn emit_output(&self, output: &OutputLines<'_>) {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).output(output);
    }

    fn flush(&self) {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).write_out();
    }
}

/// The most a task's log keeps of one run; past it, one line says how much was left out.
pub const MAX_LOG_BYTES: u64 = 32 * 1024 * 1024;

/// Writes each task's commands and output to its log file.
///
/// A log file is only created once there is something worth keeping: an output line, a failed
/// command, or a gate probe. A task that prints nothing and succeeds leaves no file (hundreds of
/// empty logs would cost more than running the tasks).
pub struct TaskLogs {
    dir: PathBuf,
    logs: Mutex<Logs>,
}

/// The logs of the tasks of a run that have any, and buffers to reuse.
#[derive(Default)]
struct Logs {
    tasks: HashMap<String, TaskLog>,
    /// A line being put together for an open log.
    line: String,
    /// The name and held lines of logs that ended without a file, for the next tasks': a run
    /// of tasks that print nothing allocates nothing here per task.
    spare: Vec<(String, String)>,
}

/// How many [`Logs::spare`] buffers are kept.
const SPARE_LOGS: usize = 16;

enum TaskLog {
    /// Lines held until the log is worth creating, each ended by a newline.
    Pending(String),
    /// Written per burst of events (see [`EventSink::flush`]), up to [`MAX_LOG_BYTES`].
    Open { file: File, buf: Vec<u8>, written: u64, capped: bool },
}

impl TaskLog {
    /// [`TaskLog::write_line`] for each of `lines`: at once when they all fit.
    fn write_lines(&mut self, lines: opsrun_event::LineSlice<'_>) {
        if let TaskLog::Open { buf, written, capped: false, .. } = self
            && *written + lines.bytes_with_newlines() as u64 <= MAX_LOG_BYTES
        {
            if !lines.is_empty() {
                *written += lines.bytes_with_newlines() as u64;
                buf.extend_from_slice(lines.joined().as_bytes());
                buf.push(b'\n');
                if buf.len() >= WRITE_BUFFER {
                    self.write_out();
                }
            }
            return;
        }
        for line in lines {
            self.write_line(line);
        }
    }

    /// Appends one line to an open log, until it holds [`MAX_LOG_BYTES`]; then one note.
    fn write_line(&mut self, line: &str) {
        let TaskLog::Open { buf, written, capped, .. } = self else { return };
        if *capped {
            return;
        }
        let bytes = line.len() as u64 + 1;
        if *written + bytes > MAX_LOG_BYTES {
            *capped = true;
            buf.extend_from_slice(
                format!("# log cut at {} MiB: the rest of this run's output is not kept\n", MAX_LOG_BYTES >> 20)
                    .as_bytes(),
            );
        } else {
            *written += bytes;
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        if buf.len() >= WRITE_BUFFER {
            self.write_out();
        }
    }

    fn write_out(&mut self) {
        if let TaskLog::Open { file, buf, .. } = self
            && !buf.is_empty()
        {
            let _ = file.write_all(buf);
            buf.clear();
        }
    }
}

impl Logs {
    /// `task`'s log, held lines until now if it has none yet.
    fn get(&mut self, task: &str) -> &mut TaskLog {
        if !self.tasks.contains_key(task) {
            let (mut name, mut held) = self.spare.pop().unwrap_or_default();
            name.clear();
            name.push_str(task);
            held.clear();
            self.tasks.insert(name, TaskLog::Pending(held));
        }
        self.tasks.get_mut(task).expect("inserted above")
    }
}

impl TaskLogs {
    /// Logs under `.opsrun/logs/<run>/`, a directory made with the first log (a run whose
    /// tasks print nothing and succeed leaves none).
    pub fn create(state_dir: &Path, run: &str) -> std::io::Result<Self> {
        crate::private_fs::create_dir(&state_dir.join("logs"))?;
        Ok(Self { dir: state_dir.join("logs").join(run), logs: Mutex::default() })
    }

    /// The log file of a task in a run.
    pub fn path_for(state_dir: &Path, run: &str, task: &str) -> PathBuf {
        state_dir.join("logs").join(run).join(format!("{}.log", file_name(task)))
    }

    /// True when `task` has a log file in this run.
    pub fn has_log(&self, task: &str) -> bool {
        matches!(self.lock().tasks.get(task), Some(TaskLog::Open { .. }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Logs> {
        self.logs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds the line `text` writes; `keep` creates the file if it does not exist yet.
    fn line(&self, task: &str, keep: bool, text: impl FnOnce(&mut String)) {
        let mut logs = self.lock();
        let logs = &mut *logs;
        let mut line = std::mem::take(&mut logs.line);
        let log = logs.get(task);
        if let TaskLog::Pending(held) = log {
            text(held);
            held.push('\n');
            if keep {
                self.open(task, log);
            }
        } else {
            line.clear();
            text(&mut line);
            log.write_line(&line);
        }
        logs.line = line;
    }

    /// Creates `task`'s log file and writes the lines held until now.
    fn open(&self, task: &str, log: &mut TaskLog) {
        let TaskLog::Pending(held) = log else { return };
        let path = self.dir.join(format!("{}.log", file_name(task)));
        let Ok(file) = crate::private_fs::create_dir(&self.dir).and_then(|()| crate::private_fs::open_append(&path))
        else {
            return;
        };
        let held = std::mem::take(held);
        let mut open = TaskLog::Open { file, buf: Vec::new(), written: 0, capped: false };
        for l in held.strip_suffix('\n').unwrap_or(&held).split('\n') {
            open.write_line(l);
        }
        *log = open;
    }
}

impl EventSink for TaskLogs {
    fn emit(&self, e: &EventEnvelope) {
        use std::fmt::Write as _;
        match &e.event {
            Event::CommandStarted { task, command, .. } => self.line(task, false, |l| {
                l.push_str("$ ");
                l.push_str(command);
            }),
            Event::Output { task, line, .. } => self.line(task, true, |l| l.push_str(line)),
            Event::CommandFinished { task, exit_code, status, .. } => {
                let failed = *status != opsrun_event::CommandStatus::Succeeded;
                self.line(task, failed, |l| {
                    let _ = match exit_code {
                        Some(c) => write!(l, "# {status:?} (exit {c})"),
                        None => write!(l, "# {status:?} (exit -)"),
                    };
                });
            }
            Event::GateProbe { task, attempt, verdict, detail, .. } => {
                self.line(task, true, |l| {
                    let _ = write!(l, "# gate probe {attempt}: {} {detail}", verdict.label());
                });
            }
            Event::GateStarted { task, gate, timeout_ms, .. } => {
                let timeout = opsrun_spec::format_duration(std::time::Duration::from_millis(*timeout_ms));
                self.line(task, true, |l| {
                    let _ = write!(l, "# waiting for health: {gate} (timeout {timeout})");
                });
            }
            Event::GateFinished { task, passed, attempts, message, .. } => {
                let how = if *passed { "passed" } else { message.as_deref().unwrap_or("failed") };
                self.line(task, true, |l| {
                    let _ = write!(l, "# gate after {attempts} probe(s): {how}");
                });
            }
            Event::TaskFinished { task, outcome, message, .. } => {
                let mut logs = self.lock();
                match logs.tasks.remove_entry(task.as_str()) {
                    Some((_, mut log @ TaskLog::Open { .. })) => {
                        let end = match message {
                            Some(m) => format!("# task {}: {m}", outcome.label()),
                            None => format!("# task {}", outcome.label()),
                        };
                        log.write_line(&end);
                        log.write_out();
                    }
                    Some((name, TaskLog::Pending(held))) if logs.spare.len() < SPARE_LOGS => {
                        logs.spare.push((name, held));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn emit_output(&self, output: &OutputLines<'_>) {
        let mut logs = self.lock();
        let log = logs.get(output.task);
        // Output is worth keeping: the log is created by its first line.
        self.open(output.task, log);
        log.write_lines(output.lines);
    }

    fn flush(&self) {
        for log in self.lock().tasks.values_mut() {
            log.write_out();
        }
    }
}

/// A task name as a file name, unique per name and short enough for any file system:
/// `cilium` → `cilium`, `talos:apply-config` → `talos_apply-config-<hash>`. A name that had to be
/// changed (or shortened to 80 characters) gets a digest of the original, so `talos:apply` and
/// `talos_apply` never share a log.
pub fn file_name(task: &str) -> String {
    let safe: String =
        task.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    if safe == task && safe.len() <= 80 && !safe.starts_with('.') {
        return safe;
    }
    let mut short: String = safe.chars().take(80).collect();
    if short.starts_with('.') {
        // Never `..` or a hidden file.
        short.replace_range(..1, "_");
    }
    let digest = blake3::hash(task.as_bytes()).to_hex();
    format!("{short}-{}", &digest[..10])
}

/// A past run, read back from its journal.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Run id.
    pub id: String,
    /// Pipeline or targets.
    pub name: String,
    /// Kind of run.
    pub mode: Option<RunMode>,
    /// Start time.
    pub started: Option<jiff::Timestamp>,
    /// Duration, when finished.
    pub duration_ms: Option<u64>,
    /// Outcome; `None` when the journal has no end (opsrun died).
    pub outcome: Option<RunOutcome>,
}

/// Every run in the state directory, oldest first.
pub fn list_runs(state_dir: &Path) -> Vec<RunInfo> {
    let Ok(entries) = fs::read_dir(state_dir.join("runs")) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        // A nested run's events belong to its parent's run, not a run of their own.
        .filter(|p| !p.file_stem().is_some_and(|s| s.to_string_lossy().contains(".nested-")))
        .collect();
    paths.sort();
    paths.iter().map(|p| read_run(p)).collect()
}

fn read_run(path: &Path) -> RunInfo {
    let id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut info = RunInfo { id, name: String::new(), mode: None, started: None, duration_ms: None, outcome: None };
    let Ok(f) = File::open(path) else { return info };
    for line in BufReader::new(f).lines().map_while(Result::ok) {
        // A torn last line (crash mid-write) simply does not parse.
        let Ok(e) = serde_json::from_str::<EventEnvelope>(&line) else { continue };
        match e.event {
            Event::RunStarted { mode, name, .. } => {
                info.mode = Some(mode);
                info.name = name;
                info.started = Some(e.ts);
            }
            Event::RunFinished { outcome, duration_ms, .. } => {
                info.outcome = Some(outcome);
                info.duration_ms = Some(duration_ms);
            }
            _ => {}
        }
    }
    info
}

/// Reads every parsable event of a run's journal.
pub fn read_journal(state_dir: &Path, run: &str) -> std::io::Result<Vec<EventEnvelope>> {
    let f = File::open(state_dir.join("runs").join(format!("{run}.jsonl")))?;
    Ok(BufReader::new(f).lines().map_while(Result::ok).filter_map(|l| serde_json::from_str(&l).ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn log_names_are_unique_and_short() {
        assert_eq!(file_name("cilium"), "cilium");
        assert_ne!(file_name("talos:apply"), file_name("talos_apply"));
        assert!(file_name("talos:apply").starts_with("talos_apply-"));
        let long = "x".repeat(300);
        assert!(file_name(&long).len() < 100);
        assert_ne!(file_name(&long), file_name(&"x".repeat(301)));
        assert!(!file_name("..").starts_with('.'));
    }
}
