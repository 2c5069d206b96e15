//! Reading a Taskfile and every file it includes: parsing each once, resolving include paths as
//! go-task does (a directory means its Taskfile; `{{.ROOT_DIR}}`/`{{.TASKFILE_DIR}}` in a path),
//! refusing cycles, and naming every task the project has (`ns:task`, aliases, flattened and
//! excluded includes), which the `task X` rewrite checks against.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use opsrun_spec::{Diagnostic, FileId, Location, SourceMap};

use crate::TASKFILE_NAMES;
use crate::yaml::{self, Kind, Node};

/// One Taskfile read.
pub(crate) struct SourceFile {
    /// Absolute, normalised.
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    pub(crate) root: Node,
    pub(crate) id: FileId,
    /// Every inclusion of this file runs its tasks in the root directory (no include `dir`
    /// anywhere on the way), so a `task X` in its commands finds the root Taskfile.
    pub(crate) runs_in_root: bool,
    /// The namespaces its tasks get (`""` for the root; several when included several times or
    /// with aliases): where a task name written in it is looked up.
    pub(crate) namespaces: Vec<String>,
}

/// How one `includes` entry resolved.
pub(crate) enum Target {
    /// A local file: its index in [`Project::files`].
    File(usize),
    /// Optional and missing: kept as an optional include of this path.
    Missing(PathBuf),
    /// Not followed (remote, templated beyond what can be resolved): already warned about.
    Skipped,
}

/// The Taskfile and the files it includes.
pub(crate) struct Project {
    pub(crate) files: Vec<SourceFile>,
    /// For each file, its `includes` entries' targets, by entry key.
    pub(crate) includes: Vec<Vec<(String, Target)>>,
    pub(crate) sources: SourceMap,
    /// Every runnable name (tasks and aliases, with namespaces).
    pub(crate) names: BTreeSet<String>,
    /// Every task's full name, as `task --list-all` lists them (internal ones left out).
    pub(crate) listed: BTreeSet<String>,
    pub(crate) warnings: Vec<Diagnostic>,
    pub(crate) errors: Vec<Diagnostic>,
}

/// Options of one inclusion, applied to the names of the tasks it brings in.
#[derive(Clone, Default)]
struct Inclusion {
    namespaces: Vec<String>,
    excludes: Vec<String>,
    internal: bool,
    in_root: bool,
}

