//! GitOps emergency overrides: suspend and resume reconciliation with an audit trail.
//!
//! Active overrides live in `.opsrun/overrides.json` (replaced atomically); every suspend and
//! resume, successful or not, is appended to `.opsrun/audit.jsonl` (who, when, host, reason,
//! name, command outcome). While an override is active every opsrun command warns about it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use indexmap::IndexMap;
use opsrun_spec::Resolver;
use opsrun_spec::template::Value;
use serde::{Deserialize, Serialize};

use crate::args::OverrideCommand;
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit;
use crate::status::age;

/// One active override.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ActiveOverride {
    name: String,
    reason: String,
    user: String,
    host: String,
    since: jiff::Timestamp,
}

/// One audit log line.
#[derive(Debug, Serialize, Deserialize)]
struct AuditEntry {
    ts: jiff::Timestamp,
    action: String,
    name: String,
    reason: Option<String>,
    user: String,
    host: String,
    command: String,
    ok: bool,
    exit_code: Option<i32>,
}

const POST_EMERGENCY_CHECKLIST: &[&str] = &[
    "Record what was changed during the override and why (the audit log has who and when: `opsrun override list`).",
    "Align Git with the cluster state: commit any emergency fix (`git commit -m \"EMERGENCY: ...\"`) or revert it in the cluster.",
    "Confirm GitOps has taken over: `flux get kustomizations` shows it Ready and reconciling the expected revision.",
    "Check that the emergency change does not conflict with what Git now applies (`flux diff kustomization NAME --path ...`).",
    "Hold a post-incident review: root cause, what to change so it does not recur, monitoring and alerting gaps.",
];

fn overrides_path(ctx: &Context) -> std::path::PathBuf {
    ctx.state_dir().join("overrides.json")
}

