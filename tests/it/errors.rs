//! Every class of user error: the exit code, no panic, and the exact message (snapshots, with
//! the project's path shown as `[TMP]`).

use insta::assert_snapshot;

use crate::support::{Output, Test};

/// Runs `args` on a project whose `tasks.toml` is `toml`, expecting a usage error (exit 2).
fn usage_error(toml: &str, args: &[&str]) -> Output {
    let out = Test::new().tasks(toml).args(args).run();
    out.status(2);
    assert!(out.stderr().starts_with("error: "), "not an error message:\n{}", out.stderr());
    out
}

#[test]
fn toml_syntax_error() {
    let out = usage_error("version = 1\n[tasks.a]\ncmds = [\"echo a\"\n", &["run", "a"]);
    out.stderr_contains("tasks.toml:3:");
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn unknown_key_in_a_task() {
    // BUG: with the real list of task keys, `cmdz` is matched to `cmd` (Jaro-Winkler favours the
    // shared prefix of the shorter key) although the value is a list, the keys are equally far
    // apart by edit distance, and `cmds` is the one meant.
    let out = usage_error("[tasks.a]\ncmdz = [\"echo a\"]\n", &["run", "a"]);
    out.stderr_contains("tasks.toml:2:1").stderr_contains("did you mean `cmds`?");
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn wrong_type() {
    let out = usage_error("[tasks.a]\ncmds = [\"echo a\"]\ndeps = \"b\"\n", &["run", "a"]);
    out.stderr_contains("tasks.toml:3:8");
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn unknown_dependency() {
    let out = usage_error(
        "[tasks.alpha]\ncmds = [\"true\"]\n[tasks.b]\ndeps = [\"alpah\"]\ncmds = [\"true\"]\n",
        &["run", "b"],
    );
    out.stderr_contains("did you mean `alpha`?");
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn dependency_cycle() {
    let out =
        usage_error("[tasks.a]\ndeps = [\"b\"]\n[tasks.b]\ndeps = [\"c\"]\n[tasks.c]\ndeps = [\"a\"]\n", &["run", "a"]);
    out.stderr_contains("a → b → c → a");
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn undefined_variable() {
    let out = usage_error("[tasks.a]\ncmds = [\"echo {{.NOPE}}\"]\n", &["run", "a"]);
    out.stderr_contains("`NOPE`").stderr_contains("tasks.toml:2:15");
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn unknown_task_on_the_command_line() {
    let out = usage_error("[tasks.build]\ncmds = [\"true\"]\n", &["run", "biuld"]);
    out.stderr_contains("did you mean `build`?");
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn invalid_duration() {
    let out = usage_error("[tasks.a]\ntimeout = \"5 minutes\"\ncmds = [\"true\"]\n", &["run", "a"]);
    out.stderr_contains("tasks.toml:2:11");
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn invalid_template() {
    let out = usage_error("[tasks.a]\ncmds = [\"echo {{.X\"]\n", &["run", "a"]);
    out.stderr_contains("tasks.toml:2:");
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn health_gate_without_a_probe() {
    let out = usage_error("[tasks.a]\ncmds = [\"true\"]\n[tasks.a.health]\ninterval = \"1s\"\n", &["run", "a"]);
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn no_tasks_file() {
    let out = Test::new().args(&["run", "a"]).run();
    out.status(2);
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn missing_include() {
    let out = usage_error("[includes]\nns = \"nope.toml\"\n[tasks.a]\ncmds = [\"true\"]\n", &["run", "a"]);
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn unknown_pipeline() {
    let out =
        usage_error("[pipelines.deploy]\ntargets = [\"a\"]\n[tasks.a]\ncmds = [\"true\"]\n", &["pipeline", "deplyo"]);
    out.stderr_contains("did you mean `deploy`?");
    assert_snapshot!(out.stderr_redacted());
}

const CONFIRM: &str = r#"
[tasks.drop-db]
confirm = "Drop the database?"
cmds = ["touch dropped"]
"#;

#[test]
fn confirmation_refused_without_a_terminal() {
    let out = Test::new().tasks(CONFIRM).args(&["run", "drop-db"]).run();
    out.status(5);
    assert!(!out.exists("dropped"), "the task ran without confirmation");
    assert_snapshot!(out.stderr_redacted());
}

#[test]
fn yes_confirms() {
    let out = Test::new().tasks(CONFIRM).args(&["run", "--yes", "drop-db"]).run();
    out.status(0);
    assert!(out.exists("dropped"), "--yes did not run the task");
}

#[test]
fn gitops_keys_are_checked_where_they_are_written() {
    let out = usage_error("[tasks.a]\ncmds = [\"true\"]\n[gitops]\ndif = \"x\"\n", &["list"]);
    out.stderr_contains("unknown field `dif`")
        .stderr_contains("tasks.toml:4:1")
        .stderr_contains("did you mean `diff`?");
    let out = usage_error(
        "[tasks.a]\ncmds = [\"true\"]\n[gitops]\ndiff = \"flux diff {{.NAME\"\ntimeout = \"2 minutes\"\n[gitops.paths]\napps = \"/abs\"\n",
        &["list"],
    );
    let stderr = out.stderr();
    let at = |needle: &str| stderr.find(needle).unwrap_or_else(|| panic!("no {needle:?} in\n{stderr}"));
    // Every problem, each at its own value, in file order.
    assert!(at("invalid template") < at("tasks.toml:4:19"));
    assert!(at("tasks.toml:4:19") < at("invalid duration"));
    assert!(at("invalid duration") < at("tasks.toml:5:11"));
    assert!(at("tasks.toml:5:11") < at("invalid path for Kustomization `apps` in [gitops.paths]"));
    assert!(at("[gitops.paths]") < at("tasks.toml:7:8"));
}

#[test]
fn every_undefined_variable_of_a_run_is_reported_at_once() {
    let out = usage_error(
        r#"
[tasks.a]
cmds = ["echo {{.FIRST}} {{.SECOND}}", "echo {{.THIRD}}"]
[tasks.b]
deps = ["a"]
cmds = ["echo {{.FOURTH}}"]
"#,
        &["run", "b"],
    );
    for name in ["FIRST", "SECOND", "THIRD", "FOURTH"] {
        out.stderr_contains(&format!("undefined variable `{name}`"));
    }
    assert_eq!(out.stderr().matches("error: ").count(), 4, "{}", out.stderr());
}

#[test]
fn a_probe_gate_the_binary_cannot_run_is_refused_before_anything_runs() {
    let out = Test::new()
        .tasks("[tasks.first]\ncmds = ['touch ran']\n[tasks.g]\ndeps = ['first']\ncmds = ['true']\nhealth = { probe = 'api-ready' }\n")
        .args(&["run", "g"])
        .run();
    out.status(2)
        .stderr_contains("its gate calls the probe `api-ready`, which is not registered")
        .stderr_contains("on the command line use `cmd`, `http` or `tcp`");
    assert!(!out.exists("ran"), "nothing ran");
}
