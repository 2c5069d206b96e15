//! The simple commands: list, graph, explain, runs, logs, completions, and the run entry points.

use std::io::Write;

use opsrun_engine::{TaskLogs, explain, list_runs};
use opsrun_event::RunMode;
use opsrun_plan::{GraphFormat, Plan, PlanOptions};
use opsrun_spec::Resolver;
use serde::Serialize;

use crate::args::{
    Cli, ExplainArgs, GraphArgs, ListArgs, LogsArgs, NamedPipelineArgs, PipelineArgs, RunArgs, RunsArgs,
};
use crate::context::{Context, split_items};
use crate::error::{CliError, Result};
use crate::execute::{Execution, execute};
use crate::exit;

/// `opsrun list`.
pub(crate) fn list(cli: &Cli, ctx: &Context, args: &ListArgs) -> Result<u8> {
    #[derive(Serialize)]
    struct Row<'a> {
        name: &'a str,
        desc: Option<&'a str>,
        summary: Option<&'a str>,
        aliases: &'a [String],
        deps: Vec<&'a str>,
        internal: bool,
        gate: bool,
    }
    let mut tasks: Vec<&opsrun_spec::Task> =
        ctx.spec.tasks.values().filter(|t| args.all || (!t.internal && t.desc.is_some())).collect();
    if args.sort != "none" {
        // As go-task sorts: names without a namespace first, then namespaced ones, byte order.
        tasks.sort_by(|a, b| (a.name.contains(':'), a.name.as_str()).cmp(&(b.name.contains(':'), b.name.as_str())));
    }
    let mut out = std::io::stdout().lock();
    if args.json || cli.output == "json" {
        let rows: Vec<Row<'_>> = tasks
            .into_iter()
            .map(|t| Row {
                name: &t.name,
                desc: t.desc.as_deref(),
                summary: t.summary.as_deref(),
                aliases: &t.aliases,
                deps: t.deps.iter().map(|d| d.target.name.as_str()).collect(),
                internal: t.internal,
                gate: t.health.is_some(),
            })
            .collect();
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
        return Ok(exit::OK);
    }
    if tasks.is_empty() {
        let _ =
            writeln!(out, "no tasks with a description in {} (use --all to list every task)", ctx.spec.file.display());
        return Ok(exit::OK);
    }
    // A `desc` is shown as its first line, control characters escaped, wrapped under itself.
    // Written as it is made: the list of a big file is not held whole a second time.
    let columns = crate::text::width();
    let width = tasks.iter().map(|t| t.name.chars().count()).max().unwrap_or(0);
    let mut out = std::io::BufWriter::with_capacity(16 * 1024, out);
    let _ = writeln!(out, "tasks in {}:", ctx.spec.file.display());
    let row = |out: &mut std::io::BufWriter<_>, name: &str, body: String| {
        let name = crate::text::escape_controls(name);
        let _ = writeln!(out, "  {name:width$}  {}", crate::text::wrap(&body, columns, width + 4));
    };
    for t in tasks {
        let aliases =
            if t.aliases.is_empty() { String::new() } else { format!(" (aliases: {})", t.aliases.join(", ")) };
        let gate = if t.health.is_some() { " [gate]" } else { "" };
        row(&mut out, &t.name, format!("{}{aliases}{gate}", crate::text::first_line(t.desc.as_deref().unwrap_or(""))));
    }
    if !ctx.spec.pipelines.is_empty() {
        let _ = writeln!(out, "pipelines:");
        for p in ctx.spec.pipelines.values() {
            let desc = crate::text::first_line(p.desc.as_deref().unwrap_or(""));
            row(&mut out, &p.name, format!("{desc} (targets: {})", p.targets.join(", ")));
        }
    }
    let _ = out.flush();
    Ok(exit::OK)
}

