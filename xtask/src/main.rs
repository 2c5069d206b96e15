//! `cargo xtask`: the project's automation, written in Rust so that it runs wherever cargo does.
//!
//! Subcommands:
//!
//! - `ci`: the checks CI runs, in order, stopping at the first failure ([`ci`]).
//! - `api [--check]`: write, or check, the public-API snapshots `api/<crate>.txt` ([`api`]).
//! - `tidy`: source-hygiene checks that also run as a `#[test]` inside `cargo test` ([`tidy`]).
//! - `bench [--quick] [--pairs N] [--only W] [--write]`: opsrun's default invocation against a C
//!   `posix_spawn` floor and, when installed, go-task and just, as medians of A/B pairs
//!   ([`bench`]).
//!
//! xtask depends on std, `serde_json` (for rustdoc's and cargo's JSON) and `libc` (the bench's
//! `wait4` and `poll`) only, so that it builds in seconds on a clean checkout.

mod api;
mod bench;
mod ci;
mod consumer;
mod fuzz;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                      cargo fmt --check, clippy -D warnings, cargo test, cargo doc, consumer, api --check, tidy;
                          stops at the first failure
  api                     regenerate the public-API snapshots api/<crate>.txt (rustdoc JSON, RUSTC_BOOTSTRAP=1)
    --check               compare instead of writing; print what was added and removed
  fuzz [--time SECONDS]   soak the property tests of the parsers (default 60 s) and report cases and failures
  consumer                build and run tests/consumer (opsrun embedded without the CLI) and check its dependency tree
  tidy                    check //! module docs, no dbg!/todo!/unimplemented!, no ignored tests, crates in
                          ARCHITECTURE.md, crate layering, unused dependencies
  bench [options]         benchmark opsrun against the process-spawn floor, go-task and just
    --quick               3 timed A/B pairs per comparison instead of 9
    --pairs N             N timed A/B pairs per comparison (after one untimed pair)
    --only WORKLOAD       one workload (startup, list, chain, fan-out, up-to-date, plan, output, gate, resume, render)
    --write               write the results into docs/benchmarks.md (needs at least 9 pairs)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let root = project_root();
    match command.as_str() {
        "ci" if rest.is_empty() => ci::run(&root),
        "api" if rest.is_empty() => api::run(&root, api::Mode::Write),
        "api" if rest == ["--check"] => api::run(&root, api::Mode::Check),
        "tidy" if rest.is_empty() => tidy::run(&root),
        "consumer" if rest.is_empty() => consumer::run(&root),
        "fuzz" => match rest {
            [] => fuzz::run(&root, 60),
            [flag, secs] if flag == "--time" && secs.parse::<u64>().is_ok() => {
                fuzz::run(&root, secs.parse().unwrap_or(60))
            }
            _ => {
                eprintln!("error: usage: cargo xtask fuzz [--time SECONDS]\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        "bench" => match bench::BenchOptions::parse(rest) {
            Ok(options) => bench::run(&root, &options),
            Err(message) => {
                eprintln!("error: {message}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("error: unknown command or arguments: {}\n\n{USAGE}", args.join(" "));
            ExitCode::from(2)
        }
    }
}

/// The workspace root: xtask lives one level below it. `cargo run` sets `CARGO_MANIFEST_DIR` at
/// run time too; that wins over the compile-time value, which is stale when one target
/// directory serves several checkouts.
fn project_root() -> PathBuf {
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir.parent().map_or_else(|| manifest_dir.clone(), Path::to_path_buf)
}

/// The cargo that invoked us (so `cargo +nightly xtask` stays on nightly), or `cargo` from PATH.
fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Variables `cargo run` sets for xtask itself, besides `CARGO_PKG_*`.
const RUN_ONLY_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
];

/// [`cargo()`] as a command, without the variables `cargo run` set for xtask: a build script
/// that watches one (ring's watches `CARGO_MANIFEST_DIR`) would otherwise see another
/// environment than under a cargo started from the shell, and it and everything above it would
/// be rebuilt each time the two alternate.
fn cargo_command() -> std::process::Command {
    let mut command = std::process::Command::new(cargo());
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("CARGO_PKG_") || RUN_ONLY_VARS.contains(&name.as_ref()) {
            command.env_remove(&key);
        }
    }
    command
}
