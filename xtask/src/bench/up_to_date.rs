//! The up-to-date check: one task whose sources are 10,000 files in 100 directories, against
//! go-task's default checksum method on the same glob. After a first run that records the
//! sources, opsrun and go-task are timed (a) with nothing changed and (b) with one file rewritten
//! with new content before each run (outside the timed interval). Every timed run is checked: the
//! task's command leaves a marker file, which must be absent after (a) and present after (b), and
//! opsrun's summary must say `up to date` or `ok` accordingly.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::pairs::Side;
use super::process::Finished;
use super::suite::{Bench, Target, stderr_has};
use super::table::{Row, grouped};
use super::workload::{self, RAN_MARKER};

const DIRS: usize = 100;
const FILES_PER_DIR: usize = 100;
/// opsrun's time over go-task's, nothing changed.
const UNCHANGED_TARGET: Target = Target::AtMost(0.2);

/// Whether the timed runs should find the task up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Unchanged,
    OneChanged,
}

/// How long after the tree is written the first run waits: longer than the 2 s for which
/// opsrun's source cache reads a new file again instead of trusting its metadata.
const RACY_WINDOW: std::time::Duration = std::time::Duration::from_millis(2500);

impl Bench<'_> {
    pub(super) fn up_to_date(&mut self) -> Result<Vec<Row>, String> {
        let workload = workload::up_to_date();
        let dir = self
            .workdir("up-to-date", &[("tasks.toml", &workload.tasks_toml), ("Taskfile.yml", &workload.taskfile_yml)])?;
        write_tree(&dir.join("src"))?;
        // A file changed in the last moments cannot be trusted by a cache of file metadata (a
        // change within the clock's resolution would go unseen: git's "racily clean" entries),
        // so opsrun reads such files every time; a repository's sources are older than that.
        std::thread::sleep(RACY_WINDOW);
        let files = DIRS * FILES_PER_DIR;
        let sources = format!("{} sources (`{}`)", grouped(files), workload::SOURCES_GLOB);
        let cases = [
            (Case::Unchanged, format!("up to date, {sources}, none changed: `opsrun run build`"), UNCHANGED_TARGET),
            (Case::OneChanged, format!("up to date, {sources}, one changed before each run"), Target::None),
        ];
        let Some(go_task) = self.go_task else {
            let missing = |(_, title, target): &(Case, String, Target)| Row {
                other: "go-task: not installed".into(),
                target: target.text(),
                ..Row::new(title.clone())
            };
            return Ok(cases.iter().map(missing).collect());
        };

        eprintln!("  up to date: first runs, recording {files} sources");
        let marker = dir.join(RAN_MARKER);
        let first = |command: &mut Command| {
            remove(&marker)?;
            super::process::run(command)?;
            if marker.exists() { Ok(()) } else { Err(format!("the first run did not run `touch {RAN_MARKER}`")) }
        };
        first(&mut self.opsrun(&dir, &["run", "build"])).map_err(|e| format!("opsrun run build: {e}"))?;
        first(&mut Self::tool(go_task, &dir, &["build"])).map_err(|e| format!("task build: {e}"))?;

        let mut rows = Vec::new();
        let edits = Cell::new(0_usize);
        for (case, title, target) in cases {
            let prepare = || -> Result<(), String> {
                remove(&marker)?;
                if case == Case::OneChanged {
                    let edit = edits.get();
                    edits.set(edit + 1);
                    rewrite(&dir.join("src"), edit)?;
                }
                Ok(())
            };
            let result = {
                let mut opsrun = prepared_side(
                    "opsrun",
                    &prepare,
                    || self.opsrun(&dir, &["run", "build"]),
                    |finished| {
                        check_marker(&marker, case)?;
                        stderr_has(
                            finished,
                            if case == Case::Unchanged { "1 task: 1 up to date" } else { "1 task: 1 ok" },
                        )
                    },
                );
                let mut task = prepared_side(
                    "go-task",
                    &prepare,
                    || Self::tool(go_task, &dir, &["build"]),
                    |finished| {
                        check_marker(&marker, case)?;
                        if case == Case::Unchanged { stderr_has(finished, "is up to date") } else { Ok(()) }
                    },
                );
                self.compare(&format!("up to date, {case:?}"), &mut opsrun, &mut task)
            };
            rows.push(self.pair_row(title, "go-task `task build` (checksum)", result, target));
        }
        Ok(rows)
    }
}

