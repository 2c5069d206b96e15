//! The validated spec: what the rest of opsrun consumes.
//!
//! Strings that may contain `{{ }}` are kept as [`Tmpl`]s, parsed once at load time so that
//! syntax errors surface before anything runs; they are rendered per task invocation by
//! [`crate::Resolver`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;

use crate::diagnostic::{Location, SourceMap};
use crate::template::{Template, Value};

/// A parsed template string and where it was written.
#[derive(Debug, Clone)]
pub struct Tmpl {
    /// The parsed form (which keeps the text as written: [`Tmpl::source`]).
    pub parsed: Arc<Template>,
    /// Where it was written.
    pub location: Location,
    /// The file offset where the template text starts, when `location` is exactly this string
    /// literal, so that errors inside the template can point at the right column.
    pub content_start: Option<usize>,
}

impl Tmpl {
    /// The text as written.
    pub fn source(&self) -> &str {
        self.parsed.source()
    }
}

/// The whole validated `tasks.toml`, includes merged in.
#[derive(Debug)]
pub struct Spec {
    /// The root tasks file, absolute.
    pub file: PathBuf,
    /// The directory of the root tasks file: tasks run here by default, `.opsrun/` lives here.
    pub root_dir: PathBuf,
    /// Variable scopes: `scopes[0]` is the root file; each include adds one.
    pub scopes: Vec<FileScope>,
    /// Every task, root and included (included ones as `ns:task`), in file order.
    pub tasks: IndexMap<String, Task>,
    /// Alias → task name.
    pub aliases: IndexMap<String, String>,
    /// `[pipelines.NAME]`.
    pub pipelines: IndexMap<String, Pipeline>,
    /// `[gitops]` override commands.
    pub gitops: GitopsConfig,
    /// The raw `[classify]` table, for `opsrun-change`.
    pub classify: Option<toml::Value>,
    /// The text of every file read, for diagnostics.
    pub sources: Arc<SourceMap>,
}

impl Spec {
    /// Looks a task up by name or alias.
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.get(name).or_else(|| self.aliases.get(name).and_then(|n| self.tasks.get(n)))
    }

    /// Looks a task up by name, alias or wildcard pattern (`start:*`); for a wildcard, the parts
    /// of `name` that the `*`s matched (`{{.MATCH}}`).
    pub fn lookup(&self, name: &str) -> Option<(&Task, Vec<String>)> {
        if let Some(t) = self.task(name) {
            return Some((t, Vec::new()));
        }
        find_wildcard(self.tasks.values().map(|t| (t.name.as_str(), t)), name)
    }

    /// The canonical name for a task name or alias.
    pub fn canonical_name<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        if let Some((k, _)) = self.tasks.get_key_value(name) {
            return Some(k.as_str());
        }
        self.aliases.get(name).map(String::as_str)
    }
}

/// The first task whose wildcard name (`deploy:*`) matches `name`, with what each `*` matched.
pub(crate) fn find_wildcard<'a, T>(tasks: impl Iterator<Item = (&'a str, T)>, name: &str) -> Option<(T, Vec<String>)> {
    tasks.filter(|(n, _)| n.contains('*')).find_map(|(pattern, t)| wildcard_captures(pattern, name).map(|c| (t, c)))
}

/// What each `*` of `pattern` matched in `name`, or `None` when it does not match. A `*`
/// matches any characters, as in go-task.
pub fn wildcard_captures(pattern: &str, name: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = pattern.split('*').map(regex::escape).collect();
    let re = regex::Regex::new(&format!("^{}$", parts.join("(.*)"))).ok()?;
    let caps = re.captures(name)?;
    Some(caps.iter().skip(1).map(|m| m.map_or_else(String::new, |m| m.as_str().to_string())).collect())
}

/// The variables, environment and directory of one file (the root or an include).
#[derive(Debug, Default)]
pub struct FileScope {
    /// The include namespace (`""` for the root file).
    pub namespace: String,
    /// `vars` given on the `includes` entry (higher priority than the file's own).
    pub include_vars: IndexMap<String, VarDef>,
    /// The file's top-level `vars`.
    pub vars: IndexMap<String, VarDef>,
    /// The file's top-level `env`, plus its `dotenv` files (lower priority).
    pub env: IndexMap<String, VarDef>,
    /// The directory tasks of this file run in by default.
    pub dir: PathBuf,
    /// The index of the parent scope (the includer); `None` for the root.
    pub parent: Option<usize>,
    /// The tasks file itself (`{{.TASKFILE}}` of its tasks).
    pub file: PathBuf,
    /// The directory of the tasks file (`{{.TASKFILE_DIR}}` of its tasks), whatever `dir` says.
    pub file_dir: PathBuf,
    /// File-level settings; unset ones are inherited from the includer.
    pub settings: FileSettings,
}

