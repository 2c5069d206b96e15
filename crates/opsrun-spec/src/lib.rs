//! `opsrun-spec`: `tasks.toml` → a validated [`Spec`].
//!
//! This crate owns the first step of opsrun's data path: reading the tasks file and its
//! includes ([`load`]), reporting every mistake with `file:line:column`, a snippet and a
//! suggestion ([`SpecError`]), and rendering tasks for one invocation with go-task–compatible
//! templates ([`Resolver`], [`template`]).
//!
//! ```
//! use std::path::Path;
//! use opsrun_spec::{Invocation, Resolver, ResolvedCmdKind};
//!
//! let spec = opsrun_spec::load_str(
//!     Path::new("/tmp/demo/tasks.toml"),
//!     r#"
//!     vars = { CLUSTER = "home-ops" }
//!     [tasks.hello]
//!     desc = "Say hello"
//!     cmds = ["echo hello {{.CLUSTER}} {{.WHO | default \"world\"}}"]
//!     "#,
//! )?;
//! let resolver = Resolver::new(&spec, Invocation::default());
//! let task = resolver.resolve("hello", &Default::default())?;
//! assert_eq!(task.cmds[0].kind, ResolvedCmdKind::Shell("echo hello home-ops world".into()));
//! # Ok::<(), opsrun_spec::SpecError>(())
//! ```

#![warn(missing_docs)]

pub mod build;
/// The Go-template engine (the `opsrun-template` crate), re-exported so that
/// `opsrun_spec::template::Value` names the values the resolver works with.
pub use opsrun_template as template;

mod diagnostic;
mod duration;
mod files;
mod load;
mod mask;
mod model;
mod raw;
mod resolve;

pub use diagnostic::{
    Diagnostic, FileId, GeneratedFile, Location, Origin, Severity, SourceMap, SpecError, did_you_mean,
    render_diagnostics,
};
pub use duration::{format_duration, parse_duration};
pub use files::{FileStamp, MatchedFile, matched_files, matching_files};
pub use load::{DEFAULT_FILE_NAMES, find_tasks_file, load, load_generated, load_str};
pub use mask::{MASK, MIN_SECRET, MIN_SECRET_LINE, Masker};
pub use model::{
    Background, Backoff, Cmd, CmdKind, Dep, DurationSpec, FileScope, FileSettings, ForSpec, GitopsConfig, HealthSpec,
    MatrixRow, Method, Needs, OutputSetting, Pipeline, Platform, Precondition, ProbeSpec, Requirement, Retries,
    RunPolicy, Spec, Task, TaskRef, Tmpl, UndefinedVars, VarDef, VarValue, host_arch, host_os, wildcard_captures,
};
pub use resolve::{
    DYNAMIC_VAR_TIMEOUT, DynamicEnv, EXIT_CODE_PLACEHOLDER, Invocation, ResolvedCmd, ResolvedCmdKind, ResolvedDep,
    ResolvedHealth, ResolvedNeeds, ResolvedOutput, ResolvedProbe, ResolvedTask, Resolver, invocation_key, looks_secret,
};

/// The JSON Schema (draft 7, which taplo / Even Better TOML read) of `tasks.toml`, generated from
/// the serde types that parse it, so the two cannot drift: every key, its type, what it may be
/// (a string or a table), the unknown keys refused, and a description from the reference for
/// each. Editors read it through a `#:schema` directive (`opsrun schema`).
#[cfg(feature = "schema")]
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<raw::RawFile>();
    schema.insert("title".into(), "tasks.toml".into());
    schema.insert(
        "description".into(),
        "An opsrun tasks file: tasks (a DAG with health gates), variables, includes, pipelines.".into(),
    );
    schema.to_value()
}
