//! `opsrun-template`: a Go `text/template` engine with the sprig and go-task
//! functions Taskfiles use, whose errors are located by byte span.
//!
//! [`Template::parse`] lexes and parses once (unknown functions and
//! undeclared `$variables` fail here, as in Go); [`Template::render`]
//! evaluates against a [`Scope`], which supplies top-level variables lazily,
//! on a [`Host`], which answers the functions that report facts about the
//! machine (`env`, `now`, `date`, `OS`, `ARCH`, `exeExt`, `numCPU`).
//! [`SystemHost`] is the real process; callers with their own notion of the
//! environment, and tests, pass their own. The crate does no I/O of its own.
//!
//! Undefined variables are values ([`Value::Undefined`]) that flow through
//! `default`, `if` and `eq`, and only become an error when printed, so
//! `{{.VERSION | default "1.0"}}` works while `{{.VERSOIN}}` is reported as a
//! [`TemplateError`] whose `offset` and `len` point at the action.
//!
//! ```
//! use indexmap::IndexMap;
//! use opsrun_template::{SystemHost, Template, TemplateErrorKind, Value};
//!
//! let template = Template::parse(r#"v{{.VERSION | default "1.0"}}"#)?;
//! let mut vars: IndexMap<String, Value> = IndexMap::new();
//! assert_eq!(template.render(&mut vars, &SystemHost)?, "v1.0");
//! vars.insert("VERSION".into(), "2.1".into());
//! assert_eq!(template.render(&mut vars, &SystemHost)?, "v2.1");
//!
//! // A misspelt variable is an error pointing at its action, never "".
//! let err = Template::parse("ship {{.VERSOIN}}")?.render(&mut vars, &SystemHost).unwrap_err();
//! assert_eq!(err.kind, TemplateErrorKind::UndefinedVariable("VERSOIN".into()));
//! assert_eq!(err.span(), 5..17);
//! # Ok::<(), opsrun_template::TemplateError>(())
//! ```

#![warn(missing_docs)]

mod ast;
mod compiled;
mod error;
mod functions;
mod host;
mod lexer;
mod parser;
mod render;
mod scope;
mod time_layout;
mod value;

#[cfg(test)]
mod tests;

pub use compiled::{LenientRender, Template};
pub use error::{TemplateError, TemplateErrorKind};
pub use host::{Host, SystemHost, go_arch, go_os};
pub use render::{MAX_OUTPUT, MAX_STEPS};
pub use scope::{EmptyScope, Scope};
pub use value::Value;
