//! The persistent state of a project: the last outcome and fingerprint of every task.
//!
//! `.opsrun/state.json` is replaced atomically (write a temporary file, fsync, keep the old
//! copy as `state.json.prev`, rename, fsync the directory), so a crash at any instant leaves
//! either the old or the new state, never a torn one. Loading falls back to the previous copy
//! if the current one is unreadable, and says so.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

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
    pub started: jiff::Timestamp,
    /// When it finished.
    pub finished: Option<jiff::Timestamp>,
    /// How long it took.
    pub duration_ms: Option<u64>,
    /// Failure message.
    pub message: Option<String>,
}

/// The status of a task record.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
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

    /// Loads the state; a missing file is an empty state. Returns a warning when the current
    /// file was unreadable and the previous copy was used.
    pub fn load(&self) -> Result<(State, Option<String>), EngineError> {
        match read_state(&self.path()) {
            Ok(Some(s)) => Ok((s, None)),
            Ok(None) => match read_state(&self.prev_path()) {
                // Crashed between the two renames of a save: the previous copy is the state.
                Ok(Some(s)) => Ok((s, None)),
                _ => Ok((State { version: STATE_VERSION, ..State::default() }, None)),
            },
            Err(current) => match read_state(&self.prev_path()) {
                Ok(Some(s)) => Ok((s, Some(format!("{current}; using the previous copy `state.json.prev`")))),
                _ => Err(EngineError::State {
                    path: self.path(),
                    message: format!("{current} (and no usable previous copy); move it away or run with --fresh"),
                }),
            },
        }
    }

    /// Saves atomically; the old file is kept as `state.json.prev`.
    pub fn save(&self, state: &State) -> Result<(), EngineError> {
        let err = |e: std::io::Error| EngineError::State { path: self.path(), message: format!("cannot write: {e}") };
        fs::create_dir_all(&self.dir).map_err(err)?;
        let tmp = self.dir.join("state.json.tmp");
        let bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| EngineError::State { path: self.path(), message: e.to_string() })?;
        {
            let mut f = File::create(&tmp).map_err(err)?;
            f.write_all(&bytes).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        let path = self.path();
        if path.exists() {
            fs::rename(&path, self.prev_path()).map_err(err)?;
        }
        fs::rename(&tmp, &path).map_err(err)?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(err)?;
        Ok(())
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
mod tests {
    use super::*;

    fn record(status: RecordStatus) -> TaskRecord {
        TaskRecord {
            status,
            fingerprint: "f".into(),
            parts: BTreeMap::new(),
            run: "r".into(),
            started: jiff::Timestamp::UNIX_EPOCH,
            finished: None,
            duration_ms: None,
            message: None,
        }
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
    fn falls_back_to_previous_copy_when_current_is_torn() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let s = State { version: STATE_VERSION, ..State::default() };
        store.save(&s).unwrap();
        store.save(&s).unwrap();
        fs::write(dir.path().join("state.json"), b"{\"version\": 1, \"tas").unwrap();
        let (loaded, warning) = store.load().unwrap();
        assert_eq!(loaded, s);
        assert!(warning.unwrap().contains("previous copy"));
    }

    #[test]
    fn missing_state_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (s, w) = StateStore::new(dir.path().join("nope")).load().unwrap();
        assert!(s.tasks.is_empty() && w.is_none());
    }
}
