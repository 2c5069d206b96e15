//! `cargo xtask tidy`: source-hygiene checks, also run as a `#[test]` so that `cargo test` enforces them.
//!
//! - every `.rs` file under `crates/`, `src/` and `xtask/` (outside `tests/` directories) starts
//!   with a `//!` line saying what the module is for;
//! - those files contain no leftover debugging or placeholder macros;
//! - no Rust source anywhere in the repository marks a test as ignored: a test that cannot run
//!   is deleted or fixed, not hidden;
//! - every crate under `crates/` is mentioned in `ARCHITECTURE.md`, so that the code map stays
//!   complete (skipped with a note when the file does not exist);
//! - each workspace crate depends only on the workspace crates its layer allows, and uses every
//!   one of its `[dependencies]` ([`deps`]).

mod deps;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Directories whose `.rs` files must carry a module doc and no placeholder macros.
const DOCUMENTED_ROOTS: &[&str] = &["crates", "src", "xtask"];

/// Built with `concat!` so that this file does not trip its own check.
const BANNED_MACROS: &[&str] = &[concat!("dbg", "!("), concat!("todo", "!("), concat!("unimplemented", "!(")];
const IGNORE_ATTRIBUTE: &str = concat!("#[", "ignore");

/// One broken rule, at a place in a file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// Relative to the repository root.
    pub(crate) path: PathBuf,
    pub(crate) line: usize,
    pub(crate) message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

/// What a tidy pass found.
#[derive(Debug, Default)]
pub(crate) struct TidyReport {
    pub(crate) violations: Vec<Violation>,
    /// Checks that were skipped, and why.
    pub(crate) notes: Vec<String>,
}

impl fmt::Display for TidyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        for violation in &self.violations {
            writeln!(f, "{violation}")?;
        }
        if self.violations.is_empty() {
            write!(f, "tidy: ok")
        } else {
            write!(f, "tidy: {} violation(s)", self.violations.len())
        }
    }
}

pub(crate) fn run(root: &Path) -> ExitCode {
    match check(root) {
        Ok(report) => {
            let failed = !report.violations.is_empty();
            if failed {
                eprintln!("{report}");
                ExitCode::from(1)
            } else {
                println!("{report}");
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("tidy: failed to read the source tree: {error}");
            ExitCode::from(1)
        }
    }
}

/// Runs every check on the repository at `root`.
pub(crate) fn check(root: &Path) -> std::io::Result<TidyReport> {
    let mut report = TidyReport::default();

    let mut every_rust_file = Vec::new();
    collect_rust_files(root, root, &mut every_rust_file)?;
    every_rust_file.sort();

    for relative in &every_rust_file {
        let text = fs::read_to_string(root.join(relative))?;
        report.violations.extend(check_no_ignored_tests(relative, &text));
        if is_documented_source(relative) {
            report.violations.extend(check_module_doc(relative, &text));
            report.violations.extend(check_no_banned_macros(relative, &text));
        }
    }

    match fs::read_to_string(root.join("ARCHITECTURE.md")) {
        Ok(architecture) => {
            for (manifest, line, name) in workspace_crates(root)? {
                if !mentions_crate(&architecture, &name) {
                    report.violations.push(Violation {
                        path: manifest,
                        line,
                        message: format!("crate `{name}` is not mentioned in ARCHITECTURE.md"),
                    });
                }
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            report.notes.push("ARCHITECTURE.md does not exist; skipping the crate code-map check".into());
        }
        Err(error) => return Err(error),
    }

    let (violations, notes) = deps::check(root)?;
    report.violations.extend(violations);
    report.notes.extend(notes);
    report.violations.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    Ok(report)
}

/// Every `.rs` file below `dir`, relative to `root`, skipping build output and hidden directories
/// (`.git`, `.opsrun` state, editor folders).
fn collect_rust_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            if name == "target" || name.starts_with('.') {
                continue;
            }
            collect_rust_files(root, &path, out)?;
        } else if file_type.is_file() && name.ends_with(".rs") {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

/// Under `crates/`, `src/` or `xtask/`, and not inside a `tests/` directory (integration tests and
/// their fixtures are exempt from the module-doc rule).
fn is_documented_source(relative: &Path) -> bool {
    let mut components = relative.components().map(|c| c.as_os_str().to_string_lossy());
    let in_documented_root = components.next().is_some_and(|first| DOCUMENTED_ROOTS.contains(&first.as_ref()));
    in_documented_root && !relative.components().any(|c| c.as_os_str() == "tests")
}

/// The first non-blank line must be a `//!` module doc.
fn check_module_doc(path: &Path, text: &str) -> Option<Violation> {
    let first = text.lines().enumerate().find(|(_, line)| !line.trim().is_empty());
    match first {
        Some((_, line)) if line.trim_start().starts_with("//!") => None,
        Some((index, _)) => Some(Violation {
            path: path.to_path_buf(),
            line: index + 1,
            message: "file does not start with a `//!` module doc line".into(),
        }),
        None => Some(Violation {
            path: path.to_path_buf(),
            line: 1,
            message: "file is empty; it needs at least a `//!` module doc line".into(),
        }),
    }
}

/// No placeholder or debugging macros outside comments.
fn check_no_banned_macros(path: &Path, text: &str) -> Vec<Violation> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for banned in BANNED_MACROS {
            if line.contains(banned) {
                found.push(Violation {
                    path: path.to_path_buf(),
                    line: index + 1,
                    message: format!("`{}` left in the code", banned.trim_end_matches('(')),
                });
            }
        }
    }
    found
}

