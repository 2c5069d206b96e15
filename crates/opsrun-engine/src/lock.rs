//! One run per state directory at a time.
//!
//! The lock is an OS file lock on `.opsrun/lock` (released by the kernel if opsrun dies, even
//! by `kill -9`) plus `.opsrun/lock.json` describing the holder, so a refused second run can
//! say who holds it.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// Who holds the lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// User name.
    pub user: String,
    /// What it is doing (`bootstrap`, `run deploy`, ...).
    pub operation: String,
    /// Since when.
    pub started: jiff::Timestamp,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` by {}@{} (pid {}) since {}",
            self.operation,
            self.user,
            self.host,
            self.pid,
            self.started.strftime("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    info_path: PathBuf,
}

impl RunLock {
    /// Takes the lock of `dir` for `operation`, or says who holds it.
    pub fn acquire(dir: &Path, operation: &str) -> Result<RunLock, EngineError> {
        let io = |e: std::io::Error| EngineError::Io { what: format!("cannot lock `{}`", dir.display()), source: e };
        fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("lock")).map_err(io)?;
        let info_path = dir.join("lock.json");
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read(&info_path).ok().and_then(|b| serde_json::from_slice::<LockInfo>(&b).ok());
                return Err(EngineError::Locked { dir: dir.to_path_buf(), holder });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let info = LockInfo {
            pid: std::process::id(),
            host: host_name(),
            user: user_name(),
            operation: operation.to_string(),
            started: jiff::Timestamp::now(),
        };
        // Informational only: the OS lock is the truth, so a failure to write this is ignored.
        let _ = fs::write(&info_path, serde_json::to_vec_pretty(&info).unwrap_or_default());
        Ok(RunLock { _file: file, info_path })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.info_path);
    }
}

/// The host name, or `unknown`.
pub fn host_name() -> String {
    nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "unknown".into())
}

/// The user name: `$USER`, else the passwd entry, else the uid.
pub fn user_name() -> String {
    if let Ok(u) = std::env::var("USER")
        && !u.is_empty()
    {
        return u;
    }
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid).ok().flatten().map_or_else(|| uid.to_string(), |u| u.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_with_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), "bootstrap").unwrap();
        match RunLock::acquire(dir.path(), "run x") {
            Err(EngineError::Locked { holder: Some(h), .. }) => assert_eq!(h.operation, "bootstrap"),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        RunLock::acquire(dir.path(), "run x").unwrap();
    }
}
