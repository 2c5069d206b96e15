//! Choosing a renderer: the requested [`OutputMode`] plus what the CLI found out about the terminal.

use std::fmt;
use std::str::FromStr;

/// What the user asked for with `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OutputMode {
    /// Progress bars on an interactive terminal, plain lines elsewhere.
    #[default]
    Auto,
    /// Plain lines, for pipes and CI logs.
    Plain,
    /// One JSON object per event on stdout.
    Json,
}

impl OutputMode {
    /// `auto`, `plain` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputMode::Auto => "auto",
            OutputMode::Plain => "plain",
            OutputMode::Json => "json",
        }
    }
}

impl fmt::Display for OutputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `--output` value that is not `auto`, `plain` or `json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOutputModeError {
    value: String,
}

impl fmt::Display for ParseOutputModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown output mode `{}` (expected auto, plain or json)", self.value)
    }
}

impl std::error::Error for ParseOutputModeError {}

impl FromStr for OutputMode {
    type Err = ParseOutputModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(OutputMode::Auto),
            "plain" => Ok(OutputMode::Plain),
            "json" => Ok(OutputMode::Json),
            other => Err(ParseOutputModeError { value: other.to_owned() }),
        }
    }
}

/// What the CLI detected about the terminal. The report crate never inspects the terminal itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TerminalInfo {
    /// Standard error is an interactive terminal.
    pub stderr_is_tty: bool,
    /// The `CI` environment variable is set and non-empty.
    pub ci: bool,
    /// `TERM` is `dumb`.
    pub term_dumb: bool,
}

/// The renderer that will actually draw the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Renderer {
    /// Live progress bars on stderr.
    Bars,
    /// Plain lines: output on stdout, status on stderr.
    Plain,
    /// JSON lines on stdout.
    Json,
}

/// Picks the renderer for `mode` on `term`: `auto` draws bars only on an interactive stderr,
/// outside CI and when `TERM` is not `dumb`.
pub fn resolve(mode: OutputMode, term: &TerminalInfo) -> Renderer {
    match mode {
        OutputMode::Json => Renderer::Json,
        OutputMode::Auto if term.stderr_is_tty && !term.ci && !term.term_dumb => Renderer::Bars,
        OutputMode::Auto | OutputMode::Plain => Renderer::Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_table() {
        // (mode, tty, ci, dumb) -> renderer
        let table = [
            (OutputMode::Auto, true, false, false, Renderer::Bars),
            (OutputMode::Auto, false, false, false, Renderer::Plain),
            (OutputMode::Auto, true, true, false, Renderer::Plain),
            (OutputMode::Auto, true, false, true, Renderer::Plain),
            (OutputMode::Auto, false, true, true, Renderer::Plain),
            (OutputMode::Plain, true, false, false, Renderer::Plain),
            (OutputMode::Plain, false, true, false, Renderer::Plain),
            (OutputMode::Json, true, false, false, Renderer::Json),
            (OutputMode::Json, false, true, true, Renderer::Json),
        ];
        for (mode, stderr_is_tty, ci, term_dumb, expected) in table {
            let term = TerminalInfo { stderr_is_tty, ci, term_dumb };
            assert_eq!(resolve(mode, &term), expected, "{mode} on {term:?}");
        }
    }

    #[test]
    fn parses_modes() {
        for mode in [OutputMode::Auto, OutputMode::Plain, OutputMode::Json] {
            assert_eq!(mode.as_str().parse::<OutputMode>(), Ok(mode));
        }
        let err = "fancy".parse::<OutputMode>().unwrap_err();
        assert_eq!(err.to_string(), "unknown output mode `fancy` (expected auto, plain or json)");
    }
}