/// `opsrun --summary TASK` and `opsrun run TASK --help`: what a task is and does, as
/// go-task's `--summary` prints it.
pub(crate) fn summary(cli: &Cli, ctx: &Context, names: &[String]) -> Result<u8> {
    let columns = crate::text::width();
    let shown = |t: &str| crate::text::wrap(&crate::text::escape_controls(t.trim_end()), columns, 0);
    let mut text = String::new();
    let mut json = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let Some((t, _)) = ctx.spec.lookup(name) else {
            let hint = opsrun_spec::did_you_mean(name, ctx.spec.tasks.keys().map(String::as_str))
                .map_or_else(|| "`opsrun list --all` shows every task".to_string(), |s| format!("did you mean `{s}`?"));
            return Err(CliError::Usage(format!("unknown task `{name}`\n  help: {hint}")));
        };
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&format!("task: {}\n\n", t.name));
        match (&t.summary, &t.desc) {
            (Some(s), _) => text.push_str(&format!("{}\n", shown(s))),
            (None, Some(d)) => text.push_str(&format!("{}\n", shown(d))),
            (None, None) => text.push_str("(task has no description)\n"),
        }
        let section = |text: &mut String, title: &str, items: Vec<String>| {
            if !items.is_empty() {
                text.push_str(&format!("\n{title}:\n"));
                for item in items {
                    text.push_str(&format!(" - {item}\n"));
                }
            }
        };
        section(&mut text, "dependencies", t.deps.iter().map(|d| d.target.name.clone()).collect());
        section(&mut text, "aliases", t.aliases.clone());
        let cmds: Vec<String> = t.cmds.iter().map(|c| c.kind.describe()).collect();
        json.push(serde_json::json!({
            "task": t.name,
            "desc": t.desc,
            "summary": t.summary,
            "deps": t.deps.iter().map(|d| d.target.name.clone()).collect::<Vec<_>>(),
            "aliases": t.aliases,
            "commands": cmds,
        }));
        section(&mut text, "commands", cmds.iter().map(|c| crate::text::escape_controls(c)).collect());
    }
    if cli.output == "json" {
        text = format!("{}\n", serde_json::to_string_pretty(&json).unwrap_or_default());
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(exit::OK)
}

/// `opsrun run`.
pub(crate) fn run(cli: &Cli, ctx: &Context, args: &RunArgs) -> Result<u8> {
    let (targets, vars) = split_items(&args.items)?;
    if args.help {
        return summary(cli, ctx, &targets);
    }
    if targets.is_empty() {
        return Err(CliError::Usage("no task given: `opsrun run TASK [VAR=value...]` (see `opsrun list`)".into()));
    }
    // `opsrun run` never resumes: no "resume with" hint.
    let resume_command = None;
    execute(
        cli,
        ctx,
        &Execution {
            mode: RunMode::Run,
            name: targets.join(" "),
            targets,
            vars,
            cli_args: args.cli_args.clone(),
            plan_options: PlanOptions { sequential: true, ..PlanOptions::default() },
            resume: false,
            exec: args.exec.clone(),
            resume_command,
            preflight: false,
        },
    )
}

/// `opsrun bootstrap` and `opsrun pipeline NAME`.
pub(crate) fn pipeline(cli: &Cli, ctx: &Context, name: &str, args: &PipelineArgs) -> Result<u8> {
    let Some(p) = ctx.spec.pipelines.get(name) else {
        let names: Vec<&str> = ctx.spec.pipelines.keys().map(String::as_str).collect();
        let hint = match opsrun_spec::did_you_mean(name, names.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if names.is_empty() => {
                format!("add `[pipelines.{name}]` with `targets = [...]` to {}", ctx.spec.file.display())
            }
            None => format!("pipelines: {}", names.join(", ")),
        };
        return Err(CliError::Usage(format!("no pipeline `{name}` in {}\n  help: {hint}", ctx.spec.file.display())));
    };
    let (extra, vars) = split_items(&args.vars)?;
    if let Some(t) = extra.first() {
        return Err(CliError::Usage(format!(
            "unexpected argument `{t}`: a pipeline takes VAR=value assignments only (did you mean `--from {t}`?)"
        )));
    }
    let command = if name == "bootstrap" { "opsrun bootstrap".to_string() } else { format!("opsrun pipeline {name}") };
    // Values are not repeated in the hint: one given to make this run fail (`FAIL_AT=...`)
    // would make the resumed run fail again; the names say what to pass again.
    let var_args = if vars.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = vars.keys().map(|k| format!("{k}=...")).collect();
        format!(" (this run was given {}: pass again those that still apply)", names.join(" "))
    };
    execute(
        cli,
        ctx,
        &Execution {
            mode: RunMode::Pipeline,
            name: name.to_string(),
            targets: p.targets.clone(),
            vars,
            cli_args: Vec::new(),
            plan_options: PlanOptions {
                from: args.from.clone(),
                only: args.only.clone(),
                allow_internal: true,
                sequential: false,
            },
            resume: !args.fresh,
            exec: args.exec.clone(),
            resume_command: Some(format!("{command}{var_args}")),
            preflight: !args.no_preflight,
        },
    )
}

