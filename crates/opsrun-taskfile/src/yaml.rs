//! The Taskfile as a tree of YAML nodes, each with its byte range in the file.
//!
//! `saphyr` parses (YAML 1.2, anchors and aliases resolved, duplicate keys refused); this module
//! turns its nodes into a small tree whose positions are byte offsets (saphyr counts
//! characters), resolves `<<` merge keys as go-task's YAML library does, and keeps each
//! scalar's text as written, so `version: 3.10` or `cmds: [true]` read as the strings go-task
//! sees.

use std::ops::Range;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, ScalarStyle, YamlData};

/// One YAML node and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Byte range in the file (for a collection, at least its first character).
    pub(crate) span: Range<usize>,
    pub(crate) kind: Kind,
}

/// What a node holds.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Scalar(ScalarValue),
    Seq(Vec<Node>),
    /// Entries in file order (merge keys already resolved).
    Map(Vec<(Node, Node)>),
}

/// A scalar: its text and the type YAML's core schema gives it.
#[derive(Debug, Clone)]
pub(crate) struct ScalarValue {
    /// The string value (for a number or boolean, as written).
    pub(crate) text: String,
    pub(crate) kind: ScalarKind,
}

/// The core-schema type of a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarKind {
    Null,
    Bool(bool),
    Int(i64),
    Float,
    Str,
}

impl Node {
    /// The scalar's text, for a scalar that is not null.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) if s.kind != ScalarKind::Null => Some(&s.text),
            _ => None,
        }
    }

    /// A sequence's items, or the node itself as the one item (go-task accepts `deps: a` for
    /// `deps: [a]`).
    pub(crate) fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(items) => items,
            _ => std::slice::from_ref(self),
        }
    }

    /// The map's entries, for a map.
    pub(crate) fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// True for `~`, `null` or nothing at all.
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar(s) if s.kind == ScalarKind::Null)
    }

    /// What a message calls this kind of node.
    pub(crate) fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar(s) => match s.kind {
                ScalarKind::Null => "nothing",
                ScalarKind::Bool(_) => "a boolean",
                ScalarKind::Int(_) | ScalarKind::Float => "a number",
                ScalarKind::Str => "a string",
            },
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a map",
        }
    }

    /// The value of `key` in a map.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }
}

/// A YAML syntax error: its message and where.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) message: String,
    pub(crate) at: Range<usize>,
}

/// Parses the first document of `text` (an empty file is a null node).
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let offsets = Offsets::new(text);
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        let at = offsets.byte(e.marker().index());
        SyntaxError { message: e.info().to_string(), at: at..(at + 1).min(text.len()).max(at) }
    })?;
    let Some(doc) = docs.into_iter().next() else {
        return Ok(Node {
            span: 0..0,
            kind: Kind::Scalar(ScalarValue { text: String::new(), kind: ScalarKind::Null }),
        });
    };
    Ok(convert(&doc, text, &offsets, 0))
}

/// How deep nesting may go before the rest is read as null (a defence against hostile input;
/// real Taskfiles are a dozen levels deep at most).
const MAX_DEPTH: usize = 256;

fn convert(node: &MarkedYaml<'_>, text: &str, offsets: &Offsets, depth: usize) -> Node {
    let start = offsets.byte(node.span.start.index());
    let end = offsets.byte(node.span.end.index()).max(start);
    let span = start..end;
    let null = || Kind::Scalar(ScalarValue { text: String::new(), kind: ScalarKind::Null });
    if depth > MAX_DEPTH {
        return Node { span, kind: null() };
    }
    let kind = match &node.data {
        YamlData::Value(scalar) => Kind::Scalar(scalar_value(scalar, text.get(span.clone()).unwrap_or(""))),
        YamlData::Representation(value, style, _) => Kind::Scalar(represent(value, *style)),
        YamlData::Sequence(items) => Kind::Seq(items.iter().map(|i| convert(i, text, offsets, depth + 1)).collect()),
        YamlData::Mapping(map) => {
            let mut entries: Vec<(Node, Node)> = Vec::new();
            let mut merged: Vec<(Node, Node)> = Vec::new();
            for (k, v) in map {
                let key = convert(k, text, offsets, depth + 1);
                let value = convert(v, text, offsets, depth + 1);
                if key.as_str() == Some("<<") {
                    // A merge key: the mapping's own keys win over merged ones, and of several
                    // merged maps the first wins (YAML 1.1, which go-task's parser follows).
                    let sources = match value.kind {
                        Kind::Map(m) => vec![m],
                        Kind::Seq(items) => items
                            .into_iter()
                            .filter_map(|i| match i.kind {
                                Kind::Map(m) => Some(m),
                                _ => None,
                            })
                            .collect(),
                        Kind::Scalar(_) => Vec::new(),
                    };
                    for source in sources {
                        for (mk, mv) in source {
                            if !merged.iter().any(|(k, _)| k.as_str() == mk.as_str()) {
                                merged.push((mk, mv));
                            }
                        }
                    }
                    continue;
                }
                entries.push((key, value));
            }
            for (mk, mv) in merged {
                if !entries.iter().any(|(k, _)| k.as_str().is_some() && k.as_str() == mk.as_str()) {
                    entries.push((mk, mv));
                }
            }
            Kind::Map(entries)
        }
        YamlData::Tagged(_, inner) => return convert(inner, text, offsets, depth + 1),
        YamlData::Alias(_) | YamlData::BadValue => null(),
    };
    // A block collection's end marker is the next token (often lines further down): it ends
    // where its last child does.
    let last = match &kind {
        Kind::Seq(items) => items.iter().map(|i| i.span.end).max(),
        Kind::Map(entries) => entries.iter().map(|(k, v)| k.span.end.max(v.span.end)).max(),
        Kind::Scalar(_) => None,
    };
    let span = match last {
        Some(end) if end > span.start && end < span.end => {
            // A flow collection keeps its closing bracket.
            let closing = text.get(end..span.end).and_then(|t| t.trim_start().chars().next());
            let end = if matches!(closing, Some(']' | '}')) {
                end + text[end..].find(['}', ']']).unwrap_or(0) + 1
            } else {
                end
            };
            span.start..end
        }
        _ => span,
    };
    Node { span, kind }
}

