//! The persistent state of a project: the last outcome and fingerprint of every task.
//!
//! Two files, so that recording a task costs one small append instead of rewriting the whole
//! state (which made a 500-task run quadratic):
//!
//! - `.opsrun/state.json`, the snapshot, replaced atomically (write a temporary file, fsync,
//!   keep the old copy as `state.json.prev`, rename, fsync the directory): a crash at any instant
//!   leaves the old or the new snapshot, never a torn one. Loading falls back to the previous
//!   copy if the current one is unreadable, and says so.
//! - `.opsrun/state.wal`, a write-ahead log of record updates, one JSON line each, appended as
//!   tasks start and finish. Lines are collected per burst of a run's events and written
//!   together before opsrun waits for anything (see [`StateWal::write_pending`]); once written
//!   they survive `kill -9` of opsrun. A durable append (the `running` mark of a resumable run)
//!   writes everything pending with it and is fsynced before the command starts. Loading
//!   replays it over the snapshot, skipping a torn line (and a run cuts a torn last line off
//!   before it appends, so that its lines start fresh). A resumable run ends by folding it into
//!   a new snapshot ([`StateStore::save`]) and truncating it; `opsrun run` does so once it
//!   holds 1 MiB. Replaying a line twice is harmless: each line replaces one task's record
//!   whole; so the replay reads the log from its end and parses only each task's last readable
//!   line (a log near its fold holds several records of every task of a run).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// Bumped on incompatible changes to `state.json`.
pub const STATE_VERSION: u32 = 1;

/// The whole state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// Per task invocation key.
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskRecord>,
}

/// The state as a run keeps it: each record behind an [`Arc`], so that a unit reads its task's
/// record from before the run without a copy. A record nothing else holds is changed in place;
/// one a unit still reads is replaced whole. Saved as the same JSON as [`State`].
#[derive(Debug, Default)]
pub(crate) struct SharedState {
    /// [`STATE_VERSION`], or the version of the state loaded.
    pub(crate) version: u32,
    /// Per task invocation key.
    pub(crate) tasks: BTreeMap<String, Arc<TaskRecord>>,
}

impl From<State> for SharedState {
    fn from(state: State) -> Self {
        Self { version: state.version, tasks: state.tasks.into_iter().map(|(k, r)| (k, Arc::new(r))).collect() }
    }
}

impl Serialize for SharedState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        /// The records as a map of plain records.
        struct Tasks<'a>(&'a BTreeMap<String, Arc<TaskRecord>>);
        impl Serialize for Tasks<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, r)| (k, &**r)))
            }
        }
        let mut state = s.serialize_struct("State", 2)?;
        state.serialize_field("version", &self.version)?;
        state.serialize_field("tasks", &Tasks(&self.tasks))?;
        state.end()
    }
}

/// What is known about a task's last run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskRecord {
    /// Where it got to.
    pub status: RecordStatus,
    /// The fingerprint it ran with.
    pub fingerprint: String,
    /// The fingerprint's parts (`cmds`, `env`, `sources`, ...), each a digest, for `explain`.
    #[serde(default)]
    pub parts: BTreeMap<String, String>,
    /// The run that wrote this record.
    pub run: String,
    /// When it started.
    #[serde(serialize_with = "timestamp::serialize")]
    pub started: jiff::Timestamp,
    /// When it finished.
    #[serde(serialize_with = "timestamp::serialize_opt")]
    pub finished: Option<jiff::Timestamp>,
    /// How long it took.
    pub duration_ms: Option<u64>,
    /// Failure message.
    pub message: Option<String>,
    /// Process groups of the commands started while `running` (to end them if opsrun died).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pgids: Vec<i32>,
}

/// The status of a task record.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordStatus {
    /// Started and not finished: if found at start-up, opsrun died mid-task.
    Running,
    /// Succeeded (gate passed).
    Succeeded,
    /// Failed.
    Failed,
    /// Ended by a signal.
    Interrupted,
}

