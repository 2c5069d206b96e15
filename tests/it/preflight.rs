//! `opsrun preflight` and the preflight before `bootstrap` / `pipeline`: everything a run needs
//! is checked before its first stage, in one table; a pipeline with a problem runs nothing.

use std::net::TcpListener;

use crate::support::Test;

const DEPLOY: &str = r#"
[tasks.deploy]
requires = { vars = ["CLUSTER", "REGION"], tools = ["sh", "opsrun-missing-tool"], env = ["OPSRUN_PREFLIGHT_TOKEN"], files = ["talconfig.yaml", "missing.yaml"] }
cmds = ["echo deploying {{.CLUSTER}} in {{.REGION}}"]
"#;

#[test]
fn preflight_names_every_missing_tool_variable_env_and_file_in_one_table() {
    let out = Test::new().tasks(DEPLOY).file("talconfig.yaml", "").args(&["preflight", "deploy"]).run();
    out.status(8);
    let table = out.stdout();
    let row = |kind: &str, subject: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().take(2).eq([kind, subject]))
            .unwrap_or_else(|| panic!("no `{kind} {subject}` row:\n{table}"))
    };
    assert!(row("tool", "opsrun-missing-tool").contains("FAILED  not on PATH"), "{table}");
    assert!(row("tool", "sh").contains(" ok "), "{table}");
    assert!(row("file", &out.path().join("missing.yaml").display().to_string()).contains("FAILED  missing"));
    assert!(row("file", &out.path().join("talconfig.yaml").display().to_string()).contains(" ok "));
    assert!(row("env", "OPSRUN_PREFLIGHT_TOKEN").contains("FAILED  not set"), "{table}");
    assert!(row("var", "CLUSTER").contains("requires variable `CLUSTER`, which is not set"), "{table}");
    assert!(row("var", "REGION").contains("FAILED"), "{table}");
    assert!(table.contains("preflight failed: 5 of 7 checks"), "{table}");

    // Given all of it, the same preflight passes.
    let out = out
        .then()
        .tasks(DEPLOY.replace(", \"opsrun-missing-tool\"", "").replace(", \"missing.yaml\"", "").as_str())
        .env("OPSRUN_PREFLIGHT_TOKEN", "t")
        .args(&["preflight", "deploy", "CLUSTER=home", "REGION=eu"])
        .run();
    out.status(0).stdout_contains("preflight passed: 3 checks");
}

#[test]
fn a_check_many_tasks_need_names_each_of_them_once_in_plan_order() {
    let tasks = r#"
[tasks.a]
requires = { tools = ["opsrun-missing-tool"] }
cmds = ["true"]
[tasks.b]
deps = ["a"]
requires = { tools = ["opsrun-missing-tool", "sh", "opsrun-missing-tool"] }
cmds = ["true"]
[tasks.c]
deps = ["b"]
requires = { tools = ["opsrun-missing-tool"] }
cmds = ["true"]
"#;
    let out = Test::new().tasks(tasks).args(&["--output", "json", "preflight", "c"]).run();
    out.status(8);
    let report: serde_json::Value = serde_json::from_str(out.stdout()).expect("a JSON report");
    let checks = report["checks"].as_array().expect("checks");
    let needed_by = |subject: &str| checks.iter().find(|c| c["subject"] == subject).map(|c| c["tasks"].clone());
    assert_eq!(needed_by("opsrun-missing-tool"), Some(serde_json::json!(["a", "b", "c"])), "{report:#}");
    assert_eq!(needed_by("sh"), Some(serde_json::json!(["b"])), "{report:#}");
}

#[test]
fn a_pipeline_with_unmet_requirements_runs_nothing() {
    let tasks = r#"
[tasks.first]
cmds = ["touch ran-first"]
[tasks.second]
deps = ["first"]
requires = { tools = ["opsrun-missing-tool"] }
cmds = ["touch ran-second"]
[pipelines.bootstrap]
targets = ["second"]
"#;
    let out = Test::new().tasks(tasks).args(&["bootstrap"]).run();
    out.status(8)
        .stderr_contains("opsrun-missing-tool")
        .stderr_contains("preflight failed (1 of 1 checks); nothing was run");
    assert!(!out.exists("ran-first"), "a stage ran although the preflight failed");
    let out = out.then().args(&["pipeline", "bootstrap"]).run();
    out.status(8);
    assert!(!out.exists("ran-first"));
    // Skippable on purpose.
    let out = out.then().args(&["bootstrap", "--no-preflight"]).run();
    out.status(0);
    assert!(out.exists("ran-first") && out.exists("ran-second"));
}

