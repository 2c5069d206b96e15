//! `opsrun status` and `opsrun emergency-recovery`: assess every layer once, and repair from
//! the first broken one.

use std::io::Write;
use std::sync::Arc;

use indexmap::IndexMap;
use opsrun_engine::{
    Masker, ProbeRegistry, RecordStatus, RecoveryStep, StageHealth, State, assess, plan_recovery, repair_commands,
};
use opsrun_event::{ProbeVerdict, RunMode};
use opsrun_plan::{Plan, PlanOptions};
use opsrun_spec::{ResolvedCmdKind, Resolver};
use serde::Serialize;

use crate::args::{Cli, RecoveryArgs, StatusArgs};
use crate::context::{Context, split_items};
use crate::error::{CliError, Result};
use crate::execute::{exit_code, require_confirmation, run_plan};
use crate::exit;
use crate::journals::{AssessmentRecord, RecoveryRecord, assessments_path, recoveries_path};

/// A pipeline's plan and its assessment.
struct Assessment {
    plan: Plan,
    stages: Vec<StageHealth>,
    masker: Masker,
    started: jiff::Timestamp,
    took: std::time::Duration,
}

impl Assessment {
    fn first_unhealthy(&self) -> Option<&StageHealth> {
        self.stages.iter().find(|s| s.gate.is_some() && !s.healthy())
    }

    fn operational(&self) -> bool {
        self.first_unhealthy().is_none()
    }
}

fn pipeline_targets(ctx: &Context, name: &str) -> Result<Vec<String>> {
    ctx.spec.pipelines.get(name).map(|p| p.targets.clone()).ok_or_else(|| {
        let names: Vec<&str> = ctx.spec.pipelines.keys().map(String::as_str).collect();
        CliError::Usage(format!(
            "no pipeline `{name}` in {} (pipelines: {})",
            ctx.spec.file.display(),
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        ))
    })
}

fn assess_pipeline(ctx: &Context, pipeline: &str, vars: IndexMap<String, String>) -> Result<Assessment> {
    let targets = pipeline_targets(ctx, pipeline)?;
    let started = jiff::Timestamp::now();
    let clock = std::time::Instant::now();
    if let Some(hint) = crate::execute::forgotten_vars_hint(&ctx.state_dir(), pipeline, &vars) {
        eprintln!("{hint}");
    }
    let resolver = Resolver::new(&ctx.spec, ctx.invocation(vars, &[]));
    let plan = Plan::build(&resolver, &targets, &PlanOptions { allow_internal: true, ..PlanOptions::default() })?;
    let masker = plan.masker().clone();
    let plan_arc = Arc::new(plan);
    let stages = crate::runtime()?.block_on(assess(Arc::clone(&plan_arc), &ProbeRegistry::new()));
    let plan = Arc::try_unwrap(plan_arc).unwrap_or_else(|arc| (*arc).clone());
    Ok(Assessment { plan, stages, masker, started, took: clock.elapsed() })
}

/// Journals an assessment when it found something unhealthy, or when it is the first healthy
/// one after an unhealthy one: an incident's detection and its end, without a line for every
/// routine `opsrun status` of a healthy cluster.
fn journal_assessment(ctx: &Context, command: &str, pipeline: &str, a: &Assessment) -> Result<()> {
    let path = assessments_path(&ctx.state_dir());
    if a.operational() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let last = text.lines().rev().find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
        if last.is_none_or(|l| l["operational"] == true) {
            return Ok(());
        }
    }
    let record = AssessmentRecord {
        ts: a.started,
        user: opsrun_engine::user_name(),
        host: opsrun_engine::host_name(),
        command: command.to_string(),
        pipeline: pipeline.to_string(),
        operational: a.operational(),
        stages: a
            .stages
            .iter()
            .filter(|s| s.gate.is_some())
            .map(|s| (s.task.clone(), health_label(s.verdict).to_string(), s.detail.clone()))
            .collect(),
        duration_ms: u64::try_from(a.took.as_millis()).unwrap_or(u64::MAX),
    };
    crate::gitops::record::append_jsonl(&path, &record)
}