/// Reads and writes `state.json` in a state directory.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// A store in `dir` (usually `.opsrun/` next to the tasks file).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn prev_path(&self) -> PathBuf {
        self.dir.join("state.json.prev")
    }

    fn wal_path(&self) -> PathBuf {
        self.dir.join("state.wal")
    }

    /// Replays the write-ahead log over `state`; a torn or unreadable line is skipped.
    fn replay(&self, state: &mut State) {
        let Ok(text) = fs::read(self.wal_path()) else { return };
        replay_lines(&text, state);
    }

    /// Opens the write-ahead log for appending.
    pub(crate) fn wal(&self) -> Result<StateWal, EngineError> {
        let path = self.wal_path();
        crate::private_fs::create_dir(&self.dir)
            .map_err(|e| EngineError::State { path: path.clone(), message: format!("cannot create: {e}") })?;
        let file = crate::private_fs::open_append(&path)
            .map_err(|e| EngineError::State { path: path.clone(), message: format!("cannot open: {e}") })?;
        let mut size = file.metadata().map_or(0, |m| m.len());
        // A torn last line (a crash or a full disk in the middle of a write) is cut off, so that
        // what this run appends starts a line of its own instead of being glued to it.
        if size > 0 {
            let cut =
                |e: std::io::Error| EngineError::State { path: path.clone(), message: format!("cannot repair: {e}") };
            if crate::private_fs::last_byte(&path).map_err(cut)? != Some(b'\n') {
                let bytes = crate::private_fs::read(&path, u64::MAX).map_err(cut)?;
                let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                file.set_len(whole as u64).map_err(cut)?;
                size = whole as u64;
            }
        }
        Ok(StateWal { file, path, dirty: size > 0, size, pending: Vec::new(), last: None, failed: None })
    }

    /// Loads the state; a missing file is an empty state. A damaged file is an error that says
    /// what to do: opsrun never guesses which stages are done from an older copy. (The returned
    /// warning is for a crash between a save's two renames, when the previous copy is the
    /// newest state there is.)
    pub fn load(&self) -> Result<(State, Option<String>), EngineError> {
        let (mut state, warning) = self.load_snapshot()?;
        self.replay(&mut state);
        Ok((state, warning))
    }

    fn load_snapshot(&self) -> Result<(State, Option<String>), EngineError> {
        match read_state(&self.path()) {
            Ok(Some(s)) => Ok((s, None)),
            Ok(None) => match read_state(&self.prev_path()) {
                // Crashed between the two renames of a save: the previous copy is the state.
                Ok(Some(s)) => Ok((s, None)),
                _ => Ok((State { version: STATE_VERSION, ..State::default() }, None)),
            },
            Err(current) => {
                let previous = if matches!(read_state(&self.prev_path()), Ok(Some(_))) {
                    format!(
                        "\n  help: or go back to the copy from before the last save (what finished since then runs again): mv {} {}",
                        self.prev_path().display(),
                        self.path().display()
                    )
                } else {
                    String::new()
                };
                Err(EngineError::State {
                    path: self.path(),
                    message: format!(
                        "{current}: the file is damaged, and opsrun does not guess which stages are done; nothing was run\n  help: start over with --fresh (the damaged file is kept beside it){previous}"
                    ),
                })
            }
        }
    }

    /// Loads the state for showing it (`status`, `explain`): a damaged file reads as empty, with
    /// a warning saying so.
    pub fn load_lenient(&self) -> (State, Option<String>) {
        match self.load() {
            Ok(loaded) => loaded,
            Err(e) => (State { version: STATE_VERSION, ..State::default() }, Some(format!("warning: {e}"))),
        }
    }

    /// Moves a damaged state file (and its write-ahead log) aside, as `<name>.damaged-<suffix>`,
    /// so a run that does not resume can start over; returns the new name.
    pub fn set_aside(&self, suffix: &str) -> Result<PathBuf, EngineError> {
        let moved = self.dir.join(format!("state.json.damaged-{suffix}"));
        let err =
            |e: std::io::Error| EngineError::State { path: self.path(), message: format!("cannot move aside: {e}") };
        fs::rename(self.path(), &moved).map_err(err)?;
        let wal = self.wal_path();
        if wal.exists() {
            fs::rename(&wal, self.dir.join(format!("state.wal.damaged-{suffix}"))).map_err(err)?;
        }
        Ok(moved)
    }

    /// Saves a snapshot atomically (the old one is kept as `state.json.prev`), then empties the
    /// write-ahead log it supersedes.
    pub fn save(&self, state: &State) -> Result<(), EngineError> {
        self.save_any(state)
    }

    /// [`StateStore::save`] of a run's [`SharedState`].
    pub(crate) fn save_shared(&self, state: &SharedState) -> Result<(), EngineError> {
        self.save_any(state)
    }

    fn save_any(&self, state: &impl Serialize) -> Result<(), EngineError> {
        self.save_snapshot(state)?;
        crate::private_fs::truncate(&self.wal_path())
            .map_err(|e| EngineError::State { path: self.wal_path(), message: format!("cannot truncate: {e}") })
    }

    fn save_snapshot(&self, state: &impl Serialize) -> Result<(), EngineError> {
        let err = |e: std::io::Error| EngineError::State { path: self.path(), message: format!("cannot write: {e}") };
        crate::private_fs::create_dir(&self.dir).map_err(err)?;
        let bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| EngineError::State { path: self.path(), message: e.to_string() })?;
        crate::fault::transition();
        crate::fault::write().map_err(err)?;
        crate::private_fs::write_atomic(&self.path(), &bytes, Some(&self.prev_path())).map_err(err)
    }
}

