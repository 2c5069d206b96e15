//! `changed_files_since` against a real git repository in a temporary directory.

use std::path::Path;
use std::process::Command;

use opsrun_change::{ClassifyError, changed_files_since};

#[track_caller]
fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=opsrun", "-c", "user.email=opsrun@example.invalid"])
        .args(["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"])
        .args(args)
        // A hook-driven `cargo test` inherits these; they would point git at another repository.
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn committed_staged_unstaged_and_untracked_changes_all_appear() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    git(dir, &["init", "-q"]);
    write(dir, "talconfig.yaml", "nodes: 3\n");
    write(dir, "apps/ha/configmap.yaml", "a: 1\n");
    write(dir, "infrastructure/monitoring/prometheus.yaml", "retention: 15d\n");
    write(dir, ".gitignore", "*.log\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    git(dir, &["tag", "base"]);

    write(dir, "talconfig.yaml", "nodes: 4\n");
    git(dir, &["commit", "-q", "-am", "add a node"]);
    write(dir, "clusterconfig/home-ops-mini04.yaml", "machine: {}\n");
    git(dir, &["add", "clusterconfig/home-ops-mini04.yaml"]);
    write(dir, "infrastructure/monitoring/prometheus.yaml", "retention: 30d\n");
    write(dir, "apps/ha/new file.yaml", "untracked\n");
    write(dir, "debug.log", "ignored\n");

    let expected = [
        "apps/ha/new file.yaml",
        "clusterconfig/home-ops-mini04.yaml",
        "infrastructure/monitoring/prometheus.yaml",
        "talconfig.yaml",
    ];
    assert_eq!(changed_files_since(dir, "base").unwrap(), expected);
    // From a subdirectory the paths are still relative to the repository root.
    assert_eq!(changed_files_since(&dir.join("apps"), "base").unwrap(), expected);
    // Against HEAD only the uncommitted changes remain.
    assert_eq!(
        changed_files_since(dir, "HEAD").unwrap(),
        ["apps/ha/new file.yaml", "clusterconfig/home-ops-mini04.yaml", "infrastructure/monitoring/prometheus.yaml",]
    );
}

#[test]
fn outside_a_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = changed_files_since(dir.path(), "main").unwrap_err();
    assert!(matches!(err, ClassifyError::NotAGitRepository { .. }), "{err:?}");
    assert!(err.to_string().starts_with("not a git repository: `"), "{err}");
    assert!(err.to_string().ends_with("(`--git BASE` needs a git work tree)"), "{err}");
}

#[test]
fn an_unknown_base_is_named() {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q"]);
    write(repo.path(), "a.md", "a\n");
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "first"]);
    for base in ["no-such-branch", "--output=x"] {
        let err = changed_files_since(repo.path(), base).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("unknown git revision `{base}`: it does not name a commit in this repository")
        );
    }
}
