//! One Taskfile → one `tasks.toml` document: every go-task v3 key mapped to its `tasks.toml`
//! form, what cannot be expressed warned about (file, line, key), `task X` commands rewritten
//! into calls, and hand-rolled phases noticed.

use std::ops::Range;

use opsrun_spec::{Diagnostic, FileId, Location};

use crate::project::qualify;
use crate::toml_out::{Document, Entry, Table, Val, ValKind};
use crate::yaml::{Kind, Node, ScalarKind};

/// A `task X` command rewritten into a call, or left alone, for the report.
#[derive(Debug, Clone)]
pub struct Rewrite {
    /// Where the command was written.
    pub location: Location,
    /// The command as written.
    pub command: String,
    /// The call it became (`{ task = "X" }`), or `None` when it was kept as a command.
    pub call: Option<String>,
    /// Why it was kept, when it was.
    pub reason: Option<String>,
}

/// What the conversion of one file needs to know about the project.
pub(crate) struct FileContext<'a> {
    pub(crate) id: FileId,
    pub(crate) text: &'a str,
    /// The file's name for the header (`Taskfile.yml`).
    pub(crate) display_name: String,
    /// Included (not the root Taskfile).
    pub(crate) included: bool,
    pub(crate) runs_in_root: bool,
    /// Every runnable name of the project.
    pub(crate) names: &'a std::collections::BTreeSet<String>,
    /// The `includes` entries: key → path to write (or `None` to leave the entry out).
    pub(crate) include_paths: Vec<(String, Option<String>, bool)>,
    /// The namespaces the file's tasks get, where a task name written in it is looked up.
    pub(crate) namespaces: &'a [String],
}

/// What converting one file produced.
pub(crate) struct Converted {
    pub(crate) document: Document,
    pub(crate) warnings: Vec<Diagnostic>,
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) rewrites: Vec<Rewrite>,
    pub(crate) suggestions: Vec<Diagnostic>,
}

/// The task keys go-task v3 has, in the order the converter writes them.
const TASK_KEYS: &[&str] = &[
    "desc",
    "summary",
    "aliases",
    "label",
    "prefix",
    "internal",
    "dir",
    "platforms",
    "requires",
    "deps",
    "preconditions",
    "status",
    "sources",
    "generates",
    "method",
    "run",
    "silent",
    "ignore_error",
    "interactive",
    "prompt",
    "set",
    "shopt",
    "dotenv",
    "cmd",
    "cmds",
    "vars",
    "env",
    "watch",
    "failfast",
];

struct Converter<'a> {
    ctx: &'a FileContext<'a>,
    /// The task being converted, for messages.
    current: String,
    warnings: Vec<Diagnostic>,
    errors: Vec<Diagnostic>,
    rewrites: Vec<Rewrite>,
    suggestions: Vec<Diagnostic>,
}

/// Converts one parsed Taskfile.
pub(crate) fn convert_file(root: &Node, ctx: &FileContext<'_>) -> Converted {
    let mut c = Converter {
        ctx,
        current: String::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
        rewrites: Vec::new(),
        suggestions: Vec::new(),
    };
    let document = c.document(root);
    Converted { document, warnings: c.warnings, errors: c.errors, rewrites: c.rewrites, suggestions: c.suggestions }
}

