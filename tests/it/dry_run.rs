//! `--dry-run` runs nothing and shows what would run, in order, fully resolved.

use insta::assert_snapshot;

use crate::support::Test;

const DEPLOY: &str = r#"
[vars]
TARGET = "from-file"
ENV = "staging"
[tasks.prep]
cmds = ["touch prep.marker", "echo preparing {{.TARGET}}"]
[tasks.deploy]
deps = ["prep"]
cmds = ["touch deploy.marker", "echo deploying {{.TARGET}} to {{.ENV}} with {{.CLI_ARGS}}"]
"#;

#[test]
fn dry_run_runs_nothing_and_lists_resolved_commands() {
    let out = Test::new().tasks(DEPLOY).args(&["run", "--dry-run", "deploy", "TARGET=from-cli", "--", "--wait"]).run();
    out.status(0);
    assert!(!out.exists("prep.marker") && !out.exists("deploy.marker"), "a dry run ran a command");
    assert!(!out.exists(".opsrun/runs"), "a dry run recorded a run");
    let stdout = out.stdout();
    let prep = stdout.find("echo preparing from-cli").expect("prep's resolved command");
    let deploy = stdout.find("echo deploying from-cli to staging with --wait").expect("deploy's resolved command");
    assert!(prep < deploy, "tasks are not listed in dependency order:\n{stdout}");
    assert_snapshot!(out.stdout_redacted());
}

#[test]
fn dry_run_of_one_task_counts_it_in_the_singular() {
    // BUG: the header reads "(1 tasks, 1 would run)".
    let out = Test::new().tasks(DEPLOY).args(&["run", "-n", "prep"]).run();
    out.status(0).stdout_contains("dry run of prep (1 task, 1 would run)");
    assert!(!out.exists("prep.marker"));
}
