//! Writing `tasks.toml` by hand: readable (commands as literal strings, short tables inline,
//! keys in the Taskfile's order), deterministic, and with an [`Origin`] for every value so
//! that errors found in the generated text are shown at their line in the Taskfile.

use std::fmt::Write as _;
use std::ops::Range;

use opsrun_spec::Origin;

/// A TOML value, with the byte range of the Taskfile it was written for.
#[derive(Debug, Clone)]
pub(crate) struct Val {
    pub(crate) kind: ValKind,
    /// Where in the Taskfile it came from.
    pub(crate) origin: Option<Range<usize>>,
}

/// The kinds of value the converter writes.
#[derive(Debug, Clone)]
pub(crate) enum ValKind {
    Str(String),
    Int(i64),
    /// A float as written (`1.5`).
    Float(String),
    Bool(bool),
    Array(Vec<Val>),
    /// An inline table, keys in order.
    Table(Vec<(String, Val)>),
}

impl Val {
    pub(crate) fn str(text: impl Into<String>, origin: Option<Range<usize>>) -> Self {
        Self { kind: ValKind::Str(text.into()), origin }
    }

    pub(crate) fn bool(value: bool, origin: Option<Range<usize>>) -> Self {
        Self { kind: ValKind::Bool(value), origin }
    }

    pub(crate) fn array(items: Vec<Val>, origin: Option<Range<usize>>) -> Self {
        Self { kind: ValKind::Array(items), origin }
    }

    pub(crate) fn table(entries: Vec<(String, Val)>, origin: Option<Range<usize>>) -> Self {
        Self { kind: ValKind::Table(entries), origin }
    }

    /// True when the value fits on one short line.
    fn is_small(&self) -> bool {
        let mut out = String::new();
        let mut scratch = Vec::new();
        let mut w = Writer { out: &mut out, origins: &mut scratch, source: "" };
        w.value(self, 0, false);
        !out.contains('\n') && out.len() <= 80
    }
}

/// One `key = value` line, with the comment lines written above it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) comments: Vec<String>,
    pub(crate) key: String,
    /// Where the key was written.
    pub(crate) key_origin: Option<Range<usize>>,
    pub(crate) value: Val,
}

impl Entry {
    pub(crate) fn new(key: impl Into<String>, value: Val) -> Self {
        Self { comments: Vec::new(), key: key.into(), key_origin: None, value }
    }
}

/// A `[table]` with its entries.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) comments: Vec<String>,
    /// The dotted path (`["tasks", "build"]`).
    pub(crate) path: Vec<String>,
    /// Where the last part of the path (a task's name) was written.
    pub(crate) origin: Option<Range<usize>>,
    pub(crate) entries: Vec<Entry>,
    /// Entries written as sub-tables (`[tasks.build.vars]`) after this table.
    pub(crate) subtables: Vec<Table>,
}

/// A whole generated `tasks.toml`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Document {
    /// Comment lines at the top.
    pub(crate) header: Vec<String>,
    /// Top-level `key = value` lines (before any table).
    pub(crate) top: Vec<Entry>,
    pub(crate) tables: Vec<Table>,
}

/// The text and origins of a written document.
pub(crate) struct Written {
    pub(crate) text: String,
    pub(crate) origins: Vec<Origin>,
}

impl Document {
    /// Writes the document. `source` is the Taskfile's text: a string copied verbatim from it
    /// gets an exact origin, so errors inside it point at the right column.
    pub(crate) fn write(&self, source: &str) -> Written {
        let mut out = String::new();
        let mut origins = Vec::new();
        let mut w = Writer { out: &mut out, origins: &mut origins, source };
        for line in &self.header {
            w.comment(line);
        }
        if !self.header.is_empty() && !self.top.is_empty() {
            w.out.push('\n');
        }
        for entry in &self.top {
            w.entry(entry);
        }
        for table in &self.tables {
            w.table(table);
        }
        Written { text: out, origins }
    }
}

struct Writer<'a> {
    out: &'a mut String,
    origins: &'a mut Vec<Origin>,
    source: &'a str,
}