impl Converter<'_> {
    fn at(&self, span: &Range<usize>) -> Location {
        Location { file: self.ctx.id, span: span.clone() }
    }

    fn warn(&mut self, span: &Range<usize>, message: String, help: &str) {
        let mut d = Diagnostic::warning(message).at(self.at(span), "not imported");
        if !help.is_empty() {
            d = d.help(help);
        }
        self.warnings.push(d);
    }

    fn error(&mut self, span: &Range<usize>, message: String, label: &str) {
        self.errors.push(Diagnostic::new(message).at(self.at(span), label));
    }

    /// A string value; numbers and booleans as written; anything else an error.
    fn text(&mut self, node: &Node, what: &str) -> Option<Val> {
        match &node.kind {
            Kind::Scalar(s) if s.kind == ScalarKind::Null => Some(Val::str("", Some(node.span.clone()))),
            Kind::Scalar(s) => Some(Val::str(s.text.clone(), Some(node.span.clone()))),
            _ => {
                self.error(&node.span, format!("{what} must be a string, not {}", node.describe()), "here");
                None
            }
        }
    }

    fn flag(&mut self, node: &Node, what: &str) -> Option<Val> {
        match &node.kind {
            Kind::Scalar(s) if matches!(s.kind, ScalarKind::Bool(_)) => {
                Some(Val::bool(s.kind == ScalarKind::Bool(true), Some(node.span.clone())))
            }
            Kind::Scalar(s) if s.kind == ScalarKind::Null => None,
            _ => {
                self.error(&node.span, format!("{what} must be true or false, not {}", node.describe()), "here");
                None
            }
        }
    }

    /// A list of strings (a single string counts as a list of one).
    fn texts(&mut self, node: &Node, what: &str) -> Option<Val> {
        match &node.kind {
            Kind::Seq(items) => {
                let vals = items.iter().filter_map(|i| self.text(i, what)).collect();
                Some(Val::array(vals, Some(node.span.clone())))
            }
            Kind::Scalar(s) if s.kind == ScalarKind::Null => None,
            Kind::Scalar(_) => Some(Val::array(vec![self.text(node, what)?], Some(node.span.clone()))),
            Kind::Map(_) => {
                self.error(&node.span, format!("{what} must be a list, not a map"), "here");
                None
            }
        }
    }

    #[expect(clippy::too_many_lines, reason = "the file-level keys of a Taskfile, in the order tasks.toml wants them")]
    fn document(&mut self, root: &Node) -> Document {
        let mut doc = Document::default();
        let name = &self.ctx.display_name;
        doc.header = vec![
            format!("Converted from {name} by `opsrun import` (go-task v3); edit this file from now on."),
            "The settings below keep go-task's behaviour for the unchanged tasks; delete one to get".to_string(),
            "opsrun's stricter default (docs/migrating-from-taskfile.md).".to_string(),
        ];
        let own = leading_comments(self.ctx.text);
        if !own.is_empty() {
            doc.header.push(String::new());
            doc.header.extend(own);
        }
        let entries: &[(Node, Node)] = root.as_map().unwrap_or(&[]);
        let run = root.get("run");
        let run_val = match run {
            Some(r) => self.text(r, "`run`"),
            None => Some(Val::str("always", None)),
        };
        let mut top = Vec::new();
        if let Some(v) = run_val {
            let mut e = Entry::new("run", v);
            e.key_origin = run.map(|r| r.span.clone());
            if run.is_none() {
                e.comments
                    .push("go-task's default: a task reached twice runs twice (opsrun: once per set of vars).".into());
            }
            top.push(e);
        }
        let mut undefined = Entry::new("undefined_vars", Val::str("empty", None));
        undefined.comments.push("An undefined {{.VAR}} prints as \"\" with a warning (opsrun: an error).".into());
        top.push(undefined);
        let mut background = Entry::new("background", Val::str("keep", None));
        background
            .comments
            .push("Processes a command starts with `&` keep running (opsrun: killed when it ends).".into());
        top.push(background);
        let mut tables = Vec::new();
        for (key, value) in entries {
            let Some(k) = key.as_str() else {
                self.warn(&key.span, "a key that is not a string".into(), "");
                continue;
            };
            let keyed = |e: Entry| Entry { key_origin: Some(key.span.clone()), ..e };
            match k {
                "version" | "run" => {}
                "output" => {
                    if let Some(v) = self.output(value) {
                        top.push(keyed(Entry::new("output", v)));
                    }
                }
                "method" => {
                    if let Some(v) = self.text(value, "`method`") {
                        top.push(keyed(Entry::new("method", v)));
                    }
                }
                "silent" => {
                    if let Some(v) = self.flag(value, "`silent`") {
                        top.push(keyed(Entry::new("silent", v)));
                    }
                }
                "set" | "shopt" | "dotenv" => {
                    if let Some(v) = self.texts(value, &format!("`{k}`")) {
                        top.push(keyed(Entry::new(k, v)));
                    }
                }
                "vars" | "env" => {
                    let vars = self.vars(value, k);
                    if !vars.is_empty() {
                        tables.push(Table {
                            comments: comments_above(self.ctx.text, key.span.start),
                            path: vec![k.to_string()],
                            origin: Some(key.span.clone()),
                            entries: vars,
                            subtables: Vec::new(),
                        });
                    }
                }
                "includes" => {
                    let includes = self.includes(value);
                    if !includes.is_empty() {
                        tables.push(Table {
                            comments: comments_above(self.ctx.text, key.span.start),
                            path: vec!["includes".into()],
                            origin: Some(key.span.clone()),
                            entries: includes,
                            subtables: Vec::new(),
                        });
                    }
                }
                "tasks" => {
                    for (name, task) in value.as_map().unwrap_or(&[]) {
                        if let Some(t) = self.task(name, task) {
                            tables.push(t);
                        }
                    }
                    if !matches!(value.kind, Kind::Map(_)) && !value.is_null() {
                        self.error(&value.span, format!("`tasks` must be a map, not {}", value.describe()), "here");
                    }
                }
                "interval" => self.warn(
                    &key.span,
                    "`interval` (the watch interval) is not imported: opsrun has no watch mode".into(),
                    "run the task from a file watcher (for example `watchexec -- opsrun run TASK`)",
                ),
                other => self.warn(&key.span, format!("unknown top-level key `{other}`"), "go-task v3 has no such key"),
            }
        }
        doc.top = top;
        doc.tables = tables;
        doc
    }

    /// `output: prefixed` or `output: {group: {begin, end, error_only}}`.
    fn output(&mut self, node: &Node) -> Option<Val> {
        if let Kind::Scalar(_) = node.kind {
            return self.text(node, "`output`");
        }
        let Some(group) = node.get("group") else {
            self.error(&node.span, "`output` must be a name or `{group: {...}}`".into(), "here");
            return None;
        };
        let mut entries = Vec::new();
        for (k, v) in group.as_map().unwrap_or(&[]) {
            match k.as_str() {
                Some(key @ ("begin" | "end")) => entries.extend(self.text(v, "`output`").map(|t| (key.to_string(), t))),
                Some("error_only") => {
                    entries.extend(self.flag(v, "`error_only`").map(|t| ("error_only".to_string(), t)));
                }
                _ => self.warn(&k.span, "unknown key in `output.group`".into(), "expected begin, end or error_only"),
            }
        }
        Some(Val::table(vec![("group".into(), Val::table(entries, Some(group.span.clone())))], Some(node.span.clone())))
    }

    /// `vars`/`env` entries.
    fn vars(&mut self, node: &Node, what: &str) -> Vec<Entry> {
        let mut out = Vec::new();
        match &node.kind {
            Kind::Map(entries) => {
                for (k, v) in entries {
                    let Some(name) = k.as_str() else { continue };
                    if let Some(val) = self.var(v, name) {
                        let mut e = Entry::new(name, val);
                        e.key_origin = Some(k.span.clone());
                        e.comments = comments_above(self.ctx.text, k.span.start);
                        out.push(e);
                    }
                }
            }
            Kind::Scalar(s) if s.kind == ScalarKind::Null => {}
            _ => self.error(&node.span, format!("`{what}` must be a map, not {}", node.describe()), "here"),
        }
        out
    }

    /// One variable's value: a scalar, a list, or `{sh}`, `{ref}`, `{map}`, `{value}`.
    fn var(&mut self, node: &Node, name: &str) -> Option<Val> {
        let origin = Some(node.span.clone());
        match &node.kind {
            Kind::Scalar(s) => Some(match s.kind {
                ScalarKind::Null => Val::str("", origin),
                ScalarKind::Bool(b) => Val::bool(b, origin),
                ScalarKind::Int(i) => Val { kind: ValKind::Int(i), origin },
                ScalarKind::Float if s.text.parse::<f64>().is_ok_and(f64::is_finite) && is_toml_float(&s.text) => {
                    Val { kind: ValKind::Float(s.text.clone()), origin }
                }
                ScalarKind::Float | ScalarKind::Str => Val::str(s.text.clone(), origin),
            }),
            Kind::Seq(items) => {
                let mut vals = Vec::new();
                for item in items {
                    match &item.kind {
                        Kind::Scalar(_) => vals.extend(self.text(item, "a list item")),
                        _ => self.warn(
                            &item.span,
                            format!("variable `{name}`: a list inside a list, or a map in a list, is not imported"),
                            "opsrun's list variables hold strings",
                        ),
                    }
                }
                Some(Val::array(vals, origin))
            }
            Kind::Map(entries) => {
                let keys: Vec<&str> = entries.iter().filter_map(|(k, _)| k.as_str()).collect();
                match keys.as_slice() {
                    ["sh" | "value" | "ref"] => {
                        let key = keys[0];
                        let inner = node.get(key)?;
                        if key == "value" {
                            return self.var(inner, name);
                        }
                        let text = self.text(inner, &format!("`{key}`"))?;
                        Some(Val::table(vec![(key.to_string(), text)], origin))
                    }
                    ["map"] => {
                        let inner = node.get("map")?;
                        Some(Val::table(vec![("map".into(), map_value(inner))], origin))
                    }
                    _ => {
                        self.error(
                            &node.span,
                            format!(
                                "variable `{name}`: a map must be `sh`, `ref`, `map` or `value` (go-task refuses this one too)"
                            ),
                            "here",
                        );
                        None
                    }
                }
            }
        }
    }

    /// The `includes` entries, with paths as the layout wants them.
    fn includes(&mut self, node: &Node) -> Vec<Entry> {
        let mut out = Vec::new();
        for (key, entry) in node.as_map().unwrap_or(&[]) {
            let Some(ns) = key.as_str() else { continue };
            let Some((_, path, _)) = self.ctx.include_paths.iter().find(|(k, _, _)| k == ns) else { continue };
            let Some(path) = path.clone() else { continue };
            let path_origin = entry.get("taskfile").map_or_else(|| entry.span.clone(), |t| t.span.clone());
            let optional_missing = self.ctx.include_paths.iter().any(|(k, _, missing)| k == ns && *missing);
            let mut fields = vec![("path".to_string(), Val::str(path, Some(path_origin)))];
            for (k, v) in entry.as_map().unwrap_or(&[]) {
                match k.as_str() {
                    Some("taskfile") | None => {}
                    Some("dir") => fields.extend(self.text(v, "`dir`").map(|t| ("dir".to_string(), t))),
                    Some(flag @ ("optional" | "internal" | "flatten")) => {
                        fields.extend(self.flag(v, &format!("`{flag}`")).map(|t| (flag.to_string(), t)));
                    }
                    Some(list @ ("aliases" | "excludes")) => {
                        fields.extend(self.texts(v, &format!("`{list}`")).map(|t| (list.to_string(), t)));
                    }
                    Some("vars") => {
                        let vars = self.vars(v, "vars");
                        let table = vars.into_iter().map(|e| (e.key, e.value)).collect();
                        fields.push(("vars".to_string(), Val::table(table, Some(v.span.clone()))));
                    }
                    Some("checksum") => self.warn(
                        &k.span,
                        format!("include `{ns}`: `checksum` is not imported (it checks remote Taskfiles)"),
                        "",
                    ),
                    Some(other) => self.warn(&k.span, format!("include `{ns}`: unknown key `{other}`"), ""),
                }
            }
            if optional_missing && !fields.iter().any(|(k, _)| k == "optional") {
                fields.push(("optional".into(), Val::bool(true, None)));
            }
            let value =
                if fields.len() == 1 { fields.remove(0).1 } else { Val::table(fields, Some(entry.span.clone())) };
            let mut e = Entry::new(ns, value);
            e.key_origin = Some(key.span.clone());
            e.comments = comments_above(self.ctx.text, key.span.start);
            out.push(e);
        }
        out
    }

    /// One task: `[tasks.NAME]` with its keys, vars and env as sub-tables when long.
    #[expect(clippy::too_many_lines, reason = "every task key of go-task v3, each mapped in place")]
    fn task(&mut self, name_node: &Node, task: &Node) -> Option<Table> {
        let Some(name) = name_node.as_str().map(str::to_string) else {
            self.warn(&name_node.span, "a task name that is not a string".into(), "");
            return None;
        };
        self.current.clone_from(&name);
        let mut table = Table {
            comments: comments_above(self.ctx.text, name_node.span.start),
            path: vec!["tasks".into(), name.clone()],
            origin: Some(name_node.span.clone()),
            entries: Vec::new(),
            subtables: Vec::new(),
        };
        // A task written as a command or a list of commands.
        let map: Vec<(Node, Node)> = match &task.kind {
            Kind::Map(entries) => entries.clone(),
            Kind::Scalar(s) if s.kind == ScalarKind::Null => Vec::new(),
            Kind::Scalar(_) | Kind::Seq(_) => {
                let key = Node { span: task.span.clone(), kind: task_key("cmds") };
                vec![(key, task.clone())]
            }
        };
        let has_dir = map.iter().any(|(k, _)| k.as_str() == Some("dir"));
        for (k, _) in &map {
            match k.as_str() {
                Some(key) if TASK_KEYS.contains(&key) => {}
                Some(other) => {
                    let help = opsrun_spec::did_you_mean(other, TASK_KEYS.iter().copied())
                        .map(|b| format!("did you mean `{b}`?"))
                        .unwrap_or_default();
                    self.warn(&k.span, format!("task `{name}`: unknown key `{other}`"), &help);
                }
                None => {}
            }
        }
        let mut phases = PhaseSigns::default();
        for key in TASK_KEYS {
            let Some((k, v)) = map.iter().find(|(k, _)| k.as_str() == Some(key)) else { continue };
            let push = |table: &mut Table, out: &str, val: Val| {
                let mut e = Entry::new(out, val);
                e.key_origin = Some(k.span.clone());
                table.entries.push(e);
            };
            match *key {
                "desc" | "summary" | "label" | "prefix" | "dir" | "method" | "run" => {
                    if let Some(t) = self.text(v, &format!("`{key}`")) {
                        push(&mut table, key, t);
                    }
                }
                "internal" | "silent" | "ignore_error" | "interactive" => {
                    if let Some(f) = self.flag(v, &format!("`{key}`")) {
                        push(&mut table, key, f);
                    }
                }
                "aliases" | "platforms" | "set" | "shopt" | "dotenv" | "generates" => {
                    if let Some(list) = self.texts(v, &format!("`{key}`")) {
                        push(&mut table, key, list);
                    }
                }
                "sources" => {
                    if let Some(list) = self.sources(v, &name) {
                        push(&mut table, key, list);
                    }
                }
                "status" => {
                    if let Some(list) = self.texts(v, "`status`") {
                        phases.scan_list(&list);
                        push(&mut table, key, list);
                    }
                }
                "prompt" => {
                    let prompts = v.items();
                    if let Some(first) = prompts.first().and_then(|p| self.text(p, "`prompt`")) {
                        push(&mut table, "confirm", first);
                    }
                    if prompts.len() > 1 {
                        self.warn(
                            &prompts[1].span,
                            format!("task `{name}`: only the first `prompt` is imported (as `confirm`)"),
                            "opsrun asks one question per task: merge the prompts into one",
                        );
                    }
                }
                "requires" => {
                    if let Some(r) = self.requires(v, &name) {
                        push(&mut table, key, r);
                    }
                }
                "deps" => {
                    if let Some(d) = self.deps(v) {
                        push(&mut table, key, d);
                    }
                }
                "preconditions" => {
                    if let Some(p) = self.preconditions(v) {
                        push(&mut table, key, p);
                    }
                }
                "cmd" | "cmds" => {
                    let items = match &v.kind {
                        Kind::Seq(items) if *key == "cmds" => items.clone(),
                        Kind::Scalar(s) if s.kind == ScalarKind::Null => Vec::new(),
                        _ => vec![v.clone()],
                    };
                    let mut cmds = Vec::new();
                    for item in &items {
                        cmds.extend(self.cmd(item, has_dir, &mut phases));
                    }
                    push(&mut table, "cmds", Val::array(cmds, Some(v.span.clone())));
                }
                "vars" | "env" => {
                    let vars = self.vars(v, key);
                    if vars.is_empty() {
                        continue;
                    }
                    let inline = Val::table(
                        vars.iter().map(|e| (e.key.clone(), e.value.clone())).collect(),
                        Some(v.span.clone()),
                    );
                    if vars.len() <= 3 && vars.iter().all(|e| e.comments.is_empty()) && fits(&inline) {
                        push(&mut table, key, inline);
                    } else {
                        table.subtables.push(Table {
                            comments: Vec::new(),
                            path: vec!["tasks".into(), name.clone(), (*key).to_string()],
                            origin: Some(k.span.clone()),
                            entries: vars,
                            subtables: Vec::new(),
                        });
                    }
                }
                "watch" if v.as_str() == Some("true") => {
                    self.warn(
                        &k.span,
                        format!("task `{name}`: `watch` is not imported: opsrun has no watch mode"),
                        "run the task from a file watcher (for example `watchexec -- opsrun run TASK`)",
                    );
                }
                "failfast" => self.warn(
                    &k.span,
                    format!("task `{name}`: `failfast` is not imported"),
                    "opsrun stops a task's other dependencies when one fails unless run with --keep-going",
                ),
                _ => {}
            }
        }
        if let Some(suggestion) = phases.suggestion(&name, self.at(&name_node.span)) {
            self.suggestions.push(suggestion);
        }
        Some(table)
    }

    /// `sources`: globs; `{exclude: glob}` entries are warned about.
    fn sources(&mut self, node: &Node, task: &str) -> Option<Val> {
        let Kind::Seq(items) = &node.kind else { return self.texts(node, "`sources`") };
        let mut out = Vec::new();
        for item in items {
            if let Some(exclude) = item.get("exclude") {
                self.warn(
                    &exclude.span,
                    format!(
                        "task `{task}`: `exclude` in `sources` is not imported; the excluded files count as sources"
                    ),
                    "narrow the globs instead",
                );
            } else {
                out.extend(self.text(item, "a source glob"));
            }
        }
        Some(Val::array(out, Some(node.span.clone())))
    }

    /// `requires: {vars: [A, {name: ENV, enum: [dev, prod]}]}`.
    fn requires(&mut self, node: &Node, task: &str) -> Option<Val> {
        let vars = node.get("vars")?;
        let Kind::Seq(items) = &vars.kind else {
            self.error(&vars.span, "`requires.vars` must be a list".into(), "here");
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            match &item.kind {
                Kind::Scalar(_) => out.extend(self.text(item, "a required variable")),
                Kind::Map(_) => {
                    let Some(name) = item.get("name").and_then(|n| self.text(n, "`name`")) else { continue };
                    let mut fields = vec![("name".to_string(), name)];
                    if let Some(e) = item.get("enum") {
                        if e.get("ref").is_some() {
                            self.warn(
                                &e.span,
                                format!(
                                    "task `{task}`: an `enum` given by `ref` is not imported; any value is accepted"
                                ),
                                "list the allowed values",
                            );
                        } else if let Some(list) = self.texts(e, "`enum`") {
                            fields.push(("enum".to_string(), list));
                        }
                    }
                    out.push(Val::table(fields, Some(item.span.clone())));
                }
                Kind::Seq(_) => self.error(&item.span, "a required variable must be a name".into(), "here"),
            }
        }
        Some(Val::table(vec![("vars".into(), Val::array(out, Some(vars.span.clone())))], Some(node.span.clone())))
    }

    /// `deps`: names or `{task, vars, silent, for}`.
    fn deps(&mut self, node: &Node) -> Option<Val> {
        let items = node.items();
        let mut out = Vec::new();
        for item in items {
            match &item.kind {
                Kind::Scalar(_) => match self.unknown_target(item) {
                    Some(name) => out.push(Val::str(failing_name(&name), Some(item.span.clone()))),
                    None => out.extend(self.text(item, "a dependency")),
                },
                Kind::Map(_) => {
                    let unknown = item.get("task").and_then(|t| self.unknown_target(t));
                    let mut dep = self.call_table(item, &["task", "vars", "silent", "for"]);
                    if let (Some(name), Some(Val { kind: ValKind::Table(fields), .. })) = (unknown, dep.as_mut()) {
                        for (k, v) in fields.iter_mut() {
                            if k == "task" {
                                v.kind = ValKind::Str(failing_name(&name));
                            }
                        }
                    }
                    out.extend(dep);
                }
                Kind::Seq(_) => self.error(&item.span, "a dependency must be a name or a map".into(), "here"),
            }
        }
        Some(Val::array(out, Some(node.span.clone())))
    }

    /// The name a call or dependency written as `node` names, when it is no task of the project:
    /// go-task fails only when such a reference is reached, while the loader refuses the whole
    /// file, so the caller writes it in a form that fails when reached (warned about here).
    fn unknown_target(&mut self, node: &Node) -> Option<String> {
        let name = node.as_str()?;
        if name.contains("{{") || self.task_known(name) {
            return None;
        }
        let task = self.current.clone();
        self.warnings.push(
            Diagnostic::warning(format!(
                "task `{task}` refers to `{name}`, which is not a task of this Taskfile; it fails when reached, as under go-task"
            ))
            .at(self.at(&node.span), "no task by this name")
            .help("fix the name, or remove the reference"),
        );
        Some(name.to_string())
    }

    /// Whether `name`, written in this file, names a task (or alias, or wildcard) of the project,
    /// looked up as the loader looks it up: in the file's namespace, then at the root.
    fn task_known(&self, name: &str) -> bool {
        let candidates: Vec<String> = match name.strip_prefix(':') {
            Some(root) => vec![root.to_string()],
            None => self.ctx.namespaces.iter().flat_map(|ns| [qualify(ns, name), name.to_string()]).collect(),
        };
        candidates.iter().any(|c| {
            self.ctx.names.contains(c)
                || self.ctx.names.iter().any(|n| n.contains('*') && opsrun_spec::wildcard_captures(n, c).is_some())
        })
    }

    /// `preconditions`: commands or `{sh, msg}`.
    fn preconditions(&mut self, node: &Node) -> Option<Val> {
        let items = node.items();
        let mut out = Vec::new();
        for item in items {
            match &item.kind {
                Kind::Scalar(_) => out.extend(self.text(item, "a precondition")),
                Kind::Map(entries) => {
                    let mut fields = Vec::new();
                    for (k, v) in entries {
                        match k.as_str() {
                            Some(key @ ("sh" | "msg")) => {
                                fields.extend(self.text(v, &format!("`{key}`")).map(|t| (key.to_string(), t)));
                            }
                            _ => self.warn(&k.span, "unknown key in a precondition".into(), "expected sh or msg"),
                        }
                    }
                    out.push(Val::table(fields, Some(item.span.clone())));
                }
                Kind::Seq(_) => self.error(&item.span, "a precondition must be a command or a map".into(), "here"),
            }
        }
        Some(Val::array(out, Some(node.span.clone())))
    }

    /// A map of a call (`deps` entry, `task:` command, deferred call) with the keys `allowed`.
    fn call_table(&mut self, node: &Node, allowed: &[&str]) -> Option<Val> {
        let mut fields = Vec::new();
        for (k, v) in node.as_map().unwrap_or(&[]) {
            let Some(key) = k.as_str() else { continue };
            if !allowed.contains(&key) {
                self.warn(
                    &k.span,
                    format!("unknown key `{key}` here"),
                    &format!("expected one of: {}", allowed.join(", ")),
                );
                continue;
            }
            let val = match key {
                "task" | "cmd" => self.text(v, &format!("`{key}`")),
                "silent" | "ignore_error" => self.flag(v, &format!("`{key}`")),
                "platforms" | "set" | "shopt" => self.texts(v, &format!("`{key}`")),
                "vars" => {
                    let vars = self.vars(v, "vars");
                    Some(Val::table(vars.into_iter().map(|e| (e.key, e.value)).collect(), Some(v.span.clone())))
                }
                "for" => self.for_loop(v),
                "defer" => self.defer(v),
                _ => None,
            };
            if let Some(val) = val {
                fields.push((key.to_string(), val));
            }
        }
        Some(Val::table(fields, Some(node.span.clone())))
    }

    /// `for`: a list, `sources`/`generates`, `{var, split, as}` or `{matrix}`.
    fn for_loop(&mut self, node: &Node) -> Option<Val> {
        match &node.kind {
            Kind::Seq(items) => {
                let vals = items.iter().filter_map(|i| self.text(i, "a `for` item")).collect();
                Some(Val::array(vals, Some(node.span.clone())))
            }
            Kind::Scalar(_) => self.text(node, "`for`"),
            Kind::Map(entries) => {
                let mut fields = Vec::new();
                for (k, v) in entries {
                    match k.as_str() {
                        Some(key @ ("var" | "split" | "as")) => {
                            fields.extend(self.text(v, &format!("`{key}`")).map(|t| (key.to_string(), t)));
                        }
                        Some("matrix") => {
                            let mut rows = Vec::new();
                            for (rk, rv) in v.as_map().unwrap_or(&[]) {
                                let Some(row) = rk.as_str() else { continue };
                                if let Some(r) = rv.get("ref") {
                                    if let Some(text) = self.text(r, "`ref`") {
                                        rows.push((
                                            row.to_string(),
                                            Val::table(vec![("ref".into(), text)], Some(rv.span.clone())),
                                        ));
                                    }
                                    continue;
                                }
                                rows.extend(self.texts(rv, "a matrix row").map(|t| (row.to_string(), t)));
                            }
                            fields.push(("matrix".to_string(), Val::table(rows, Some(v.span.clone()))));
                        }
                        _ => self.warn(&k.span, "unknown key in `for`".into(), "expected var, split, as or matrix"),
                    }
                }
                Some(Val::table(fields, Some(node.span.clone())))
            }
        }
    }

    /// `defer: command` or `defer: {task, vars, silent}`.
    fn defer(&mut self, node: &Node) -> Option<Val> {
        if let Some(name) = node.get("task").and_then(|t| self.unknown_target(t)) {
            return Some(Val::str(failing_command(&name), Some(node.span.clone())));
        }
        match &node.kind {
            Kind::Map(_) => self.call_table(node, &["task", "vars", "silent"]),
            _ => self.text(node, "`defer`"),
        }
    }

    /// One command: a string, a `task X` rewritten into a call, or a map.
    fn cmd(&mut self, node: &Node, task_has_dir: bool, phases: &mut PhaseSigns) -> Vec<Val> {
        match &node.kind {
            Kind::Scalar(_) => {
                let Some(text) = node.as_str() else { return Vec::new() };
                phases.scan(text, &node.span);
                if let Some(calls) = self.rewrite(text, &node.span, task_has_dir, &[]) {
                    return calls;
                }
                self.text(node, "a command").into_iter().collect()
            }
            Kind::Map(_) => {
                let allowed =
                    ["cmd", "task", "defer", "for", "vars", "silent", "ignore_error", "platforms", "set", "shopt"];
                if let Some(text) = node.get("cmd").and_then(Node::as_str) {
                    phases.scan(text, &node.span);
                    let only_flags = node
                        .as_map()
                        .unwrap_or(&[])
                        .iter()
                        .all(|(k, _)| matches!(k.as_str(), Some("cmd" | "silent" | "ignore_error")));
                    if only_flags {
                        let extra: Vec<(String, Val)> = node
                            .as_map()
                            .unwrap_or(&[])
                            .iter()
                            .filter(|(k, _)| k.as_str() != Some("cmd"))
                            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), self.flag(v, "a flag")?)))
                            .collect();
                        if let Some(calls) = self.rewrite(text, &node.span, task_has_dir, &extra) {
                            return calls;
                        }
                    }
                }
                if node.get("defer").is_none()
                    && let Some(name) = node.get("task").and_then(|t| self.unknown_target(t))
                {
                    let mut fields =
                        vec![("cmd".to_string(), Val::str(failing_command(&name), Some(node.span.clone())))];
                    if let Some(f) = node.get("ignore_error").and_then(|v| self.flag(v, "`ignore_error`")) {
                        fields.push(("ignore_error".into(), f));
                    }
                    return vec![Val::table(fields, Some(node.span.clone()))];
                }
                let table = self.call_table(node, &allowed);
                // `{cmd: "..."}` alone reads better as the plain string.
                match table {
                    Some(Val { kind: ValKind::Table(mut fields), .. }) if fields.len() == 1 && fields[0].0 == "cmd" => {
                        vec![fields.remove(0).1]
                    }
                    other => other.into_iter().collect(),
                }
            }
            Kind::Seq(_) => {
                self.error(&node.span, "a command must be a string or a map".into(), "here");
                Vec::new()
            }
        }
    }

    /// `task X [VAR=value...]` (also `go-task X`, `mise exec -- task X`) as calls, when the
    /// command is nothing else and X is a task of this project that a `task` started in the
    /// task's directory would find; every candidate is recorded for the report.
    fn rewrite(
        &mut self,
        text: &str,
        span: &Range<usize>,
        task_has_dir: bool,
        extra: &[(String, Val)],
    ) -> Option<Vec<Val>> {
        let location = self.at(span);
        let keep = |this: &mut Self, reason: String| {
            this.rewrites.push(Rewrite {
                location: location.clone(),
                command: text.trim().to_string(),
                call: None,
                reason: Some(reason),
            });
            None
        };
        let Some(words) = task_invocation(text) else {
            if mentions_task(text) {
                return keep(self, "there is shell logic around it".into());
            }
            return None;
        };
        let (mut names, mut vars) = (Vec::new(), Vec::new());
        for word in &words {
            if word.starts_with('-') {
                return keep(self, format!("it passes the flag `{word}` to go-task"));
            }
            match word.split_once('=') {
                Some((k, v)) if is_var_name(k) => vars.push((k.to_string(), Val::str(v, None))),
                _ => names.push(word.clone()),
            }
        }
        if names.is_empty() {
            return keep(self, "it names no task (go-task would run `default`)".into());
        }
        if task_has_dir || !self.ctx.runs_in_root {
            return keep(self, "it runs outside the root directory, where `task` may find another Taskfile".into());
        }
        if let Some(unknown) = names.iter().find(|n| !self.ctx.names.contains(n.as_str())) {
            return keep(self, format!("`{unknown}` is not a task of this Taskfile"));
        }
        let mut calls = Vec::new();
        let mut shown = Vec::new();
        for name in &names {
            // In an included file a call is relative to its namespace; `:X` is the root's X, the
            // task `task X` run in the root directory finds.
            let target = if self.ctx.included { format!(":{name}") } else { name.clone() };
            let mut fields = vec![("task".to_string(), Val::str(target.clone(), Some(span.clone())))];
            if !vars.is_empty() {
                fields.push(("vars".to_string(), Val::table(vars.clone(), None)));
            }
            fields.extend(extra.iter().cloned());
            let call = Val::table(fields, Some(span.clone()));
            shown.push(format!("{{ task = \"{target}\" }}"));
            calls.push(call);
        }
        self.rewrites.push(Rewrite {
            location,
            command: text.trim().to_string(),
            call: Some(shown.join(", ")),
            reason: None,
        });
        Some(calls)
    }
}

