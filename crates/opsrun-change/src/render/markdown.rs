//! GitHub-flavoured Markdown for a pull-request comment.

use std::fmt::Write as _;

use crate::render::{summary, unclassified_note};
use crate::verdict::Verdict;

/// The verdict as GitHub-flavoured Markdown: a table of files, then the overall verdict,
/// the procedure and the checklists as task lists.
pub fn render_markdown(verdict: &Verdict) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### opsrun classify: {}\n", summary(verdict));

    if verdict.files.is_empty() {
        out.push_str("No changed files.\n");
    } else {
        out.push_str("| path | phase | component | risk | rule |\n");
        out.push_str("|---|---|---|---|---|\n");
        for file in &verdict.files {
            let path = code(&file.path);
            match &file.classification {
                Some(c) => {
                    let _ = writeln!(
                        out,
                        "| {path} | {} | {} | {} | {} |",
                        c.phase.label(),
                        cell(&c.component),
                        c.risk,
                        code(&c.rule)
                    );
                }
                None => {
                    let _ = writeln!(out, "| {path} | **unclassified** | | | |");
                }
            }
        }
    }

    out.push('\n');
    let risk = verdict.risk.map_or_else(|| "none".to_owned(), |r| r.to_string());
    let approval = verdict.approval.map_or_else(|| "none".to_owned(), |a| a.to_string());
    let _ = writeln!(out, "**Phase:** {} · **Risk:** {risk} · **Approval:** {approval}", verdict.phase.label());
    if let Some(note) = unclassified_note(verdict) {
        let list: Vec<String> = verdict.unclassified.iter().map(|p| code(p)).collect();
        let _ = writeln!(out, "\n> [!WARNING]\n> {note}: {}", list.join(", "));
    }

    let procedure = &verdict.procedure;
    if let Some(steps) = &procedure.emergency {
        out.push_str("\n#### Emergency path\n\n");
        for (i, step) in steps.iter().enumerate() {
            let _ = writeln!(out, "{}. {step}", i + 1);
        }
    }
    if let Some(bootstrap) = &procedure.bootstrap {
        out.push_str("\n#### Bootstrap part (apply first)\n\n");
        out.push_str("Pre-change validation:\n\n");
        shell(&mut out, &bootstrap.pre_change);
        if !bootstrap.tasks.is_empty() {
            let tasks: Vec<String> = bootstrap.tasks.iter().map(|t| code(t)).collect();
            let _ = writeln!(out, "\nTasks, in DAG order: {}", tasks.join(", "));
        }
        out.push_str("\nApply:\n\n");
        shell(&mut out, &bootstrap.commands);
    }
    if let Some(gitops) = &procedure.gitops {
        out.push_str("\n#### GitOps part\n\n");
        shell(&mut out, &gitops.steps);
        out.push_str("\nRollback:\n\n");
        shell(&mut out, &gitops.rollback);
    }
    for (title, items) in [
        ("Pre-change checklist", &verdict.checklists.pre_change),
        ("Post-change checklist", &verdict.checklists.post_change),
    ] {
        if !items.is_empty() {
            let _ = writeln!(out, "\n#### {title}\n");
            for item in items {
                let _ = writeln!(out, "- [ ] {item}");
            }
        }
    }
    out
}

fn shell(out: &mut String, lines: &[String]) {
    out.push_str("```sh\n");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("```\n");
}

/// Text for a table cell: pipes escaped, newlines flattened.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// An inline code span that survives backticks and pipes inside a table.
fn code(text: &str) -> String {
    let text = cell(text);
    if text.contains('`') { format!("`` {text} ``") } else { format!("`{text}`") }
}
