//! Resolution: rendering a task's templates with its variables, for one invocation.
//!
//! Variable precedence, highest first (see `docs/tasks-toml.md`):
//! command-line `NAME=value` → vars given by the caller (`deps`/`{ task = ... }`) → the task's
//! `vars` → the include's `vars` → the file's `vars` (then its includer's, up to the root) →
//! special vars (`ROOT_DIR`, `TASK`, `CLI_ARGS`, ...) → the process environment.
//!
//! Variables are evaluated lazily, each at most once per invocation; a variable that refers to
//! itself (`VERSION = "{{.VERSION | default \"1\"}}"`) sees the next lower definition, as
//! go-task users expect. Dynamic `{ sh = ... }` values run at most once per run (cached by
//! command and directory) and only when used.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;

use crate::diagnostic::{Diagnostic, SpecError};
use crate::load::template_error_location;
use crate::model::{
    Background, Cmd, CmdKind, DurationSpec, ForSpec, HealthSpec, MatrixRow, Method, OutputSetting, ProbeSpec, Retries,
    RunPolicy, Spec, Task, TaskRef, Tmpl, UndefinedVars, VarDef, VarValue,
};
use crate::template::{Host, Scope, SystemHost, TemplateErrorKind, Value};

/// What the command line contributes to resolution.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// `NAME=value` pairs from the command line.
    pub vars: IndexMap<String, String>,
    /// Everything after `--`, shell-quoted and joined (`{{.CLI_ARGS}}`).
    pub cli_args: String,
    /// The directory opsrun was started in (`{{.USER_WORKING_DIR}}`).
    pub working_dir: PathBuf,
    /// How every task's output is shown, over the files' and tasks' `output` (`--output group`).
    pub output: Option<OutputSetting>,
}

/// How long a dynamic variable's command (`{ sh = "..." }`) may run before it is killed (with
/// its process group): a `op read` waiting for a sign-in that never comes must not hang a run.
pub const DYNAMIC_VAR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// True for a variable name that holds a credential by convention (`*TOKEN*`, `*PASSWORD*`,
/// `*SECRET*`, `*API_KEY*`, ...): its command-line value is masked like a `secret` var.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE_KEY", "API_KEY", "APIKEY"]
        .iter()
        .any(|w| upper.contains(w))
}

/// Renders tasks for one run. Cheap to share: dynamic values and secrets are behind locks.
#[derive(Debug)]
pub struct Resolver<'s> {
    spec: &'s Spec,
    invocation: Invocation,
    env: HashMap<String, String>,
    dynamic: Mutex<HashMap<(String, PathBuf), Result<String, String>>>,
    masker: crate::Masker,
    /// Unmet `requires.vars` are recorded on the task instead of failing it (preflight).
    defer_requires: bool,
    /// Undefined variables printed as empty strings (files with `undefined_vars = "empty"`),
    /// once per name and place.
    warnings: Mutex<Vec<Diagnostic>>,
}

/// The real machine, for every host fact but the environment.
static SYSTEM: SystemHost = SystemHost;

/// The [`Host`] a [`Resolver`] renders on: its environment, otherwise the real machine.
struct ResolverHost<'r> {
    env: &'r HashMap<String, String>,
}

impl Host for ResolverHost<'_> {
    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn now(&self) -> jiff::Zoned {
        SYSTEM.now()
    }

    fn time_zone(&self) -> jiff::tz::TimeZone {
        SYSTEM.time_zone()
    }

    fn os(&self) -> &str {
        SYSTEM.os()
    }

    fn arch(&self) -> &str {
        SYSTEM.arch()
    }

    fn exe_suffix(&self) -> &str {
        SYSTEM.exe_suffix()
    }

    fn num_cpu(&self) -> usize {
        SYSTEM.num_cpu()
    }
}

/// A task rendered for one invocation: every string final.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedTask {
    /// The task name.
    pub name: String,
    /// Unique per invocation: the name, plus the call vars when there are any.
    pub key: String,
    /// Vars given by the caller, as rendered strings (part of the key).
    pub call_vars: IndexMap<String, String>,
    /// Description.
    pub desc: Option<String>,
    /// Commands in order.
    pub cmds: Vec<ResolvedCmd>,
    /// Commands for emergency recovery (empty: use `cmds`).
    pub recover: Vec<ResolvedCmd>,
    /// Dependencies with their call vars.
    pub deps: Vec<ResolvedDep>,
    /// Working directory, absolute.
    pub dir: PathBuf,
    /// Environment the spec adds (the process environment is inherited on top of which these
    /// are set).
    pub env: IndexMap<String, String>,
    /// Environment variables whose value is the output of a command (`{ sh = ... }` under
    /// `env`), evaluated by the engine just before the task's commands run.
    pub dynamic_env: Vec<DynamicEnv>,
    /// The task's own vars as rendered (for fingerprints and `--dry-run`).
    pub vars: IndexMap<String, String>,
    /// Preconditions: `(command, message)`.
    pub preconditions: Vec<(String, Option<String>)>,
    /// Up-to-date commands.
    pub status: Vec<String>,
    /// Source globs, relative to `dir`.
    pub sources: Vec<String>,
    /// Generated-file globs, relative to `dir`.
    pub generates: Vec<String>,
    /// Whole-task limit.
    pub timeout: Option<Duration>,
    /// Retry policy.
    pub retries: Retries,
    /// Do not echo commands.
    pub silent: bool,
    /// Failure does not fail the run.
    pub ignore_error: bool,
    /// Internal task.
    pub internal: bool,
    /// Confirmation question.
    pub confirm: Option<String>,
    /// The health gate (boxed: most tasks have none).
    pub health: Option<Box<ResolvedHealth>>,
    /// The display name (`label`), when it differs from the key.
    pub label: Option<String>,
    /// The prefix of `prefixed` output.
    pub prefix: String,
    /// How its output is shown.
    pub output: ResolvedOutput,
    /// The program that runs its commands (`SHELL -c SCRIPT`).
    pub shell: String,
    /// Its commands get opsrun's stdin and terminal.
    pub interactive: bool,
    /// How often one run runs it.
    pub run: RunPolicy,
    /// How its sources are compared.
    pub method: Method,
    /// Set when the task is not for this platform: why it is skipped.
    pub platform_skip: Option<String>,
    /// What the machine must provide before the run starts, rendered (`opsrun preflight`).
    pub needs: ResolvedNeeds,
    /// The `requires.vars` not met, one message each; only filled by a resolver with
    /// [`Resolver::defer_requirements`] (otherwise they are an error).
    pub unmet_requirements: Vec<String>,
    /// Processes its commands leave running in the background keep running (`background =
    /// "keep"`) instead of being killed.
    pub keep_background: bool,
}

/// A task's `requires` beyond variables, rendered for one invocation: what `opsrun preflight`
/// checks before the first stage of a run starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedNeeds {
    /// Programs that must be on `PATH`.
    pub tools: Vec<String>,
    /// Environment variables that must be set and not empty.
    pub env: Vec<String>,
    /// Files that must exist, absolute.
    pub files: Vec<PathBuf>,
    /// Endpoints that must already answer (`http(s)://...`, `tcp://host:port`).
    pub endpoints: Vec<String>,
    /// Preconditions marked `preflight = true`: `(command, message)`.
    pub preconditions: Vec<(String, Option<String>)>,
}

/// How a task's output reaches the terminal, rendered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ResolvedOutput {
    /// As printed.
    #[default]
    Interleaved,
    /// `[prefix] line`.
    Prefixed,
    /// Held back and printed together when the task ends.
    Group {
        /// Printed before the group.
        begin: Option<String>,
        /// Printed after the group.
        end: Option<String>,
        /// Only for a task that failed.
        error_only: bool,
    },
}