/// A `map:` variable's value, as TOML.
fn map_value(node: &Node) -> Val {
    let origin = Some(node.span.clone());
    match &node.kind {
        Kind::Map(entries) => Val::table(
            entries.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), map_value(v)))).collect(),
            origin,
        ),
        Kind::Seq(items) => Val::array(items.iter().map(map_value).collect(), origin),
        Kind::Scalar(s) => match s.kind {
            ScalarKind::Bool(b) => Val::bool(b, origin),
            ScalarKind::Int(i) => Val { kind: ValKind::Int(i), origin },
            _ => Val::str(s.text.clone(), origin),
        },
    }
}

/// A command that fails as go-task fails a call of a task that does not exist.
fn failing_command(name: &str) -> String {
    format!("echo 'task: Task \"{}\" does not exist' >&2; exit 1", name.replace('\'', ""))
}

/// A task name that the loader accepts and that fails when a run plans it: a template that
/// renders to a name no task has.
fn failing_name(name: &str) -> String {
    format!("{{{{\"{}\"}}}}", name.replace(['"', '\\'], ""))
}

/// The words after `task`, for a command that is exactly one go-task invocation and nothing
/// else (no shell logic, one line).
pub(crate) fn task_invocation(text: &str) -> Option<Vec<String>> {
    let line = text.trim();
    if line.contains('\n') {
        return None;
    }
    let rest = ["task ", "go-task ", "mise exec -- task ", "mise x -- task "]
        .iter()
        .find_map(|prefix| line.strip_prefix(prefix))?;
    let simple = regex_simple_template();
    let words: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
    for word in &words {
        let stripped = simple.replace_all(word, "X");
        if !stripped.chars().all(|c| c.is_ascii_alphanumeric() || "-_:.=/@+,%".contains(c)) {
            return None;
        }
    }
    Some(words)
}

