//! `opsrun-process`: the one way opsrun runs a program.
//!
//! Task commands, gate probes, status checks, preconditions, dynamic variables (`{ sh = ... }`)
//! and GitOps override commands all go through [`run_shell`]: `sh -c SCRIPT` (or the task's
//! shell) in a new process group, so a timeout, a cancel or an interrupt ends the whole tree
//! (`sleep 100 & wait` included); stragglers left in the group when the shell exits are killed;
//! dropping the future kills the group. [`capture`] is the blocking form for callers outside
//! an async context (the resolver's dynamic variables): the same runner on a thread of its own,
//! so it works whether or not the caller is itself inside a tokio runtime.
//!
//! A command's environment is opsrun's own, as it was when the first command started, with
//! [`ShellCommand::env`] added: a program embedding opsrun passes its commands' variables
//! there, not through `std::env::set_var` once commands have run (on Linux the environment
//! array is built once per set of added variables rather than copied for every command).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use opsrun_process::{Exit, ShellCommand, capture};
//!
//! let mut cmd = ShellCommand::new("echo hello; echo oops >&2; exit 3", std::env::temp_dir());
//! cmd.deadline = Some(Instant::now() + Duration::from_secs(10));
//! let out = capture(&cmd);
//! assert_eq!(out.exit, Exit::Code(3));
//! assert_eq!(out.stdout, "hello\n");
//! assert_eq!(out.stderr, "oops\n");
//! ```

#![warn(missing_docs)]

mod shell;
mod spawn;

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;

pub use shell::{
    Exit, Finished, MAX_LINE, ShellCommand, run_shell, run_shell_batched, run_shell_reporting, sleep_until_opt,
};

/// What running commands are asked to do (a `tokio::sync::watch` channel of these reaches
/// every running command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Carry on.
    Running,
    /// Forward this signal to your process group once, then wait.
    Graceful(StopSignal),
    /// SIGKILL your process group now.
    Kill,
}

/// A request to stop, named after the signal an operator would send.
///
/// The first request stops scheduling and forwards the signal to every running command's
/// process group, escalating to SIGKILL after the run's grace period; a second request (or
/// [`StopSignal::Kill`]) kills at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (a supervisor, or a cancelled run).
    Terminate,
    /// SIGHUP (the terminal went away).
    Hangup,
    /// SIGKILL: no grace period.
    Kill,
}

impl StopSignal {
    /// The signal's conventional name, e.g. `SIGINT`.
    pub fn name(self) -> &'static str {
        self.to_nix().as_str()
    }

    /// The exit code a shell reports for a process ended by this signal: 128 + its number.
    pub fn exit_code(self) -> i32 {
        128 + self.to_nix() as i32
    }

    pub(crate) fn to_nix(self) -> Signal {
        match self {
            StopSignal::Interrupt => Signal::SIGINT,
            StopSignal::Terminate => Signal::SIGTERM,
            StopSignal::Hangup => Signal::SIGHUP,
            StopSignal::Kill => Signal::SIGKILL,
        }
    }
}

impl std::fmt::Display for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ShellCommand {
    /// `sh -e -c script` in `dir`, with opsrun's environment, no deadline, a 10 s grace period
    /// between SIGTERM and SIGKILL, and its output captured.
    pub fn new(script: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        Self {
            script: script.into(),
            dir: dir.into(),
            env: Vec::new(),
            deadline: None,
            grace: Duration::from_secs(10),
            shell: None,
            interactive: false,
            errexit: true,
            keep_background: false,
        }
    }
}

/// What [`capture`] collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// How the command ended.
    pub exit: Exit,
    /// Its standard output, one `\n` after each line.
    pub stdout: String,
    /// Its standard error, one `\n` after each line.
    pub stderr: String,
}

/// Runs `cmd` to the end with [`run_shell`] and returns its output. Blocks the calling thread;
/// safe to call from inside an async runtime (the command runs on a thread of its own).
pub fn capture(cmd: &ShellCommand) -> Captured {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        return Captured {
                            exit: Exit::SpawnFailed(format!("cannot start a runtime: {e}")),
                            stdout: String::new(),
                            stderr: String::new(),
                        };
                    }
                };
                let (_keep, shutdown) = tokio::sync::watch::channel(Shutdown::Running);
                let (mut stdout, mut stderr) = (String::new(), String::new());
                let finished = runtime.block_on(run_shell(cmd, shutdown, |stream, line| {
                    let out = if stream == opsrun_event::Stream::Stdout { &mut stdout } else { &mut stderr };
                    out.push_str(&line);
                    out.push('\n');
                }));
                Captured { exit: finished.exit, stdout, stderr }
            })
            .join()
            .unwrap_or_else(|_| Captured {
                exit: Exit::SpawnFailed("the command's thread panicked".into()),
                stdout: String::new(),
                stderr: String::new(),
            })
    })
}
