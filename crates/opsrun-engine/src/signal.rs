//! Signals: what the operator's Ctrl-C (or a supervisor's SIGTERM) means for a run.
//!
//! First SIGINT/SIGTERM/SIGHUP: schedule nothing new and forward that signal once to every
//! running command's process group; after the grace period, SIGKILL. A second signal kills at
//! once. The handler kind is chosen by the caller: [`SignalHandlerKind::Noop`] keeps tests and
//! embedders deterministic (they stop runs through [`crate::RunControl`] instead).

use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};

/// What running commands are asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Carry on.
    Running,
    /// Forward this signal to your process group once, then wait.
    Graceful(Signal),
    /// SIGKILL your process group now.
    Kill,
}

/// Which signal handlers a run installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignalHandlerKind {
    /// SIGINT, SIGTERM and SIGHUP stop the run (the `opsrun` binary).
    #[default]
    Standard,
    /// No handlers: the process's signal disposition is untouched.
    Noop,
}

/// A source of operator signals.
pub(crate) struct Signals {
    streams: Option<[(Signal, tokio::signal::unix::Signal); 3]>,
}

impl Signals {
    pub(crate) fn new(kind: SignalHandlerKind) -> std::io::Result<Self> {
        let streams = match kind {
            SignalHandlerKind::Noop => None,
            SignalHandlerKind::Standard => Some([
                (Signal::SIGINT, signal(SignalKind::interrupt())?),
                (Signal::SIGTERM, signal(SignalKind::terminate())?),
                (Signal::SIGHUP, signal(SignalKind::hangup())?),
            ]),
        };
        Ok(Self { streams })
    }

    /// Waits for the next signal; never returns with the no-op kind.
    pub(crate) async fn recv(&mut self) -> Signal {
        let Some([(s1, a), (s2, b), (s3, c)]) = &mut self.streams else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = a.recv() => *s1,
            _ = b.recv() => *s2,
            _ = c.recv() => *s3,
        }
    }
}

/// The conventional exit code for a run ended by `sig`: 128 + its number.
pub fn exit_code_for(sig: Signal) -> i32 {
    128 + sig as i32
}
