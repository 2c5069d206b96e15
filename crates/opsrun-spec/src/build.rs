//! Building a [`Spec`] in code: tasks, gates and pipelines without writing `tasks.toml`.
//!
//! The builders are a typed front end to the one loader: [`SpecBuilder::build`] writes what was
//! built as a TOML document (values escaped by the `toml` serializer, never pasted into text)
//! and loads it like a file, so a spec built in code is validated by exactly the checks and
//! errors a `tasks.toml` gets (unknown dependencies with a suggestion, cycles, bad durations,
//! template syntax). An error points into that document, named `<built in code>`, whose lines
//! mirror the builder calls (`[tasks.cilium]`, `cmds = [...]`).
//!
//! ```
//! use opsrun_spec::build::{GateBuilder, SpecBuilder, TaskBuilder};
//!
//! let spec = SpecBuilder::new("/srv/cluster")
//!     .var("API", "https://127.0.0.1:6443")
//!     .task(TaskBuilder::new("talos").desc("Talos OS").cmd("talosctl apply-config"))
//!     .task(
//!         TaskBuilder::new("kubernetes")
//!             .dep("talos")
//!             .cmd("talosctl bootstrap")
//!             .gate(GateBuilder::probe("api-ready").with("url", "{{.API}}/readyz").interval("2s").timeout("5m")),
//!     )
//!     .pipeline("bootstrap", ["kubernetes"])
//!     .build()?;
//! assert_eq!(spec.pipelines["bootstrap"].targets, ["kubernetes"]);
//!
//! // The same validation as a file: an unknown dependency is refused, with a suggestion.
//! let err = SpecBuilder::new("/srv/cluster")
//!     .task(TaskBuilder::new("talos").cmd("true"))
//!     .task(TaskBuilder::new("kubernetes").dep("tallos"))
//!     .build()
//!     .unwrap_err();
//! assert!(err.to_string().contains("did you mean `talos`"), "{err}");
//! # Ok::<(), opsrun_spec::SpecError>(())
//! ```

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::{Spec, SpecError};

/// The name errors give the document a builder writes.
pub const BUILT_IN_CODE: &str = "<built in code>";

/// A whole spec: file-level vars and env, tasks and pipelines.
#[derive(Debug, Clone)]
#[must_use = "a SpecBuilder does nothing until `build` is called"]
pub struct SpecBuilder {
    root: PathBuf,
    doc: Table,
}

impl SpecBuilder {
    /// A spec whose tasks run in `root` (relative `dir`s and `sources` are taken from there).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), doc: Table::new() }
    }

    /// A variable for every task's templates (`{{.NAME}}`); `value` is a template itself.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        table(&mut self.doc, "vars").insert(name.into(), Value::String(value.into()));
        self
    }

    /// A variable whose value is the output of `script`, run when first used.
    pub fn var_sh(mut self, name: impl Into<String>, script: impl Into<String>) -> Self {
        let mut t = Table::new();
        t.insert("sh".into(), Value::String(script.into()));
        table(&mut self.doc, "vars").insert(name.into(), Value::Table(t));
        self
    }

    /// A secret variable: masked (`****`) in every output, log and event.
    pub fn secret(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let mut t = Table::new();
        t.insert("value".into(), Value::String(value.into()));
        t.insert("secret".into(), Value::Boolean(true));
        table(&mut self.doc, "vars").insert(name.into(), Value::Table(t));
        self
    }

    /// An environment variable for every task's commands (a template).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        table(&mut self.doc, "env").insert(name.into(), Value::String(value.into()));
        self
    }

    /// Adds a task (a later task of the same name replaces it).
    pub fn task(mut self, task: TaskBuilder) -> Self {
        table(&mut self.doc, "tasks").insert(task.name, Value::Table(task.table));
        self
    }

    /// Adds a pipeline: `targets` and everything they depend on, run as one resumable DAG.
    pub fn pipeline<I, S>(mut self, name: impl Into<String>, targets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut t = Table::new();
        t.insert("targets".into(), strings(targets));
        table(&mut self.doc, "pipelines").insert(name.into(), Value::Table(t));
        self
    }

    /// Validates and returns the spec, with the same errors a `tasks.toml` would get.
    pub fn build(self) -> Result<Spec, SpecError> {
        let text = toml::to_string(&self.doc)
            .map_err(|e| SpecError::plain(format!("cannot write the spec built in code: {e}")))?;
        crate::load_str(&self.root.join(BUILT_IN_CODE), &text)
    }

    /// The TOML document [`SpecBuilder::build`] loads: what the spec looks like as a
    /// `tasks.toml` (a starting point for moving a spec built in code into a file).
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.doc).unwrap_or_default()
    }

    /// The directory the tasks run in.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// One task.
