//! Errors in user input, rendered as `file:line:column` with a snippet, a caret and help.
//!
//! Every error a user can cause by writing `tasks.toml` (or a variable on the command line) is a
//! [`SpecError`]: one or more [`Diagnostic`]s plus the [`SourceMap`] they point into. Rendering
//! is done by `codespan-reporting`, which owns line/column arithmetic and snippet layout.
//!
//! A file can also be *generated* from another (a `Taskfile.yml` converted to TOML in memory):
//! the loader parses the generated text, and every location is shown in the original through
//! the file's [`Origin`]s, so an error in a converted Taskfile points at its YAML line.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::{Files, SimpleFiles};
use codespan_reporting::term::{self, Config};

/// Index of a file in a [`SourceMap`].
pub type FileId = usize;

/// The text of every file read while loading a spec, kept for error snippets.
#[derive(Default)]
pub struct SourceMap {
    /// What snippets show: the file as the user wrote it.
    files: SimpleFiles<String, String>,
    paths: Vec<PathBuf>,
    /// For a generated file, the text the loader parsed (locations are offsets into it) and the
    /// origins that map them back to the shown text.
    generated: Vec<Option<(String, Vec<Origin>)>>,
}

/// Where a piece of a generated file came from: `generated` (a byte range of the generated
/// text) was written for `source` (a byte range of the original file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The range in the generated text.
    pub generated: Range<usize>,
    /// The range in the original text.
    pub source: Range<usize>,
}

/// A file written by a converter for another file: the loader reads `text` as if it were the
/// file at `path`, and shows `original` in messages.
#[derive(Debug, Clone)]
pub struct GeneratedFile {
    /// The path the loader knows the document by (includes name it; `{{.TASKFILE}}`),
    /// absolute.
    pub path: PathBuf,
    /// The original file (for example a `Taskfile.yml`), shown in messages.
    pub original_path: PathBuf,
    /// The original file's text, shown in snippets.
    pub original: String,
    /// The generated `tasks.toml` text the loader parses.
    pub text: String,
    /// Ranges of `text` and the ranges of `original` they were written for.
    pub origins: Vec<Origin>,
}

impl fmt::Debug for SourceMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceMap").field("paths", &self.paths).finish_non_exhaustive()
    }
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: &Path, text: String) -> FileId {
        self.paths.push(path.to_path_buf());
        self.generated.push(None);
        self.files.add(path.display().to_string(), text)
    }

    /// Adds a generated file: [`SourceMap::text`] is the generated text, snippets show the
    /// original.
    pub fn add_generated(&mut self, file: GeneratedFile) -> FileId {
        let mut origins = file.origins;
        origins.sort_by_key(|o| (o.generated.start, std::cmp::Reverse(o.generated.end)));
        self.paths.push(file.original_path.clone());
        self.generated.push(Some((file.text, origins)));
        self.files.add(file.original_path.display().to_string(), file.original)
    }

    /// The path of a file.
    pub fn path(&self, id: FileId) -> &Path {
        &self.paths[id]
    }

    /// The text of a file as the loader parsed it (for a generated file, the generated text).
    pub fn text(&self, id: FileId) -> &str {
        if let Some(Some((text, _))) = self.generated.get(id) {
            return text;
        }
        self.files.get(id).map_or("", |f| f.source().as_str())
    }

    /// `(line, column)`, both 1-based, of a byte offset into [`SourceMap::text`] (for a generated
    /// file, in the original).
    pub fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        let offset = self.shown_span(id, offset..offset).start;
        let Ok(line) = self.files.line_index(id, offset) else {
            return (1, 1);
        };
        let col = self.files.column_number(id, line, offset).unwrap_or(1);
        (line + 1, col)
    }

    /// The range of the shown file a range of [`SourceMap::text`] stands for: itself for a file
    /// read as is; for a generated file, the original range of the narrowest origin holding its
    /// start (shifted into it when the origin was copied byte for byte).
    pub fn shown_span(&self, id: FileId, span: Range<usize>) -> Range<usize> {
        let Some(Some((text, origins))) = self.generated.get(id) else {
            return span;
        };
        let best = origins
            .iter()
            .filter(|o| o.generated.start <= span.start && span.start < o.generated.end.max(o.generated.start + 1))
            .min_by_key(|o| o.generated.len());
        let Some(origin) = best.or_else(|| origins.iter().rev().find(|o| o.generated.start <= span.start)) else {
            return 0..0;
        };
        let original = self.files.get(id).map_or("", |f| f.source().as_str());
        let copied = text.get(origin.generated.clone()) == original.get(origin.source.clone());
        if copied && span.start >= origin.generated.start {
            let start = origin.source.start + (span.start - origin.generated.start);
            let end = (start + span.len()).min(origin.source.end).max(start);
            return start..end;
        }
        origin.source.clone()
    }
}