impl Writer<'_> {
    fn comment(&mut self, line: &str) {
        if line.is_empty() {
            self.out.push_str("#\n");
        } else {
            let _ = writeln!(self.out, "# {line}");
        }
    }

    fn origin(&mut self, start: usize, origin: Option<&Range<usize>>) {
        if let Some(source) = origin {
            self.origins.push(Origin { generated: start..self.out.len(), source: source.clone() });
        }
    }

    fn table(&mut self, table: &Table) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        for line in &table.comments {
            self.comment(line);
        }
        self.out.push('[');
        let last = table.path.len().saturating_sub(1);
        for (i, part) in table.path.iter().enumerate() {
            if i > 0 {
                self.out.push('.');
            }
            let start = self.out.len();
            self.out.push_str(&key(part));
            if i == last {
                self.origin(start, table.origin.as_ref());
            }
        }
        self.out.push_str("]\n");
        for entry in &table.entries {
            self.entry(entry);
        }
        for sub in &table.subtables {
            self.table(sub);
        }
    }

    fn entry(&mut self, entry: &Entry) {
        for line in &entry.comments {
            self.comment(line);
        }
        let start = self.out.len();
        self.out.push_str(&key(&entry.key));
        self.origin(start, entry.key_origin.as_ref());
        self.out.push_str(" = ");
        self.value(&entry.value, 0, true);
        self.out.push('\n');
    }

    /// Writes a value; `block` allows an array to spread over several lines.
    fn value(&mut self, val: &Val, indent: usize, block: bool) {
        let start = self.out.len();
        match &val.kind {
            ValKind::Str(s) => {
                let (literal, verbatim) = string_literal(s);
                self.out.push_str(&literal);
                if verbatim && let Some(origin) = &val.origin {
                    // The string's own bytes, found in the Taskfile where it was written.
                    let content_start = start + literal.find(s.as_str()).unwrap_or(0);
                    if let Some(at) = self.source.get(origin.clone()).and_then(|t| t.find(s.as_str()))
                        && !s.is_empty()
                    {
                        let from = origin.start + at;
                        self.origins.push(Origin {
                            generated: content_start..content_start + s.len(),
                            source: from..from + s.len(),
                        });
                    }
                }
            }
            ValKind::Int(i) => {
                let _ = write!(self.out, "{i}");
            }
            ValKind::Float(f) => self.out.push_str(f),
            ValKind::Bool(b) => {
                let _ = write!(self.out, "{b}");
            }
            ValKind::Array(items) => {
                let spread = block && (items.len() > 1 && !val.is_small() || items.iter().any(is_multiline));
                if spread {
                    self.out.push_str("[\n");
                    for item in items {
                        self.out.push_str(&"  ".repeat(indent + 1));
                        self.value(item, indent + 1, false);
                        self.out.push_str(",\n");
                    }
                    self.out.push_str(&"  ".repeat(indent));
                    self.out.push(']');
                } else {
                    self.out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        self.value(item, indent, false);
                    }
                    self.out.push(']');
                }
            }
            ValKind::Table(entries) => {
                self.out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    self.out.push_str(if i == 0 { " " } else { ", " });
                    self.out.push_str(&key(k));
                    self.out.push_str(" = ");
                    self.value(v, indent, false);
                }
                self.out.push_str(if entries.is_empty() { "}" } else { " }" });
            }
        }
        self.origin(start, val.origin.as_ref());
    }
}

/// True for a string that will be written over several lines.
fn is_multiline(val: &Val) -> bool {
    match &val.kind {
        ValKind::Str(s) => s.contains('\n'),
        ValKind::Table(entries) => entries.iter().any(|(_, v)| is_multiline(v)),
        ValKind::Array(items) => items.iter().any(is_multiline),
        _ => false,
    }
}

/// A key, bare when TOML allows it, else quoted.
pub(crate) fn key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        basic(k)
    }
}

/// The most readable TOML form of `s`, and whether its bytes appear in it verbatim: a literal
/// `'...'` for commands with double quotes or backslashes, `'''...'''` for multi-line scripts,
/// otherwise a basic string with escapes.
fn string_literal(s: &str) -> (String, bool) {
    let plain_chars = !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
    if s.contains('\n') {
        if plain_chars && !s.contains("'''") && !s.ends_with('\'') {
            return (format!("'''\n{s}'''"), true);
        }
        return (basic(s), false);
    }
    if plain_chars && !s.contains('\'') && (s.contains('"') || s.contains('\\')) && !s.contains('\t') {
        return (format!("'{s}'"), true);
    }
    let b = basic(s);
    let verbatim = b.len() == s.len() + 2;
    (b, verbatim)
}

/// A TOML basic string with escapes.
fn basic(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_take_their_most_readable_form_and_parse_back() {
        for s in ["plain", "echo \"hi\"", "it's", "a\\b", "two\nlines\n", "tab\there", "both ' and \"", "x'''y\n"] {
            let (literal, _) = string_literal(s);
            let doc: toml::Table = toml::from_str(&format!("k = {literal}")).expect("valid toml");
            assert_eq!(doc["k"].as_str(), Some(s), "{literal}");
        }
        assert_eq!(string_literal("echo \"hi\"").0, "'echo \"hi\"'");
        assert_eq!(string_literal("a\nb\n").0, "'''\na\nb\n'''");
        assert_eq!(key("ns:task"), "\"ns:task\"");
        assert_eq!(key("build-all_2"), "build-all_2");
    }

    #[test]
    fn documents_record_where_each_value_came_from() {
        let source = "tasks:\n  build:\n    cmds: [echo \"{{.V}}\"]\n";
        let cmd_at = source.find("echo").unwrap();
        let cmd = Val::str("echo \"{{.V}}\"", Some(cmd_at..cmd_at + 13));
        let mut table = Table {
            comments: vec!["Builds it.".into()],
            path: vec!["tasks".into(), "build".into()],
            origin: Some(10..15),
            entries: vec![Entry::new("cmds", Val::array(vec![cmd], None))],
            subtables: Vec::new(),
        };
        table.entries[0].key_origin = Some(22..26);
        let doc = Document { header: vec!["generated".into()], top: Vec::new(), tables: vec![table] };
        let written = doc.write(source);
        assert_eq!(written.text, "# generated\n\n# Builds it.\n[tasks.build]\ncmds = ['echo \"{{.V}}\"']\n");
        let v = written.text.find("{{.V}}").unwrap();
        let exact = written.origins.iter().find(|o| o.generated.contains(&v) && o.generated.len() == 13).unwrap();
        assert_eq!(&source[exact.source.clone()], "echo \"{{.V}}\"");
        assert!(toml::from_str::<toml::Table>(&written.text).is_ok());
    }
}
