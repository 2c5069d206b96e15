//! `opsrun override suspend|resume|align|list`: GitOps emergency overrides, from the suspension
//! through a resume that cannot silently revert the emergency fix, to confirmed alignment.
//!
//! Overrides live in `.opsrun/overrides.json` (replaced atomically) with their stage:
//! suspended, resumed (not yet aligned), aligned. Every suspend, resume and alignment check,
//! successful, refused or failed, is appended to `.opsrun/audit.jsonl` (who, when, host,
//! reason, commands, outcomes). Until an override is aligned, every opsrun command warns.

use std::time::Instant;

use opsrun_process::Exit;

use crate::args::OverrideCommand;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit;
use crate::gitops::checks::{Alignment, BeforeResume, Gitops};
use crate::gitops::record::{
    AuditEntry, LastCheck, Milestone, OverrideBook, OverrideRecord, Stage, audit, audit_path, read_jsonl,
};
use crate::status::age;

/// At most this many lines of a drift check's output are shown.
const SHOWN_DIFF_LINES: usize = 200;

/// The one-line warning for each override that is not aligned yet, for every command to print.
pub(crate) fn warnings(ctx: &Context) -> Vec<String> {
    match OverrideBook::new(&ctx.state_dir()).load() {
        Ok(records) => records.iter().filter_map(OverrideRecord::warning).collect(),
        Err(e) => vec![format!("warning: GitOps overrides unknown: {e}")],
    }
}

/// `opsrun override ...`.
pub(crate) fn run(cli: &crate::args::Cli, ctx: &Context, cmd: &OverrideCommand) -> Result<u8> {
    match cmd {
        OverrideCommand::Suspend { name, reason } => suspend(ctx, name, reason.as_deref()),
        OverrideCommand::Resume { name, reason, allow_revert } => resume(ctx, name, reason.as_deref(), *allow_revert),
        OverrideCommand::Align { name } => align(ctx, name),
        OverrideCommand::List { json } => list(ctx, *json || cli.output == "json"),
    }
}

/// A Kubernetes object name (RFC 1123 subdomain): the `[gitops]` commands get it verbatim, so
/// nothing else may reach the shell through it.
fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "`{name}` is not a Kustomization name (lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit)"
        )))
    }
}

fn millis(started: Instant) -> Option<u64> {
    u64::try_from(started.elapsed().as_millis()).ok()
}

fn suspend(ctx: &Context, name: &str, reason: Option<&str>) -> Result<u8> {
    check_name(name)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty()).ok_or_else(|| {
        CliError::Usage(format!(
            "a reason is required for an emergency override\n  help: opsrun override suspend {name} --reason \"what is broken and why GitOps must stop\""
        ))
    })?;
    let book = OverrideBook::new(&ctx.state_dir());
    let mut records = book.load()?;
    if let Some(o) = records.iter().find(|o| o.name == name && o.stage == Stage::Suspended) {
        return Err(CliError::Usage(format!(
            "`{name}` is already suspended (since {} ago by {}: {})",
            age(o.since),
            o.user,
            o.reason
        )));
    }
    let started = Instant::now();
    let gitops = Gitops::new(ctx)?;
    let ran = gitops.interactive(&gitops.config().suspend, name)?;
    let ok = ran.exit == Exit::Code(0);
    let mut entry = AuditEntry::new("suspend", name, Some(reason), ran.command.clone());
    entry.ok = ok;
    entry.exit_code = ran.exit.code();
    entry.duration_ms = millis(started);
    audit(&ctx.state_dir(), &entry)?;
    if !ok {
        return Err(CliError::Other {
            code: exit::TASK_FAILED,
            message: format!(
                "`{}` failed; `{name}` is not recorded as suspended (the attempt is in the audit log)",
                ran.command
            ),
        });
    }
    // A new suspension of a Kustomization replaces its earlier (resumed or aligned) record; the
    // audit log keeps the history.
    records.retain(|o| o.name != name);
    records.push(OverrideRecord {
        name: name.to_string(),
        reason: reason.to_string(),
        user: entry.user,
        host: entry.host,
        since: entry.ts,
        stage: Stage::Suspended,
        resumed: None,
        aligned: None,
        last_check: None,
    });
    book.save(&records)?;
    println!(
        "suspended `{name}`: GitOps no longer reconciles it. Recorded in {}.",
        audit_path(&ctx.state_dir()).display()
    );
    println!("When the emergency is over: opsrun override resume {name}");
    Ok(exit::OK)
}

