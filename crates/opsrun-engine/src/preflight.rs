//! Preflight: before a run touches anything, check what the tasks that will run need.
//!
//! Which tasks will run is the one decision (`explain`, which `--dry-run` and a run share):
//! tasks the run will skip as done are not checked, but their gates are probed, since the run
//! stands on them. For every other task: `requires.vars` set, `requires.tools` on `PATH`,
//! `requires.env` set, `requires.files` present, `op read` secret references resolvable (the
//! 1Password CLI signed in; values are read into `/dev/null` by the shell, never by opsrun),
//! preconditions marked `preflight = true`, and `requires.endpoints` answering. Nothing else is
//! run: probes, preconditions and `op` go through `opsrun-process` and the gate code, as in a
//! run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use opsrun_event::ProbeVerdict;
use opsrun_plan::{Plan, TaskId};
use opsrun_process::{Exit, ShellCommand, capture};
use opsrun_spec::{ResolvedHealth, ResolvedProbe};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::gate::{ProbeContext, probe_once};
use crate::probe::ProbeRegistry;
use crate::signal::Shutdown;
use crate::sources::SourceCache;
use crate::state::State;

/// How long an endpoint, a precondition or an `op` command may take in a preflight.
pub const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckKind {
    /// A variable of `requires.vars`.
    Var,
    /// A program of `requires.tools`, on `PATH`.
    Tool,
    /// An environment variable of `requires.env`.
    Env,
    /// A file of `requires.files`.
    File,
    /// The 1Password CLI is signed in, or an `op://` reference resolves.
    Secret,
    /// A precondition marked `preflight = true`.
    Precondition,
    /// An endpoint of `requires.endpoints`.
    Endpoint,
    /// The gate of a stage the run will skip as done.
    Gate,
}

impl CheckKind {
    /// `var`, `tool`, `env`, `file`, `secret`, `precondition`, `endpoint`, `gate`.
    pub fn label(self) -> &'static str {
        match self {
            CheckKind::Var => "var",
            CheckKind::Tool => "tool",
            CheckKind::Env => "env",
            CheckKind::File => "file",
            CheckKind::Secret => "secret",
            CheckKind::Precondition => "precondition",
            CheckKind::Endpoint => "endpoint",
            CheckKind::Gate => "gate",
        }
    }
}

/// One line of the preflight table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreflightCheck {
    /// What is checked.
    pub kind: CheckKind,
    /// The variable, program, file, reference, command or endpoint (secrets masked).
    pub subject: String,
    /// The tasks that need it, in plan order.
    pub tasks: Vec<String>,
    /// It is there, set, answering.
    pub passed: bool,
    /// Why not, or what was found (secrets masked).
    pub detail: String,
}

/// Everything a preflight found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PreflightReport {
    /// The checks, grouped by kind in the order of [`CheckKind`], then in plan order.
    pub checks: Vec<PreflightCheck>,
    /// Tasks that will run (and were checked).
    pub will_run: Vec<String>,
    /// Tasks the run will skip as done (not checked; their gates are).
    pub skipped: Vec<String>,
}

impl PreflightReport {
    /// No check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &PreflightCheck> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// A check to run, once, for every task that needs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Job {
    Tool(String),
    Env(String),
    File(PathBuf),
    SignedIn,
    /// (the `op://` references it reads, the command, task node): the dynamic env command run
    /// as the task would run it, its output sent to `/dev/null` by the shell.
    Secret(String, String, usize),
    /// (command, message, task node): run in its task's directory and environment.
    Precondition(String, Option<String>, usize),
    Endpoint(String),
    Gate(usize),
}

