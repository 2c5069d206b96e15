//! `cargo xtask consumer`: build and run `tests/consumer`, a program outside the workspace that
//! embeds opsrun with `default-features = false`, and check that its dependency tree has no
//! command-line or terminal crates.
//!
//! It shares the workspace's target directory, so the opsrun crates it needs are the ones the
//! test step already built (only the consumer itself is compiled).

use std::path::Path;
use std::process::ExitCode;

/// Crates an embedder must not compile: they belong to the `opsrun` binary.
const FORBIDDEN: &[&str] = &["clap", "clap_complete", "indicatif", "tracing-subscriber", "opsrun-cli", "opsrun-report"];

pub(crate) fn run(root: &Path) -> ExitCode {
    let manifest = root.join("tests/consumer/Cargo.toml");
    let target = root.join("target");
    let cargo = |args: &[&str]| {
        let mut command = crate::cargo_command();
        command.args(args).arg("--manifest-path").arg(&manifest).env("CARGO_TARGET_DIR", &target).current_dir(root);
        command
    };
    let tree = match cargo(&["tree", "--quiet", "--edges", "normal", "--prefix", "none", "--format", "{p}"]).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => {
            eprintln!("consumer: `cargo tree` failed:\n{}", String::from_utf8_lossy(&out.stderr));
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("consumer: cannot run cargo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let found = forbidden_in(&tree);
    if !found.is_empty() {
        eprintln!(
            "consumer: an embedder with default-features = false compiles {} (run `cargo tree -i <crate> --manifest-path tests/consumer/Cargo.toml`)",
            found.join(", ")
        );
        return ExitCode::FAILURE;
    }
    match cargo(&["run", "--quiet"]).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("consumer: the embedding program failed ({status})");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("consumer: cannot run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The forbidden crates named in a `cargo tree --prefix none --format {p}` listing.
fn forbidden_in(tree: &str) -> Vec<&'static str> {
    let names: Vec<&str> = tree.lines().filter_map(|line| line.split_whitespace().next()).collect();
    FORBIDDEN.iter().copied().filter(|f| names.contains(f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_forbidden_crates_by_exact_name() {
        let tree = "opsrun-consumer v0.0.0 (/x)\nopsrun v0.1.0 (/y)\nclap v4.5.0\nclap_lex v0.7.0\ntracing v0.1.0\n";
        assert_eq!(forbidden_in(tree), ["clap"]);
        assert!(forbidden_in("opsrun v0.1.0\ntracing-core v0.1\n").is_empty());
    }
}
