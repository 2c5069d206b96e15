//! `opsrun init`: starters that load, plan, run and validate, never over an existing file, and
//! a pointer to `opsrun import` where a Taskfile lives.

use crate::support::Test;

#[test]
fn init_writes_a_starter_that_runs() {
    let out = Test::new().args(&["init"]).run();
    out.stderr_contains("wrote tasks.toml");
    let written = out.read("tasks.toml");
    assert!(written.lines().filter(|l| l.starts_with('#')).count() > 10, "not commented:\n{written}");
    let out = out.then().args(&["run", "hello"]).run();
    out.stdout_contains("hello, world");
    let out = out.then().args(&["pipeline", "local"]).run();
    out.stderr_contains("healthy: deployed/app in place");
    assert_eq!(out.read("deployed/app"), "built world\n");

    // Never over an existing file.
    let out = out.then().args(&["init", "--bootstrap"]).run();
    out.status(2).stderr_contains("`tasks.toml` already exists").stderr_contains("nothing was written");
    assert_eq!(out.read("tasks.toml"), written);
}

#[test]
fn init_bootstrap_writes_the_talos_to_flux_chain() {
    let out = Test::new().args(&["init", "--bootstrap"]).run();
    let out = out.then().args(&["list"]).run();
    for task in ["talos", "api", "cilium", "onepassword", "external-secrets", "flux", "bootstrap"] {
        out.stdout_contains(task);
    }
    let out = out.then().args(&["graph", "flux"]).run();
    out.stdout_contains("external-secrets");
    let out = out.then().args(&["bootstrap", "--dry-run"]).run();
    out.stdout_contains("6 tasks, 6 would run").stdout_contains("gate: cmd: kubectl get --raw=/readyz");
    // Its preflight checks the tools each stage needs.
    let out = out.then().env("PATH", "/nonexistent").args(&["preflight"]).run();
    out.status(8).stdout_contains("talosctl").stdout_contains("GITHUB_TOKEN");
    assert!(!out.exists(".opsrun/state.json"), "a preflight changed state");

    let schema = Test::new().args(&["schema"]).run();
    let schema: serde_json::Value = serde_json::from_str(schema.stdout()).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema");
    let value: toml::Value = toml::from_str(&out.read("tasks.toml")).expect("TOML");
    let errors: Vec<String> =
        validator.iter_errors(&serde_json::to_value(value).expect("JSON")).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn init_points_to_import_where_a_taskfile_lives() {
    let out = Test::new().file("Taskfile.yml", "version: '3'\ntasks: {}\n").args(&["init"]).run();
    out.status(2).stderr_contains("`Taskfile.yml` is a go-task Taskfile: convert it with `opsrun import`");
    assert!(!out.exists("tasks.toml"));
}
