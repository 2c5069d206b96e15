//! Signals: what the operator's Ctrl-C (or a supervisor's SIGTERM) means for a run.
//!
//! First SIGINT/SIGTERM/SIGHUP: schedule nothing new and forward that signal once to every
//! running command's process group; after the grace period, SIGKILL. A second signal kills at
//! once. The policy is the caller's choice ([`SignalPolicy`]); embedders and tests stop runs with a
//! [`crate::CancelToken`].

use tokio::signal::unix::{SignalKind, signal};

pub(crate) use opsrun_process::Shutdown;
pub use opsrun_process::StopSignal;

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
