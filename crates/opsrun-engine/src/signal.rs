//! Signals: what the operator's Ctrl-C (or a supervisor's SIGTERM) means for a run.
//!
//! First SIGINT/SIGTERM/SIGHUP: schedule nothing new and forward that signal once to every
//! running command's process group; after the grace period, SIGKILL. A second signal kills at
//! once. The policy is the caller's choice ([`SignalPolicy`]); embedders and tests stop runs with a
//! [`crate::CancelToken`].

use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};

/// What running commands are asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shutdown {
    /// Carry on.
    Running,
    /// Forward this signal to your process group once, then wait.
    Graceful(Signal),
    /// SIGKILL your process group now.
    Kill,
}

/// A request to stop a run, named after the signal an operator would send.
///
/// The first request stops scheduling and forwards the signal to every running command's
/// process group, escalating to SIGKILL after the run's grace period; a second request (or
/// [`StopSignal::Kill`]) kills at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (a supervisor, or [`CancelToken::cancel`](crate::CancelToken::cancel)).
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

/// What a run does about the process's signals. There is no default: an embedding program
/// decides whether opsrun may take SIGINT away from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignalPolicy {
    /// No handlers: the process's signal disposition is untouched and only a
    /// [`CancelToken`](crate::CancelToken) stops the run. An embedder that handles signals
    /// itself forwards them with [`CancelToken::stop`](crate::CancelToken::stop).
    None,
    /// While the run lasts, SIGINT, SIGTERM and SIGHUP stop it (what the `opsrun` binary does).
    /// Note that tokio keeps its handler installed after the run, so Ctrl-C no longer ends
    /// the process by default afterwards.
    Standard,
}

/// A source of operator signals.
pub(crate) struct Signals {
    streams: Option<[(StopSignal, tokio::signal::unix::Signal); 3]>,
}

impl Signals {
    pub(crate) fn new(policy: SignalPolicy) -> std::io::Result<Self> {
        let streams = match policy {
            SignalPolicy::None => None,
            SignalPolicy::Standard => Some([
                (StopSignal::Interrupt, signal(SignalKind::interrupt())?),
                (StopSignal::Terminate, signal(SignalKind::terminate())?),
                (StopSignal::Hangup, signal(SignalKind::hangup())?),
            ]),
        };
        Ok(Self { streams })
    }

    /// Waits for the next signal; never returns with [`SignalPolicy::None`].
    pub(crate) async fn recv(&mut self) -> StopSignal {
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
