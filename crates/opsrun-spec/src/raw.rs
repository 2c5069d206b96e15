//! The `tasks.toml` file as written: serde types that mirror the syntax one to one.
//!
//! Every struct denies unknown keys so that a typo is an error with a span (and a
//! "did you mean" added by [`crate::diagnostic`]) instead of a silently ignored setting.
//! Values that need a location in later validation errors are wrapped in [`Spanned`].

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// A whole `tasks.toml` (or an included file).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    /// Format version; only `1` exists.
    pub(crate) version: Option<Spanned<u32>>,
    #[serde(default)]
    pub(crate) vars: IndexMap<String, Spanned<RawVar>>,
    #[serde(default)]
    pub(crate) env: IndexMap<String, Spanned<RawVar>>,
    #[serde(default)]
    pub(crate) dotenv: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) includes: IndexMap<String, Spanned<RawInclude>>,
    #[serde(default)]
    pub(crate) tasks: IndexMap<Spanned<String>, RawTask>,
    #[serde(default)]
    pub(crate) pipelines: IndexMap<Spanned<String>, RawPipeline>,
    /// Handed unparsed to `opsrun-change`, which owns its schema.
    pub(crate) classify: Option<toml::Value>,
    pub(crate) gitops: Option<RawGitops>,
    /// The program commands run with (`sh` by default).
    pub(crate) shell: Option<Spanned<String>>,
    /// How task output is shown (go-task's `output`).
    pub(crate) output: Option<Spanned<RawOutput>>,
    /// How `sources` are compared (go-task's `method`).
    pub(crate) method: Option<Spanned<String>>,
    /// How often a task runs per run (go-task's `run`).
    pub(crate) run: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) set: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) shopt: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) silent: bool,
    /// `error` (default) or `empty`: what printing an undefined variable does.
    pub(crate) undefined_vars: Option<Spanned<String>>,
    /// `kill` (default) or `keep`: processes a command leaves running in the background.
    pub(crate) background: Option<Spanned<String>>,
}

/// `output = "prefixed"` or `output = { group = { begin = "...", end = "..." } }`.
#[derive(Debug, Clone)]
pub(crate) enum RawOutput {
    Name(String),
    Table(RawOutputTable),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutputTable {
    pub(crate) group: RawGroup,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGroup {
    pub(crate) begin: Option<String>,
    pub(crate) end: Option<String>,
    #[serde(default)]
    pub(crate) error_only: bool,
}

/// `requires = { vars = ["A", { name = "ENV", enum = ["dev", "prod"] }] }`.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequires {
    #[serde(default)]
    pub(crate) vars: Vec<RawRequiredVar>,
}

/// A required variable: a name or `{ name, enum }`.
#[derive(Debug, Clone)]
pub(crate) enum RawRequiredVar {
    Name(String),
    Table(RawRequiredVarTable),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequiredVarTable {
    pub(crate) name: String,
    #[serde(rename = "enum")]
    pub(crate) allowed: Option<Vec<String>>,
}

/// A loop: `for = ["a", "b"]`, `for = "sources"`, `for = { var = "X", split = ",", as = "Y" }`
/// or `for = { matrix = { OS = [...], ARCH = [...] } }`.
#[derive(Debug, Clone)]
pub(crate) enum RawFor {
    Keyword(String),
    List(Vec<String>),
    Table(RawForTable),
}

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
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawMatrixRow {
    Values(Vec<String>),
    Ref {
        #[serde(rename = "ref")]
        reference: String,
    },
}

/// `defer = "echo cleanup"` or `defer = { task = "cleanup", vars = { ... } }`.
#[derive(Debug, Clone)]
pub(crate) enum RawDefer {
    Shell(String),
    Table(RawDeferTable),
}

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
#[derive(Debug, Clone)]
pub(crate) enum RawVar {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<String>),
    Table(RawVarTable),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVarTable {
    pub(crate) sh: Option<String>,
    pub(crate) value: Option<String>,
    /// `{ ref = ".NAME" }`: another variable's value, unchanged.
    #[serde(rename = "ref")]
    pub(crate) reference: Option<String>,
    /// `{ map = { key = "value" } }`: a map value (go-task's `map:` vars).
    pub(crate) map: Option<toml::Table>,
    #[serde(default)]
    pub(crate) secret: bool,
}

/// `includes.NS = "path"` or `includes.NS = { path = "...", dir = "...", optional = true, vars = {...} }`.
#[derive(Debug)]
pub(crate) enum RawInclude {
    Path(String),
    Table(RawIncludeTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIncludeTable {
    pub(crate) path: String,
    pub(crate) dir: Option<String>,
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
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTask {
    pub(crate) desc: Option<String>,
    pub(crate) summary: Option<String>,
    /// A single command, as a shorthand for `cmds = ["..."]`.
    pub(crate) cmd: Option<Spanned<RawCmd>>,
    #[serde(default)]
    pub(crate) cmds: Vec<Spanned<RawCmd>>,
    #[serde(default)]
    pub(crate) deps: Vec<Spanned<RawDep>>,
    #[serde(default)]
    pub(crate) vars: IndexMap<String, Spanned<RawVar>>,
    #[serde(default)]
    pub(crate) env: IndexMap<String, Spanned<RawVar>>,
    pub(crate) dir: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) preconditions: Vec<Spanned<RawPrecondition>>,
    #[serde(default)]
    pub(crate) status: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) sources: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) generates: Vec<Spanned<String>>,
    pub(crate) timeout: Option<Spanned<String>>,
    pub(crate) retries: Option<Spanned<RawRetries>>,
    #[serde(default)]
    pub(crate) silent: bool,
    #[serde(default)]
    pub(crate) ignore_error: bool,
    #[serde(default)]
    pub(crate) internal: bool,
    #[serde(default)]
    pub(crate) aliases: Vec<Spanned<String>>,
    pub(crate) confirm: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) recover: Vec<Spanned<RawCmd>>,
    pub(crate) health: Option<Spanned<RawHealth>>,
    pub(crate) label: Option<Spanned<String>>,
    pub(crate) prefix: Option<Spanned<String>>,
    pub(crate) requires: Option<Spanned<RawRequires>>,
    #[serde(default)]
    pub(crate) platforms: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) interactive: bool,
    pub(crate) run: Option<Spanned<String>>,
    pub(crate) method: Option<Spanned<String>>,
    pub(crate) output: Option<Spanned<RawOutput>>,
    pub(crate) shell: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) set: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) shopt: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) dotenv: Vec<Spanned<String>>,
    /// `kill` or `keep`: processes its commands leave running in the background.
    pub(crate) background: Option<Spanned<String>>,
}

