//! Exit codes: documented constants, one place.

/// Everything succeeded.
pub const OK: u8 = 0;
/// A task (or its health gate) failed.
pub const TASK_FAILED: u8 = 1;
/// Bad usage or an invalid tasks file.
pub const USAGE: u8 = 2;
/// Another opsrun run holds the state directory.
pub const LOCKED: u8 = 3;
/// `status` / `emergency-recovery --assess-only`: some layer is not healthy; `override align`:
/// the override is not aligned yet.
pub const UNHEALTHY: u8 = 4;
/// A confirmation was needed and not given (no terminal and no `--yes`, or answered no).
pub const NOT_CONFIRMED: u8 = 5;
/// `classify --fail-on` matched.
pub const CLASSIFY_FAIL: u8 = 6;
/// `override resume` refused: resuming would revert drift (without `--allow-revert`), the
/// checkout has uncommitted or unpushed changes, or the drift could not be evaluated.
pub const REFUSED: u8 = 7;
/// `preflight` (or the preflight before `bootstrap`/`pipeline`) found something missing;
/// nothing was run.
pub const PREFLIGHT_FAILED: u8 = 8;
/// opsrun itself failed (I/O outside any task, a bug).
pub const INTERNAL: u8 = 70;
/// Interrupted by SIGHUP (128 + 1).
pub const SIGHUP: u8 = 129;
/// Interrupted by SIGINT (128 + 2).
pub const SIGINT: u8 = 130;
/// Interrupted by SIGTERM (128 + 15).
pub const SIGTERM: u8 = 143;

/// Every code with its meaning, for `docs/cli.md` and `--help`.
pub const TABLE: &[(u8, &str)] = &[
    (OK, "success"),
    (TASK_FAILED, "a task or its health gate failed"),
    (USAGE, "bad usage or an invalid tasks file"),
    (LOCKED, "another run holds the state directory"),
    (UNHEALTHY, "status: some layer is not healthy; override align: not aligned yet"),
    (NOT_CONFIRMED, "a confirmation was needed and not given"),
    (CLASSIFY_FAIL, "classify --fail-on matched"),
    (REFUSED, "override resume refused (drift, unpushed or uncommitted changes, a diff that cannot be evaluated)"),
    (PREFLIGHT_FAILED, "preflight found something missing; nothing was run"),
    (INTERNAL, "opsrun itself failed"),
    (SIGHUP, "interrupted by SIGHUP"),
    (SIGINT, "interrupted by SIGINT (Ctrl-C)"),
    (SIGTERM, "interrupted by SIGTERM"),
];
