//! What every command needs: the tasks file, the command-line vars, terminal facts.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use opsrun_report::TerminalInfo;
use opsrun_spec::{Invocation, Spec};

use crate::args::Cli;
use crate::error::{CliError, Result};

/// Facts gathered once at start-up.
pub struct Context {
    /// The loaded spec.
    pub spec: Spec,
    /// Where opsrun was started.
    pub working_dir: PathBuf,
    /// Terminal facts, detected once here and passed down.
    pub term: TerminalInfo,
    /// stdin is a terminal (for confirmations).
    pub stdin_is_tty: bool,
    /// `--output interleaved|prefixed|group`: how every task's lines are shown, over the file's
    /// and the tasks' own `output`.
    pub output_style: Option<opsrun_spec::OutputSetting>,
    /// The digests of source files, kept in the state directory: one cache for everything this
    /// process fingerprints (explain, dry run, preflight, the run), so a file is read once.
    pub sources: opsrun_engine::SourceCache,
}

impl Context {
    /// Loads the tasks file named by `-f`, or found from the current directory upwards (in each
    /// directory `tasks.toml` first, then a go-task Taskfile). A Taskfile is read directly,
    /// converted in memory, with one line on stderr saying how to convert it for good.
    pub fn load(cli: &Cli) -> Result<Context> {
        let working_dir =
            std::env::current_dir().map_err(|e| CliError::Usage(format!("cannot read the current directory: {e}")))?;
        let file = match &cli.file {
            Some(f) => f.clone(),
            None => opsrun_taskfile::find_project_file(&working_dir).ok_or_else(|| {
                CliError::Usage(format!(
                    "no tasks.toml (or Taskfile.yml) in `{}` or any parent directory\n  help: create one (see docs/tasks-toml.md), or point at one with `-f FILE`",
                    working_dir.display()
                ))
            })?,
        };
        let spec = if opsrun_taskfile::is_taskfile(&file) {
            let loaded = opsrun_taskfile::load(&file)?;
            if !cli.quiet {
                eprintln!("{}", taskfile_notice(&file, &working_dir, loaded.conversion.warnings.len()));
            }
            loaded.spec
        } else {
            opsrun_spec::load(&file)?
        };
        let output_style = match cli.output.as_str() {
            "interleaved" => Some(opsrun_spec::OutputSetting::Interleaved),
            "prefixed" => Some(opsrun_spec::OutputSetting::Prefixed),
            "group" => Some(opsrun_spec::OutputSetting::Group { begin: None, end: None, error_only: false }),
            _ => None,
        };
        let sources = opsrun_engine::SourceCache::open(state_dir_for(&spec.root_dir));
        Ok(Context {
            sources,
            spec,
            working_dir,
            term: terminal_info(),
            stdin_is_tty: std::io::stdin().is_terminal(),
            output_style,
        })
    }

    /// The state directory: `.opsrun/` next to the tasks file.
    pub fn state_dir(&self) -> PathBuf {
        state_dir_for(&self.spec.root_dir)
    }

    /// An invocation with these command-line vars.
    pub fn invocation(&self, vars: IndexMap<String, String>, cli_args: &[String]) -> Invocation {
        Invocation {
            vars,
            cli_args: cli_args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" "),
            working_dir: self.working_dir.clone(),
            output: self.output_style.clone(),
        }
    }
}

/// The one line printed when a Taskfile is read directly.
fn taskfile_notice(file: &Path, working_dir: &Path, warnings: usize) -> String {
    let shown = file.strip_prefix(working_dir).unwrap_or(file).display().to_string();
    let unsupported = match warnings {
        0 => String::new(),
        1 => "; 1 thing in it opsrun cannot express is left out (`opsrun import --check` shows it)".to_string(),
        n => format!("; {n} things in it opsrun cannot express are left out (`opsrun import --check` lists them)"),
    };
    format!(
        "opsrun: reading the go-task Taskfile {shown}{unsupported}; `opsrun import` converts it to tasks.toml for good"
    )
}

/// True for a variable name that says it holds a credential (`OP_TOKEN`, `DB_PASSWORD`, ...):
/// its value from the command line is masked in every output.
pub use opsrun_spec::looks_secret;

/// The saved state for showing it; a damaged file reads as empty, with the warning on stderr
/// (only a run refuses it, since only a run would act on it).
pub(crate) fn load_state(ctx: &Context) -> opsrun_engine::State {
    let (state, warning) = opsrun_engine::StateStore::new(ctx.state_dir()).load_lenient();
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    state
}

/// `.opsrun/` in `root`.
pub fn state_dir_for(root: &Path) -> PathBuf {
    root.join(".opsrun")
}

/// Detects the terminal once.
pub fn terminal_info() -> TerminalInfo {
    TerminalInfo {
        stderr_is_tty: std::io::stderr().is_terminal(),
        ci: std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0"),
        term_dumb: std::env::var("TERM").is_ok_and(|t| t == "dumb"),
    }
}

/// Splits `TASK` and `VAR=value` items.
pub fn split_items(items: &[String]) -> Result<(Vec<String>, IndexMap<String, String>)> {
    let mut tasks = Vec::new();
    let mut vars = IndexMap::new();
    for item in items {
        match item.split_once('=') {
            Some((k, v)) if is_var_name(k) => {
                vars.insert(k.to_string(), v.to_string());
            }
            Some((k, _)) => {
                return Err(CliError::Usage(format!(
                    "`{item}`: `{k}` is not a variable name (letters, digits and _, not starting with a digit)"
                )));
            }
            None => tasks.push(item.clone()),
        }
    }
    Ok((tasks, vars))
}

fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Quotes a word for `sh` when it needs it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_tasks_and_vars() {
        let (t, v) = split_items(&["deploy".into(), "VERSION=1.2".into(), "X=a=b".into()]).unwrap();
        assert_eq!(t, ["deploy"]);
        assert_eq!(v["VERSION"], "1.2");
        assert_eq!(v["X"], "a=b");
        assert!(split_items(&["1X=2".into()]).is_err());
    }

    #[test]
    fn quotes_for_sh() {
        assert_eq!(shell_quote("plain-word"), "plain-word");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
