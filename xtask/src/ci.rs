//! `cargo xtask ci`: the checks CI runs, in the order CI runs them, stopping at the first failure.

use std::path::Path;
use std::process::{ExitCode, ExitStatus};

/// One step: how it is shown, and the cargo arguments that run it.
struct Step {
    shown: &'static str,
    cargo_args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const CARGO_STEPS: &[Step] = &[
    Step { shown: "cargo fmt --all -- --check", cargo_args: &["fmt", "--all", "--", "--check"], env: &[] },
    Step {
        shown: "cargo clippy --workspace --all-targets -- -D warnings",
        cargo_args: &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
        env: &[],
    },
    // Doc tests are part of `cargo test` for library targets.
    Step { shown: "cargo test --workspace", cargo_args: &["test", "--workspace"], env: &[] },
    // The library crates' docs, as docs.rs would build them: broken links are errors. (The CLI's
    // doc comments are its `--help` text, not rustdoc.)
    Step {
        shown: "RUSTDOCFLAGS='-D warnings' cargo doc --no-deps --workspace --exclude opsrun-cli --exclude xtask",
        cargo_args: &["doc", "--no-deps", "--workspace", "--exclude", "opsrun-cli", "--exclude", "xtask"],
        env: &[("RUSTDOCFLAGS", "-D warnings")],
    },
];

/// A step that runs in this process: how it is shown, and the function.
type InProcessStep = (&'static str, fn(&Path) -> ExitCode);

/// Steps that run in this process: they are this binary, so spawning `cargo xtask ..` would
/// only add a second cargo invocation. After the tests, so that a compile error is reported by
/// the step that explains it best.
const IN_PROCESS_STEPS: &[InProcessStep] = &[
    ("cargo xtask consumer", crate::consumer::run),
    ("cargo xtask api --check", |root| crate::api::run(root, crate::api::Mode::Check)),
    ("cargo xtask tidy", crate::tidy::run),
];

pub(crate) fn run(root: &Path) -> ExitCode {
    let total = CARGO_STEPS.len() + IN_PROCESS_STEPS.len();
    for (index, step) in CARGO_STEPS.iter().enumerate() {
        eprintln!("==> [{}/{total}] {}", index + 1, step.shown);
        let status =
            crate::cargo_command().args(step.cargo_args).envs(step.env.iter().copied()).current_dir(root).status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => {
                let code = exit_code(status);
                eprintln!("==> failed: {} (exit {code})", step.shown);
                return ExitCode::from(code);
            }
            Err(error) => {
                eprintln!("==> failed to start `{}`: {error}", step.shown);
                return ExitCode::from(1);
            }
        }
    }
    for (index, (shown, step)) in IN_PROCESS_STEPS.iter().enumerate() {
        eprintln!("==> [{}/{total}] {shown}", CARGO_STEPS.len() + index + 1);
        if step(root) != ExitCode::SUCCESS {
            eprintln!("==> failed: {shown} (exit 1)");
            return ExitCode::from(1);
        }
    }
    eprintln!("==> ci passed");
    ExitCode::SUCCESS
}

/// The child's exit code, or 128 + signal as a shell reports it when the child was killed.
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt as _;
    let code = status.code().or_else(|| status.signal().map(|signal| 128 + signal)).unwrap_or(1);
    // Exit codes are 0..=255 on Unix; anything else (and a "failure" reported as 0) becomes 1.
    u8::try_from(code).ok().filter(|&code| code != 0).unwrap_or(1)
}
