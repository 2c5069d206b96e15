//! Tidy's dependency checks, read from the workspace's `Cargo.toml` files line by line:
//!
//! - **layering**: a workspace crate's `[dependencies]` name only the workspace crates
//!   [`LAYERS`] allows it (`ARCHITECTURE.md`: spec → plan → engine → event → report, change
//!   independent, the CLI on top, the `opsrun` facade over everything);
//! - **unused dependencies**: every `[dependencies]` entry appears in the crate's `src/` as
//!   `name::`, `use name` or `extern crate name` (`-` read as `_`; a `package = ".."` rename is
//!   used by its key), outside `//` comment lines. Dev-dependencies are not checked.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::Violation;

/// This file, for violations about the tables below.
const THIS_FILE: &str = "xtask/src/tidy/deps.rs";

/// The workspace crates each workspace crate may depend on in `[dependencies]`. From
/// ARCHITECTURE.md and the manifests: the data path is one-directional (spec → plan → engine,
/// with `opsrun-template` below the spec and `opsrun-event` a leaf both the engine and the renderers use), `opsrun-change` stands
/// alone, the CLI wires everything, and the root package re-exports the library crates and
/// runs the CLI. A new crate needs a row here.
const LAYERS: &[(&str, &[&str])] = &[
    ("opsrun-event", &[]),
    ("opsrun-template", &[]),
    ("opsrun-process", &["opsrun-event"]),
    ("opsrun-spec", &["opsrun-template", "opsrun-process", "opsrun-event"]),
    ("opsrun-plan", &["opsrun-spec"]),
    ("opsrun-engine", &["opsrun-spec", "opsrun-plan", "opsrun-event", "opsrun-process"]),
    ("opsrun-report", &["opsrun-event"]),
    ("opsrun-change", &[]),
    ("opsrun-taskfile", &["opsrun-spec"]),
    (
        "opsrun-cli",
        &[
            "opsrun-spec",
            "opsrun-taskfile",
            "opsrun-plan",
            "opsrun-engine",
            "opsrun-event",
            "opsrun-process",
            "opsrun-report",
            "opsrun-change",
        ],
    ),
    (
        "opsrun",
        &[
            "opsrun-spec",
            "opsrun-taskfile",
            "opsrun-plan",
            "opsrun-engine",
            "opsrun-event",
            "opsrun-report",
            "opsrun-change",
            "opsrun-cli",
        ],
    ),
    ("xtask", &[]),
];

/// `(crate, dependency key)` pairs the unused-dependency check knows about and lets pass.
/// To be removed: the crates are being edited elsewhere; empty this list when those edits land
/// (an entry that is no longer an unused dependency is itself a violation).
const KNOWN_UNUSED: &[(&str, &str)] = &[];

/// One workspace package, as its manifest describes it.
#[derive(Debug)]
pub(super) struct Manifest {
    /// Relative to the repository root, e.g. `crates/opsrun-spec/Cargo.toml`.
    pub(super) path: PathBuf,
    pub(super) package: String,
    pub(super) package_line: usize,
    pub(super) dependencies: Vec<Dependency>,
}

/// One `[dependencies]` entry.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Dependency {
    /// The name code uses (the entry's key).
    pub(super) key: String,
    /// The package it resolves to (`package = ".."`, possibly via `[workspace.dependencies]`).
    pub(super) package: String,
    pub(super) line: usize,
}

