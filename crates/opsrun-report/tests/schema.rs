//! Keeps `docs/events.md` and `docs/events.schema.json` true to the event types.
//!
//! These checks do not validate with a JSON Schema engine; they make sure every event variant has
//! a schema branch with exactly its fields, that every enum lists exactly its values, and that the
//! page's schema, example and summary are what the code produces.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use opsrun_event::{
    CommandStatus, EVENT_SCHEMA_VERSION, Event, EventEnvelope, PlannedTask, ProbeVerdict, RunMode, RunOutcome,
    SkipReason, Stream, TaskOutcome,
};
use opsrun_report::RunSummary;
use serde_json::Value;

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(docs().join(name)).unwrap_or_else(|e| panic!("read docs/{name}: {e}"))
}

fn schema() -> Value {
    serde_json::from_str(&read("events.schema.json")).expect("events.schema.json is JSON")
}

/// The fenced block of `lang` in `text` that follows `after`.
fn fenced<'a>(text: &'a str, after: &str, lang: &str) -> &'a str {
    let start = text.find(after).unwrap_or_else(|| panic!("no `{after}` in events.md"));
    let open = format!("```{lang}\n");
    let body = start + text[start..].find(&open).unwrap_or_else(|| panic!("no ```{lang} after `{after}`")) + open.len();
    let end = body + text[body..].find("```\n").expect("closing fence");
    &text[body..end]
}

/// The JSON `type` of each variant ([`Event::type_name`] matches exhaustively in its own crate,
/// so a new variant needs a name there first, then an entry in [`one_of_each`] and the docs).
fn type_name(event: &Event) -> &'static str {
    event.type_name()
}

fn one_of_each() -> Vec<Event> {
    let task = || "talos".to_owned();
    vec![
        Event::RunStarted {
            mode: RunMode::Pipeline,
            name: "bootstrap".into(),
            tasks: vec![PlannedTask { task: task(), ..PlannedTask::default() }],
            state_dir: None,
        },
        Event::TaskWasInterrupted { task: task(), previous_run: "r0".into() },
        Event::TaskStarted { task: task() },
        Event::TaskSkipped { task: task(), reason: SkipReason::UpToDate, detail: String::new() },
        Event::TaskExecuting { task: task(), reason: "never ran".into(), changed: vec!["cmds".into()] },
        Event::CommandStarted { task: task(), index: 0, command: "true".into(), silent: false },
        Event::Output { task: task(), stream: Stream::Stderr, line: String::new() },
        Event::CommandFinished {
            task: task(),
            index: 0,
            exit_code: None,
            status: CommandStatus::SpawnFailed,
            duration_ms: 0,
        },
        Event::TaskRetrying { task: task(), attempt: 2, of: 3, delay_ms: 0 },
        Event::GateStarted { task: task(), gate: "g".into(), timeout_ms: 1, success_threshold: 1 },
        Event::GateProbe {
            task: task(),
            gate: "g".into(),
            attempt: 1,
            verdict: ProbeVerdict::Error,
            detail: String::new(),
            elapsed_ms: 0,
            consecutive_passes: 0,
        },
        Event::GateFinished {
            task: task(),
            gate: "g".into(),
            passed: false,
            attempts: 1,
            elapsed_ms: 0,
            message: None,
        },
        Event::TaskFinished {
            task: task(),
            outcome: TaskOutcome::NotRun,
            duration_ms: 0,
            message: None,
            gate_attempts: 0,
            log: None,
        },
        Event::Interrupt { signal: "SIGTERM".into(), kill: true },
        Event::Warning { task: None, message: "m".into() },
        Event::RunFinished { outcome: RunOutcome::Interrupted, duration_ms: 0, resume_hint: None },
    ]
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().expect("object").keys().cloned().collect()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value.as_array().expect("array").iter().map(|v| v.as_str().expect("string").to_owned()).collect()
}