/// A parsed scalar; numbers and booleans keep their text as written.
fn scalar_value(scalar: &Scalar<'_>, written: &str) -> ScalarValue {
    let as_written = |fallback: String| {
        let w = written.trim();
        if w.is_empty() { fallback } else { w.to_string() }
    };
    match scalar {
        Scalar::Null => ScalarValue { text: String::new(), kind: ScalarKind::Null },
        Scalar::Boolean(b) => ScalarValue { text: as_written(b.to_string()), kind: ScalarKind::Bool(*b) },
        Scalar::Integer(i) => ScalarValue { text: as_written(i.to_string()), kind: ScalarKind::Int(*i) },
        Scalar::FloatingPoint(f) => ScalarValue { text: as_written(f.to_string()), kind: ScalarKind::Float },
        Scalar::String(s) => ScalarValue { text: s.to_string(), kind: ScalarKind::Str },
    }
}

/// A scalar saphyr left unparsed: plain ones typed by the core schema, quoted ones strings.
fn represent(value: &str, style: ScalarStyle) -> ScalarValue {
    if style != ScalarStyle::Plain {
        return ScalarValue { text: value.to_string(), kind: ScalarKind::Str };
    }
    let kind = match value {
        "" | "~" | "null" | "Null" | "NULL" => ScalarKind::Null,
        "true" | "True" | "TRUE" => ScalarKind::Bool(true),
        "false" | "False" | "FALSE" => ScalarKind::Bool(false),
        v => match v.parse::<i64>() {
            Ok(i) => ScalarKind::Int(i),
            Err(_) if v.parse::<f64>().is_ok() => ScalarKind::Float,
            Err(_) => ScalarKind::Str,
        },
    };
    ScalarValue { text: value.to_string(), kind }
}

/// Character index → byte offset (saphyr's markers count characters).
struct Offsets {
    /// The byte offset of each character, when the text is not ASCII.
    bytes: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let bytes = (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect());
        Self { bytes, len: text.len() }
    }

    fn byte(&self, index: usize) -> usize {
        match &self.bytes {
            None => index.min(self.len),
            Some(b) => b.get(index).copied().unwrap_or(self.len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_byte_ranges_and_scalars_their_text() {
        let text = "version: '3'\ntasks:\n  é: {cmds: [true, echo hi]}\n  b: |\n    echo one\n";
        let root = parse(text).expect("valid yaml");
        let tasks = root.get("tasks").expect("tasks");
        let (key, value) = &tasks.as_map().expect("a map")[0];
        assert_eq!(&text[key.span.clone()], "é");
        let cmds = value.get("cmds").expect("cmds");
        let Kind::Seq(items) = &cmds.kind else { panic!("a list") };
        assert_eq!(items[0].as_str(), Some("true"));
        assert_eq!(&text[items[1].span.clone()], "echo hi");
        assert_eq!(tasks.get("b").and_then(Node::as_str), Some("echo one\n"));
        assert_eq!(root.get("version").and_then(Node::as_str), Some("3"));
    }

    #[test]
    fn merge_keys_fill_in_missing_keys_only() {
        let text = "base: &b {silent: true, dir: x}\ntask:\n  <<: *b\n  dir: y\n";
        let root = parse(text).expect("valid yaml");
        let task = root.get("task").expect("task");
        assert_eq!(task.get("dir").and_then(Node::as_str), Some("y"));
        assert_eq!(task.get("silent").and_then(Node::as_str), Some("true"));
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse("tasks:\n  a: [unclosed\n").expect_err("invalid");
        assert!(err.at.start > 0, "{err:?}");
        let err = parse("a: 1\na: 2\n").expect_err("duplicate key");
        assert!(!err.message.is_empty());
    }
}