/// Both checks over the workspace at `root`: the violations, and notes on what was allowed.
pub(super) fn check(root: &Path) -> std::io::Result<(Vec<Violation>, Vec<String>)> {
    let manifests = workspace_manifests(root)?;
    let mut violations = check_layers(&manifests);
    let mut notes = Vec::new();
    let mut known_found = Vec::new();
    for manifest in &manifests {
        let src = manifest.path.parent().unwrap_or(Path::new("")).join("src");
        let sources = read_sources(&root.join(&src))?;
        for dependency in unused(manifest, &sources) {
            if KNOWN_UNUSED.contains(&(manifest.package.as_str(), dependency.key.as_str())) {
                known_found.push((manifest.package.clone(), dependency.key.clone()));
                notes.push(format!(
                    "{}:{}: `{}` is unused in {} (allowed by KNOWN_UNUSED until it is removed)",
                    manifest.path.display(),
                    dependency.line,
                    dependency.key,
                    manifest.package
                ));
            } else {
                violations.push(unused_violation(manifest, dependency, &src));
            }
        }
    }
    let this_file = fs::read_to_string(root.join(THIS_FILE)).unwrap_or_default();
    for (package, key) in KNOWN_UNUSED {
        if !known_found.iter().any(|(p, k)| p == package && k == key) {
            violations.push(Violation {
                path: THIS_FILE.into(),
                line: line_of(&this_file, &format!("(\"{package}\", \"{key}\")")),
                message: format!(
                    "KNOWN_UNUSED lists `{key}` of `{package}`, which is no longer an unused dependency; remove the entry"
                ),
            });
        }
    }
    Ok((violations, notes))
}

/// Every workspace member's manifest, from the root's `[workspace] members` (a `dir/*` entry is
/// every subdirectory with a `Cargo.toml`), in member order.
pub(super) fn workspace_manifests(root: &Path) -> std::io::Result<Vec<Manifest>> {
    let root_manifest = fs::read_to_string(root.join("Cargo.toml"))?;
    let renames = workspace_renames(&root_manifest);
    let mut member_dirs = Vec::new();
    for member in workspace_members(&root_manifest) {
        if let Some(parent) = member.strip_suffix("/*") {
            let mut found: Vec<PathBuf> = fs::read_dir(root.join(parent))?
                .filter_map(Result::ok)
                .map(|entry| Path::new(parent).join(entry.file_name()))
                .filter(|dir| root.join(dir).join("Cargo.toml").is_file())
                .collect();
            found.sort();
            member_dirs.extend(found);
        } else {
            member_dirs.push(PathBuf::from(member));
        }
    }
    let mut manifests = Vec::new();
    for dir in member_dirs {
        let path = if dir == Path::new(".") { PathBuf::from("Cargo.toml") } else { dir.join("Cargo.toml") };
        let text = fs::read_to_string(root.join(&path))?;
        let Some((package_line, package)) = super::package_name(&text) else { continue };
        manifests.push(Manifest { path, package, package_line, dependencies: dependencies(&text, &renames) });
    }
    Ok(manifests)
}

/// The quoted strings of `members = [...]` in `[workspace]`, which may span lines.
fn workspace_members(manifest: &str) -> Vec<String> {
    let mut table = "";
    let mut collecting = false;
    let mut members = Vec::new();
    for line in manifest.lines() {
        let trimmed = line.trim();
        if !collecting && trimmed.starts_with('[') {
            table = trimmed;
            continue;
        }
        if table == "[workspace]" && key_of(trimmed).as_deref() == Some("members") {
            collecting = true;
        }
        if collecting {
            members.extend(quoted_strings(trimmed.split_once('#').map_or(trimmed, |(code, _)| code)));
            if trimmed.contains(']') {
                collecting = false;
            }
        }
    }
    members
}

/// `key → package` for `[workspace.dependencies]` entries with `package = ".."`.
fn workspace_renames(manifest: &str) -> HashMap<String, String> {
    let mut table = String::new();
    let mut renames = HashMap::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            table = line.to_string();
            continue;
        }
        if table == "[workspace.dependencies]"
            && let (Some(key), Some(package)) = (key_of(line), inline_string(line, "package"))
        {
            renames.insert(key, package);
        }
    }
    renames
}

/// Which dependency table a `[header]` opens.
enum Table {
    /// `[dependencies]` or `[target.'cfg(..)'.dependencies]`: one entry per line.
    Entries,
    /// `[dependencies.name]`: one entry spread over the table; its attributes follow.
    One,
    Other,
}

