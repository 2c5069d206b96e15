//! Loading: read `tasks.toml` and its includes, check everything that can be checked before
//! running, and produce a [`Spec`].
//!
//! All problems found are collected and reported together, each with its place in the file.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use toml::Spanned;

use crate::diagnostic::{
    Diagnostic, FileId, GeneratedFile, Location, SourceMap, SpecError, did_you_mean, unknown_field_help,
};
use crate::duration::parse_duration;
use crate::model::{
    Background, Backoff, Cmd, CmdKind, Dep, DurationSpec, FileScope, FileSettings, ForSpec, GitopsConfig, HealthSpec,
    MatrixRow, Method, Needs, OutputSetting, Pipeline, Platform, Precondition, ProbeSpec, Requirement, Retries,
    RunPolicy, Spec, Task, TaskRef, Tmpl, UndefinedVars, VarDef, VarValue,
};
use crate::raw::{
    RawBackoff, RawCmd, RawDefer, RawDep, RawFile, RawFor, RawGitops, RawHealth, RawInclude, RawMatrixRow, RawOutput,
    RawPrecondition, RawRequiredVar, RawRetries, RawStatusCodes, RawTask, RawVar,
};
use crate::template::{Template, Value};

/// The file names searched for when no file is given, in order.
pub const DEFAULT_FILE_NAMES: &[&str] = &["tasks.toml", "opsrun.toml"];

/// Finds the tasks file in `start` or its nearest parent, as go-task does.
pub fn find_tasks_file(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| DEFAULT_FILE_NAMES.iter().map(|name| dir.join(name)).find(|p| p.is_file()))
}

/// Reads and validates a tasks file and everything it includes.
pub fn load(path: &Path) -> Result<Spec, SpecError> {
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut loader = Loader::default();
    loader.load_file(&file, "", &IncludeOptions::default(), None)?;
    loader.finish(file)
}

/// Loads a spec whose files were generated from other files (a `Taskfile.yml` and the files it
/// includes, converted to `tasks.toml` text in memory by `opsrun-taskfile`). `root` is the
/// path of the first document; an include naming the path of another document reads it instead
/// of the disk. Every location is shown in the original files.
pub fn load_generated(root: &Path, documents: Vec<GeneratedFile>) -> Result<Spec, SpecError> {
    let file = normalise(&std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()));
    let mut loader = Loader::default();
    for d in documents {
        loader.generated.insert(normalise(&d.path), d);
    }
    loader.load_file(&file, "", &IncludeOptions::default(), None)?;
    loader.finish(file)
}

/// `path` with `.` and `..` components resolved lexically (no file system access), so that the
/// paths of generated documents compare equal however an include spelled them.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Parses a tasks file from a string (for tests and embedders); `path` is used for messages and
/// as the base for relative paths and includes.
pub fn load_str(path: &Path, text: &str) -> Result<Spec, SpecError> {
    let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut loader = Loader::default();
    loader.load_text(&file, text.to_string(), "", &IncludeOptions::default(), None)?;
    loader.finish(file)
}

/// What an `includes` entry asks of the tasks it brings in.
#[derive(Default, Clone)]
struct IncludeOptions {
    dir: Option<PathBuf>,
    vars: IndexMap<String, VarDef>,
    internal: bool,
    /// Other namespaces (`aliases` of the include), fully qualified.
    aliases: Vec<String>,
    excludes: Vec<String>,
}

/// A reference to a task written in a file, resolved after every file is read.
struct PendingRef {
    /// The task that holds the reference (its index in `Loader::spec_tasks`), or for a
    /// pipeline target, the pipeline (its index in `Loader::pipelines`).
    from: usize,
    kind: RefKind,
    /// The reference as written, for a call or a pipeline target; a dependency's is read back
    /// from the task (its `Dep`), since most references are dependencies.
    written: Option<Box<WrittenRef>>,
}

/// A task reference as written.
struct WrittenRef {
    /// The namespace to resolve relative names in.
    namespace: String,
    /// The name as written.
    name: String,
    location: Location,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RefKind {
    Dep(usize),
    Cmd { recover: bool, index: usize },
    Pipeline,
}

#[derive(Default)]
struct Loader {
    sources: SourceMap,
    diags: Vec<Diagnostic>,
    spec_tasks: IndexMap<String, Task>,
    aliases: IndexMap<String, String>,
    scopes: Vec<FileScope>,
    pipelines: IndexMap<String, Pipeline>,
    gitops: GitopsConfig,
    classify: Option<toml::Value>,
    raw_deps: Vec<PendingRef>,
    /// Files being loaded, to refuse include cycles.
    visiting: Vec<PathBuf>,
    /// Documents generated from other files, by their (normalised) path: read instead of the
    /// disk.
    generated: HashMap<PathBuf, GeneratedFile>,
}

impl Loader {
    fn finish(mut self, file: PathBuf) -> Result<Spec, SpecError> {
        self.resolve_references();
        self.check_cycles();
        let root_dir = file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        if self.gitops.checkout == Path::new(".") {
            self.gitops.checkout.clone_from(&root_dir);
        }
        let sources = Arc::new(self.sources);
        if !self.diags.is_empty() {
            return Err(SpecError::new(self.diags, sources));
        }
        Ok(Spec {
            file,
            root_dir,
            scopes: self.scopes,
            tasks: self.spec_tasks,
            aliases: self.aliases,
            pipelines: self.pipelines,
            gitops: self.gitops,
            classify: self.classify,
            sources,
        })
    }

    fn load_file(
        &mut self,
        path: &Path,
        namespace: &str,
        include: &IncludeOptions,
        parent: Option<usize>,
    ) -> Result<(), SpecError> {
        if let Some(document) = self.generated.get(&normalise(path)) {
            let file_id = self.sources.add_generated(document.clone());
            return self.load_parsed(path, file_id, namespace, include, parent);
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            let mut d = Diagnostic::new(format!("cannot read tasks file `{}`: {e}", path.display()));
            if e.kind() == std::io::ErrorKind::NotFound {
                d = d.help("create it, or point at another file with `-f FILE`");
            }
            SpecError::new(vec![d], Arc::new(SourceMap::default()))
        })?;
        self.load_text(path, text, namespace, include, parent)
    }

    fn load_text(
        &mut self,
        path: &Path,
        text: String,
        namespace: &str,
        include: &IncludeOptions,
        parent: Option<usize>,
    ) -> Result<(), SpecError> {
        let file_id = self.sources.add(path, text);
        self.load_parsed(path, file_id, namespace, include, parent)
    }

