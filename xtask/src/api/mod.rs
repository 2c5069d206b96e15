//! `cargo xtask api [--check]`: the checked-in public-API snapshots `api/<crate>.txt`.
//!
//! Every library crate of the workspace (from `cargo metadata`) except those in [`EXCLUDED`] is
//! documented as rustdoc JSON, which is unstable: `RUSTC_BOOTSTRAP=1` lets the stable toolchain
//! produce it, in a target directory of its own (`<target>/api`) so that the normal build's
//! cache is left alone. [`render`] turns the JSON into one sorted line per public item; `api`
//! writes the files, `api --check` compares and prints a diff of what was added and removed.
//! The pieces: [`types`] (types and signatures), [`render`] (items), [`diff`] (the report).

mod diff;
mod render;
mod types;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde_json::Value;

/// Where the snapshots live, relative to the workspace root.
const API_DIR: &str = "api";

/// Library crates of the workspace without a snapshot, and why.
const EXCLUDED: &[(&str, &str)] = &[(
    "opsrun-cli",
    "glue behind the `opsrun` binary: its `pub` items serve src/main.rs and the integration tests, \
     not embedders, and change with every CLI change",
)];

const HINT: &str = "run `cargo xtask api` and commit api/ if the change is deliberate";

/// Write the snapshots, or compare them with what is checked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Write,
    Check,
}

pub(crate) fn run(root: &Path, mode: Mode) -> ExitCode {
    let started = Instant::now();
    let snapshots = match generate(root) {
        Ok(snapshots) => snapshots,
        Err(error) => {
            eprintln!("api: {error}");
            return ExitCode::from(1);
        }
    };
    let result = match mode {
        Mode::Write => write(root, &snapshots),
        Mode::Check => check(root, &snapshots),
    };
    let elapsed = started.elapsed().as_secs_f64();
    match result {
        Ok(summary) => {
            eprintln!("api: {summary} ({elapsed:.1} s)");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(1)
        }
    }
}

/// One crate's snapshot.
struct Snapshot {
    package: String,
    text: String,
}

impl Snapshot {
    fn file(&self) -> String {
        format!("{API_DIR}/{}.txt", self.package)
    }
}

/// A library crate of the workspace: its package name and its lib target's name.
struct Library {
    package: String,
    lib: String,
}