/// A side that calls `prepare` and builds its command before the timed interval, and checks the
/// finished run after it.
fn prepared_side<'c>(
    label: &str,
    prepare: &'c dyn Fn() -> Result<(), String>,
    build: impl Fn() -> Command + 'c,
    check: impl Fn(&Finished) -> Result<(), String> + 'c,
) -> Side<'c> {
    Side::new(label, move || {
        prepare()?;
        let finished = super::process::run(&mut build())?;
        check(&finished)?;
        Ok(finished.usage)
    })
}

fn check_marker(marker: &Path, case: Case) -> Result<(), String> {
    match (case, marker.exists()) {
        (Case::Unchanged, true) => Err(format!("the task ran (`{RAN_MARKER}` was created) although nothing changed")),
        (Case::OneChanged, false) => Err(format!("the task did not run (no `{RAN_MARKER}`) although a source changed")),
        _ => Ok(()),
    }
}

fn remove(path: &Path) -> Result<(), String> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("failed to remove {}: {error}", path.display()))
        }
        _ => Ok(()),
    }
}

/// `src/dNN/fNN.txt`, [`DIRS`] × [`FILES_PER_DIR`] small files.
fn write_tree(src: &Path) -> Result<(), String> {
    for d in 0..DIRS {
        let subdir = src.join(format!("d{d:02}"));
        fs::create_dir_all(&subdir).map_err(|e| format!("failed to create {}: {e}", subdir.display()))?;
        for f in 0..FILES_PER_DIR {
            let path = subdir.join(format!("f{f:02}.txt"));
            fs::write(&path, format!("source file {d}/{f}\n"))
                .map_err(|e| format!("failed to write {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Rewrites one file (a different one for each `edit`, in a different directory each time) with
/// content no earlier edit wrote.
fn rewrite(src: &Path, edit: usize) -> Result<(), String> {
    let path = edited_file(src, edit);
    fs::write(&path, format!("edit {edit}\n")).map_err(|e| format!("failed to write {}: {e}", path.display()))
}

fn edited_file(src: &Path, edit: usize) -> PathBuf {
    // A stride of one directory and one file (d00/f00, d01/f01, …), coprime with the number of
    // files: every file once in 10,000 edits.
    let index = edit * (FILES_PER_DIR + 1) % (DIRS * FILES_PER_DIR);
    src.join(format!("d{:02}", index / FILES_PER_DIR)).join(format!("f{:02}.txt", index % FILES_PER_DIR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_tells_a_run_from_a_skip() {
        let dir = std::env::temp_dir().join(format!("opsrun-bench-marker-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let marker = dir.join(RAN_MARKER);
        assert!(check_marker(&marker, Case::Unchanged).is_ok());
        assert!(check_marker(&marker, Case::OneChanged).is_err());
        fs::write(&marker, "").expect("marker");
        assert!(check_marker(&marker, Case::Unchanged).is_err());
        assert!(check_marker(&marker, Case::OneChanged).is_ok());
        assert!(remove(&marker).is_ok() && !marker.exists());
        assert!(remove(&marker).is_ok(), "removing a missing marker is fine");
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn edits_walk_through_the_tree() {
        let src = Path::new("src");
        assert_eq!(edited_file(src, 0), Path::new("src/d00/f00.txt"));
        assert_eq!(edited_file(src, 1), Path::new("src/d01/f01.txt"));
        assert_eq!(edited_file(src, 19), Path::new("src/d19/f19.txt"));
        assert_eq!(edited_file(src, 100), Path::new("src/d01/f00.txt"));
        assert_eq!(edited_file(src, 10_000), Path::new("src/d00/f00.txt"));
    }
}
