//! The `tasks.toml` file as written: serde types that mirror the syntax one to one.
//!
//! Every struct denies unknown keys so that a typo is an error with a span (and a
//! "did you mean" added by [`crate::diagnostic`]) instead of a silently ignored setting.
//! Values that need a location in later validation errors are wrapped in [`Spanned`].

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// A whole `tasks.toml` (or an included file).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    /// Format version; only `1` exists.
    #[cfg_attr(feature = "schema", schemars(with = "Option<u32>"))]
    pub(crate) version: Option<Spanned<u32>>,
    /// Variables every task sees (templates, `{ sh = "..." }` or `{ value, secret }`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "IndexMap<String, RawVar>"))]
    pub(crate) vars: IndexMap<String, Spanned<RawVar>>,
    /// Environment variables of every command; `{ sh = "..." }` values run when a task runs.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "IndexMap<String, RawVar>"))]
    pub(crate) env: IndexMap<String, Spanned<RawVar>>,
    /// Files of `NAME=value` lines read into the environment.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) dotenv: Vec<Spanned<String>>,
    /// Other tasks files, under a namespace: `NS = "path"` or `{ path, dir, optional, vars, internal, flatten, aliases, excludes }`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "IndexMap<String, RawInclude>"))]
    pub(crate) includes: IndexMap<String, Spanned<RawInclude>>,
    /// The tasks, by name (`[tasks.NAME]`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "IndexMap<String, RawTask>"))]
    pub(crate) tasks: IndexMap<Spanned<String>, Box<RawTask>>,
    /// Named sets of targets (`opsrun pipeline NAME`; `bootstrap` for `opsrun bootstrap`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "IndexMap<String, RawPipeline>"))]
    pub(crate) pipelines: IndexMap<Spanned<String>, RawPipeline>,
    /// Handed unparsed to `opsrun-change`, which owns its schema.
    #[cfg_attr(feature = "schema", schemars(with = "Option<serde_json::Value>"))]
    pub(crate) classify: Option<toml::Value>,
    /// How emergency overrides suspend and resume GitOps reconciliation.
    pub(crate) gitops: Option<RawGitops>,
    /// The program commands run with (`sh` by default).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) shell: Option<Spanned<String>>,
    /// How task output is shown (go-task's `output`).
    #[cfg_attr(feature = "schema", schemars(with = "Option<RawOutput>"))]
    pub(crate) output: Option<Spanned<RawOutput>>,
    /// How `sources` are compared (go-task's `method`).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) method: Option<Spanned<String>>,
    /// How often a task runs per run (go-task's `run`).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) run: Option<Spanned<String>>,
    /// `set -o` options of every command (`pipefail`, `errexit`, ...).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) set: Vec<Spanned<String>>,
    /// bash `shopt` options of every command.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) shopt: Vec<Spanned<String>>,
    /// Echo no command of any task.
    #[serde(default)]
    pub(crate) silent: bool,
    /// `error` (default) or `empty`: what printing an undefined variable does.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) undefined_vars: Option<Spanned<String>>,
    /// `kill` (default) or `keep`: processes a command leaves running in the background.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) background: Option<Spanned<String>>,
}