    #[expect(
        clippy::too_many_lines,
        reason = "lowers every top-level key of one file in file order; each step is short and shares the loader's diagnostics"
    )]
    fn load_parsed(
        &mut self,
        path: &Path,
        file_id: FileId,
        namespace: &str,
        include: &IncludeOptions,
        parent: Option<usize>,
    ) -> Result<(), SpecError> {
        let mut raw: RawFile = match toml::from_str(self.sources.text(file_id)) {
            Ok(raw) => raw,
            Err(e) => {
                self.diags.push(toml_error(&e, file_id));
                return Ok(());
            }
        };
        self.visiting.push(path.to_path_buf());
        let file_dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let scope_index = self.scopes.len();
        // As in go-task, included tasks run in the root directory (the includer's) unless the
        // include sets `dir`; `{{.TASKFILE_DIR}}` stays the included file's directory.
        let inherited_dir = parent.map_or_else(|| file_dir.clone(), |p| self.scopes[p].dir.clone());
        let inherited = parent.map(|p| self.scopes[p].settings.clone()).unwrap_or_default();
        let settings = self.file_settings(&raw, inherited, file_id);
        let mut scope = FileScope {
            namespace: namespace.to_string(),
            include_vars: include.vars.clone(),
            vars: self.var_map(&raw.vars, file_id),
            env: IndexMap::new(),
            dir: include.dir.clone().unwrap_or(inherited_dir),
            parent,
            file: path.to_path_buf(),
            file_dir: file_dir.clone(),
            settings,
        };
        if let Some(v) = &raw.version
            && *v.get_ref() != 1
        {
            self.diags.push(
                Diagnostic::new(format!("unsupported tasks.toml version {}", v.get_ref()))
                    .at(loc(file_id, v.span()), "only version 1 exists")
                    .help("remove the key or set `version = 1`"),
            );
        }
        let mut env = IndexMap::new();
        self.read_dotenv(&raw.dotenv, &file_dir, file_id, &mut env);
        scope.env = env;
        // `env` wins over dotenv values.
        let env = self.var_map(&raw.env, file_id);
        for (k, v) in env {
            scope.env.insert(k, v);
        }
        self.scopes.push(scope);

        if namespace.is_empty() {
            self.classify = raw.classify;
            if let Some(g) = raw.gitops {
                self.gitops(g, &file_dir, file_id);
            }
        }

        // Each raw task is dropped once lowered, so a big file does not hold both forms whole.
        // Exactly: `reserve` rounds the entries up to the hash table's capacity (1,792 tasks'
        // room for 1,000), and a task is large.
        self.spec_tasks.reserve_exact(raw.tasks.len());
        for (name, raw_task) in std::mem::take(&mut raw.tasks) {
            if include.excludes.iter().any(|e| e == name.get_ref()) {
                continue;
            }
            self.add_task(&name, raw_task, namespace, scope_index, file_id, include);
        }

        for (name, p) in &raw.pipelines {
            let full = qualify(namespace, name.get_ref());
            let (from, _) = self
                .pipelines
                .insert_full(full.clone(), Pipeline { name: full.clone(), desc: p.desc.clone(), targets: Vec::new() });
            for t in &p.targets {
                self.raw_deps.push(PendingRef {
                    from,
                    kind: RefKind::Pipeline,
                    written: Some(Box::new(WrittenRef {
                        namespace: namespace.to_string(),
                        name: t.get_ref().clone(),
                        location: loc(file_id, t.span()),
                    })),
                });
            }
            if p.targets.is_empty() {
                self.diags.push(
                    Diagnostic::new(format!("pipeline `{full}` has no targets"))
                        .at(loc(file_id, name.span()), "defined here")
                        .help("add `targets = [\"task\"]`"),
                );
            }
        }

        for (ns, inc) in &raw.includes {
            let span = inc.span();
            let (inc_path, dir, optional, vars, internal, flatten, aliases, excludes) = match inc.get_ref() {
                RawInclude::Path(p) => (p.clone(), None, false, IndexMap::new(), false, false, Vec::new(), Vec::new()),
                RawInclude::Table(t) => (
                    t.path.clone(),
                    t.dir.clone(),
                    t.optional,
                    t.vars.clone(),
                    t.internal,
                    t.flatten,
                    t.aliases.clone(),
                    t.excludes.clone(),
                ),
            };
            let mut target = file_dir.join(&inc_path);
            let generated = self.generated.contains_key(&normalise(&target));
            if !generated && target.is_dir() {
                target = DEFAULT_FILE_NAMES.iter().map(|n| target.join(n)).find(|p| p.is_file()).unwrap_or(target);
            }
            let full_ns = if flatten { namespace.to_string() } else { qualify(namespace, ns) };
            if !generated && !target.is_file() {
                if !optional {
                    self.diags.push(
                        Diagnostic::new(format!("included file `{}` does not exist", target.display()))
                            .at(loc(file_id, span), "included here")
                            .help("fix the path, or mark the include `optional = true`"),
                    );
                }
                continue;
            }
            let canonical = target.canonicalize().unwrap_or_else(|_| target.clone());
            if self.visiting.iter().any(|v| v.canonicalize().ok().as_ref() == Some(&canonical)) {
                self.diags.push(
                    Diagnostic::new(format!("include cycle: `{}` includes itself", target.display()))
                        .at(loc(file_id, span), "included here"),
                );
                continue;
            }
            let options = IncludeOptions {
                dir: dir.map(|d| file_dir.join(d)),
                vars: self.unspanned_vars(&vars, &loc(file_id, span.clone())),
                internal: internal || include.internal,
                aliases: aliases.iter().map(|a| qualify(namespace, a)).collect(),
                excludes,
            };
            self.load_file(&target, &full_ns, &options, Some(scope_index))?;
        }
        self.visiting.pop();
        Ok(())
    }

    fn var_map(&mut self, raw: &IndexMap<String, Spanned<RawVar>>, file: FileId) -> IndexMap<String, VarDef> {
        let mut out = IndexMap::new();
        for (name, value) in raw {
            if let Some(def) = self.var_def(value.get_ref(), loc(file, value.span())) {
                out.insert(name.clone(), def);
            }
        }
        out
    }

    fn var_def(&mut self, raw: &RawVar, location: Location) -> Option<VarDef> {
        let value = match raw {
            RawVar::Str(s) => VarValue::Template(self.tmpl(s, &location, true)?),
            RawVar::Int(i) => VarValue::Literal(Value::Int(*i)),
            RawVar::Float(f) => VarValue::Literal(Value::Float(*f)),
            RawVar::Bool(b) => VarValue::Literal(Value::Bool(*b)),
            RawVar::List(items) => VarValue::Literal(Value::List(items.iter().cloned().map(Value::Str).collect())),
            RawVar::Table(t) => match (&t.sh, &t.value, &t.reference, &t.map) {
                (Some(sh), None, None, None) => VarValue::Sh(self.tmpl(sh, &location, false)?),
                (None, Some(v), None, None) => VarValue::Template(self.tmpl(v, &location, false)?),
                (None, None, Some(r), None) => {
                    let name = r.trim().trim_start_matches('.');
                    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !plain || !r.trim().starts_with('.') {
                        self.diags.push(
                            Diagnostic::new(format!("invalid `ref` `{r}`: expected a variable like `.NAME`"))
                                .at(location, "here")
                                .help("`ref` gives another variable's value as it is; for an expression, write a template string"),
                        );
                        return None;
                    }
                    VarValue::Ref(name.to_string())
                }
                (None, None, None, Some(m)) => VarValue::Literal(toml_value(&toml::Value::Table(m.clone()))),
                _ => {
                    self.diags.push(
                        Diagnostic::new("a variable table needs exactly one of `sh`, `value`, `ref` or `map`")
                            .at(location, "here")
                            .help("write `{ sh = \"command\" }` for a dynamic value or `{ value = \"...\", secret = true }`"),
                    );
                    return None;
                }
            },
        };
        let secret = matches!(raw, RawVar::Table(t) if t.secret);
        Some(VarDef { value, secret })
    }

    fn unspanned_vars(&mut self, raw: &IndexMap<String, RawVar>, location: &Location) -> IndexMap<String, VarDef> {
        raw.iter().filter_map(|(k, v)| Some((k.clone(), self.var_def(v, location.clone())?))).collect()
    }

    /// The vars of a dependency or a call: `None` when it gives none.
    fn call_vars(
        &mut self,
        raw: &IndexMap<String, RawVar>,
        location: &Location,
    ) -> Option<Box<IndexMap<String, VarDef>>> {
        let vars = self.unspanned_vars(raw, location);
        (!vars.is_empty()).then(|| Box::new(vars))
    }

    /// Parses a template. `exact` means `location` covers exactly this string literal, so an
    /// error inside the template can be pointed at precisely.
    fn tmpl(&mut self, source: &str, location: &Location, exact: bool) -> Option<Tmpl> {
        let content_start = exact
            .then(|| location.span.start + literal_prefix_len(self.sources.text(location.file), location.span.start));
        match Template::parse(source) {
            Ok(t) => Some(Tmpl { parsed: Arc::new(t), location: location.clone(), content_start }),
            Err(e) => {
                let at = template_error_location(location, content_start, e.offset, e.len);
                self.diags.push(Diagnostic::new(format!("invalid template: {e}")).at(at, "in this template"));
                None
            }
        }
    }

    #[expect(clippy::too_many_lines, reason = "one task's keys, each validated in place, in file order")]
    fn add_task(
        &mut self,
        name: &Spanned<String>,
        mut raw: Box<RawTask>,
        namespace: &str,
        scope: usize,
        file: FileId,
        include: &IncludeOptions,
    ) {
        let full = qualify(namespace, name.get_ref());
        let location = loc(file, name.span());
        if name.get_ref().is_empty() || name.get_ref().chars().any(char::is_whitespace) {
            self.diags.push(
                Diagnostic::new(format!("invalid task name `{}`", name.get_ref()))
                    .at(location.clone(), "task names cannot be empty or contain spaces"),
            );
        }
        // Checked before anything of the task is recorded: references collected for a second
        // definition would point into the first one.
        if self.spec_tasks.contains_key(&full) || self.aliases.contains_key(&full) {
            let first = self.spec_tasks.get(&full).map(|t| t.location.clone());
            let mut d = Diagnostic::new(format!("task `{full}` is defined twice")).at(location, "second definition");
            if let Some(first) = first {
                d = d.at(first, "first definition");
            }
            self.diags.push(d.help("rename one of them; an included task is named `NAMESPACE:task`"));
            return;
        }
        // Where this task is inserted below: what its references are resolved for.
        let index = self.spec_tasks.len();
        let mut cmds = Vec::with_capacity(usize::from(raw.cmd.is_some()) + raw.cmds.len());
        for c in raw.cmd.as_deref().into_iter().chain(raw.cmds.iter()) {
            let position = cmds.len();
            if let Some(cmd) = self.cmd(c, index, namespace, false, position, file) {
                cmds.push(cmd);
            }
        }
        let mut recover = Vec::with_capacity(raw.recover.len());
        for c in &raw.recover {
            let position = recover.len();
            if let Some(cmd) = self.cmd(c, index, namespace, true, position, file) {
                recover.push(cmd);
            }
        }
        let mut deps = Vec::with_capacity(raw.deps.len());
        for d in std::mem::take(&mut raw.deps) {
            let dloc = loc(file, d.span());
            let (dep_name, vars, silent, for_each) = match d.into_inner() {
                RawDep::Name(n) => (n, None, false, None),
                RawDep::Table(t) => (
                    t.task,
                    self.call_vars(&t.vars, &dloc),
                    t.silent,
                    t.for_each.as_ref().and_then(|f| self.for_spec(f, &dloc)).map(Box::new),
                ),
            };
            let Some(target) = self.task_ref(dep_name, index, namespace, &dloc, RefKind::Dep(deps.len())) else {
                continue;
            };
            deps.push(Dep { target, vars, silent, for_each, location: dloc });
        }
        let preconditions = raw
            .preconditions
            .iter()
            .filter_map(|p| {
                let ploc = loc(file, p.span());
                match p.get_ref() {
                    RawPrecondition::Shell(s) => {
                        Some(Precondition { sh: self.tmpl(s, &ploc, true)?, msg: None, preflight: false })
                    }
                    RawPrecondition::Table(t) => {
                        let sh = self.tmpl(&t.sh, &ploc, false)?;
                        let msg = match &t.msg {
                            Some(m) => Some(self.tmpl(m, &ploc, false)?),
                            None => None,
                        };
                        Some(Precondition { sh, msg, preflight: t.preflight })
                    }
                }
            })
            .collect();
        let status = self.tmpl_list(&raw.status, file);
        let sources = self.tmpl_list(&raw.sources, file);
        let generates = self.tmpl_list(&raw.generates, file);
        let timeout = raw
            .timeout
            .as_ref()
            .and_then(|t| self.duration_spec(t.get_ref(), &loc(file, t.span()), true))
            .map(Box::new);
        let retries = match raw.retries.as_ref().map(|r| (r.get_ref(), loc(file, r.span()))) {
            None => Retries::default(),
            Some((RawRetries::Attempts(n), _)) => Retries { attempts: *n, delay: Duration::ZERO },
            Some((RawRetries::Table(t), l)) => Retries {
                attempts: t.attempts,
                delay: t.delay.as_ref().and_then(|d| self.duration(d, &l)).unwrap_or(Duration::ZERO),
            },
        };
        if retries.attempts > MAX_RETRIES
            && let Some(r) = &raw.retries
        {
            self.diags.push(
                Diagnostic::new(format!("`retries = {}` is more than {MAX_RETRIES}", retries.attempts))
                    .at(loc(file, r.span()), "here")
                    .help("a stage that fails that often needs a fix or a health gate, not more retries"),
            );
        }
        let dir = raw.dir.as_ref().and_then(|d| self.tmpl(d.get_ref(), &loc(file, d.span()), true)).map(Box::new);
        let confirm =
            raw.confirm.as_ref().and_then(|c| self.tmpl(c.get_ref(), &loc(file, c.span()), true)).map(Box::new);
        let health = raw.health.as_ref().and_then(|h| self.health(h.get_ref(), &loc(file, h.span()))).map(Box::new);
        let vars = self.var_map(&raw.vars, file);
        let mut env = IndexMap::new();
        // A task's `dotenv` files (relative to its file), below its own `env`.
        if !raw.dotenv.is_empty() {
            let file_dir = self.scopes[scope].file_dir.clone();
            self.read_dotenv(&raw.dotenv, &file_dir, file, &mut env);
        }
        for (k, v) in self.var_map(&raw.env, file) {
            env.insert(k, v);
        }
        let mut aliases = Vec::new();
        let alias_names = raw
            .aliases
            .iter()
            .map(|a| (qualify(namespace, a.get_ref()), loc(file, a.span())))
            .chain(include.aliases.iter().map(|ns| (qualify(ns, name.get_ref()), location.clone())));
        for (alias, aloc) in alias_names.collect::<Vec<_>>() {
            if self.spec_tasks.contains_key(&alias) || self.aliases.contains_key(&alias) {
                self.diags.push(
                    Diagnostic::new(format!("alias `{alias}` is already a task or alias")).at(aloc, "duplicate name"),
                );
                continue;
            }
            self.aliases.insert(alias.clone(), full.clone());
            aliases.push(alias);
        }
        let label = raw.label.as_ref().and_then(|l| self.tmpl(l.get_ref(), &loc(file, l.span()), true)).map(Box::new);
        let prefix = raw.prefix.as_ref().and_then(|p| self.tmpl(p.get_ref(), &loc(file, p.span()), true)).map(Box::new);
        let requires = raw
            .requires
            .as_ref()
            .map(|r| {
                r.get_ref()
                    .vars
                    .iter()
                    .map(|v| match v {
                        RawRequiredVar::Name(n) => Requirement { name: n.clone(), allowed: None },
                        RawRequiredVar::Table(t) => Requirement { name: t.name.clone(), allowed: t.allowed.clone() },
                    })
                    .collect()
            })
            .unwrap_or_default();
        let needs = raw
            .requires
            .as_ref()
            .map(|r| {
                let r = r.get_ref();
                Needs {
                    tools: r.tools.clone(),
                    env: r.env.clone(),
                    files: self.tmpl_list(&r.files, file),
                    endpoints: self.tmpl_list(&r.endpoints, file),
                }
            })
            .filter(|n| !(n.tools.is_empty() && n.env.is_empty() && n.files.is_empty() && n.endpoints.is_empty()))
            .map(Box::new);
        let platforms = raw.platforms.iter().filter_map(|p| self.platform(p.get_ref(), &loc(file, p.span()))).collect();
        let run = raw.run.as_ref().and_then(|r| self.run_policy(r, file));
        let method = raw.method.as_ref().and_then(|m| self.method(m, file));
        let output = raw.output.as_ref().and_then(|o| self.output(o, file)).map(Box::new);
        let shell = raw.shell.as_ref().map(|s| s.get_ref().clone());
        let set = self.set_options(&raw.set, file);
        let shopt = raw.shopt.iter().map(|s| s.get_ref().clone()).collect();
        let background = raw.background.as_ref().and_then(|b| self.background(b, file));
        let task = Task {
            name: full.clone(),
            desc: raw.desc.take(),
            summary: raw.summary.take(),
            cmds,
            deps,
            vars,
            env,
            dir,
            preconditions,
            status,
            sources,
            generates,
            timeout,
            retries,
            silent: raw.silent,
            ignore_error: raw.ignore_error,
            internal: raw.internal || include.internal,
            aliases,
            confirm,
            recover,
            health,
            label,
            prefix,
            requires,
            needs,
            platforms,
            interactive: raw.interactive,
            run,
            method,
            output,
            shell,
            set,
            shopt,
            background,
            scope,
            location,
        };
        self.spec_tasks.insert(full, task);
    }

    /// A reference to a task: resolved after every file is read, or, when the name is a
    /// template, each time it is rendered.
    fn task_ref(
        &mut self,
        name: String,
        from: usize,
        namespace: &str,
        location: &Location,
        kind: RefKind,
    ) -> Option<TaskRef> {
        if name.contains("{{") {
            let template = self.tmpl(&name, location, false)?;
            return Some(TaskRef { name, template: Some(Box::new(template)), namespace: namespace.to_string() });
        }
        // A dependency's reference is read back from the task (`Dep` keeps it, with its
        // place); a call's is kept here, since a command the loader refuses is not kept.
        let written = match kind {
            RefKind::Dep(_) => None,
            RefKind::Cmd { .. } | RefKind::Pipeline => Some(Box::new(WrittenRef {
                namespace: namespace.to_string(),
                name: name.clone(),
                location: location.clone(),
            })),
        };
        self.raw_deps.push(PendingRef { from, kind, written });
        Some(TaskRef { name, template: None, namespace: namespace.to_string() })
    }

    fn cmd(
        &mut self,
        c: &Spanned<RawCmd>,
        task: usize,
        namespace: &str,
        recover: bool,
        index: usize,
        file: FileId,
    ) -> Option<Cmd> {
        let location = loc(file, c.span());
        let plain = |kind| Cmd {
            kind,
            ignore_error: false,
            silent: false,
            location: location.clone(),
            defer: false,
            for_each: None,
            platforms: Vec::new(),
            set: Vec::new(),
            shopt: Vec::new(),
        };
        match c.get_ref() {
            RawCmd::Shell(s) => Some(plain(CmdKind::Shell(self.tmpl(s, &location, true)?))),
            RawCmd::Table(t) => {
                let call = |this: &mut Self, name: &str, vars| {
                    let target =
                        this.task_ref(name.to_string(), task, namespace, &location, RefKind::Cmd { recover, index })?;
                    Some(CmdKind::Task { target, vars: this.call_vars(vars, &location) })
                };
                let (kind, defer, silent) = match (&t.cmd, &t.task, &t.defer) {
                    (Some(cmd), None, None) => (CmdKind::Shell(self.tmpl(cmd, &location, false)?), false, t.silent),
                    (None, Some(name), None) => (call(self, name, &t.vars)?, false, t.silent),
                    (None, None, Some(RawDefer::Shell(cmd))) => {
                        (CmdKind::Shell(self.tmpl(cmd, &location, false)?), true, t.silent)
                    }
                    (None, None, Some(RawDefer::Table(d))) => {
                        (call(self, &d.task, &d.vars)?, true, t.silent || d.silent)
                    }
                    _ => {
                        self.diags.push(
                            Diagnostic::new("a command table needs exactly one of `cmd`, `task` or `defer`")
                                .at(location, "here")
                                .help("write `{ cmd = \"...\" }` to run a command, `{ task = \"name\" }` to call a task, or `{ defer = \"...\" }` to run one when the task ends"),
                        );
                        return None;
                    }
                };
                let for_each = match &t.for_each {
                    Some(f) if defer => {
                        let _ = f;
                        self.diags
                            .push(Diagnostic::new("`for` cannot loop over a `defer`").at(location.clone(), "here"));
                        None
                    }
                    Some(f) => Some(Box::new(self.for_spec(f, &location)?)),
                    None => None,
                };
                let platforms = t.platforms.iter().filter_map(|p| self.platform(p, &location)).collect();
                Some(Cmd {
                    kind,
                    ignore_error: t.ignore_error,
                    silent,
                    location: location.clone(),
                    defer,
                    for_each,
                    platforms,
                    set: t.set.clone(),
                    shopt: t.shopt.clone(),
                })
            }
        }
    }

    fn for_spec(&mut self, raw: &RawFor, location: &Location) -> Option<ForSpec> {
        match raw {
            RawFor::Keyword(k) if k == "sources" => Some(ForSpec::Sources),
            RawFor::Keyword(k) if k == "generates" => Some(ForSpec::Generates),
            RawFor::Keyword(k) => {
                self.diags.push(
                    Diagnostic::new(format!("unknown `for` keyword `{k}`"))
                        .at(location.clone(), "here")
                        .help("loop over `\"sources\"`, `\"generates\"`, a list like [\"a\", \"b\"], or a table like { var = \"LIST\" }"),
                );
                None
            }
            RawFor::List(items) => {
                Some(ForSpec::List(items.iter().filter_map(|i| self.tmpl(i, location, false)).collect()))
            }
            RawFor::Table(t) => match (&t.var, &t.matrix) {
                (Some(var), None) => {
                    Some(ForSpec::Var { var: var.clone(), split: t.split.clone(), as_name: t.as_name.clone() })
                }
                (None, Some(m)) if t.split.is_none() && t.as_name.is_none() => {
                    let mut rows = IndexMap::new();
                    for (key, row) in m {
                        let row = match row {
                            RawMatrixRow::Values(values) => MatrixRow::Values(values.clone()),
                            RawMatrixRow::Ref { reference } => {
                                let name = reference.trim().trim_start_matches('.');
                                if !reference.trim().starts_with('.') || name.is_empty() {
                                    self.diags.push(
                                        Diagnostic::new(format!("matrix row `{key}`: invalid `ref` `{reference}`"))
                                            .at(location.clone(), "here")
                                            .help("write `{ ref = \".LIST\" }`, naming a list variable"),
                                    );
                                    return None;
                                }
                                MatrixRow::Ref(name.to_string())
                            }
                        };
                        rows.insert(key.clone(), row);
                    }
                    Some(ForSpec::Matrix(rows))
                }
                _ => {
                    self.diags.push(
                        Diagnostic::new("a `for` table needs `var` (with optional `split` and `as`) or `matrix`")
                            .at(location.clone(), "here"),
                    );
                    None
                }
            },
        }
    }

    fn platform(&mut self, text: &str, location: &Location) -> Option<Platform> {
        const OSES: &[&str] = &[
            "aix",
            "android",
            "darwin",
            "dragonfly",
            "freebsd",
            "illumos",
            "ios",
            "js",
            "linux",
            "netbsd",
            "openbsd",
            "plan9",
            "solaris",
            "wasip1",
            "windows",
        ];
        const ARCHES: &[&str] = &[
            "386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64", "ppc64le",
            "riscv64", "s390x", "wasm",
        ];
        let (os, arch) = match text.split_once('/') {
            Some((os, arch)) => (Some(os), Some(arch)),
            None if OSES.contains(&text) => (Some(text), None),
            None => (None, Some(text)),
        };
        let bad_os = os.is_some_and(|o| !OSES.contains(&o));
        let bad_arch = arch.is_some_and(|a| !ARCHES.contains(&a));
        if bad_os || bad_arch {
            let mut d = Diagnostic::new(format!("invalid platform `{text}`")).at(location.clone(), "here");
            if let Some(best) = did_you_mean(text, OSES.iter().chain(ARCHES).copied()) {
                d = d.help(format!("did you mean `{best}`?"));
            }
            self.diags.push(
                d.help("write an OS (`linux`, `darwin`, `windows`), an architecture (`amd64`, `arm64`) or `os/arch`"),
            );
            return None;
        }
        Some(Platform { os: os.map(str::to_string), arch: arch.map(str::to_string) })
    }

    fn one_of<T: Copy>(
        &mut self,
        value: &Spanned<String>,
        file: FileId,
        key: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, v)) = choices.iter().find(|(n, _)| *n == value.get_ref()) {
            return Some(*v);
        }
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let mut d = Diagnostic::new(format!("invalid `{key}` `{}`", value.get_ref()))
            .at(loc(file, value.span()), format!("expected one of: {}", names.join(", ")));
        if let Some(best) = did_you_mean(value.get_ref(), names.iter().copied()) {
            d = d.help(format!("did you mean `{best}`?"));
        }
        self.diags.push(d);
        None
    }

    fn run_policy(&mut self, value: &Spanned<String>, file: FileId) -> Option<RunPolicy> {
        self.one_of(
            value,
            file,
            "run",
            &[("always", RunPolicy::Always), ("once", RunPolicy::Once), ("when_changed", RunPolicy::WhenChanged)],
        )
    }

    fn method(&mut self, value: &Spanned<String>, file: FileId) -> Option<Method> {
        self.one_of(
            value,
            file,
            "method",
            &[("checksum", Method::Checksum), ("timestamp", Method::Timestamp), ("none", Method::None)],
        )
    }

    fn output(&mut self, value: &Spanned<RawOutput>, file: FileId) -> Option<OutputSetting> {
        let location = loc(file, value.span());
        match value.get_ref() {
            RawOutput::Name(n) => match n.as_str() {
                "interleaved" => Some(OutputSetting::Interleaved),
                "prefixed" => Some(OutputSetting::Prefixed),
                "group" => Some(OutputSetting::Group { begin: None, end: None, error_only: false }),
                other => {
                    let mut d = Diagnostic::new(format!("invalid `output` `{other}`"))
                        .at(location, "expected one of: interleaved, prefixed, group");
                    if let Some(best) = did_you_mean(other, ["interleaved", "prefixed", "group"]) {
                        d = d.help(format!("did you mean `{best}`?"));
                    }
                    self.diags.push(d);
                    None
                }
            },
            RawOutput::Table(t) => {
                let begin = match &t.group.begin {
                    Some(b) => Some(self.tmpl(b, &location, false)?),
                    None => None,
                };
                let end = match &t.group.end {
                    Some(e) => Some(self.tmpl(e, &location, false)?),
                    None => None,
                };
                Some(OutputSetting::Group { begin, end, error_only: t.group.error_only })
            }
        }
    }

    /// `set` options, as go-task accepts them (short letters or `set -o` names).
    fn set_options(&mut self, items: &[Spanned<String>], file: FileId) -> Vec<String> {
        const KNOWN: &[&str] = &[
            "e",
            "u",
            "x",
            "a",
            "n",
            "f",
            "errexit",
            "nounset",
            "xtrace",
            "allexport",
            "noexec",
            "noglob",
            "pipefail",
        ];
        let mut out = Vec::new();
        for item in items {
            if KNOWN.contains(&item.get_ref().as_str()) {
                out.push(item.get_ref().clone());
            } else {
                let mut d = Diagnostic::new(format!("unknown `set` option `{}`", item.get_ref()))
                    .at(loc(file, item.span()), format!("expected one of: {}", KNOWN.join(", ")));
                if let Some(best) = did_you_mean(item.get_ref(), KNOWN.iter().copied()) {
                    d = d.help(format!("did you mean `{best}`?"));
                }
                self.diags.push(d);
            }
        }
        out
    }

    /// The file-level settings of one file, over what it inherits from its includer.
    fn file_settings(&mut self, raw: &RawFile, inherited: FileSettings, file: FileId) -> FileSettings {
        let mut s = inherited;
        if let Some(shell) = &raw.shell {
            s.shell = Some(shell.get_ref().clone());
        }
        if let Some(o) = &raw.output
            && let Some(o) = self.output(o, file)
        {
            s.output = Some(o);
        }
        if let Some(m) = &raw.method
            && let Some(m) = self.method(m, file)
        {
            s.method = Some(m);
        }
        if let Some(r) = &raw.run
            && let Some(r) = self.run_policy(r, file)
        {
            s.run = Some(r);
        }
        s.set.extend(self.set_options(&raw.set, file));
        s.shopt.extend(raw.shopt.iter().map(|o| o.get_ref().clone()));
        s.silent |= raw.silent;
        if let Some(u) = &raw.undefined_vars
            && let Some(u) = self.one_of(
                u,
                file,
                "undefined_vars",
                &[("error", UndefinedVars::Error), ("empty", UndefinedVars::Empty)],
            )
        {
            s.undefined_vars = Some(u);
        }
        if let Some(b) = &raw.background
            && let Some(b) = self.background(b, file)
        {
            s.background = Some(b);
        }
        s
    }

    fn background(&mut self, value: &Spanned<String>, file: FileId) -> Option<Background> {
        self.one_of(value, file, "background", &[("kill", Background::Kill), ("keep", Background::Keep)])
    }

    /// Reads `dotenv` files (relative to `base`) into `env`; the first file that sets a key wins.
    fn read_dotenv(
        &mut self,
        files: &[Spanned<String>],
        base: &Path,
        file_id: FileId,
        env: &mut IndexMap<String, VarDef>,
    ) {
        for d in files {
            let p = base.join(d.get_ref());
            match dotenvy::from_path_iter(&p) {
                Ok(iter) => {
                    for item in iter {
                        match item {
                            Ok((k, v)) => {
                                env.entry(k)
                                    .or_insert(VarDef { value: VarValue::Literal(Value::Str(v)), secret: false });
                            }
                            Err(e) => self.diags.push(
                                Diagnostic::new(format!("cannot parse dotenv file `{}`: {e}", p.display()))
                                    .at(loc(file_id, d.span()), "listed here"),
                            ),
                        }
                    }
                }
                // A missing dotenv file is not an error, as in go-task: it is often per-machine.
                Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => self.diags.push(
                    Diagnostic::new(format!("cannot read dotenv file `{}`: {e}", p.display()))
                        .at(loc(file_id, d.span()), "listed here"),
                ),
            }
        }
    }

    /// `[gitops]`: each command template is parsed now, so that a typo is reported here with
    /// its location rather than in the middle of an emergency.
    fn gitops(&mut self, raw: RawGitops, file_dir: &Path, file: FileId) {
        let commands = [
            (raw.suspend, &mut self.gitops.suspend),
            (raw.resume, &mut self.gitops.resume),
            (raw.diff, &mut self.gitops.diff),
            (raw.spec_path, &mut self.gitops.spec_path),
            (raw.status, &mut self.gitops.status),
        ];
        let mut checked = Vec::new();
        for (value, slot) in commands {
            if let Some(value) = value {
                checked.push((loc(file, value.span()), value.get_ref().clone()));
                *slot = value.into_inner();
            }
        }
        for (location, source) in checked {
            self.tmpl(&source, &location, true);
        }
        if let Some(checkout) = raw.checkout {
            self.gitops.checkout = file_dir.join(checkout.get_ref());
        }
        // `[gitops.paths]` comes after the keys in the file: report in file order.
        if let Some(timeout) = raw.timeout
            && let Some(d) = self.duration(timeout.get_ref(), &loc(file, timeout.span()))
        {
            self.gitops.timeout = d;
        }
        for (name, path) in raw.paths {
            let text = path.get_ref().trim();
            if text.is_empty() || Path::new(text).is_absolute() {
                self.diags.push(
                    Diagnostic::new(format!("invalid path for Kustomization `{name}` in [gitops.paths]"))
                        .at(loc(file, path.span()), "expected a path relative to the checkout's top level")
                        .help("write it as Flux's spec.path, e.g. `./kubernetes/apps`"),
                );
                continue;
            }
            self.gitops.paths.insert(name, text.to_string());
        }
        if let Some(s) = raw.stage {
            self.gitops.stage = s;
        }
        if let Some(a) = raw.api_stage {
            self.gitops.api_stage = a;
        }
    }

    fn tmpl_list(&mut self, items: &[Spanned<String>], file: FileId) -> Vec<Tmpl> {
        items.iter().filter_map(|s| self.tmpl(s.get_ref(), &loc(file, s.span()), true)).collect()
    }

    fn duration(&mut self, text: &str, location: &Location) -> Option<Duration> {
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.diags.push(
                    Diagnostic::new(format!("invalid duration: {e}"))
                        .at(location.clone(), "expected a duration like `30s`, `5m` or `1h30m`"),
                );
                None
            }
        }
    }

    /// A duration that may be a template: literal ones are checked now.
    fn duration_spec(&mut self, text: &str, location: &Location, exact: bool) -> Option<DurationSpec> {
        if text.contains("{{") {
            self.tmpl(text, location, exact).map(DurationSpec::Template)
        } else {
            self.duration(text, location).map(DurationSpec::Fixed)
        }
    }

    #[expect(clippy::too_many_lines, reason = "validates each gate key in turn, pointing each error at its own value")]
    fn health(&mut self, raw: &RawHealth, location: &Location) -> Option<HealthSpec> {
        let probe = match (&raw.cmd, &raw.http, &raw.tcp, &raw.probe) {
            (Some(cmd), None, None, None) => ProbeSpec::Cmd(self.tmpl(cmd, location, false)?),
            (None, Some(url), None, None) => ProbeSpec::Http {
                url: self.tmpl(url, location, false)?,
                status: match &raw.status {
                    None => Vec::new(),
                    Some(RawStatusCodes::One(s)) => vec![*s],
                    Some(RawStatusCodes::Many(s)) => s.clone(),
                },
                body: match &raw.body {
                    Some(b) => Some(self.tmpl(b, location, false)?),
                    None => None,
                },
                body_not: match &raw.body_not {
                    Some(b) => Some(self.tmpl(b, location, false)?),
                    None => None,
                },
                insecure_tls: raw.insecure_tls,
            },
            (None, None, Some(addr), None) => ProbeSpec::Tcp(self.tmpl(addr, location, false)?),
            (None, None, None, Some(name)) => {
                let mut with = IndexMap::new();
                for (key, value) in &raw.with {
                    with.insert(key.clone(), self.tmpl(value, location, false)?);
                }
                ProbeSpec::Custom { name: name.clone(), with }
            }
            _ => {
                self.diags.push(
                    Diagnostic::new("a health gate needs exactly one of `cmd`, `http`, `tcp` or `probe`")
                        .at(location.clone(), "this gate")
                        .help("for example `health = { cmd = \"kubectl get --raw=/readyz\" }`"),
                );
                return None;
            }
        };
        if !raw.with.is_empty() && !matches!(probe, ProbeSpec::Custom { .. }) {
            self.diags.push(
                Diagnostic::new("`with` only applies to `probe` gates (probes registered by the embedding program)")
                    .at(location.clone(), "this gate"),
            );
        }
        if !matches!(probe, ProbeSpec::Http { .. })
            && (raw.status.is_some() || raw.body.is_some() || raw.body_not.is_some() || raw.insecure_tls)
        {
            self.diags.push(
                Diagnostic::new("`status`, `body`, `body_not` and `insecure_tls` only apply to `http` gates")
                    .at(location.clone(), "this gate"),
            );
        }
        // Each duration points at its own value when wrong, not at the whole gate.
        let dur = |v: &Option<Spanned<String>>, default: Duration, this: &mut Self| match v {
            Some(t) => {
                let at = loc(location.file, t.span());
                this.duration_spec(t.get_ref(), &at, true).unwrap_or(DurationSpec::Fixed(default))
            }
            None => DurationSpec::Fixed(default),
        };
        let initial_delay = dur(&raw.initial_delay, Duration::ZERO, self);
        let interval = dur(&raw.interval, Duration::from_secs(5), self);
        let probe_timeout = dur(&raw.probe_timeout, Duration::from_secs(30), self);
        let timeout = dur(&raw.timeout, Duration::from_secs(300), self);
        let backoff = match &raw.backoff {
            None | Some(RawBackoff::Enabled(false)) => None,
            Some(RawBackoff::Enabled(true)) => Some(Backoff::default()),
            Some(RawBackoff::Table(t)) => {
                let d = Backoff::default();
                if let Some(f) = t.factor
                    && !(1.0..=100.0).contains(&f)
                {
                    self.diags.push(
                        Diagnostic::new(format!("backoff `factor = {f}` must be a number from 1 to 100"))
                            .at(location.clone(), "this gate")
                            .help("each pause is the previous one times `factor`, up to `max`; 2 doubles it"),
                    );
                }
                Some(Backoff {
                    factor: t.factor.unwrap_or(d.factor).max(1.0),
                    max: t.max.as_ref().and_then(|m| self.duration(m, location)).unwrap_or(d.max),
                    jitter: t.jitter.unwrap_or(d.jitter),
                })
            }
        };
        let success_threshold = raw.success_threshold.unwrap_or(2);
        if success_threshold == 0 {
            self.diags
                .push(Diagnostic::new("`success_threshold` must be at least 1").at(location.clone(), "this gate"));
        }
        if raw.consecutive_error_limit == Some(0) {
            self.diags.push(
                Diagnostic::new("`consecutive_error_limit` must be at least 1").at(location.clone(), "this gate"),
            );
        }
        let mut fatal_patterns = Vec::new();
        for p in &raw.fatal_patterns {
            // A templated pattern is checked when the task is rendered.
            if !p.contains("{{")
                && let Err(e) = regex::Regex::new(p)
            {
                self.diags.push(
                    Diagnostic::new(format!("invalid fatal pattern `{p}`: {e}")).at(location.clone(), "this gate"),
                );
            } else if let Some(t) = self.tmpl(p, location, false) {
                fatal_patterns.push(t);
            }
        }
        for b in raw.body.iter().chain(raw.body_not.iter()) {
            if !b.contains("{{")
                && let Err(e) = regex::Regex::new(b)
            {
                self.diags.push(
                    Diagnostic::new(format!("invalid body pattern `{b}`: {e}")).at(location.clone(), "this gate"),
                );
            }
        }
        Some(HealthSpec {
            name: raw.name.clone(),
            probe,
            initial_delay,
            interval,
            backoff,
            probe_timeout,
            timeout,
            success_threshold: success_threshold.max(1),
            consecutive_error_limit: raw.consecutive_error_limit.unwrap_or(4).max(1),
            fatal_exit_codes: raw.fatal_exit_codes.clone(),
            fatal_patterns,
            error_exit_codes: raw.error_exit_codes.clone(),
            location: location.clone(),
        })
    }

    /// Resolves every task reference (deps, task calls, pipeline targets) to a canonical name,
    /// reporting unknown ones with a suggestion.
    fn resolve_references(&mut self) {
        let refs = std::mem::take(&mut self.raw_deps);
        for r in refs {
            let dep = match r.kind {
                RefKind::Dep(i) => self.spec_tasks.get_index(r.from).and_then(|(_, t)| t.deps.get(i)),
                RefKind::Cmd { .. } | RefKind::Pipeline => None,
            };
            let (namespace, name, location) = match (dep, &r.written) {
                (Some(d), _) => (d.target.namespace.as_str(), d.target.name.as_str(), &d.location),
                (None, Some(w)) => (w.namespace.as_str(), w.name.as_str(), &w.location),
                (None, None) => continue,
            };
            let Some(found) = self.canonical_reference(namespace, name) else {
                let names = self.spec_tasks.keys().map(String::as_str).chain(self.aliases.keys().map(String::as_str));
                let from = match r.kind {
                    RefKind::Pipeline => self.pipelines.get_index(r.from).map(|(name, _)| name.as_str()),
                    RefKind::Dep(_) | RefKind::Cmd { .. } => {
                        self.spec_tasks.get_index(r.from).map(|(name, _)| name.as_str())
                    }
                };
                let from = from.unwrap_or_default();
                let what = match r.kind {
                    RefKind::Dep(_) => format!("task `{from}` depends on unknown task `{name}`"),
                    RefKind::Cmd { .. } => format!("task `{from}` calls unknown task `{name}`"),
                    RefKind::Pipeline => format!("pipeline `{from}` targets unknown task `{name}`"),
                };
                let mut d = Diagnostic::new(what).at(location.clone(), "no task by this name");
                if let Some(best) = did_you_mean(name, names) {
                    d = d.help(format!("did you mean `{best}`?"));
                }
                self.diags.push(d);
                continue;
            };
            // A reference written as its canonical name (the usual case) is left as it is.
            let canonical = match found {
                Found::AsWritten if r.kind != RefKind::Pipeline => continue,
                Found::AsWritten => r.written.map(|w| w.name).unwrap_or_default(),
                Found::As(canonical) => canonical,
            };
            match r.kind {
                RefKind::Dep(i) => {
                    if let Some(d) = self.spec_tasks.get_index_mut(r.from).and_then(|(_, t)| t.deps.get_mut(i)) {
                        d.target.name = canonical;
                    }
                }
                RefKind::Cmd { recover, index } => {
                    if let Some((_, t)) = self.spec_tasks.get_index_mut(r.from) {
                        let list = if recover { &mut t.recover } else { &mut t.cmds };
                        if let Some(Cmd { kind: CmdKind::Task { target, .. }, .. }) = list.get_mut(index) {
                            target.name = canonical;
                        }
                    }
                }
                RefKind::Pipeline => {
                    if let Some((_, p)) = self.pipelines.get_index_mut(r.from) {
                        p.targets.push(canonical);
                    }
                }
            }
        }
    }

    /// The task a reference written as `name` in `namespace` names, if any. In an included
    /// file, `ns:name` is tried before `name`; an alias names its task; a wildcard task
    /// (`start:*`) answers to every name it matches, and the concrete name is kept, so that
    /// `{{.MATCH}}` can be taken from it.
    fn canonical_reference(&self, namespace: &str, name: &str) -> Option<Found> {
        let qualified = (!namespace.is_empty()).then(|| qualify(namespace, name));
        let bare = if namespace.is_empty() { name } else { name.trim_start_matches(':') };
        let candidates = || qualified.as_deref().into_iter().chain(std::iter::once(bare));
        let owned = |c: &str| if c == name { Found::AsWritten } else { Found::As(c.to_string()) };
        for c in candidates() {
            if self.spec_tasks.contains_key(c) {
                return Some(owned(c));
            }
            if let Some(task) = self.aliases.get(c) {
                return Some(owned(task));
            }
        }
        candidates()
            .find(|c| crate::model::find_wildcard(self.spec_tasks.keys().map(|k| (k.as_str(), ())), c).is_some())
            .map(owned)
    }

    /// Reports every dependency cycle (through deps and task calls) with its full path.
    fn check_cycles(&mut self) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Visiting,
            Done,
        }
        /// Edge `i` of a task: its deps, then its calls (commands, then recovery commands).
        enum Edge<'t> {
            /// Past the last one.
            End,
            /// No edge here: a templated reference (checked when rendered; the plan refuses
            /// cycles too), a shell command, or a name that is not a task (a name a wildcard
            /// task matches has no edges of its own).
            Skip,
            /// To this task, written there.
            To(usize, &'t Location),
        }
        fn edge<'t>(tasks: &'t IndexMap<String, Task>, t: &'t Task, i: usize) -> Edge<'t> {
            let (target, location) = if let Some(d) = t.deps.get(i) {
                (&d.target, &d.location)
            } else {
                let j = i - t.deps.len();
                let Some(c) = t.cmds.get(j).or_else(|| t.recover.get(j - t.cmds.len())) else { return Edge::End };
                match &c.kind {
                    CmdKind::Task { target, .. } => (target, &c.location),
                    CmdKind::Shell(_) => return Edge::Skip,
                }
            };
            match tasks.get_index_of(&target.name) {
                Some(next) if target.template.is_none() => Edge::To(next, location),
                _ => Edge::Skip,
            }
        }
        let tasks = &self.spec_tasks;
        let mut marks = vec![Mark::New; tasks.len()];
        let mut found: Vec<(Vec<usize>, Location)> = Vec::new();
        // Depth first, without recursion (a chain of 100,000 tasks must not overflow the
        // stack): each frame is a task and the edge it goes on from.
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for root in 0..tasks.len() {
            if marks[root] != Mark::New {
                continue;
            }
            marks[root] = Mark::Visiting;
            stack.push((root, 0));
            while let Some(&mut (node, ref mut next_edge)) = stack.last_mut() {
                let i = *next_edge;
                *next_edge += 1;
                match edge(tasks, &tasks[node], i) {
                    Edge::End => {
                        marks[node] = Mark::Done;
                        stack.pop();
                    }
                    Edge::Skip => {}
                    Edge::To(next, location) => match marks[next] {
                        Mark::Visiting => {
                            let start = stack.iter().position(|&(n, _)| n == next).unwrap_or(0);
                            let mut path: Vec<usize> = stack[start..].iter().map(|&(n, _)| n).collect();
                            path.push(next);
                            found.push((path, location.clone()));
                        }
                        Mark::Done => {}
                        Mark::New => {
                            marks[next] = Mark::Visiting;
                            stack.push((next, 0));
                        }
                    },
                }
            }
        }
        let mut seen = HashSet::new();
        for (path, location) in found {
            let mut key = path[..path.len() - 1].to_vec();
            key.sort_unstable();
            if !seen.insert(key) {
                continue;
            }
            let names: Vec<&str> =
                path.iter().map(|&i| tasks.get_index(i).map_or("", |(name, _)| name.as_str())).collect();
            self.diags.push(
                Diagnostic::new(format!("dependency cycle: {}", names.join(" → ")))
                    .at(location, "this dependency closes the cycle")
                    .help("remove one of these dependencies; a task cannot (indirectly) depend on itself"),
            );
        }
    }
}

