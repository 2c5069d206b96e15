//! `opsrun preflight`, and the preflight `bootstrap` and `pipeline` run before their first
//! stage: the engine checks (`opsrun_engine::preflight`), this prints the table.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;

use opsrun_engine::{PreflightReport, ProbeRegistry, StateStore};
use opsrun_plan::{Plan, PlanOptions};
use opsrun_spec::Resolver;

use crate::args::{Cli, PreflightArgs};
use crate::context::{Context, split_items};
use crate::error::{CliError, Result};
use crate::exit;

/// `opsrun preflight [PIPELINE|TASK...] [VAR=value...]`.
pub(crate) fn preflight_cmd(cli: &Cli, ctx: &Context, args: &PreflightArgs) -> Result<u8> {
    let (words, vars) = split_items(&args.items)?;
    let (what, targets, options, resume) = match words.as_slice() {
        [] if ctx.spec.pipelines.contains_key("bootstrap") => pipeline(ctx, "bootstrap", args.fresh),
        [] => {
            return Err(CliError::Usage(format!(
                "no pipeline `bootstrap` in {}: name a pipeline or tasks to check (`opsrun preflight NAME`)",
                ctx.spec.file.display()
            )));
        }
        [one] if ctx.spec.pipelines.contains_key(one.as_str()) => pipeline(ctx, one, args.fresh),
        tasks => (
            format!("run {}", tasks.join(" ")),
            tasks.to_vec(),
            PlanOptions { sequential: true, ..PlanOptions::default() },
            false,
        ),
    };
    // Unmet `requires.vars` are reported in the table with everything else, not as the first
    // error of the plan.
    let resolver = Resolver::new(&ctx.spec, ctx.invocation(vars, &[])).defer_requirements();
    let plan = Plan::build(&resolver, &targets, &options)?;
    let (_, report) = check(ctx, plan, resume, args.force)?;
    let mut out = std::io::stdout().lock();
    if cli.output == "json" {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        let _ = out.write_all(render(&report, &what).as_bytes());
    }
    Ok(if report.passed() { exit::OK } else { exit::PREFLIGHT_FAILED })
}

fn pipeline(ctx: &Context, name: &str, fresh: bool) -> (String, Vec<String>, PlanOptions, bool) {
    let targets = ctx.spec.pipelines.get(name).map(|p| p.targets.clone()).unwrap_or_default();
    (format!("pipeline {name}"), targets, PlanOptions { allow_internal: true, ..PlanOptions::default() }, !fresh)
}

/// Runs the checks on `plan` and gives it back with the report.
pub(crate) fn check(ctx: &Context, plan: Plan, resume: bool, force: bool) -> Result<(Plan, PreflightReport)> {
    // A damaged state stops a resuming run here, with what to do; a run that does not resume
    // sets it aside itself (and says so), so the preflight reads it as empty.
    let store = StateStore::new(ctx.state_dir());
    let state = if resume && !force { store.load()?.0 } else { store.load_lenient().0 };
    let plan = Arc::new(plan);
    let runtime = crate::runtime()?;
    let report = runtime.block_on(opsrun_engine::preflight(
        Arc::clone(&plan),
        &state,
        resume,
        force,
        &ProbeRegistry::default(),
        &ctx.sources,
    ));
    drop(runtime);
    // Every check has finished (and dropped its handle on the plan) when `preflight` returns.
    let plan = Arc::try_unwrap(plan).unwrap_or_else(|shared| (*shared).clone());
    Ok((plan, report))
}

/// The preflight before a pipeline's first stage: nothing is printed when everything passes
/// (but a line on stderr), the table on stderr and an error when something fails.
pub(crate) fn before_run(cli: &Cli, ctx: &Context, plan: Plan, resume: bool, force: bool, what: &str) -> Result<Plan> {
    let (plan, report) = check(ctx, plan, resume, force)?;
    if report.passed() {
        if !cli.quiet && cli.output != "json" && !report.checks.is_empty() {
            let n = report.checks.len();
            eprintln!("preflight: {n} check{} passed", if n == 1 { "" } else { "s" });
        }
        return Ok(plan);
    }
    eprint!("{}", render(&report, what));
    let failed = report.failures().count();
    Err(CliError::Other {
        code: exit::PREFLIGHT_FAILED,
        message: format!(
            "preflight failed ({failed} of {} checks); nothing was run\n  help: fix what the table says, or start anyway with --no-preflight",
            report.checks.len()
        ),
    })
}

/// The table: one row per check, failures marked.
pub(crate) fn render(report: &PreflightReport, what: &str) -> String {
    let mut out = String::new();
    let runs = report.will_run.len();
    let _ = write!(out, "preflight of {what}: {runs} task{} will run", if runs == 1 { "" } else { "s" });
    if !report.skipped.is_empty() {
        let _ = write!(out, ", {} skipped as done (only their gates are checked)", report.skipped.len());
    }
    out.push('\n');
    if report.checks.is_empty() {
        out.push_str("nothing to check: no task that will run declares requirements\n");
        return out;
    }
    let rows: Vec<[String; 5]> = report
        .checks
        .iter()
        .map(|c| {
            [
                c.kind.label().to_owned(),
                clip(&c.subject, 48),
                clip(&c.tasks.join(", "), 32),
                if c.passed { "ok".to_owned() } else { "FAILED".to_owned() },
                c.detail.lines().next().unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    let header = ["check", "subject", "needed by", "result", "detail"].map(str::to_owned);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    out.push('\n');
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let failed = report.failures().count();
    if failed == 0 {
        let _ = writeln!(out, "\npreflight passed: {} checks", report.checks.len());
    } else {
        let _ = writeln!(out, "\npreflight failed: {failed} of {} checks", report.checks.len());
    }
    out
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}
