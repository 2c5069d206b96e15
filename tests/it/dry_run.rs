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

#[test]
fn a_long_dry_run_is_printed_whole_with_every_secret_masked() {
    // 2,000 tasks print about 300 KiB: several blocks of the buffered, masked writer.
    const SECRET: &str = "s3cr3t-t0k3n-7c1";
    let mut toml = format!("[vars]\nTOKEN = {{ value = \"{SECRET}\", secret = true }}\n");
    for i in 0..2000 {
        let deps = if i == 0 { String::new() } else { format!("deps = [\"t{}\"]\n", i - 1) };
        toml.push_str(&format!(
            "[tasks.t{i}]\n{deps}cmds = [\"echo {{{{.TOKEN}}}} {i}\", \"echo 'line one\\n  and {{{{.TOKEN}}}}'\"]\n"
        ));
    }
    let out = Test::new().tasks(&toml).args(&["run", "--dry-run", "t1999"]).run();
    out.status(0).output_lacks(SECRET).stdout_contains("dry run of t1999 (2000 tasks, 2000 would run)");
    let stdout = out.stdout();
    assert_eq!(stdout.matches("   $ echo **** ").count(), 2000, "one masked command per task");
    assert_eq!(stdout.matches("\n       and ****'\n").count(), 2000, "each script's second line, masked");
    let last = "\n2000. t1999 [run: always runs (no status or sources to check)]\n   after: t1998\n";
    let tail = &stdout[stdout.rfind(last).expect("the last task")..];
    assert!(tail.ends_with("\n   $ echo **** 1999\n   $ echo 'line one\n       and ****'\n"), "{tail}");
}