/// Replays the lines of a write-ahead log over `state`: for each task, its last line that
/// parses replaces its record (a torn line, from a crash or a full disk in the middle of a
/// write, is skipped; the lines after it were written by later runs and still count).
///
/// The same as replaying every line in order, since each line holds a task's whole record; but
/// read from the end, so that a line superseded by a later one of the same task is never
/// parsed (a log near its 1 MiB fold holds several records of every task of a run).
fn replay_lines(text: &[u8], state: &mut State) {
    // Tasks whose last readable line was replayed, by the key as written (as parsed for a line
    // whose key could not be read without parsing it).
    let mut replayed: std::collections::HashSet<std::borrow::Cow<'_, [u8]>> = std::collections::HashSet::new();
    let mut end = text.len();
    let starts = memchr::memrchr_iter(b'\n', text).map(|i| i + 1).chain(std::iter::once(0));
    for start in starts {
        let line = &text[start..end];
        end = start.saturating_sub(1);
        if line.is_empty() {
            continue;
        }
        let key = written_task(line);
        if key.is_some_and(|k| replayed.contains(k)) {
            continue;
        }
        let Ok(update) = serde_json::from_slice::<WalLine>(line) else { continue };
        let key = match key {
            Some(k) => std::borrow::Cow::Borrowed(k),
            None => std::borrow::Cow::Owned(update.task.as_bytes().to_vec()),
        };
        if replayed.insert(key) {
            state.tasks.insert(update.task, update.record);
        }
    }
}

/// The task of a log line as [`StateWal::append`] writes it (`{"task":"<key>",...`), without
/// parsing the line; `None` for a key with an escape, or a line written some other way (the
/// caller parses it to know).
fn written_task(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"{\"task\":\"")?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    (rest[end] == b'"').then(|| &rest[..end])
}

/// One line of the write-ahead log.
#[derive(Serialize, Deserialize)]
struct WalLine {
    task: String,
    record: TaskRecord,
}

/// A [`WalLine`] serialised without copying its record.
#[derive(Serialize)]
struct WalLineRef<'a> {
    task: &'a str,
    record: &'a TaskRecord,
}

/// When an appended record reaches the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Append {
    /// With the next [`StateWal::write_pending`] (before opsrun waits for anything).
    Later,
    /// At once (a process group the next run must be able to end).
    Now,
    /// At once, and fsynced (a resumable run's `running` mark).
    Sync,
}

/// An open write-ahead log (see the module docs).
#[derive(Debug)]
pub(crate) struct StateWal {
    file: File,
    path: PathBuf,
    /// True once anything was appended through this handle, or the log was not empty when
    /// opened (a run that died before folding it).
    dirty: bool,
    /// Bytes in the file (as opened, plus what this handle wrote).
    size: u64,
    /// Lines appended but not written yet.
    pending: Vec<u8>,
    /// The task of the last pending line and where that line starts: a newer record of the
    /// same task replaces it before it is written (a `running` mark and the process group
    /// recorded right after it are one line).
    last: Option<(String, usize)>,
    /// Why writing failed (a full disk): nothing is written from then on.
    failed: Option<String>,
}