fn table_kind(header: &str) -> (Table, Option<String>) {
    let inner = header.trim().trim_start_matches('[').trim_end_matches(']').trim();
    if inner == "dependencies" || (inner.starts_with("target.") && inner.ends_with(".dependencies")) {
        return (Table::Entries, None);
    }
    let one = inner.strip_prefix("dependencies.").map(str::to_string).or_else(|| {
        inner.starts_with("target.").then(|| inner.split_once(".dependencies.").map(|(_, name)| name.to_string()))?
    });
    match one {
        Some(name) => (Table::One, Some(name.trim_matches('"').to_string())),
        None => (Table::Other, None),
    }
}

/// The `[dependencies]` entries of a manifest (also target-specific ones; not dev or build).
pub(super) fn dependencies(manifest: &str, renames: &HashMap<String, String>) -> Vec<Dependency> {
    let mut found: Vec<Dependency> = Vec::new();
    let mut table = Table::Other;
    for (index, line) in manifest.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with('[') {
            let (kind, name) = table_kind(trimmed);
            table = kind;
            if let Some(key) = name {
                let package = renames.get(&key).cloned().unwrap_or_else(|| key.clone());
                found.push(Dependency { key, package, line: index + 1 });
            }
            continue;
        }
        match table {
            Table::Entries => {
                let Some(key) = key_of(trimmed) else { continue };
                let package = inline_string(trimmed, "package")
                    .or_else(|| renames.get(&key).cloned())
                    .unwrap_or_else(|| key.clone());
                found.push(Dependency { key, package, line: index + 1 });
            }
            Table::One => {
                if key_of(trimmed).as_deref() == Some("package")
                    && let (Some(dependency), Some(package)) = (found.last_mut(), inline_string(trimmed, "package"))
                {
                    dependency.package = package;
                }
            }
            Table::Other => {}
        }
    }
    found
}

/// The key of a `key = ..` or `key.attr = ..` line, unquoted.
fn key_of(line: &str) -> Option<String> {
    let (left, _) = line.split_once('=')?;
    let key = left.split('.').next()?.trim().trim_matches('"').trim();
    (!key.is_empty()).then(|| key.to_string())
}

/// The string value of `name = ".."` inside a line (an inline table, or the line itself).
fn inline_string(line: &str, name: &str) -> Option<String> {
    let mut rest = line;
    while let Some(at) = rest.find(name) {
        let before_ok = rest[..at].chars().next_back().is_none_or(|c| c == '{' || c == ',' || c.is_whitespace());
        let after = rest[at + name.len()..].trim_start();
        if before_ok && let Some(value) = after.strip_prefix('=') {
            return quoted_strings(value).into_iter().next();
        }
        rest = &rest[at + name.len()..];
    }
    None
}

/// Every `"..."` in a piece of TOML (no escapes in the strings we read).
fn quoted_strings(text: &str) -> Vec<String> {
    text.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

fn check_layers(manifests: &[Manifest]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for manifest in manifests {
        let Some((_, allowed)) = LAYERS.iter().find(|(package, _)| *package == manifest.package) else {
            violations.push(Violation {
                path: manifest.path.clone(),
                line: manifest.package_line,
                message: format!(
                    "crate `{}` has no row in LAYERS ({THIS_FILE}); add the workspace crates it may depend on",
                    manifest.package
                ),
            });
            continue;
        };
        for dependency in &manifest.dependencies {
            let is_workspace_crate = manifests.iter().any(|m| m.package == dependency.package);
            if is_workspace_crate && !allowed.contains(&dependency.package.as_str()) {
                let allowed = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
                violations.push(Violation {
                    path: manifest.path.clone(),
                    line: dependency.line,
                    message: format!(
                        "`{}` may not depend on `{}`: its allowed workspace dependencies are {{{allowed}}} \
                         (the layering in ARCHITECTURE.md; LAYERS in {THIS_FILE})",
                        manifest.package, dependency.package
                    ),
                });
            }
        }
    }
    for (package, _) in LAYERS {
        if !manifests.iter().any(|m| m.package == *package) {
            violations.push(Violation {
                path: THIS_FILE.into(),
                line: 1,
                message: format!("LAYERS has a row for `{package}`, which is not a workspace crate; remove it"),
            });
        }
    }
    violations
}

/// The dependencies of `manifest` that `sources` (its `src/`, concatenated) never mention.
fn unused<'a>(manifest: &'a Manifest, sources: &str) -> Vec<&'a Dependency> {
    manifest.dependencies.iter().filter(|dependency| !mentions(sources, &dependency.key.replace('-', "_"))).collect()
}