#[derive(Debug, Clone)]
#[must_use]
pub struct TaskBuilder {
    name: String,
    table: Table,
}

impl TaskBuilder {
    /// A task called `name` (`ns:name` names are allowed, as in files).
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), table: Table::new() }
    }

    fn set(mut self, key: &str, value: Value) -> Self {
        self.table.insert(key.into(), value);
        self
    }

    fn push(mut self, key: &str, value: Value) -> Self {
        if let Value::Array(items) = self.table.entry(key.to_string()).or_insert_with(|| Value::Array(Vec::new())) {
            items.push(value);
        }
        self
    }

    /// A one-line description (shown by `list`).
    pub fn desc(self, text: impl Into<String>) -> Self {
        self.set("desc", Value::String(text.into()))
    }

    /// Appends a shell command (a template, run with `sh -e -c`).
    pub fn cmd(self, script: impl Into<String>) -> Self {
        self.push("cmds", Value::String(script.into()))
    }

    /// Appends a call of another task (it runs once, with its own deps, checks and gate).
    pub fn call(self, task: impl Into<String>) -> Self {
        let mut t = Table::new();
        t.insert("task".into(), Value::String(task.into()));
        self.push("cmds", Value::Table(t))
    }

    /// Appends a recovery command, run instead of `cmds` by emergency recovery.
    pub fn recover(self, script: impl Into<String>) -> Self {
        self.push("recover", Value::String(script.into()))
    }

    /// Adds a dependency: it finishes (and its gate passes) before this task starts.
    pub fn dep(self, task: impl Into<String>) -> Self {
        self.push("deps", Value::String(task.into()))
    }

    /// A task variable (a template).
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        table(&mut self.table, "vars").insert(name.into(), Value::String(value.into()));
        self
    }

    /// An environment variable of the task's commands (a template).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        table(&mut self.table, "env").insert(name.into(), Value::String(value.into()));
        self
    }

    /// The working directory (relative to the spec's root).
    pub fn dir(self, dir: impl Into<String>) -> Self {
        self.set("dir", Value::String(dir.into()))
    }

    /// A limit for each command, e.g. `"10m"`.
    pub fn timeout(self, duration: impl Into<String>) -> Self {
        self.set("timeout", Value::String(duration.into()))
    }

    /// Retry the commands up to `attempts` times, `delay` apart (e.g. `"5s"`).
    pub fn retries(self, attempts: u32, delay: impl Into<String>) -> Self {
        let mut t = Table::new();
        t.insert("attempts".into(), Value::Integer(attempts.into()));
        t.insert("delay".into(), Value::String(delay.into()));
        self.set("retries", Value::Table(t))
    }

    /// A check that must pass before the commands run; `msg` explains a failure.
    pub fn precondition(self, script: impl Into<String>, msg: impl Into<String>) -> Self {
        let mut t = Table::new();
        t.insert("sh".into(), Value::String(script.into()));
        t.insert("msg".into(), Value::String(msg.into()));
        self.push("preconditions", Value::Table(t))
    }

    /// A command that, when it and every other status command exit 0, makes the task up to
    /// date (skipped).
    pub fn status(self, script: impl Into<String>) -> Self {
        self.push("status", Value::String(script.into()))
    }

    /// A source glob: the task is up to date while its sources are unchanged.
    pub fn source(self, glob: impl Into<String>) -> Self {
        self.push("sources", Value::String(glob.into()))
    }

    /// A file the task generates (for `sources` checks).
    pub fn generates(self, glob: impl Into<String>) -> Self {
        self.push("generates", Value::String(glob.into()))
    }

    /// A question to confirm before the task runs (`--yes` answers it).
    pub fn confirm(self, question: impl Into<String>) -> Self {
        self.set("confirm", Value::String(question.into()))
    }

    /// A failure of this task does not fail the run.
    pub fn ignore_error(self, ignore: bool) -> Self {
        self.set("ignore_error", Value::Boolean(ignore))
    }

    /// Not runnable on its own, only as a dependency or call.
    pub fn internal(self, internal: bool) -> Self {
        self.set("internal", Value::Boolean(internal))
    }

    /// The health gate polled after the commands.
    pub fn gate(self, gate: GateBuilder) -> Self {
        self.set("health", Value::Table(gate.table))
    }
}

