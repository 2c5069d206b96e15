//! Running a plan from the command line: planning, dry runs, confirmations, the reporter, the
//! engine, and the exit code. Shared by `run`, `bootstrap`, `pipeline` and `emergency-recovery`.

use std::io::{BufRead, Write};
use std::time::Duration;

use indexmap::IndexMap;
use opsrun_engine::{Masker, RunReport, Runner, SignalPolicy, predict};
use opsrun_event::{RunMode, RunOutcome};
use opsrun_plan::{Plan, PlanOptions};
use opsrun_report::{OutputMode, ReportOptions};
use opsrun_spec::{ResolvedCmdKind, Resolver};

use crate::args::{Cli, ExecFlags};
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit;

/// One run to perform.
pub(crate) struct Execution {
    /// Kind of run.
    pub(crate) mode: RunMode,
    /// Pipeline name or targets.
    pub(crate) name: String,
    /// Target tasks.
    pub(crate) targets: Vec<String>,
    /// Command-line vars.
    pub(crate) vars: IndexMap<String, String>,
    /// Arguments after `--`.
    pub(crate) cli_args: Vec<String>,
    /// `--from` / `--only`.
    pub(crate) plan_options: PlanOptions,
    /// Use saved state to skip finished tasks.
    pub(crate) resume: bool,
    /// Shared flags.
    pub(crate) exec: ExecFlags,
    /// How to resume, for the failure hint.
    pub(crate) resume_command: Option<String>,
    /// Run the preflight checks first and refuse to start when one fails.
    pub(crate) preflight: bool,
}

/// Plans and runs; returns the exit code.
pub(crate) fn execute(cli: &Cli, ctx: &Context, e: &Execution) -> Result<u8> {
    let preflight = e.preflight && !e.exec.dry_run;
    let resolver = Resolver::new(&ctx.spec, ctx.invocation(e.vars.clone(), &e.cli_args));
    // With a preflight, a missing `requires.vars` is one row of its table (with every other
    // problem) instead of the plan's first error.
    let resolver = if preflight { resolver.defer_requirements() } else { resolver };
    let mut plan = Plan::build(&resolver, &e.targets, &e.plan_options)?;
    if preflight {
        plan = crate::preflight::before_run(cli, ctx, plan, e.resume, e.exec.force, &format!("pipeline {}", e.name))?;
        // A task the preflight did not check (skipped as done) may still lack a variable: its
        // commands must never run with the placeholder, so the plan's own error stands.
        if plan.order().iter().any(|&n| !plan.task(n).unmet_requirements.is_empty()) {
            let strict = Resolver::new(&ctx.spec, ctx.invocation(e.vars.clone(), &e.cli_args));
            Plan::build(&strict, &e.targets, &e.plan_options)?;
        }
    }
    print_warnings(ctx, &resolver);
    let masker = plan.masker().clone();
    let state_dir = ctx.state_dir();
    // Predicting what will run costs a fingerprint of every task the state has a record of:
    // only a dry run, and a plan with confirmations to ask about, need it.
    let asks = plan.order().iter().any(|&n| plan.task(n).confirm.is_some());
    if e.exec.dry_run || asks {
        let state = crate::context::load_state(ctx);
        let explanations = predict(&plan, &state, e.resume, e.exec.force, &ctx.sources);
        if e.exec.dry_run {
            print_dry_run(&plan, &explanations, &masker, e);
            // Left to the process's exit, as the context is (see `load_context`).
            std::mem::forget(plan);
            return Ok(exit::OK);
        }
        confirm(ctx, &plan, &explanations, e)?;
    }

    let mut runner = runner(cli, &e.exec, ctx, e.mode, &e.name)?.force(e.exec.force).resume(e.resume);
    if let Some(command) = &e.resume_command {
        runner = runner.resume_command(command);
    }
    if e.mode == RunMode::Pipeline {
        remember_var_names(&state_dir, &e.name, &e.vars);
    }
    Ok(exit_code(&run_plan(cli, ctx, plan, runner)?))
}

/// What rendering the plan had to say (undefined variables printed as empty strings in a
/// Taskfile), on stderr before anything runs.
fn print_warnings(ctx: &Context, resolver: &Resolver<'_>) {
    let warnings = resolver.take_warnings();
    if warnings.is_empty() {
        return;
    }
    let color = crate::context::terminal_info().stderr_is_tty && std::env::var_os("NO_COLOR").is_none();
    eprintln!("{}", opsrun_spec::render_diagnostics(&warnings, &ctx.spec.sources, color));
}

