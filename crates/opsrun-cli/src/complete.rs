//! Dynamic shell completion (`source <(COMPLETE=bash opsrun)`): `clap_complete`'s engine asks
//! opsrun at TAB time, and opsrun answers from the tasks file it finds from the current
//! directory: task names (with their `desc`), pipeline names, `VAR=` names (then paths for the
//! value), as well as paths for `-f` and `-C`. A tasks file that cannot be read completes
//! nothing rather than failing the shell.

use std::ffi::OsStr;

use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};
use opsrun_spec::Spec;

/// The tasks file as completion sees it: found from the current directory, loaded quietly.
fn spec() -> Option<Spec> {
    let cwd = std::env::current_dir().ok()?;
    opsrun_spec::load(&opsrun_spec::find_tasks_file(&cwd)?).ok()
}

fn help(text: Option<&str>) -> Option<clap::builder::StyledStr> {
    text.map(|t| crate::text::first_line(t).into())
}

/// Tasks that can be run from the command line, with their description.
fn task_candidates(spec: &Spec, prefix: &str) -> Vec<CompletionCandidate> {
    let mut out: Vec<CompletionCandidate> = spec
        .tasks
        .values()
        .filter(|t| !t.internal && t.name.starts_with(prefix))
        .map(|t| CompletionCandidate::new(&t.name).help(help(t.desc.as_deref())))
        .collect();
    for (alias, task) in &spec.aliases {
        if alias.starts_with(prefix) && spec.task(task).is_some_and(|t| !t.internal) {
            out.push(CompletionCandidate::new(alias).help(Some(format!("alias of {task}").into())).hide(true));
        }
    }
    out
}

fn pipeline_candidates(spec: &Spec, prefix: &str) -> Vec<CompletionCandidate> {
    spec.pipelines
        .values()
        .filter(|p| p.name.starts_with(prefix))
        .map(|p| CompletionCandidate::new(&p.name).help(help(p.desc.as_deref())))
        .collect()
}

/// `NAME=` for every variable the file declares (file, include and task vars, and those tasks
/// require); after the `=`, paths.
fn var_candidates(spec: &Spec, current: &str) -> Vec<CompletionCandidate> {
    if let Some((name, value)) = current.split_once('=') {
        return PathCompleter::any()
            .complete(OsStr::new(value))
            .into_iter()
            .map(|c| {
                let path = c.get_value().to_string_lossy().into_owned();
                CompletionCandidate::new(format!("{name}={path}"))
            })
            .collect();
    }
    let mut names: Vec<&str> = Vec::new();
    for scope in &spec.scopes {
        names.extend(scope.vars.keys().chain(scope.include_vars.keys()).map(String::as_str));
    }
    for task in spec.tasks.values() {
        names.extend(task.vars.keys().map(String::as_str));
        names.extend(task.requires.iter().map(|r| r.name.as_str()));
    }
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter(|n| n.starts_with(current))
        .map(|n| CompletionCandidate::new(format!("{n}=")).help(Some("variable".into())))
        .collect()
}

fn with_spec(
    current: &OsStr,
    complete: impl FnOnce(&Spec, &str) -> Vec<CompletionCandidate>,
) -> Vec<CompletionCandidate> {
    let (Some(spec), Some(current)) = (spec(), current.to_str()) else { return Vec::new() };
    complete(&spec, current)
}

/// `opsrun run`, `explain`, `graph`: tasks, then `VAR=`.
pub(crate) fn tasks_and_vars(current: &OsStr) -> Vec<CompletionCandidate> {
    with_spec(current, |spec, current| {
        if current.contains('=') {
            return var_candidates(spec, current);
        }
        let mut out = task_candidates(spec, current);
        out.extend(var_candidates(spec, current));
        out
    })
}

/// `--from`, `--only`, `logs`: tasks.
pub(crate) fn tasks(current: &OsStr) -> Vec<CompletionCandidate> {
    with_spec(current, task_candidates)
}

/// `opsrun pipeline NAME`, `status`: pipelines.
pub(crate) fn pipelines(current: &OsStr) -> Vec<CompletionCandidate> {
    with_spec(current, pipeline_candidates)
}

/// `bootstrap`, `pipeline` assignments: `VAR=`.
pub(crate) fn vars(current: &OsStr) -> Vec<CompletionCandidate> {
    with_spec(current, var_candidates)
}

/// `opsrun preflight`: pipelines, tasks, `VAR=`.
pub(crate) fn preflight_items(current: &OsStr) -> Vec<CompletionCandidate> {
    with_spec(current, |spec, current| {
        if current.contains('=') {
            return var_candidates(spec, current);
        }
        let mut out = pipeline_candidates(spec, current);
        out.extend(task_candidates(spec, current));
        out.extend(var_candidates(spec, current));
        out
    })
}
