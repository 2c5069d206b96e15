//! Files named by `sources`/`generates` globs, relative to a task's directory.
//!
//! Shared by the engine (fingerprints, up-to-date checks) and the resolver (`for = "sources"`),
//! so that both see the same files in the same order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSetBuilder};

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
        let dir = std::env::temp_dir().join(format!("opsrun-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/x.yaml"), "1").unwrap();
        std::fs::write(dir.join("a/y.txt"), "2").unwrap();
        let files = matching_files(&dir, &["a/**/*.yaml".into(), "a/y.txt".into()]);
        let rel: Vec<_> = files.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(rel, ["a/b/x.yaml", "a/y.txt"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
