//! [`Template`]: a parsed template, the entry point of the engine.

use super::ast::{Node, collect_root_vars};
use super::error::TemplateError;
use super::host::Host;
use super::scope::Scope;
use super::{parser, render};

/// What [`Template::render_lenient`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LenientRender {
    /// The rendered text.
    pub text: String,
    /// Each undefined variable printed as nothing (or given to a function as nil), with the byte
    /// range of its action in the template source.
    pub undefined: Vec<(String, std::ops::Range<usize>)>,
}

/// A parsed Go text/template: parse once, render many times.
#[derive(Debug, Clone)]
pub struct Template {
    src: String,
    nodes: Vec<Node>,
    /// No `{{` in the source: rendering returns it unchanged.
    literal: bool,
}

impl Template {
    /// Parses `src`. Errors carry the byte offset into `src`.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let literal = !src.contains("{{");
        let nodes = if literal { Vec::new() } else { parser::parse(src)? };
        Ok(Template { src: src.to_owned(), nodes, literal })
    }

    /// True when the source contains no `{{` actions (rendering returns it as is).
    pub fn is_literal(&self) -> bool {
        self.literal
    }

    /// The source the template was parsed from.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// Renders with variables from `scope`; functions that report facts
    /// about the machine (`env`, `now`, `OS`, ...) ask `host`.
    pub fn render(&self, scope: &mut dyn Scope, host: &dyn Host) -> Result<String, TemplateError> {
        self.render_all(scope, host).map_err(|mut errors| errors.swap_remove(0))
    }

    /// [`Template::render`], reporting every undefined variable that reaches the output (in
    /// order) rather than the first; any other error is the last of the list. Never an empty
    /// list.
    pub fn render_all(&self, scope: &mut dyn Scope, host: &dyn Host) -> Result<String, Vec<TemplateError>> {
        if self.literal {
            return Ok(self.src.clone());
        }
        render::render(&self.src, &self.nodes, scope, host, false).map(|(text, _)| text)
    }

    /// Renders like [`Template::render`], except that an undefined variable printed (or given
    /// to a function that refuses undefined values) is an empty string (nil for the function)
    /// instead of an error, as in go-task: the names printed so, with the byte range of each
    /// one's action in the source, come back with the text.
    pub fn render_lenient(&self, scope: &mut dyn Scope, host: &dyn Host) -> Result<LenientRender, TemplateError> {
        if self.literal {
            return Ok(LenientRender { text: self.src.clone(), undefined: Vec::new() });
        }
        render::render(&self.src, &self.nodes, scope, host, true)
            .map(|(text, undefined)| LenientRender { text, undefined })
            .map_err(|mut errors| errors.swap_remove(0))
    }

    /// The top-level variable names the template references (`.NAME` where
    /// dot is the root, `$.NAME`), in order of first use, deduplicated.
    pub fn referenced_vars(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_root_vars(&self.nodes, true, &mut out);
        out
    }
}
