//! The run journal and per-task logs.
//!
//! Every event of a recorded run is appended as a JSON line to `.opsrun/runs/<run>.jsonl`
//! (flushed per line, so after a crash at most the last line is torn, and readers skip it).
//! Each task's commands and output go to `.opsrun/logs/<run>/<task>.log`.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use opsrun_event::{Event, EventEnvelope, EventSink, RunMode, RunOutcome};
use serde::Serialize;

/// Appends events to a run's journal file.
pub struct RunJournal {
    file: Mutex<Option<File>>,
}

impl RunJournal {
    /// Creates `.opsrun/runs/<run>.jsonl`.
    pub fn create(state_dir: &Path, run: &str) -> std::io::Result<Self> {
        let dir = state_dir.join("runs");
        crate::private_fs::create_dir(&dir)?;
        let f = crate::private_fs::create_new(&dir.join(format!("{run}.jsonl")))?;
        Ok(Self { file: Mutex::new(Some(f)) })
    }
}

impl EventSink for RunJournal {
    fn emit(&self, event: &EventEnvelope) {
        let mut guard = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(f) = guard.as_mut() else { return };
        // One write per line, unbuffered: a `kill -9` loses at most the line in flight (and a
        // torn last line is skipped by readers). The state's write-ahead log, not the journal,
        // is what resume relies on, so only the end of the run is fsynced.
        let mut line = serde_json::to_vec(event).unwrap_or_default();
        line.push(b'\n');
        let ok = line.len() > 1 && f.write_all(&line).is_ok();
        if matches!(event.event, Event::RunFinished { .. }) {
            if let Some(f) = guard.take() {
                let _ = f.sync_all();
            }
        } else if !ok {
            // A full disk must not take the run down; stop journaling instead.
            *guard = None;
        }
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
    logs: Mutex<HashMap<String, TaskLog>>,
}

enum TaskLog {
    /// Lines held until the log is worth creating.
    Pending(Vec<String>),
    /// Written line by line, unbuffered (a `kill -9` loses at most the line in flight), up to
    /// [`MAX_LOG_BYTES`].
    Open { file: File, written: u64, capped: bool },
}

impl TaskLog {
    /// Appends one line to an open log, until it holds [`MAX_LOG_BYTES`]; then one note.
    fn write_line(&mut self, line: &str) {
        let TaskLog::Open { file, written, capped } = self else { return };
        if *capped {
            return;
        }
        let bytes = line.len() as u64 + 1;
        if *written + bytes > MAX_LOG_BYTES {
            *capped = true;
            let _ = file.write_all(
                format!("# log cut at {} MiB: the rest of this run's output is not kept\n", MAX_LOG_BYTES >> 20)
                    .as_bytes(),
            );
            return;
        }
        *written += bytes;
        let _ = file.write_all(format!("{line}\n").as_bytes());
    }
}

impl TaskLogs {
    /// Logs under `.opsrun/logs/<run>/`.
    pub fn create(state_dir: &Path, run: &str) -> std::io::Result<Self> {
        let dir = state_dir.join("logs").join(run);
        crate::private_fs::create_dir(&dir)?;
        Ok(Self { dir, logs: Mutex::default() })
    }

    /// The log file of a task in a run.
    pub fn path_for(state_dir: &Path, run: &str, task: &str) -> PathBuf {
        state_dir.join("logs").join(run).join(format!("{}.log", file_name(task)))
    }

    /// True when `task` has a log file in this run.
    pub fn has_log(&self, task: &str) -> bool {
        matches!(self.logs.lock().unwrap_or_else(PoisonError::into_inner).get(task), Some(TaskLog::Open { .. }))
    }

    /// Adds a line; `keep` creates the file if it does not exist yet.
    fn line(&self, task: &str, line: String, keep: bool) {
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let log = logs.entry(task.to_string()).or_insert_with(|| TaskLog::Pending(Vec::new()));
        if let TaskLog::Pending(lines) = log {
            lines.push(line);
            if !keep {
                return;
            }
            let path = self.dir.join(format!("{}.log", file_name(task)));
            let Ok(file) = crate::private_fs::open_append(&path) else { return };
            let mut open = TaskLog::Open { file, written: 0, capped: false };
            for l in lines.drain(..) {
                open.write_line(&l);
            }
            *log = open;
        } else {
            log.write_line(&line);
        }
    }
}

impl EventSink for TaskLogs {
    fn emit(&self, e: &EventEnvelope) {
        match &e.event {
            Event::CommandStarted { task, command, .. } => self.line(task, format!("$ {command}"), false),
            Event::Output { task, line, .. } => self.line(task, line.clone(), true),
            Event::CommandFinished { task, exit_code, status, .. } => {
                let code = exit_code.map_or_else(|| "-".into(), |c| c.to_string());
                let failed = *status != opsrun_event::CommandStatus::Succeeded;
                self.line(task, format!("# {status:?} (exit {code})"), failed);
            }
            Event::GateProbe { task, attempt, verdict, detail, .. } => {
                self.line(task, format!("# gate probe {attempt}: {} {detail}", verdict.label()), true);
            }
            Event::GateStarted { task, gate, timeout_ms, .. } => {
                let timeout = opsrun_spec::format_duration(std::time::Duration::from_millis(*timeout_ms));
                self.line(task, format!("# waiting for health: {gate} (timeout {timeout})"), true);
            }
            Event::GateFinished { task, passed, attempts, message, .. } => {
                let how = if *passed { "passed" } else { message.as_deref().unwrap_or("failed") };
                self.line(task, format!("# gate after {attempts} probe(s): {how}"), true);
            }
            Event::TaskFinished { task, outcome, message, .. } => {
                let end = match message {
                    Some(m) => format!("# task {}: {m}", outcome.label()),
                    None => format!("# task {}", outcome.label()),
                };
                let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(mut log @ TaskLog::Open { .. }) = logs.remove(task) {
                    log.write_line(&end);
                }
            }
            _ => {}
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
