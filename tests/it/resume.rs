//! Resume across a moved checkout: fingerprints are relative to the project's directory.

use std::path::Path;

use opsrun::event::TaskOutcome;

use crate::support::{Test, outcome};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn a_moved_checkout_resumes_instead_of_running_everything_again() {
    let out = Test::new()
        .tasks(
            r#"
env = { KUBECONFIG = "{{.ROOT_DIR}}/kubeconfig" }
[pipelines.bootstrap]
targets = ["b"]
[tasks.a]
sources = ["values.yaml"]
cmds = ["echo a >> {{.ROOT_DIR}}/ran.log", "touch $KUBECONFIG"]
[tasks.a.health]
cmd = "test -f $KUBECONFIG"
interval = "10ms"
success_threshold = 1
[tasks.b]
deps = ["a"]
dir = "sub"
cmds = ["mkdir -p {{.TASK_DIR}}", "echo b >> {{.ROOT_DIR}}/ran.log"]
"#,
        )
        .file("values.yaml", "replicas: 1\n")
        .file("sub/.keep", "")
        .args(&["bootstrap"])
        .run();
    out.status(0);
    let moved = tempfile::tempdir().expect("temp dir");
    let project = moved.path().join("renamed-checkout");
    copy_dir(out.path(), &project);
    let rerun = std::process::Command::new(env!("CARGO_BIN_EXE_opsrun"))
        .args(["--output", "json", "bootstrap"])
        .current_dir(&project)
        .env("CI", "true")
        .output()
        .expect("run opsrun");
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    let events = crate::support::parse_events(&String::from_utf8_lossy(&rerun.stdout));
    // Saved state is consulted first: both are resumed (`a`'s fingerprint covers its sources).
    // Neither runs.
    assert_eq!(outcome(&events, "a"), TaskOutcome::Resumed);
    assert_eq!(outcome(&events, "b"), TaskOutcome::Resumed);
    assert_eq!(std::fs::read_to_string(project.join("ran.log")).expect("log"), "a\nb\n", "a task ran again");
}

#[test]
fn status_reminds_which_variables_the_last_run_was_given() {
    let tasks = r#"
vars = { NODES = "10.0.0.1" }
[pipelines.bootstrap]
targets = ["talos"]
[tasks.talos]
cmds = ["echo {{.NODES}} > nodes"]
[tasks.talos.health]
cmd = "grep -q '{{.NODES}}' nodes"
interval = "10ms"
success_threshold = 1
"#;
    let out = Test::new().tasks(tasks).args(&["bootstrap", "NODES=127.0.0.2", "TOKEN=not-stored"]).run();
    out.status(0);
    // Names only: a value given on the command line could be a credential.
    let remembered = out.read(".opsrun/vars/bootstrap.json");
    assert!(remembered.contains("NODES") && !remembered.contains("not-stored"), "{remembered}");
    let status = out.then().args(&["status"]).run();
    status.status(4).stderr_contains("the last `bootstrap` run was given NODES=... TOKEN=...");
    status
        .then()
        .args(&["status", "NODES=127.0.0.2", "TOKEN=x"])
        .run()
        .status(0)
        .output_lacks("the last `bootstrap` run");
}

#[test]
fn credentials_given_on_the_command_line_are_masked_everywhere() {
    let out = Test::new()
        .tasks("[tasks.deploy]\ncmds = [\"echo using {{.API_TOKEN}}\", \"exit 1\"]\n")
        .args(&["run", "deploy", "API_TOKEN=hunter2-very-secret"])
        .run();
    // `opsrun run` never resumes, so it gives no "resume with" hint.
    out.status(1).stdout_contains("using ****").output_lacks("resume with");
    out.output_lacks("hunter2-very-secret");
    let mut stack = vec![out.path().join(".opsrun")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read .opsrun") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
                assert!(!text.contains("hunter2-very-secret"), "{} holds the credential", path.display());
            }
        }
    }
}

const CALLING_STAGE: &str = r#"
[pipelines.bootstrap]
targets = ["stage"]
[tasks.stage]
cmds = [{ task = "helper" }, "echo stage >> ran.log"]
[tasks.helper]
cmds = ["echo helper-v1 >> ran.log"]
"#;

#[test]
fn editing_a_called_task_reruns_its_resumed_caller() {
    let first = Test::new().tasks(CALLING_STAGE).args(&["bootstrap"]).run();
    first.status(0);
    assert_eq!(first.read("ran.log"), "helper-v1\nstage\n");
    // Unchanged: the stage is resumed and its helper is not called.
    let again = first.then().args(&["--output", "json", "bootstrap"]).run();
    again.status(0);
    assert_eq!(outcome(&again.json_events(), "stage"), TaskOutcome::Resumed);
    assert_eq!(again.read("ran.log"), "helper-v1\nstage\n");
    // The called task's commands change: its caller's fingerprint covers them, so it runs again.
    let edited = again
        .then()
        .tasks(&CALLING_STAGE.replace("helper-v1", "helper-v2"))
        .args(&["--output", "json", "explain", "stage"])
        .run();
    edited.status(0).stdout_contains("calls");
    let rerun = edited.then().args(&["--output", "json", "bootstrap"]).run();
    rerun.status(0);
    assert_eq!(outcome(&rerun.json_events(), "stage"), TaskOutcome::Ok);
    assert_eq!(rerun.read("ran.log"), "helper-v1\nstage\nhelper-v2\nstage\n");
}

#[test]
fn a_plain_run_leaves_its_records_in_the_state_log_and_a_pipeline_folds_them() {
    let first = Test::new()
        .tasks("[tasks.a]\ncmds = ['true']\n\n[pipelines.p]\ntargets = ['a']\n")
        .args(&["--output", "plain", "run", "a"])
        .run();
    // No snapshot (and none of its fsyncs) for `opsrun run`: the record is in the log, which
    // every load replays.
    assert!(!first.exists(".opsrun/state.json"), "a plain run wrote a snapshot");
    assert_eq!(crate::support::persisted_state(first.path())["tasks"]["a"]["status"], "succeeded");
    let second = first.then().args(&["--output", "plain", "run", "a"]).run();
    assert!(!second.exists(".opsrun/state.json"));
    assert_eq!(
        second.read(".opsrun/state.wal").lines().count(),
        4,
        "two lines per run: running (with its group), outcome"
    );
    // A pipeline uses the record (the task is resumed) and folds the log into a snapshot.
    let pipeline = second.then().args(&["--output", "plain", "pipeline", "p"]).run();
    pipeline.stderr_contains("resumed");
    assert!(pipeline.exists(".opsrun/state.json"));
    assert_eq!(pipeline.read(".opsrun/state.wal"), "", "the log was folded");
    assert_eq!(crate::support::persisted_state(pipeline.path())["tasks"]["a"]["status"], "succeeded");
}