/// True when a command runs go-task somewhere (at the start of a line or after `;`, `&&`,
/// `||`, `|`).
fn mentions_task(text: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"(?m)(?:^|[;&|(]\s*)(?:task|go-task|mise\s+(?:exec|x)\s+--\s+task)\s+[A-Za-z0-9_:{]")
            .expect("a valid regex")
    })
    .is_match(text)
}

fn regex_simple_template() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\{\{\s*\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}").expect("a valid regex"))
}

fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_toml_float(text: &str) -> bool {
    let t = text.trim_start_matches(['+', '-']);
    t.contains('.') && t.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn fits(val: &Val) -> bool {
    fn len(v: &Val) -> usize {
        match &v.kind {
            ValKind::Str(s) => s.len() + 2 + usize::from(s.contains('\n')) * 100,
            ValKind::Table(fields) => fields.iter().map(|(k, v)| k.len() + 4 + len(v)).sum::<usize>() + 4,
            ValKind::Array(items) => items.iter().map(len).sum::<usize>() + 2 * items.len() + 2,
            _ => 8,
        }
    }
    len(val) <= 70
}

fn task_key(name: &str) -> Kind {
    Kind::Scalar(crate::yaml::ScalarValue { text: name.to_string(), kind: ScalarKind::Str })
}

/// The comment lines directly above the line holding byte `at` (no blank line between), as
/// written without their `#`.
pub(crate) fn comments_above(text: &str, at: usize) -> Vec<String> {
    let line_start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    if !text[line_start..at.min(text.len())].trim().is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for line in text[..line_start].lines().rev() {
        let trimmed = line.trim();
        let Some(comment) = trimmed.strip_prefix('#') else { break };
        out.push(comment.strip_prefix(' ').unwrap_or(comment).trim_end().to_string());
    }
    out.reverse();
    out
}

/// The comment block a file opens with (a schema line for editors left out).
fn leading_comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() && out.is_empty() {
            continue;
        }
        let Some(comment) = trimmed.strip_prefix('#') else { break };
        if comment.contains("yaml-language-server") {
            continue;
        }
        out.push(comment.strip_prefix(' ').unwrap_or(comment).trim_end().to_string());
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// Signs of a hand-rolled phase in one task's commands.
#[derive(Default)]
struct PhaseSigns {
    markers: Vec<String>,
    sleeps: Vec<String>,
    waits: Vec<String>,
}

impl PhaseSigns {
    fn scan_list(&mut self, list: &Val) {
        if let ValKind::Array(items) = &list.kind {
            for item in items {
                if let ValKind::Str(s) = &item.kind {
                    self.scan(s, &(0..0));
                }
            }
        }
    }

    fn scan(&mut self, text: &str, _span: &Range<usize>) {
        static MARKER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        static SLEEP: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        static WAIT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let marker = MARKER.get_or_init(|| {
            regex::Regex::new(
                r#"(?:touch|test\s+-[ef]|\[\[?\s+-[ef])\s+["']?([^\s"';|&)\]]*(?:phase|stage|-state/|complete|[._-]done|finished|\.marker)[^\s"';|&)\]]*)"#,
            )
            .expect("a valid regex")
        });
        let sleep = SLEEP.get_or_init(|| regex::Regex::new(r"(?m)^\s*sleep\s+\d+[smh]?\s*$").expect("a valid regex"));
        let wait = WAIT
            .get_or_init(|| regex::Regex::new(r"(?m)kubectl\s+wait\b[^\n]*\|\|\s*(?:true|:)").expect("a valid regex"));
        for cap in marker.captures_iter(text) {
            let file = cap[1].to_string();
            if !self.markers.contains(&file) {
                self.markers.push(file);
            }
        }
        for m in sleep.find_iter(text) {
            self.sleeps.push(m.as_str().trim().to_string());
        }
        for m in wait.find_iter(text) {
            self.waits.push(m.as_str().trim().to_string());
        }
    }

    /// A suggestion for a task that chains phases by hand.
    fn suggestion(&self, task: &str, at: Location) -> Option<Diagnostic> {
        if self.markers.is_empty() && self.sleeps.is_empty() && self.waits.is_empty() {
            return None;
        }
        let mut signs = Vec::new();
        if !self.markers.is_empty() {
            signs.push(format!(
                "marker files ({})",
                self.markers.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(s) = self.sleeps.first() {
            signs.push(format!("a fixed wait (`{s}`)"));
        }
        if let Some(w) = self.waits.first() {
            signs.push(format!("a wait whose failure is ignored (`{}`)", shorten(w)));
        }
        let mut d = Diagnostic {
            severity: opsrun_spec::Severity::Note,
            ..Diagnostic::new(format!("task `{task}` chains a phase by hand: {}", signs.join(", ")))
        }
        .at(at, "this task");
        if !self.markers.is_empty() {
            d = d.help(
                "list the phases' tasks in a `[pipelines.NAME]` (targets = [...]): `opsrun pipeline NAME` resumes where it stopped, so the marker files are not needed",
            );
        }
        if !self.sleeps.is_empty() || !self.waits.is_empty() {
            d = d.help(
                "give the stage a `health` gate (cmd/http/tcp) instead: it polls until the stage is ready and fails with the reason when it is not",
            );
        }
        Some(d)
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 60 { format!("{}…", s.chars().take(59).collect::<String>()) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_invocations_are_recognised_only_alone() {
        assert_eq!(task_invocation("task build"), Some(vec!["build".to_string()]));
        assert_eq!(task_invocation("  mise exec -- task ns:x V=1 "), Some(vec!["ns:x".to_string(), "V=1".to_string()]));
        assert_eq!(task_invocation("go-task deploy-{{.ENV}}"), Some(vec!["deploy-{{.ENV}}".to_string()]));
        assert_eq!(task_invocation("task build && task test"), None);
        assert_eq!(task_invocation("task build | tee log"), None);
        assert_eq!(task_invocation("task $(echo x)"), None);
        assert_eq!(task_invocation("tasks build"), None);
        assert_eq!(task_invocation("task a\ntask b"), None);
    }

    #[test]
    fn phase_signs_are_marker_files_fixed_waits_and_ignored_waits() {
        let mut signs = PhaseSigns::default();
        signs.scan("test -f done && echo ok", &(0..0));
        signs.scan("touch out.txt", &(0..0));
        assert!(signs.markers.is_empty(), "an ordinary file is no marker: {:?}", signs.markers);
        signs.scan("mkdir -p .bootstrap-state\ntouch .bootstrap-state/phase-2-complete", &(0..0));
        signs.scan("sleep 30", &(0..0));
        signs.scan("kubectl wait --for=condition=Ready pod -l app=x || true", &(0..0));
        assert_eq!(signs.markers, [".bootstrap-state/phase-2-complete"]);
        assert_eq!(signs.sleeps, ["sleep 30"]);
        assert_eq!(signs.waits.len(), 1);
        let at = Location { file: 0, span: 0..1 };
        let note = signs.suggestion("phase-2", at).expect("a suggestion");
        assert_eq!(note.severity, opsrun_spec::Severity::Note);
        assert!(note.help.iter().any(|h| h.contains("[pipelines.NAME]")));
    }

    #[test]
    fn comments_directly_above_a_line_are_found() {
        let text = "tasks:\n  # Builds it.\n  # Twice.\n  build: x\n\n  # loose\n\n  test: y\n";
        assert_eq!(comments_above(text, text.find("build").unwrap()), ["Builds it.", "Twice."]);
        assert!(comments_above(text, text.find("test").unwrap()).is_empty());
    }
}