/// `opsrun pipeline NAME`.
pub(crate) fn named_pipeline(cli: &Cli, ctx: &Context, args: &NamedPipelineArgs) -> Result<u8> {
    pipeline(cli, ctx, &args.name, &args.pipeline)
}

/// `opsrun graph`.
pub(crate) fn graph(cli: &Cli, ctx: &Context, args: &GraphArgs) -> Result<u8> {
    let (mut targets, vars) = split_items(&args.targets)?;
    if targets.is_empty() {
        targets = ctx.spec.tasks.values().filter(|t| !t.internal).map(|t| t.name.clone()).collect();
    }
    let resolver = Resolver::new(&ctx.spec, ctx.invocation(vars, &[]));
    let plan = Plan::build(&resolver, &targets, &PlanOptions { allow_internal: true, ..PlanOptions::default() })?;
    if cli.output == "json" {
        let nodes: Vec<serde_json::Value> = plan
            .order()
            .iter()
            .map(|&n| {
                let deps: Vec<&str> = plan.dependencies(n).map(|d| plan.task(d).key.as_str()).collect();
                serde_json::json!({ "task": plan.task(n).key, "deps": deps, "gate": plan.task(n).health.as_ref().map(|h| &h.name) })
            })
            .collect();
        let _ = writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&nodes).unwrap_or_default());
        return Ok(exit::OK);
    }
    let format: GraphFormat = args.format.parse().map_err(CliError::Usage)?;
    let _ = crate::masked::stdout(plan.masker()).write_all(plan.render_graph(format).as_bytes());
    Ok(exit::OK)
}

/// `opsrun explain TASK`.
pub(crate) fn explain_cmd(cli: &Cli, ctx: &Context, args: &ExplainArgs) -> Result<u8> {
    let (tasks, vars) = split_items(&args.items)?;
    let [task] = tasks.as_slice() else {
        return Err(CliError::Usage("explain takes one task: `opsrun explain TASK [VAR=value...]`".into()));
    };
    let canonical = ctx.spec.canonical_name(task).map(str::to_string).ok_or_else(|| {
        let names = ctx.spec.tasks.keys().map(String::as_str);
        let hint =
            opsrun_spec::did_you_mean(task, names).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
        CliError::Usage(format!("unknown task `{task}`{hint}"))
    })?;
    let resolver = Resolver::new(&ctx.spec, ctx.invocation(vars, &[]));
    let pipeline_name =
        args.pipeline.clone().or_else(|| ctx.spec.pipelines.contains_key("bootstrap").then(|| "bootstrap".to_string()));
    let pipeline = pipeline_name.as_ref().and_then(|n| ctx.spec.pipelines.get(n));
    let mut plan = None;
    let mut resume = false;
    if let Some(p) = pipeline {
        let pl = Plan::build(&resolver, &p.targets, &PlanOptions { allow_internal: true, ..PlanOptions::default() })?;
        if pl.find(&canonical).is_some() {
            plan = Some(pl);
            resume = true;
        }
    }
    let plan = match plan {
        Some(p) => p,
        None => Plan::build(
            &resolver,
            std::slice::from_ref(&canonical),
            &PlanOptions { allow_internal: true, ..PlanOptions::default() },
        )?,
    };
    let state = crate::context::load_state(ctx);
    let explanations = explain(&plan, &state, resume, false, &ctx.sources);
    let mut out = crate::masked::buffered(plan.masker());
    if cli.output == "json" {
        let json = serde_json::json!({
            "task": canonical,
            "pipeline": if resume { pipeline_name.as_deref() } else { None },
            "record": state.tasks.get(&canonical),
            "explanations": explanations,
        });
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&json).unwrap_or_default());
        return Ok(exit::OK);
    }
    let context = if resume {
        format!("in pipeline `{}`", pipeline_name.unwrap_or_default())
    } else {
        "with `opsrun run`".into()
    };
    for x in &explanations {
        if x.task == canonical {
            let verdict = match (x.will_run, x.unless_status) {
                (true, true) => "will run unless its status commands pass",
                (true, false) => "will run",
                (false, _) => "will be skipped",
            };
            let _ = writeln!(out, "{} {verdict} {context}: {}", x.task, x.reason);
            if !x.changed.is_empty() {
                let _ = writeln!(out, "  changed inputs: {}", x.changed.join(", "));
            }
            match state.tasks.get(&x.task) {
                Some(r) => {
                    let _ =
                        writeln!(out, "  last record: {:?} in run {} (fingerprint {})", r.status, r.run, r.fingerprint);
                }
                None => {
                    let _ = writeln!(out, "  last record: none");
                }
            }
            let _ = writeln!(out, "  current fingerprint: {}", x.fingerprint);
        }
    }
    let upstream: Vec<_> = explanations.iter().filter(|x| x.task != canonical).collect();
    if !upstream.is_empty() {
        let _ = writeln!(out, "the other tasks of this run:");
        for x in upstream {
            let verdict = match (x.will_run, x.unless_status) {
                (true, true) => "runs unless its status commands pass",
                (true, false) => "runs",
                (false, _) => "skipped",
            };
            let _ = writeln!(out, "  {} {verdict}: {}", x.task, x.reason);
        }
    }
    Ok(exit::OK)
}

