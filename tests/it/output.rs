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

/// A terminal as a new user has one: no CI, a colour terminal type.
fn on_a_terminal(test: Test) -> Test {
    test.env_remove("CI").env("TERM", "xterm-256color")
}

#[test]
fn a_tasks_output_stays_on_the_terminal_and_a_one_task_run_has_no_table() {
    let tasks = r#"
[tasks.hello]
cmds = ["echo hello-one", "echo hello-two >&2", "echo hello-three"]
"#;
    let out = on_a_terminal(Test::new().tasks(tasks)).args(&["run", "hello"]).run_in_terminal();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.bytes);
    assert!(text.contains("[0/1] tasks done · 0s"), "no overall line from the start:\n{text:?}");
    let screen = out.screen();
    assert!(
        screen.contains("hello-one\nhello-two\nhello-three\n✔ hello "),
        "the task's lines are not on the screen after the run:\n{screen}"
    );
    assert!(!screen.contains("tasks done"), "the frame was left on the screen:\n{screen}");
    assert!(!screen.contains("outcome"), "a one-task run ended with a summary table:\n{screen}");

    let out = on_a_terminal(Test::new().tasks(tasks)).args(&["--summary-table", "run", "hello"]).run_in_terminal();
    assert_eq!(out.status.code(), Some(0));
    let screen = out.screen();
    assert!(screen.contains("hello-three\n✔ hello "), "{screen}");
    assert!(screen.contains("1 task: 1 ok"), "--summary-table did not bring the table back:\n{screen}");
}

#[test]
fn a_failed_one_task_run_on_a_terminal_says_why_without_a_table() {
    let out = on_a_terminal(Test::new().tasks("[tasks.bad]\ncmds = ['echo broken-thing; exit 3']\n"))
        .args(&["run", "bad"])
        .run_in_terminal();
    assert_eq!(out.status.code(), Some(1));
    let screen = out.screen();
    assert!(
        screen.contains("broken-thing\n✘ bad failed: `echo broken-thing; exit 3` failed with exit code 3"),
        "{screen}"
    );
    assert!(screen.contains("bad failed: ") && screen.contains("| broken-thing"), "no failure details:\n{screen}");
    assert!(!screen.contains("outcome"), "{screen}");
}

#[test]
fn an_interactive_task_has_the_terminal_to_itself() {
    let out = on_a_terminal(Test::new().tasks(
        r#"
[tasks.login]
interactive = true
cmds = ["echo INTERACTIVE-START; sleep 0.5; echo INTERACTIVE-END"]
[tasks.after]
deps = ["login"]
cmds = ["echo after-login"]
"#,
    ))
    .args(&["run", "after"])
    .run_in_terminal();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.bytes);
    let start = text.find("INTERACTIVE-START").expect("the interactive command printed");
    let end = text.find("INTERACTIVE-END").expect("the interactive command finished");
    // Half a second at ten frames a second: any drawing in between would show here.
    let between = &text[start..end];
    assert!(!between.contains("tasks done"), "the bars were drawn over an interactive command:\n{between:?}");
    assert!(text[end..].contains("tasks done"), "the bars did not come back:\n{text:?}");
    assert!(out.screen().contains("after-login"), "{}", out.screen());
}