/// `output = "prefixed"` or `output = { group = { begin = "...", end = "..." } }`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(untagged))]
#[derive(Debug, Clone)]
pub(crate) enum RawOutput {
    Name(String),
    Table(RawOutputTable),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutputTable {
    pub(crate) group: RawGroup,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGroup {
    pub(crate) begin: Option<String>,
    pub(crate) end: Option<String>,
    #[serde(default)]
    pub(crate) error_only: bool,
}

/// `requires = { vars = ["A", { name = "ENV", enum = ["dev", "prod"] }], tools = ["kubectl"],
/// env = ["GITHUB_TOKEN"], files = ["talconfig.yaml"], endpoints = ["tcp://10.0.0.10:50000"] }`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequires {
    /// Variables that must be set: a name or `{ name, enum }` (go-task's `requires.vars`).
    #[serde(default)]
    pub(crate) vars: Vec<RawRequiredVar>,
    /// Programs that must be on PATH (`opsrun preflight`).
    #[serde(default)]
    pub(crate) tools: Vec<String>,
    /// Environment variables that must be set (`opsrun preflight`).
    #[serde(default)]
    pub(crate) env: Vec<String>,
    /// Files that must exist, relative to the task's directory (`opsrun preflight`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) files: Vec<Spanned<String>>,
    /// `http(s)://...` or `tcp://host:port` that must answer before the run (`opsrun preflight`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) endpoints: Vec<Spanned<String>>,
}

/// A required variable: a name or `{ name, enum }`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(untagged))]
#[derive(Debug, Clone)]
pub(crate) enum RawRequiredVar {
    Name(String),
    Table(RawRequiredVarTable),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequiredVarTable {
    pub(crate) name: String,
    #[serde(rename = "enum")]
    pub(crate) allowed: Option<Vec<String>>,
}

/// A loop: `for = ["a", "b"]`, `for = "sources"`, `for = { var = "X", split = ",", as = "Y" }`
/// or `for = { matrix = { OS = [...], ARCH = [...] } }`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(untagged))]
#[derive(Debug, Clone)]
pub(crate) enum RawFor {
    Keyword(String),
    List(Vec<String>),
    Table(RawForTable),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawForTable {
    pub(crate) var: Option<String>,
    pub(crate) split: Option<String>,
    #[serde(rename = "as")]
    pub(crate) as_name: Option<String>,
    pub(crate) matrix: Option<IndexMap<String, RawMatrixRow>>,
}

/// A matrix row: its values, or `{ ref = ".LIST" }` (a list variable's values).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawMatrixRow {
    /// The row's values.
    Values(Vec<String>),
    /// A list variable's values.
    Ref {
        /// `.NAME` of a list variable.
        #[serde(rename = "ref")]
        reference: String,
    },
}

/// `defer = "echo cleanup"` or `defer = { task = "cleanup", vars = { ... } }`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(untagged))]
#[derive(Debug, Clone)]
pub(crate) enum RawDefer {
    Shell(String),
    Table(RawDeferTable),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeferTable {
    pub(crate) task: String,
    #[serde(default)]
    pub(crate) vars: IndexMap<String, RawVar>,
    #[serde(default)]
    pub(crate) silent: bool,
}

/// A variable: a literal, or `{ sh = "..." }` evaluated when first used, optionally secret.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(untagged))]
#[derive(Debug, Clone)]
pub(crate) enum RawVar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<String>),
    Table(RawVarTable),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVarTable {
    /// A command whose output is the value (run once, when first used).
    pub(crate) sh: Option<String>,
    /// The value.
    pub(crate) value: Option<String>,
    /// `{ ref = ".NAME" }`: another variable's value, unchanged.
    #[serde(rename = "ref")]
    pub(crate) reference: Option<String>,
    /// `{ map = { key = "value" } }`: a map value (go-task's `map:` vars).
    #[cfg_attr(feature = "schema", schemars(with = "Option<serde_json::Map<String, serde_json::Value>>"))]
    pub(crate) map: Option<toml::Table>,
    /// Mask the value in every output.
    #[serde(default)]
    pub(crate) secret: bool,
}

/// `includes.NS = "path"` or `includes.NS = { path = "...", dir = "...", optional = true, vars = {...} }`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(untagged))]
#[derive(Debug)]
pub(crate) enum RawInclude {
    Path(String),
    Table(RawIncludeTable),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIncludeTable {
    /// The included file (or a directory holding one).
    pub(crate) path: String,
    /// The directory its tasks run in.
    pub(crate) dir: Option<String>,
    /// A missing file is not an error.
    #[serde(default)]
    pub(crate) optional: bool,
    /// Read through a `toml::Value` (see `scalar_or_table`), which carries no spans.
    #[serde(default)]
    pub(crate) vars: IndexMap<String, RawVar>,
    /// Every task of the included file is internal.
    #[serde(default)]
    pub(crate) internal: bool,
    /// The included tasks keep their names (no namespace).
    #[serde(default)]
    pub(crate) flatten: bool,
    /// Other namespaces the included tasks answer to.
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
    /// Tasks of the included file that are left out.
    #[serde(default)]
    pub(crate) excludes: Vec<String>,
}

/// One `[tasks.NAME]` table.
// Boxed in `RawFile::tasks`, and its optional values boxed in it (an absent one then takes 8
// bytes, not up to 600): a file of 10,000 tasks holds 10,000 of these, mostly empty, while it
// is lowered.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTask {
    /// One line for `opsrun list`.
    pub(crate) desc: Option<String>,
    /// Longer text for `opsrun --summary TASK`.
    pub(crate) summary: Option<String>,
    /// A single command, as a shorthand for `cmds = ["..."]`.
    #[cfg_attr(feature = "schema", schemars(with = "Option<RawCmd>"))]
    pub(crate) cmd: Option<Box<Spanned<RawCmd>>>,
    /// Commands, in order: a string, `{ cmd, ignore_error, silent, for, platforms }`, `{ task, vars }` or `{ defer = ... }`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<RawCmd>"))]
    pub(crate) cmds: Vec<Spanned<RawCmd>>,
    /// Tasks that must finish first (in parallel): a name or `{ task, vars, silent, for }`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<RawDep>"))]
    pub(crate) deps: Vec<Spanned<RawDep>>,
    /// The task's variables.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "IndexMap<String, RawVar>"))]
    pub(crate) vars: IndexMap<String, Spanned<RawVar>>,
    /// The task's environment variables.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "IndexMap<String, RawVar>"))]
    pub(crate) env: IndexMap<String, Spanned<RawVar>>,
    /// Working directory, relative to the file's directory.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) dir: Option<Box<Spanned<String>>>,
    /// Commands that must exit 0 before anything runs: a string or `{ sh, msg, preflight }`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<RawPrecondition>"))]
    pub(crate) preconditions: Vec<Spanned<RawPrecondition>>,
    /// Up-to-date commands: all exiting 0 skips the task.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) status: Vec<Spanned<String>>,
    /// Globs whose content decides whether the task is up to date.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) sources: Vec<Spanned<String>>,
    /// Globs of files the task makes.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) generates: Vec<Spanned<String>>,
    /// Limit for all its commands (`90s`, `5m`).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) timeout: Option<Box<Spanned<String>>>,
    /// Retries of its commands: a number or `{ attempts, delay }`.
    #[cfg_attr(feature = "schema", schemars(with = "Option<RawRetries>"))]
    pub(crate) retries: Option<Box<Spanned<RawRetries>>>,
    /// Do not echo its commands.
    #[serde(default)]
    pub(crate) silent: bool,
    /// A failure does not fail the run.
    #[serde(default)]
    pub(crate) ignore_error: bool,
    /// Hidden from `list`; not runnable from the command line.
    #[serde(default)]
    pub(crate) internal: bool,
    /// Other names.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) aliases: Vec<Spanned<String>>,
    /// A question that must be answered yes before it runs.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) confirm: Option<Box<Spanned<String>>>,
    /// Commands `opsrun emergency-recovery` runs instead of `cmds`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<RawCmd>"))]
    pub(crate) recover: Vec<Spanned<RawCmd>>,
    /// The health gate polled after its commands: one of `cmd`, `http`, `tcp`, `probe`, with polling settings.
    #[cfg_attr(feature = "schema", schemars(with = "Option<RawHealth>"))]
    pub(crate) health: Option<Spanned<Box<RawHealth>>>,
    /// A name shown instead of the task name (a template).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) label: Option<Box<Spanned<String>>>,
    /// The prefix of its lines in `prefixed` output.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) prefix: Option<Box<Spanned<String>>>,
    /// What it needs: `vars` (set, or planning fails), and for `opsrun preflight`: `tools` on PATH, `env` set, `files` present, `endpoints` answering.
    #[cfg_attr(feature = "schema", schemars(with = "Option<RawRequires>"))]
    pub(crate) requires: Option<Spanned<Box<RawRequires>>>,
    /// The platforms it runs on (`linux`, `darwin/arm64`, ...).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) platforms: Vec<Spanned<String>>,
    /// Its commands get the terminal (stdin and output not captured).
    #[serde(default)]
    pub(crate) interactive: bool,
    /// How often one run runs it: `when_changed`, `once`, `always`.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) run: Option<Box<Spanned<String>>>,
    /// How `sources` are compared: `checksum`, `timestamp`, `none`.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) method: Option<Box<Spanned<String>>>,
    /// How its lines are shown: `interleaved`, `prefixed`, `group` or `{ group = { begin, end, error_only } }`.
    #[cfg_attr(feature = "schema", schemars(with = "Option<RawOutput>"))]
    pub(crate) output: Option<Box<Spanned<RawOutput>>>,
    /// The program its commands run with (default `sh`).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) shell: Option<Box<Spanned<String>>>,
    /// `set -o` options of its commands.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) set: Vec<Spanned<String>>,
    /// bash `shopt` options of its commands.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) shopt: Vec<Spanned<String>>,
    /// Files of `NAME=value` lines for its environment.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) dotenv: Vec<Spanned<String>>,
    /// `kill` or `keep`: processes its commands leave running in the background.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) background: Option<Box<Spanned<String>>>,
}

/// A command: a string, `{ cmd, ignore_error, silent }` or `{ task, vars }`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(untagged))]
#[derive(Debug, Clone)]
pub(crate) enum RawCmd {
    Shell(String),
    Table(Box<RawCmdTable>),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCmdTable {
    /// A shell command.
    pub(crate) cmd: Option<String>,
    /// A task to call instead of a command.
    pub(crate) task: Option<String>,
    /// A command or task run when the task ends, even on failure.
    pub(crate) defer: Option<RawDefer>,
    /// Run once per item: a list, `"sources"`, `{ var, split, as }` or `{ matrix }`.
    #[serde(rename = "for")]
    pub(crate) for_each: Option<RawFor>,
    /// Variables given to the called task.
    #[serde(default)]
    pub(crate) vars: IndexMap<String, RawVar>,
    /// A failure of this command does not fail the task.
    #[serde(default)]
    pub(crate) ignore_error: bool,
    /// Do not echo this command.
    #[serde(default)]
    pub(crate) silent: bool,
    /// The platforms this command runs on.
    #[serde(default)]
    pub(crate) platforms: Vec<String>,
    #[serde(default)]
    pub(crate) set: Vec<String>,
    #[serde(default)]
    pub(crate) shopt: Vec<String>,
}

/// A dependency: a task name or `{ task, vars }`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(untagged))]
#[derive(Debug, Clone)]
pub(crate) enum RawDep {
    Name(String),
    Table(Box<RawDepTable>),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDepTable {
    /// The task.
    pub(crate) task: String,
    /// Variables given to it.
    #[serde(default)]
    pub(crate) vars: IndexMap<String, RawVar>,
    /// Do not echo its commands.
    #[serde(default)]
    pub(crate) silent: bool,
    /// One dependency per item.
    #[serde(rename = "for")]
    pub(crate) for_each: Option<RawFor>,
}

/// A precondition: a shell command or `{ sh, msg }`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(untagged))]
#[derive(Debug, Clone)]
pub(crate) enum RawPrecondition {
    Shell(String),
    Table(RawPreconditionTable),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPreconditionTable {
    /// The command.
    pub(crate) sh: String,
    /// The message when it fails.
    pub(crate) msg: Option<String>,
    /// Safe to run before the run starts: `opsrun preflight` runs it too.
    #[serde(default)]
    pub(crate) preflight: bool,
}

/// `retries = 3` or `retries = { attempts = 3, delay = "2s" }`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(untagged))]
#[derive(Debug, Clone)]
pub(crate) enum RawRetries {
    Attempts(u32),
    Table(RawRetriesTable),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetriesTable {
    /// Extra attempts after the first failure.
    pub(crate) attempts: u32,
    /// Pause before each retry.
    pub(crate) delay: Option<String>,
}

/// `[tasks.NAME.health]`: exactly one of `cmd`, `http`, `tcp`, plus polling settings.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealth {
    /// The gate's name in output (default: a short form of the probe).
    pub(crate) name: Option<String>,
    /// A command: exit 0 passes.
    pub(crate) cmd: Option<String>,
    /// A URL: GET, a 2xx (or `status`) passes.
    pub(crate) http: Option<String>,
    /// `host:port`: a connection passes.
    pub(crate) tcp: Option<String>,
    /// A probe registered by the embedding program, by name.
    pub(crate) probe: Option<String>,
    /// Arguments of a registered probe (templates).
    #[serde(default)]
    pub(crate) with: IndexMap<String, String>,
    /// Expected HTTP status codes (default: any 2xx).
    pub(crate) status: Option<RawStatusCodes>,
    /// A regular expression the HTTP body must match.
    pub(crate) body: Option<String>,
    /// A regular expression the HTTP body must not match (NotReady when it does).
    pub(crate) body_not: Option<String>,
    /// Accept self-signed / unverifiable TLS certificates (cluster endpoints).
    #[serde(default)]
    pub(crate) insecure_tls: bool,
    /// Wait before the first probe (default 0s).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) initial_delay: Option<Spanned<String>>,
    /// Pause between probes (default 5s).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) interval: Option<Spanned<String>>,
    /// `true` (x2, max 30s, jitter) or `{ factor, max, jitter }`.
    pub(crate) backoff: Option<RawBackoff>,
    /// Limit of one probe (default 30s).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) probe_timeout: Option<Spanned<String>>,
    /// Limit of the whole gate (default 5m).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) timeout: Option<Spanned<String>>,
    /// Consecutive passes needed (default 2).
    pub(crate) success_threshold: Option<u32>,
    /// Consecutive Error probes that fail the gate (default 4).
    pub(crate) consecutive_error_limit: Option<u32>,
    /// Exit codes that fail the gate at once.
    #[serde(default)]
    pub(crate) fatal_exit_codes: Vec<i32>,
    /// Output regexes that fail the gate at once.
    #[serde(default)]
    pub(crate) fatal_patterns: Vec<String>,
    /// Exit codes that mean "could not evaluate" (Error) rather than "not ready".
    #[serde(default)]
    pub(crate) error_exit_codes: Vec<i32>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub(crate) enum RawStatusCodes {
    One(u16),
    Many(Vec<u16>),
}

/// `backoff = true` (x2, max 30s, jitter) or a table.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub(crate) enum RawBackoff {
    Enabled(bool),
    Table(RawBackoffTable),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackoffTable {
    pub(crate) factor: Option<f64>,
    pub(crate) max: Option<String>,
    pub(crate) jitter: Option<bool>,
}

/// `[pipelines.NAME]`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPipeline {
    /// One line for `opsrun list`.
    pub(crate) desc: Option<String>,
    /// Its target tasks: the pipeline is them and everything they depend on.
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) targets: Vec<Spanned<String>>,
}

/// `[gitops]`: how emergency overrides suspend, check and resume reconciliation.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGitops {
    /// Command that suspends reconciliation (`{{.NAME}}` is the Kustomization).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) suspend: Option<Spanned<String>>,
    /// Command that resumes reconciliation.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) resume: Option<Spanned<String>>,
    /// The drift check run before a resume (`{{.NAME}}`, `{{.PATH}}`).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) diff: Option<Spanned<String>>,
    /// Prints a Kustomization's `spec.path` (`{{.NAME}}`).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) spec_path: Option<Spanned<String>>,
    /// Prints a Kustomization's readiness and applied revision as a `flux get` table.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) status: Option<Spanned<String>>,
    /// The Git checkout Flux's source is cloned from (relative to the tasks file).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) checkout: Option<Spanned<String>>,
    /// Kustomization name → its path in the checkout, instead of asking the cluster.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "IndexMap<String, String>"))]
    pub(crate) paths: IndexMap<String, Spanned<String>>,
    /// How long each of those commands may take.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) timeout: Option<Spanned<String>>,
    /// The task that deploys the GitOps system (default `flux`).
    pub(crate) stage: Option<String>,
    /// The task whose gate is the Kubernetes API (default `api`).
    pub(crate) api_stage: Option<String>,
}

/// Deserializes "a scalar or a table" keys through a [`toml::Value`], so that an error inside the
/// table (say, a misspelt key) keeps its own message instead of serde's opaque
/// "did not match any variant of untagged enum".
fn scalar_or_table<'de, D, T, S>(
    deserializer: D,
    expected: &'static str,
    scalar: impl FnOnce(toml::Value) -> Option<S>,
    table: impl FnOnce(T) -> S,
) -> Result<S, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::Error as _;
    let value = toml::Value::deserialize(deserializer)?;
    match value {
        toml::Value::Table(t) => {
            T::deserialize(toml::Value::Table(t)).map(table).map_err(|e| D::Error::custom(e.message()))
        }
        other => {
            let kind = other.type_str();
            scalar(other).ok_or_else(|| D::Error::custom(format!("expected {expected}, found {kind}")))
        }
    }
}

/// A list of strings, numbers or booleans as strings; `None` when an item is anything else.
fn scalar_list(items: Vec<toml::Value>) -> Option<Vec<String>> {
    items
        .into_iter()
        .map(|i| match i {
            toml::Value::String(s) => Some(s),
            toml::Value::Integer(n) => Some(n.to_string()),
            toml::Value::Float(n) => Some(n.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        })
        .collect()
}

impl RawCmd {
    fn boxed_cmd(t: RawCmdTable) -> Self {
        RawCmd::Table(Box::new(t))
    }
}

impl RawDep {
    fn boxed_dep(t: RawDepTable) -> Self {
        RawDep::Table(Box::new(t))
    }
}

macro_rules! scalar_or_table_impl {
    ($ty:ident, $table:ident, $expected:literal, |$v:ident| $scalar:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                scalar_or_table(d, $expected, |$v| $scalar, $ty::$table)
            }
        }
    };
}