fn health_label(v: Option<ProbeVerdict>) -> &'static str {
    match v {
        Some(ProbeVerdict::Pass) => "healthy",
        Some(ProbeVerdict::NotReady) => "not ready",
        Some(ProbeVerdict::Error) => "error",
        Some(ProbeVerdict::Failed) => "failed",
        Some(_) => "unknown",
        None => "-",
    }
}

fn last_outcome(state: &State, task: &str) -> String {
    let Some(r) = state.tasks.get(task) else { return "never ran".into() };
    let status = match r.status {
        RecordStatus::Succeeded => "ok",
        RecordStatus::Failed => "failed",
        RecordStatus::Running => "running (opsrun stopped)",
        RecordStatus::Interrupted => "interrupted",
        _ => "unknown",
    };
    let when = r.finished.unwrap_or(r.started);
    format!("{status} {} ago", age(when))
}

/// A compact age: `45s`, `12m`, `3h`, `2d`.
pub(crate) fn age(then: jiff::Timestamp) -> String {
    let secs = jiff::Timestamp::now().as_second().saturating_sub(then.as_second()).max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn table(stages: &[StageHealth], state: &State, extra: Option<(&str, &[StageHealth])>) -> String {
    let gated: Vec<&StageHealth> = stages.iter().filter(|s| s.gate.is_some()).collect();
    let w = gated.iter().map(|s| s.task.len()).max().unwrap_or(5).max(5);
    let mut out = String::new();
    match extra {
        None => {
            out.push_str(&format!("{:w$}  {:<24} {:<10} detail\n", "stage", "last run", "health"));
            for s in &gated {
                out.push_str(&format!(
                    "{:w$}  {:<24} {:<10} {}\n",
                    s.task,
                    last_outcome(state, &s.task),
                    health_label(s.verdict),
                    one_line(&s.detail)
                ));
            }
        }
        Some((label, after)) => {
            out.push_str(&format!("{:w$}  {:<10} {:<10} detail ({label})\n", "stage", "before", "after"));
            for s in &gated {
                let a = after.iter().find(|x| x.task == s.task);
                out.push_str(&format!(
                    "{:w$}  {:<10} {:<10} {}\n",
                    s.task,
                    health_label(s.verdict),
                    health_label(a.and_then(|x| x.verdict)),
                    one_line(a.map_or(&s.detail, |x| &x.detail))
                ));
            }
        }
    }
    out
}

fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(79).collect::<String>())
    } else {
        line.to_string()
    }
}

#[derive(Serialize)]
struct StatusJson<'a> {
    pipeline: &'a str,
    operational: bool,
    first_unhealthy: Option<&'a str>,
    stages: Vec<StageJson<'a>>,
}

#[derive(Serialize)]
struct StageJson<'a> {
    task: &'a str,
    gate: Option<&'a str>,
    health: &'static str,
    detail: &'a str,
    last: Option<&'a opsrun_engine::TaskRecord>,
}

/// `opsrun status [PIPELINE]`.
pub(crate) fn status(cli: &Cli, ctx: &Context, args: &StatusArgs) -> Result<u8> {
    let (names, vars) =
        split_items(args.pipeline.iter().chain(args.vars.iter()).cloned().collect::<Vec<_>>().as_slice())?;
    let pipeline = names.first().cloned().unwrap_or_else(|| "bootstrap".into());
    if cli.output != "json" {
        eprintln!("checking the health gates of `{pipeline}` once (each within its probe timeout)…");
    }
    let a = assess_pipeline(ctx, &pipeline, vars)?;
    journal_assessment(ctx, "status", &pipeline, &a)?;
    let state = crate::context::load_state(ctx);
    let mut out = crate::masked::stdout(&a.masker);
    if cli.output == "json" {
        let json = StatusJson {
            pipeline: &pipeline,
            operational: a.operational(),
            first_unhealthy: a.first_unhealthy().map(|s| s.task.as_str()),
            stages: a
                .stages
                .iter()
                .filter(|s| s.gate.is_some())
                .map(|s| StageJson {
                    task: &s.task,
                    gate: s.gate.as_deref(),
                    health: health_label(s.verdict),
                    detail: &s.detail,
                    last: state.tasks.get(&s.task),
                })
                .collect(),
        };
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&json).unwrap_or_default());
    } else {
        let _ = writeln!(out, "{pipeline}: health of every stage, checked once now\n");
        let _ = write!(out, "{}", table(&a.stages, &state, None));
        let _ = writeln!(out);
        match a.first_unhealthy() {
            None => {
                let _ = writeln!(out, "cluster is operational: every stage is healthy");
            }
            Some(s) => {
                let _ = writeln!(
                    out,
                    "cluster is NOT operational: first unhealthy layer is `{}` ({})",
                    s.task,
                    health_label(s.verdict)
                );
                let _ = writeln!(out, "  next: `opsrun emergency-recovery --assess-only` to see the recovery plan");
            }
        }
    }
    Ok(if a.operational() { exit::OK } else { exit::UNHEALTHY })
}

