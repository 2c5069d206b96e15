//! Task fingerprints: what a task's result depends on, as a digest with named parts.
//!
//! A fingerprint covers the resolved commands, environment, directory, vars, preconditions and
//! status checks, the gate's condition (not its timings), the content of `sources`, and the
//! fingerprints of the task's dependencies. The parts are kept separately so `opsrun explain`
//! can say which one changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSetBuilder};
use opsrun_spec::{ResolvedCmd, ResolvedCmdKind, ResolvedProbe, ResolvedTask};

/// A task's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The digest of all parts.
    pub digest: String,
    /// Digest per part name.
    pub parts: BTreeMap<String, String>,
}

impl Fingerprint {
    /// Computes the fingerprint of `task` whose dependencies have `dep_digests`. Paths under
    /// `root` (the project's directory) are hashed relative to it, so moving or re-cloning the
    /// project does not make every task look changed.
    pub fn compute(task: &ResolvedTask, dep_digests: &[String], root: &Path) -> Fingerprint {
        let root = root.to_string_lossy();
        let norm = Normalizer { root: root.trim_end_matches('/') };
        let mut parts = BTreeMap::new();
        let mut put = |name: &str, h: blake3::Hasher| {
            parts.insert(name.to_string(), h.finalize().to_hex()[..16].to_string());
        };
        put("cmds", hash_cmds(&task.cmds, &norm));
        let dynamic: Vec<(String, String)> =
            task.dynamic_env.iter().map(|d| (d.name.clone(), format!("$({})", d.command))).collect();
        put("env", hash_pairs(task.env.iter().chain(dynamic.iter().map(|(k, v)| (k, v))), &norm));
        put("vars", hash_pairs(task.vars.iter().chain(task.call_vars.iter()), &norm));
        let mut h = blake3::Hasher::new();
        field(&mut h, &norm.apply(&task.dir.to_string_lossy()));
        put("dir", h);
        let mut h = blake3::Hasher::new();
        for (sh, msg) in &task.preconditions {
            field(&mut h, &norm.apply(sh));
            field(&mut h, &norm.apply(msg.as_deref().unwrap_or("")));
        }
        for s in &task.status {
            field(&mut h, &norm.apply(s));
        }
        put("checks", h);
        put("gate", hash_gate(task, &norm));
        put("sources", hash_sources(&task.dir, &task.sources));
        let mut deps: Vec<&String> = dep_digests.iter().collect();
        deps.sort();
        let mut h = blake3::Hasher::new();
        for d in deps {
            field(&mut h, d);
        }
        put("deps", h);
        let mut all = blake3::Hasher::new();
        for (k, v) in &parts {
            field(&mut all, k);
            field(&mut all, v);
        }
        Fingerprint { digest: all.finalize().to_hex()[..32].to_string(), parts }
    }

    /// The names of the parts that differ from `recorded`, in a stable order.
    pub fn changed_parts(&self, recorded: &BTreeMap<String, String>) -> Vec<String> {
        self.parts.iter().filter(|(k, v)| recorded.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect()
    }
}

/// Length-prefixed so that `("ab", "c")` and `("a", "bc")` differ.
fn field(h: &mut blake3::Hasher, s: &str) {
    h.update(&(s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

/// Replaces the project's root directory in hashed text with a placeholder.
struct Normalizer<'a> {
    root: &'a str,
}

impl Normalizer<'_> {
    fn apply<'s>(&self, s: &'s str) -> std::borrow::Cow<'s, str> {
        if self.root.len() > 1 && s.contains(self.root) {
            std::borrow::Cow::Owned(s.replace(self.root, "${ROOT_DIR}"))
        } else {
            std::borrow::Cow::Borrowed(s)
        }
    }
}

