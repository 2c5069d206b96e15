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
    /// The run holding the lock.
    #[serde(default)]
    pub run: Option<String>,
    /// The digest of the token the holder hands its commands ([`NESTED_TOKEN_ENV`]), so that
    /// an opsrun started by one of them can join the run; the token itself is never written.
    #[serde(default)]
    pub token_digest: Option<String>,
}

/// The environment variable through which a run hands its commands the token that lets an
/// opsrun they start join the run instead of being refused by the lock.
pub const NESTED_TOKEN_ENV: &str = "OPSRUN_RUN_TOKEN";

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
    token: String,
}

impl RunLock {
    /// The token this run hands its commands in [`NESTED_TOKEN_ENV`].
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Who holds the lock of `dir` now, if anyone (a live run; a dead one's lock is released by
    /// the kernel).
    pub fn holder(dir: &Path) -> Option<LockInfo> {
        let file = std::os::unix::fs::OpenOptionsExt::custom_flags(
            OpenOptions::new().write(true),
            nix::fcntl::OFlag::O_NOFOLLOW.bits(),
        )
        .open(dir.join("lock"))
        .ok()?;
        if file.try_lock().is_ok() {
            return None;
        }
        serde_json::from_slice(&fs::read(dir.join("lock.json")).ok()?).ok()
    }

    /// The run that holds the lock of `dir`, when `token` is the one it handed its commands: an
    /// opsrun started by one of that run's commands joins it. `None` when nobody holds the lock
    /// or the token does not match (an unrelated process cannot guess it).
    pub fn joinable(dir: &Path, token: &str) -> Option<String> {
        let info = Self::holder(dir)?;
        (info.token_digest.as_deref() == Some(digest(token).as_str())).then_some(info.run).flatten()
    }

    /// Takes the lock of `dir` for run `run` doing `operation`, or says who holds it.
    pub fn acquire(dir: &Path, operation: &str, run: &str) -> Result<RunLock, EngineError> {
        let io = |e: std::io::Error| EngineError::Io { what: format!("cannot lock `{}`", dir.display()), source: e };
        crate::private_fs::create_dir(dir).map_err(io)?;
        let file = crate::private_fs::open_write(&dir.join("lock")).map_err(io)?;
        let info_path = dir.join("lock.json");
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder =
                    fs::read(&info_path).ok().and_then(|b| serde_json::from_slice::<LockInfo>(&b).ok()).map(Box::new);
                return Err(EngineError::Locked { dir: dir.to_path_buf(), holder });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let token = new_token();
        let info = LockInfo {
            pid: std::process::id(),
            host: host_name(),
            user: user_name(),
            operation: operation.to_string(),
            started: jiff::Timestamp::now(),
            run: Some(run.to_string()),
            token_digest: Some(digest(&token)),
        };
        // Informational only: the OS lock is the truth, so a failure to write this is ignored
        // (nested runs then cannot join and are refused, which is safe), and it is not fsynced
        // (after a power cut the lock is free whatever this file says).
        let _ = crate::private_fs::replace_unsynced(&info_path, &serde_json::to_vec_pretty(&info).unwrap_or_default());
        Ok(RunLock { _file: file, info_path, token })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.info_path);
    }
}

fn digest(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// 128 random bits from the kernel, as hex; should `/dev/urandom` be unreadable, a digest of
/// the time, the process and a stack address (still not guessable by another user).
fn new_token() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let random = File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).is_ok();
    if random {
        return bytes.iter().fold(String::with_capacity(32), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        });
    }
    let seed = format!("{:?}{}{:p}", std::time::SystemTime::now(), std::process::id(), &bytes);
    blake3::hash(seed.as_bytes()).to_hex()[..32].to_string()
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
        let first = RunLock::acquire(dir.path(), "bootstrap", "r1").unwrap();
        match RunLock::acquire(dir.path(), "run x", "r2") {
            Err(EngineError::Locked { holder: Some(h), .. }) => assert_eq!(h.operation, "bootstrap"),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        // Another test thread forking a child at this instant shares the lock's open file
        // until the child execs (the descriptor is close-on-exec): wait that moment out.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while let Err(e) = RunLock::acquire(dir.path(), "run x", "r3") {
            assert!(std::time::Instant::now() < deadline, "the lock was never released: {e}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn only_the_holders_token_joins_its_run() {
        let dir = tempfile::tempdir().unwrap();
        let lock = RunLock::acquire(dir.path(), "run a", "r1").unwrap();
        assert_eq!(RunLock::joinable(dir.path(), lock.token()).as_deref(), Some("r1"));
        assert_eq!(RunLock::joinable(dir.path(), "guess"), None);
        let token = lock.token().to_string();
        drop(lock);
        assert_eq!(RunLock::joinable(dir.path(), &token), None, "a finished run cannot be joined");
    }
}
