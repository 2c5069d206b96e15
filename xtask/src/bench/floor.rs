//! The spawn floor: `floor.c`, a C program that runs `/bin/sh -c true` COUNT times, at most JOBS
//! at once, with `posix_spawn` and nothing else. It is compiled at bench time with `cc -O2` into
//! the scratch directory and timed as a whole process, with the same pipes as opsrun, so that the
//! floor pays what opsrun pays to be started and to start its children, and no more. Its `capture`
//! mode also reads each child's stdout and stderr through pipes, as opsrun does.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::{env, fs};

const SOURCE: &str = include_str!("floor.c");

/// The compiled floor program.
pub(crate) struct Floor {
    path: PathBuf,
}

impl Floor {
    /// Compiles `floor.c` into `dir` with `$CC` (default `cc`) and `-O2`.
    pub(crate) fn compile(dir: &Path) -> Result<Self, String> {
        let source = dir.join("floor.c");
        let path = dir.join("floor");
        fs::write(&source, SOURCE).map_err(|e| format!("failed to write {}: {e}", source.display()))?;
        let cc = env::var_os("CC").unwrap_or_else(|| "cc".into());
        let output =
            Command::new(&cc).arg("-O2").arg("-o").arg(&path).arg(&source).stdin(Stdio::null()).output().map_err(
                |e| {
                    format!(
                        "the spawn floor is a C program compiled at bench time, but `{}` could not be started ({e}): \
                     install a C compiler (gcc or clang) or point CC at one",
                        cc.to_string_lossy()
                    )
                },
            )?;
        if !output.status.success() {
            return Err(format!(
                "`{} -O2` failed on the spawn floor ({}):\n{}",
                cc.to_string_lossy(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim_end()
            ));
        }
        Ok(Self { path })
    }

    /// `floor COUNT JOBS`: `count` runs of `/bin/sh -c true`, `jobs` at a time.
    pub(crate) fn command(&self, count: usize, jobs: usize) -> Command {
        let mut command = Command::new(&self.path);
        command.arg(count.to_string()).arg(jobs.to_string());
        command
    }

    /// `floor COUNT JOBS capture`: the same, each child's stdout and stderr read through pipes.
    pub(crate) fn capturing(&self, count: usize, jobs: usize) -> Command {
        let mut command = self.command(count, jobs);
        command.arg("capture");
        command
    }

    /// What the table says the floor ran.
    pub(crate) fn label(count: usize, jobs: usize) -> String {
        format!("`floor {count} {jobs}`")
    }

    /// What the table says the capturing floor ran.
    pub(crate) fn capture_label(count: usize, jobs: usize) -> String {
        format!("`floor {count} {jobs} capture`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The floor as the harness runs it: both modes run every child and exit 0; bad arguments
    /// exit 2 with the usage.
    #[test]
    fn both_modes_run_every_child_and_bad_arguments_are_refused() {
        let dir = env::temp_dir().join(format!("opsrun-floor-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let floor = Floor::compile(&dir).unwrap();
        for mut command in [floor.command(5, 1), floor.command(7, 3), floor.capturing(5, 1), floor.capturing(7, 3)] {
            let output = command.output().unwrap();
            assert_eq!(output.status.code(), Some(0), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
            assert_eq!((output.stdout.as_slice(), output.stderr.as_slice()), (&b""[..], &b""[..]), "{command:?}");
        }
        for args in [&["0", "1"][..], &["2", "1", "pipes"], &["x", "1"], &["2"]] {
            let output = Command::new(&floor.path).args(args).output().unwrap();
            assert_eq!(output.status.code(), Some(2), "floor {args:?}");
            assert!(!output.stderr.is_empty(), "floor {args:?} says why");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