/// The run this opsrun joins: the one holding the state directory's lock, when it handed its
/// commands the token this process got ([`opsrun_engine::NESTED_TOKEN_ENV`]). Only `opsrun run`
/// (and `opsrun TASK`) may join; a nested pipeline or recovery is refused, since it would
/// change the state the parent run is writing. `what` names the command.
fn join_parent(ctx: &Context, mode: RunMode, what: &str) -> Result<Option<String>> {
    let Some(token) = std::env::var_os(opsrun_engine::NESTED_TOKEN_ENV) else { return Ok(None) };
    let Some(parent) = opsrun_engine::RunLock::joinable(&ctx.state_dir(), &token.to_string_lossy()) else {
        return Ok(None);
    };
    if mode == RunMode::Run {
        return Ok(Some(parent));
    }
    Err(CliError::Usage(format!(
        "`{what}` cannot run inside run {parent} (started by one of its tasks): a pipeline or recovery would change the state that run is writing\n  help: run it on its own, or call the tasks you need with {{ task = \"...\" }}"
    )))
}

/// Tasks at once: `-j`, else the number of CPUs.
fn jobs(cli: &Cli) -> usize {
    cli.jobs.map_or_else(|| std::thread::available_parallelism().map_or(2, usize::from), usize::from)
}

/// A runner as the command line asks for: the binary's own signal handlers, the project's
/// state directory, `-j`, `--keep-going`, `--grace`, and the run it joins when nested.
pub(crate) fn runner(cli: &Cli, exec: &ExecFlags, ctx: &Context, mode: RunMode, name: &str) -> Result<Runner> {
    Ok(Runner::new(SignalPolicy::Standard)
        .mode(mode, name)
        .jobs(jobs(cli))
        .keep_going(exec.keep_going)
        .state_dir(ctx.state_dir())
        .source_cache(ctx.sources.clone())
        .grace(Duration::from_secs_f64(exec.grace))
        .join(join_parent(ctx, mode, name)?))
}

/// Runs a plan with the reporter the command line and terminal call for.
pub(crate) fn run_plan(cli: &Cli, ctx: &Context, plan: Plan, runner: Runner) -> Result<RunReport> {
    // `--output interleaved|prefixed|group` chooses how tasks' lines are shown (see `Context`);
    // the renderer is then chosen as for `auto`.
    let mode: OutputMode = match cli.output.as_str() {
        "interleaved" | "prefixed" | "group" => OutputMode::Auto,
        other => other.parse().map_err(|err| CliError::Usage(format!("{err}")))?,
    };
    let renderer = opsrun_report::resolve(mode, &ctx.term);
    let reporter = opsrun_report::reporter(
        renderer,
        ReportOptions {
            verbose: cli.verbose > 0,
            quiet: cli.quiet,
            summary_table: cli.summary_table,
            color: crate::color_allowed(renderer),
        },
    );
    let runtime = crate::runtime()?;
    let report = runtime.block_on(runner.sink(reporter.clone()).run(plan));
    reporter.finish();
    Ok(report?)
}

/// Asks `question` unless `yes`; without a terminal to ask on, refuses with `refusal` and the
/// `--yes` hint. Nothing has been run when this returns an error.
pub(crate) fn require_confirmation(ctx: &Context, yes: bool, question: &str, refusal: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !(ctx.stdin_is_tty && ctx.term.stderr_is_tty) {
        return Err(CliError::NotConfirmed(format!(
            "{refusal} and there is no terminal to ask on; nothing was run\n  help: re-run with --yes to confirm"
        )));
    }
    if ask(question) {
        Ok(())
    } else {
        Err(CliError::NotConfirmed(format!("not confirmed: {question}; nothing was run")))
    }
}

/// The exit code of a finished run.
pub(crate) fn exit_code(report: &RunReport) -> u8 {
    match (report.outcome, report.interrupted_by) {
        (RunOutcome::Succeeded, _) => exit::OK,
        (RunOutcome::Interrupted, Some(sig)) => u8::try_from(sig.exit_code()).unwrap_or(exit::SIGINT),
        (RunOutcome::Interrupted, None) => exit::SIGINT,
        (RunOutcome::Failed | _, _) => exit::TASK_FAILED,
    }
}