fn load_active(path: &Path) -> Vec<ActiveOverride> {
    fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn save_active(path: &Path, active: &[ActiveOverride]) -> Result<()> {
    let io = |e: std::io::Error| CliError::Other {
        code: exit::INTERNAL,
        message: format!("cannot write `{}`: {e}", path.display()),
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = File::create(&tmp).map_err(io)?;
    f.write_all(&serde_json::to_vec_pretty(active).unwrap_or_default()).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

/// Appends one JSON line and syncs it to disk.
pub(crate) fn append_jsonl<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let io = |e: std::io::Error| CliError::Other {
        code: exit::INTERNAL,
        message: format!("cannot append to `{}`: {e}", path.display()),
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    let mut f = OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
    f.write_all(&line).map_err(io)?;
    f.sync_all().map_err(io)
}

/// The one-line warning for each active override, for every command to print.
pub(crate) fn active_warnings(ctx: &Context) -> Vec<String> {
    load_active(&overrides_path(ctx))
        .iter()
        .map(|o| {
            format!(
                "warning: GitOps override active: `{}` suspended {} ago by {}@{}: {} (resume with `opsrun override resume {}`)",
                o.name,
                age(o.since),
                o.user,
                o.host,
                o.reason,
                o.name
            )
        })
        .collect()
}

/// `opsrun override ...`.
#[expect(
    clippy::too_many_lines,
    reason = "the dispatcher loop: one select over finished units, unit requests, signals and timers (see issue: pure step extraction)"
)]
pub(crate) fn run(cli: &crate::args::Cli, ctx: &Context, cmd: &OverrideCommand) -> Result<u8> {
    match cmd {
        OverrideCommand::Suspend { name, reason } => {
            let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).ok_or_else(|| {
                CliError::Usage(format!(
                    "a reason is required for an emergency override\n  help: opsrun override suspend {name} --reason \"what is broken and why GitOps must stop\""
                ))
            })?;
            let path = overrides_path(ctx);
            let mut active = load_active(&path);
            if let Some(o) = active.iter().find(|o| o.name == *name) {
                return Err(CliError::Usage(format!(
                    "`{name}` is already suspended (since {} ago by {}: {})",
                    age(o.since),
                    o.user,
                    o.reason
                )));
            }
            let (ok, code, command) = run_gitops_command(ctx, &ctx.spec.gitops.suspend, name)?;
            audit(ctx, "suspend", name, Some(reason), &command, ok, code)?;
            if !ok {
                return Err(CliError::Other {
                    code: exit::TASK_FAILED,
                    message: format!(
                        "`{command}` failed; `{name}` is not recorded as suspended (the attempt is in the audit log)"
                    ),
                });
            }
            active.push(ActiveOverride {
                name: name.clone(),
                reason: reason.to_string(),
                user: opsrun_engine::user_name(),
                host: opsrun_engine::host_name(),
                since: jiff::Timestamp::now(),
            });
            save_active(&path, &active)?;
            println!(
                "suspended `{name}`: GitOps no longer reconciles it. Recorded in {}.",
                ctx.state_dir().join("audit.jsonl").display()
            );
            println!("When the emergency is over: opsrun override resume {name}");
            Ok(exit::OK)
        }
        OverrideCommand::Resume { name, reason } => {
            let path = overrides_path(ctx);
            let mut active = load_active(&path);
            let was_active = active.iter().any(|o| o.name == *name);
            let (ok, code, command) = run_gitops_command(ctx, &ctx.spec.gitops.resume, name)?;
            audit(ctx, "resume", name, reason.as_deref(), &command, ok, code)?;
            if !ok {
                return Err(CliError::Other {
                    code: exit::TASK_FAILED,
                    message: format!("`{command}` failed; `{name}` stays recorded as suspended"),
                });
            }
            active.retain(|o| o.name != *name);
            save_active(&path, &active)?;
            if !was_active {
                eprintln!("note: `{name}` was not recorded as suspended by opsrun; resumed anyway");
            }
            println!("resumed `{name}`: GitOps reconciles it again.\n\npost-emergency checklist:");
            for item in POST_EMERGENCY_CHECKLIST {
                println!("  [ ] {item}");
            }
            Ok(exit::OK)
        }
        OverrideCommand::List { json } => {
            let active = load_active(&overrides_path(ctx));
            let audit: Vec<AuditEntry> = fs::read_to_string(ctx.state_dir().join("audit.jsonl"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            if *json || cli.output == "json" {
                println!("{}", serde_json::json!({ "active": active, "audit": audit }));
                return Ok(exit::OK);
            }
            if active.is_empty() {
                println!("no active overrides");
            } else {
                println!("active overrides:");
                for o in &active {
                    println!("  {}  suspended {} ago by {}@{}: {}", o.name, age(o.since), o.user, o.host, o.reason);
                }
            }
            if !audit.is_empty() {
                println!("\naudit log (oldest first):");
                for a in &audit {
                    println!(
                        "  {}  {:<7} {}  by {}@{}{}{}",
                        a.ts.strftime("%Y-%m-%d %H:%M:%S"),
                        a.action,
                        a.name,
                        a.user,
                        a.host,
                        a.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default(),
                        if a.ok {
                            String::new()
                        } else {
                            format!(" (command failed, exit {})", a.exit_code.map_or("-".into(), |c| c.to_string()))
                        }
                    );
                }
            }
            Ok(exit::OK)
        }
    }
}

fn audit(
    ctx: &Context,
    action: &str,
    name: &str,
    reason: Option<&str>,
    command: &str,
    ok: bool,
    exit_code: Option<i32>,
) -> Result<()> {
    let entry = AuditEntry {
        ts: jiff::Timestamp::now(),
        action: action.into(),
        name: name.into(),
        reason: reason.map(str::to_string),
        user: opsrun_engine::user_name(),
        host: opsrun_engine::host_name(),
        command: command.into(),
        ok,
        exit_code,
    };
    append_jsonl(&ctx.state_dir().join("audit.jsonl"), &entry)
}

/// Renders and runs a `[gitops]` command with `{{.NAME}}`, streaming its output.
fn run_gitops_command(ctx: &Context, template: &str, name: &str) -> Result<(bool, Option<i32>, String)> {
    let resolver = Resolver::new(&ctx.spec, ctx.invocation(IndexMap::new(), &[]));
    let mut extra = IndexMap::new();
    extra.insert("NAME".to_string(), Value::Str(name.to_string()));
    let command = resolver.render_root(template, &extra)?;
    // The same environment the tasks get (KUBECONFIG and friends from the tasks file).
    let env = resolver.root_env()?;
    // What is shown and audited is masked: the command may carry a token from the tasks file.
    let shown = resolver.masker().mask(&command);
    eprintln!("$ {shown}");
    let mut cmd = opsrun_process::ShellCommand::new(command, &ctx.spec.root_dir);
    cmd.env = env.into_iter().collect();
    cmd.errexit = false;
    // The operator sees the command's own output and may answer it (a `flux` prompt).
    cmd.interactive = true;
    let out = opsrun_process::capture(&cmd);
    let code = out.exit.code();
    if let opsrun_process::Exit::SpawnFailed(why) = &out.exit {
        return Err(CliError::Other { code: exit::INTERNAL, message: format!("cannot run `{shown}`: {why}") });
    }
    Ok((code == Some(0), code, shown))
}
