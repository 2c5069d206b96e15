//! Template errors: a byte span into the template source plus a kind.
//!
//! Every error carries the span of the action or token that caused it, so the
//! caller can underline it in a diagnostic (the spec crate maps it onto the
//! span of the TOML string the template came from).

use std::ops::Range;

/// A failure to parse or render a template, located in the template source.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("{kind}")]
pub struct TemplateError {
    /// What went wrong.
    pub kind: TemplateErrorKind,
    /// Byte offset in the template source where the offending action or token starts.
    pub offset: usize,
    /// Length in bytes of the span to underline; always at least 1.
    pub len: usize,
}

impl TemplateError {
    /// Builds an error for the given span; an empty span is widened to one byte
    /// so that diagnostics always have something to underline.
    pub(crate) fn new(kind: TemplateErrorKind, span: Span) -> Self {
        TemplateError { kind, offset: span.start, len: span.len.max(1) }
    }

    /// Shorthand for a syntax error at `span`.
    pub(crate) fn syntax(message: impl Into<String>, span: Span) -> Self {
        Self::new(TemplateErrorKind::Syntax(message.into()), span)
    }

    /// The byte range of the template source this error points at.
    pub fn span(&self) -> Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// The kinds of template failure. Messages are lowercase fragments.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum TemplateErrorKind {
    /// The template text is malformed.
    #[error("{0}")]
    Syntax(String),
    /// An undefined variable reached the output (or a place that needs a value).
    #[error("undefined variable `{0}`")]
    UndefinedVariable(String),
    /// A call to a function that does not exist.
    #[error("unknown function `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownFunction {
        /// The name as written.
        name: String,
        /// The closest known function name, if one is close enough.
        suggestion: Option<String>,
    },
    /// A function rejected its arguments (wrong count, wrong type, out of range).
    #[error("error calling `{name}`: {message}")]
    Function {
        /// The function called.
        name: String,
        /// Why it failed.
        message: String,
    },
    /// Rendering went past a bound ([`MAX_OUTPUT`](crate::MAX_OUTPUT) bytes of output or
    /// [`MAX_STEPS`](crate::MAX_STEPS) steps): a runaway template is an error, not a hang or an
    /// exhausted machine.
    #[error("{0}")]
    Limit(String),
    /// The template called `fail`; the message is the user's own.
    #[error("{0}")]
    Fail(String),
    /// The scope knows the variable but could not evaluate it (its own
    /// template failed, or it is part of a cycle).
    #[error("cannot evaluate variable `{name}`: {message}")]
    Lookup {
        /// The variable looked up.
        name: String,
        /// The scope's reason.
        message: String,
    },
    /// A runtime error not tied to a function call: a field of a non-map,
    /// ranging over a scalar, using the root variable map as a value.
    #[error("{0}")]
    Eval(String),
}

/// A byte span in the template source; internal, converted into
/// `TemplateError::offset`/`len` at the API boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) len: usize,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Self {
        Span { start, len: end.saturating_sub(start) }
    }

    pub(crate) fn end(self) -> usize {
        self.start + self.len
    }

    pub(crate) fn range(self) -> std::ops::Range<usize> {
        self.start..self.end()
    }

    /// The smallest span covering both `self` and `other`.
    pub(crate) fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end().max(other.end()))
    }
}
