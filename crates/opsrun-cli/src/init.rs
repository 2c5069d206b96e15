//! `opsrun init`: a commented starter `tasks.toml` (a small project, or with `--bootstrap` the
//! Talos → Flux chain with gates and a pipeline). It never overwrites a file, and in a directory
//! with a go-task Taskfile it points to `opsrun import` instead.

use std::io::Write as _;
use std::path::Path;

use crate::args::InitArgs;
use crate::error::{CliError, Result};
use crate::exit;

/// The plain starter: vars, a task, dependencies, sources, a gate, a pipeline.
const PLAIN: &str = include_str!("init/plain.toml");
/// The bootstrap chain, Talos to Flux, each stage behind a gate.
const BOOTSTRAP: &str = include_str!("init/bootstrap.toml");

/// `opsrun init [--bootstrap]` in the current directory (or `-f FILE`).
pub(crate) fn init(file: Option<&Path>, args: &InitArgs) -> Result<u8> {
    let path = file.map_or_else(|| Path::new("tasks.toml").to_path_buf(), Path::to_path_buf);
    let dir = path.parent().unwrap_or(Path::new(""));
    if let Some(taskfile) = opsrun_taskfile::TASKFILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        return Err(CliError::Usage(format!(
            "`{}` is a go-task Taskfile: convert it with `opsrun import` rather than starting over; nothing was written\n  help: `opsrun init` writes a new tasks.toml only where there is no Taskfile",
            taskfile.display()
        )));
    }
    let text = if args.bootstrap { BOOTSTRAP } else { PLAIN };
    // `create_new`: never overwrite, even a file that appears between a check and the write.
    let mut out = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CliError::Usage(format!(
                "`{}` already exists: opsrun init never overwrites a file; nothing was written\n  help: move it away first, or write elsewhere with `opsrun -f other.toml init`",
                path.display()
            )));
        }
        Err(e) => return Err(CliError::Usage(format!("cannot create `{}`: {e}", path.display()))),
    };
    out.write_all(text.as_bytes()).map_err(|e| CliError::Other {
        code: exit::INTERNAL,
        message: format!("cannot write `{}`: {e}", path.display()),
    })?;
    let next = if args.bootstrap {
        "fill in its [vars], then: `opsrun preflight`, `opsrun bootstrap --dry-run`, `opsrun bootstrap`"
    } else {
        "try `opsrun list`, `opsrun run hello`, `opsrun pipeline local`"
    };
    eprintln!("wrote {}; {next}", path.display());
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_starters_load_and_plan() {
        for (text, targets) in [(PLAIN, vec!["deploy"]), (BOOTSTRAP, vec!["flux"])] {
            let spec =
                opsrun_spec::load_str(Path::new("/tmp/opsrun-init/tasks.toml"), text).expect("the starter loads");
            let resolver = opsrun_spec::Resolver::new(&spec, opsrun_spec::Invocation::default());
            let targets: Vec<String> = targets.into_iter().map(str::to_owned).collect();
            opsrun_plan::Plan::build(&resolver, &targets, &opsrun_plan::PlanOptions::default()).expect("plans");
        }
    }
}