/// For `classify --probe`: is the cluster operational?
pub(crate) fn probe_outcome(ctx: &Context) -> Result<opsrun_change::ProbeOutcome> {
    let a = assess_pipeline(ctx, "bootstrap", IndexMap::new())?;
    let unhealthy = a
        .stages
        .iter()
        .filter(|s| s.gate.is_some() && !s.healthy())
        .map(|s| (s.task.clone(), s.detail.clone()))
        .collect();
    Ok(opsrun_change::ProbeOutcome { operational: a.operational(), unhealthy })
}

/// `opsrun emergency-recovery`.
#[expect(
    clippy::too_many_lines,
    reason = "assess, show the plan, confirm, run, assess again: the recovery procedure in the order an operator reads it"
)]
pub(crate) fn recovery(cli: &Cli, ctx: &Context, args: &RecoveryArgs) -> Result<u8> {
    let (extra, vars) = split_items(&args.vars)?;
    if let Some(x) = extra.first() {
        return Err(CliError::Usage(format!(
            "unexpected argument `{x}`: emergency-recovery takes VAR=value assignments only"
        )));
    }
    let before = assess_pipeline(ctx, &args.pipeline, vars.clone())?;
    journal_assessment(ctx, "emergency-recovery", &args.pipeline, &before)?;
    let state = crate::context::load_state(ctx);
    let mut out = crate::masked::stdout(&before.masker);
    let _ = writeln!(out, "assessment of `{}`, layer by layer:\n", args.pipeline);
    let _ = write!(out, "{}", table(&before.stages, &state, None));
    let _ = writeln!(out);
    let Some(first) = before.first_unhealthy() else {
        let _ = writeln!(out, "every layer is healthy: nothing to recover, nothing was run");
        return Ok(exit::OK);
    };
    let gitops = &ctx.spec.gitops;
    let plan = &before.plan;
    let first_node = first.node;
    let api_down = before.stages.iter().any(|s| s.task == gitops.api_stage && s.gate.is_some() && !s.healthy());
    let flux_node = plan.find(&gitops.stage);
    let below_gitops = flux_node.is_some_and(|f| f == first_node || plan.downstream(&[first_node]).contains(&f));
    let _ = writeln!(
        out,
        "first broken layer: `{}` ({}: {})",
        first.task,
        health_label(first.verdict),
        one_line(&first.detail)
    );
    if api_down {
        let _ = writeln!(
            out,
            "the Kubernetes API (`{}`) is down: GitOps cannot act; the emergency path applies",
            gitops.api_stage
        );
    } else if below_gitops {
        let _ = writeln!(
            out,
            "`{}` is a layer GitOps (`{}`) depends on: GitOps cannot repair it; the emergency path applies",
            first.task, gitops.stage
        );
    }
    let recovery = plan_recovery(plan, &before.stages, args.rerun_downstream)
        .expect("an unhealthy layer was found above, so there is a recovery");
    let (nodes, sub) = (&recovery.stages, &recovery.plan);
    let _ = writeln!(out, "\nrecovery plan ({} stages, in order):", nodes.len());
    for &n in nodes {
        let t = sub.task(n);
        let why = if recovery.step(n) == RecoveryStep::Broken {
            "first broken layer, repaired".to_string()
        } else {
            let deps: Vec<&str> =
                sub.dependencies(n).filter(|d| nodes.contains(d)).map(|d| sub.task(d).key.as_str()).collect();
            let check = match recovery.step(n) {
                RecoveryStep::Rerun => "re-run (--rerun-downstream)",
                RecoveryStep::RepairIfUnhealthy => "repaired only if its gate still fails after that",
                _ => "no gate: always re-run",
            };
            format!("depends on {}; {check}", deps.join(", "))
        };
        let (cmds, recover) = repair_commands(t);
        let which = if recover { "recover" } else { "cmds" };
        let _ = writeln!(out, "  {} ({why}; runs its {which})", t.key);
        for c in cmds {
            match &c.kind {
                ResolvedCmdKind::Shell(s) => {
                    // In full: this is what will change the cluster.
                    for (i, line) in before.masker.mask(s).trim().lines().enumerate() {
                        let _ = writeln!(out, "    {} {}", if i == 0 { "$" } else { " " }, line.trim_end());
                    }
                }
                ResolvedCmdKind::Task { name, .. } => {
                    let _ = writeln!(out, "    → task {name}");
                }
            }
        }
    }
    let _ = out.flush();
    drop(out);
    if args.assess_only || args.exec.dry_run {
        let flag = if args.assess_only { "--assess-only" } else { "--dry-run" };
        println!("\n{flag}: nothing was run");
        return Ok(exit::UNHEALTHY);
    }
    require_confirmation(
        ctx,
        args.exec.yes,
        "run this recovery plan now?",
        "emergency recovery changes the cluster and needs confirmation",
    )?;

    let runner = crate::execute::runner(
        cli,
        &args.exec,
        ctx,
        RunMode::Recovery,
        &format!("emergency-recovery {}", args.pipeline),
    )?
    .resume_command("opsrun emergency-recovery");
    let report = run_plan(cli, ctx, sub.clone(), runner)?;
    let code = exit_code(&report);

    let after = assess_pipeline(ctx, &args.pipeline, vars)?;
    let mut out = crate::masked::stdout(&after.masker);
    let _ = writeln!(out, "\nbefore / after recovery:\n");
    let _ = write!(out, "{}", table(&before.stages, &state, Some(("now", &after.stages))));
    let healthy_now = after.operational();
    let _ = writeln!(
        out,
        "\n{}",
        if healthy_now {
            "every layer is healthy again"
        } else {
            "some layers are still unhealthy: see the table above and `opsrun logs TASK`"
        }
    );
    let outcome = if code == exit::OK && healthy_now {
        "recovered"
    } else if code == exit::OK {
        "ran, still unhealthy"
    } else {
        "failed"
    };
    let record = RecoveryRecord {
        ts: jiff::Timestamp::now(),
        started: Some(before.started),
        duration_ms: u64::try_from(jiff::Timestamp::now().duration_since(before.started).as_millis()).ok(),
        user: opsrun_engine::user_name(),
        host: opsrun_engine::host_name(),
        pipeline: args.pipeline.clone(),
        broken: before
            .stages
            .iter()
            .filter(|s| s.gate.is_some() && !s.healthy())
            .map(|s| (s.task.clone(), health_label(s.verdict).to_string(), s.detail.clone()))
            .collect(),
        plan: nodes.iter().map(|&n| sub.task(n).key.clone()).collect(),
        run: Some(report.run_id.clone()),
        outcome: outcome.to_string(),
        after: after
            .stages
            .iter()
            .filter(|s| s.gate.is_some())
            .map(|s| (s.task.clone(), health_label(s.verdict).to_string()))
            .collect(),
    };
    crate::gitops::record::append_jsonl(&recoveries_path(&ctx.state_dir()), &record)?;
    if code != exit::OK {
        return Ok(code);
    }
    Ok(if healthy_now { exit::OK } else { exit::UNHEALTHY })
}
