//! Plain-text output for a terminal.

use std::fmt::Write as _;

use crate::render::{summary, unclassified_note};
use crate::verdict::Verdict;

/// The verdict as aligned plain text.
pub fn render_text(verdict: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Change: {}", summary(verdict));

    if !verdict.files.is_empty() {
        let rows: Vec<[String; 5]> = verdict
            .files
            .iter()
            .map(|f| match &f.classification {
                Some(c) => {
                    [f.path.clone(), c.phase.to_string(), c.component.clone(), c.risk.to_string(), c.rule.clone()]
                }
                None => [f.path.clone(), "unclassified".to_owned(), "-".to_owned(), "-".to_owned(), "-".to_owned()],
            })
            .collect();
        let header = ["path", "phase", "component", "risk", "rule"].map(str::to_owned);
        let mut widths = [0usize; 5];
        for row in std::iter::once(&header).chain(&rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        out.push_str("\nFiles\n");
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::from("  ");
            for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell:width$}  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }

    if let Some(note) = unclassified_note(verdict) {
        let _ = writeln!(out, "\nUnclassified: {note}:");
        for path in &verdict.unclassified {
            let _ = writeln!(out, "  {path}");
        }
    }

    let mut reasons: Vec<(&str, &str)> = verdict
        .classified()
        .map(|(_, c)| (c.rule.as_str(), c.reason.as_str()))
        .filter(|(_, reason)| !reason.is_empty())
        .collect();
    reasons.dedup();
    let mut seen = Vec::new();
    reasons.retain(|(rule, _)| {
        let new = !seen.contains(rule);
        seen.push(rule);
        new
    });
    if !reasons.is_empty() {
        out.push_str("\nWhy\n");
        for (rule, reason) in reasons {
            let _ = writeln!(out, "  {rule}: {reason}");
        }
    }

    let procedure = &verdict.procedure;
    if let Some(steps) = &procedure.emergency {
        out.push_str("\nEmergency path\n");
        numbered(&mut out, "  ", steps);
    }
    if let Some(bootstrap) = &procedure.bootstrap {
        out.push_str("\nBootstrap part (apply first, by running tasks)\n");
        out.push_str("  Pre-change validation:\n");
        commands(&mut out, &bootstrap.pre_change);
        if !bootstrap.tasks.is_empty() {
            let _ = writeln!(out, "  Tasks, in DAG order: {}", bootstrap.tasks.join(", "));
        }
        out.push_str("  Apply:\n");
        commands(&mut out, &bootstrap.commands);
    }
    if let Some(gitops) = &procedure.gitops {
        out.push_str("\nGitOps part (through Git and Flux)\n");
        out.push_str("  Steps:\n");
        commands(&mut out, &gitops.steps);
        out.push_str("  Rollback:\n");
        commands(&mut out, &gitops.rollback);
    }

    for (title, items) in [
        ("Pre-change checklist", &verdict.checklists.pre_change),
        ("Post-change checklist", &verdict.checklists.post_change),
    ] {
        if !items.is_empty() {
            let _ = writeln!(out, "\n{title}");
            for item in items {
                let _ = writeln!(out, "  [ ] {item}");
            }
        }
    }
    out
}

fn commands(out: &mut String, lines: &[String]) {
    for line in lines {
        // Manual steps are written as shell comments; a prompt in front would suggest typing them.
        let prompt = if line.starts_with('#') { "" } else { "$ " };
        let _ = writeln!(out, "    {prompt}{line}");
    }
}

fn numbered(out: &mut String, indent: &str, lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        let _ = writeln!(out, "{indent}{}. {line}", i + 1);
    }
}