impl Project {
    /// Reads `root` and every file it includes.
    pub(crate) fn read(root: &Path) -> Result<Project, (Vec<Diagnostic>, SourceMap)> {
        let mut project = Project {
            files: Vec::new(),
            includes: Vec::new(),
            sources: SourceMap::default(),
            names: BTreeSet::new(),
            listed: BTreeSet::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
        };
        let root = normalise(&std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()));
        let text = match std::fs::read_to_string(&root) {
            Ok(text) => text,
            Err(e) => {
                let d = Diagnostic::new(format!("cannot read Taskfile `{}`: {e}", root.display()));
                return Err((vec![d], project.sources));
            }
        };
        let mut stack = Vec::new();
        let root_inclusion = Inclusion { namespaces: vec![String::new()], in_root: true, ..Inclusion::default() };
        project.add(root, text, &root_inclusion, &mut stack);
        if project.errors.is_empty() { Ok(project) } else { Err((project.errors, project.sources)) }
    }

    /// Adds a file (reading its includes recursively) and returns its index.
    fn add(&mut self, path: PathBuf, text: String, inclusion: &Inclusion, stack: &mut Vec<PathBuf>) -> Option<usize> {
        if let Some(i) = self.files.iter().position(|f| f.path == path) {
            // Included again (another namespace): its names are added for this inclusion too.
            self.files[i].runs_in_root &= inclusion.in_root;
            self.files[i].namespaces.extend(inclusion.namespaces.iter().cloned());
            let root = self.files[i].root.clone();
            let includes = std::mem::take(&mut self.includes[i]);
            self.name_tasks(&root, inclusion);
            self.follow_known(i, &includes, inclusion);
            self.includes[i] = includes;
            return Some(i);
        }
        let id = self.sources.add(&path, text.clone());
        let root = match yaml::parse(&text) {
            Ok(root) => root,
            Err(e) => {
                self.errors.push(
                    Diagnostic::new(format!("invalid YAML: {}", e.message))
                        .at(Location { file: id, span: e.at }, "here"),
                );
                return None;
            }
        };
        if !matches!(root.kind, Kind::Map(_)) && !root.is_null() {
            self.errors.push(
                Diagnostic::new(format!(
                    "a Taskfile is a map of keys (version, vars, tasks, ...), not {}",
                    root.describe()
                ))
                .at(Location { file: id, span: root.span.clone() }, "here"),
            );
            return None;
        }
        self.check_version(&root, id);
        let index = self.files.len();
        self.files.push(SourceFile {
            path: path.clone(),
            text,
            root: root.clone(),
            id,
            runs_in_root: inclusion.in_root,
            namespaces: inclusion.namespaces.clone(),
        });
        self.includes.push(Vec::new());
        self.name_tasks(&root, inclusion);
        stack.push(path);
        let mut targets = Vec::new();
        if let Some(Kind::Map(entries)) = root.get("includes").map(|n| &n.kind) {
            for (key, entry) in entries {
                let ns = key.as_str().unwrap_or_default().to_string();
                let target = self.include(index, &ns, key, entry, inclusion, stack);
                targets.push((ns, target));
            }
        }
        stack.pop();
        self.includes[index] = targets;
        Some(index)
    }

    /// Names the tasks of a file included again, and what its own includes bring in.
    fn follow_known(&mut self, file: usize, includes: &[(String, Target)], inclusion: &Inclusion) {
        let root = self.files[file].root.clone();
        for (ns, target) in includes {
            let Target::File(child) = target else { continue };
            let Some(entry) = root.get("includes").and_then(|i| i.get(ns)) else { continue };
            let child_inclusion = child_inclusion(inclusion, ns, entry);
            let child_root = self.files[*child].root.clone();
            self.files[*child].runs_in_root &= child_inclusion.in_root;
            self.files[*child].namespaces.extend(child_inclusion.namespaces.iter().cloned());
            self.name_tasks(&child_root, &child_inclusion);
            let grandchildren = std::mem::take(&mut self.includes[*child]);
            self.follow_known(*child, &grandchildren, &child_inclusion);
            self.includes[*child] = grandchildren;
        }
    }

    fn check_version(&mut self, root: &Node, id: FileId) {
        let Some(version) = root.get("version") else { return };
        let text = version.as_str().unwrap_or_default();
        let major = text.trim().split('.').next().unwrap_or_default();
        if major != "3" {
            self.errors.push(
                Diagnostic::new(format!("unsupported Taskfile version `{text}`"))
                    .at(Location { file: id, span: version.span.clone() }, "opsrun imports go-task v3 Taskfiles")
                    .help("upgrade the Taskfile to version 3 with go-task first"),
            );
        }
    }

    /// Resolves and reads one `includes` entry.
    fn include(
        &mut self,
        from: usize,
        ns: &str,
        key: &Node,
        entry: &Node,
        inclusion: &Inclusion,
        stack: &mut Vec<PathBuf>,
    ) -> Target {
        let id = self.files[from].id;
        let at = |span: &Range<usize>| Location { file: id, span: span.clone() };
        let (path_node, optional) = match &entry.kind {
            Kind::Scalar(_) => (entry, false),
            Kind::Map(_) => {
                let Some(p) = entry.get("taskfile") else {
                    self.errors.push(
                        Diagnostic::new(format!("include `{ns}` has no `taskfile`"))
                            .at(at(&key.span), "this include")
                            .help("write `taskfile: ./path/Taskfile.yml`"),
                    );
                    return Target::Skipped;
                };
                (p, entry.get("optional").and_then(Node::as_str) == Some("true"))
            }
            Kind::Seq(_) => {
                self.errors.push(
                    Diagnostic::new(format!("include `{ns}` is a list; expected a path or a map"))
                        .at(at(&entry.span), "here"),
                );
                return Target::Skipped;
            }
        };
        let Some(raw) = path_node.as_str() else {
            self.errors.push(
                Diagnostic::new(format!("include `{ns}`: `taskfile` must be a path")).at(at(&path_node.span), "here"),
            );
            return Target::Skipped;
        };
        if raw.contains("://") {
            self.warnings.push(
                Diagnostic::warning(format!(
                    "remote include `{ns}` (`{raw}`) is not fetched; its tasks are not imported"
                ))
                .at(at(&path_node.span), "remote Taskfile")
                .help("download it next to the Taskfile and include the local copy"),
            );
            return Target::Skipped;
        }
        let root_dir = self.files[0].path.parent().map(Path::to_path_buf).unwrap_or_default();
        let file_dir = self.files[from].path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolved = self.expand_path(raw, from, &root_dir, &file_dir);
        if resolved.contains("{{") {
            self.warnings.push(
                Diagnostic::warning(format!(
                    "include `{ns}`: the path `{raw}` is a template opsrun cannot resolve when importing"
                ))
                .at(at(&path_node.span), "templated path")
                .help("write the path literally, or with `{{.VAR}}` of a plain variable of this file or the root file"),
            );
            return Target::Skipped;
        }
        let expanded = expand_home(&resolved);
        let mut target = normalise(&file_dir.join(expanded));
        if target.is_dir() {
            match TASKFILE_NAMES.iter().map(|n| target.join(n)).find(|p| p.is_file()) {
                Some(found) => target = found,
                None if optional => return Target::Missing(target.join(TASKFILE_NAMES[0])),
                None => {
                    self.errors.push(
                        Diagnostic::new(format!("include `{ns}`: no Taskfile in `{}`", target.display()))
                            .at(at(&path_node.span), "included here"),
                    );
                    return Target::Skipped;
                }
            }
        }
        if stack.contains(&target) {
            self.errors.push(
                Diagnostic::new(format!("include cycle: `{}` includes itself", target.display()))
                    .at(at(&path_node.span), "included here"),
            );
            return Target::Skipped;
        }
        let text = match std::fs::read_to_string(&target) {
            Ok(text) => text,
            Err(_) if optional => return Target::Missing(target),
            Err(e) => {
                self.errors.push(
                    Diagnostic::new(format!("included Taskfile `{}` cannot be read: {e}", target.display()))
                        .at(at(&path_node.span), "included here")
                        .help("fix the path, or mark the include `optional: true`"),
                );
                return Target::Skipped;
            }
        };
        let child = child_inclusion(inclusion, ns, entry);
        self.add(target, text, &child, stack).map_or(Target::Skipped, Target::File)
    }

    /// An include path with its `{{.NAME}}`s replaced: plain variables of the including file or
    /// the root file (as go-task renders include paths), `{{OS}}`, `{{ARCH}}` and `{{exeExt}}` (this
    /// machine's, as go-task renders them: an imported file then names this platform's file),
    /// `{{.ROOT_DIR}}` and `{{.TASKFILE_DIR}}` (which go-task 3.54 renders empty there; opsrun
    /// takes them at their word).
    fn expand_path(&self, raw: &str, from: usize, root_dir: &Path, file_dir: &Path) -> String {
        let mut text = raw
            .replace("{{.ROOT_DIR}}", &root_dir.display().to_string())
            .replace("{{.TASKFILE_DIR}}", &file_dir.display().to_string())
            .replace("{{OS}}", opsrun_spec::host_os())
            .replace("{{ARCH}}", opsrun_spec::host_arch())
            .replace("{{exeExt}}", "");
        for file in [from, 0] {
            for (k, v) in self.files[file].root.get("vars").and_then(Node::as_map).unwrap_or(&[]) {
                let (Some(name), Some(value)) = (k.as_str(), v.as_str()) else { continue };
                if !value.contains("{{") {
                    text = text.replace(&format!("{{{{.{name}}}}}"), value);
                }
            }
        }
        text
    }

    /// Adds the names the tasks of `root` get under `inclusion`.
    fn name_tasks(&mut self, root: &Node, inclusion: &Inclusion) {
        let Some(Kind::Map(tasks)) = root.get("tasks").map(|t| &t.kind) else { return };
        for (key, task) in tasks {
            let Some(name) = key.as_str() else { continue };
            if inclusion.excludes.iter().any(|e| e == name) {
                continue;
            }
            let internal = inclusion.internal || task.get("internal").and_then(Node::as_str) == Some("true");
            let aliases: Vec<&str> = match task.get("aliases").map(|a| &a.kind) {
                Some(Kind::Seq(items)) => items.iter().filter_map(Node::as_str).collect(),
                _ => Vec::new(),
            };
            for (i, ns) in inclusion.namespaces.iter().enumerate() {
                let full = qualify(ns, name);
                if i == 0 && !internal {
                    self.listed.insert(full.clone());
                }
                self.names.insert(full);
                for alias in &aliases {
                    self.names.insert(qualify(ns, alias));
                }
            }
        }
    }
}

