//! `cargo xtask`: the project's automation, written in Rust so that it runs wherever cargo does.
//!
//! Subcommands:
//!
//! - `ci`: the checks CI runs, in order, stopping at the first failure ([`ci`]).
//! - `tidy`: source-hygiene checks that also run as a `#[test]` inside `cargo test` ([`tidy`]).
//! - `bench [--quick] [--runs N] [--write]`: opsrun against the raw process-spawn floor and, when
//!   installed, go-task and just ([`bench`]).
//!
//! xtask depends on std only, so that it builds in seconds on a clean checkout.

mod bench;
mod ci;
mod consumer;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                      cargo fmt --check, clippy -D warnings, cargo test, consumer, tidy; stops at the first failure
  consumer                build and run tests/consumer (opsrun embedded without the CLI) and check its dependency tree
  tidy                    check //! module docs, no dbg!/todo!/unimplemented!, no ignored tests, crates in ARCHITECTURE.md
  bench [options]         benchmark opsrun against the process-spawn floor, go-task and just
    --quick               3 measured runs instead of 10
    --runs N              N measured runs (after one warm-up run)
    --write               write the results into docs/benchmarks.md";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let root = project_root();
    match command.as_str() {
        "ci" if rest.is_empty() => ci::run(&root),
        "tidy" if rest.is_empty() => tidy::run(&root),
        "consumer" if rest.is_empty() => consumer::run(&root),
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