#[test]
fn every_event_has_a_branch_with_exactly_its_fields() {
    let schema = schema();
    let branches = schema["oneOf"].as_array().expect("oneOf");
    let events = one_of_each();
    assert_eq!(branches.len(), events.len(), "one branch per event type");
    let names: BTreeSet<String> = events.iter().map(|e| type_name(e).to_owned()).collect();
    assert_eq!(strings(&schema["properties"]["type"]["enum"]), names);
    for event in events {
        let name = type_name(&event);
        let json = serde_json::to_value(EventEnvelope {
            v: EVENT_SCHEMA_VERSION,
            ts: jiff::Timestamp::UNIX_EPOCH,
            run: "r1".into(),
            event,
        })
        .expect("serialise");
        assert_eq!(json["type"], name);
        let branch = branches
            .iter()
            .find(|b| b["properties"]["type"]["const"] == name)
            .unwrap_or_else(|| panic!("no schema branch for {name}"));
        assert_eq!(keys(&branch["properties"]), keys(&json), "{name}: properties");
        assert_eq!(strings(&branch["required"]), keys(&json), "{name}: required");
        assert_eq!(branch["additionalProperties"], false, "{name}");
    }
    assert_eq!(schema["$defs"]["v"]["const"], EVENT_SCHEMA_VERSION);
}

#[test]
fn enums_list_exactly_their_values() {
    fn values<T: serde::Serialize>(all: &[T]) -> BTreeSet<String> {
        all.iter().map(|v| serde_json::to_value(v).expect("serialise").as_str().expect("str").to_owned()).collect()
    }
    let defs = &schema()["$defs"];
    let table = [
        ("run_mode", values(&[RunMode::Run, RunMode::Pipeline, RunMode::Recovery])),
        ("skip_reason", values(&[SkipReason::UpToDate, SkipReason::Resumed, SkipReason::NotForPlatform])),
        ("stream", values(&[Stream::Stdout, Stream::Stderr])),
        (
            "command_status",
            values(&[
                CommandStatus::Succeeded,
                CommandStatus::Failed,
                CommandStatus::TimedOut,
                CommandStatus::Interrupted,
                CommandStatus::SpawnFailed,
            ]),
        ),
        (
            "probe_verdict",
            values(&[ProbeVerdict::Pass, ProbeVerdict::NotReady, ProbeVerdict::Error, ProbeVerdict::Failed]),
        ),
        (
            "task_outcome",
            values(&[
                TaskOutcome::Ok,
                TaskOutcome::UpToDate,
                TaskOutcome::Resumed,
                TaskOutcome::Failed,
                TaskOutcome::FailedIgnored,
                TaskOutcome::Interrupted,
                TaskOutcome::NotRun,
            ]),
        ),
        ("run_outcome", values(&[RunOutcome::Succeeded, RunOutcome::Failed, RunOutcome::Interrupted])),
    ];
    for (name, expected) in table {
        assert_eq!(strings(&defs[name]["enum"]), expected, "{name}");
    }
    let planned = serde_json::to_value(PlannedTask { task: "a".into(), ..PlannedTask::default() }).expect("serialise");
    assert_eq!(keys(&defs["planned_task"]["properties"]), keys(&planned));
    assert_eq!(strings(&defs["planned_task"]["required"]), keys(&planned));
}

#[test]
fn the_page_embeds_the_schema_file() {
    let page = read("events.md");
    assert_eq!(fenced(&page, "## JSON Schema", "json"), read("events.schema.json"));
}

#[test]
fn the_example_is_what_the_code_writes_and_summarises() {
    let page = read("events.md");
    let mut summary = RunSummary::new();
    for line in fenced(&page, "## Example", "jsonl").lines() {
        let envelope: EventEnvelope = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(serde_json::to_string(&envelope).expect("serialise"), line);
        summary.record(&envelope);
    }
    assert_eq!(summary.render(), fenced(&page, "ends with this summary", "text"));
}