/// What `{{.EXIT_CODE}}` renders to in the failure variant of a deferred command; the engine
/// replaces it with the exit code before running the command.
pub const EXIT_CODE_PLACEHOLDER: &str = "\u{1e}opsrun-exit-code\u{1e}";

/// An environment variable set from a command's output when the task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicEnv {
    /// The variable.
    pub name: String,
    /// The rendered command (`sh -c`), run in the task's directory.
    pub command: String,
    /// Mask the value everywhere.
    pub secret: bool,
}

/// A rendered command.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedCmd {
    /// What to run.
    pub kind: ResolvedCmdKind,
    /// Failure is ignored.
    pub ignore_error: bool,
    /// Not echoed.
    pub silent: bool,
    /// Deferred: run when the task ends, last registered first.
    pub defer: bool,
    /// For a deferred shell command: the script to run when the task failed, rendered with
    /// `{{.EXIT_CODE}}` as [`EXIT_CODE_PLACEHOLDER`] (the `Shell` script is the success variant).
    pub on_failure: Option<String>,
    /// `set -o` options.
    pub set: Vec<String>,
    /// `shopt -s` options.
    pub shopt: Vec<String>,
}

impl ResolvedCmd {
    /// The shell script with its `set`/`shopt` options as a preamble.
    pub fn script_with_options(&self, script: &str) -> String {
        if self.set.is_empty() && self.shopt.is_empty() {
            return script.to_string();
        }
        let mut out = String::new();
        for o in &self.set {
            if o.len() == 1 {
                out.push_str(&format!("set -{o}\n"));
            } else {
                out.push_str(&format!("set -o {o}\n"));
            }
        }
        for o in &self.shopt {
            out.push_str(&format!("shopt -s {o}\n"));
        }
        out.push_str(script);
        out
    }
}

/// A rendered shell script or task call.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolvedCmdKind {
    /// `sh -c SCRIPT`.
    Shell(String),
    /// Run this task's commands (and its deps) in sequence.
    Task {
        /// Task name.
        name: String,
        /// Rendered call vars.
        vars: IndexMap<String, Value>,
    },
}

/// A rendered dependency.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedDep {
    /// Task name.
    pub task: String,
    /// Rendered call vars.
    pub vars: IndexMap<String, Value>,
    /// The dependency's commands are not echoed.
    pub silent: bool,
}

/// A rendered health gate.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedHealth {
    /// Display name: the gate's `name`, or a short form of the probe.
    pub name: String,
    /// The probe.
    pub probe: ResolvedProbe,
    /// Wait before the first probe.
    pub initial_delay: Duration,
    /// Pause between probes.
    pub interval: Duration,
    /// Exponential backoff.
    pub backoff: Option<crate::model::Backoff>,
    /// Per-probe limit.
    pub probe_timeout: Duration,
    /// Whole-gate limit.
    pub timeout: Duration,
    /// Consecutive passes needed.
    pub success_threshold: u32,
    /// Consecutive errors that fail the gate.
    pub consecutive_error_limit: u32,
    /// Exit codes meaning Failed.
    pub fatal_exit_codes: Vec<i32>,
    /// Output regexes meaning Failed.
    pub fatal_patterns: Vec<String>,
    /// Exit codes meaning Error.
    pub error_exit_codes: Vec<i32>,
}

/// A rendered probe.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolvedProbe {
    /// `sh -c CMD`, exit 0 passes.
    Cmd(String),
    /// HTTP GET.
    Http {
        /// URL.
        url: String,
        /// Accepted codes; empty = 2xx.
        status: Vec<u16>,
        /// Body regex.
        body: Option<String>,
        /// Body regex that must not match.
        body_not: Option<String>,
        /// Accept self-signed certificates.
        insecure_tls: bool,
    },
    /// TCP connect.
    Tcp(String),
    /// A probe registered by the embedding program.
    Custom {
        /// The name it is registered under.
        name: String,
        /// Its rendered arguments.
        with: IndexMap<String, String>,
    },
}

impl ResolvedProbe {
    /// A one-line description, e.g. `cmd: kubectl get --raw=/readyz`.
    pub fn describe(&self) -> String {
        match self {
            ResolvedProbe::Cmd(c) => format!("cmd: {}", first_line(c)),
            ResolvedProbe::Http { url, .. } => format!("http: {url}"),
            ResolvedProbe::Tcp(a) => format!("tcp: {a}"),
            ResolvedProbe::Custom { name, .. } => format!("probe: {name}"),
        }
    }
}

fn first_line(s: &str) -> String {
    let line = s.trim().lines().next().unwrap_or("");
    if s.trim().lines().count() > 1 { format!("{line} …") } else { line.to_string() }
}

impl<'s> Resolver<'s> {
    /// A resolver for `spec`, with the process environment captured now.
    pub fn new(spec: &'s Spec, invocation: Invocation) -> Self {
        Self::with_env(spec, invocation, std::env::vars().collect())
    }

    /// A resolver with an explicit environment (for tests and embedders).
    pub fn with_env(spec: &'s Spec, invocation: Invocation, env: HashMap<String, String>) -> Self {
        // A credential given on the command line (`API_TOKEN=...`) is a secret from the start.
        let masker = crate::Masker::new();
        for (name, value) in &invocation.vars {
            if looks_secret(name) {
                masker.add(value);
            }
        }
        Self {
            spec,
            invocation,
            env,
            dynamic: Mutex::default(),
            masker,
            defer_requires: false,
            warnings: Mutex::default(),
        }
    }

    /// Unmet `requires.vars` do not fail a task: each is listed in its
    /// [`ResolvedTask::unmet_requirements`], and the variable renders as `<NAME unset>`, so that
    /// `opsrun preflight` can plan the whole run and report every missing variable together
    /// with every other problem. Never for a run: its commands would get the placeholder.
    #[must_use]
    pub fn defer_requirements(mut self) -> Self {
        self.defer_requires = true;
        self
    }

