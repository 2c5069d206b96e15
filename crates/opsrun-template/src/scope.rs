//! The variable source a template renders against.
//!
//! A trait rather than a map so the spec crate can evaluate variables lazily
//! (a var's own template is rendered on first lookup, cycles are detected
//! there) while tests and simple callers just pass a map.

use indexmap::IndexMap;

use super::value::Value;

/// Supplies the top-level variables (`.NAME`, `$.NAME`) of a render.
pub trait Scope {
    /// Looks up a top-level variable. `Ok(None)` means it is not defined;
    /// `Err(message)` means it is defined but evaluating it failed (its own
    /// template failed, or a cycle), which the render reports as
    /// `TemplateErrorKind::Lookup`.
    fn lookup(&mut self, name: &str) -> Result<Option<Value>, String>;
}

impl Scope for IndexMap<String, Value> {
    fn lookup(&mut self, name: &str) -> Result<Option<Value>, String> {
        Ok(self.get(name).cloned())
    }
}

impl<S: std::hash::BuildHasher> Scope for std::collections::HashMap<String, Value, S> {
    fn lookup(&mut self, name: &str) -> Result<Option<Value>, String> {
        Ok(self.get(name).cloned())
    }
}

/// A scope with no variables at all.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmptyScope;

impl Scope for EmptyScope {
    fn lookup(&mut self, _name: &str) -> Result<Option<Value>, String> {
        Ok(None)
    }
}