fn unused_violation(manifest: &Manifest, dependency: &Dependency, src: &Path) -> Violation {
    let name = dependency.key.replace('-', "_");
    Violation {
        path: manifest.path.clone(),
        line: dependency.line,
        message: format!(
            "dependency `{}` of `{}` is unused: no `{name}::`, `use {name}` or `extern crate {name}` in {}; \
             remove it, or move it to [dev-dependencies] if only tests need it",
            dependency.key,
            manifest.package,
            src.display()
        ),
    }
}

/// Whether code (not `//` comment lines) says `name::`, `use name` or `extern crate name`.
fn mentions(sources: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    for line in sources.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices(name) {
            let before = &line[..at];
            let after = &line[at + name.len()..];
            if before.chars().next_back().is_some_and(is_ident) || after.chars().next().is_some_and(is_ident) {
                continue;
            }
            if after.starts_with("::") {
                return true;
            }
            let before = before.trim_end();
            let preceded_by = |word: &str| {
                before.strip_suffix(word).is_some_and(|rest| rest.chars().next_back().is_none_or(|c| !is_ident(c)))
            };
            if preceded_by("use")
                || (preceded_by("crate") && before.trim_end_matches("crate").trim_end().ends_with("extern"))
            {
                return true;
            }
        }
    }
    false
}

/// Every `.rs` file below `dir`, concatenated (empty when there is no such directory).
fn read_sources(dir: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    if dir.is_dir() {
        super::collect_rust_files(dir, dir, &mut files)?;
    }
    files.sort();
    let mut text = String::new();
    for file in files {
        text.push_str(&fs::read_to_string(dir.join(file))?);
        text.push('\n');
    }
    Ok(text)
}

/// The 1-based line of the first occurrence of `needle` in `text`, or 1.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.contains(needle)).map_or(1, |index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"[package]
name = "opsrun-report"

[dependencies]
opsrun-event.workspace = true
serde = { workspace = true }
# A comment line.
console = { version = "0.16", default-features = false }
pretty = { package = "pretty-print", version = "1" }
ev = { workspace = true }

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[dependencies.table-form]
version = "1"
package = "real-name"

[dev-dependencies]
tempfile.workspace = true