/// What a task reference names (see `Loader::canonical_reference`).
enum Found {
    /// The task it is written as.
    AsWritten,
    /// This task (an alias's, a namespaced one's, or a wildcard's concrete name).
    As(String),
}

/// A TOML value as a template value (maps keep their order).
fn toml_value(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::Str(s.clone()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::Str(d.to_string()),
        toml::Value::Array(items) => Value::List(items.iter().map(toml_value).collect()),
        toml::Value::Table(t) => Value::Map(t.iter().map(|(k, v)| (k.clone(), toml_value(v))).collect()),
    }
}

/// Where an error at `offset` inside a template points: precisely when the template's start in
/// the file is known, otherwise at the whole value.
pub(crate) fn template_error_location(
    location: &Location,
    content_start: Option<usize>,
    offset: usize,
    len: usize,
) -> Location {
    match content_start {
        Some(base) => {
            let end_limit = location.span.end.max(base + 1);
            let start = (base + offset).min(end_limit - 1);
            Location { file: location.file, span: start..(start + len.max(1)).min(end_limit) }
        }
        None => location.clone(),
    }
}

/// The most retries a task may ask for.
const MAX_RETRIES: u32 = 1000;

fn qualify(namespace: &str, name: &str) -> String {
    if namespace.is_empty() { name.to_string() } else { format!("{namespace}:{name}") }
}