/// File-level settings (`shell`, `output`, `method`, `run`, `set`, `shopt`, `silent`,
/// `undefined_vars`, `background`).
#[derive(Debug, Default, Clone)]
pub struct FileSettings {
    /// The program that runs commands as `SHELL -c SCRIPT`.
    pub shell: Option<String>,
    /// How task output is shown.
    pub output: Option<OutputSetting>,
    /// How `sources` are compared.
    pub method: Option<Method>,
    /// How often a task runs in one run.
    pub run: Option<RunPolicy>,
    /// `set -o` options for every command.
    pub set: Vec<String>,
    /// `shopt -s` options for every command (bash).
    pub shopt: Vec<String>,
    /// No command is echoed.
    pub silent: bool,
    /// What printing an undefined variable does.
    pub undefined_vars: Option<UndefinedVars>,
    /// What happens to processes a command leaves running in the background.
    pub background: Option<Background>,
}

/// What printing an undefined variable (`{{.NOPE}}`) does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UndefinedVars {
    /// An error naming it, before anything runs (opsrun's default).
    #[default]
    Error,
    /// An empty string and a warning (go-task's behaviour; what a Taskfile gets).
    Empty,
}

/// What happens to processes a command started in the background (`cmd &`) that are still
/// running when the command's shell exits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Background {
    /// They are killed, with a warning (opsrun's default: a task leaves nothing behind).
    #[default]
    Kill,
    /// They keep running (go-task's behaviour; what a Taskfile gets), e.g. a
    /// `kubectl port-forward ... &` later commands use.
    Keep,
}

/// go-task's `output`: how the lines a task prints reach opsrun's stdout and stderr.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum OutputSetting {
    /// As printed, as soon as printed (go-task's default).
    #[default]
    Interleaved,
    /// Each line prefixed with `[prefix] `.
    Prefixed,
    /// A task's lines held back and printed together when it ends, between `begin` and `end`.
    Group {
        /// Printed before the group (a template).
        begin: Option<Tmpl>,
        /// Printed after the group (a template).
        end: Option<Tmpl>,
        /// Only print the group of a task that failed.
        error_only: bool,
    },
}

/// go-task's `method`: how `sources` decide that a task is up to date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// The content of the sources is unchanged since the last success.
    #[default]
    Checksum,
    /// No source is newer than the oldest generated file.
    Timestamp,
    /// Sources never make a task up to date.
    None,
}

/// go-task's `run`: how many times one run runs a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunPolicy {
    /// Once per distinct set of variables (opsrun's default; go-task's `when_changed`).
    #[default]
    WhenChanged,
    /// Once, whatever variables it is given.
    Once,
    /// Every time it is reached (go-task's default).
    Always,
}

/// A variable a task requires (`requires = { vars = [...] }`).
#[derive(Debug, Clone)]
pub struct Requirement {
    /// The variable.
    pub name: String,
    /// The values it may take, when restricted.
    pub allowed: Option<Vec<String>>,
}

/// What a task needs from the machine (`requires = { tools, env, files, endpoints }`): checked
/// by `opsrun preflight` before the first stage runs, not when the task starts.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    /// Programs that must be on `PATH`.
    pub tools: Vec<String>,
    /// Environment variables that must be set and not empty.
    pub env: Vec<String>,
    /// Files that must exist (templates, relative to the task's directory).
    pub files: Vec<Tmpl>,
    /// Endpoints that must already answer: `http(s)://...` (any HTTP status) or
    /// `tcp://host:port` (templates).
    pub endpoints: Vec<Tmpl>,
}

/// An entry of `platforms`: an OS, an architecture, or `os/arch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`, `darwin`, `windows`, ... (Go's GOOS names).
    pub os: Option<String>,
    /// `amd64`, `arm64`, ... (Go's GOARCH names).
    pub arch: Option<String>,
}

impl Platform {
    /// True when this machine is this platform.
    pub fn matches_host(&self) -> bool {
        self.os.as_deref().is_none_or(|os| os == host_os()) && self.arch.as_deref().is_none_or(|a| a == host_arch())
    }
}

/// This machine's OS in Go's GOOS words (the same answer as the template's `{{OS}}`).
pub fn host_os() -> &'static str {
    opsrun_template::go_os()
}