[build-dependencies]
cc = "1"
"#;

    fn renames() -> HashMap<String, String> {
        HashMap::from([("ev".to_string(), "opsrun-engine".to_string())])
    }

    fn manifest(package: &str, text: &str) -> Manifest {
        let (package_line, _) = crate::tidy::package_name(text).unwrap_or((1, String::new()));
        Manifest {
            path: PathBuf::from(format!("crates/{package}/Cargo.toml")),
            package: package.into(),
            package_line,
            dependencies: dependencies(text, &renames()),
        }
    }

    #[test]
    fn dependencies_are_read_with_their_lines_and_packages() {
        let found: Vec<(String, String, usize)> =
            dependencies(MANIFEST, &renames()).into_iter().map(|d| (d.key, d.package, d.line)).collect();
        let expected = [
            ("opsrun-event", "opsrun-event", 5),
            ("serde", "serde", 6),
            ("console", "console", 8),
            ("pretty", "pretty-print", 9),
            ("ev", "opsrun-engine", 10),
            ("libc", "libc", 13),
            ("table-form", "real-name", 15),
        ];
        let expected: Vec<(String, String, usize)> =
            expected.iter().map(|(k, p, l)| ((*k).to_string(), (*p).to_string(), *l)).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn members_and_workspace_renames_are_read_from_the_root_manifest() {
        let root = "[workspace]\nmembers = [\n  \".\", # the facade\n  \"crates/*\",\n  \"xtask\",\n]\n\n\
                    [workspace.dependencies]\nfoo = { package = \"bar\", version = \"1\" }\nbaz = \"2\"\n";
        assert_eq!(workspace_members(root), [".", "crates/*", "xtask"]);
        assert_eq!(workspace_renames(root), HashMap::from([("foo".to_string(), "bar".to_string())]));
        assert_eq!(workspace_members("[workspace]\nmembers = [\".\", \"crates/*\"]\n"), [".", "crates/*"]);
    }

    #[test]
    fn a_dependency_outside_the_layer_is_named_with_the_allowed_set() {
        let manifests = [
            manifest("opsrun-report", MANIFEST),
            manifest("opsrun-event", "[package]\nname = \"opsrun-event\"\n"),
            manifest("opsrun-engine", "[package]\nname = \"opsrun-engine\"\n"),
            manifest("brand-new", "[package]\nname = \"brand-new\"\n"),
        ];
        let violations = check_layers(&manifests);
        let messages: Vec<String> = violations.iter().map(ToString::to_string).collect();
        assert!(
            messages.contains(
                &"crates/opsrun-report/Cargo.toml:10: `opsrun-report` may not depend on `opsrun-engine`: its allowed \
                  workspace dependencies are {opsrun-event} (the layering in ARCHITECTURE.md; LAYERS in \
                  xtask/src/tidy/deps.rs)"
                    .to_string()
            ),
            "{messages:#?}"
        );
        assert!(messages.iter().any(|m| m.starts_with("crates/brand-new/Cargo.toml:2: crate `brand-new` has no row")));
        // The fake workspace lacks the other crates of LAYERS.
        assert!(messages.iter().any(|m| m.contains("LAYERS has a row for `opsrun-cli`")));
    }

    #[test]
    fn mentions_need_a_path_a_use_or_an_extern_crate() {
        assert!(mentions("let x = serde_json::to_string(&y);", "serde_json"));
        assert!(mentions("use serde;", "serde"));
        assert!(mentions("    pub use nix as sys;", "nix"));
        assert!(mentions("use ::tokio::sync;", "tokio"));
        assert!(mentions("extern crate   libc;", "libc"));
        assert!(!mentions("use serde_json::Value;", "serde"));
        assert!(!mentions("let my_serde::x = 1;", "serde"));
        assert!(!mentions("// serde::Serialize is only mentioned", "serde"));
        assert!(!mentions("/// see `nix::unistd`", "nix"));
        assert!(!mentions("#[serde(rename_all = \"snake_case\")]", "serde"));
        assert!(!mentions("fn reuse(serde: u8) {}", "serde"));
        assert!(!mentions("let indexmap = 1;", "indexmap"));
    }

    #[test]
    fn unused_dependencies_are_found_by_their_code_name() {
        let manifest = manifest("opsrun-report", MANIFEST);
        let sources = "use opsrun_event::Event;\nfn f() { console::strip(); pretty::print(); ev::run(); }\n\
                       // serde::Serialize in a comment does not count\nuse libc;\n";
        let unused: Vec<&str> = unused(&manifest, sources).iter().map(|d| d.key.as_str()).collect();
        assert_eq!(unused, ["serde", "table-form"]);
        let violation =
            unused_violation(&manifest, manifest.dependencies.get(1).expect("serde"), Path::new("crates/x/src"));
        assert_eq!(
            violation.to_string(),
            "crates/opsrun-report/Cargo.toml:6: dependency `serde` of `opsrun-report` is unused: no `serde::`, \
             `use serde` or `extern crate serde` in crates/x/src; remove it, or move it to [dev-dependencies] if only \
             tests need it"
        );
    }
}