impl StateWal {
    /// True when the log holds updates the snapshot does not have yet.
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Bytes in the log, written or pending.
    pub(crate) fn size(&self) -> u64 {
        self.size + self.pending.len() as u64
    }

    /// Appends `task`'s record: [`Append::Sync`] and [`Append::Now`] write it at once, with
    /// everything pending before it (`Sync` also fsyncs); [`Append::Later`] waits for
    /// [`StateWal::write_pending`].
    pub(crate) fn append(&mut self, task: &str, record: &TaskRecord, how: Append) -> Result<(), EngineError> {
        if let Some(why) = &self.failed {
            return Err(EngineError::State { path: self.path.clone(), message: why.clone() });
        }
        // Each line holds a task's whole record, so an unwritten older line of the same task
        // says nothing the new one does not.
        if let Some((last, start)) = &self.last
            && last == task
        {
            self.pending.truncate(*start);
        }
        let at = self.pending.len();
        match &mut self.last {
            Some((last, start)) => {
                last.clear();
                last.push_str(task);
                *start = at;
            }
            None => self.last = Some((task.to_string(), at)),
        }
        if let Err(e) = serde_json::to_writer(&mut self.pending, &WalLineRef { task, record }) {
            self.pending.truncate(at);
            return Err(EngineError::State { path: self.path.clone(), message: e.to_string() });
        }
        self.pending.push(b'\n');
        self.dirty = true;
        crate::fault::transition();
        match how {
            Append::Later => Ok(()),
            Append::Now => self.write_pending(),
            Append::Sync => {
                self.write_pending()?;
                self.file.sync_data().map_err(|e| self.fail(&e))
            }
        }
    }

    /// Writes the pending lines (one `write`). After a failure, nothing more is written and
    /// every later call returns the same error.
    pub(crate) fn write_pending(&mut self) -> Result<(), EngineError> {
        if let Some(why) = &self.failed {
            return Err(EngineError::State { path: self.path.clone(), message: why.clone() });
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let written = crate::fault::write().and_then(|()| self.file.write_all(&self.pending));
        self.size += self.pending.len() as u64;
        self.pending.clear();
        self.last = None;
        written.map_err(|e| self.fail(&e))
    }

    /// The error of a write that failed, if one did.
    pub(crate) fn failure(&self) -> Option<EngineError> {
        self.failed.as_ref().map(|why| EngineError::State { path: self.path.clone(), message: why.clone() })
    }

    fn fail(&mut self, e: &std::io::Error) -> EngineError {
        let message = format!("cannot append: {e}");
        self.failed = Some(message.clone());
        EngineError::State { path: self.path.clone(), message }
    }
}

/// Timestamps in the state as jiff writes them (RFC 3339, UTC, the nanoseconds without their
/// trailing zeros), two of them in each of a task's log lines: written without building a
/// civil datetime each time, by the same [`opsrun_event::write_utc`] that writes an event's time.
mod timestamp {
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(ts: &jiff::Timestamp, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0; 30];
        match opsrun_event::write_utc(*ts, opsrun_event::Fraction::Trimmed, &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.collect_str(ts),
        }
    }

    #[expect(clippy::ref_option, reason = "the signature serde's `serialize_with` calls")]
    pub(super) fn serialize_opt<S: Serializer>(ts: &Option<jiff::Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match ts {
            Some(ts) => serialize(ts, s),
            None => s.serialize_none(),
        }
    }
}

fn read_state(path: &Path) -> Result<Option<State>, String> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
    };
    let state: State =
        serde_json::from_slice(&bytes).map_err(|e| format!("`{}` is not valid state: {e}", path.display()))?;
    if state.version > STATE_VERSION {
        return Err(format!("`{}` was written by a newer opsrun (state version {})", path.display(), state.version));
    }
    Ok(Some(state))
}

