//! Output formats: JSON lines are well-formed events, and plain output has no escape codes.

use opsrun::event::Event;

use crate::support::Test;

const MIXED: &str = r#"
[tasks.ok]
cmds = ["echo hello", "echo to-stderr >&2"]
[tasks.bad]
deps = ["ok"]
cmds = ["echo failing; exit 1"]
"#;

#[test]
fn json_output_is_one_event_per_line() {
    let out = Test::new().tasks(MIXED).args(&["--output", "json", "run", "bad"]).run();
    out.status(1);
    assert!(out.stderr().is_empty(), "JSON mode wrote to stderr:\n{}", out.stderr());
    for line in out.stdout().lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for key in ["v", "ts", "run", "type"] {
            assert!(value.get(key).is_some(), "no `{key}` in {line}");
        }
        assert_eq!(value["v"], 1, "{line}");
    }
    let events = out.json_events();
    assert!(matches!(events.first().expect("events").event, Event::RunStarted { .. }));
    assert!(matches!(events.last().expect("events").event, Event::RunFinished { .. }));
    assert!(events.iter().all(|e| e.run == events[0].run), "events of more than one run");
    assert!(events.windows(2).all(|w| w[0].ts <= w[1].ts), "timestamps go backwards");
    assert!(events.iter().any(|e| matches!(&e.event, Event::Output { line, .. } if line == "to-stderr")));
}

#[test]
fn plain_output_on_a_pipe_has_no_escape_codes() {
    // Without CI and with a colour terminal type, only the pipe tells opsrun not to decorate.
    let out = Test::new().tasks(MIXED).env_remove("CI").env("TERM", "xterm-256color").args(&["run", "bad"]).run();
    out.status(1).stdout_contains("hello").stderr_contains("bad failed");
    assert!(!out.stdout().contains('\x1b'), "ESC in stdout:\n{:?}", out.stdout());
    assert!(!out.stderr().contains('\x1b'), "ESC in stderr:\n{:?}", out.stderr());

    let out = out
        .then()
        .env_remove("CI")
        .env("TERM", "xterm-256color")
        .tasks("[tasks.a]\ncmdz = []\n")
        .args(&["run", "a"])
        .run();
    out.status(2);
    assert!(!out.stderr().contains('\x1b'), "ESC in an error on a pipe:\n{:?}", out.stderr());
}

#[test]
fn a_secret_in_a_prefix_label_or_group_frame_is_masked_everywhere() {
    let out = Test::new()
        .tasks(
            r#"
[vars]
TOKEN = { value = "s3cret-token-value", secret = true }
[tasks.p]
output = "prefixed"
prefix = "deploy-{{.TOKEN}}"
label = "p-{{.TOKEN}}"
cmds = ["echo hello"]
[tasks.g]
output = { group = { begin = "begin {{.TOKEN}}", end = "end {{.TOKEN}}" } }
cmds = ["echo grouped"]
"#,
        )
        .args(&["run", "p", "g"])
        .run();
    out.status(0);
    assert_eq!(out.stdout(), "[deploy-****] hello\nbegin ****\ngrouped\nend ****\n");
    out.output_lacks("s3cret-token-value");
    let journals = std::fs::read_dir(out.path().join(".opsrun/runs")).expect("journal dir");
    for journal in journals {
        let text = std::fs::read_to_string(journal.expect("entry").path()).expect("read journal");
        assert!(!text.contains("s3cret-token-value"), "journal leaks the secret:\n{text}");
    }
}