/// This machine's architecture in Go's GOARCH words (the same answer as the template's
/// `{{ARCH}}`).
pub fn host_arch() -> &'static str {
    opsrun_template::go_arch()
}

/// A loop over items (`for`): each item runs the command (or calls the task) once.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ForSpec {
    /// A literal list; items may be templates.
    List(Vec<Tmpl>),
    /// The items of a variable: a list, or a string split on `split` (default: whitespace).
    Var {
        /// The variable.
        var: String,
        /// The separator for a string value.
        split: Option<String>,
        /// The name the item is given instead of `ITEM`.
        as_name: Option<String>,
    },
    /// Every combination of the rows; `ITEM` is a map.
    Matrix(IndexMap<String, MatrixRow>),
    /// The task's sources (relative paths).
    Sources,
    /// The task's generated files (relative paths).
    Generates,
}

/// One row of a `for` matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatrixRow {
    /// The values, as written.
    Values(Vec<String>),
    /// The values of a list variable (`{ ref = ".LIST" }`), looked up per invocation.
    Ref(String),
}

/// A reference to a task: its name, or a template that renders to one.
#[derive(Debug, Clone)]
pub struct TaskRef {
    /// The canonical name; for a templated reference, the template's text.
    pub name: String,
    /// The template, when the name has `{{ }}`: rendered for each invocation and looked up
    /// then, in `namespace` first (boxed: most references are plain names).
    pub template: Option<Box<Tmpl>>,
    /// The namespace of the file the reference was written in.
    pub namespace: String,
}

/// A variable definition.
#[derive(Debug, Clone)]
pub struct VarDef {
    /// How to get the value.
    pub value: VarValue,
    /// Masked in every output when set.
    pub secret: bool,
}

/// How a variable's value is produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum VarValue {
    /// A literal that is not a string (number, boolean, list).
    Literal(Value),
    /// A string, possibly with `{{ }}`.
    Template(Tmpl),
    /// `{ sh = "..." }`: the trimmed stdout of a command, run at most once per run, when used.
    Sh(Tmpl),
    /// `{ ref = ".NAME" }`: the value of another variable, as it is (a list stays a list).
    Ref(String),
}

/// One `[tasks.NAME]`.
#[derive(Debug, Clone)]
pub struct Task {
    /// The full name (`ns:task` for included tasks).
    pub name: String,
    /// One-line description shown by `opsrun list`.
    pub desc: Option<String>,
    /// Longer text.
    pub summary: Option<String>,
    /// Commands run in order.
    pub cmds: Vec<Cmd>,
    /// Tasks that must finish (and pass their gates) first.
    pub deps: Vec<Dep>,
    /// Task-level variables.
    pub vars: IndexMap<String, VarDef>,
    /// Task-level environment.
    pub env: IndexMap<String, VarDef>,
    /// Working directory, relative to the file's directory (boxed).
    pub dir: Option<Box<Tmpl>>,
    /// All must pass before anything of the task runs.
    pub preconditions: Vec<Precondition>,
    /// Up-to-date commands: all exiting 0 means the task is skipped.
    pub status: Vec<Tmpl>,
    /// Globs whose content fingerprint decides whether the task is up to date.
    pub sources: Vec<Tmpl>,
    /// Globs that must exist for a sources check to count as up to date.
    pub generates: Vec<Tmpl>,
    /// Limit for the whole task (all commands; boxed).
    pub timeout: Option<Box<DurationSpec>>,
    /// Retries of the command list on failure.
    pub retries: Retries,
    /// Do not echo commands.
    pub silent: bool,
    /// A failure of this task does not fail the run.
    pub ignore_error: bool,
    /// Hidden from `list`, not runnable from the command line.
    pub internal: bool,
    /// Other names.
    pub aliases: Vec<String>,
    /// A question that must be answered yes before the task runs (boxed).
    pub confirm: Option<Box<Tmpl>>,
    /// Commands emergency recovery runs instead of `cmds`.
    pub recover: Vec<Cmd>,
    /// The health gate run after the commands (boxed: most tasks have none).
    pub health: Option<Box<HealthSpec>>,
    /// A display name used instead of the task name in output (a template; boxed).
    pub label: Option<Box<Tmpl>>,
    /// The prefix of `prefixed` output (a template; default: the label or task name). Boxed, as
    /// are `dir`, `timeout`, `confirm` and `label`: most tasks have none, and a task is in memory
    /// once per task of the file.
    pub prefix: Option<Box<Tmpl>>,
    /// Variables that must be set before anything runs.
    pub requires: Vec<Requirement>,
    /// What the machine must provide before a run that includes the task starts
    /// (`requires.tools`, `env`, `files`, `endpoints`), checked by `opsrun preflight`; `None`
    /// when it asks for none (boxed: most tasks ask for none).
    pub needs: Option<Box<Needs>>,
    /// The platforms the task runs on (empty: all); elsewhere it is skipped.
    pub platforms: Vec<Platform>,
    /// Commands get opsrun's stdin and terminal.
    pub interactive: bool,
    /// How often one run runs it.
    pub run: Option<RunPolicy>,
    /// How sources are compared.
    pub method: Option<Method>,
    /// How its output is shown (boxed: most tasks leave it to the file).
    pub output: Option<Box<OutputSetting>>,
    /// The program that runs its commands.
    pub shell: Option<String>,
    /// `set -o` options.
    pub set: Vec<String>,
    /// `shopt -s` options.
    pub shopt: Vec<String>,
    /// What happens to processes its commands leave running (over the file's setting).
    pub background: Option<Background>,
    /// Index into [`Spec::scopes`].
    pub scope: usize,
    /// Where the task's name was written.
    pub location: Location,
}

