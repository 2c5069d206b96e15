//! The scheduler: deduplication, parallelism, what a failure stops and what `--keep-going` lets
//! run.

use opsrun::event::{Event, EventEnvelope, TaskOutcome};

use crate::support::{Test, find, outcome, sh_wait_until, started};

/// A shell condition true once the run's journal records `task` as failed: by then opsrun has
/// taken the failure into account.
fn journal_says_failed(task: &str) -> String {
    format!(r#"grep -qs '"task":"{task}","outcome":"failed"' .opsrun/runs/*.jsonl"#)
}

#[test]
fn diamond_dependency_runs_once() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.a]
cmds = ["echo a >> a.count"]
[tasks.b]
deps = ["a"]
cmds = ["echo b"]
[tasks.c]
deps = ["a"]
cmds = ["echo c"]
[tasks.d]
deps = ["b", "c"]
cmds = ["echo d"]
"#,
        )
        .args(&["--output", "json", "run", "d"])
        .run();
    out.status(0);
    assert_eq!(out.lines("a.count"), 1, "a ran more than once");
    let events = out.json_events();
    let started = started(&events);
    assert_eq!(started.iter().filter(|t| **t == "a").count(), 1, "{started:?}");
    assert_eq!(started.len(), 4, "{started:?}");
    assert_eq!(started[0], "a");
    assert_eq!(started[3], "d");
}

/// When `task` started and finished, from its events.
fn task_started(events: &[EventEnvelope], task: &str) -> EventEnvelope {
    find(events, "task_started", |e| matches!(e, Event::TaskStarted { task: t } if t == task)).clone()
}

fn task_finished(events: &[EventEnvelope], task: &str) -> EventEnvelope {
    find(events, "task_finished", |e| matches!(e, Event::TaskFinished { task: t, .. } if t == task)).clone()
}

#[test]
fn independent_tasks_overlap_with_two_jobs() {
    // Each task waits for the other to have started: with two jobs they must overlap (run
    // serially, the first would give up waiting and fail).
    let out = Test::new()
        .tasks(
            &r#"
[tasks.p1]
cmds = ['''touch p1.started; WAIT_P2''']
[tasks.p2]
cmds = ['''touch p2.started; WAIT_P1''']
[tasks.both]
deps = ["p1", "p2"]
"#
            .replace("WAIT_P2", &sh_wait_until("[ -f p2.started ]"))
            .replace("WAIT_P1", &sh_wait_until("[ -f p1.started ]")),
        )
        .args(&["--output", "json", "-j", "2", "run", "both"])
        .run();
    out.status(0);
    let events = out.json_events();
    let last_start = task_started(&events, "p1").ts.max(task_started(&events, "p2").ts);
    let first_finish = task_finished(&events, "p1").ts.min(task_finished(&events, "p2").ts);
    assert!(last_start < first_finish, "p1 and p2 did not overlap: {last_start} !< {first_finish}");
}

#[test]
fn one_job_runs_tasks_one_at_a_time() {
    let out = Test::new()
        .tasks(
            r#"
[tasks.s1]
cmds = ["sleep 0.2"]
[tasks.s2]
cmds = ["sleep 0.2"]
[tasks.both]
deps = ["s1", "s2"]
"#,
        )
        .args(&["--output", "json", "-j", "1", "run", "both"])
        .run();
    out.status(0);
    let events = out.json_events();
    let (first, second) =
        if task_started(&events, "s1").ts < task_started(&events, "s2").ts { ("s1", "s2") } else { ("s2", "s1") };
    assert!(
        task_finished(&events, first).ts <= task_started(&events, second).ts,
        "{second} started before {first} finished with -j 1"
    );
}

/// `slow` is running when `bad` fails, and finishes only after opsrun has journaled the
/// failure; `late` becomes ready after that and must not start. `after` depends on `bad`.
fn failure_while_another_task_runs() -> Test {
    Test::new().tasks(
        &r#"
[tasks.bad]
cmds = ['''WAIT_SLOW; exit 3''']
[tasks.slow]
cmds = ['''touch slow.started; WAIT_FAILED''', "touch slow.done"]
[tasks.late]
deps = ["slow"]
cmds = ["touch late.marker"]
[tasks.after]
deps = ["bad"]
cmds = ["touch after.marker"]
[tasks.all]
deps = ["late", "after"]
"#
        .replace("WAIT_SLOW", &sh_wait_until("[ -f slow.started ]"))
        .replace("WAIT_FAILED", &sh_wait_until(&journal_says_failed("bad"))),
    )
}

#[test]
fn failure_stops_scheduling_new_tasks() {
    let out = failure_while_another_task_runs().args(&["-j", "2", "run", "all"]).run();
    out.status(1)
        .stderr_contains("bad failed: ")
        .stderr_contains("failed with exit code 3")
        .stderr_contains("[late] not run")
        .stderr_contains("1 ok, 1 failed, 3 not run");
    assert!(out.exists("slow.done"), "the task already running was not allowed to finish");
    assert!(!out.exists("late.marker"), "a new task started after the failure");
    assert!(!out.exists("after.marker"), "a dependent of the failed task ran");
}

#[test]
fn failure_stops_scheduling_new_tasks_events() {
    let out = failure_while_another_task_runs().args(&["--output", "json", "-j", "2", "run", "all"]).run();
    out.status(1);
    let events = out.json_events();
    assert_eq!(outcome(&events, "bad"), TaskOutcome::Failed);
    assert_eq!(outcome(&events, "slow"), TaskOutcome::Ok);
    assert_eq!(outcome(&events, "late"), TaskOutcome::NotRun);
    assert_eq!(outcome(&events, "after"), TaskOutcome::NotRun);
    assert_eq!(outcome(&events, "all"), TaskOutcome::NotRun);
    let mut started = started(&events);
    started.sort_unstable();
    assert_eq!(started, ["bad", "slow"]);
}

#[test]
fn keep_going_runs_independent_branches() {
    // `other` waits until the failure is journaled, so `other-next` becomes ready only after
    // it: with --keep-going it still runs.
    let out = Test::new()
        .tasks(
            &r#"
[tasks.bad]
cmds = ["exit 3"]
[tasks.other]
cmds = ['''WAIT_FAILED''']
[tasks.other-next]
deps = ["other"]
cmds = ["touch other-next.marker"]
[tasks.after]
deps = ["bad"]
cmds = ["touch after.marker"]
[tasks.all]
deps = ["after", "other-next"]
"#
            .replace("WAIT_FAILED", &sh_wait_until(&journal_says_failed("bad"))),
        )
        .args(&["--output", "json", "-j", "2", "run", "--keep-going", "all"])
        .run();
    out.status(1);
    assert!(out.exists("other-next.marker"), "--keep-going did not run the independent branch");
    assert!(!out.exists("after.marker"), "a dependent of the failed task ran");
    let events = out.json_events();
    assert_eq!(outcome(&events, "bad"), TaskOutcome::Failed);
    assert_eq!(outcome(&events, "other"), TaskOutcome::Ok);
    assert_eq!(outcome(&events, "other-next"), TaskOutcome::Ok);
    assert_eq!(outcome(&events, "after"), TaskOutcome::NotRun);
    assert_eq!(outcome(&events, "all"), TaskOutcome::NotRun);
}
