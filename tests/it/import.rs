//! `opsrun import` and reading a Taskfile directly: what the importer writes and reports
//! (rewrites, suggestions, located warnings, `--strict`, `--check`, determinism, refusing to
//! overwrite a hand-written file), discovery, and a large generated project (nested includes,
//! templated include vars) whose task list must be go-task's, `task --list-all --json`, read
//! directly and after import.
//!
//! Comparisons with go-task need go-task 3.54 on `PATH` (see `gotask.rs`); they fail, never skip,
//! without it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::Test;

/// A Taskfile exercising what the importer reports.
const REPORTED: &str = r"version: '3'
interval: 5s
includes:
  remote: https://example.invalid/Taskfile.yml
tasks:
  build:
    cmds: [echo building]
  all:
    cmds:
      - task build
      - mise exec -- task build
      - go-task build V=1
  kept:
    cmds:
      - task build && echo chained
      - task nosuch
  watcher:
    watch: true
    sources:
      - src/**
      - exclude: src/generated/**
    cmds: [echo watching]
    colour: red
";

#[test]
fn import_rewrites_task_commands_and_reports_what_it_cannot_express_with_locations() {
    let out = Test::new().file("Taskfile.yml", REPORTED).args(&["import"]).run();
    out.status(0);
    let stderr = out.stderr();
    for expected in [
        "rewrote 3 `task` command(s) into calls:",
        "Taskfile.yml:10:9: `task build` → { task = \"build\" }",
        "Taskfile.yml:11:9: `mise exec -- task build` → { task = \"build\" }",
        "Taskfile.yml:12:9: `go-task build V=1` → { task = \"build\" }",
        "kept 2 `task` command(s) as commands",
        "`task nosuch`: `nosuch` is not a task of this Taskfile",
        // Warnings, each at its place in the Taskfile.
        "warning: `interval` (the watch interval) is not imported",
        "Taskfile.yml:2:1",
        "warning: remote include `remote` (`https://example.invalid/Taskfile.yml`) is not fetched",
        "Taskfile.yml:4:11",
        "warning: task `watcher`: `watch` is not imported",
        "Taskfile.yml:18:5",
        "`exclude` in `sources` is not imported",
        "Taskfile.yml:21:18",
        "warning: task `watcher`: unknown key `colour`",
        "Taskfile.yml:23:5",
        "wrote tasks.toml",
    ] {
        assert!(stderr.contains(expected), "no {expected:?} in:\n{stderr}");
    }
    let written = out.read("tasks.toml");
    assert!(written.starts_with("# Converted from Taskfile.yml by `opsrun import`"), "{written}");
    for expected in [
        "run = \"always\"",
        "undefined_vars = \"empty\"",
        "background = \"keep\"",
        "cmds = [{ task = \"build\" }, { task = \"build\" }, { task = \"build\", vars = { V = \"1\" } }]",
        "\"task build && echo chained\"",
        "sources = [\"src/**\"]",
    ] {
        assert!(written.contains(expected), "no {expected:?} in:\n{written}");
    }
    // The imported file runs, and the rewritten calls are calls.
    let run = out.then().args(&["run", "all"]).run();
    run.status(0);
    assert_eq!(run.stdout().matches("building").count(), 3, "{}", run.stdout());
}

#[test]
fn strict_import_fails_on_warnings_and_writes_nothing() {
    let out = Test::new().file("Taskfile.yml", REPORTED).args(&["import", "--strict"]).run();
    out.status(2);
    out.stderr_contains("error: `interval` (the watch interval) is not imported");
    assert!(!out.exists("tasks.toml"), "a strict import that failed wrote tasks.toml");
}

#[test]
fn importing_twice_gives_identical_bytes_and_check_writes_nothing() {
    let first = large_project().args(&["import", "services/svc1/Taskfile.yml"]).run();
    first.status(0);
    let once = first.read("services/svc1/tasks.toml");
    let common_once = first.read("services/svc1/common/tasks.toml");
    let second = first.then().args(&["import", "services/svc1/Taskfile.yml"]).run();
    second.status(0);
    assert_eq!(second.read("services/svc1/tasks.toml"), once, "a second import wrote other bytes");
    assert_eq!(second.read("services/svc1/common/tasks.toml"), common_once);
    let check = second.then().args(&["import", "--check", "Taskfile.yml"]).run();
    check.status(0);
    check.stderr_contains("nothing written: --check");
    assert!(!check.exists("tasks.toml"), "--check wrote the root tasks.toml");
}

#[test]
fn import_refuses_to_overwrite_a_hand_written_tasks_file_unless_forced() {
    let out = Test::new()
        .file("Taskfile.yml", "version: '3'\ntasks:\n  a: echo a\n")
        .tasks("[tasks.mine]\ncmds = [\"echo mine\"]\n")
        .args(&["import"])
        .run();
    out.status(2);
    out.stderr_contains("exists and was not written by `opsrun import`");
    assert!(out.read("tasks.toml").contains("mine"));
    let forced = out.then().args(&["import", "--force"]).run();
    forced.status(0);
    assert!(forced.read("tasks.toml").contains("[tasks.a]"));
    // From now on the imported file is the importer's own: importing again needs no --force.
    let again = forced.then().args(&["import"]).run();
    again.status(0);
}

#[test]
fn import_output_must_be_a_toml_file_next_to_the_taskfile() {
    let out = Test::new()
        .file("Taskfile.yml", "version: '3'\ntasks:\n  a: echo a\n")
        .dir("elsewhere")
        .args(&["import", "-o", "elsewhere/tasks.toml"])
        .run();
    out.status(2);
    out.stderr_contains("write the tasks file next to the Taskfile");
    let named = out.then().args(&["import", "-o", "ops.toml"]).run();
    named.status(0);
    assert!(named.read("ops.toml").contains("[tasks.a]"));
    let run = named.then().args(&["-f", "ops.toml", "run", "a"]).run();
    run.status(0);
    run.stdout_contains("a");
}

#[test]
fn hand_rolled_phases_get_a_pipeline_suggestion() {
    let out = Test::new()
        .file(
            "Taskfile.yml",
            r"version: '3'
tasks:
  phase-1:
    status: [test -f .bootstrap-state/phase-1-complete]
    cmds:
      - echo talos
      - sleep 30
      - kubectl wait --for=condition=Ready nodes --all || true
      - touch .bootstrap-state/phase-1-complete
",
        )
        .args(&["import", "--check"])
        .run();
    out.status(0);
    let stderr = out.stderr();
    for expected in [
        "note: task `phase-1` chains a phase by hand: marker files (`.bootstrap-state/phase-1-complete`)",
        "a fixed wait (`sleep 30`)",
        "a wait whose failure is ignored",
        "Taskfile.yml:3:3",
        "[pipelines.NAME]",
        "`health` gate",
    ] {
        assert!(stderr.contains(expected), "no {expected:?} in:\n{stderr}");
    }
}

#[test]
fn a_broken_taskfile_is_refused_with_its_location() {
    let out = Test::new().file("Taskfile.yml", "version: '3'\ntasks:\n  a: [unclosed\n").args(&["list"]).run();
    out.status(2);
    out.stderr_contains("error: invalid YAML");
    out.stderr_contains("Taskfile.yml:4:1");
    let loader = out
        .then()
        .file(
            "Taskfile.yml",
            "version: '3'\ntasks:\n  a:\n    platforms: [plan10]\n    cmds:\n      - echo {{.X | bogus}}\n",
        )
        .args(&["run", "a"])
        .run();
    loader.status(2);
    let stderr = loader.stderr();
    for expected in ["unknown function `bogus`", "Taskfile.yml:6:21", "invalid platform `plan10`", "Taskfile.yml:4:17"]
    {
        assert!(stderr.contains(expected), "no {expected:?} in:\n{stderr}");
    }
    let v2 = loader.then().file("Taskfile.yml", "version: '2'\ntasks: {}\n").args(&["import"]).run();
    v2.status(2);
    v2.stderr_contains("unsupported Taskfile version `2`");
}

#[test]
fn discovery_takes_tasks_toml_first_then_a_taskfile_per_directory_walking_up() {
    let out = Test::new()
        .file("Taskfile.yml", "version: '3'\ntasks:\n  where: echo root-taskfile\n")
        .file("sub/taskfile.yaml", "version: '3'\ntasks:\n  where: echo sub-taskfile\n")
        .file("sub/deeper/.keep", "")
        .current_dir("sub/deeper")
        .args(&["where"])
        .run();
    out.status(0);
    assert_eq!(out.stdout(), "sub-taskfile\n");
    out.stderr_contains("opsrun: reading the go-task Taskfile ");
    out.stderr_contains("`opsrun import` converts it to tasks.toml for good");
    // A tasks.toml in the same directory wins over the Taskfile, and no notice is printed.
    let toml = out
        .then()
        .file("sub/tasks.toml", "[tasks.where]\ncmds = [\"echo sub-toml\"]\n")
        .current_dir("sub")
        .args(&["where"])
        .run();
    toml.status(0);
    assert_eq!(toml.stdout(), "sub-toml\n");
    toml.output_lacks("reading the go-task Taskfile");
}

#[test]
fn a_hand_written_tasks_file_keeps_opsrun_defaults_and_background_keep_is_a_setting() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.strict]
cmds = ["echo [{{.NOPE}}]"]

[tasks.keeper]
background = "keep"
cmds = ["sh -c 'echo $$ > keeper.pid; exec sleep 1253' &", "echo kept"]
"#,
        )
        .args(&["run", "strict"])
        .run();
    out.status(2);
    out.stderr_contains("undefined variable `NOPE`");
    let kept = out.then().args(&["run", "keeper"]).run();
    kept.status(0);
    kept.stdout_contains("kept");
    let pid: i32 = kept.read("keeper.pid").trim().parse().expect("a pid");
    let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    assert!(alive, "the background process of a `background = \"keep\"` task was killed");
}

/// Nine services under `services/`, each including `services/common` with templated vars.
fn large_project_root() -> String {
    let mut text = String::from("version: '3'\nvars:\n  ENV: prod\n  REGION: eu-1\nincludes:\n");
    for i in 1..=9 {
        let _ = write!(
            text,
            "  svc{i}:\n    taskfile: ./services/svc{i}\n    vars:\n      SERVICE: 'svc{i}-{{{{.ENV}}}}'\n"
        );
        match i {
            2 => text.push_str("    aliases: [s2, two]\n"),
            3 => text.push_str("    dir: ./services/svc3\n"),
            4 => text.push_str("    internal: true\n"),
            5 => text.push_str("    excludes: [step-36, deploy]\n"),
            6 => text.push_str("    optional: true\n"),
            _ => {}
        }
    }
    text.push_str("tasks:\n");
    for j in 0..50 {
        let _ = writeln!(text, "  root-{j}:");
        if j % 2 == 0 {
            let _ = writeln!(text, "    desc: Root task {j}");
        }
        if j > 0 {
            let _ = writeln!(text, "    deps: [root-{}]", j - 1);
        }
        let _ = writeln!(text, "    cmds: ['echo root-{j} {{{{.ENV}}}}']");
    }
    text.push_str("  deploy-all:\n    deps: [svc1:deploy, s2:deploy, svc3:deploy]\n    cmds: [echo all-deployed]\n");
    text
}

/// One service: 40 tasks in a chain, some internal, some with aliases, and its own copy of the
/// common include, whose include vars are templated from the root's vars. (Templated from the
/// service file's own vars, go-task 3.54 gives every service the vars of one of them, its file
/// vars being global; opsrun gives each its own: a deliberate difference, see
/// docs/migrating-from-taskfile.md.)
fn service(i: usize) -> String {
    let mut text = format!(
        "version: '3'\nvars:\n  TEAM: team{i}\nincludes:\n  common:\n    taskfile: ./common\n    vars:\n      OWNER: 'owner-{{{{.ENV}}}}-{{{{.REGION}}}}'\ntasks:\n"
    );
    for j in 0..37 {
        let _ = writeln!(text, "  step-{j}:");
        if j % 3 == 0 {
            let _ = writeln!(text, "    desc: Step {j} of {{{{.SERVICE}}}}");
        }
        if j % 10 == 9 {
            let _ = writeln!(text, "    internal: true");
        }
        if j == 5 {
            let _ = writeln!(text, "    aliases: [five]");
        }
        if j > 0 {
            let _ = writeln!(text, "    deps: [step-{}]", j - 1);
        }
        let _ = writeln!(text, "    cmds: ['echo svc{i} step-{j}']");
    }
    text.push_str("  build: echo 'build {{.SERVICE}} for {{.TEAM}}'\n");
    text.push_str("  test:\n    deps: [build]\n    cmds: [echo test]\n");
    text.push_str(
        "  deploy:\n    deps: [test, common:check]\n    cmds:\n      - echo 'deploy {{.SERVICE}} in {{.REGION}}'\n      - task: common:notify\n        vars: {WHAT: deployed}\n",
    );
    text
}

/// What each service includes.
const COMMON: &str = r"version: '3'
tasks:
  check:
    cmds: ['echo check {{.OWNER}} {{.SERVICE}}']
  notify:
    cmds: ['echo notify {{.WHAT}} {{.OWNER}}']
  lint: echo lint
  fmt: echo fmt
  internal-helper:
    internal: true
    cmds: [echo helper]
";

/// A project with the large Taskfile, in a fresh directory.
fn large_project() -> Test {
    let mut test = Test::new().file("Taskfile.yml", &large_project_root());
    for i in (1..=9).filter(|&i| i != 6) {
        test = test
            .file(&format!("services/svc{i}/Taskfile.yml"), &service(i))
            .file(&format!("services/svc{i}/common/Taskfile.yml"), COMMON);
    }
    test
}

/// The names `task --list-all --json` lists in `dir`.
fn go_task_names(dir: &Path) -> BTreeSet<String> {
    let output = Command::new("task")
        .args(["--list-all", "--json"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("go-task is needed (`python3 -m pip install go-task-bin==3.54.0`): {e}"));
    assert!(output.status.success(), "task --list-all failed: {}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("go-task's JSON");
    json["tasks"]
        .as_array()
        .expect("a task list")
        .iter()
        .map(|t| t["name"].as_str().expect("a name").to_owned())
        .collect()
}

/// The names `opsrun list --all --json` lists, internal tasks left out (as go-task does).
fn opsrun_names(stdout: &str) -> BTreeSet<String> {
    let json: serde_json::Value = serde_json::from_str(stdout).expect("opsrun's JSON");
    json.as_array()
        .expect("a task list")
        .iter()
        .filter(|t| t["internal"] == false)
        .map(|t| t["name"].as_str().expect("a name").to_owned())
        .collect()
}

#[test]
fn a_large_generated_taskfile_lists_what_go_task_lists_directly_and_after_import() {
    let direct = large_project().args(&["list", "--all", "--json"]).run();
    direct.status(0);
    let expected = go_task_names(direct.path());
    assert!(expected.len() > 300, "the generated project is large: {} tasks", expected.len());
    assert_eq!(opsrun_names(direct.stdout()), expected, "read directly");

    let imported = direct.then().args(&["import"]).run();
    imported.status(0);
    assert!(imported.exists("services/svc1/tasks.toml") && imported.exists("services/svc1/common/tasks.toml"));
    let listed = imported.then().args(&["list", "--all", "--json"]).run();
    listed.status(0);
    listed.output_lacks("reading the go-task Taskfile");
    assert_eq!(opsrun_names(listed.stdout()), expected, "after import");
}

#[test]
fn a_large_generated_taskfile_runs_as_go_task_runs_it() {
    let direct = large_project().args(&["run", "deploy-all"]).run();
    direct.status(0);
    // One task at a time: go-task's concurrent tasks can write into each other's lines (seen
    // on a busy machine: two lines glued together and an empty one), and only the lines'
    // content is compared here.
    let output = Command::new("task")
        .args(["--concurrency", "1", "deploy-all"])
        .current_dir(direct.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("go-task is needed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    let expected = sorted(&String::from_utf8_lossy(&output.stdout));
    assert!(expected.contains(&"deploy svc2-prod in eu-1".to_owned()), "{expected:?}");
    assert_eq!(sorted(direct.stdout()), expected, "read directly");
    let imported = direct.then().args(&["import"]).run();
    imported.status(0);
    let run = imported.then().args(&["run", "deploy-all"]).run();
    run.status(0);
    assert_eq!(sorted(run.stdout()), expected, "after import");
}

#[test]
fn a_reference_to_a_missing_task_is_a_warning_and_fails_only_when_reached() {
    let taskfile = "version: '3'\ntasks:\n  ok:\n    desc: fine\n    cmds: [echo ok]\n  broken:\n    desc: calls a task that is gone\n    cmds:\n      - task: gone\n";
    let listed = Test::new().file("Taskfile.yml", taskfile).args(&["list"]).run();
    listed.status(0);
    listed.stdout_contains("broken");
    let ok = listed.then().args(&["run", "ok"]).run();
    ok.status(0);
    assert_eq!(ok.stdout(), "ok\n");
    let broken = ok.then().args(&["run", "broken"]).run();
    broken.status(1);
    broken.stderr_contains("task: Task \"gone\" does not exist");
    let imported = broken.then().args(&["import"]).run();
    imported.status(0);
    imported.stderr_contains("task `broken` refers to `gone`, which is not a task of this Taskfile");
    imported.stderr_contains("Taskfile.yml:9:15");
}