/// A command: a string, `{ cmd, ignore_error, silent }` or `{ task, vars }`.
#[derive(Debug, Clone)]
pub(crate) enum RawCmd {
    Shell(String),
    Table(Box<RawCmdTable>),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCmdTable {
    pub(crate) cmd: Option<String>,
    pub(crate) task: Option<String>,
    pub(crate) defer: Option<RawDefer>,
    #[serde(rename = "for")]
    pub(crate) for_each: Option<RawFor>,
    #[serde(default)]
    pub(crate) vars: IndexMap<String, RawVar>,
    #[serde(default)]
    pub(crate) ignore_error: bool,
    #[serde(default)]
    pub(crate) silent: bool,
    #[serde(default)]
    pub(crate) platforms: Vec<String>,
    #[serde(default)]
    pub(crate) set: Vec<String>,
    #[serde(default)]
    pub(crate) shopt: Vec<String>,
}

/// A dependency: a task name or `{ task, vars }`.
#[derive(Debug, Clone)]
pub(crate) enum RawDep {
    Name(String),
    Table(Box<RawDepTable>),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDepTable {
    pub(crate) task: String,
    #[serde(default)]
    pub(crate) vars: IndexMap<String, RawVar>,
    #[serde(default)]
    pub(crate) silent: bool,
    #[serde(rename = "for")]
    pub(crate) for_each: Option<RawFor>,
}

/// A precondition: a shell command or `{ sh, msg }`.
#[derive(Debug, Clone)]
pub(crate) enum RawPrecondition {
    Shell(String),
    Table(RawPreconditionTable),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPreconditionTable {
    pub(crate) sh: String,
    pub(crate) msg: Option<String>,
}

/// `retries = 3` or `retries = { attempts = 3, delay = "2s" }`.
#[derive(Debug, Clone)]
pub(crate) enum RawRetries {
    Attempts(u32),
    Table(RawRetriesTable),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetriesTable {
    pub(crate) attempts: u32,
    pub(crate) delay: Option<String>,
}

/// `[tasks.NAME.health]`: exactly one of `cmd`, `http`, `tcp`, plus polling settings.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealth {
    pub(crate) name: Option<String>,
    pub(crate) cmd: Option<String>,
    pub(crate) http: Option<String>,
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
    pub(crate) initial_delay: Option<Spanned<String>>,
    pub(crate) interval: Option<Spanned<String>>,
    pub(crate) backoff: Option<RawBackoff>,
    pub(crate) probe_timeout: Option<Spanned<String>>,
    pub(crate) timeout: Option<Spanned<String>>,
    pub(crate) success_threshold: Option<u32>,
    pub(crate) consecutive_error_limit: Option<u32>,
    #[serde(default)]
    pub(crate) fatal_exit_codes: Vec<i32>,
    #[serde(default)]
    pub(crate) fatal_patterns: Vec<String>,
    /// Exit codes that mean "could not evaluate" (Error) rather than "not ready".
    #[serde(default)]
    pub(crate) error_exit_codes: Vec<i32>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub(crate) enum RawStatusCodes {
    One(u16),
    Many(Vec<u16>),
}

/// `backoff = true` (x2, max 30s, jitter) or a table.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub(crate) enum RawBackoff {
    Enabled(bool),
    Table(RawBackoffTable),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackoffTable {
    pub(crate) factor: Option<f64>,
    pub(crate) max: Option<String>,
    pub(crate) jitter: Option<bool>,
}

/// `[pipelines.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPipeline {
    pub(crate) desc: Option<String>,
    pub(crate) targets: Vec<Spanned<String>>,
}

/// `[gitops]`: how emergency overrides suspend and resume reconciliation.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGitops {
    pub(crate) suspend: Option<String>,
    pub(crate) resume: Option<String>,
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