/// A health gate: one probe, polled until healthy or out of time.
#[derive(Debug, Clone)]
#[must_use]
pub struct GateBuilder {
    table: Table,
}

impl GateBuilder {
    fn of(key: &str, value: impl Into<String>) -> Self {
        let mut table = Table::new();
        table.insert(key.into(), Value::String(value.into()));
        Self { table }
    }

    fn set(mut self, key: &str, value: Value) -> Self {
        self.table.insert(key.into(), value);
        self
    }

    /// Passes when `script` exits 0.
    pub fn cmd(script: impl Into<String>) -> Self {
        Self::of("cmd", script)
    }

    /// Passes on a 2xx answer to a GET of `url`.
    pub fn http(url: impl Into<String>) -> Self {
        Self::of("http", url)
    }

    /// Passes when `host:port` accepts a TCP connection.
    pub fn tcp(address: impl Into<String>) -> Self {
        Self::of("tcp", address)
    }

    /// Calls the probe registered under `name` with the engine's runner (a Rust `Probe`).
    pub fn probe(name: impl Into<String>) -> Self {
        Self::of("probe", name)
    }

    /// An argument for a [`GateBuilder::probe`] gate (a template).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        table(&mut self.table, "with").insert(key.into(), Value::String(value.into()));
        self
    }

    /// A name for messages.
    pub fn name(self, name: impl Into<String>) -> Self {
        self.set("name", Value::String(name.into()))
    }

    /// Pause between probes (default `"5s"`).
    pub fn interval(self, duration: impl Into<String>) -> Self {
        self.set("interval", Value::String(duration.into()))
    }

    /// Limit for the whole gate (default `"5m"`).
    pub fn timeout(self, duration: impl Into<String>) -> Self {
        self.set("timeout", Value::String(duration.into()))
    }

    /// Limit for one probe (default `"30s"`).
    pub fn probe_timeout(self, duration: impl Into<String>) -> Self {
        self.set("probe_timeout", Value::String(duration.into()))
    }

    /// Wait before the first probe.
    pub fn initial_delay(self, duration: impl Into<String>) -> Self {
        self.set("initial_delay", Value::String(duration.into()))
    }

    /// Consecutive passes needed (default 2).
    pub fn success_threshold(self, passes: u32) -> Self {
        self.set("success_threshold", Value::Integer(passes.into()))
    }

    /// Consecutive Errors (could not evaluate) that fail the gate (default 4).
    pub fn consecutive_error_limit(self, errors: u32) -> Self {
        self.set("consecutive_error_limit", Value::Integer(errors.into()))
    }
}

/// The table under `key`, created when missing.
fn table<'t>(parent: &'t mut Table, key: &str) -> &'t mut Table {
    let entry = parent.entry(key.to_string()).or_insert_with(|| Value::Table(Table::new()));
    if !entry.is_table() {
        *entry = Value::Table(Table::new());
    }
    entry.as_table_mut().expect("made a table above")
}

fn strings<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
    Value::Array(items.into_iter().map(|s| Value::String(s.into())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_duration_gets_the_file_error_pointing_into_the_built_document() {
        let err = SpecBuilder::new("/tmp")
            .task(TaskBuilder::new("a").cmd("true").gate(GateBuilder::cmd("true").interval("5 parsecs")))
            .build()
            .unwrap_err();
        let text = err.render(false);
        assert!(text.contains(BUILT_IN_CODE), "{text}");
        assert!(text.contains("5 parsecs"), "{text}");
    }

    #[test]
    fn values_are_escaped_not_pasted() {
        let spec = SpecBuilder::new("/tmp")
            .task(TaskBuilder::new("a").cmd("echo \"quoted\" 'and' \\ back\nslash"))
            .build()
            .unwrap();
        let crate::CmdKind::Shell(t) = &spec.tasks["a"].cmds[0].kind else { panic!("a shell command") };
        assert_eq!(t.source(), "echo \"quoted\" 'and' \\ back\nslash");
    }

    #[test]
    fn a_cycle_is_refused_as_in_a_file() {
        let err = SpecBuilder::new("/tmp")
            .task(TaskBuilder::new("a").dep("b"))
            .task(TaskBuilder::new("b").dep("a"))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
    }
}