fn print_dry_run(plan: &Plan, explanations: &[opsrun_engine::Explanation], masker: &Masker, e: &Execution) {
    use std::fmt::Write as _;
    let mut out = crate::masked::buffered(plan.masker());
    let running = explanations.iter().filter(|x| x.will_run).count();
    let total = plan.selected().len();
    let noun = if total == 1 { "task" } else { "tasks" };
    let _ = writeln!(out, "dry run of {} ({total} {noun}, {running} would run); nothing is executed", e.name);
    // Each task's lines are put together in one string (pieces pushed, not formatted) and
    // handed to the masked writer at once: a dry run of 10,000 tasks prints 50,000 lines.
    let mut block = String::with_capacity(512);
    for (i, (&node, x)) in plan.order().iter().zip(explanations).enumerate() {
        let t = plan.task(node);
        let verdict = match (x.will_run, x.unless_status) {
            (true, true) => "run unless status passes",
            (true, false) => "run",
            (false, _) => "skip",
        };
        block.clear();
        let _ = write!(block, "\n{}. ", i + 1);
        for piece in [t.key.as_str(), " [", verdict, ": ", x.reason.as_str(), "]\n"] {
            block.push_str(piece);
        }
        let mut after = false;
        for d in plan.dependencies(node) {
            block.push_str(if after { ", " } else { "   after: " });
            block.push_str(&plan.task(d).key);
            after = true;
        }
        if after {
            block.push('\n');
        }
        block.push_str("   dir: ");
        block.push_str(&t.dir.to_string_lossy());
        block.push('\n');
        for (sh, _) in &t.preconditions {
            let _ = writeln!(block, "   precondition: {}", masker.mask(sh));
        }
        for s in &t.status {
            let _ = writeln!(block, "   status: {}", masker.mask(s));
        }
        let cmds = if e.mode == RunMode::Recovery { opsrun_engine::repair_commands(t).0 } else { &t.cmds };
        for c in cmds {
            match &c.kind {
                ResolvedCmdKind::Shell(s) => {
                    for (j, line) in masker.mask(s).lines().enumerate() {
                        block.push_str(if j == 0 { "   $ " } else { "     " });
                        block.push_str(line);
                        block.push('\n');
                    }
                }
                ResolvedCmdKind::Task { name, .. } => {
                    let _ = writeln!(block, "   → task {name}");
                }
            }
        }
        if let Some(h) = &t.health {
            let _ = writeln!(
                block,
                "   gate: {} (every {}, timeout {}, {} passes)",
                masker.mask(&h.probe.describe()),
                opsrun_spec::format_duration(h.interval),
                opsrun_spec::format_duration(h.timeout),
                h.success_threshold
            );
        }
        let _ = out.write_all(block.as_bytes());
    }
}

/// Asks for every `confirm` of a task expected to run. Refuses without a terminal.
fn confirm(ctx: &Context, plan: &Plan, explanations: &[opsrun_engine::Explanation], e: &Execution) -> Result<()> {
    let questions: Vec<(String, String)> = plan
        .order()
        .iter()
        .zip(explanations)
        .filter(|(_, x)| x.will_run)
        .filter_map(|(&n, _)| plan.task(n).confirm.clone().map(|q| (plan.task(n).key.clone(), q)))
        .collect();
    for (task, q) in questions {
        let refusal = format!("task `{task}` needs confirmation (\"{q}\")");
        require_confirmation(ctx, e.exec.yes, &format!("{task}: {q}"), &refusal)?;
    }
    Ok(())
}

/// Asks a yes/no question on the terminal.
fn ask(question: &str) -> bool {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Records which variables a pipeline run was given on the command line: names only, never
/// values (a value could be a credential). `status` and `emergency-recovery` remind the operator
/// to pass them again: at 2 a.m. a forgotten `NODES=...` probes the wrong machines.
fn remember_var_names(state_dir: &std::path::Path, pipeline: &str, vars: &IndexMap<String, String>) {
    let names: Vec<&String> = vars.keys().collect();
    let path = state_dir.join("vars").join(format!("{}.json", opsrun_engine::file_name(pipeline)));
    if let Some(dir) = path.parent()
        && opsrun_engine::fs::create_dir(dir).is_ok()
    {
        let _ = opsrun_engine::fs::write_atomic(&path, &serde_json::to_vec(&names).unwrap_or_default(), None);
    }
}

/// A reminder when the last run of `pipeline` was given variables that are not given now.
pub(crate) fn forgotten_vars_hint(
    state_dir: &std::path::Path,
    pipeline: &str,
    vars: &IndexMap<String, String>,
) -> Option<String> {
    let path = state_dir.join("vars").join(format!("{}.json", opsrun_engine::file_name(pipeline)));
    let last: Vec<String> = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let missing: Vec<&String> = last.iter().filter(|n| !vars.contains_key(*n)).collect();
    (!missing.is_empty()).then(|| {
        let list = missing.iter().map(|n| format!("{n}=...")).collect::<Vec<_>>().join(" ");
        format!(
            "note: the last `{pipeline}` run was given {list} on the command line; pass them again if they still apply"
        )
    })
}
