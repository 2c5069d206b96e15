//! Engine errors: problems that stop a run from starting or recording, as opposed to task
//! failures, which are outcomes reported through events.

use std::path::PathBuf;

use crate::lock::LockInfo;

/// Why the engine could not do its job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Another run holds the state directory.
    #[error("another opsrun run holds `{}`{}", dir.display(), holder.as_ref().map(|h| format!(": {h}")).unwrap_or_default())]
    Locked {
        /// The state directory.
        dir: PathBuf,
        /// Who holds it, when known.
        holder: Option<Box<LockInfo>>,
    },
    /// The state file is unusable.
    #[error("state file `{}`: {message}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An I/O failure outside any task.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A gate names a custom probe that was not registered with the runner.
    #[error(
        "task `{task}`: its gate calls the probe `{probe}`, which is not registered ({}); nothing was run",
        if registered.is_empty() { "none is: the `opsrun` binary registers no probes; a `probe` gate is for a program that embeds opsrun and registers it with `Runner::probe`; on the command line use `cmd`, `http` or `tcp`".to_string() } else { format!("registered: {}", registered.join(", ")) }
    )]
    UnknownProbe {
        /// The task whose gate it is.
        task: String,
        /// The probe's name.
        probe: String,
        /// The names that are registered.
        registered: Vec<String>,
    },
}
