//! `opsrun classify` through the binary: real git repositories, every input form, the exit
//! codes CI gates rely on. The rules themselves are tested in `opsrun-change`.

use std::process::Command;

use crate::support::Test;

/// Runs git in the test's project with a fixed identity.
fn git(t: &Test, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=op", "-c", "user.email=op@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(t.path())
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?} failed");
}

const TASKS: &str = r#"
[tasks.talos]
cmds = ["true"]
[tasks.cilium]
deps = ["talos"]
cmds = ["true"]
"#;

#[test]
fn git_base_sees_committed_staged_unstaged_and_untracked_changes() {
    let t = Test::new()
        .tasks(TASKS)
        .file("talconfig.yaml", "nodes: []\n")
        .file("apps/home/configmap.yaml", "a: 1\n")
        .file("infrastructure/monitoring/prometheus.yaml", "retention: 15d\n");
    git(&t, &["init", "-q", "-b", "main"]);
    git(&t, &["add", "-A"]);
    git(&t, &["commit", "-q", "-m", "base"]);
    git(&t, &["tag", "base"]);
    // Committed after the base:
    std::fs::write(t.path().join("apps/home/configmap.yaml"), "a: 2\n").expect("write");
    git(&t, &["commit", "-q", "-am", "app change"]);
    // Staged, not committed:
    std::fs::write(t.path().join("infrastructure/monitoring/prometheus.yaml"), "retention: 30d\n").expect("write");
    git(&t, &["add", "infrastructure/monitoring/prometheus.yaml"]);
    // Unstaged:
    std::fs::write(t.path().join("talconfig.yaml"), "nodes: [mini04]\n").expect("write");
    // Untracked:
    std::fs::create_dir_all(t.path().join("infrastructure/cilium-pools")).expect("mkdir");
    std::fs::write(t.path().join("infrastructure/cilium-pools/pool.yaml"), "cidr: x\n").expect("write");

    let out = t.args(&["classify", "--git", "base", "--format", "json"]).run();
    out.status(0);
    let verdict: serde_json::Value = serde_json::from_str(out.stdout()).expect("classify --format json is JSON");
    let paths: Vec<&str> =
        verdict["files"].as_array().expect("files").iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(
        paths,
        [
            "apps/home/configmap.yaml",
            "infrastructure/cilium-pools/pool.yaml",
            "infrastructure/monitoring/prometheus.yaml",
            "talconfig.yaml"
        ]
    );
    assert_eq!(verdict["phase"], "hybrid");
    assert_eq!(verdict["risk"], "high");
    assert_eq!(verdict["approval"], "lead_approval");
}

#[test]
fn fail_on_sets_the_exit_code_for_ci_gates() {
    let t = Test::new().tasks(TASKS);
    t.args(&["classify", "--fail-on", "bootstrap", "talconfig.yaml"]).run().status(6).stdout_contains("Bootstrap");
    Test::new().tasks(TASKS).args(&["classify", "--fail-on", "bootstrap", "apps/home/x.yaml"]).run().status(0);
    Test::new()
        .tasks(TASKS)
        .args(&["classify", "--fail-on", "high", "infrastructure/authentik/x.yaml"])
        .run()
        .status(6);
}

#[test]
fn markdown_output_is_a_table() {
    let out = Test::new().tasks(TASKS).args(&["classify", "--format", "markdown", "apps/home/x.yaml"]).run();
    out.status(0).stdout_contains("| path | phase | component | risk | rule |").stdout_contains("|---|");
}

#[test]
fn git_outside_a_repository_is_a_clear_error() {
    let out = Test::new().tasks(TASKS).args(&["classify", "--git", "main"]).run();
    out.status(2).stderr_contains("not a git repository");
}
