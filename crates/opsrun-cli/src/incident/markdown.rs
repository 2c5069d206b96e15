//! The incident record as a Markdown document: a heading per part, one per timeline entry, with
//! what the operator typed or opsrun recorded escaped so that it reads as text (a reason with
//! `*` or `|` stays a reason) and commands in code spans.

use std::fmt::Write as _;
use std::time::Duration;

use opsrun_spec::format_duration;

use super::window::fmt;
use super::{CommandRun, Entry, IncidentReport, StageState, TaskRun};
use crate::gitops::record::{AuditEntry, CheckRecord};

/// Renders the whole record.
pub(crate) fn render(report: &IncidentReport) -> String {
    let mut out = String::new();
    let w = &mut out;
    let g = &report.generated;
    let _ = writeln!(w, "# Incident record\n");
    let _ = writeln!(
        w,
        "- **Window:** {} to {} ({})",
        fmt(report.window.from),
        fmt(report.window.to),
        code(&report.window.selected_by)
    );
    let _ = writeln!(
        w,
        "- **Written:** {} by {} with opsrun {}",
        fmt(g.at),
        text(&format!("{}@{}", g.user, g.host)),
        g.opsrun
    );
    let _ = writeln!(w, "- **Tasks file:** {}\n", code(&g.tasks_file));

    let s = &report.summary;
    let _ = writeln!(w, "## Summary\n");
    let _ = writeln!(
        w,
        "- {} ({} not operational), {}, {} other {}",
        count(s.assessments, "assessment"),
        s.unhealthy_assessments,
        count(s.recoveries, "emergency recovery"),
        s.runs,
        if s.runs == 1 { "run" } else { "runs" }
    );
    if s.overrides.is_empty() {
        let _ = writeln!(w, "- no GitOps overrides");
    } else {
        let names: Vec<String> = s.overrides.iter().map(|n| code(n)).collect();
        let _ = writeln!(w, "- {} on {}", count(s.override_actions, "override action"), names.join(", "));
    }
    if report.unaligned.is_empty() {
        let _ = writeln!(w, "- every override is aligned: Git and the cluster agree, GitOps is in charge");
    } else {
        let names: Vec<String> = report.unaligned.iter().map(|u| code(&u.name)).collect();
        let _ = writeln!(w, "- **not aligned yet:** {}", names.join(", "));
    }

    let _ = writeln!(w, "\n## Timeline\n");
    if report.timeline.is_empty() {
        let _ = writeln!(w, "opsrun journaled nothing in this window.");
    }
    for entry in &report.timeline {
        timeline_entry(w, entry);
    }

    let _ = writeln!(w, "\n## Not aligned yet\n");
    if report.unaligned.is_empty() {
        let _ = writeln!(w, "Nothing: every override opsrun knows of is aligned.");
    }
    for u in &report.unaligned {
        let _ = writeln!(
            w,
            "- {}: {} {} ago (since {}); suspended by {} for: {}",
            code(&u.name),
            u.stage.label(),
            u.age,
            fmt(u.since),
            text(&u.suspended_by),
            text(&u.reason)
        );
        for p in &u.problems {
            let _ = writeln!(w, "  - {}", text(p));
        }
    }

    let _ = writeln!(w, "\n## For the post-incident review\n");
    let _ = writeln!(
        w,
        "To be answered by the review: the post-emergency procedures of the Bootstrap vs GitOps framework, as questions."
    );
    for section in &report.review {
        let _ = writeln!(w, "\n### {}\n", section.title);
        for (i, q) in section.questions.iter().enumerate() {
            let _ = writeln!(w, "{}. {}\n\n   _Answer:_ {}\n", i + 1, text(q.question), text(&q.answer));
        }
    }
    // Each part ends with a blank line and the next may start with one: keep one.
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn timeline_entry(w: &mut String, entry: &Entry) {
    let time = entry.ts().strftime("%Y-%m-%d %H:%M:%S UTC").to_string();
    match entry {
        Entry::Assessment { user, host, command, pipeline, operational, unhealthy, duration_ms, .. } => {
            let verdict = if *operational { "operational" } else { "NOT operational" };
            let _ = writeln!(w, "### {time}: assessment of {}: {verdict}\n", code(pipeline));
            let _ =
                writeln!(w, "- **Who:** {} (`opsrun {}`, took {})", who(user, host), text(command), took(*duration_ms));
            if !unhealthy.is_empty() {
                let _ = writeln!(w, "- **Unhealthy:** {}", stages(unhealthy));
            }
        }
        Entry::Recovery {
            user,
            host,
            pipeline,
            outcome,
            broken,
            plan,
            run,
            tasks,
            still_unhealthy,
            duration_ms,
            ..
        } => {
            let _ = writeln!(w, "### {time}: emergency recovery of {}: {}\n", code(pipeline), text(outcome));
            let run = run.as_deref().map(|r| format!(", run {}", code(r))).unwrap_or_default();
            let _ = writeln!(w, "- **Who:** {}{run}", who(user, host));
            if let Some(ms) = duration_ms {
                let _ = writeln!(w, "- **Took:** {}", took(*ms));
            }
            let _ = writeln!(w, "- **Broken:** {}", stages(broken));
            let plan: Vec<String> = plan.iter().map(|p| code(p)).collect();
            let _ = writeln!(w, "- **Plan:** {}", plan.join(" → "));
            task_runs(w, tasks);
            if still_unhealthy.is_empty() {
                let _ = writeln!(w, "- **After:** every layer healthy");
            } else {
                let names: Vec<String> = still_unhealthy.iter().map(|s| code(s)).collect();
                let _ = writeln!(w, "- **After:** still unhealthy: {}", names.join(", "));
            }
        }
        Entry::Run { run, name, mode, outcome, tasks, duration_ms, .. } => {
            let _ = writeln!(w, "### {time}: {} {}: {}\n", text(mode), code(name), text(outcome));
            let took = duration_ms.map(|ms| format!(", took {}", took(ms))).unwrap_or_default();
            let _ = writeln!(w, "- **Run:** {}{took}", code(run));
            task_runs(w, tasks);
        }
        Entry::Override(a) => override_entry(w, &time, a),
    }
    let _ = writeln!(w);
}

fn override_entry(w: &mut String, time: &str, a: &AuditEntry) {
    let outcome = match (a.action.as_str(), a.ok) {
        ("align", true) => "aligned".to_string(),
        ("align", false) => "not aligned yet".to_string(),
        (_, true) => "done".to_string(),
        (_, false) if !a.problems.is_empty() => "refused".to_string(),
        (_, false) => "failed".to_string(),
    };
    let _ = writeln!(w, "### {time}: override {} {}: {outcome}\n", text(&a.action), code(&a.name));
    let _ = writeln!(w, "- **Who:** {}", who(&a.user, &a.host));
    if let Some(reason) = &a.reason {
        let _ = writeln!(w, "- **Reason:** {}", text(reason));
    }
    for c in &a.checks {
        let _ = writeln!(w, "- **Check:** {}", check(c));
    }
    if !a.drift.is_empty() {
        let objects: Vec<String> = a.drift.iter().map(|o| code(o)).collect();
        let _ = writeln!(w, "- **Drift:** {}", objects.join(", "));
    }
    if a.allow_revert {
        let _ = writeln!(w, "- **`--allow-revert`:** the operator accepted that Flux reverts the drift");
    }
    if a.action != "align" {
        let ran = if a.ok || a.exit_code.is_some() {
            format!(" → exit {}", a.exit_code.map_or("-".into(), |c| c.to_string()))
        } else {
            " (not run)".to_string()
        };
        let _ = writeln!(w, "- **Command:** {}{ran}", code(&a.command));
    }
    if let Some(revision) = &a.revision {
        let _ = writeln!(w, "- **Applied revision:** {}", code(revision));
    }
    for p in &a.problems {
        let _ = writeln!(w, "- **Problem:** {}", text(p));
    }
    if let Some(ms) = a.duration_ms {
        let _ = writeln!(w, "- **Took:** {}", took(ms));
    }
}

fn task_runs(w: &mut String, tasks: &[TaskRun]) {
    if tasks.is_empty() {
        return;
    }
    let _ = writeln!(w, "- **Commands:**");
    for t in tasks {
        let message = t.message.as_deref().map(|m| format!(": {}", text(m))).unwrap_or_default();
        let _ = writeln!(w, "  - {} {} in {}{message}", code(&t.task), text(&t.outcome), took(t.duration_ms));
        for c in &t.commands {
            command(w, c);
        }
    }
}

/// A command as a list item: a code span when it is one line, else a fenced block (a script
/// joined into one line would read as different shell).
fn command(w: &mut String, c: &CommandRun) {
    let exit = c.exit_code.map_or_else(|| text(&c.status), |code| format!("exit {code}"));
    let script = c.command.trim();
    if !script.contains('\n') {
        let _ = writeln!(w, "    - {} → {exit} in {}", code(script), took(c.duration_ms));
        return;
    }
    let _ = writeln!(w, "    - {exit} in {}:", took(c.duration_ms));
    let longest = script.split(|ch| ch != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(w, "      {fence}sh");
    for line in script.lines() {
        let _ = writeln!(w, "      {}", line.trim_end());
    }
    let _ = writeln!(w, "      {fence}");
}

fn check(c: &CheckRecord) -> String {
    match &c.command {
        Some(cmd) => format!("{}: {} → {} ({})", text(&c.what), code(cmd), text(&c.outcome), took(c.duration_ms)),
        None => format!("{}: {}", text(&c.what), text(&c.outcome)),
    }
}

fn stages(rows: &[StageState]) -> String {
    if rows.is_empty() {
        return "none".into();
    }
    rows.iter()
        .map(|s| format!("{} {} ({})", code(&s.stage), text(&s.health), text(&s.detail)))
        .collect::<Vec<_>>()
        .join("; ")
}

fn who(user: &str, host: &str) -> String {
    text(&format!("{user}@{host}"))
}

fn took(ms: u64) -> String {
    format_duration(Duration::from_millis(ms))
}

fn count(n: usize, what: &str) -> String {
    match (n, what) {
        (1, _) => format!("1 {what}"),
        (_, w) if w.ends_with('y') => format!("{n} {}ies", &w[..w.len() - 1]),
        _ => format!("{n} {what}s"),
    }
}

/// Text on one line with Markdown's special characters escaped.
pub(crate) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.split_whitespace().collect::<Vec<_>>().join(" ").chars() {
        if "\\`*_[]<>|#!~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A code span on one line, fenced with more backticks than it contains in a row.
pub(crate) fn code(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if s.starts_with('`') || s.ends_with('`') || longest > 0 {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_kept_on_one_line() {
        assert_eq!(text("a *b* | c\nd_e <x>"), "a \\*b\\* \\| c d\\_e \\<x\\>");
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("flux diff"), "`flux diff`");
        assert_eq!(code("echo `id`"), "`` echo `id` ``");
        assert_eq!(code("a\nb"), "`a b`");
    }

    #[test]
    fn counts_read_naturally() {
        assert_eq!(count(1, "emergency recovery"), "1 emergency recovery");
        assert_eq!(count(2, "emergency recovery"), "2 emergency recoveries");
        assert_eq!(count(0, "assessment"), "0 assessments");
    }
}
