//! Faults at every point of a run: a SIGKILL at each state transition, a full disk at each
//! state write (both injected through the engine's test hooks, see
//! `crates/opsrun-engine/src/fault.rs`). After each, the state is readable, nothing is
//! half-written or silently older, nothing the killed run started is left running, and the
//! next run resumes to success.

use opsrun::event::{Event, TaskOutcome};

use crate::support::{Test, assert_no_process, outcome};

/// Three stages in a chain, each with a command and a gate, as a bootstrap is. `sleep 0.437`
/// is this file's marker: no other test runs it.
const CHAIN: &str = r#"
[tasks.one]
cmds = ["echo one; sleep 0.437"]
health = { cmd = "true", interval = "10ms", success_threshold = 1 }
[tasks.two]
deps = ["one"]
cmds = ["echo two"]
health = { cmd = "sleep 0.437", interval = "10ms", success_threshold = 1 }
[tasks.three]
deps = ["two"]
cmds = ["echo three"]
[pipelines.p]
targets = ["three"]
"#;

#[test]
fn a_sigkill_at_every_state_transition_resumes_to_success() {
    let mut saw_interrupted = false;
    for n in 1..=40 {
        // Transitions 1..n-1 were each reached (and killed) in an earlier iteration.
        let killed = n - 1;
        let out = Test::new()
            .tasks(CHAIN)
            .env("OPSRUN_FAULT_KILL_AT", &n.to_string())
            .args(&["--output", "plain", "pipeline", "p"])
            .run();
        if out.status_code().is_some() {
            // Fewer transitions than n: the run finished unharmed.
            out.status(0);
            assert!(killed >= 8, "only {killed} transitions were reached");
            assert!(saw_interrupted, "no kill landed while a task was running");
            return;
        }
        // The state the crash left is readable, and the next run resumes from it.
        let state = out.path().join(".opsrun/state.wal");
        if let Ok(text) = std::fs::read_to_string(&state) {
            for line in text.lines() {
                assert!(
                    serde_json::from_str::<serde_json::Value>(line).is_ok(),
                    "transition {n}: a torn line {line:?}"
                );
            }
        }
        let next = out.then().args(&["--output", "json", "pipeline", "p"]).run();
        next.status(0);
        let events = next.json_events();
        for task in ["one", "two", "three"] {
            let o = outcome(&events, task);
            assert!(matches!(o, TaskOutcome::Ok | TaskOutcome::Resumed), "transition {n}: {task} {o:?}");
        }
        saw_interrupted |= events.iter().any(|e| matches!(e.event, Event::TaskWasInterrupted { .. }));
        assert_no_process("sleep 0.437");
    }
    panic!("a 3-stage run should not have 40 transitions");
}

#[test]
fn a_full_disk_at_any_state_write_stops_the_run_and_leaves_state_whole() {
    for n in 1..=20 {
        let out = Test::new()
            .tasks(CHAIN)
            .env("OPSRUN_FAULT_ENOSPC_AT", &n.to_string())
            .args(&["--output", "plain", "pipeline", "p"])
            .run();
        if out.status_code() == Some(0) {
            // Fewer writes than n.
            assert!(n > 5, "only {} writes", n - 1);
            return;
        }
        out.status(1).stderr_contains("No space left on device");
        // Whatever was saved is whole: the snapshot parses and every log line does.
        let dir = out.path().join(".opsrun");
        if let Ok(text) = std::fs::read_to_string(dir.join("state.json")) {
            assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "write {n}: a torn snapshot");
        }
        if let Ok(text) = std::fs::read_to_string(dir.join("state.wal")) {
            for line in text.lines() {
                assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "write {n}: a torn line");
            }
        }
        // With space again, the next run finishes the job.
        let next = out.then().args(&["--output", "json", "pipeline", "p"]).run();
        next.status(0);
        assert_no_process("sleep 0.437");
    }
    panic!("a 3-stage run should not write its state 20 times");
}