scalar_or_table_impl!(RawVar, Table, "a string, number, boolean, list or a table like { sh = \"...\" }", |v| match v {
    toml::Value::String(s) => Some(RawVar::Str(s)),
    toml::Value::Integer(i) => Some(RawVar::Int(i)),
    toml::Value::Float(f) => Some(RawVar::Float(f)),
    toml::Value::Boolean(b) => Some(RawVar::Bool(b)),
    toml::Value::Array(items) => scalar_list(items).map(RawVar::List),
    _ => None,
});
scalar_or_table_impl!(RawInclude, Table, "a path string or a table like { path = \"...\" }", |v| match v {
    toml::Value::String(s) => Some(RawInclude::Path(s)),
    _ => None,
});
scalar_or_table_impl!(
    RawCmd,
    boxed_cmd,
    "a command string or a table like { cmd = \"...\" } or { task = \"...\" }",
    |v| {
        match v {
            toml::Value::String(s) => Some(RawCmd::Shell(s)),
            _ => None,
        }
    }
);
scalar_or_table_impl!(
    RawDep,
    boxed_dep,
    "a task name or a table like { task = \"...\", vars = { ... } }",
    |v| match v {
        toml::Value::String(s) => Some(RawDep::Name(s)),
        _ => None,
    }
);
scalar_or_table_impl!(
    RawPrecondition,
    Table,
    "a command string or a table like { sh = \"...\", msg = \"...\" }",
    |v| match v {
        toml::Value::String(s) => Some(RawPrecondition::Shell(s)),
        _ => None,
    }
);
scalar_or_table_impl!(
    RawRetries,
    Table,
    "a number of attempts or a table like { attempts = 3, delay = \"2s\" }",
    |v| match v {
        toml::Value::Integer(i) => u32::try_from(i).ok().map(RawRetries::Attempts),
        _ => None,
    }
);
scalar_or_table_impl!(
    RawOutput,
    Table,
    "`interleaved`, `prefixed`, `group` or a table like { group = { begin = \"...\" } }",
    |v| {
        match v {
            toml::Value::String(s) => Some(RawOutput::Name(s)),
            _ => None,
        }
    }
);
scalar_or_table_impl!(
    RawRequiredVar,
    Table,
    "a variable name or a table like { name = \"ENV\", enum = [\"dev\"] }",
    |v| {
        match v {
            toml::Value::String(s) => Some(RawRequiredVar::Name(s)),
            _ => None,
        }
    }
);
scalar_or_table_impl!(RawDefer, Table, "a command string or a table like { task = \"cleanup\" }", |v| match v {
    toml::Value::String(s) => Some(RawDefer::Shell(s)),
    _ => None,
});
scalar_or_table_impl!(
    RawFor,
    Table,
    "a list of items, \"sources\", or a table like { var = \"LIST\" } or { matrix = { ... } }",
    |v| match v {
        toml::Value::String(s) => Some(RawFor::Keyword(s)),
        toml::Value::Array(items) => scalar_list(items).map(RawFor::List),
        _ => None,
    }
);