fn resume(ctx: &Context, name: &str, reason: Option<&str>, allow_revert: bool) -> Result<u8> {
    check_name(name)?;
    let started = Instant::now();
    let book = OverrideBook::new(&ctx.state_dir());
    let mut records = book.load()?;
    let gitops = Gitops::new(ctx)?;
    let resume_command = gitops.mask(&gitops.render(&gitops.config().resume, name, None)?);
    let mut entry = AuditEntry::new("resume", name, reason, resume_command);
    entry.allow_revert = allow_revert;

    eprintln!("checking `{name}` before resuming: the checkout, then what resuming would change in the cluster");
    let verdict = gitops.before_resume(name, &mut entry.checks)?;
    let refusal = match verdict {
        BeforeResume::Proceed => {
            println!("no drift: the cluster matches the checkout, so resuming reverts nothing");
            None
        }
        BeforeResume::Drift { objects, diff } => {
            entry.drift.clone_from(&objects);
            let listed =
                if objects.is_empty() { "objects the diff did not name".to_string() } else { objects.join(", ") };
            println!(
                "drift: resuming lets Flux change what differs from Git in the cluster, reverting the emergency change:"
            );
            for object in &objects {
                println!("  {object}");
            }
            println!("\nwhat Flux would apply (the diff between the cluster and the checkout):");
            print_diff(&diff);
            if allow_revert {
                println!("--allow-revert: resuming anyway; Flux will revert {listed} (recorded in the audit log)");
                None
            } else {
                let help = format!(
                    "commit the emergency fix under the Kustomization's path and push it (the diff is then empty), or let Flux revert it: opsrun override resume {name} --allow-revert"
                );
                Some((vec![format!("Flux would revert {listed}")], help))
            }
        }
        BeforeResume::Blocked(problems) => Some((problems, "fix what is listed, then resume again".to_string())),
    };
    if let Some((problems, help)) = refusal {
        entry.problems.clone_from(&problems);
        entry.duration_ms = millis(started);
        audit(&ctx.state_dir(), &entry)?;
        return Err(CliError::Other {
            code: exit::REFUSED,
            message: format!(
                "refusing to resume `{name}`; it stays suspended:\n{}\n  help: {help}",
                problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
            ),
        });
    }

    let ran = gitops.interactive(&gitops.config().resume, name)?;
    entry.ok = ran.exit == Exit::Code(0);
    entry.exit_code = ran.exit.code();
    entry.duration_ms = millis(started);
    audit(&ctx.state_dir(), &entry)?;
    if !entry.ok {
        return Err(CliError::Other {
            code: exit::TASK_FAILED,
            message: format!("`{}` failed; `{name}` stays recorded as suspended", ran.command),
        });
    }
    let mut milestone = Milestone::now();
    milestone.allow_revert = allow_revert;
    // At most one record per name: a suspension replaces the earlier one.
    if let Some(record) = records.iter_mut().find(|o| o.name == name) {
        record.stage = Stage::Resumed;
        record.resumed = Some(milestone);
        record.aligned = None;
        record.last_check = None;
    } else {
        eprintln!("note: `{name}` was not recorded as suspended by opsrun; resumed anyway");
        records.push(OverrideRecord {
            name: name.to_string(),
            reason: reason.unwrap_or("(not suspended through opsrun)").to_string(),
            user: milestone.user.clone(),
            host: milestone.host.clone(),
            since: milestone.at,
            stage: Stage::Resumed,
            resumed: Some(milestone),
            aligned: None,
            last_check: None,
        });
    }
    book.save(&records)?;
    println!("resumed `{name}`: GitOps reconciles it again.\n");

    eprintln!("checking alignment: Ready, at a revision containing the checkout's HEAD, no drift");
    let aligned = check_alignment(ctx, &gitops, name)?;
    if aligned {
        println!("\nnext: write the incident record for the post-incident review: opsrun incident report");
    } else {
        println!(
            "\nopsrun warns on every command until this is resolved and `opsrun override align {name}` confirms it."
        );
    }
    Ok(exit::OK)
}

/// Runs the alignment check, records it (audit, stage) and prints the outcome.
fn check_alignment(ctx: &Context, gitops: &Gitops<'_>, name: &str) -> Result<bool> {
    let started = Instant::now();
    let status_command = gitops.mask(&gitops.render(&gitops.config().status, name, None)?);
    let mut entry = AuditEntry::new("align", name, None, status_command);
    let Alignment { problems, revision, head } = gitops.alignment(name, &mut entry.checks)?;
    entry.ok = problems.is_empty();
    entry.problems.clone_from(&problems);
    entry.revision.clone_from(&revision);
    entry.duration_ms = millis(started);
    audit(&ctx.state_dir(), &entry)?;

    let book = OverrideBook::new(&ctx.state_dir());
    let mut records = book.load()?;
    let record = records.iter_mut().find(|o| o.name == name);
    if entry.ok {
        let head = head.as_deref().map_or("", |h| &h[..h.len().min(12)]);
        println!(
            "aligned: `{name}` is Ready at `{}` (contains the checkout's HEAD {head}) and the cluster matches Git",
            revision.as_deref().unwrap_or("")
        );
        if let Some(record) = record {
            record.stage = Stage::Aligned;
            let mut milestone = Milestone::now();
            milestone.revision = revision;
            record.aligned = Some(milestone);
            record.last_check = None;
            book.save(&records)?;
        }
    } else {
        println!("not aligned yet:");
        for p in &problems {
            println!("  - {p}");
        }
        if let Some(record) = record {
            record.last_check = Some(LastCheck { at: entry.ts, problems });
            book.save(&records)?;
        }
    }
    Ok(entry.ok)
}

