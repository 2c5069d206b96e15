//! `opsrun bootstrap` of the real root `tasks.toml` against the simulated cluster: a full run,
//! failures and interrupts that resume without touching Talos or the API again, fingerprints,
//! the etcd bootstrap guard, health-gate classification, output modes and the event schema.
//!
//! What opsrun did is read back from the sim's `calls.log`; each test has its own project and
//! its own sim. Gates poll every 20ms. Tests that scan `/proc` use a sleep duration no other
//! test uses.

use std::fs;

use nix::sys::signal::Signal;
use opsrun::event::{Event, EventEnvelope, ProbeVerdict, TaskOutcome};

use crate::sim::{BOOTSTRAP_TASKS, STAGES, Sim, assert_foundation_untouched, count};
use crate::support::{Output, Test, assert_no_process, outcome, persisted_state};

/// The `gate_probe` events of `task`: (attempt, verdict, consecutive passes).
fn probes(events: &[EventEnvelope], task: &str) -> Vec<(u32, ProbeVerdict, u32)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::GateProbe { task: t, attempt, verdict, consecutive_passes, .. } if t == task => {
                Some((*attempt, *verdict, *consecutive_passes))
            }
            _ => None,
        })
        .collect()
}

/// The `gate_finished` event of `task`: (passed, attempts, message).
fn gate_finished(events: &[EventEnvelope], task: &str) -> (bool, u32, String) {
    events
        .iter()
        .find_map(|e| match &e.event {
            Event::GateFinished { task: t, passed, attempts, message, .. } if t == task => {
                Some((*passed, *attempts, message.clone().unwrap_or_default()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no gate_finished for {task}"))
}

/// Asserts the outcome of every bootstrap task: the Talos tasks and `api` skipped (up to date or
/// resumed), `cilium` and everything after it run again.
fn assert_resumed_from_cilium(events: &[EventEnvelope]) {
    for task in ["talos:genconfig", "talos:apply-config", "talos:bootstrap", "talos", "api"] {
        let outcome = outcome(events, task);
        assert!(matches!(outcome, TaskOutcome::UpToDate | TaskOutcome::Resumed), "{task} ran again: {outcome:?}");
    }
    for task in ["cilium", "onepassword", "external-secrets", "flux"] {
        assert_eq!(outcome(events, task), TaskOutcome::Ok, "{task} did not run again");
    }
}

/// The status recorded for `task` in the persisted state.
fn state_status(out: &Output, task: &str) -> String {
    let state = persisted_state(out.path());
    state["tasks"][task]["status"].as_str().unwrap_or_else(|| panic!("no status for {task} in {state:#}")).to_owned()
}

/// The outcome column of `task`'s row in the summary table on stderr.
fn summary_outcome<'o>(out: &'o Output, task: &str) -> &'o str {
    out.stderr()
        .lines()
        .filter_map(|l| l.strip_prefix(task)?.strip_prefix(' '))
        .find_map(|rest| rest.split("  ").map(str::trim).find(|c| !c.is_empty()))
        .unwrap_or_else(|| panic!("no summary row for {task}\n{}", out.stderr()))
}

#[test]
fn full_bootstrap_runs_every_stage_and_bootstraps_etcd_once() {
    let sim = Sim::new();
    let out = sim.bootstrapped();
    // Called tasks (`talos:kubeconfig`, `onepassword:secrets`) are tasks of the run too.
    out.stderr_contains("11 tasks: 11 ok").stderr_contains("run succeeded");
    for task in BOOTSTRAP_TASKS {
        assert_eq!(summary_outcome(&out, task), "ok", "{task}\n{}", out.stderr());
    }
    let calls = sim.calls();
    assert_eq!(count(&calls, "talosctl bootstrap"), 1, "{calls:#?}");
    assert_eq!(count(&calls, "flux bootstrap github"), 1, "{calls:#?}");
    for stage in STAGES {
        assert!(sim.ready(stage), "{stage} is not ready after the bootstrap\n{}", sim.simctl(&["state"]));
    }
}

#[test]
fn a_failed_stage_resumes_without_touching_talos_or_the_api() {
    let sim = Sim::new();
    sim.fault("cilium-install-fails", true);
    let out = sim.opsrun(sim.project(), &["bootstrap"], &[]).run();
    out.status(1)
        .stderr_contains("cilium failed")
        .stderr_contains("INSTALLATION FAILED")
        .stderr_contains("resume with: opsrun bootstrap");
    for task in ["onepassword", "external-secrets", "flux"] {
        assert!(out.stderr().lines().any(|l| l.starts_with(task) && l.contains("not run")), "{task} is not `not run`");
    }

    sim.fault("cilium-install-fails", false);
    let mark = sim.mark();
    let out = sim.opsrun(out.then(), &["--output", "json", "bootstrap"], &[]).run();
    out.status(0);
    assert_resumed_from_cilium(&out.json_events());
    let calls = sim.calls_since(mark);
    assert_foundation_untouched(&calls);
    assert_eq!(count(&calls, "helm upgrade --install cilium"), 1, "{calls:#?}");
    assert_eq!(count(&calls, "flux bootstrap github"), 1, "{calls:#?}");
}

#[test]
fn sigint_during_a_gate_wait_is_recorded_and_resumed() {
    let sim = Sim::new();
    // Cilium never becomes ready in time; the cap keeps each `cilium status --wait` short.
    sim.delay("cilium", 100_000);
    sim.config("wait-cap-ms", "50");
    let mut running = sim.opsrun(sim.project(), &["--output", "json", "bootstrap"], &[]).spawn();
    running.wait_for_stdout(r#""type":"gate_probe","task":"cilium""#);
    running.signal(Signal::SIGINT);
    let out = running.wait();
    out.status(130);
    let events = out.json_events();
    assert_eq!(outcome(&events, "cilium"), TaskOutcome::Interrupted);
    assert_eq!(state_status(&out, "cilium"), "interrupted");
    assert_eq!(state_status(&out, "api"), "succeeded");

    sim.delay("cilium", 0);
    let mark = sim.mark();
    let out = sim.opsrun(out.then(), &["--output", "json", "bootstrap"], &[]).run();
    out.status(0);
    assert_resumed_from_cilium(&out.json_events());
    assert_foundation_untouched(&sim.calls_since(mark));
}

#[test]
fn kill_9_during_a_gate_wait_is_detected_and_resumed() {
    let sim = Sim::new();
    sim.delay("cilium", 100_000);
    sim.config("wait-cap-ms", "50");
    let mut running = sim.opsrun(sim.project(), &["--output", "json", "bootstrap"], &[]).spawn();
    running.wait_for_stdout(r#""type":"gate_probe","task":"cilium""#);
    let first_run = {
        let state = persisted_state(running.path());
        assert_eq!(state["tasks"]["cilium"]["status"], "running", "{state:#}");
        state["tasks"]["cilium"]["run"].as_str().expect("cilium's run").to_owned()
    };
    running.signal(Signal::SIGKILL);
    let out = running.wait();
    assert_eq!(out.status_code(), None, "opsrun survived SIGKILL");

    sim.delay("cilium", 0);
    let mark = sim.mark();
    let out = sim.opsrun(out.then(), &["--output", "json", "bootstrap"], &[]).run();
    out.status(0);
    let events = out.json_events();
    let interrupted: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::TaskWasInterrupted { task, previous_run } => Some((task.as_str(), previous_run.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(interrupted, [("cilium", first_run.as_str())]);
    assert_resumed_from_cilium(&events);
    let calls = sim.calls_since(mark);
    assert_foundation_untouched(&calls);
    // Talos and the API were only checked: their gate probes ran, nothing else of theirs.
    assert!(calls.iter().any(|c| c.starts_with("talosctl") && c.contains(" service ")), "{calls:#?}");
    assert!(calls.iter().any(|c| c == "kubectl get --raw=/readyz"), "{calls:#?}");
}

#[test]
fn changed_cilium_values_rerun_cilium_and_its_dependents_only() {
    let sim = Sim::new();
    let out = sim.bootstrapped();
    let values = out.path().join("bootstrap/cilium/values.yaml");
    let mut text = fs::read_to_string(&values).expect("read cilium values");
    text.push_str("\n# a changed value\nbandwidthManager:\n  enabled: true\n");
    fs::write(&values, text).expect("write cilium values");

    let mark = sim.mark();
    let explain = sim.opsrun(out.then(), &["explain", "cilium"], &[]).run();
    explain.status(0).stdout_contains("cilium will run").stdout_contains("changed inputs: sources");
    let talos = sim.opsrun(explain.then(), &["explain", "talos:genconfig"], &[]).run();
    talos.status(0).stdout_contains("skipped");
    assert!(sim.calls_since(mark).is_empty(), "explain called the cluster: {:#?}", sim.calls_since(mark));

    let mark = sim.mark();
    let out = sim.opsrun(talos.then(), &["--output", "json", "bootstrap"], &[]).run();
    out.status(0);
    assert_resumed_from_cilium(&out.json_events());
    let calls = sim.calls_since(mark);
    assert_foundation_untouched(&calls);
    assert_eq!(count(&calls, "helm upgrade --install cilium"), 1, "{calls:#?}");
    assert_eq!(helm_revision(&sim, "cilium"), "2", "the changed values were not installed");
}

#[test]
fn explain_of_an_unchanged_cluster_predicts_no_reruns() {
    // BUG: `opsrun explain` states a task with `status` commands as "runs unless its status
    // commands pass" (a condition, as intended), but then propagates that to every dependent as a
    // certainty: "a dependency will run" (crates/opsrun-engine/src/explain.rs, the `dep_runs`
    // branch). With the real chain, `talos:bootstrap` has a `status` guard, so on a fully
    // bootstrapped, unchanged cluster `opsrun explain flux` says "flux will run in pipeline
    // `bootstrap`: a dependency will run: external-secrets", while the run itself resumes every
    // task. Likewise after a cilium values change, `explain cilium` blames `api` (which is
    // resumed) instead of its changed `sources`.
    let sim = Sim::new();
    let out = sim.bootstrapped();
    let explain = sim.opsrun(out.then(), &["explain", "flux"], &[]).run();
    explain.status(0);
    let verdict = explain.stdout().lines().next().unwrap_or_default().to_owned();
    let run = sim.opsrun(explain.then(), &["--output", "json", "bootstrap"], &[]).run();
    run.status(0);
    assert_eq!(outcome(&run.json_events(), "flux"), TaskOutcome::Resumed);
    assert!(!verdict.starts_with("flux will run"), "explain predicted a run that did not happen: {verdict}");
}

/// The revision of a simulated helm release.
fn helm_revision(sim: &Sim, release: &str) -> String {
    let record = fs::read_to_string(sim.path().join("state/helm/releases").join(release)).unwrap_or_default();
    record.lines().find_map(|l| l.strip_prefix("revision=")).unwrap_or_default().trim().to_owned()
}

#[test]
fn etcd_is_bootstrapped_once_even_with_fresh_or_force() {
    let sim = Sim::new();
    let out = sim.bootstrapped();
    // --fresh ignores saved state; the `status` guard of talos:bootstrap sees etcd members.
    let out = sim.opsrun(out.then(), &["--output", "json", "bootstrap", "--fresh"], &[]).run();
    out.status(0);
    assert_eq!(outcome(&out.json_events(), "talos:bootstrap"), TaskOutcome::UpToDate);
    assert_eq!(count(&sim.calls(), "talosctl bootstrap"), 1, "etcd bootstrapped twice: {:#?}", sim.calls());

    // --force skips the `status` guard too: the command's own check must hold.
    let mark = sim.mark();
    let out = sim.opsrun(out.then(), &["bootstrap", "--fresh", "--force"], &[]).run();
    out.status(0).stdout_contains("already has members: not bootstrapping again");
    let calls = sim.calls_since(mark);
    assert_eq!(count(&calls, "talosctl bootstrap"), 0, "etcd bootstrapped twice: {calls:#?}");
    assert_eq!(count(&sim.calls(), "talosctl bootstrap"), 1);
    // The configs were applied again, to configured nodes: authenticated, not --insecure.
    assert_eq!(count(&calls, "talosctl apply-config --nodes"), 3, "{calls:#?}");
    assert_eq!(count(&calls, "talosctl apply-config --insecure"), 0, "{calls:#?}");
}

#[test]
fn a_flapping_gate_never_collects_two_consecutive_passes() {
    let sim = Sim::new();
    sim.fault("cilium-flap", true);
    let out = sim.opsrun(sim.project(), &["--output", "json", "bootstrap"], &["GATE_TIMEOUT=2s"]).run();
    out.status(1);
    let events = out.json_events();
    assert_eq!(outcome(&events, "cilium"), TaskOutcome::Failed);
    let (passed, attempts, message) = gate_finished(&events, "cilium");
    assert!(!passed);
    assert!(message.contains("cilium status, then every node Ready"), "the message does not name the gate: {message}");
    assert!(message.contains("timed out"), "the message does not name the class: {message}");
    assert!(message.contains(&format!("{attempts} attempts")), "the message does not count attempts: {message}");
    let flaps = probes(&events, "cilium");
    assert!(flaps.len() >= 3, "too few probes to show a flap: {flaps:?}");
    assert!(flaps.iter().all(|(_, _, passes)| *passes < 2), "two passes in a row: {flaps:?}");
    for pair in flaps.windows(2) {
        assert_ne!(pair[0].1, pair[1].1, "the flapping gate did not alternate: {flaps:?}");
    }

    sim.fault("cilium-flap", false);
    let out = sim.opsrun(out.then(), &["--output", "json", "bootstrap"], &["GATE_TIMEOUT=2s"]).run();
    out.status(0);
    let events = out.json_events();
    let (passed, ..) = gate_finished(&events, "cilium");
    assert!(passed);
    assert_eq!(probes(&events, "cilium").last().map(|p| p.2), Some(2));
}

#[test]
fn success_threshold_counts_only_consecutive_passes() {
    // Probe 1 passes, probe 2 does not, probes 3 and 4 pass: the gate passes at probe 4.
    let out = Test::new()
        .tasks(
            r#"
[tasks.stage]
cmds = ["true"]
[tasks.stage.health]
name = "pass, fail, pass, pass"
cmd = 'n=$(cat probes 2>/dev/null || echo 0); n=$((n+1)); echo $n >probes; test $n -ne 2'
interval = "10ms"
timeout = "30s"
success_threshold = 2
"#,
        )
        .args(&["--output", "json", "run", "stage"])
        .run();
    out.status(0);
    let events = out.json_events();
    assert_eq!(
        probes(&events, "stage"),
        [
            (1, ProbeVerdict::Pass, 1),
            (2, ProbeVerdict::NotReady, 0),
            (3, ProbeVerdict::Pass, 1),
            (4, ProbeVerdict::Pass, 2)
        ]
    );
    assert_eq!(gate_finished(&events, "stage").1, 4);
}

#[test]
fn a_hanging_probe_is_killed_and_counts_as_an_error() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.stage]
cmds = ["true"]
[tasks.stage.health]
name = "a probe that hangs"
cmd = "sleep 2468"
probe_timeout = "300ms"
consecutive_error_limit = 2
interval = "10ms"
timeout = "30s"
"#,
        )
        .args(&["--output", "json", "run", "stage"])
        .run();
    out.status(1);
    assert_no_process("sleep 2468");
    let events = out.json_events();
    assert_eq!(probes(&events, "stage"), [(1, ProbeVerdict::Error, 0), (2, ProbeVerdict::Error, 0)]);
    let (passed, attempts, message) = gate_finished(&events, "stage");
    assert!(!passed);
    assert_eq!(attempts, 2);
    assert!(message.contains("a probe that hangs"), "{message}");
    assert!(message.contains("error"), "the message does not name the class: {message}");
    assert!(message.contains("timed out after 300ms"), "the message does not name the probe timeout: {message}");
}

#[test]
fn plain_output_of_a_bootstrap_has_no_escape_codes() {
    let sim = Sim::new();
    // Without CI and with a colour terminal type, only the pipes tell opsrun not to decorate.
    let out = sim.opsrun(sim.project().env_remove("CI").env("TERM", "xterm-256color"), &["bootstrap"], &[]).run();
    out.status(0);
    assert!(!out.stdout().contains('\x1b'), "ESC on stdout:\n{:?}", out.stdout());
    assert!(!out.stderr().contains('\x1b'), "ESC on stderr:\n{:?}", out.stderr());
    // CI=true alone is enough, as well.
    let out = sim.opsrun(out.then().env("TERM", "xterm-256color"), &["bootstrap", "--fresh"], &[]).run();
    out.status(0);
    assert!(!out.stdout().contains('\x1b') && !out.stderr().contains('\x1b'), "ESC with CI=true");
}

#[test]
fn progress_bars_are_drawn_on_a_terminal() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.first]
cmds = ["echo first"]
[tasks.second]
deps = ["first"]
cmds = ["echo second"]
[tasks.second.health]
name = "third probe passes"
cmd = 'n=$(cat probes 2>/dev/null || echo 0); n=$((n+1)); echo $n >probes; test $n -ge 3'
interval = "100ms"
timeout = "30s"
success_threshold = 1
"#,
        )
        .env_remove("CI")
        .env("TERM", "xterm-256color")
        .args(&["run", "second"])
        .run_in_terminal();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.bytes);
    assert!(text.contains('\x1b'), "no escape sequences on a terminal:\n{text:?}");
    // The overall line and what waits show from the first frame, before anything finished.
    assert!(text.contains("waiting (2): first, second"), "no waiting tasks:\n{text:?}");
    assert!(text.contains("[0/2] tasks done · 0s"), "no `[done/total] tasks done · elapsed` line:\n{text:?}");
    assert!(text.contains("health third probe passes: "), "no gate line:\n{text:?}");
    assert!(text.contains("s left"), "no time left before the gate times out:\n{text:?}");
    let screen = out.screen();
    assert!(screen.contains("first\n✔ first ") && screen.contains("second\n✔ second "), "{screen}");
    // Two tasks: the summary table ends the run.
    assert!(screen.contains("2 tasks: 2 ok"), "{screen}");
}

#[test]
fn json_events_of_a_bootstrap_match_the_schema() {
    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/events.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(schema_path).expect("read the event schema")).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON schema");

    let sim = Sim::new();
    let out = sim.opsrun(sim.project(), &["--output", "json", "bootstrap"], &[]).run();
    out.status(0);
    let mut types = std::collections::BTreeSet::new();
    for line in out.stdout().lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let errors: Vec<String> =
            validator.iter_errors(&event).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "event does not match the schema: {errors:#?}\n{line}");
        types.insert(event["type"].as_str().expect("a type").to_owned());
    }
    for kind in
        ["run_started", "task_started", "command_started", "output", "gate_probe", "task_finished", "run_finished"]
    {
        assert!(types.contains(kind), "no {kind} event in a full bootstrap: {types:?}");
    }
}
