//! `opsrun report` (one run as an HTML page or Markdown) and `opsrun runs --compare A B`: both
//! read runs' journals and fold them with `opsrun_report::RunTimeline`.

use std::io::Write as _;

use opsrun_engine::{list_runs, read_journal};
use opsrun_report::RunTimeline;
use serde::Serialize;

use crate::args::{Cli, ReportArgs};
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit;

/// The timeline of `run` (default: the latest run).
fn timeline(ctx: &Context, run: Option<&str>) -> Result<RunTimeline> {
    let state_dir = ctx.state_dir();
    let run = match run {
        Some(r) => r.to_owned(),
        None => list_runs(&state_dir)
            .pop()
            .map(|r| r.id)
            .ok_or_else(|| CliError::Usage(format!("no run recorded in {} yet", state_dir.display())))?,
    };
    let events = read_journal(&state_dir, &run).map_err(|e| {
        CliError::Usage(format!("no journal for run `{run}` ({e})\n  help: `opsrun runs` lists the recorded runs"))
    })?;
    Ok(RunTimeline::from_events(&events))
}

/// `opsrun report [RUN] [--html | --format md|html] [--out FILE]`.
pub(crate) fn report(cli: &Cli, ctx: &Context, args: &ReportArgs) -> Result<u8> {
    let t = timeline(ctx, args.run.as_deref())?;
    let text = if cli.output == "json" {
        format!("{}\n", serde_json::to_string_pretty(&t).unwrap_or_default())
    } else if args.html || args.format.as_deref() == Some("html") {
        opsrun_report::render_html(&t)
    } else {
        opsrun_report::render_markdown(&t)
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| CliError::Usage(format!("cannot write `{}`: {e}", path.display())))?;
            eprintln!("wrote the report of run {} to {}", t.run, path.display());
        }
        None => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    Ok(exit::OK)
}

/// One task of a comparison.
#[derive(Debug, Serialize)]
struct Compared {
    task: String,
    a_ms: Option<u64>,
    b_ms: Option<u64>,
    /// B minus A, when both ran.
    delta_ms: Option<i64>,
    a_outcome: Option<opsrun_event::TaskOutcome>,
    b_outcome: Option<opsrun_event::TaskOutcome>,
    /// Why it ran in B, and the fingerprint parts that changed.
    b_reason: Option<String>,
    b_changed: Vec<String>,
}

/// `opsrun runs --compare A B`: per task, the durations in both runs (slowest growth first),
/// the outcomes, and in B why it ran and what changed.
pub(crate) fn compare(cli: &Cli, ctx: &Context, a: &str, b: &str) -> Result<u8> {
    let (ta, tb) = (timeline(ctx, Some(a))?, timeline(ctx, Some(b))?);
    let mut names: Vec<&str> = ta.tasks.iter().map(|t| t.task.as_str()).collect();
    for t in &tb.tasks {
        if !names.contains(&t.task.as_str()) {
            names.push(&t.task);
        }
    }
    let mut rows: Vec<Compared> = names
        .into_iter()
        .map(|name| {
            let (x, y) = (ta.tasks.iter().find(|t| t.task == name), tb.tasks.iter().find(|t| t.task == name));
            let (a_ms, b_ms) =
                (x.and_then(opsrun_report::TaskSpan::duration_ms), y.and_then(opsrun_report::TaskSpan::duration_ms));
            Compared {
                task: name.to_owned(),
                a_ms,
                b_ms,
                delta_ms: a_ms
                    .zip(b_ms)
                    .map(|(a, b)| i64::try_from(b).unwrap_or(i64::MAX) - i64::try_from(a).unwrap_or(i64::MAX)),
                a_outcome: x.and_then(|t| t.outcome),
                b_outcome: y.and_then(|t| t.outcome),
                b_reason: y.and_then(|t| t.reason.clone().or_else(|| t.skipped.clone())),
                b_changed: y.map(|t| t.changed.clone()).unwrap_or_default(),
            }
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.delta_ms.unwrap_or(i64::MIN)));
    let mut out = std::io::stdout().lock();
    if cli.output == "json" {
        let json = serde_json::json!({
            "a": { "run": ta.run, "name": ta.name, "duration_ms": ta.duration_ms, "outcome": ta.outcome },
            "b": { "run": tb.run, "name": tb.name, "duration_ms": tb.duration_ms, "outcome": tb.outcome },
            "tasks": rows,
        });
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&json).unwrap_or_default());
        return Ok(exit::OK);
    }
    let ms = |v: Option<u64>| {
        v.map_or_else(|| "-".to_owned(), |v| opsrun_spec::format_duration(std::time::Duration::from_millis(v)))
    };
    let label = |o: Option<opsrun_event::TaskOutcome>| o.map_or("-", opsrun_event::TaskOutcome::label);
    let _ = writeln!(out, "A: run {} ({}), {}", ta.run, ta.name, ms(Some(ta.duration_ms)));
    let _ = writeln!(out, "B: run {} ({}), {}", tb.run, tb.name, ms(Some(tb.duration_ms)));
    let delta = ta.duration_ms.cast_signed() - tb.duration_ms.cast_signed();
    let _ = writeln!(out, "B took {} {}\n", ms(Some(delta.unsigned_abs())), if delta < 0 { "longer" } else { "less" });
    let width = rows.iter().map(|r| r.task.chars().count()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "{:width$}  {:>9}  {:>9}  {:>10}  {:<26}  in B: why it ran / what changed",
        "task", "A", "B", "change", "outcome A → B"
    );
    for r in &rows {
        let change = r.delta_ms.map_or_else(
            || "-".to_owned(),
            |d| format!("{}{}", if d >= 0 { "+" } else { "-" }, ms(Some(d.unsigned_abs()))),
        );
        let outcome = format!("{} → {}", label(r.a_outcome), label(r.b_outcome));
        let mut why = r.b_reason.clone().unwrap_or_default();
        if !r.b_changed.is_empty() {
            why = format!("{why}: {} changed", r.b_changed.join(", "));
        }
        let _ = writeln!(
            out,
            "{:width$}  {:>9}  {:>9}  {change:>10}  {outcome:<26}  {why}",
            r.task,
            ms(r.a_ms),
            ms(r.b_ms)
        );
    }
    Ok(exit::OK)
}
