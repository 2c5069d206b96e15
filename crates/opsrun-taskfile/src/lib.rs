//! `opsrun-taskfile`: a go-task v3 `Taskfile.yml` → `tasks.toml`, the one conversion behind
//! `opsrun import` and reading a Taskfile directly.
//!
//! [`convert`] reads a Taskfile and every file it includes (with `saphyr`, keeping positions),
//! and writes one `tasks.toml` document per file ([`ConvertedFile`]): every go-task key mapped
//! to its `tasks.toml` form, the file-level settings that keep go-task's behaviour for the
//! unchanged tasks (`run = "always"`, `undefined_vars = "empty"`, `background = "keep"`),
//! `task X` commands rewritten into `{ task = "X" }` calls ([`Rewrite`]), and everything that
//! cannot be expressed reported as a located warning. [`Layout`] decides only where the
//! documents live and how their includes name each other:
//!
//! - [`Layout::Direct`]: each document stands in for its Taskfile (same path), and [`load`]
//!   hands them to [`opsrun_spec::load_generated`], so a Taskfile is validated and run by the
//!   same loader as a `tasks.toml`, with every error shown at its line in the YAML;
//! - [`Layout::Import`]: each document is written next to its Taskfile (`tasks.toml` for a
//!   `Taskfile.yml`, `NAME.toml` for `NAME.yml`), deterministically.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let taskfile = dir.path().join("Taskfile.yml");
//! std::fs::write(&taskfile, "version: '3'\ntasks:\n  build:\n    cmds: [echo building]\n  all:\n    cmds: [task build]\n")?;
//! let loaded = opsrun_taskfile::load(&taskfile)?;
//! assert!(loaded.spec.task("build").is_some());
//! // `task build` became a call of the task.
//! assert_eq!(loaded.conversion.rewrites.len(), 1);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod convert;
mod project;
mod toml_out;
mod yaml;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use opsrun_spec::{Diagnostic, GeneratedFile, Origin, Severity, SourceMap, Spec, SpecError, render_diagnostics};

pub use convert::Rewrite;

use crate::convert::{FileContext, convert_file};
use crate::project::{Project, Target, relative};

/// The names go-task looks for in a directory, in its order.
pub const TASKFILE_NAMES: &[&str] = &[
    "Taskfile.yml",
    "taskfile.yml",
    "Taskfile.yaml",
    "taskfile.yaml",
    "Taskfile.dist.yml",
    "taskfile.dist.yml",
    "Taskfile.dist.yaml",
    "taskfile.dist.yaml",
];

/// True for a file opsrun reads as a Taskfile (a `.yml` or `.yaml` file).
pub fn is_taskfile(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// The project file for `start`: in `start` and then each parent, a `tasks.toml` (or any of
/// [`opsrun_spec::DEFAULT_FILE_NAMES`]) first, then a Taskfile in go-task's order; the first
/// found wins.
pub fn find_project_file(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        opsrun_spec::DEFAULT_FILE_NAMES.iter().chain(TASKFILE_NAMES).map(|name| dir.join(name)).find(|p| p.is_file())
    })
}

/// Where converted documents live.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layout {
    /// In memory, each in place of its Taskfile (includes name the Taskfiles).
    Direct,
    /// Written to disk: the root to `output`, each included file next to its Taskfile.
    Import {
        /// The root document's path (`tasks.toml` next to the Taskfile by default).
        output: PathBuf,
    },
}

/// One converted file.
#[derive(Debug, Clone)]
pub struct ConvertedFile {
    /// The Taskfile it was converted from.
    pub taskfile: PathBuf,
    /// Where the document goes ([`Layout::Direct`]: the Taskfile's own path).
    pub output: PathBuf,
    /// The `tasks.toml` text.
    pub text: String,
    /// The Taskfile's text.
    pub original: String,
    /// Which ranges of `text` were written for which ranges of `original`.
    pub origins: Vec<Origin>,
}

/// A converted project: its documents and what the conversion has to say.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// The root first, then each included file once, in include order.
    pub files: Vec<ConvertedFile>,
    /// What could not be expressed (file, line, key), as warnings.
    pub warnings: Vec<Diagnostic>,
    /// Hand-rolled phases noticed, with what to use instead (notes).
    pub suggestions: Vec<Diagnostic>,
    /// Every `task X` command: rewritten into a call, or kept with the reason.
    pub rewrites: Vec<Rewrite>,
    /// Every task `task --list-all` would list (full names, internal ones left out).
    pub listed: Vec<String>,
    sources: Arc<SourceMap>,
}

impl Conversion {
    /// The warnings, rendered like `tasks.toml` errors (`file:line:column`, snippet, help).
    pub fn render_warnings(&self, color: bool) -> String {
        render_diagnostics(&self.warnings, &self.sources, color)
    }