/// A command of a task.
#[derive(Debug, Clone)]
pub struct Cmd {
    /// What to run.
    pub kind: CmdKind,
    /// A failure of this command does not fail the task.
    pub ignore_error: bool,
    /// Do not echo this command.
    pub silent: bool,
    /// Where it was written.
    pub location: Location,
    /// Run when the task ends (success or failure), last registered first (`defer`).
    pub defer: bool,
    /// Run once per item (boxed: most commands have no loop).
    pub for_each: Option<Box<ForSpec>>,
    /// Platforms the command runs on (empty: all).
    pub platforms: Vec<Platform>,
    /// `set -o` options for this command.
    pub set: Vec<String>,
    /// `shopt -s` options for this command.
    pub shopt: Vec<String>,
}

/// A shell script or a call of another task.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CmdKind {
    /// Run with the task's shell (`sh -c` by default).
    Shell(Tmpl),
    /// Run another task, as a task (its deps, checks and gate), before the next command.
    Task {
        /// The task called.
        target: TaskRef,
        /// Vars given to the call; `None` when none are (boxed: most calls give none, and a
        /// shell command, the usual kind, is no larger than this variant).
        vars: Option<Box<IndexMap<String, VarDef>>>,
    },
}

impl CmdKind {
    /// One line for listings: the script's source, or `Task: NAME` for a call.
    pub fn describe(&self) -> String {
        match self {
            CmdKind::Shell(s) => s.source().trim().to_string(),
            CmdKind::Task { target, .. } => format!("Task: {}", target.name),
        }
    }
}

/// A dependency edge.
#[derive(Debug, Clone)]
pub struct Dep {
    /// The task depended on.
    pub target: TaskRef,
    /// Vars given to the dependency; `None` when none are (boxed: most dependencies give none).
    pub vars: Option<Box<IndexMap<String, VarDef>>>,
    /// Do not echo the dependency's commands.
    pub silent: bool,
    /// One dependency per item (boxed: most dependencies have no loop).
    pub for_each: Option<Box<ForSpec>>,
    /// Where it was written.
    pub location: Location,
}

/// A precondition and its failure message.
#[derive(Debug, Clone)]
pub struct Precondition {
    /// The command.
    pub sh: Tmpl,
    /// The message when it fails.
    pub msg: Option<Tmpl>,
    /// Safe to evaluate before the run starts (`preflight = true`): it only reads, and what it
    /// reads does not depend on earlier stages. `opsrun preflight` runs it too.
    pub preflight: bool,
}

/// Retry policy of a task's commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retries {
    /// Extra attempts after the first failure.
    pub attempts: u32,
    /// Pause between attempts.
    pub delay: Duration,
}

/// `[pipelines.NAME]`.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The pipeline name.
    pub name: String,
    /// Description.
    pub desc: Option<String>,
    /// Target tasks (canonical names).
    pub targets: Vec<String>,
}