/// Checks what the tasks of `plan` that will run need, for a run with `resume` and `force`
/// over `state` (custom gate probes from `probes`; source files read through `sources`, the
/// cache the run will use). Runs in parallel; each process and endpoint is bounded by
/// [`PREFLIGHT_TIMEOUT`] (a gate by its own probe timeout).
#[expect(clippy::too_many_lines, reason = "collects each kind of check in turn; the kinds read best side by side")]
pub async fn preflight(
    plan: Arc<Plan>,
    state: &State,
    resume: bool,
    force: bool,
    probes: &ProbeRegistry,
    sources: &SourceCache,
) -> PreflightReport {
    let masker = plan.masker().clone();
    let explanations = crate::predict(&plan, state, resume, force, sources);
    let mut report = PreflightReport::default();
    let mut vars: Vec<PreflightCheck> = Vec::new();
    // Each job once, with the tasks that need it (plan order).
    let mut jobs: IndexMap<(CheckKind, Job), Vec<String>> = IndexMap::new();
    // Tasks come one after the other, so a task already listed for a job is the last one: a
    // job thousands of tasks share (a tool) costs no scan of them.
    let mut need = |kind: CheckKind, job: Job, task: &str| {
        let tasks = jobs.entry((kind, job)).or_default();
        if tasks.last().is_none_or(|t| t != task) {
            tasks.push(task.to_owned());
        }
    };
    // A called task (and what only it needs) runs only when a caller runs: decided from the
    // callers down, in reverse plan order.
    let mut runs = vec![false; plan.len()];
    for (&node, x) in plan.order().iter().zip(&explanations).rev() {
        let needed = !plan.node(node).on_demand
            || plan.callers(node).iter().any(|c| runs[c.index()])
            || plan.dependents(node).any(|d| runs[d.index()]);
        runs[node.index()] = x.will_run && needed;
    }
    for &node in plan.order() {
        let task = plan.task(node);
        if !runs[node.index()] {
            report.skipped.push(task.key.clone());
            if task.health.is_some() && !plan.node(node).assumed_done {
                need(CheckKind::Gate, Job::Gate(node.index()), &task.key);
            }
            continue;
        }
        report.will_run.push(task.key.clone());
        for unmet in &task.unmet_requirements {
            vars.push(PreflightCheck {
                kind: CheckKind::Var,
                subject: unmet_var_name(unmet),
                tasks: vec![task.key.clone()],
                passed: false,
                detail: masker.mask(unmet),
            });
        }
        let needs = &task.needs;
        for tool in &needs.tools {
            need(CheckKind::Tool, Job::Tool(tool.clone()), &task.key);
        }
        for name in &needs.env {
            if task.env.get(name).is_some_and(|v| !v.is_empty()) {
                continue;
            }
            need(CheckKind::Env, Job::Env(name.clone()), &task.key);
        }
        for file in &needs.files {
            need(CheckKind::File, Job::File(file.clone()), &task.key);
        }
        for dynamic in &task.dynamic_env {
            let refs = op_references(&dynamic.command);
            if refs.is_empty() {
                continue;
            }
            need(CheckKind::Tool, Job::Tool("op".into()), &task.key);
            need(CheckKind::Secret, Job::SignedIn, &task.key);
            let job = Job::Secret(refs.join(" "), dynamic.command.clone(), node.index());
            need(CheckKind::Secret, job, &task.key);
        }
        for (sh, msg) in &needs.preconditions {
            need(CheckKind::Precondition, Job::Precondition(sh.clone(), msg.clone(), node.index()), &task.key);
        }
        for endpoint in &needs.endpoints {
            need(CheckKind::Endpoint, Job::Endpoint(endpoint.clone()), &task.key);
        }
    }

    // Run every job; the cheap ones (PATH, environment, files) inline, the rest concurrently.
    let nodes: HashMap<usize, TaskId> = plan.order().iter().map(|&n| (n.index(), n)).collect();
    let (_keep, shutdown) = watch::channel(Shutdown::Running);
    let mut set: JoinSet<(usize, bool, String)> = JoinSet::new();
    let mut results: Vec<Option<(bool, String)>> = vec![None; jobs.len()];
    for (index, ((_, job), _)) in jobs.iter().enumerate() {
        match job {
            Job::Tool(tool) => results[index] = Some(find_tool(tool)),
            Job::Env(name) => {
                let set = std::env::var_os(name).is_some_and(|v| !v.is_empty());
                results[index] = Some((set, if set { "set".into() } else { "not set".into() }));
            }
            Job::File(path) => {
                let found = path.exists();
                results[index] = Some((found, if found { "present".into() } else { "missing".into() }));
            }
            Job::SignedIn => {
                let root = plan.root_dir().to_path_buf();
                set.spawn_blocking(move || {
                    let (ok, detail) = run_check("op whoami >/dev/null", &root, &[]);
                    let detail =
                        if ok { "signed in".into() } else { format!("not signed in ({detail}); run `op signin`") };
                    (index, ok, detail)
                });
            }
            Job::Secret(_, command, node) => {
                let task = plan.task(nodes[node]);
                // The value goes to /dev/null in the shell: it never reaches opsrun.
                let script = format!("{{\n{command}\n}} >/dev/null");
                let (dir, env) = (task.dir.clone(), crate::unit::env_pairs(task));
                let masker = masker.clone();
                set.spawn_blocking(move || {
                    let (ok, detail) = run_check(&script, &dir, &env);
                    (index, ok, if ok { "resolvable".into() } else { masker.mask(&detail) })
                });
            }
            Job::Precondition(sh, msg, node) => {
                let task = plan.task(nodes[node]);
                let (sh, msg, dir, env) = (sh.clone(), msg.clone(), task.dir.clone(), crate::unit::env_pairs(task));
                let masker = masker.clone();
                set.spawn_blocking(move || {
                    let (ok, detail) = run_check(&sh, &dir, &env);
                    let detail = match (ok, msg) {
                        (true, _) => "passes".into(),
                        (false, Some(msg)) => format!("{msg} ({detail})"),
                        (false, None) => detail,
                    };
                    (index, ok, masker.mask(&detail))
                });
            }
            Job::Endpoint(endpoint) => {
                let health = match endpoint_probe(endpoint) {
                    Ok(probe) => synthetic_gate(endpoint, probe),
                    Err(why) => {
                        results[index] = Some((false, why));
                        continue;
                    }
                };
                let (plan, probes, shutdown) = (Arc::clone(&plan), probes.clone(), shutdown.clone());
                set.spawn(async move {
                    let ctx = ProbeContext {
                        task: "preflight",
                        dir: plan.root_dir(),
                        env: &[],
                        shutdown,
                        probes: &probes,
                        on_spawn: None,
                    };
                    let r = probe_once(&health, &ctx).await;
                    let answers = r.verdict == ProbeVerdict::Pass;
                    (index, answers, plan.masker().mask(&r.detail))
                });
            }
            Job::Gate(node) => {
                let (plan, probes, shutdown, node) = (Arc::clone(&plan), probes.clone(), shutdown.clone(), nodes[node]);
                set.spawn(async move {
                    let task = plan.task(node);
                    let env = crate::unit::env_pairs(task);
                    let health = task.health.as_ref().expect("only gated tasks get a gate check");
                    let ctx = ProbeContext { task: &task.key, dir: &task.dir, env: &env, shutdown, probes: &probes, on_spawn: None };
                    let r = probe_once(health, &ctx).await;
                    let detail = plan.masker().mask(&r.detail);
                    if r.verdict == ProbeVerdict::Pass {
                        (index, true, format!("done, and its gate passes: {detail}"))
                    } else {
                        let why = format!(
                            "recorded done, but its gate `{}` does not pass now ({}: {detail}); the run would do it again",
                            health.name,
                            r.verdict.label()
                        );
                        (index, false, why)
                    }
                });
            }
        }
    }
    while let Some(joined) = set.join_next().await {
        if let Ok((index, ok, detail)) = joined {
            results[index] = Some((ok, detail));
        }
    }
    let mut checks: Vec<PreflightCheck> = jobs
        .into_iter()
        .zip(results)
        .map(|(((kind, job), tasks), result)| {
            let (passed, detail) = result.unwrap_or_else(|| (false, "the check did not complete".into()));
            let subject = match job {
                Job::Tool(t) | Job::Env(t) | Job::Secret(t, _, _) | Job::Endpoint(t) => t,
                Job::File(p) => p.display().to_string(),
                Job::SignedIn => "1Password CLI signed in".into(),
                Job::Precondition(sh, _, _) => first_line(&sh),
                Job::Gate(node) => plan.task(nodes[&node]).health.as_ref().map(|h| h.name.clone()).unwrap_or_default(),
            };
            PreflightCheck { kind, subject: masker.mask(&subject), tasks, passed, detail: masker.mask(&detail) }
        })
        .collect();
    checks.extend(vars);
    let order = |k: CheckKind| k as usize;
    checks.sort_by_key(|c| order(c.kind));
    report.checks = checks;
    report
}