/// A place in a source file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file.
    pub file: FileId,
    /// Byte range in the file.
    pub span: Range<usize>,
}

/// Whether a diagnostic stops the load or only informs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Severity {
    /// Something is wrong: nothing runs.
    #[default]
    Error,
    /// Worth knowing, not wrong (a Taskfile key opsrun cannot express, an undefined variable
    /// printed as an empty string).
    Warning,
    /// A suggestion (a better way to write something).
    Note,
}

/// One problem, optionally tied to a place in a file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, as a lowercase sentence fragment.
    pub message: String,
    /// Where, when known.
    pub location: Option<Location>,
    /// The text under the caret, e.g. "expected a duration like `30s`".
    pub label: String,
    /// Suggestions, each rendered as `help: ...`.
    pub help: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic without a location.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            label: String::new(),
            help: Vec::new(),
        }
    }

    /// A warning without a location.
    pub fn warning(message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::new(message) }
    }

    /// Points the diagnostic at a place.
    #[must_use]
    pub fn at(mut self, location: Location, label: impl Into<String>) -> Self {
        self.location = Some(location);
        self.label = label.into();
        self
    }

    /// Adds a `help:` line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }
}

/// An error in the user's spec: one or more diagnostics and the sources they point into.
#[derive(Clone)]
pub struct SpecError {
    /// The problems found; at least one.
    pub diagnostics: Vec<Diagnostic>,
    sources: Arc<SourceMap>,
}

impl SpecError {
    /// Wraps diagnostics with the sources they refer to.
    pub fn new(diagnostics: Vec<Diagnostic>, sources: Arc<SourceMap>) -> Self {
        Self { diagnostics, sources }
    }

    /// One error with the diagnostics of all of `errors`, in order, without repeating one
    /// (the same problem reached through two paths). `None` for no errors.
    pub fn merge(errors: Vec<SpecError>) -> Option<SpecError> {
        let mut errors = errors.into_iter();
        let mut merged = errors.next()?;
        for e in errors {
            for d in e.diagnostics {
                if !merged.diagnostics.iter().any(|m| m.message == d.message) {
                    merged.diagnostics.push(d);
                }
            }
        }
        Some(merged)
    }

    /// An error with no file to point into (for example, a file that cannot be read).
    pub fn plain(message: impl Into<String>) -> Self {
        Self::new(vec![Diagnostic::new(message)], Arc::new(SourceMap::default()))
    }

    /// Renders every diagnostic like rustc does, with ANSI colours when `color` is set.
    pub fn render(&self, color: bool) -> String {
        render_diagnostics(&self.diagnostics, &self.sources, color)
    }

    /// The first diagnostic's `file:line:column`, if it has a location.
    pub fn position(&self) -> Option<(PathBuf, usize, usize)> {
        let loc = self.diagnostics.first()?.location.as_ref()?;
        let (line, col) = self.sources.line_col(loc.file, loc.span.start);
        Some((self.sources.path(loc.file).to_path_buf(), line, col))
    }