#[test]
fn stages_skipped_as_done_are_not_checked_but_their_gates_must_pass() {
    let tasks = r#"
[tasks.talos]
requires = { tools = ["opsrun-missing-tool"] }
cmds = ["touch healthy"]
[tasks.talos.health]
cmd = "test -f healthy"
success_threshold = 1
[tasks.flux]
deps = ["talos"]
requires = { tools = ["sh"] }
cmds = ["echo flux"]
[pipelines.bootstrap]
targets = ["flux"]
"#;
    let out = Test::new().tasks(tasks).args(&["bootstrap", "--no-preflight"]).run();
    out.status(0);
    // talos is done: its tool is not checked, its gate is.
    let out = out.then().args(&["preflight"]).run();
    out.status(0);
    let table = out.stdout();
    assert!(!table.contains("opsrun-missing-tool"), "a task skipped as done was checked:\n{table}");
    assert!(table.contains("0 tasks will run, 2 skipped as done"), "{table}");
    assert!(table.contains("gate") && table.contains("done, and its gate passes"), "{table}");
    std::fs::remove_file(out.path().join("healthy")).expect("remove the health marker");
    let out = out.then().args(&["preflight"]).run();
    out.status(8);
    assert!(out.stdout().contains("recorded done, but its gate"), "{}", out.stdout());
    // --fresh: every stage will run, so talos's tool is checked and no gate is probed.
    let out = out.then().args(&["preflight", "--fresh"]).run();
    out.status(8).stdout_contains("opsrun-missing-tool");
    assert!(!out.stdout().contains("recorded done"), "{}", out.stdout());
}

#[test]
fn preconditions_marked_for_preflight_and_endpoints_are_checked_before_the_run() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let open = listener.local_addr().expect("address");
    let closed = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        probe.local_addr().expect("address")
    };
    let tasks = format!(
        r#"
[tasks.cilium]
preconditions = [
  {{ sh = "test -f kubeconfig", msg = "no kubeconfig yet", preflight = true }},
  {{ sh = "test -f made-by-an-earlier-stage" }},
]
requires = {{ endpoints = ["tcp://{open}", "tcp://{closed}", "gopher://x"] }}
cmds = ["true"]
"#
    );
    let out = Test::new().tasks(&tasks).args(&["preflight", "cilium"]).run();
    out.status(8);
    let table = out.stdout();
    let line =
        |needle: &str| table.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}:\n{table}"));
    assert!(line("test -f kubeconfig").contains("FAILED  no kubeconfig yet (exit code 1)"), "{table}");
    assert!(!table.contains("made-by-an-earlier-stage"), "an unmarked precondition ran early:\n{table}");
    assert!(line(&format!("tcp://{open}")).contains(" ok "), "{table}");
    assert!(line(&format!("tcp://{closed}")).contains("connection refused"), "{table}");
    assert!(line("gopher://x").contains("not an endpoint"), "{table}");
    drop(listener);
}

#[test]
fn op_secret_references_are_resolved_without_showing_a_value() {
    let test = Test::new();
    let bin = test.path().join("bin");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = test
        .file(
            "bin/op",
            "#!/bin/sh\ncase \"$1 $2\" in\n  'whoami ') echo me@example.invalid ;;\n  'read op://infra/github/token') echo s3cr3t-value-123 ;;\n  *) echo \"[ERROR] could not read secret $2: item not found\" >&2; exit 1 ;;\nesac\n",
        )
        .tasks(
            r#"
[tasks.flux]
env = { GITHUB_TOKEN = { sh = "op read op://infra/github/token" }, OTHER = { sh = "op read 'op://infra/missing/field'" } }
cmds = ["true"]
"#,
        )
        .env("PATH", &path)
        .args(&["preflight", "flux"]);
    std::fs::set_permissions(bin.join("op"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod op");
    let out = out.run();
    out.status(8);
    let table = out.stdout();
    let line =
        |needle: &str| table.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}:\n{table}"));
    assert!(line("1Password CLI signed in").contains(" ok "), "{table}");
    assert!(line("op://infra/github/token").contains(" ok ") && line("op://infra/github/token").contains("resolvable"));
    assert!(line("op://infra/missing/field").contains("item not found"), "{table}");
    out.output_lacks("s3cr3t-value-123");

    let out = out.then().env("PATH", &path).args(&["--output", "json", "preflight", "flux"]).run();
    out.status(8);
    let report: serde_json::Value = serde_json::from_str(out.stdout()).expect("JSON");
    assert_eq!(report["checks"].as_array().map(Vec::len), Some(4), "{report:#}");
    assert_eq!(report["checks"][0]["kind"], "tool");
    out.output_lacks("s3cr3t-value-123");
}

#[test]
fn a_bootstrap_reports_a_missing_variable_with_everything_else() {
    let tasks = r#"
[tasks.flux]
requires = { vars = ["GITHUB_USER"], env = ["OPSRUN_PREFLIGHT_GITHUB_TOKEN"] }
cmds = ["echo {{.GITHUB_USER}} > ran"]
[pipelines.bootstrap]
targets = ["flux"]
"#;
    let out = Test::new().tasks(tasks).args(&["bootstrap"]).run();
    out.status(8).stderr_contains("GITHUB_USER").stderr_contains("OPSRUN_PREFLIGHT_GITHUB_TOKEN");
    assert!(!out.exists("ran"));
    let out = out.then().env("OPSRUN_PREFLIGHT_GITHUB_TOKEN", "t").args(&["bootstrap", "GITHUB_USER=me"]).run();
    out.status(0).stderr_contains("preflight: 1 check passed");
    assert_eq!(out.read("ran"), "me\n");
}
