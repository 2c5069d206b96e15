//! `changed_files_since` and `Checkout` against real git repositories in temporary
//! directories.

use std::path::Path;
use std::process::Command;

use opsrun_change::{Checkout, ClassifyError, Upstream, changed_files_since};

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

fn stdout(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git").current_dir(dir).args(args).output().expect("git runs");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A bare `origin` and a clone of it with one pushed commit, `kubernetes/apps/app.yaml`.
fn pushed_clone() -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let origin = root.path().join("origin.git");
    let clone = root.path().join("clone");
    std::fs::create_dir_all(&clone).unwrap();
    git(root.path(), &["init", "-q", "--bare", origin.to_str().unwrap()]);
    git(&clone, &["init", "-q"]);
    write(&clone, "kubernetes/apps/app.yaml", "replicas: 2\n");
    write(&clone, "kubernetes/infra/infra.yaml", "a: 1\n");
    git(&clone, &["add", "-A"]);
    git(&clone, &["commit", "-q", "-m", "base"]);
    git(&clone, &["remote", "add", "origin", origin.to_str().unwrap()]);
    git(&clone, &["push", "-q", "-u", "origin", "main"]);
    (root, clone)
}

#[test]
fn a_checkout_reports_uncommitted_changes_under_a_path_only() {
    let (_root, clone) = pushed_clone();
    let checkout = Checkout::open(&clone.join("kubernetes")).unwrap();
    assert_eq!(checkout.top_level().canonicalize().unwrap(), clone.canonicalize().unwrap());
    assert!(checkout.uncommitted("kubernetes/apps").unwrap().is_empty());

    write(&clone, "kubernetes/apps/app.yaml", "replicas: 3\n");
    write(&clone, "kubernetes/apps/new file.yaml", "x: 1\n");
    write(&clone, "kubernetes/infra/infra.yaml", "a: 2\n");
    git(&clone, &["mv", "kubernetes/apps/app.yaml", "kubernetes/apps/renamed.yaml"]);
    let changes = checkout.uncommitted("kubernetes/apps").unwrap();
    assert_eq!(changes, ["RM kubernetes/apps/renamed.yaml", "?? kubernetes/apps/new file.yaml"], "{changes:?}");
    assert_eq!(checkout.uncommitted("./kubernetes/infra").unwrap(), [" M kubernetes/infra/infra.yaml"]);
    assert_eq!(checkout.uncommitted(".").unwrap().len(), 3);
}

#[test]
fn a_checkout_knows_what_is_not_pushed() {
    let (_root, clone) = pushed_clone();
    let checkout = Checkout::open(&clone).unwrap();
    assert_eq!(checkout.upstream().unwrap(), Upstream::Pushed { upstream: "origin/main".into() });

    write(&clone, "kubernetes/apps/app.yaml", "replicas: 3\n");
    git(&clone, &["commit", "-q", "-am", "EMERGENCY: three replicas"]);
    let Upstream::Ahead { upstream, commits } = checkout.upstream().unwrap() else { panic!("not ahead") };
    assert_eq!(upstream, "origin/main");
    assert_eq!(commits.len(), 1);
    assert!(commits[0].ends_with(" EMERGENCY: three replicas"), "{commits:?}");

    git(&clone, &["checkout", "-q", "-b", "local"]);
    assert_eq!(checkout.upstream().unwrap(), Upstream::NoUpstream { branch: "local".into() });
    git(&clone, &["checkout", "-q", "--detach"]);
    assert_eq!(checkout.upstream().unwrap(), Upstream::Detached);
}

#[test]
fn a_revision_contains_head_when_head_is_it_or_an_ancestor() {
    let (_root, clone) = pushed_clone();
    let checkout = Checkout::open(&clone).unwrap();
    let base = checkout.head().unwrap();
    assert_eq!(base.len(), 40);
    write(&clone, "kubernetes/apps/app.yaml", "replicas: 3\n");
    git(&clone, &["commit", "-q", "-am", "fix"]);
    let fix = checkout.head().unwrap();

    assert_eq!(checkout.contains(&fix, &fix).unwrap(), Some(true));
    assert_eq!(checkout.contains(&fix[..12], &base).unwrap(), Some(true), "an abbreviated id resolves");
    assert_eq!(checkout.contains(&base, &fix).unwrap(), Some(false), "the older revision lacks the fix");
    assert_eq!(checkout.contains("0123456789abcdef0123456789abcdef01234567", &fix).unwrap(), None);
    assert_eq!(checkout.contains("--all", &fix).unwrap(), None);
    assert_eq!(stdout(&clone, &["rev-parse", "HEAD"]), fix);
}

#[test]
fn outside_a_checkout_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Checkout::open(dir.path()).unwrap_err();
    assert!(matches!(err, ClassifyError::NotACheckout { .. }), "{err:?}");
    assert!(err.to_string().contains("is not inside a Git checkout"), "{err}");
}