    /// The spec being resolved.
    pub fn spec(&self) -> &'s Spec {
        self.spec
    }

    /// The warnings rendering has produced since the last call (undefined variables printed as
    /// empty strings in files with `undefined_vars = "empty"`), each place once; they point
    /// into [`Spec::sources`].
    pub fn take_warnings(&self) -> Vec<Diagnostic> {
        self.warnings.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default()
    }

    /// The host templates render on: `{{env "X"}}` reads this resolver's environment (the one
    /// `.X` falls back to), so it sees what [`Resolver::with_env`] was given rather than the
    /// process; the clock and platform are the real ones.
    fn host(&self) -> ResolverHost<'_> {
        ResolverHost { env: &self.env }
    }

    /// The [`Masker`](crate::Masker) of this resolver's secrets, including those it finds
    /// later (a plan keeps it, so whatever runs the plan masks with it).
    pub fn masker(&self) -> crate::Masker {
        self.masker.clone()
    }

    /// Renders task `name` (a name, an alias, or a name a wildcard task matches) for an
    /// invocation with `call_vars`.
    #[expect(clippy::too_many_lines, reason = "renders each key of a task in turn; splitting it scatters the scope")]
    pub fn resolve(&self, name: &str, call_vars: &IndexMap<String, Value>) -> Result<ResolvedTask, SpecError> {
        let (task, matches) =
            self.spec.lookup(name).ok_or_else(|| SpecError::plain(format!("unknown task `{name}`")))?;
        // A wildcard task is named after what it was called as (`start:web`, not `start:*`).
        let task_name = if matches.is_empty() { task.name.clone() } else { name.to_string() };
        let mut scope = self.scope_for(task, call_vars, task_name.clone());
        scope.matches = Some(Value::List(matches.into_iter().map(Value::Str).collect()));
        let unmet_requirements = match self.check_requires(task, &task_name, &mut scope) {
            Ok(()) => Vec::new(),
            Err(unmet) if self.defer_requires => {
                for req in &task.requires {
                    if matches!(scope.lookup(&req.name), Ok(None | Some(Value::Undefined(_)))) {
                        scope.pinned.push(req.name.clone());
                        scope.extra.insert(req.name.clone(), Value::Str(format!("<{} unset>", req.name)));
                    }
                }
                unmet.diagnostics.iter().map(|d| d.message.clone()).collect()
            }
            Err(e) => return Err(e),
        };
        let r = |t: &Tmpl, scope: &mut TaskScope<'_, '_>| self.render(t, scope, &task_name);
        let dir = match &task.dir {
            Some(d) => {
                let rendered = r(d, &mut scope)?;
                let p = Path::new(&rendered);
                if p.is_absolute() { p.to_path_buf() } else { self.spec.scopes[task.scope].dir.join(p) }
            }
            None => self.spec.scopes[task.scope].dir.clone(),
        };
        // From here on `{{.TASK_DIR}}` and dynamic vars see the task's own directory.
        scope.dir.clone_from(&dir);
        let mut env = IndexMap::new();
        let mut dynamic_env: IndexMap<String, DynamicEnv> = IndexMap::new();
        for def_map in self.env_chain(task) {
            for (k, def) in def_map {
                // Dynamic env values run when the task runs, after its preconditions, and only
                // if it runs: planning, `status` and `--dry-run` never call `op read`.
                if let VarValue::Sh(t) = &def.value {
                    let command = r(t, &mut scope)?;
                    env.shift_remove(k);
                    dynamic_env.insert(k.clone(), DynamicEnv { name: k.clone(), command, secret: def.secret });
                    continue;
                }
                let value = self.eval_def(k, def, &mut scope, &task_name)?;
                dynamic_env.shift_remove(k);
                env.insert(k.clone(), value.to_display_string());
            }
        }
        let dynamic_env: Vec<DynamicEnv> = dynamic_env.into_values().collect();
        let mut vars = IndexMap::new();
        for k in task.vars.keys() {
            if let Some(v) = scope.lookup(k).map_err(|m| self.var_error(task, k, &m))? {
                vars.insert(k.clone(), v.to_display_string());
            }
        }
        let settings = &self.spec.scopes[task.scope].settings;
        let ctx = CmdContext { task, task_name: &task_name, dir: &dir };
        let cmds = self.cmds(&task.cmds, &mut scope, &ctx)?;
        let recover = self.cmds(&task.recover, &mut scope, &ctx)?;
        let mut deps = Vec::with_capacity(task.deps.len());
        for d in &task.deps {
            for binding in self.loop_bindings(d.for_each.as_deref(), &mut scope, &ctx)? {
                scope.set_extra(binding);
                let name = self.target_name(&d.target, &mut scope, &task_name)?;
                let mut vars = IndexMap::new();
                for (k, def) in d.vars.iter().flat_map(|v| v.iter()) {
                    vars.insert(k.clone(), self.eval_def(k, def, &mut scope, &task_name)?);
                }
                deps.push(ResolvedDep { task: name, vars, silent: d.silent });
            }
            scope.clear_extra();
        }
        let mut preconditions = Vec::new();
        for p in &task.preconditions {
            let msg = match &p.msg {
                Some(m) => Some(r(m, &mut scope)?),
                None => None,
            };
            preconditions.push((r(&p.sh, &mut scope)?, msg));
        }
        let list = |items: &[Tmpl], scope: &mut TaskScope<'_, '_>| {
            items.iter().map(|t| r(t, scope)).collect::<Result<Vec<_>, _>>()
        };
        let status = list(&task.status, &mut scope)?;
        let sources = list(&task.sources, &mut scope)?;
        let generates = list(&task.generates, &mut scope)?;
        let confirm = match &task.confirm {
            Some(c) => Some(r(c, &mut scope)?),
            None => None,
        };
        let health = match &task.health {
            Some(h) => Some(Box::new(self.health(h, &mut scope, &task_name)?)),
            None => None,
        };
        let label = match &task.label {
            Some(l) => Some(r(l, &mut scope)?),
            None => None,
        };
        let (key, call_vars) = keyed(&task_name, call_vars);
        let run = task.run.or(settings.run).unwrap_or_default();
        // As in go-task, the prefix is the task's name unless `prefix` says otherwise (a `label`
        // changes the echo lines, not the prefix).
        let prefix = match &task.prefix {
            Some(p) => r(p, &mut scope)?,
            None => key.clone(),
        };
        let output = match self.invocation.output.as_ref().or(task.output.as_deref()).or(settings.output.as_ref()) {
            None | Some(OutputSetting::Interleaved) => ResolvedOutput::Interleaved,
            Some(OutputSetting::Prefixed) => ResolvedOutput::Prefixed,
            Some(OutputSetting::Group { begin, end, error_only }) => ResolvedOutput::Group {
                begin: match begin {
                    Some(b) => Some(r(b, &mut scope)?),
                    None => None,
                },
                end: match end {
                    Some(e) => Some(r(e, &mut scope)?),
                    None => None,
                },
                error_only: *error_only,
            },
        };
        let mut needs = ResolvedNeeds::default();
        if let Some(task_needs) = &task.needs {
            needs.tools.clone_from(&task_needs.tools);
            needs.env.clone_from(&task_needs.env);
            for f in &task_needs.files {
                needs.files.push(dir.join(r(f, &mut scope)?));
            }
            for e in &task_needs.endpoints {
                needs.endpoints.push(r(e, &mut scope)?);
            }
        }
        needs.preconditions = task
            .preconditions
            .iter()
            .zip(&preconditions)
            .filter(|(p, _)| p.preflight)
            .map(|(_, resolved)| resolved.clone())
            .collect();
        let platform_skip = (!task.platforms.is_empty() && !task.platforms.iter().any(crate::Platform::matches_host))
            .then(|| format!("not for this platform ({}/{})", crate::model::host_os(), crate::model::host_arch()));
        Ok(ResolvedTask {
            name: task_name.clone(),
            key,
            call_vars,
            desc: task.desc.clone(),
            cmds,
            recover,
            deps,
            dir,
            env,
            dynamic_env,
            vars,
            preconditions,
            status,
            sources,
            generates,
            timeout: match &task.timeout {
                Some(t) => Some(self.duration(t, &mut scope, &task_name)?),
                None => None,
            },
            retries: task.retries,
            silent: task.silent || settings.silent,
            ignore_error: task.ignore_error,
            internal: task.internal,
            confirm,
            health,
            label: label.filter(|l| *l != task_name),
            prefix,
            output,
            shell: task.shell.clone().or_else(|| settings.shell.clone()).unwrap_or_else(|| "sh".to_string()),
            interactive: task.interactive,
            run,
            method: task.method.or(settings.method).unwrap_or_default(),
            platform_skip,
            needs,
            unmet_requirements,
            keep_background: task.background.or(settings.background) == Some(Background::Keep),
        })
    }

    /// The name, key and `run` policy of an invocation, without rendering the task: the plan
    /// recognises an invocation it already has before paying for a render.
    pub fn identity(&self, name: &str, call_vars: &IndexMap<String, Value>) -> Option<(String, String, RunPolicy)> {
        let (task, matches) = self.spec.lookup(name)?;
        let task_name = if matches.is_empty() { task.name.clone() } else { name.to_string() };
        let (key, _) = keyed(&task_name, call_vars);
        let policy = task.run.or(self.spec.scopes[task.scope].settings.run).unwrap_or_default();
        Some((task_name, key, policy))
    }

    /// `requires`: every listed variable is set (and, with `enum`, to an allowed value).
    fn check_requires(&self, task: &Task, task_name: &str, scope: &mut TaskScope<'_, '_>) -> Result<(), SpecError> {
        let mut diags = Vec::new();
        for req in &task.requires {
            let value = scope.lookup(&req.name).map_err(|m| self.var_error(task, &req.name, &m))?;
            match (value, &req.allowed) {
                (None | Some(Value::Undefined(_)), _) => diags.push(
                    Diagnostic::new(format!("task `{task_name}` requires variable `{}`, which is not set", req.name))
                        .at(task.location.clone(), "required by this task")
                        .help(format!("pass it: `opsrun run {task_name} {}=value`", req.name)),
                ),
                (Some(v), Some(allowed)) if !allowed.contains(&v.to_display_string()) => diags.push(
                    Diagnostic::new(format!(
                        "task `{task_name}`: variable `{}` is `{}`, which is not allowed",
                        req.name,
                        self.mask(&v.to_display_string())
                    ))
                    .at(task.location.clone(), "required by this task")
                    .help(format!("allowed values: {}", allowed.join(", "))),
                ),
                _ => {}
            }
        }
        if diags.is_empty() { Ok(()) } else { Err(SpecError::new(diags, Arc::clone(&self.spec.sources))) }
    }

    /// The task a reference names: its canonical name, or for a template, the name it renders
    /// to, looked up in the reference's namespace first.
    fn target_name(&self, target: &TaskRef, scope: &mut TaskScope<'_, '_>, task: &str) -> Result<String, SpecError> {
        let Some(t) = &target.template else { return Ok(target.name.clone()) };
        let rendered = self.render(t, scope, task)?;
        let candidates = if target.namespace.is_empty() || rendered.starts_with(':') {
            vec![rendered.trim_start_matches(':').to_string()]
        } else {
            vec![format!("{}:{rendered}", target.namespace), rendered.clone()]
        };
        for c in &candidates {
            if let Some((found, matches)) = self.spec.lookup(c) {
                return Ok(if matches.is_empty() { found.name.clone() } else { c.clone() });
            }
        }
        let mut d =
            Diagnostic::new(format!("in task `{task}`: `{}` renders to `{rendered}`, which is not a task", t.source()))
                .at(t.location.clone(), "this task name");
        if let Some(best) = crate::did_you_mean(&rendered, self.spec.tasks.keys().map(String::as_str)) {
            d = d.help(format!("did you mean `{best}`?"));
        }
        Err(SpecError::new(vec![d], Arc::clone(&self.spec.sources)))
    }

    /// Renders a free-standing template string (e.g. the `[gitops]` commands) with the root
    /// file's vars plus `extra`.
    pub fn render_root(&self, source: &str, extra: &IndexMap<String, Value>) -> Result<String, SpecError> {
        let parsed = crate::template::Template::parse(source)
            .map_err(|e| SpecError::plain(format!("invalid template `{source}`: {e}")))?;
        let empty = IndexMap::new();
        let mut scope = TaskScope::new(self, &empty, extra, 0, String::new(), self.spec.root_dir.clone());
        parsed.render(&mut scope, &self.host()).map_err(|e| SpecError::plain(format!("cannot render `{source}`: {e}")))
    }

    /// The root file's `env` (dotenv files included), rendered: what commands that belong to no
    /// task (the `[gitops]` override commands) run with. Dynamic values are evaluated.
    pub fn root_env(&self) -> Result<IndexMap<String, String>, SpecError> {
        let empty_defs = IndexMap::new();
        let empty_vals = IndexMap::new();
        let mut scope = TaskScope::new(self, &empty_defs, &empty_vals, 0, String::new(), self.spec.root_dir.clone());
        let mut env = IndexMap::new();
        for (k, def) in &self.spec.scopes[0].env {
            let value = self.eval_def(k, def, &mut scope, "(root)")?;
            env.insert(k.clone(), value.to_display_string());
        }
        Ok(env)
    }

    fn scope_for<'a>(
        &'a self,
        task: &'a Task,
        call_vars: &'a IndexMap<String, Value>,
        task_name: String,
    ) -> TaskScope<'a, 's> {
        let dir = self.spec.scopes[task.scope].dir.clone();
        TaskScope::new(self, &task.vars, call_vars, task.scope, task_name, dir)
    }

    /// The env maps that apply to a task, lowest priority first: root file … task's file, task.
    fn env_chain<'a>(&'a self, task: &'a Task) -> Vec<&'a IndexMap<String, VarDef>> {
        let mut chain = Vec::new();
        let mut s = Some(task.scope);
        while let Some(i) = s {
            chain.push(&self.spec.scopes[i].env);
            s = self.spec.scopes[i].parent;
        }
        chain.reverse();
        chain.push(&task.env);
        chain
    }

    fn cmds(
        &self,
        cmds: &[Cmd],
        scope: &mut TaskScope<'_, '_>,
        ctx: &CmdContext<'_>,
    ) -> Result<Vec<ResolvedCmd>, SpecError> {
        let task = ctx.task;
        let settings = &self.spec.scopes[task.scope].settings;
        let mut out = Vec::with_capacity(cmds.len());
        let mut problems = Vec::new();
        for c in cmds {
            if !c.platforms.is_empty() && !c.platforms.iter().any(crate::Platform::matches_host) {
                continue;
            }
            let set: Vec<String> = settings.set.iter().chain(&task.set).chain(&c.set).cloned().collect();
            let shopt: Vec<String> = settings.shopt.iter().chain(&task.shopt).chain(&c.shopt).cloned().collect();
            for binding in self.loop_bindings(c.for_each.as_deref(), scope, ctx)? {
                scope.set_extra(binding);
                let (kind, on_failure) = match &c.kind {
                    CmdKind::Shell(t) if c.defer => {
                        // Two variants: `{{.EXIT_CODE}}` is empty when the task succeeded, and the
                        // failing command's exit code (filled in by the engine) when it failed.
                        scope.extra.insert("EXIT_CODE".into(), Value::Str(String::new()));
                        let ok = self.render(t, scope, ctx.task_name)?;
                        scope.extra.insert("EXIT_CODE".into(), Value::Str(EXIT_CODE_PLACEHOLDER.into()));
                        let failed = self.render(t, scope, ctx.task_name)?;
                        scope.extra.shift_remove("EXIT_CODE");
                        (ResolvedCmdKind::Shell(ok), Some(failed))
                    }
                    // Every command is rendered, so that all its undefined variables are
                    // reported together rather than one per attempt.
                    CmdKind::Shell(t) => match self.render(t, scope, ctx.task_name) {
                        Ok(script) => (ResolvedCmdKind::Shell(script), None),
                        Err(e) => {
                            problems.extend(e.diagnostics);
                            continue;
                        }
                    },
                    CmdKind::Task { target, vars } => {
                        let name = self.target_name(target, scope, ctx.task_name)?;
                        let mut values = IndexMap::new();
                        for (k, def) in vars.iter().flat_map(|v| v.iter()) {
                            values.insert(k.clone(), self.eval_def(k, def, scope, ctx.task_name)?);
                        }
                        (ResolvedCmdKind::Task { name, vars: values }, None)
                    }
                };
                out.push(ResolvedCmd {
                    kind,
                    ignore_error: c.ignore_error,
                    silent: c.silent,
                    defer: c.defer,
                    on_failure,
                    set: set.clone(),
                    shopt: shopt.clone(),
                });
            }
            scope.clear_extra();
        }
        if problems.is_empty() { Ok(out) } else { Err(SpecError::new(problems, Arc::clone(&self.spec.sources))) }
    }

    /// The loop variables of each iteration of `for_each` (one empty binding without a loop,
    /// which costs no allocation).
    fn loop_bindings(
        &self,
        for_each: Option<&ForSpec>,
        scope: &mut TaskScope<'_, '_>,
        ctx: &CmdContext<'_>,
    ) -> Result<Bindings, SpecError> {
        let item = |v: Value| IndexMap::from([("ITEM".to_string(), v)]);
        let Some(spec) = for_each else { return Ok(Some(IndexMap::new()).into_iter().chain(Vec::new())) };
        let bindings: Vec<IndexMap<String, Value>> = match spec {
            ForSpec::List(items) => items
                .iter()
                .map(|t| self.render(t, scope, ctx.task_name).map(|s| item(Value::Str(s))))
                .collect::<Result<_, _>>()?,
            ForSpec::Var { var, split, as_name } => {
                let name = as_name.clone().unwrap_or_else(|| "ITEM".to_string());
                let value = scope.lookup(var).map_err(|m| self.var_error(ctx.task, var, &m))?;
                let Some(value) = value else {
                    return Err(SpecError::plain(format!(
                        "in task `{}`: `for` loops over variable `{var}`, which is not defined",
                        ctx.task_name
                    )));
                };
                match value {
                    Value::List(items) => items.into_iter().map(|v| IndexMap::from([(name.clone(), v)])).collect(),
                    Value::Map(m) => m
                        .into_iter()
                        .map(|(k, v)| IndexMap::from([(name.clone(), v), ("KEY".to_string(), Value::Str(k))]))
                        .collect(),
                    other => {
                        let text = other.to_display_string();
                        let parts: Vec<&str> = match split {
                            Some(sep) => text.split(sep.as_str()).collect(),
                            None => text.split_whitespace().collect(),
                        };
                        parts
                            .into_iter()
                            .filter(|p| !p.is_empty())
                            .map(|p| IndexMap::from([(name.clone(), Value::Str(p.to_string()))]))
                            .collect()
                    }
                }
            }
            ForSpec::Matrix(rows) => {
                let mut combos: Vec<IndexMap<String, Value>> = vec![IndexMap::new()];
                for (key, row) in rows {
                    let values: Vec<String> = match row {
                        MatrixRow::Values(values) => values.clone(),
                        MatrixRow::Ref(var) => {
                            match scope.lookup(var).map_err(|m| self.var_error(ctx.task, var, &m))? {
                                Some(Value::List(items)) => items.iter().map(Value::to_display_string).collect(),
                                other => {
                                    return Err(SpecError::plain(format!(
                                        "in task `{}`: matrix row `{key}` refers to `{var}`, which is {}, not a list",
                                        ctx.task_name,
                                        other.map_or("not defined", |v| v.type_name())
                                    )));
                                }
                            }
                        }
                    };
                    combos = combos
                        .into_iter()
                        .flat_map(|c| {
                            values.iter().map(move |v| {
                                let mut c = c.clone();
                                c.insert(key.clone(), Value::Str(v.clone()));
                                c
                            })
                        })
                        .collect();
                }
                combos.into_iter().map(|c| item(Value::Map(c))).collect()
            }
            ForSpec::Sources | ForSpec::Generates => {
                let globs = if matches!(spec, ForSpec::Sources) { &ctx.task.sources } else { &ctx.task.generates };
                let globs =
                    globs.iter().map(|t| self.render(t, scope, ctx.task_name)).collect::<Result<Vec<_>, _>>()?;
                crate::matching_files(ctx.dir, &globs).into_iter().map(|(_, rel)| item(Value::Str(rel))).collect()
            }
        };
        Ok(None.into_iter().chain(bindings))
    }

    fn health(&self, h: &HealthSpec, scope: &mut TaskScope<'_, '_>, task: &str) -> Result<ResolvedHealth, SpecError> {
        let probe = match &h.probe {
            ProbeSpec::Cmd(c) => ResolvedProbe::Cmd(self.render(c, scope, task)?),
            ProbeSpec::Http { url, status, body, body_not, insecure_tls } => ResolvedProbe::Http {
                url: self.render(url, scope, task)?,
                status: status.clone(),
                body: match body {
                    Some(b) => Some(self.render(b, scope, task)?),
                    None => None,
                },
                body_not: match body_not {
                    Some(b) => Some(self.render(b, scope, task)?),
                    None => None,
                },
                insecure_tls: *insecure_tls,
            },
            ProbeSpec::Tcp(a) => ResolvedProbe::Tcp(self.render(a, scope, task)?),
            ProbeSpec::Custom { name, with } => ResolvedProbe::Custom {
                name: name.clone(),
                with: with
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.render(v, scope, task)?)))
                    .collect::<Result<_, SpecError>>()?,
            },
        };
        let fatal_patterns: Vec<String> =
            h.fatal_patterns.iter().map(|p| self.render(p, scope, task)).collect::<Result<_, _>>()?;
        // A templated pattern is checked once rendered (a literal one was checked at load).
        for p in &fatal_patterns {
            if let Err(e) = regex::Regex::new(p) {
                return Err(SpecError::plain(format!(
                    "task `{task}`: its gate's fatal pattern `{}` is not a valid regular expression: {e}",
                    self.mask(p)
                )));
            }
        }
        Ok(ResolvedHealth {
            name: h.name.clone().unwrap_or_else(|| probe.describe()),
            probe,
            initial_delay: self.duration(&h.initial_delay, scope, task)?,
            interval: self.duration(&h.interval, scope, task)?,
            backoff: h.backoff,
            probe_timeout: self.duration(&h.probe_timeout, scope, task)?,
            timeout: self.duration(&h.timeout, scope, task)?,
            success_threshold: h.success_threshold,
            consecutive_error_limit: h.consecutive_error_limit,
            fatal_exit_codes: h.fatal_exit_codes.clone(),
            fatal_patterns,
            error_exit_codes: h.error_exit_codes.clone(),
        })
    }

    fn duration(&self, d: &DurationSpec, scope: &mut TaskScope<'_, '_>, task: &str) -> Result<Duration, SpecError> {
        match d {
            DurationSpec::Fixed(d) => Ok(*d),
            DurationSpec::Template(t) => {
                let text = self.render(t, scope, task)?;
                crate::parse_duration(&text).map_err(|e| {
                    SpecError::new(
                        vec![
                            Diagnostic::new(format!("in task `{task}`: invalid duration: {e}"))
                                .at(t.location.clone(), "rendered from this template"),
                        ],
                        Arc::clone(&self.spec.sources),
                    )
                })
            }
        }
    }

    fn eval_def(
        &self,
        name: &str,
        def: &VarDef,
        scope: &mut TaskScope<'_, '_>,
        task: &str,
    ) -> Result<Value, SpecError> {
        let value = match &def.value {
            VarValue::Literal(v) => v.clone(),
            VarValue::Template(t) => Value::Str(self.render(t, scope, task)?),
            VarValue::Ref(other) => scope
                .lookup(other)
                .map_err(|m| SpecError::plain(format!("in task `{task}`: variable `{name}` refers to `{other}`: {m}")))?
                .unwrap_or_else(|| Value::Undefined(other.clone())),
            VarValue::Sh(t) => {
                let cmd = self.render(t, scope, task)?;
                let out = self.run_dynamic(&cmd, &scope.dir).map_err(|m| {
                    SpecError::new(
                        vec![
                            Diagnostic::new(format!("dynamic variable `{name}` failed: {m}"))
                                .at(t.location.clone(), "this command"),
                        ],
                        Arc::clone(&self.spec.sources),
                    )
                })?;
                Value::Str(out)
            }
        };
        if def.secret {
            self.add_secret(&value.to_display_string());
        }
        Ok(value)
    }

    /// `value` with the secrets seen so far masked, for error messages.
    fn mask(&self, value: &str) -> String {
        self.masker.mask(value)
    }

    fn add_secret(&self, value: &str) {
        self.masker.add(value);
    }

    /// Runs a dynamic variable's command once per run (per command text and directory).
    fn run_dynamic(&self, cmd: &str, dir: &Path) -> Result<String, String> {
        let key = (cmd.to_string(), dir.to_path_buf());
        if let Some(hit) = self.dynamic.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let mut command = opsrun_process::ShellCommand::new(cmd, dir);
        command.errexit = false;
        command.deadline = Some(std::time::Instant::now() + DYNAMIC_VAR_TIMEOUT);
        let out = opsrun_process::capture(&command);
        let result = match out.exit {
            opsrun_process::Exit::Code(0) => {
                let mut s = out.stdout;
                while s.ends_with('\n') || s.ends_with('\r') {
                    s.pop();
                }
                Ok(s)
            }
            opsrun_process::Exit::SpawnFailed(why) => Err(format!("cannot run `{cmd}`: {why}")),
            opsrun_process::Exit::TimedOut => Err(format!(
                "`{cmd}` did not finish within {} and was killed",
                crate::format_duration(DYNAMIC_VAR_TIMEOUT)
            )),
            exit => {
                let code = match exit {
                    opsrun_process::Exit::Code(c) => format!("exit code {c}"),
                    other => other.describe(),
                };
                match out.stderr.trim() {
                    "" => Err(format!("`{cmd}` failed with {code} and printed nothing on stderr")),
                    e => Err(format!("`{cmd}` failed with {code}: {e}")),
                }
            }
        };
        // What it printed can hold a secret read earlier (a token, a key): masked.
        let result = result.map_err(|e| self.masker().mask(&e));
        if let Ok(mut m) = self.dynamic.lock() {
            m.insert(key, result.clone());
        }
        result
    }

    fn render(&self, t: &Tmpl, scope: &mut TaskScope<'_, '_>, task: &str) -> Result<String, SpecError> {
        if t.parsed.is_literal() {
            return Ok(t.source().to_owned());
        }
        let lenient = self.spec.scopes.get(scope.file_scope).and_then(|s| s.settings.undefined_vars)
            == Some(UndefinedVars::Empty);
        // A Taskfile-style file prints undefined variables as empty strings (with a warning);
        // otherwise every undefined variable of the template is an error, all reported.
        let rendered = if lenient {
            t.parsed.render_lenient(scope, &self.host()).map(|r| (r.text, r.undefined)).map_err(|e| vec![e])
        } else {
            t.parsed.render_all(scope, &self.host()).map(|text| (text, Vec::new()))
        };
        let rendered = rendered.map(|(text, undefined)| {
            for (name, range) in undefined {
                self.warn_undefined(t, &name, &range, task);
            }
            text
        });
        rendered.map_err(|errors| {
            let diagnostics = errors
                .iter()
                .map(|e| {
                    let at = template_error_location(&t.location, t.content_start, e.offset, e.len);
                    let d = Diagnostic::new(format!("in task `{task}`: {e}"));
                    match &e.kind {
                        TemplateErrorKind::UndefinedVariable(name) => {
                            let mut d = d.at(at, "used here");
                            if let Some(best) = self.closest_var(name, task) {
                                d = d.help(format!("did you mean `{best}`?"));
                            }
                            d.help(format!(
                                "define `{name}` under [vars] or the task's vars, or pass it: `opsrun run {task} {name}=value`"
                            ))
                        }
                        _ => d.at(at, "here"),
                    }
                })
                .collect();
            SpecError::new(diagnostics, Arc::clone(&self.spec.sources))
        })
    }

    /// Records that `name` was printed as an empty string in `t`, once per name and place.
    fn warn_undefined(&self, t: &Tmpl, name: &str, range: &std::ops::Range<usize>, task: &str) {
        let at = template_error_location(&t.location, t.content_start, range.start, range.len());
        let Ok(mut warnings) = self.warnings.lock() else { return };
        let seen = |d: &Diagnostic| d.location.as_ref() == Some(&at) && d.message.contains(&format!("`{name}`"));
        if warnings.iter().any(seen) {
            return;
        }
        let mut d =
            Diagnostic::warning(format!("in task `{task}`: undefined variable `{name}` printed as an empty string"))
                .at(at, "undefined here");
        if let Some(best) = self.closest_var(name, task) {
            d = d.help(format!("did you mean `{best}`?"));
        }
        warnings.push(d.help(format!("define it, or pass it: `opsrun run {task} {name}=value`")));
    }

    /// The defined variable name closest to `name`, for "did you mean".
    fn closest_var(&self, name: &str, task: &str) -> Option<String> {
        let mut names: Vec<&str> = self.invocation.vars.keys().map(String::as_str).collect();
        if let Some(t) = self.spec.task(task) {
            names.extend(t.vars.keys().map(String::as_str));
            let mut s = Some(t.scope);
            while let Some(i) = s {
                names.extend(self.spec.scopes[i].vars.keys().map(String::as_str));
                names.extend(self.spec.scopes[i].include_vars.keys().map(String::as_str));
                s = self.spec.scopes[i].parent;
            }
        }
        names.extend(["ROOT_DIR", "TASK", "TASK_DIR", "TASKFILE", "TASKFILE_DIR", "CLI_ARGS", "USER_WORKING_DIR"]);
        crate::did_you_mean(name, names).filter(|b| *b != name).map(str::to_string)
    }

    fn var_error(&self, task: &Task, name: &str, message: &str) -> SpecError {
        let location = task.vars.get(name).and_then(|d| match &d.value {
            VarValue::Template(t) | VarValue::Sh(t) => Some(t.location.clone()),
            VarValue::Literal(_) | VarValue::Ref(_) => None,
        });
        let mut d = Diagnostic::new(format!("in task `{}`: variable `{name}`: {message}", task.name));
        if let Some(l) = location {
            d = d.at(l, "defined here");
        }
        SpecError::new(vec![d], Arc::clone(&self.spec.sources))
    }
}