/// The inclusion an `includes` entry makes of its file, under the includer's `parent`.
fn child_inclusion(parent: &Inclusion, ns: &str, entry: &Node) -> Inclusion {
    let flag = |key: &str| entry.get(key).and_then(Node::as_str) == Some("true");
    let list = |key: &str| -> Vec<String> {
        match entry.get(key).map(|n| &n.kind) {
            Some(Kind::Seq(items)) => items.iter().filter_map(Node::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let flatten = flag("flatten");
    let mut own = vec![ns.to_string()];
    own.extend(list("aliases"));
    let mut namespaces = Vec::new();
    for p in &parent.namespaces {
        if flatten {
            namespaces.push(p.clone());
        } else {
            namespaces.extend(own.iter().map(|o| qualify(p, o)));
        }
    }
    namespaces.dedup();
    Inclusion {
        namespaces,
        excludes: list("excludes"),
        internal: parent.internal || flag("internal"),
        in_root: parent.in_root && entry.get("dir").is_none(),
    }
}

/// `ns:name`, or `name` at the root.
pub(crate) fn qualify(ns: &str, name: &str) -> String {
    if ns.is_empty() { name.to_string() } else { format!("{ns}:{name}") }
}

/// `~/x` with the home directory, as go-task expands it.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// `path` with `.` and `..` resolved lexically.
pub(crate) fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `to` relative to the directory `from` (both absolute and normalised), with `/` separators.
pub(crate) fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to_parts: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), from.len() - common).collect();
    parts.extend(to_parts[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    if parts.is_empty() { ".".to_string() } else { parts.join("/") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_walk_up_and_down() {
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b/c/t.yml")), "c/t.yml");
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/x/t.yml")), "../x/t.yml");
        assert_eq!(normalise(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
