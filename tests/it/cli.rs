//! The read-only commands: `list`, `graph`, `completions`, `runs`, `logs`, `explain`.

use insta::assert_snapshot;

use crate::support::Test;

const PROJECT: &str = r#"
[tasks.talos]
desc = "Boot Talos"
aliases = ["os"]
cmds = ["echo talos up"]
[tasks.api]
desc = "Kubernetes API"
deps = ["talos"]
cmds = ["echo api up"]
[tasks.cilium]
desc = "Cilium CNI"
deps = ["api"]
cmds = ["echo cilium up"]
[tasks.flux]
desc = "Flux"
deps = ["cilium", "api"]
cmds = ["echo flux up"]
[tasks.helper]
internal = true
cmds = ["true"]
[tasks.undocumented]
cmds = ["true"]
"#;

#[test]
fn list_shows_described_tasks() {
    let out = Test::new().tasks(PROJECT).args(&["list"]).run();
    out.status(0);
    assert_snapshot!(out.stdout_redacted());
}

#[test]
fn list_all_shows_every_task() {
    let out = Test::new().tasks(PROJECT).args(&["list", "--all"]).run();
    out.status(0).stdout_contains("helper").stdout_contains("undocumented");
}

#[test]
fn list_json() {
    let out = Test::new().tasks(PROJECT).args(&["list", "--json"]).run();
    out.status(0);
    let tasks: serde_json::Value = serde_json::from_str(out.stdout()).expect("list --json is JSON");
    let names: Vec<&str> =
        tasks.as_array().expect("an array").iter().map(|t| t["name"].as_str().expect("a name")).collect();
    // Sorted as go-task sorts (`--sort none` keeps file order).
    assert_eq!(names, ["api", "cilium", "flux", "talos"]);
    assert_eq!(tasks[3]["aliases"], serde_json::json!(["os"]));
    assert_snapshot!(out.stdout());
}

#[test]
fn graph_text() {
    let out = Test::new().tasks(PROJECT).args(&["graph", "--format", "text", "flux"]).run();
    out.status(0);
    assert_snapshot!(out.stdout());
}

#[test]
fn graph_dot() {
    let out = Test::new().tasks(PROJECT).args(&["graph", "--format", "dot", "flux"]).run();
    out.status(0).stdout_contains("digraph");
    assert_snapshot!(out.stdout());
}

#[test]
fn graph_mermaid() {
    let out = Test::new().tasks(PROJECT).args(&["graph", "--format", "mermaid", "flux"]).run();
    out.status(0);
    assert_snapshot!(out.stdout());
}

#[test]
fn completions_bash() {
    let out = Test::new().args(&["completions", "bash"]).run();
    out.status(0).stdout_contains("opsrun");
    assert!(out.stdout().len() > 1000, "suspiciously short completions:\n{}", out.stdout());
}

#[test]
fn runs_and_logs_show_past_runs() {
    let out = Test::new().tasks(PROJECT).args(&["run", "api"]).run();
    out.status(0);
    let out = out.then().args(&["runs"]).run();
    out.status(0).stdout_contains("api").stdout_contains("succeeded");

    let out = out.then().args(&["runs", "--json"]).run();
    out.status(0);
    let runs: serde_json::Value = serde_json::from_str(out.stdout()).expect("runs --json is JSON");
    assert_eq!(runs.as_array().expect("an array").len(), 1);
    assert_eq!(runs[0]["outcome"], "succeeded");
    let id = runs[0]["id"].as_str().expect("a run id").to_owned();

    let out = out.then().args(&["logs", "talos"]).run();
    out.status(0).stdout_contains("$ echo talos up").stdout_contains("talos up\n");
    let out = out.then().args(&["logs", &id, "api"]).run();
    out.status(0).stdout_contains("api up");
}

#[test]
fn logs_of_a_task_that_never_ran() {
    let out = Test::new().tasks(PROJECT).args(&["run", "talos"]).run();
    out.status(0);
    out.then().args(&["logs", "flux"]).run().status(2).stderr_contains("no recorded run has a log for task `flux`");
}

#[test]
fn explain_says_why() {
    let toml = r#"
[tasks.render]
sources = ["in.txt"]
generates = ["out.txt"]
cmds = ["cp in.txt out.txt"]
"#;
    let out = Test::new().tasks(toml).file("in.txt", "1").args(&["explain", "render"]).run();
    out.status(0).stdout_contains("render will run");
    let out = out.then().args(&["run", "render"]).run();
    out.status(0);
    let out = out.then().args(&["explain", "render"]).run();
    out.status(0).stdout_contains("render will be skipped");
}

#[test]
fn bare_opsrun_runs_the_default_task_or_lists_the_tasks() {
    let out = Test::new().tasks("[tasks.default]\ncmds = [\"touch ran\"]\n").run();
    out.status(0);
    assert!(out.exists("ran"), "the default task did not run");
    let out = Test::new().tasks(PROJECT).run();
    out.status(0).stdout_contains("talos").stderr_contains("opsrun run TASK");
}