/// The loop variables of each iteration of a `for` (see `Resolver::loop_bindings`).
type Bindings =
    std::iter::Chain<std::option::IntoIter<IndexMap<String, Value>>, std::vec::IntoIter<IndexMap<String, Value>>>;

/// What rendering a task's commands needs besides the scope.
struct CmdContext<'a> {
    task: &'a Task,
    task_name: &'a str,
    dir: &'a Path,
}

/// The key of `task_name` called with `call_vars`, and those vars as text (one conversion for
/// the plan's identity check and the rendering, so the two cannot disagree).
fn keyed(task_name: &str, call_vars: &IndexMap<String, Value>) -> (String, IndexMap<String, String>) {
    let vars: IndexMap<String, String> = call_vars.iter().map(|(k, v)| (k.clone(), v.to_display_string())).collect();
    (invocation_key(task_name, &vars), vars)
}

/// `name`, or `name[K=V,...]` for an invocation with call vars.
pub fn invocation_key(name: &str, call_vars: &IndexMap<String, String>) -> String {
    if call_vars.is_empty() {
        return name.to_string();
    }
    let mut pairs: Vec<String> = call_vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    format!("{name}[{}]", pairs.join(","))
}

/// The variable scope of one task invocation.
struct TaskScope<'a, 's> {
    resolver: &'a Resolver<'s>,
    task_vars: &'a IndexMap<String, VarDef>,
    call_vars: &'a IndexMap<String, Value>,
    file_scope: usize,
    task_name: String,
    dir: PathBuf,
    cache: HashMap<String, Value>,
    /// Variables being evaluated, with the layer they were found in.
    stack: Vec<(String, usize)>,
    /// Values above every layer: a loop's `ITEM`, `EXIT_CODE` of a deferred command.
    extra: IndexMap<String, Value>,
    /// Names in `extra` that outlive loops (placeholders of unmet requirements; and `MATCH`,
    /// if a loop names its item so).
    pinned: Vec<String>,
    /// A task's `MATCH` (what the `*`s of a wildcard task matched; empty for another task),
    /// right below `extra`; `None` outside a task.
    matches: Option<Value>,
}

