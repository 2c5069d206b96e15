//! A Go `text/template` engine: the subset (and the sprig/go-task function
//! set) that Taskfiles use, with errors located by byte span.
//!
//! [`Template::parse`] lexes and parses once (unknown functions and
//! undeclared `$variables` fail here, as in Go); [`Template::render`]
//! evaluates against a [`Scope`], which supplies top-level variables lazily.
//! Undefined variables are values ([`Value::Undefined`]) that flow through
//! `default`, `if` and `eq`, and only become an error when printed, so
//! `{{.VERSION | default "1.0"}}` works while `{{.VERSOIN}}` is reported.
//!
//! ```
//! use indexmap::IndexMap;
//! use opsrun_spec::template::{Template, Value};
//!
//! let template = Template::parse(r#"v{{.VERSION | default "1.0"}}"#).unwrap();
//! let mut vars: IndexMap<String, Value> = IndexMap::new();
//! assert_eq!(template.render(&mut vars).unwrap(), "v1.0");
//! vars.insert("VERSION".into(), "2.1".into());
//! assert_eq!(template.render(&mut vars).unwrap(), "v2.1");
//! ```

mod ast;
mod compiled;
mod error;
mod functions;
mod lexer;
mod parser;
mod render;
mod scope;
mod time_layout;
mod value;

#[cfg(test)]
mod tests;

pub use compiled::Template;
pub use error::{TemplateError, TemplateErrorKind};
pub use scope::{EmptyScope, Scope};
pub use value::Value;