/// No ignored tests, including in comments' code examples (which are compiled as doc tests).
fn check_no_ignored_tests(path: &Path, text: &str) -> Vec<Violation> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains(IGNORE_ATTRIBUTE))
        .map(|(index, _)| Violation {
            path: path.to_path_buf(),
            line: index + 1,
            message: "ignored test: fix it or delete it, do not hide it".into(),
        })
        .collect()
}

/// `(manifest path relative to root, line of the name, package name)` for each crate under `crates/`.
fn workspace_crates(root: &Path) -> std::io::Result<Vec<(PathBuf, usize, String)>> {
    let crates_dir = root.join("crates");
    let mut found = Vec::new();
    let entries = match fs::read_dir(&crates_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else { continue };
        let relative = manifest.strip_prefix(root).unwrap_or(&manifest).to_path_buf();
        let (line, name) = package_name(&text).unwrap_or_else(|| (1, entry.file_name().to_string_lossy().into_owned()));
        found.push((relative, line, name));
    }
    found.sort();
    Ok(found)
}

/// The `name = "..."` of the `[package]` table, with its 1-based line; a line-based read is enough
/// for our own manifests and keeps xtask free of a TOML dependency.
fn package_name(manifest: &str) -> Option<(usize, String)> {
    let mut in_package = false;
    for (index, line) in manifest.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some(value) = line.strip_prefix("name").map(str::trim_start).and_then(|rest| rest.strip_prefix('=')) {
            return Some((index + 1, value.trim().trim_matches('"').to_string()));
        }
    }
    None
}

/// Mentioned by package name (`opsrun-spec`) or by crate path (`opsrun_spec`).
fn mentions_crate(architecture: &str, name: &str) -> bool {
    architecture.contains(name) || architecture.contains(&name.replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(violations: &[Violation]) -> Vec<usize> {
        violations.iter().map(|v| v.line).collect()
    }

    /// The repository itself must be tidy: this is what puts tidy inside `cargo test`.
    #[test]
    fn repository_is_tidy() {
        let report = check(&crate::project_root()).expect("the source tree is readable");
        for note in &report.notes {
            eprintln!("note: {note}");
        }
        assert!(report.violations.is_empty(), "{report}");
    }

    #[test]
    fn module_doc_is_required_on_the_first_non_blank_line() {
        let path = Path::new("crates/a/src/lib.rs");
        assert_eq!(check_module_doc(path, "//! Does a thing.\nfn f() {}\n"), None);
        assert_eq!(check_module_doc(path, "\n//! Does a thing.\n"), None);
        let missing = check_module_doc(path, "/// Item doc.\nfn f() {}\n").expect("a violation");
        assert_eq!(missing.to_string(), "crates/a/src/lib.rs:1: file does not start with a `//!` module doc line");
        assert!(check_module_doc(path, "").is_some());
    }

    #[test]
    fn banned_macros_are_found_outside_comments() {
        let path = Path::new("src/lib.rs");
        let text = format!(
            "//! Doc.\n// {} in a comment is fine\nfn f() {{ {}1); }}\nfn g() {{ {}); }}\n",
            BANNED_MACROS[0], BANNED_MACROS[0], BANNED_MACROS[1]
        );
        let found = check_no_banned_macros(path, &text);
        assert_eq!(lines_of(&found), [3, 4]);
        assert_eq!(found[0].message, format!("`{}` left in the code", BANNED_MACROS[0].trim_end_matches('(')));
    }

    #[test]
    fn ignored_tests_are_found() {
        let text = format!("#[test]\n{IGNORE_ATTRIBUTE}]\nfn slow() {{}}\n{IGNORE_ATTRIBUTE} = \"flaky\"]\n");
        assert_eq!(lines_of(&check_no_ignored_tests(Path::new("tests/e2e.rs"), &text)), [2, 4]);
    }

    #[test]
    fn tests_directories_are_exempt_from_module_docs() {
        assert!(is_documented_source(Path::new("crates/opsrun-spec/src/lib.rs")));
        assert!(is_documented_source(Path::new("xtask/src/main.rs")));
        assert!(!is_documented_source(Path::new("crates/opsrun-spec/tests/load.rs")));
        assert!(!is_documented_source(Path::new("tests/cli.rs")));
        assert!(!is_documented_source(Path::new("examples/demo/main.rs")));
    }

    #[test]
    fn package_name_is_read_from_the_package_table() {
        let manifest = "[package]\nname = \"opsrun-spec\"\n\n[dependencies]\nname = \"not-this\"\n";
        assert_eq!(package_name(manifest), Some((2, "opsrun-spec".to_string())));
        assert_eq!(package_name("[dependencies]\nname = \"x\"\n"), None);
        assert!(mentions_crate("the `opsrun_spec` crate", "opsrun-spec"));
        assert!(!mentions_crate("nothing here", "opsrun-spec"));
    }
}