/// Documents every library crate and renders the snapshots, in package-name order.
fn generate(root: &Path) -> Result<Vec<Snapshot>, String> {
    let metadata = cargo_metadata(root)?;
    let libraries = libraries(&metadata)?;
    let target_dir = metadata
        .get("target_directory")
        .and_then(Value::as_str)
        .map(|dir| Path::new(dir).join("api"))
        .ok_or("`cargo metadata` did not say where the target directory is")?;
    eprintln!(
        "api: rustdoc JSON for {} crate(s) in {} ({})",
        libraries.len(),
        target_dir.display(),
        libraries.iter().map(|l| l.package.as_str()).collect::<Vec<_>>().join(", ")
    );
    let jsons =
        libraries.iter().map(|library| rustdoc_json(root, &target_dir, library)).collect::<Result<Vec<_>, _>>()?;
    let crates = libraries
        .iter()
        .zip(&jsons)
        .map(|(library, json)| {
            render::Crate::open(json)
                .map_err(|error| format!("unexpected rustdoc JSON for {}: {error}", library.package))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let texts = render::render(&crates);
    Ok(libraries.into_iter().zip(texts).map(|(library, text)| Snapshot { package: library.package, text }).collect())
}

fn cargo_metadata(root: &Path) -> Result<Value, String> {
    let output = crate::cargo_command()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()
        .map_err(|error| format!("cannot run `cargo metadata`: {error}"))?;
    if !output.status.success() {
        return Err(format!("`cargo metadata` failed:\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    serde_json::from_slice(&output.stdout).map_err(|error| format!("`cargo metadata` printed invalid JSON: {error}"))
}

/// The workspace's library crates minus [`EXCLUDED`]; an exclusion naming no library crate
/// is an error, so the list cannot go stale.
fn libraries(metadata: &Value) -> Result<Vec<Library>, String> {
    let packages = metadata.get("packages").and_then(Value::as_array).ok_or("`cargo metadata` has no `packages`")?;
    let mut found = Vec::new();
    for package in packages {
        let name = package.get("name").and_then(Value::as_str).unwrap_or_default();
        let targets = package.get("targets").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let lib = targets.iter().find(|target| {
            let kinds = target.get("kind").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
            kinds.iter().any(|kind| matches!(kind.as_str(), Some("lib" | "rlib" | "dylib" | "proc-macro")))
        });
        if let Some(lib) = lib.and_then(|target| target.get("name")).and_then(Value::as_str) {
            found.push(Library { package: name.to_string(), lib: lib.replace('-', "_") });
        }
    }
    for (excluded, _) in EXCLUDED {
        if !found.iter().any(|library| library.package == *excluded) {
            return Err(format!(
                "EXCLUDED (xtask/src/api/mod.rs) names `{excluded}`, which is not a library crate of the workspace"
            ));
        }
    }
    found.retain(|library| !EXCLUDED.iter().any(|(excluded, _)| library.package == *excluded));
    found.sort_by(|a, b| a.package.cmp(&b.package));
    Ok(found)
}

/// `RUSTC_BOOTSTRAP=1 cargo rustdoc -p <crate> --lib -- -Z unstable-options --output-format json`,
/// parsed. Its output is shown only when it fails.
fn rustdoc_json(root: &Path, target_dir: &Path, library: &Library) -> Result<Value, String> {
    let output = crate::cargo_command()
        .args(["rustdoc", "--quiet", "--package", &library.package, "--lib", "--target-dir"])
        .arg(target_dir)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .env("RUSTC_BOOTSTRAP", "1")
        .current_dir(root)
        .output()
        .map_err(|error| format!("cannot run `cargo rustdoc`: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo rustdoc -p {} --lib` (JSON output) failed:\n{}",
            library.package,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let path: PathBuf = target_dir.join("doc").join(format!("{}.json", library.lib));
    let bytes = fs::read(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|error| format!("{} is not JSON: {error}", path.display()))
}

fn write(root: &Path, snapshots: &[Snapshot]) -> Result<String, String> {
    let dir = root.join(API_DIR);
    fs::create_dir_all(&dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    let mut changed = Vec::new();
    for snapshot in snapshots {
        let path = root.join(snapshot.file());
        if fs::read_to_string(&path).ok().as_deref() != Some(snapshot.text.as_str()) {
            fs::write(&path, &snapshot.text).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
            changed.push(snapshot.file());
        }
    }
    for stale in stale_files(root, snapshots)? {
        fs::remove_file(root.join(&stale)).map_err(|error| format!("cannot remove {stale}: {error}"))?;
        changed.push(format!("{stale} (removed)"));
    }
    Ok(if changed.is_empty() {
        format!("{} snapshot(s) already up to date", snapshots.len())
    } else {
        format!("updated {}", changed.join(", "))
    })
}

fn check(root: &Path, snapshots: &[Snapshot]) -> Result<String, String> {
    let mut report = String::new();
    for snapshot in snapshots {
        let file = snapshot.file();
        let committed = match fs::read_to_string(root.join(&file)) {
            Ok(text) => Some(text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(format!("api: cannot read {file}: {error}")),
        };
        let found = diff::diff(committed.as_deref().unwrap_or(""), &snapshot.text);
        match (&committed, found) {
            (Some(_), None) => {}
            (None, None) => {
                report.push_str(&format!("api: {file} does not exist (the API of {} is empty)\n", snapshot.package));
            }
            (_, Some(found)) => {
                let what =
                    if committed.is_none() { format!("is new: {file} does not exist") } else { "changed".into() };
                report.push_str(&format!(
                    "api: the public API of {} {what} ({} added, {} removed):\n--- {file} (committed)\n+++ {file} (generated)\n{}",
                    snapshot.package, found.added, found.removed, found.hunks
                ));
            }
        }
    }
    for stale in stale_files(root, snapshots)? {
        report.push_str(&format!("api: {stale} is not the snapshot of any library crate\n"));
    }
    if report.is_empty() {
        Ok(format!("{} snapshot(s) match", snapshots.len()))
    } else {
        Err(format!("{report}api: {HINT}"))
    }
}

/// `api/*.txt` files that no crate produced (a crate renamed, removed or excluded).
fn stale_files(root: &Path, snapshots: &[Snapshot]) -> Result<Vec<String>, String> {
    let dir = root.join(API_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("cannot list {}: {error}", dir.display())),
    };
    let mut stale = Vec::new();
    for entry in entries {
        let name = entry.map_err(|error| error.to_string())?.file_name().to_string_lossy().into_owned();
        let file = format!("{API_DIR}/{name}");
        let is_txt = Path::new(&name).extension().is_some_and(|extension| extension == "txt");
        if is_txt && !snapshots.iter().any(|snapshot| snapshot.file() == file) {
            stale.push(file);
        }
    }
    stale.sort();
    Ok(stale)
}