#[cfg(test)]
impl TaskRecord {
    /// A record for unit tests: `status` and `fingerprint`, run `r1`, no parts or times.
    pub(crate) fn fixture(status: RecordStatus, fingerprint: &str) -> TaskRecord {
        TaskRecord {
            status,
            fingerprint: fingerprint.into(),
            parts: BTreeMap::new(),
            run: "r1".into(),
            started: jiff::Timestamp::UNIX_EPOCH,
            finished: None,
            duration_ms: None,
            message: None,
            pgids: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: RecordStatus) -> TaskRecord {
        TaskRecord::fixture(status, "f")
    }

    #[test]
    fn round_trips_and_keeps_previous_copy() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut s = State { version: STATE_VERSION, ..State::default() };
        s.tasks.insert("a".into(), record(RecordStatus::Running));
        store.save(&s).unwrap();
        s.tasks.insert("a".into(), record(RecordStatus::Succeeded));
        store.save(&s).unwrap();
        assert_eq!(store.load().unwrap().0, s);
        let prev: State = serde_json::from_slice(&fs::read(dir.path().join("state.json.prev")).unwrap()).unwrap();
        assert_eq!(prev.tasks["a"].status, RecordStatus::Running);
    }

    #[test]
    fn a_damaged_state_is_refused_never_replaced_by_the_previous_copy() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let s = State { version: STATE_VERSION, ..State::default() };
        store.save(&s).unwrap();
        store.save(&s).unwrap();
        fs::write(dir.path().join("state.json"), b"{\"version\": 1, \"tas").unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("damaged") && err.contains("--fresh") && err.contains("state.json.prev"), "{err}");
        let moved = store.set_aside("r1").unwrap();
        assert!(moved.ends_with("state.json.damaged-r1"));
        assert_eq!(store.load().unwrap().0.tasks.len(), 0, "nothing left: a fresh start");
        assert!(dir.path().join("state.json.prev").exists(), "the previous copy is kept");
    }

    #[test]
    fn wal_replays_over_the_snapshot_and_tolerates_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut s = State { version: STATE_VERSION, ..State::default() };
        s.tasks.insert("a".into(), record(RecordStatus::Succeeded));
        store.save(&s).unwrap();
        let mut wal = store.wal().unwrap();
        wal.append("b", &record(RecordStatus::Running), Append::Later).unwrap();
        assert_eq!(fs::read(dir.path().join("state.wal")).unwrap().len(), 0, "a later append waits");
        wal.append("a", &record(RecordStatus::Failed), Append::Sync).unwrap();
        let mut f = fs::OpenOptions::new().append(true).open(dir.path().join("state.wal")).unwrap();
        f.write_all(b"{\"task\":\"c\",\"rec").unwrap();
        let (loaded, _) = store.load().unwrap();
        assert_eq!(loaded.tasks["a"].status, RecordStatus::Failed);
        assert_eq!(loaded.tasks["b"].status, RecordStatus::Running);
        assert!(!loaded.tasks.contains_key("c"));
        store.save(&loaded).unwrap();
        assert_eq!(fs::read(dir.path().join("state.wal")).unwrap().len(), 0);
        assert_eq!(store.load().unwrap().0, loaded);
    }

    #[test]
    fn a_failed_write_is_kept_and_nothing_more_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut wal = store.wal().unwrap();
        wal.append("a", &record(RecordStatus::Running), Append::Later).unwrap();
        // The file is gone from under it and replaced by a directory: the write fails.
        wal.file = fs::File::open(dir.path()).unwrap();
        assert!(wal.write_pending().is_err());
        assert!(wal.failure().is_some());
        assert!(wal.append("b", &record(RecordStatus::Running), Append::Now).is_err(), "refused from then on");
        assert!(wal.write_pending().is_err());
    }

    #[test]
    fn the_last_good_line_of_each_task_wins_over_earlier_lines_and_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut snapshot = State { version: STATE_VERSION, ..State::default() };
        snapshot.tasks.insert("a".into(), record(RecordStatus::Running));
        snapshot.tasks.insert("kept".into(), record(RecordStatus::Succeeded));
        store.save(&snapshot).unwrap();
        let mut wal = store.wal().unwrap();
        // Three runs of the same tasks, one with a name that needs escaping.
        for status in [RecordStatus::Running, RecordStatus::Failed, RecordStatus::Succeeded] {
            for task in ["a", "b", "quote\"d"] {
                wal.append(task, &record(status), Append::Now).unwrap();
            }
        }
        // A later record of `b` torn in the middle: the one before it counts.
        wal.append("b", &record(RecordStatus::Failed), Append::Now).unwrap();
        drop(wal);
        let path = dir.path().join("state.wal");
        let text = fs::read(&path).unwrap();
        fs::write(&path, &text[..text.len() - 10]).unwrap();
        let (loaded, _) = store.load().unwrap();
        assert_eq!(loaded.tasks["a"].status, RecordStatus::Succeeded, "the last line, not the snapshot");
        assert_eq!(loaded.tasks["b"].status, RecordStatus::Succeeded, "a torn last line is skipped");
        assert_eq!(loaded.tasks["quote\"d"].status, RecordStatus::Succeeded);
        assert_eq!(loaded.tasks["kept"].status, RecordStatus::Succeeded, "tasks only in the snapshot stay");
        assert_eq!(loaded.tasks.len(), 4);
    }

    #[test]
    fn a_lines_task_is_read_from_its_start_only_in_the_shape_opsrun_writes_it() {
        assert_eq!(written_task(br#"{"task":"talos:apply","record":{}}"#), Some(&b"talos:apply"[..]));
        assert_eq!(written_task(br#"{"task":"a\"b","record":{}}"#), None, "an escape: parsed whole");
        assert_eq!(written_task(br#"{"record":{},"task":"a"}"#), None, "another order: parsed whole");
        assert_eq!(written_task(br#"{"task":"a"#), None, "torn in the name");
    }

    #[test]
    fn an_unwritten_line_is_replaced_by_a_newer_record_of_the_same_task() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut wal = store.wal().unwrap();
        wal.append("a", &record(RecordStatus::Running), Append::Later).unwrap();
        wal.append("a", &record(RecordStatus::Running), Append::Later).unwrap();
        wal.append("b", &record(RecordStatus::Running), Append::Later).unwrap();
        wal.append("a", &record(RecordStatus::Failed), Append::Now).unwrap();
        let text = fs::read_to_string(dir.path().join("state.wal")).unwrap();
        let tasks: Vec<&str> = text.lines().map(|l| if l.contains(r#""task":"a""#) { "a" } else { "b" }).collect();
        assert_eq!(tasks, ["a", "b", "a"], "the second `a` replaced the first, not the one after `b`");
        assert_eq!(wal.size(), text.len() as u64);
        let (loaded, _) = store.load().unwrap();
        assert_eq!(loaded.tasks["a"].status, RecordStatus::Failed);
    }

    #[test]
    fn a_torn_line_is_cut_before_appending_and_skipped_in_the_middle() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut wal = store.wal().unwrap();
        wal.append("a", &record(RecordStatus::Succeeded), Append::Now).unwrap();
        drop(wal);
        // A write that stopped in the middle of a line.
        let mut f = fs::OpenOptions::new().append(true).open(dir.path().join("state.wal")).unwrap();
        f.write_all(b"{\"task\":\"b\",\"rec").unwrap();
        drop(f);
        let mut wal = store.wal().unwrap();
        wal.append("c", &record(RecordStatus::Failed), Append::Now).unwrap();
        let text = fs::read_to_string(dir.path().join("state.wal")).unwrap();
        assert_eq!(text.lines().count(), 2, "the torn line was cut: {text}");
        let (loaded, _) = store.load().unwrap();
        assert_eq!(loaded.tasks["c"].status, RecordStatus::Failed, "the line after the repair counts");
        // An older file with a torn line in the middle: the lines after it still count.
        fs::write(dir.path().join("state.wal"), format!("{{\"task\":\"x\",\"re\n{text}")).unwrap();
        let (loaded, _) = store.load().unwrap();
        assert_eq!(loaded.tasks["a"].status, RecordStatus::Succeeded);
        assert_eq!(loaded.tasks["c"].status, RecordStatus::Failed);
    }

    /// Replaying from the end, skipping superseded lines unparsed, ends with the state that
    /// replaying every line in order gives: whatever the tasks' names (escapes included), the
    /// torn lines, and lines written with other spacing.
    #[test]
    fn replaying_from_the_end_is_replaying_every_line_in_order() {
        fn in_order(text: &[u8], state: &mut State) {
            for line in text.split(|b| *b == b'\n') {
                if let Ok(update) = serde_json::from_slice::<WalLine>(line) {
                    state.tasks.insert(update.task, update.record);
                }
            }
        }
        let names = ["a", "b", "ab", "q\"uote", "back\\slash", "ümlaut", "c"];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        for _ in 0..300 {
            let mut text = Vec::new();
            for i in 0..usize::try_from(next(12)).unwrap() {
                let task = names[usize::try_from(next(names.len() as u64)).unwrap()];
                let mut r = record([RecordStatus::Running, RecordStatus::Succeeded, RecordStatus::Failed][i % 3]);
                r.fingerprint = format!("f{i}");
                let mut line = match next(4) {
                    0 => serde_json::to_vec_pretty(&WalLineRef { task, record: &r }).unwrap(),
                    1 => {
                        format!(r#"{{"task":"a\u0062","record":{}}}"#, serde_json::to_string(&r).unwrap()).into_bytes()
                    }
                    _ => serde_json::to_vec(&WalLineRef { task, record: &r }).unwrap(),
                };
                line.retain(|&b| b != b'\n');
                if next(5) == 0 {
                    line.truncate(usize::try_from(next(line.len() as u64)).unwrap());
                }
                text.extend_from_slice(&line);
                text.push(b'\n');
            }
            let mut snapshot = State { version: STATE_VERSION, ..State::default() };
            snapshot.tasks.insert("a".into(), record(RecordStatus::Succeeded));
            snapshot.tasks.insert("z".into(), record(RecordStatus::Succeeded));
            let (mut expected, mut replayed) = (snapshot.clone(), snapshot);
            in_order(&text, &mut expected);
            replay_lines(&text, &mut replayed);
            assert_eq!(replayed, expected, "{}", String::from_utf8_lossy(&text));
        }
    }

    /// A record's times are written as jiff's `Display` would, inside the years the fast path
    /// covers (`opsrun_event::write_utc`, tested against jiff there) and outside them.
    #[test]
    fn timestamps_are_written_as_jiff_writes_them() {
        // Every 40 days or so, from 1906 to 9999, with every number of trailing zeros.
        let sweep = (0..70_000_i64).map(|i| {
            let nanos = i32::try_from(i * 7_919).unwrap() / 10_i32.pow(u32::try_from(i % 10).unwrap());
            (i * 3_456_789 - 2_000_000_000, nanos)
        });
        let edges = [
            (0, 0),
            (0, 999_999_999),
            (0, 100_000_000),
            (0, 1),
            (951_782_400, 1_000),
            (4_107_542_399, 999_999),
            (253_402_300_799, 999_999_999),
            (-1, -500_000_000),
        ];
        for (secs, nanos) in edges.into_iter().chain(sweep) {
            let nanos = if secs < 0 { -nanos.abs() } else { nanos };
            let Ok(ts) = jiff::Timestamp::new(secs, nanos) else { continue };
            let mut r = record(RecordStatus::Succeeded);
            (r.started, r.finished) = (ts, Some(ts));
            let json = serde_json::to_string(&r).unwrap();
            assert!(json.contains(&format!(r#""started":"{ts}","finished":"{ts}""#)), "{json}");
            assert_eq!(serde_json::from_str::<TaskRecord>(&json).unwrap(), r);
        }
    }

    #[test]
    fn a_shared_state_is_saved_as_the_state_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut s = State { version: STATE_VERSION, ..State::default() };
        let mut r = record(RecordStatus::Failed);
        r.parts.insert("cmds".into(), "0123".into());
        r.message = Some("why".into());
        r.pgids = vec![7, 8];
        s.tasks.insert("b".into(), r);
        s.tasks.insert("a".into(), record(RecordStatus::Succeeded));
        store.save(&s).unwrap();
        let saved = fs::read(dir.path().join("state.json")).unwrap();
        store.save_shared(&SharedState::from(s.clone())).unwrap();
        assert_eq!(
            String::from_utf8(fs::read(dir.path().join("state.json")).unwrap()).unwrap(),
            String::from_utf8(saved).unwrap()
        );
        assert_eq!(store.load().unwrap().0, s);
    }

    #[test]
    fn missing_state_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (s, w) = StateStore::new(dir.path().join("nope")).load().unwrap();
        assert!(s.tasks.is_empty() && w.is_none());
    }
}