/// `X` from the resolver's "task `t` requires variable `X`, which is not set".
fn unmet_var_name(message: &str) -> String {
    message.split('`').nth(3).unwrap_or(message).to_owned()
}

/// The `op://` references in a command (`op read op://vault/item/field`).
fn op_references(command: &str) -> Vec<String> {
    if !command.contains("op read") && !command.contains("op inject") {
        return Vec::new();
    }
    command
        .split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '(' | ')' | ';' | '|' | '`'))
        .filter(|w| w.starts_with("op://") && w.len() > "op://".len())
        .map(str::to_owned)
        .collect()
}

/// A program on `PATH`: an executable file in one of its directories (a name with a `/` is a
/// path). Nothing is run.
fn find_tool(tool: &str) -> (bool, String) {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if tool.contains('/') {
        let found = executable(Path::new(tool));
        return (found, if found { "present".into() } else { "not found or not executable".into() });
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    match std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| executable(p)) {
        Some(found) => (true, found.display().to_string()),
        None => (false, "not on PATH".into()),
    }
}

/// Runs `script` in `dir` with `env` through the one process runner, bounded by
/// [`PREFLIGHT_TIMEOUT`]: passed, or why not (exit code and the last line of stderr).
fn run_check(script: &str, dir: &Path, env: &[(String, String)]) -> (bool, String) {
    let mut cmd = ShellCommand::new(script, dir);
    cmd.env = env.to_vec();
    cmd.deadline = Some(std::time::Instant::now() + PREFLIGHT_TIMEOUT);
    cmd.grace = Duration::from_millis(500);
    let out = capture(&cmd);
    let last = out.stderr.lines().chain(out.stdout.lines()).rfind(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let why = match &out.exit {
        Exit::Code(0) => return (true, String::new()),
        Exit::TimedOut => format!("no answer within {}", opsrun_spec::format_duration(PREFLIGHT_TIMEOUT)),
        exit => exit.describe(),
    };
    (false, if last.is_empty() { why } else { format!("{why}: {last}") })
}

/// `http(s)://...` answers with any HTTP status; `tcp://host:port` accepts a connection.
fn endpoint_probe(endpoint: &str) -> Result<ResolvedProbe, String> {
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        Ok(ResolvedProbe::Http {
            url: endpoint.to_owned(),
            status: (100..600).collect(),
            body: None,
            body_not: None,
            insecure_tls: true,
        })
    } else if let Some(addr) = endpoint.strip_prefix("tcp://") {
        Ok(ResolvedProbe::Tcp(addr.to_owned()))
    } else {
        Err("not an endpoint: give `http://...`, `https://...` or `tcp://host:port`".into())
    }
}

