//! `opsrun import`: a go-task Taskfile and the files it includes → `tasks.toml` files, written
//! next to them (the conversion itself is `opsrun-taskfile`'s, shared with reading a Taskfile
//! directly).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use opsrun_taskfile::{Conversion, Layout};

use crate::args::{Cli, ImportArgs};
use crate::error::{CliError, Result};
use crate::exit;

/// The first line of every file `opsrun import` writes: what it may overwrite without `--force`.
const GENERATED_MARK: &str = "# Converted from ";

/// Runs `opsrun import`.
pub(crate) fn import(cli: &Cli, args: &ImportArgs) -> Result<u8> {
    let working_dir =
        std::env::current_dir().map_err(|e| CliError::Usage(format!("cannot read the current directory: {e}")))?;
    let taskfile = match args.taskfile.as_ref().or(cli.file.as_ref()) {
        Some(path) => path.clone(),
        None => find_taskfile(&working_dir)?,
    };
    if !opsrun_taskfile::is_taskfile(&taskfile) {
        return Err(CliError::Usage(format!(
            "`{}` is not a Taskfile (a .yml or .yaml file)\n  help: name the Taskfile: `opsrun import Taskfile.yml`",
            taskfile.display()
        )));
    }
    let taskfile = std::path::absolute(&taskfile).unwrap_or(taskfile);
    let output = output_path(cli, &taskfile)?;
    let conversion = opsrun_taskfile::convert(&taskfile, &Layout::Import { output: output.clone() })?;
    let color = crate::context::terminal_info().stderr_is_tty && std::env::var_os("NO_COLOR").is_none();
    let report = conversion.report(color);
    if !report.is_empty() {
        eprint!("{report}");
        if !report.ends_with('\n') {
            eprintln!();
        }
    }
    if args.strict {
        conversion.strict()?;
    }
    // The documents go through the loader before anything is written: what the loader would
    // refuse is reported at its line in the Taskfile, and nothing is left half-imported.
    let spec = opsrun_spec::load_generated(&output, conversion.generated_files())?;
    check_outputs(&conversion, args.force)?;
    let summary = summary(&conversion, spec.tasks.len(), &working_dir);
    if args.check {
        eprintln!("would write {summary} (nothing written: --check)");
        return Ok(exit::OK);
    }
    for file in &conversion.files {
        write_atomically(&file.output, &file.text)?;
    }
    eprintln!("wrote {summary}");
    Ok(exit::OK)
}

/// The Taskfile go-task would read from `start`: the first of its names in `start` or the
/// nearest parent.
fn find_taskfile(start: &Path) -> Result<PathBuf> {
    start
        .ancestors()
        .find_map(|dir| opsrun_taskfile::TASKFILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no Taskfile.yml in `{}` or any parent directory\n  help: name it: `opsrun import path/to/Taskfile.yml`",
                start.display()
            ))
        })
}

/// `-o FILE.toml`, or `tasks.toml` next to the Taskfile. The file must be in the Taskfile's
/// directory: that directory is where the tasks run and what relative paths start from.
fn output_path(cli: &Cli, taskfile: &Path) -> Result<PathBuf> {
    let dir = taskfile.parent().unwrap_or(Path::new("/"));
    if cli.output == "auto" {
        return Ok(dir.join("tasks.toml"));
    }
    let output = std::path::absolute(&cli.output).unwrap_or_else(|_| PathBuf::from(&cli.output));
    if output.extension().is_none_or(|e| e != "toml") {
        return Err(CliError::Usage(format!(
            "`-o {}`: `opsrun import` writes a .toml file\n  help: for example `-o tasks.toml`",
            cli.output
        )));
    }
    if output.parent() != Some(dir) {
        return Err(CliError::Usage(format!(
            "`-o {}`: write the tasks file next to the Taskfile, in `{}`\n  help: tasks run in the directory of their tasks file, and the Taskfile's relative paths start there",
            cli.output,
            dir.display()
        )));
    }
    Ok(output)
}

/// Refuses to overwrite a file `opsrun import` did not write (unless forced), and two included
/// Taskfiles that would land in the same file.
fn check_outputs(conversion: &Conversion, force: bool) -> Result<()> {
    for (i, file) in conversion.files.iter().enumerate() {
        if let Some(other) = conversion.files[..i].iter().find(|f| f.output == file.output) {
            return Err(CliError::Usage(format!(
                "`{}` and `{}` would both be converted into `{}`\n  help: rename one of the Taskfiles",
                other.taskfile.display(),
                file.taskfile.display(),
                file.output.display()
            )));
        }
        if force {
            continue;
        }
        if let Ok(existing) = std::fs::read_to_string(&file.output)
            && !existing.starts_with(GENERATED_MARK)
        {
            return Err(CliError::Usage(format!(
                "`{}` exists and was not written by `opsrun import`\n  help: move it away, or overwrite it with `opsrun import --force`",
                file.output.display()
            )));
        }
    }
    Ok(())
}

/// `tasks.toml (12 tasks), sub/tasks.toml`.
fn summary(conversion: &Conversion, tasks: usize, working_dir: &Path) -> String {
    let names: Vec<String> = conversion
        .files
        .iter()
        .map(|f| f.output.strip_prefix(working_dir).unwrap_or(&f.output).display().to_string())
        .collect();
    format!("{} ({tasks} tasks in all)", names.join(", "))
}

/// Writes `text` to `path` through a temporary file in the same directory, so an interrupted
/// import leaves either the old file or the new one.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| CliError::Other {
        code: exit::USAGE,
        message: format!("cannot write `{}`: {e}", path.display()),
    };
    let tmp = path.with_extension("toml.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}
