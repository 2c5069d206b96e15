//! The programs in `examples/` run as a user runs them, and succeed: each asserts on what it
//! observed (events, outcomes, files) and exits non-zero when something is off.
//!
//! `cargo test` builds the examples next to this test binary (`target/<profile>/examples/`).

use std::path::PathBuf;
use std::process::Command;

fn run_example(name: &str) -> String {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/it-<hash> → target/<profile>/examples/<name>
    let path: PathBuf = exe.parent().and_then(|deps| deps.parent()).expect("target dir").join("examples").join(name);
    assert!(path.exists(), "{} was not built (cargo test builds examples)", path.display());
    let out = Command::new(&path).env_remove("OPSRUN_RUN_TOKEN").output().expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed ({}):\n{stdout}\n{stderr}", out.status);
    assert_eq!(stderr, "", "{name} wrote to stderr");
    stdout
}

#[test]
fn chain_in_code_gates_on_a_rust_probe_and_cancels() {
    let out = run_example("chain_in_code");
    assert!(out.contains("bootstrap: Succeeded"), "{out}");
    assert!(out.contains("gate probe Pass: HTTP 200"), "{out}");
    assert!(out.contains("slow: Interrupted by Some(Terminate)"), "{out}");
}

#[test]
fn event_summary_folds_the_stream_into_a_masked_payload() {
    let out = run_example("event_summary");
    let payload: serde_json::Value = serde_json::from_str(&out).expect("the example prints one JSON document");
    assert_eq!(payload["outcome"], "succeeded");
    assert_eq!(payload["pipeline"], "bootstrap");
    assert_eq!(payload["stages"].as_array().map(Vec::len), Some(8));
    assert!(!out.contains("demo-token-do-not-print"));
}

#[test]
fn resume_from_file_reacts_to_a_failure_and_resumes() {
    let out = run_example("resume_from_file");
    assert!(out.starts_with("failed: cilium:"), "{out}");
    assert!(out.contains("injected: FAIL_AT=cilium"), "{out}");
    assert!(out.contains("talos              resumed"), "{out}");
    assert!(out.contains("cilium             ok"), "{out}");
}