/// `opsrun runs`.
pub(crate) fn runs(cli: &Cli, ctx: &Context, args: &RunsArgs) -> Result<u8> {
    if let Some([a, b]) = args.compare.as_deref() {
        return crate::report::compare(cli, ctx, a, b);
    }
    let all = list_runs(&ctx.state_dir());
    let runs = &all[all.len().saturating_sub(args.last)..];
    let mut out = std::io::stdout().lock();
    if args.json || cli.output == "json" {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(runs).unwrap_or_default());
        return Ok(exit::OK);
    }
    if runs.is_empty() {
        let _ = writeln!(out, "no runs recorded in {}", ctx.state_dir().display());
        return Ok(exit::OK);
    }
    let live = opsrun_engine::RunLock::holder(&ctx.state_dir()).and_then(|h| h.run.map(|run| (run, h.pid)));
    let _ = writeln!(out, "{:<28} {:<10} {:<20} {:<20} {:>9}  outcome", "run", "mode", "name", "started", "duration");
    for r in runs {
        let mode = r.mode.map_or_else(String::new, |m| format!("{m:?}").to_lowercase());
        let started = r.started.map_or_else(String::new, |s| s.strftime("%Y-%m-%d %H:%M:%S").to_string());
        let duration = r
            .duration_ms
            .map_or_else(|| "-".into(), |d| opsrun_spec::format_duration(std::time::Duration::from_millis(d)));
        let outcome = match (&r.outcome, &live) {
            (Some(o), _) => format!("{o:?}").to_lowercase(),
            (None, Some((run, pid))) if *run == r.id => format!("running now (pid {pid})"),
            (None, _) => "unfinished (opsrun stopped)".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<28} {:<10} {:<20} {:<20} {:>9}  {outcome}",
            r.id,
            mode,
            truncate(&r.name, 20),
            started,
            duration
        );
    }
    Ok(exit::OK)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

/// `opsrun logs [RUN] TASK`.
pub(crate) fn logs(cli: &Cli, ctx: &Context, args: &LogsArgs) -> Result<u8> {
    let state_dir = ctx.state_dir();
    let (run, task) = match args.items.as_slice() {
        [task] => (None, task.clone()),
        [run, task] => (Some(run.clone()), task.clone()),
        _ => return Err(CliError::Usage("usage: opsrun logs [RUN] TASK".into())),
    };
    let Some(task) = ctx.spec.canonical_name(&task).map(str::to_string) else {
        let hint = opsrun_spec::did_you_mean(&task, ctx.spec.tasks.keys().map(String::as_str))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(CliError::Usage(format!("unknown task `{task}`{hint}; `opsrun list --all` shows every task")));
    };
    let run = match run {
        Some(r) => r,
        None => list_runs(&state_dir)
            .into_iter()
            .rev()
            .find(|r| TaskLogs::path_for(&state_dir, &r.id, &task).is_file())
            .map(|r| r.id)
            .ok_or_else(|| {
                CliError::Usage(format!("no recorded run has a log for task `{task}` (see `opsrun runs`)"))
            })?,
    };
    let path = TaskLogs::path_for(&state_dir, &run, &task);
    let text = std::fs::read(&path)
        .map_err(|e| CliError::Usage(format!("no log for task `{task}` in run {run} (`{}`: {e})", path.display())))?;
    if cli.output == "json" {
        let json = serde_json::json!({
            "run": run,
            "task": task,
            "path": path,
            "log": String::from_utf8_lossy(&text),
        });
        let _ = writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&json).unwrap_or_default());
        return Ok(exit::OK);
    }
    // Which log this is goes to stderr, so stdout stays the log itself (for grep, less, ...).
    eprintln!("# task {task}, run {run} ({})", path.display());
    let _ = std::io::stdout().lock().write_all(&text);
    Ok(exit::OK)
}