/// `[gitops]`: the commands of emergency overrides and of the checks around them.
///
/// `{{.NAME}}` is the Kustomization named on the command line; `{{.PATH}}` (in `diff`) is its
/// directory in the Git checkout. The templates are checked when the file is loaded and
/// rendered when an override command runs.
#[derive(Debug, Clone)]
pub struct GitopsConfig {
    /// The suspend command.
    pub suspend: String,
    /// The resume command.
    pub resume: String,
    /// The drift check before a resume: exit 0 when the cluster matches the checkout, 1 (with
    /// the objects that differ) when it does not, anything else when it cannot tell.
    pub diff: String,
    /// Prints the Kustomization's `spec.path` (relative to the checkout's top level).
    pub spec_path: String,
    /// Prints the Kustomization as a `flux get kustomizations` table (READY, REVISION,
    /// SUSPENDED columns), for the alignment check.
    pub status: String,
    /// The Git checkout Flux's source is cloned from (absolute: resolved against the root tasks
    /// file's directory).
    pub checkout: PathBuf,
    /// Kustomization name → its path in the checkout, used instead of `spec_path`.
    pub paths: IndexMap<String, String>,
    /// The limit for each `diff`, `spec_path` and `status` command.
    pub timeout: Duration,
    /// The task that deploys the GitOps system: a broken layer below it cannot be repaired by
    /// GitOps.
    pub stage: String,
    /// The task whose gate is the Kubernetes API: when it is down, nothing in-cluster can act.
    pub api_stage: String,
}

impl Default for GitopsConfig {
    fn default() -> Self {
        Self {
            suspend: "flux suspend kustomization {{.NAME}} -n flux-system".into(),
            resume: "flux resume kustomization {{.NAME}} -n flux-system".into(),
            diff: "flux diff kustomization {{.NAME}} --path {{.PATH}} --progress-bar=false".into(),
            spec_path: "kubectl get kustomization {{.NAME}} -n flux-system -o 'jsonpath={.spec.path}'".into(),
            status: "flux get kustomizations {{.NAME}} -n flux-system".into(),
            checkout: PathBuf::from("."),
            paths: IndexMap::new(),
            timeout: Duration::from_secs(120),
            stage: "flux".into(),
            api_stage: "api".into(),
        }
    }
}

/// A health gate: what to probe and how to poll it.
#[derive(Debug, Clone)]
pub struct HealthSpec {
    /// A name for messages (defaults to the probe).
    pub name: Option<String>,
    /// What one probe checks.
    pub probe: ProbeSpec,
    /// Wait before the first probe.
    pub initial_delay: DurationSpec,
    /// Pause between probes.
    pub interval: DurationSpec,
    /// Exponential backoff of the interval.
    pub backoff: Option<Backoff>,
    /// Limit for one probe; a probe past it is killed and counts as Error.
    pub probe_timeout: DurationSpec,
    /// Limit for the whole gate.
    pub timeout: DurationSpec,
    /// Consecutive passes needed.
    pub success_threshold: u32,
    /// Consecutive Errors that fail the gate.
    pub consecutive_error_limit: u32,
    /// Exit codes that mean Failed (definitive, stop at once).
    pub fatal_exit_codes: Vec<i32>,
    /// Output patterns (regexes) that mean Failed.
    pub fatal_patterns: Vec<Tmpl>,
    /// Exit codes that mean Error (could not evaluate) instead of NotReady.
    pub error_exit_codes: Vec<i32>,
    /// Where the gate was written.
    pub location: Location,
}

/// The probe kinds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ProbeSpec {
    /// Exit 0 passes.
    Cmd(Tmpl),
    /// An HTTP(S) GET.
    Http {
        /// The URL.
        url: Tmpl,
        /// Accepted status codes; empty means any 2xx.
        status: Vec<u16>,
        /// A regex the body must match.
        body: Option<Tmpl>,
        /// A regex the body must not match.
        body_not: Option<Tmpl>,
        /// Accept self-signed certificates.
        insecure_tls: bool,
    },
    /// A TCP connect to `host:port`.
    Tcp(Tmpl),
    /// A probe written in Rust by the program that embeds opsrun, registered under `name`
    /// (`health = { probe = "name", with = { key = "template" } }`).
    Custom {
        /// The name it is registered under.
        name: String,
        /// Arguments handed to the probe, rendered like every other template.
        with: IndexMap<String, Tmpl>,
    },
}

/// Exponential backoff of a gate's interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Multiplier per probe (default 2).
    pub factor: f64,
    /// Upper bound of the interval (default 30s).
    pub max: Duration,
    /// Randomise each interval by ±20% (default on).
    pub jitter: bool,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { factor: 2.0, max: Duration::from_secs(30), jitter: true }
    }
}

/// A duration written literally (checked at load time) or as a template (checked when
/// rendered), so operators can tune gates per environment: `interval = "{{.GATE_INTERVAL}}"`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DurationSpec {
    /// A literal duration.
    Fixed(Duration),
    /// A template that renders to a duration.
    Template(Tmpl),
}
