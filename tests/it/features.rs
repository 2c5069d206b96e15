//! Task features as a user meets them: variables, arguments, directories, environment,
//! preconditions, up-to-date checks, retries, includes, secrets and resuming a pipeline.

use std::fs;
use std::path::Path;

use opsrun::event::{Event, SkipReason, TaskOutcome};

use crate::support::{Test, outcome};

#[test]
fn command_line_var_overrides_file_var() {
    let toml = r#"
[vars]
NAME = "from-file"
[tasks.greet]
cmds = ["echo name={{.NAME}} > greet.out"]
"#;
    let out = Test::new().tasks(toml).args(&["run", "greet"]).run();
    out.status(0);
    assert_eq!(out.read("greet.out"), "name=from-file\n");
    let out = out.then().args(&["run", "greet", "NAME=from-cli"]).run();
    out.status(0);
    assert_eq!(out.read("greet.out"), "name=from-cli\n");
}

#[test]
fn cli_args_after_double_dash() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.args]
cmds = ["printf '%s\n' {{.CLI_ARGS}} > args.out"]
"#,
        )
        .args(&["run", "args", "--", "one", "two words", "$HOME"])
        .run();
    out.status(0);
    // Each argument stays one word and is not expanded by the shell.
    assert_eq!(out.read("args.out"), "one\ntwo words\n$HOME\n");
}

#[test]
fn tasks_file_is_found_from_a_subdirectory() {
    let out = Test::new()
        .tasks("[tasks.root]\ncmds = [\"pwd > root.out\"]\n")
        .dir("deep/er")
        .current_dir("deep/er")
        .args(&["run", "root"])
        .run();
    out.status(0);
    // Tasks run in the tasks file's directory by default.
    assert!(out.exists("root.out"), "the task did not run in the project root");
}

#[test]
fn dir_sets_the_working_directory() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.where]
dir = "sub/dir"
cmds = ["pwd > here.out"]
"#,
        )
        .dir("sub/dir")
        .args(&["run", "where"])
        .run();
    out.status(0);
    let here = out.read("sub/dir/here.out");
    let expected = out.path().join("sub/dir").canonicalize().expect("canonical path");
    assert_eq!(Path::new(here.trim()).canonicalize().expect("canonical path"), expected);
}

#[test]
fn env_and_dotenv_reach_commands() {
    let out = Test::new()
        .tasks(
            r#"
dotenv = [".env"]
[env]
GLOBAL = "global-value"
[tasks.show]
env = { LOCAL = "local-{{.SUFFIX}}" }
vars = { SUFFIX = "value" }
cmds = ["echo $GLOBAL $LOCAL $FROM_DOTENV > env.out"]
"#,
        )
        .file(".env", "FROM_DOTENV=dotenv-value\n")
        .args(&["run", "show"])
        .run();
    out.status(0);
    assert_eq!(out.read("env.out"), "global-value local-value dotenv-value\n");
}

#[test]
fn failing_precondition_stops_the_task_with_its_message() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.deploy]
preconditions = [{ sh = "test -f kubeconfig", msg = "no kubeconfig: run `opsrun run login` first" }]
cmds = ["touch deployed"]
"#,
        )
        .args(&["run", "deploy"])
        .run();
    out.status(1).stderr_contains("no kubeconfig: run `opsrun run login` first");
    assert!(!out.exists("deployed"), "the task ran despite its precondition");

    let out = out.then().file("kubeconfig", "").args(&["run", "deploy"]).run();
    out.status(0);
    assert!(out.exists("deployed"));
}

#[test]
fn status_commands_skip_an_up_to_date_task() {
    let toml = r#"
[tasks.install]
status = ["test -f installed"]
cmds = ["touch installed", "echo ran >> install.count"]
"#;
    let out = Test::new().tasks(toml).args(&["run", "install"]).run();
    out.status(0);
    let out = out.then().args(&["--output", "json", "run", "install"]).run();
    out.status(0);
    assert_eq!(out.lines("install.count"), 1, "an up-to-date task ran again");
    let events = out.json_events();
    assert_eq!(outcome(&events, "install"), TaskOutcome::UpToDate);

    // --force ignores the check.
    let out = out.then().args(&["run", "--force", "install"]).run();
    out.status(0);
    assert_eq!(out.lines("install.count"), 2);
}

