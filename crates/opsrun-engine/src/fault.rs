//! Fault injection for the test suite: crash or fail a write at a chosen point of a run.
//!
//! Two environment variables, read once, unset in normal use (and then costing one relaxed
//! atomic load per state transition):
//!
//! - `OPSRUN_FAULT_KILL_AT=N`: at the Nth state transition (a `running` mark, a process group
//!   recorded, an outcome, a snapshot), opsrun kills itself with SIGKILL, as a power cut or the
//!   OOM killer would. The suite does this at every transition of a run and checks that the
//!   next run understands the state, ends what was left running and resumes to success.
//! - `OPSRUN_FAULT_ENOSPC_AT=N`: the Nth write to the state (`state.wal` or a snapshot) fails
//!   with "no space left on device", as a full disk would.
//! - `OPSRUN_FAULT_RACY_MARGIN_MS=N`: the source cache trusts a file changed more than N ms
//!   before hashing started, instead of [`RACY_MARGIN`](crate::sources::RACY_MARGIN), so the
//!   suite can check what the cache decides without waiting for files to age (a fault: with 0,
//!   a file rewritten in the same clock tick after it was hashed could go unnoticed).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

fn setting(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

static KILL_AT: OnceLock<Option<u64>> = OnceLock::new();
static RACY_MARGIN_MS: OnceLock<Option<u64>> = OnceLock::new();
static ENOSPC_AT: OnceLock<Option<u64>> = OnceLock::new();
static TRANSITIONS: AtomicU64 = AtomicU64::new(0);
static WRITES: AtomicU64 = AtomicU64::new(0);

/// A state transition is about to be recorded.
pub(crate) fn transition() {
    let Some(n) = *KILL_AT.get_or_init(|| setting("OPSRUN_FAULT_KILL_AT")) else { return };
    if TRANSITIONS.fetch_add(1, Ordering::Relaxed) + 1 == n {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// A write to the state is about to happen: `Err` when it is the one to fail.
pub(crate) fn write() -> std::io::Result<()> {
    let Some(n) = *ENOSPC_AT.get_or_init(|| setting("OPSRUN_FAULT_ENOSPC_AT")) else { return Ok(()) };
    if WRITES.fetch_add(1, Ordering::Relaxed) + 1 == n {
        return Err(std::io::Error::from_raw_os_error(nix::errno::Errno::ENOSPC as i32));
    }
    Ok(())
}

/// The source cache's racy margin, when the suite sets it.
pub(crate) fn racy_margin() -> Option<std::time::Duration> {
    RACY_MARGIN_MS.get_or_init(|| setting("OPSRUN_FAULT_RACY_MARGIN_MS")).map(std::time::Duration::from_millis)
}
