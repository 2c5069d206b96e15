//! The spawn floor: `floor.c`, a C program that runs `/bin/sh -c true` COUNT times, at most JOBS
//! at once, with `posix_spawn` and nothing else. It is compiled at bench time with `cc -O2` into
//! the scratch directory and timed as a whole process, with the same pipes as opsrun, so that the
//! floor pays what opsrun pays to be started and to start its children, and no more.

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

    /// What the table says the floor ran.
    pub(crate) fn label(count: usize, jobs: usize) -> String {
        format!("`floor {count} {jobs}`")
    }
}