/// A gate of one probe around `probe`, so that an endpoint is probed by the gate code.
fn synthetic_gate(name: &str, probe: ResolvedProbe) -> ResolvedHealth {
    ResolvedHealth {
        name: name.to_owned(),
        probe,
        initial_delay: Duration::ZERO,
        interval: Duration::ZERO,
        backoff: None,
        probe_timeout: PREFLIGHT_TIMEOUT,
        timeout: PREFLIGHT_TIMEOUT,
        success_threshold: 1,
        consecutive_error_limit: 1,
        fatal_exit_codes: Vec::new(),
        fatal_patterns: Vec::new(),
        error_exit_codes: Vec::new(),
    }
}

fn first_line(s: &str) -> String {
    let mut lines = s.trim().lines();
    let first = lines.next().unwrap_or("").to_owned();
    if lines.next().is_some() { format!("{first} …") } else { first }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_op_references() {
        assert_eq!(op_references("op read 'op://infra/github/token' | tr -d '\\n'"), ["op://infra/github/token"]);
        assert!(op_references("echo op://not-read").is_empty());
    }

    #[test]
    fn tools_are_looked_up_on_path() {
        assert!(find_tool("sh").0);
        assert_eq!(find_tool("opsrun-no-such-tool-xyz"), (false, "not on PATH".into()));
    }

    #[test]
    fn endpoints_are_http_or_tcp() {
        assert!(matches!(endpoint_probe("tcp://127.0.0.1:1"), Ok(ResolvedProbe::Tcp(a)) if a == "127.0.0.1:1"));
        assert!(matches!(endpoint_probe("https://x/health"), Ok(ResolvedProbe::Http { .. })));
        assert!(endpoint_probe("ftp://x").is_err());
        assert_eq!(unmet_var_name("task `a` requires variable `TOKEN`, which is not set"), "TOKEN");
    }
}