fn align(ctx: &Context, name: &str) -> Result<u8> {
    check_name(name)?;
    let book = OverrideBook::new(&ctx.state_dir());
    let records = book.load()?;
    match records.iter().find(|o| o.name == name) {
        None => eprintln!("note: opsrun has no override of `{name}` on record; checking it anyway"),
        Some(o) if o.stage == Stage::Suspended => eprintln!(
            "note: `{name}` is recorded as suspended; if it was resumed outside opsrun, this check records it aligned once it is"
        ),
        Some(_) => {}
    }
    let gitops = Gitops::new(ctx)?;
    if check_alignment(ctx, &gitops, name)? { Ok(exit::OK) } else { Ok(exit::UNHEALTHY) }
}

fn list(ctx: &Context, json: bool) -> Result<u8> {
    let records = OverrideBook::new(&ctx.state_dir()).load()?;
    let audit: Vec<AuditEntry> = read_jsonl(&audit_path(&ctx.state_dir()));
    if json {
        let open: Vec<&OverrideRecord> = records.iter().filter(|o| o.open()).collect();
        println!("{}", serde_json::json!({ "overrides": records, "active": open, "audit": audit }));
        return Ok(exit::OK);
    }
    if records.is_empty() {
        println!("no overrides");
    } else {
        println!("overrides:");
        let w = records.iter().map(|o| o.name.len()).max().unwrap_or(0);
        for o in &records {
            let mut line = format!(
                "  {:w$}  {:<9} {} ago  (suspended {} ago by {}@{}: {})",
                o.name,
                o.stage.label(),
                age(o.stage_since()),
                age(o.since),
                o.user,
                o.host,
                o.reason
            );
            if o.stage == Stage::Resumed
                && let Some(problem) = o.last_check.as_ref().and_then(|c| c.problems.first())
            {
                line.push_str(&format!("\n  {:w$}  not aligned: {problem}", ""));
            }
            println!("{line}");
        }
    }
    if !audit.is_empty() {
        println!("\naudit log (oldest first):");
        for a in &audit {
            println!("  {}", audit_line(a));
        }
    }
    Ok(exit::OK)
}

fn audit_line(a: &AuditEntry) -> String {
    let outcome = if a.ok {
        match a.action.as_str() {
            "resume" if a.allow_revert && !a.drift.is_empty() => {
                format!(" (allowed Flux to revert: {})", a.drift.join(", "))
            }
            "align" => format!(" (aligned at {})", a.revision.as_deref().unwrap_or("?")),
            _ => String::new(),
        }
    } else if a.action == "align" {
        format!(" (not aligned: {})", a.problems.first().map_or("?", String::as_str))
    } else if !a.problems.is_empty() {
        format!(" (refused: {})", a.problems.join("; "))
    } else {
        format!(" (command failed, exit {})", a.exit_code.map_or("-".into(), |c| c.to_string()))
    };
    format!(
        "{}  {:<7} {}  by {}@{}{}{outcome}",
        a.ts.strftime("%Y-%m-%d %H:%M:%S"),
        a.action,
        a.name,
        a.user,
        a.host,
        a.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default(),
    )
}

/// Prints a drift check's output, indented, at most [`SHOWN_DIFF_LINES`] lines.
fn print_diff(diff: &str) {
    let lines: Vec<&str> = diff.lines().collect();
    for line in lines.iter().take(SHOWN_DIFF_LINES) {
        if line.trim().is_empty() {
            println!();
        } else {
            println!("    {line}");
        }
    }
    if lines.len() > SHOWN_DIFF_LINES {
        println!(
            "    … {} more lines (run the `[gitops] diff` command to see them all)",
            lines.len() - SHOWN_DIFF_LINES
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kubernetes_names_reach_the_commands() {
        for ok in ["apps", "infrastructure-cilium-pools", "a.b-c", "x1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Apps", "apps; rm -rf /", "-apps", "apps-", "a b", "$(id)", &"a".repeat(254)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