/// Layer numbers, highest priority first; file scopes follow the task layer.
const LAYER_CLI: usize = 0;
const LAYER_CALL: usize = 1;
const LAYER_TASK: usize = 2;

impl<'a, 's> TaskScope<'a, 's> {
    fn new(
        resolver: &'a Resolver<'s>,
        task_vars: &'a IndexMap<String, VarDef>,
        call_vars: &'a IndexMap<String, Value>,
        file_scope: usize,
        task_name: String,
        dir: PathBuf,
    ) -> Self {
        Self {
            resolver,
            task_vars,
            call_vars,
            file_scope,
            task_name,
            dir,
            cache: HashMap::new(),
            stack: Vec::new(),
            extra: IndexMap::new(),
            pinned: Vec::new(),
            matches: None,
        }
    }

    /// Sets one loop iteration's variables. Cached values may depend on the previous ones, so the
    /// cache starts over.
    fn set_extra(&mut self, binding: IndexMap<String, Value>) {
        if binding.is_empty() {
            return;
        }
        self.cache.clear();
        for (k, v) in binding {
            self.extra.insert(k, v);
        }
    }

    /// Ends a loop: its variables are gone.
    fn clear_extra(&mut self) {
        let before = self.extra.len();
        self.extra.retain(|k, _| k == "MATCH" || self.pinned.contains(k));
        if self.extra.len() != before {
            self.cache.clear();
        }
    }