fn loc(file: FileId, span: std::ops::Range<usize>) -> Location {
    Location { file, span }
}

/// The number of quote characters before a TOML string's content starts.
fn literal_prefix_len(text: &str, start: usize) -> usize {
    let rest = text.get(start..).unwrap_or("");
    if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
        // TOML drops a newline right after the opening delimiter.
        3 + usize::from(rest[3..].starts_with('\n')) + 2 * usize::from(rest[3..].starts_with("\r\n"))
    } else {
        usize::from(rest.starts_with('"') || rest.starts_with('\''))
    }
}

/// Turns a TOML parse or type error into a diagnostic with a suggestion where possible.
fn toml_error(e: &toml::de::Error, file: FileId) -> Diagnostic {
    let message = plain_type_words(e.message().trim());
    let (label, help) = if let Some(help) = unknown_field_help(&message) {
        // serde already lists the valid keys; repeat them only as a suggestion.
        let help = help.starts_with("did you mean").then_some(help);
        ("unknown key".to_string(), help)
    } else if message.starts_with("missing field") {
        ("in this table".to_string(), None)
    } else if message.contains("invalid type") || message.starts_with("expected") {
        ("wrong type".to_string(), None)
    } else {
        ("here".to_string(), None)
    };
    let mut d = Diagnostic::new(format!("invalid tasks file: {message}"));
    if let Some(span) = e.span() {
        d = d.at(loc(file, span), label);
    }
    if let Some(h) = help {
        d = d.help(h);
    }
    d
}