#[test]
fn a_desc_is_made_safe_for_the_terminal_and_wrapped() {
    let long = "word ".repeat(2000);
    let tasks = format!(
        "[tasks.evil]\ndesc = \"first line \\u001b[2J\\u0007 cleared\\nsecond line\"\ncmds = ['true']\n[tasks.long]\ndesc = \"{long}\"\ncmds = ['true']\n"
    );
    let out = Test::new().tasks(&tasks).env("COLUMNS", "80").args(&["list"]).run();
    let text = out.stdout();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "a control character reached the terminal:\n{text:?}");
    assert!(text.contains("evil  first line \\u{1b}[2J\\u{7} cleared …"), "{text}");
    assert!(!text.contains("second line"), "list shows more than the first line:\n{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "a line is wider than the terminal:\n{text}");
    assert!(text.lines().count() > 100, "the long desc was not wrapped:\n{text}");

    let out = out.then().env("COLUMNS", "80").args(&["--summary", "evil"]).run();
    assert!(!out.stdout().contains('\u{1b}'), "{:?}", out.stdout());
    out.stdout_contains("second line");
}

#[test]
fn output_json_is_honoured_by_every_command_that_prints() {
    let tasks = "[tasks.hello]\ndesc = 'Say hello'\ncmds = ['echo hello']\n";
    let out = Test::new().tasks(tasks).args(&["--output", "json", "list"]).run();
    let list: serde_json::Value = serde_json::from_str(out.stdout()).expect("list prints JSON");
    assert_eq!(list[0]["name"], "hello");
    let out = out.then().args(&["run", "hello"]).run();
    for args in [
        &["--output", "json", "runs"][..],
        &["--output", "json", "explain", "hello"],
        &["--output", "json", "graph"],
        &["--output", "json", "logs", "hello"],
        &["--output", "json", "--summary", "hello"],
        &["--output", "json", "override", "list"],
        &["--output", "json", "preflight", "hello"],
    ] {
        let out = Test::new().tasks(tasks).args(&["run", "hello"]).run().then().args(args).run();
        serde_json::from_str::<serde_json::Value>(out.stdout())
            .unwrap_or_else(|e| panic!("`opsrun {}` did not print JSON ({e}):\n{}", args.join(" "), out.stdout()));
    }
    drop(out);
}

const COMPLETION_PROJECT: &str = r#"
[vars]
CLUSTER = "home"
[tasks.hello]
desc = "Say hello"
cmds = ["echo hello"]
[tasks.deploy]
desc = "Deploy"
vars = { VERSION = "1" }
cmds = ["true"]
[tasks.secret-helper]
internal = true
cmds = ["true"]
[pipelines.bootstrap]
desc = "Bring it up"
targets = ["deploy"]
"#;

/// What opsrun answers for the word at `index` of `words` (`opsrun run hel`), as `shell` asks.
fn complete(project: &std::path::Path, shell: &str, words: &[&str], index: usize) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsrun"))
        .current_dir(project)
        .env("COMPLETE", shell)
        .env("_CLAP_COMPLETE_INDEX", index.to_string())
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(words)
        .output()
        .expect("run opsrun for completion");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).expect("UTF-8").lines().map(str::to_owned).collect()
}

#[test]
fn shells_complete_task_pipeline_and_variable_names_from_the_tasks_file() {
    let project = Test::new().tasks(COMPLETION_PROJECT).file("talconfig.yaml", "");
    let dir = project.path();
    assert_eq!(complete(dir, "bash", &["opsrun", "run", "hel"], 2), ["hello"]);
    let all = complete(dir, "bash", &["opsrun", "run", ""], 2);
    for want in ["hello", "deploy", "CLUSTER=", "VERSION="] {
        assert!(all.iter().any(|c| c == want), "no {want} in {all:?}");
    }
    assert!(!all.iter().any(|c| c == "secret-helper"), "an internal task is offered: {all:?}");
    assert_eq!(complete(dir, "bash", &["opsrun", "pipeline", "b"], 2), ["bootstrap"]);
    assert_eq!(complete(dir, "bash", &["opsrun", "run", "CLUSTER=talc"], 2), ["CLUSTER=talconfig.yaml"]);
    assert_eq!(complete(dir, "bash", &["opsrun", "-f", "talc"], 2), ["talconfig.yaml"]);
    // fish and zsh show the description next to the name.
    let fish = complete(dir, "fish", &["opsrun", "run", "hel"], 2);
    assert_eq!(fish, ["hello\tSay hello"]);
    let zsh = complete(dir, "zsh", &["opsrun", "run", "dep"], 2);
    assert_eq!(zsh, ["deploy:Deploy"]);
    drop(project);
}

#[test]
fn bash_completes_opsrun_run_hel_to_hello() {
    let project = Test::new().tasks(COMPLETION_PROJECT);
    let script = format!(
        r#"source <(COMPLETE=bash '{bin}')
COMP_WORDS=(opsrun run hel); COMP_CWORD=2; COMP_TYPE=9; COMP_LINE="opsrun run hel"; COMP_POINT=${{#COMP_LINE}}
_clap_complete_opsrun opsrun hel run
printf '%s\n' "${{COMPREPLY[@]}}""#,
        bin = env!("CARGO_BIN_EXE_opsrun")
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(project.path())
        .output()
        .expect("run bash");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n", "{out:?}");
    drop(project);
}