    /// The sources the diagnostics point into.
    pub fn sources(&self) -> &Arc<SourceMap> {
        &self.sources
    }
}

/// Renders diagnostics (errors and warnings) like rustc does, with ANSI colours when `color` is
/// set; locations in generated files are shown in their originals.
pub fn render_diagnostics(diagnostics: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let mut out = codespan_reporting::term::termcolor::Buffer::no_color();
    let mut colored = codespan_reporting::term::termcolor::Buffer::ansi();
    let buffer = if color { &mut colored } else { &mut out };
    let config = Config::default();
    for d in diagnostics {
        let mut cs = match d.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
            Severity::Note => CsDiagnostic::note(),
        }
        .with_message(&d.message);
        if let Some(loc) = &d.location {
            let span = sources.shown_span(loc.file, loc.span.clone());
            cs = cs.with_labels(vec![Label::primary(loc.file, span).with_message(&d.label)]);
        }
        cs = cs.with_notes(d.help.iter().map(|h| format!("help: {h}")).collect());
        // Rendering into memory cannot fail except on a bad span, which we clamp on creation.
        let _ = term::emit(buffer, &config, &sources.files, &cs);
    }
    String::from_utf8_lossy(buffer.as_slice()).trim_end().to_string()
}

impl fmt::Debug for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for SpecError {}

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
///
/// Closeness is the edit distance (a typo is a few edits away), ties broken by the smaller
/// length difference and then by Jaro-Winkler similarity; `cmdz` suggests `cmds`, not `cmd`.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    let max_edits = (word.chars().count() / 3).max(1);
    let close = candidates
        .iter()
        .copied()
        .filter_map(|c| {
            let edits = strsim::damerau_levenshtein(word, c);
            let similar = strsim::jaro_winkler(word, c);
            (edits <= max_edits || similar > 0.9).then_some((edits, word.len().abs_diff(c.len()), -similar, c))
        })
        .min_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)))
        .map(|(_, _, _, c)| c);
    // An abbreviation or a longer spelling (`comands` → `cmds`, `description` → `desc`): one
    // is the other with letters left out.
    close.or_else(|| {
        candidates
            .iter()
            .copied()
            .filter(|c| c.len() >= 3 && (is_subsequence(c, word) || is_subsequence(word, c)))
            .min_by_key(|c| c.len().abs_diff(word.len()))
    })
}

/// True when the characters of `short` appear in `long` in order.
fn is_subsequence(short: &str, long: &str) -> bool {
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

/// Turns serde's "unknown field `x`, expected one of `a`, `b`" into a help line.
pub(crate) fn unknown_field_help(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    match did_you_mean(field, expected.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None if !expected.is_empty() => Some(format!(
            "valid keys here: {}",
            expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
        )),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_field() {
        let help = unknown_field_help("unknown field `cmdz`, expected one of `desc`, `cmds`, `deps`");
        assert_eq!(help.as_deref(), Some("did you mean `cmds`?"));
    }

    #[test]
    fn prefers_the_candidate_of_the_same_length_on_equal_edits() {
        assert_eq!(did_you_mean("cmdz", ["cmd", "cmds", "deps"]), Some("cmds"));
        assert_eq!(did_you_mean("boostrap", ["bootstrap", "status"]), Some("bootstrap"));
        assert_eq!(did_you_mean("zzzz", ["bootstrap", "status"]), None);
        assert_eq!(did_you_mean("comands", ["desc", "cmd", "cmds", "deps"]), Some("cmds"));
        assert_eq!(did_you_mean("description", ["desc", "deps", "dir"]), Some("desc"));
    }

    #[test]
    fn lists_fields_when_nothing_is_close() {
        let help = unknown_field_help("unknown field `zzzzzz`, expected `desc` or `targets`");
        assert_eq!(help.as_deref(), Some("valid keys here: `desc`, `targets`"));
    }
}