/// serde's Rust words in type errors, as an operator would say them.
fn plain_type_words(message: &str) -> String {
    let mut m = message.to_string();
    for (rust, plain) in [
        ("expected u32", "expected a whole number (0 or more)"),
        ("expected u16", "expected a whole number (0 to 65535)"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list, like [\"a\", \"b\"]"),
        ("expected a map", "expected a table, like { key = \"value\" }"),
        ("invalid type: sequence", "invalid type: list"),
        ("invalid type: map", "invalid type: table"),
    ] {
        m = m.replace(rust, plain);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Origin;

    fn errors(text: &str) -> Vec<String> {
        match load_str(Path::new("/tmp/opsrun-load/tasks.toml"), text) {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics.iter().map(|d| d.message.clone()).collect(),
        }
    }

    #[test]
    fn boxed_and_absent_parts_of_a_task_load_as_written() {
        // The optional parts kept boxed (or `None` when absent) to keep a task small.
        let text = "
            [tasks.full]
            dir = 'sub/{{.X}}'
            timeout = '90s'
            confirm = 'Really?'
            label = 'full {{.X}}'
            prefix = 'f'
            requires = { vars = ['X'], tools = ['kubectl'], files = ['{{.X}}.yaml'] }
            deps = [{ task = 'plain', vars = { Y = '1' } }, 'plain']
            cmds = [{ task = 'plain', vars = { Z = 'z' } }, { task = 'plain' }, 'echo {{if .X}}{{.X}}{{end}} {{printf \"%d\" 3}}']
            vars = { X = 'x' }
            [tasks.plain]
            requires = { vars = ['X'] }
            cmds = ['true']
            [tasks.templated]
            timeout = '{{.T}}'
        ";
        let spec = load_str(Path::new("/tmp/opsrun-load/tasks.toml"), text).expect("loads");
        let full = &spec.tasks["full"];
        assert_eq!(full.dir.as_ref().map(|t| t.source()), Some("sub/{{.X}}"));
        assert!(matches!(full.timeout.as_deref(), Some(DurationSpec::Fixed(d)) if *d == Duration::from_secs(90)));
        assert_eq!(full.confirm.as_ref().map(|t| t.source()), Some("Really?"));
        assert_eq!(full.label.as_ref().map(|t| t.source()), Some("full {{.X}}"));
        assert_eq!(full.prefix.as_ref().map(|t| t.source()), Some("f"));
        assert_eq!(full.requires.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["X"]);
        let needs = full.needs.as_deref().expect("tools and files are needs");
        assert_eq!(needs.tools, ["kubectl"]);
        assert_eq!(needs.files.iter().map(Tmpl::source).collect::<Vec<_>>(), ["{{.X}}.yaml"]);
        let dep_vars: Vec<Option<Vec<&str>>> =
            full.deps.iter().map(|d| d.vars.as_ref().map(|v| v.keys().map(String::as_str).collect())).collect();
        assert_eq!(dep_vars, [Some(vec!["Y"]), None]);
        let call_vars: Vec<Option<Vec<&str>>> = full.cmds[..2]
            .iter()
            .map(|c| match &c.kind {
                CmdKind::Task { target, vars } => {
                    assert_eq!(target.name, "plain");
                    vars.as_ref().map(|v| v.keys().map(String::as_str).collect())
                }
                CmdKind::Shell(_) => panic!("a call"),
            })
            .collect();
        assert_eq!(call_vars, [Some(vec!["Z"]), None]);
        assert!(
            matches!(&full.cmds[2].kind, CmdKind::Shell(t) if t.source() == "echo {{if .X}}{{.X}}{{end}} {{printf \"%d\" 3}}")
        );

        let plain = &spec.tasks["plain"];
        assert!(plain.dir.is_none() && plain.timeout.is_none() && plain.confirm.is_none());
        assert!(plain.label.is_none() && plain.prefix.is_none());
        assert!(plain.needs.is_none(), "`requires` with only vars needs nothing of the machine");
        assert!(
            matches!(spec.tasks["templated"].timeout.as_deref(), Some(DurationSpec::Template(t)) if t.source() == "{{.T}}")
        );
    }

    #[test]
    fn cycles_through_deps_and_calls_are_each_reported_once_with_their_path() {
        let text = "
            [tasks.a]
            deps = ['b']
            [tasks.b]
            cmds = ['true', { task = 'c' }]
            [tasks.c]
            deps = ['a']
            [tasks.d]
            recover = [{ task = 'd' }]
            [tasks.e]
            deps = ['c', 'e']
        ";
        assert_eq!(
            errors(text),
            ["dependency cycle: a → b → c → a", "dependency cycle: d → d", "dependency cycle: e → e"]
        );
        // A templated reference is checked when rendered, not here.
        assert!(errors("[tasks.a]\ndeps = ['{{.X}}']\nvars = { X = 'a' }\n").is_empty());
    }

    #[test]
    fn a_long_chain_is_checked_without_recursion() {
        // Deeper than a test thread's stack allows a recursive walk to go.
        let mut text = String::from("[tasks.t0]\ncmds = ['true']\n");
        for i in 1..20_000 {
            text.push_str(&format!("[tasks.t{i}]\ndeps = ['t{}']\n", i - 1));
        }
        assert!(errors(&text).is_empty());
        text = text.replacen("[tasks.t0]\n", "[tasks.t0]\ndeps = ['t19999']\n", 1);
        let errors = errors(&text);
        assert_eq!(errors.len(), 1, "one cycle");
        assert!(errors[0].starts_with("dependency cycle: t0 → t19999 → t19998 → "), "{}", &errors[0][..60]);
        assert!(errors[0].ends_with(" → t1 → t0"));
    }

    #[test]
    fn references_resolve_to_canonical_names_and_unknown_ones_name_their_holder() {
        let text = "
            [tasks.build]
            aliases = ['b']
            cmds = ['true']
            [tasks.ci]
            deps = ['b']
            cmds = [{ task = 'build' }]
            [tasks.'start:*']
            cmds = ['echo {{index .MATCH 0}}']
            [tasks.web]
            deps = ['start:web']
            [pipelines.p]
            targets = ['b', 'ci']
        ";
        let spec = load_str(Path::new("/tmp/opsrun-load/tasks.toml"), text).expect("loads");
        assert_eq!(spec.tasks["ci"].deps[0].target.name, "build", "an alias names its task");
        assert_eq!(spec.tasks["web"].deps[0].target.name, "start:web", "a wildcard keeps the concrete name");
        assert_eq!(spec.pipelines["p"].targets, ["build", "ci"]);
        let text = "
            [tasks.a]
            deps = ['nope']
            cmds = [{ task = 'gone' }]
            recover = [{ task = 'missing' }]
            [pipelines.p]
            targets = ['absent']
        ";
        assert_eq!(
            errors(text),
            [
                "task `a` calls unknown task `gone`",
                "task `a` calls unknown task `missing`",
                "task `a` depends on unknown task `nope`",
                "pipeline `p` targets unknown task `absent`",
            ]
        );
    }

    #[test]
    fn generated_documents_load_as_one_spec_and_errors_point_into_the_originals() {
        let original = "tasks:\n  a:\n    deps: [nope]\n";
        let text = "[tasks.a]\ndeps = [\"nope\"]\n[includes]\nsub = \"sub/Taskfile.yml\"\n";
        let dep_generated = text.find("\"nope\"").unwrap();
        let dep_original = original.find("nope").unwrap();
        let root = GeneratedFile {
            path: PathBuf::from("/srv/p/Taskfile.yml"),
            original_path: PathBuf::from("/srv/p/Taskfile.yml"),
            original: original.to_string(),
            text: text.to_string(),
            origins: vec![Origin {
                generated: dep_generated..dep_generated + 6,
                source: dep_original..dep_original + 4,
            }],
        };
        let sub = GeneratedFile {
            path: PathBuf::from("/srv/p/sub/Taskfile.yml"),
            original_path: PathBuf::from("/srv/p/sub/Taskfile.yml"),
            original: "tasks: {b: echo b}\n".to_string(),
            text: "[tasks.b]\ncmds = [\"echo b\"]\n".to_string(),
            origins: Vec::new(),
        };
        let err = load_generated(Path::new("/srv/p/Taskfile.yml"), vec![root.clone(), sub.clone()]).unwrap_err();
        let rendered = err.render(false);
        assert!(rendered.contains("/srv/p/Taskfile.yml:3:12"), "{rendered}");
        assert!(rendered.contains("deps: [nope]"), "the snippet is the original: {rendered}");

        let fixed = GeneratedFile {
            text: "[tasks.a]\ndeps = [\"sub:b\"]\n[includes]\nsub = \"sub/./Taskfile.yml\"\n".into(),
            ..root
        };
        let spec = load_generated(Path::new("/srv/p/Taskfile.yml"), vec![fixed, sub]).expect("loads");
        assert!(spec.task("sub:b").is_some());
        assert_eq!(spec.scopes[1].file, PathBuf::from("/srv/p/sub/Taskfile.yml"));
    }
}