#[test]
fn sources_and_generates_skip_until_a_source_changes() {
    let toml = r#"
[tasks.render]
sources = ["src/*.txt"]
generates = ["out.txt"]
cmds = ["cat src/*.txt > out.txt", "echo ran >> render.count"]
"#;
    let out = Test::new().tasks(toml).file("src/a.txt", "one\n").args(&["run", "render"]).run();
    out.status(0);
    assert_eq!(out.read("out.txt"), "one\n");

    let out = out.then().args(&["run", "render"]).run();
    out.status(0).stderr_contains("up to date");
    assert_eq!(out.lines("render.count"), 1, "ran again with unchanged sources");

    let out = out.then().file("src/a.txt", "two\n").args(&["run", "render"]).run();
    out.status(0);
    assert_eq!(out.lines("render.count"), 2, "did not re-run after a source changed");
    assert_eq!(out.read("out.txt"), "two\n");

    // A deleted generated file makes the task run again too.
    fs::remove_file(out.path().join("out.txt")).expect("remove generated file");
    let out = out.then().args(&["run", "render"]).run();
    out.status(0);
    assert_eq!(out.lines("render.count"), 3, "did not re-run after its output was deleted");
}

#[test]
fn retries_until_success() {
    // Fails on the first two attempts, succeeds on the third.
    let out = Test::new()
        .tasks(
            r#"
[tasks.flaky]
retries = { attempts = 3, delay = "10ms" }
cmds = ["echo x >> attempts; test $(wc -l < attempts) -ge 3"]
"#,
        )
        .args(&["--output", "json", "run", "flaky"])
        .run();
    out.status(0);
    assert_eq!(out.lines("attempts"), 3);
    let events = out.json_events();
    let retries: Vec<u32> = events
        .iter()
        .filter_map(|e| match e.event {
            Event::TaskRetrying { attempt, .. } => Some(attempt),
            _ => None,
        })
        .collect();
    assert_eq!(retries, [2, 3]);
    assert_eq!(outcome(&events, "flaky"), TaskOutcome::Ok);
}

#[test]
fn retries_exhausted_fails() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.broken]
retries = 2
cmds = ["echo x >> attempts; exit 7"]
"#,
        )
        .args(&["run", "broken"])
        .run();
    out.status(1).stderr_contains("exit code 7");
    assert_eq!(out.lines("attempts"), 3, "one attempt plus two retries");
}

#[test]
fn ignore_error_lets_dependents_run() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.optional]
ignore_error = true
cmds = ["exit 4"]
[tasks.next]
deps = ["optional"]
cmds = ["touch next.marker"]
"#,
        )
        .args(&["run", "next"])
        .run();
    out.status(0).stderr_contains("failed (ignored)");
    assert!(out.exists("next.marker"));
}

#[test]
fn internal_task_is_refused_from_the_command_line() {
    let toml = r#"
[tasks.helper]
internal = true
cmds = ["echo x >> helper.count"]
[tasks.main]
deps = ["helper"]
cmds = ["true"]
"#;
    let out = Test::new().tasks(toml).args(&["run", "helper"]).run();
    out.status(2).stderr_contains("internal");
    assert_eq!(out.lines("helper.count"), 0);
    // It still runs as a dependency.
    let out = out.then().args(&["run", "main"]).run();
    out.status(0);
    assert_eq!(out.lines("helper.count"), 1);
}

#[test]
fn alias_runs_the_task() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.kubernetes]
aliases = ["k8s"]
cmds = ["touch k8s.marker"]
"#,
        )
        .args(&["run", "k8s"])
        .run();
    out.status(0).stderr_contains("[kubernetes]");
    assert!(out.exists("k8s.marker"));
}