    /// The `env` maps of the task's file and its includers, nearest first: their static values
    /// are template variables too (as in go-task); `{ sh = ... }` values are not, since they
    /// run only when a task runs.
    fn env_layers(&self) -> Vec<&'s IndexMap<String, VarDef>> {
        let spec = self.resolver.spec;
        let mut out = Vec::new();
        let mut s = Some(self.file_scope);
        while let Some(i) = s {
            out.push(&spec.scopes[i].env);
            s = spec.scopes[i].parent;
        }
        out
    }

    /// The var definition maps of the file scopes, highest priority first (include vars, then
    /// file vars, per scope, up to the root).
    fn file_layers(&self) -> Vec<&'s IndexMap<String, VarDef>> {
        let spec = self.resolver.spec;
        let mut out = Vec::new();
        let mut s = Some(self.file_scope);
        while let Some(i) = s {
            out.push(&spec.scopes[i].include_vars);
            out.push(&spec.scopes[i].vars);
            s = spec.scopes[i].parent;
        }
        out
    }

    fn special(&self, name: &str) -> Option<Value> {
        let spec = self.resolver.spec;
        let path = |p: &Path| Value::Str(p.display().to_string());
        Some(match name {
            "ROOT_DIR" => path(&spec.root_dir),
            "TASKFILE" => path(&spec.scopes[self.file_scope].file),
            "TASKFILE_DIR" => path(&spec.scopes[self.file_scope].file_dir),
            "TASK" => Value::Str(self.task_name.clone()),
            "TASK_DIR" => path(&self.dir),
            "CLI_ARGS" => Value::Str(self.resolver.invocation.cli_args.clone()),
            "USER_WORKING_DIR" => path(&self.resolver.invocation.working_dir),
            _ => return None,
        })
    }

    /// Evaluates `def`, found for `name` in layer `layer_no` (kept on the stack meanwhile, so
    /// that a self-reference sees the layer below).
    fn eval_in_layer(&mut self, name: &str, def: &VarDef, layer_no: usize) -> Result<(Value, usize), String> {
        self.stack.push((name.to_string(), layer_no));
        let resolver = self.resolver;
        let task_name = self.task_name.clone();
        let result = resolver.eval_def(name, def, self, &task_name);
        self.stack.pop();
        match result {
            Ok(v) => Ok((v, layer_no)),
            Err(e) => Err(e.diagnostics.first().map_or_else(|| e.to_string(), |d| d.message.clone())),
        }
    }

    /// Finds `name` starting at layer `from`. Returns the value and the layer it came from.
    fn find(&mut self, name: &str, from: usize) -> Result<Option<(Value, usize)>, String> {
        if from == LAYER_CLI
            && let Some(v) = self.extra.get(name).or(self.matches.as_ref().filter(|_| name == "MATCH"))
        {
            return Ok(Some((v.clone(), LAYER_CLI)));
        }
        if from == LAYER_CLI
            && let Some(v) = self.resolver.invocation.vars.get(name)
        {
            return Ok(Some((Value::Str(v.clone()), LAYER_CLI)));
        }
        if from <= LAYER_CALL
            && let Some(v) = self.call_vars.get(name)
        {
            return Ok(Some((v.clone(), LAYER_CALL)));
        }
        let mut layers: Vec<&IndexMap<String, VarDef>> = vec![self.task_vars];
        layers.extend(self.file_layers());
        for (i, layer) in layers.iter().enumerate() {
            let layer_no = LAYER_TASK + i;
            if layer_no < from {
                continue;
            }
            if let Some(def) = layer.get(name) {
                return self.eval_in_layer(name, def, layer_no).map(Some);
            }
        }
        let special_layer = LAYER_TASK + layers.len();
        if from <= special_layer
            && let Some(v) = self.special(name)
        {
            return Ok(Some((v, special_layer)));
        }
        for (i, layer) in self.env_layers().into_iter().enumerate() {
            let layer_no = special_layer + 1 + i;
            if layer_no < from {
                continue;
            }
            if let Some(def) = layer.get(name).filter(|d| !matches!(d.value, VarValue::Sh(_))) {
                return self.eval_in_layer(name, def, layer_no).map(Some);
            }
        }
        Ok(self.resolver.env.get(name).map(|v| (Value::Str(v.clone()), usize::MAX)))
    }
}

