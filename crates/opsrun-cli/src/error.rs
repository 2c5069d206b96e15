//! CLI errors and their exit codes.

use opsrun_engine::EngineError;
use opsrun_plan::PlanError;
use opsrun_spec::SpecError;

use crate::exit;

/// Anything that ends a command early.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The tasks file is invalid.
    #[error("{0}")]
    Spec(#[from] SpecError),
    /// The plan could not be built.
    #[error("{0}")]
    Plan(#[from] PlanError),
    /// The engine could not start or record.
    #[error("{0}")]
    Engine(#[from] EngineError),
    /// Bad usage.
    #[error("{0}")]
    Usage(String),
    /// A confirmation was needed and not given.
    #[error("{0}")]
    NotConfirmed(String),
    /// Something else, with its exit code.
    #[error("{message}")]
    Other {
        /// Exit code.
        code: u8,
        /// Message.
        message: String,
    },
}

impl CliError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            // Every plan error is about what was asked for.
            CliError::Spec(_)
            | CliError::Usage(_)
            | CliError::Plan(_)
            | CliError::Engine(EngineError::State { .. } | EngineError::UnknownProbe { .. }) => exit::USAGE,
            CliError::Engine(EngineError::Locked { .. }) => exit::LOCKED,
            // Io, and whatever a newer engine adds.
            CliError::Engine(_) => exit::INTERNAL,
            CliError::NotConfirmed(_) => exit::NOT_CONFIRMED,
            CliError::Other { code, .. } => *code,
        }
    }

    /// The message to print (spec errors rendered with snippets).
    pub fn render(&self, color: bool) -> String {
        match self {
            CliError::Spec(e) | CliError::Plan(PlanError::Spec(e)) => e.render(color),
            other => format!("error: {other}"),
        }
    }
}

/// Shorthand.
pub type Result<T, E = CliError> = std::result::Result<T, E>;