#[test]
fn includes_are_namespaced() {
    let out = Test::new()
        .tasks(
            r#"
[includes]
talos = "talos/tasks.toml"
[tasks.all]
deps = ["talos:apply"]
cmds = ["touch all.marker"]
"#,
        )
        .file(
            "talos/tasks.toml",
            r#"
[tasks.apply]
deps = ["gen"]
cmds = ["echo applied >> apply.out"]
[tasks.gen]
cmds = ["echo generated >> apply.out"]
"#,
        )
        .args(&["--output", "json", "run", "all"])
        .run();
    out.status(0);
    // As in go-task, included tasks run in the root directory unless the include sets `dir`.
    assert_eq!(out.read("apply.out"), "generated\napplied\n");
    assert!(out.exists("all.marker"));
    let events = out.json_events();
    assert_eq!(outcome(&events, "talos:apply"), TaskOutcome::Ok);
    assert_eq!(outcome(&events, "talos:gen"), TaskOutcome::Ok);

    let out = out.then().args(&["run", "talos:gen"]).run();
    out.status(0).stderr_contains("[talos:gen]");
}

#[test]
fn dynamic_var_is_evaluated_once_per_run() {
    let out = Test::new()
        .tasks(
            r#"
[vars]
VERSION = { sh = "echo x >> evaluations; echo 1.2.3" }
[tasks.t1]
cmds = ["echo t1 {{.VERSION}} >> used"]
[tasks.t2]
cmds = ["echo t2 {{.VERSION}} >> used"]
[tasks.t3]
cmds = ["echo t3 {{.VERSION}} >> used"]
[tasks.all]
deps = ["t1", "t2", "t3"]
"#,
        )
        .args(&["run", "all"])
        .run();
    out.status(0);
    assert_eq!(out.lines("evaluations"), 1, "the dynamic var was evaluated more than once");
    let mut used: Vec<String> = out.read("used").lines().map(str::to_owned).collect();
    used.sort();
    assert_eq!(used, ["t1 1.2.3", "t2 1.2.3", "t3 1.2.3"]);
}

/// Every file under `dir`, recursively, with its contents.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let contents = fs::read(&path).expect("read file");
                found.push((path.display().to_string(), contents));
            }
        }
    }
    found
}

#[test]
fn secrets_are_masked_everywhere() {
    const SECRET: &str = "s3cr3t-t0k3n-9f2";
    let toml = r#"
[vars]
TOKEN = { value = "s3cr3t-t0k3n-9f2", secret = true }
[tasks.login]
env = { TOKEN_ENV = "{{.TOKEN}}" }
cmds = ["echo token={{.TOKEN}}", "echo env=$TOKEN_ENV", "echo $TOKEN_ENV >&2", "exit 1"]
"#;
    let out = Test::new().tasks(toml).args(&["run", "login"]).run();
    out.status(1).output_lacks(SECRET).stdout_contains("token=****").stdout_contains("env=****");

    let out = out.then().args(&["--output", "json", "run", "login"]).run();
    out.status(1).output_lacks(SECRET);

    let out = out.then().args(&["logs", "login"]).run();
    out.status(0).output_lacks(SECRET).stdout_contains("token=****");

    let files = files_under(&out.path().join(".opsrun"));
    assert!(files.iter().any(|(path, _)| path.ends_with("login.log")), "no task log written: {files:?}");
    for (path, contents) in files {
        let text = String::from_utf8_lossy(&contents);
        assert!(!text.contains(SECRET), "the secret is in {path}:\n{text}");
    }

    let out = out.then().args(&["run", "--dry-run", "login"]).run();
    out.status(0).output_lacks(SECRET);
}

#[test]
fn pipeline_resumes_after_a_failure() {
    let toml = r#"
[pipelines.bootstrap]
targets = ["flux"]
[tasks.talos]
cmds = ["echo ran >> talos.count"]
[tasks.talos.health]
cmd = "test -f talos.count"
interval = "10ms"
success_threshold = 1
[tasks.flux]
deps = ["talos"]
cmds = ["test -f flux.ready", "echo ran >> flux.count"]
"#;
    let out = Test::new().tasks(toml).args(&["bootstrap"]).run();
    out.status(1).stderr_contains("resume with: opsrun bootstrap");
    assert_eq!(out.lines("talos.count"), 1);

    let out = out.then().file("flux.ready", "").args(&["--output", "json", "bootstrap"]).run();
    out.status(0);
    assert_eq!(out.lines("talos.count"), 1, "a stage that succeeded ran again");
    assert_eq!(out.lines("flux.count"), 1);
    let events = out.json_events();
    assert_eq!(outcome(&events, "talos"), TaskOutcome::Resumed);
    assert!(
        events.iter().any(
            |e| matches!(&e.event, Event::TaskSkipped { task, reason: SkipReason::Resumed, .. } if task == "talos")
        )
    );
    assert_eq!(outcome(&events, "flux"), TaskOutcome::Ok);
}