impl Scope for TaskScope<'_, '_> {
    fn lookup(&mut self, name: &str) -> Result<Option<Value>, String> {
        if let Some(v) = self.extra.get(name) {
            return Ok(Some(v.clone()));
        }
        if let Some(v) = self.cache.get(name) {
            return Ok(Some(v.clone()));
        }
        // A variable referring to itself sees the definition below its own; referring back to
        // any other variable under evaluation is a cycle.
        if let Some(pos) = self.stack.iter().position(|(n, _)| n == name) {
            if pos + 1 != self.stack.len() {
                let mut path: Vec<&str> = self.stack[pos..].iter().map(|(n, _)| n.as_str()).collect();
                path.push(name);
                return Err(format!("variable cycle: {}", path.join(" → ")));
            }
            let below = self.stack[pos].1 + 1;
            return Ok(self.find(name, below)?.map(|(v, _)| v));
        }
        let found = self.find(name, 0)?;
        Ok(found.map(|(v, _)| {
            self.cache.insert(name.to_string(), v.clone());
            v
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Spec {
        // Dynamic variables run in the file's directory, so it must exist.
        let _ = std::fs::create_dir_all("/tmp/opsrun-test");
        crate::load_str(Path::new("/tmp/opsrun-test/tasks.toml"), text).unwrap()
    }

    fn resolve(text: &str, task: &str, cli: &[(&str, &str)]) -> Result<ResolvedTask, SpecError> {
        let spec = Box::leak(Box::new(spec(text)));
        let invocation = Invocation {
            vars: cli.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect(),
            ..Invocation::default()
        };
        let env = HashMap::from([("HOME".to_string(), "/home/op".to_string())]);
        Resolver::with_env(spec, invocation, env).resolve(task, &IndexMap::new())
    }

    fn shell(t: &ResolvedTask) -> Vec<String> {
        t.cmds
            .iter()
            .map(|c| match &c.kind {
                ResolvedCmdKind::Shell(s) => s.clone(),
                ResolvedCmdKind::Task { name, .. } => format!("task:{name}"),
            })
            .collect()
    }

    #[test]
    fn precedence_cli_over_task_over_file_over_env() {
        let text = r#"
            vars = { A = "file", B = "file", C = "file" }
            [tasks.t]
            vars = { A = "task", B = "task" }
            cmds = ["echo {{.A}} {{.B}} {{.C}} {{.HOME}}"]
        "#;
        assert_eq!(shell(&resolve(text, "t", &[]).unwrap()), ["echo task task file /home/op"]);
        assert_eq!(shell(&resolve(text, "t", &[("A", "cli")]).unwrap()), ["echo cli task file /home/op"]);
    }

    #[test]
    fn env_function_reads_the_resolvers_environment() {
        // `resolve` gives the resolver only HOME: PATH is unset for it, whatever the process has.
        let text = r#"
            [tasks.t]
            cmds = ["echo {{env \"HOME\"}} [{{env \"PATH\"}}]"]
        "#;
        assert_eq!(shell(&resolve(text, "t", &[]).unwrap()), ["echo /home/op []"]);
    }

    #[test]
    fn self_reference_sees_the_lower_definition() {
        let text = r#"
            vars = { V = "1.0" }
            [tasks.t]
            vars = { V = "{{.V | default \"0.1\"}}-task" }
            cmds = ["echo {{.V}}"]
        "#;
        assert_eq!(shell(&resolve(text, "t", &[]).unwrap()), ["echo 1.0-task"]);
    }

    #[test]
    fn vars_refer_to_each_other_and_cycles_are_errors() {
        let ok = r#"
            vars = { A = "{{.B}}-a", B = "b" }
            [tasks.t]
            cmds = ["echo {{.A}}"]
        "#;
        assert_eq!(shell(&resolve(ok, "t", &[]).unwrap()), ["echo b-a"]);
        let cyclic = r#"
            vars = { A = "{{.B}}", B = "{{.A}}" }
            [tasks.t]
            cmds = ["echo {{.A}}"]
        "#;
        let err = resolve(cyclic, "t", &[]).unwrap_err().to_string();
        assert!(err.contains("variable cycle"), "{err}");
    }

    #[test]
    fn undefined_variable_is_an_error_naming_it() {
        let text = "[tasks.t]\ncmds = [\"echo {{.NOPE}}\"]\n";
        let err = resolve(text, "t", &[]).unwrap_err().to_string();
        assert!(err.contains("undefined variable `NOPE`"), "{err}");
        assert!(err.contains("tasks.toml:2:"), "{err}");
    }

    #[test]
    fn undefined_vars_empty_prints_nothing_and_warns_once_per_place() {
        let text =
            "undefined_vars = \"empty\"\n[tasks.t]\ncmds = [\"echo [{{.NOPE}}]\", \"echo {{.NOPE}}{{.NOPE}}\"]\n";
        let spec = spec(text);
        let resolver = Resolver::new(&spec, Invocation::default());
        let task = resolver.resolve("t", &IndexMap::new()).expect("renders");
        assert_eq!(shell(&task), ["echo []", "echo "]);
        // Resolving again adds no warning for the same places.
        let _ = resolver.resolve("t", &IndexMap::new()).expect("renders");
        let warnings = resolver.take_warnings();
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(warnings.iter().all(|w| w.severity == crate::Severity::Warning));
        let rendered = crate::render_diagnostics(&warnings, &spec.sources, false);
        assert!(rendered.contains("undefined variable `NOPE` printed as an empty string"), "{rendered}");
        assert!(rendered.contains("tasks.toml:3:16"), "{rendered}");
        assert!(resolver.take_warnings().is_empty(), "taken");
    }

    #[test]
    fn ref_and_map_vars_keep_their_values() {
        let text = r#"
            vars = { LIST = ["a", "b"], ALIAS = { ref = ".LIST" }, PORTS = { map = { http = 80 } } }
            [tasks.t]
            cmds = ["echo {{index .ALIAS 1}} {{.PORTS.http}} {{len .ALIAS}}"]
        "#;
        assert_eq!(shell(&resolve(text, "t", &[]).unwrap()), ["echo b 80 2"]);
        let bad = "vars = { X = { ref = \"index .L 0\" } }\n";
        let err = crate::load_str(Path::new("/tmp/opsrun-test/tasks.toml"), bad).unwrap_err().to_string();
        assert!(err.contains("invalid `ref`"), "{err}");
    }

    #[test]
    fn background_is_a_file_and_task_setting() {
        let text = r#"
            background = "keep"
            [tasks.kept]
            cmds = ["true"]
            [tasks.killed]
            background = "kill"
            cmds = ["true"]
        "#;
        assert!(resolve(text, "kept", &[]).unwrap().keep_background);
        assert!(!resolve(text, "killed", &[]).unwrap().keep_background);
        let err = crate::load_str(Path::new("/tmp/opsrun-test/tasks.toml"), "background = \"keep-it\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid `background` `keep-it`") && err.contains("did you mean `keep`"), "{err}");
    }

    #[test]
    fn dynamic_vars_run_once_and_secrets_are_recorded() {
        let text = r#"
            vars = { TOKEN = { sh = "echo s3cr3t-value", secret = true } }
            [tasks.t]
            cmds = ["echo {{.TOKEN}}", "echo {{.TOKEN}}"]
        "#;
        let spec = spec(text);
        let r = Resolver::with_env(&spec, Invocation::default(), HashMap::new());
        let t = r.resolve("t", &IndexMap::new()).unwrap();
        assert_eq!(shell(&t), ["echo s3cr3t-value", "echo s3cr3t-value"]);
        assert_eq!(r.masker().mask("s3cr3t-value"), "****");
        assert_eq!(r.masker().len(), 1);
        assert_eq!(r.dynamic.lock().unwrap().len(), 1);
    }

    #[test]
    fn match_is_what_a_wildcard_matched_above_every_other_variable() {
        let text = r#"
            vars = { MATCH = "file" }
            [tasks."start:*"]
            cmds = ["echo {{index .MATCH 0}}"]
            [tasks.plain]
            cmds = ["echo {{len .MATCH}}"]
            [tasks.looped]
            cmds = [{ cmd = "echo {{.MATCH}}", for = { var = "LIST", as = "MATCH" } }, "echo after {{.MATCH}}"]
            vars = { LIST = ["a", "b"] }
        "#;
        assert_eq!(shell(&resolve(text, "start:web", &[("MATCH", "cli")]).unwrap()), ["echo web"]);
        assert_eq!(shell(&resolve(text, "plain", &[("MATCH", "cli")]).unwrap()), ["echo 0"]);
        // A loop may name its item `MATCH`; the last item stays, as it always did.
        assert_eq!(shell(&resolve(text, "looped", &[]).unwrap()), ["echo a", "echo b", "echo after b"]);
    }

    #[test]
    fn special_vars() {
        let text = "[tasks.t]\ncmds = [\"echo {{.TASK}} {{.ROOT_DIR}} {{.CLI_ARGS}}\"]\n";
        let spec = spec(text);
        let inv = Invocation { cli_args: "-v 'a b'".into(), ..Invocation::default() };
        let t = Resolver::with_env(&spec, inv, HashMap::new()).resolve("t", &IndexMap::new()).unwrap();
        assert_eq!(shell(&t), ["echo t /tmp/opsrun-test -v 'a b'"]);
    }
}