    /// The whole import report: rewrites, suggestions and warnings.
    pub fn report(&self, color: bool) -> String {
        let mut out = String::new();
        let rewritten: Vec<&Rewrite> = self.rewrites.iter().filter(|r| r.call.is_some()).collect();
        let kept: Vec<&Rewrite> = self.rewrites.iter().filter(|r| r.call.is_none()).collect();
        let place = |r: &Rewrite| {
            let (line, col) = self.sources.line_col(r.location.file, r.location.span.start);
            format!("{}:{line}:{col}", self.display_path(r.location.file))
        };
        if !rewritten.is_empty() {
            let _ = writeln!(out, "rewrote {} `task` command(s) into calls:", rewritten.len());
            for r in &rewritten {
                let _ = writeln!(out, "  {}: `{}` → {}", place(r), r.command, r.call.as_deref().unwrap_or_default());
            }
        }
        if !kept.is_empty() {
            let _ = writeln!(out, "kept {} `task` command(s) as commands (they run the `task` on PATH):", kept.len());
            for r in &kept {
                let _ = writeln!(out, "  {}: `{}`: {}", place(r), r.command, r.reason.as_deref().unwrap_or_default());
            }
        }
        for block in [&self.suggestions, &self.warnings] {
            if !block.is_empty() {
                let _ = writeln!(out, "{}", render_diagnostics(block, &self.sources, color));
            }
        }
        out
    }

    fn display_path(&self, file: opsrun_spec::FileId) -> String {
        let path = self.sources.path(file);
        let root = self.files.first().and_then(|f| f.taskfile.parent()).unwrap_or(Path::new("/"));
        path.strip_prefix(root).unwrap_or(path).display().to_string()
    }

    /// The documents as the loader takes them.
    pub fn generated_files(&self) -> Vec<GeneratedFile> {
        self.files
            .iter()
            .map(|f| GeneratedFile {
                path: f.output.clone(),
                original_path: f.taskfile.clone(),
                original: f.original.clone(),
                text: f.text.clone(),
                origins: f.origins.clone(),
            })
            .collect()
    }

    /// The warnings as errors (`--strict`), or `Ok` when there are none.
    pub fn strict(&self) -> Result<(), SpecError> {
        if self.warnings.is_empty() {
            return Ok(());
        }
        let errors = self.warnings.iter().map(|w| Diagnostic { severity: Severity::Error, ..w.clone() }).collect();
        Err(SpecError::new(errors, Arc::clone(&self.sources)))
    }
}

/// Converts the Taskfile at `root` and every file it includes.
pub fn convert(root: &Path, layout: &Layout) -> Result<Conversion, SpecError> {
    let project = Project::read(root).map_err(|(diags, sources)| SpecError::new(diags, Arc::new(sources)))?;
    let outputs: Vec<PathBuf> = project
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| match layout {
            Layout::Direct => f.path.clone(),
            Layout::Import { output } if i == 0 => {
                project::normalise(&std::path::absolute(output).unwrap_or_else(|_| output.clone()))
            }
            Layout::Import { .. } => output_for(&f.path),
        })
        .collect();
    let mut warnings = project.warnings.clone();
    let mut errors = Vec::new();
    let mut suggestions = Vec::new();
    let mut rewrites = Vec::new();
    let mut files = Vec::new();
    for (i, file) in project.files.iter().enumerate() {
        let out_dir = outputs[i].parent().map(Path::to_path_buf).unwrap_or_default();
        let include_paths = project.includes[i]
            .iter()
            .map(|(ns, target)| match target {
                Target::File(j) => (ns.clone(), Some(relative(&out_dir, &outputs[*j])), false),
                Target::Missing(path) => {
                    let to = if matches!(layout, Layout::Direct) { path.clone() } else { output_for(path) };
                    (ns.clone(), Some(relative(&out_dir, &to)), true)
                }
                Target::Skipped => (ns.clone(), None, false),
            })
            .collect();
        let ctx = FileContext {
            id: file.id,
            text: &file.text,
            display_name: file.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            included: i > 0,
            runs_in_root: file.runs_in_root,
            names: &project.names,
            include_paths,
            namespaces: &file.namespaces,
        };
        let converted = convert_file(&file.root, &ctx);
        warnings.extend(converted.warnings);
        errors.extend(converted.errors);
        suggestions.extend(converted.suggestions);
        rewrites.extend(converted.rewrites);
        let written = converted.document.write(&file.text);
        files.push(ConvertedFile {
            taskfile: file.path.clone(),
            output: outputs[i].clone(),
            text: written.text,
            original: file.text.clone(),
            origins: written.origins,
        });
    }
    let sources = Arc::new(project.sources);
    if !errors.is_empty() {
        return Err(SpecError::new(errors, sources));
    }
    Ok(Conversion { files, warnings, suggestions, rewrites, listed: project.listed.into_iter().collect(), sources })
}

/// Where `opsrun import` writes the document of an included Taskfile: `tasks.toml` for a
/// Taskfile named as go-task looks for it, else the same name with `.toml`.
pub fn output_for(taskfile: &Path) -> PathBuf {
    let name = taskfile.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if TASKFILE_NAMES.contains(&name.as_str()) {
        taskfile.with_file_name("tasks.toml")
    } else {
        taskfile.with_extension("toml")
    }
}

/// A Taskfile read directly: the spec, and the conversion it was loaded through (for its
/// warnings).
#[derive(Debug)]
pub struct Loaded {
    /// The spec, as the loader validated it.
    pub spec: Spec,
    /// The conversion (documents, warnings, rewrites).
    pub conversion: Conversion,
}

/// Reads a Taskfile (and its includes) as a spec: converted in memory, then loaded by the one
/// `tasks.toml` loader; errors point at the YAML.
pub fn load(path: &Path) -> Result<Loaded, SpecError> {
    let conversion = convert(path, &Layout::Direct)?;
    let root = conversion.files.first().map_or_else(|| path.to_path_buf(), |f| f.output.clone());
    let spec = opsrun_spec::load_generated(&root, conversion.generated_files())?;
    Ok(Loaded { spec, conversion })
}