const NESTED: &str = r#"
[pipelines.bootstrap]
targets = ["outer"]
[tasks.outer]
cmds = ["echo outer-start", "\"$NESTED_OPSRUN\" run inner X=1", "echo outer-end"]
[tasks.inner]
cmds = ["echo inner {{.X}}"]
[tasks.nested-bootstrap]
cmds = ["\"$NESTED_OPSRUN\" bootstrap"]
"#;

#[test]
fn an_opsrun_started_by_a_task_joins_the_run_instead_of_fighting_its_lock() {
    let out =
        Test::new().tasks(NESTED).env("NESTED_OPSRUN", env!("CARGO_BIN_EXE_opsrun")).args(&["run", "outer"]).run();
    out.status(0);
    assert_eq!(out.stdout(), "outer-start\ninner 1\nouter-end\n");
    // One run: the nested one journals under the parent's id and never writes the state.
    let runs: Vec<String> = std::fs::read_dir(out.path().join(".opsrun/runs"))
        .expect("runs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let parent =
        runs.iter().find(|r| !r.contains(".nested-")).expect("the parent's journal").trim_end_matches(".jsonl");
    let nested = runs.iter().find(|r| r.contains(".nested-")).expect("the nested journal");
    let events = crate::support::parse_events(&out.read(&format!(".opsrun/runs/{nested}")));
    assert!(events.iter().all(|e| e.run == parent), "nested events carry the parent's run id");
    assert_eq!(outcome(&events, "inner"), TaskOutcome::Ok);
    let state = crate::support::persisted_state(out.path());
    assert!(state["tasks"].get("inner").is_none(), "the nested run wrote the parent's state: {state}");
    let listed = out.then().args(&["runs"]).run();
    listed.status(0);
    assert_eq!(listed.stdout().lines().filter(|l| l.contains(" run ")).count(), 1, "{}", listed.stdout());
}

#[test]
fn a_nested_pipeline_is_refused_and_a_guessed_token_joins_nothing() {
    let out = Test::new()
        .tasks(NESTED)
        .env("NESTED_OPSRUN", env!("CARGO_BIN_EXE_opsrun"))
        .args(&["run", "nested-bootstrap"])
        .run();
    out.status(1).stderr_contains("`bootstrap` cannot run inside run").stderr_contains("{ task = \"...\" }");
    // A token that is not the running opsrun's own is ignored: no run holds the lock now, so it
    // runs on its own.
    let alone =
        out.then().env("OPSRUN_RUN_TOKEN", "0123456789abcdef0123456789abcdef").args(&["run", "inner", "X=2"]).run();
    alone.status(0);
    assert_eq!(alone.stdout(), "inner 2\n");
}

#[test]
fn hints_say_what_is_true_explain_a_status_task_and_resume_without_fault_values() {
    let project = r#"
[pipelines.bootstrap]
targets = ["stage"]
[tasks.gen]
status = ["test -f out.txt"]
cmds = ["echo gen > out.txt"]
[tasks.stage]
cmds = ["test \"{{.FAIL | default \"no\"}}\" != yes"]
"#;
    let explained = Test::new().tasks(project).file("out.txt", "x\n").args(&["explain", "gen"]).run();
    explained.status(0).stdout_contains("gen will run unless its status commands pass");
    // A value given to make this run fail is not repeated in the hint; its name is.
    let failed = explained.then().args(&["bootstrap", "FAIL=yes"]).run();
    failed
        .status(1)
        .stderr_contains(
            "resume with: opsrun bootstrap (this run was given FAIL=...: pass again those that still apply)",
        )
        .output_lacks("FAIL=yes");
}
