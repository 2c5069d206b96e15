//! `cargo xtask fuzz [--time SECONDS]`: a soak of the property tests.
//!
//! The property tests of the parsers (`tests/props.rs` in opsrun-spec, opsrun-template and
//! opsrun-change) run in the normal suite with proptest's default 256 cases each. The soak runs
//! them again and again with many cases and fresh random seeds until the time is up, and
//! reports targets, cases executed, time and failures. A failure is written by proptest to
//! `proptest-regressions/` beside the test, which becomes a regression test once committed.
//! (No `cargo fuzz`: it needs a nightly toolchain, which `.ci/run` does not have.)

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// (crate, test) of every property test.
const TARGETS: &[(&str, &str)] = &[
    ("opsrun-spec", "loading_never_panics_and_errors_are_located"),
    ("opsrun-spec", "random_task_graphs_build_or_refuse_cycles"),
    ("opsrun-template", "parsing_and_rendering_never_panic"),
    ("opsrun-template", "arbitrary_bytes_never_panic"),
    ("opsrun-change", "any_glob_compiles_or_is_refused_and_matching_never_panics"),
];

/// Cases per target per round.
const CASES: u32 = 5_000;

pub(crate) fn run(root: &Path, seconds: u64) -> ExitCode {
    // Build once, so the soak's time is spent running.
    let packages: Vec<&str> = TARGETS.iter().flat_map(|(p, _)| ["-p", p]).collect();
    let built =
        crate::cargo_command().args(["test", "--no-run", "--test", "props"]).args(&packages).current_dir(root).status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("fuzz: the property tests do not build");
        return ExitCode::FAILURE;
    }
    let budget = Duration::from_secs(seconds);
    let started = Instant::now();
    let mut executed = vec![0u64; TARGETS.len()];
    let mut failures: Vec<String> = Vec::new();
    let mut rounds = 0;
    // Whole rounds: every target gets the same number of cases.
    while started.elapsed() < budget {
        rounds += 1;
        for (i, (package, test)) in TARGETS.iter().enumerate() {
            let status = crate::cargo_command()
                .args(["test", "-q", "-p", package, "--test", "props", "--", "--exact", test])
                .env("PROPTEST_CASES", CASES.to_string())
                .current_dir(root)
                .status();
            match status {
                Ok(s) if s.success() => executed[i] += u64::from(CASES),
                _ => failures.push(format!("{package}::{test} (round {rounds})")),
            }
        }
    }
    let total: u64 = executed.iter().sum();
    eprintln!("fuzz: {} targets, {rounds} round(s), {:.0} s", TARGETS.len(), started.elapsed().as_secs_f64());
    for ((package, test), n) in TARGETS.iter().zip(&executed) {
        eprintln!("  {package}::{test}: {n} cases");
    }
    eprintln!("fuzz: {total} cases executed, {} failure(s)", failures.len());
    for f in &failures {
        eprintln!("  failed: {f} (proptest saved the input under proptest-regressions/)");
    }
    if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