fn hash_cmds(cmds: &[ResolvedCmd], norm: &Normalizer<'_>) -> blake3::Hasher {
    let mut h = blake3::Hasher::new();
    for c in cmds {
        match &c.kind {
            ResolvedCmdKind::Shell(s) => field(&mut h, &norm.apply(s)),
            ResolvedCmdKind::Task { name, vars } => {
                field(&mut h, "task");
                field(&mut h, name);
                for (k, v) in vars {
                    field(&mut h, k);
                    field(&mut h, &norm.apply(&v.to_display_string()));
                }
            }
        }
        field(&mut h, if c.ignore_error { "i" } else { "-" });
    }
    h
}

fn hash_pairs<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>, norm: &Normalizer<'_>) -> blake3::Hasher {
    let mut sorted: Vec<_> = pairs.collect();
    sorted.sort();
    let mut h = blake3::Hasher::new();
    for (k, v) in sorted {
        field(&mut h, k);
        field(&mut h, &norm.apply(v));
    }
    h
}

fn hash_gate(task: &ResolvedTask, norm: &Normalizer<'_>) -> blake3::Hasher {
    let mut h = blake3::Hasher::new();
    if let Some(g) = &task.health {
        match &g.probe {
            ResolvedProbe::Cmd(c) => field(&mut h, &norm.apply(c)),
            ResolvedProbe::Http { url, status, body, body_not, insecure_tls } => {
                field(&mut h, url);
                field(&mut h, &format!("{status:?}{body:?}{body_not:?}{insecure_tls}"));
            }
            ResolvedProbe::Tcp(a) => field(&mut h, a),
        }
        field(
            &mut h,
            &format!("{:?}{:?}{:?}{}", g.fatal_exit_codes, g.fatal_patterns, g.error_exit_codes, g.success_threshold),
        );
    }
    h
}

/// Hashes the sorted list of files matching `globs` (relative to `dir`) with their content.
fn hash_sources(dir: &Path, globs: &[String]) -> blake3::Hasher {
    let mut h = blake3::Hasher::new();
    for (path, rel) in matching_files(dir, globs) {
        field(&mut h, &rel);
        match std::fs::read(&path) {
            Ok(bytes) => {
                h.update(blake3::hash(&bytes).as_bytes());
            }
            Err(e) => field(&mut h, &format!("unreadable: {}", e.kind())),
        }
    }
    h
}

/// Files under `dir` matching any of `globs`, sorted, as (absolute, relative) paths.
///
/// Each glob is walked only from its literal prefix (`bootstrap/cilium/*.yaml` walks
/// `bootstrap/cilium`), so a source list does not cost a walk of the whole repository.
pub fn matching_files(dir: &Path, globs: &[String]) -> Vec<(PathBuf, String)> {
    let mut out = BTreeMap::new();
    for g in globs {
        let Ok(glob) = Glob::new(g) else { continue };
        let mut set = GlobSetBuilder::new();
        set.add(glob);
        let Ok(set) = set.build() else { continue };
        let prefix: PathBuf = g.split('/').take_while(|c| !c.contains(['*', '?', '[', '{'])).collect();
        let root = dir.join(&prefix);
        if root.is_file() {
            if let Ok(rel) = root.strip_prefix(dir) {
                out.insert(rel.to_string_lossy().into_owned(), root.clone());
            }
            continue;
        }
        for entry in walkdir::WalkDir::new(&root).follow_links(true).into_iter().filter_map(Result::ok) {
            if !entry.file_type().is_file() {
                continue;
            }
            if let Ok(rel) = entry.path().strip_prefix(dir)
                && set.is_match(rel)
            {
                out.insert(rel.to_string_lossy().into_owned(), entry.path().to_path_buf());
            }
        }
    }
    out.into_iter().map(|(rel, abs)| (abs, rel)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_prefix_walk_finds_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/x.yaml"), "1").unwrap();
        std::fs::write(dir.path().join("a/y.txt"), "2").unwrap();
        let files = matching_files(dir.path(), &["a/**/*.yaml".into(), "a/y.txt".into()]);
        let rel: Vec<_> = files.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(rel, ["a/b/x.yaml", "a/y.txt"]);
    }
}
