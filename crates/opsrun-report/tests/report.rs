//! Feeds scripted runs into the reporters and checks what they write.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use indicatif::ProgressDrawTarget;
use opsrun_event::{
    CommandStatus, EVENT_SCHEMA_VERSION, Event, EventEnvelope, EventSink, PlannedTask, ProbeVerdict, RunMode,
    RunOutcome, SkipReason, Stream, TaskOutcome,
};
use opsrun_report::{BarsReporter, JsonReporter, PlainReporter, ReportOptions, Reporter, RunSummary};

/// A writer whose bytes can be read back while the reporter owns a clone.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn text(&self) -> String {
        String::from_utf8(self.bytes()).expect("reporters write UTF-8")
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer whose reader went away, like stdout piped into `head`.
struct BrokenPipe;

impl Write for BrokenPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }

    fn flush(&mut self) -> io::Result<()> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
}

fn envelope(n: i64, event: Event) -> EventEnvelope {
    EventEnvelope {
        v: EVENT_SCHEMA_VERSION,
        ts: jiff::Timestamp::new(1_750_000_000 + n, 123_456_000).expect("valid timestamp"),
        run: "r1".into(),
        event,
    }
}

fn planned(task: &str, deps: &[&str], gate: Option<&str>) -> PlannedTask {
    PlannedTask {
        task: task.into(),
        deps: deps.iter().map(|d| (*d).to_owned()).collect(),
        gate: gate.map(str::to_owned),
        ..PlannedTask::default()
    }
}

fn probe(task: &str, gate: &str, attempt: u32, verdict: ProbeVerdict, detail: &str, passes: u32) -> Event {
    Event::GateProbe {
        task: task.into(),
        gate: gate.into(),
        attempt,
        verdict,
        detail: detail.into(),
        elapsed_ms: u64::from(attempt - 1) * 5_000,
        consecutive_passes: passes,
    }
}

fn output(task: &str, line: &str) -> Event {
    Event::Output { task: task.into(), stream: Stream::Stdout, line: line.into() }
}

/// A small bootstrap: talos resumed, api runs and its gate probes until ready, cilium fails,
/// flux never runs.
fn bootstrap() -> Vec<EventEnvelope> {
    let events = vec![
        Event::RunStarted {
            mode: RunMode::Pipeline,
            name: "bootstrap".into(),
            tasks: vec![
                planned("talos", &[], Some("talos-healthy")),
                planned("api", &["talos"], Some("api-ready")),
                planned("cilium", &["api"], Some("cilium-ready")),
                planned("flux", &["cilium"], Some("flux-ready")),
            ],
            state_dir: Some(PathBuf::from(".opsrun")),
        },
        Event::TaskStarted { task: "talos".into() },
        Event::TaskSkipped {
            task: "talos".into(),
            reason: SkipReason::Resumed,
            detail: "unchanged since run r0; gate passed".into(),
        },
        Event::TaskFinished {
            task: "talos".into(),
            outcome: TaskOutcome::Resumed,
            duration_ms: 1_240,
            message: None,
            gate_attempts: 1,
            log: None,
        },
        Event::TaskStarted { task: "api".into() },
        Event::CommandStarted { task: "api".into(), index: 0, command: "talosctl bootstrap".into(), silent: false },
        output("api", "bootstrapping etcd"),
        output("api", "\u{1b}[32mdone\u{1b}[0m"),
        Event::CommandFinished {
            task: "api".into(),
            index: 0,
            exit_code: Some(0),
            status: CommandStatus::Succeeded,
            duration_ms: 2_000,
        },
        Event::GateStarted { task: "api".into(), gate: "api-ready".into(), timeout_ms: 300_000, success_threshold: 2 },
        probe("api", "api-ready", 1, ProbeVerdict::NotReady, "exit 1: connection refused", 0),
        probe("api", "api-ready", 2, ProbeVerdict::NotReady, "exit 1: connection refused", 0),
        probe("api", "api-ready", 3, ProbeVerdict::Pass, "", 1),
        probe("api", "api-ready", 4, ProbeVerdict::Pass, "", 2),
        Event::GateFinished {
            task: "api".into(),
            gate: "api-ready".into(),
            passed: true,
            attempts: 4,
            elapsed_ms: 15_000,
            message: None,
        },
        Event::TaskFinished {
            task: "api".into(),
            outcome: TaskOutcome::Ok,
            duration_ms: 17_250,
            message: None,
            gate_attempts: 4,
            log: Some(PathBuf::from(".opsrun/logs/r1/api.log")),
        },
        Event::TaskStarted { task: "cilium".into() },
        Event::CommandStarted { task: "cilium".into(), index: 0, command: "op read secret".into(), silent: true },
        Event::CommandStarted {
            task: "cilium".into(),
            index: 1,
            command: "helm upgrade --install cilium cilium/cilium".into(),
            silent: false,
        },
        output("cilium", "Release \"cilium\" does not exist. Installing it now."),
        output("cilium", "Error: INSTALLATION FAILED: context deadline exceeded"),
        Event::Warning { task: Some("cilium".into()), message: "helm printed a deprecation notice".into() },
        Event::CommandFinished {
            task: "cilium".into(),
            index: 1,
            exit_code: Some(1),
            status: CommandStatus::Failed,
            duration_ms: 3_100,
        },
        Event::TaskFinished {
            task: "cilium".into(),
            outcome: TaskOutcome::Failed,
            duration_ms: 3_140,
            message: Some("command 2 exited with code 1".into()),
            gate_attempts: 0,
            log: Some(PathBuf::from(".opsrun/logs/r1/cilium.log")),
        },
        Event::RunFinished {
            outcome: RunOutcome::Failed,
            duration_ms: 21_700,
            resume_hint: Some("opsrun bootstrap".into()),
        },
    ];
    events.into_iter().zip(0..).map(|(event, n)| envelope(n, event)).collect()
}

fn run_plain(options: ReportOptions) -> (String, String) {
    let (out, err) = (SharedBuf::default(), SharedBuf::default());
    let reporter = PlainReporter::new(Box::new(out.clone()), Box::new(err.clone()), options);
    for event in bootstrap() {
        reporter.emit(&event);
    }
    reporter.finish();
    // opsrun's own lines never carry an escape sequence; what a task prints on stdout is passed
    // on as printed (go-task compatible: `$(opsrun run x)` captures exactly what `x` printed).
    assert!(!err.bytes().contains(&0x1b), "plain status lines must not contain ESC:\n{}", err.text());
    (out.text(), err.text())
}

const SUMMARY: &str = "
task    outcome  duration  probes
talos   resumed      1.2s       1
api     ok          17.3s       4
cilium  failed       3.1s
flux    not run

4 tasks: 1 ok, 1 resumed, 1 failed, 1 not run
run failed after 21.7s (pipeline bootstrap, run r1)

cilium failed: command 2 exited with code 1
  output, 2 lines, log: .opsrun/logs/r1/cilium.log:
  | Release \"cilium\" does not exist. Installing it now.
  | Error: INSTALLATION FAILED: context deadline exceeded

resume with: opsrun bootstrap
";

#[test]
fn plain_run() {
    let (out, err) = run_plain(ReportOptions::default());
    assert_eq!(
        out,
        "\
bootstrapping etcd
\u{1b}[32mdone\u{1b}[0m
Release \"cilium\" does not exist. Installing it now.
Error: INSTALLATION FAILED: context deadline exceeded
"
    );
    let expected = "\
starting pipeline bootstrap: 4 tasks (run r1)
[talos] started
[talos] resumed: unchanged since run r0; gate passed
[api] started
[api] $ talosctl bootstrap
[api] waiting for health: api-ready (timeout 5m)
[api] probe 1 at 0s: not ready: exit 1: connection refused
[api] probe 3 at 10s: pass (1 of 2 passes)
[api] healthy: api-ready after 4 probes in 15s
[api] ok in 17.3s
[cilium] started
[cilium] $ helm upgrade --install cilium cilium/cilium
warning: [cilium] helm printed a deprecation notice
[cilium] command 2 failed with exit code 1 after 3.1s
[cilium] FAILED after 3.1s: command 2 exited with code 1
"
    .to_owned()
        + SUMMARY;
    assert_eq!(err, expected);
}

#[test]
fn plain_quiet_run_shows_only_what_needs_attention_and_summary() {
    // Quiet: no commands, no output, no per-task "started"/"ok"/"resumed" lines (the summary
    // lists every task); failures, gate waits and warnings still show. What tasks print is theirs,
    // not opsrun's: it is kept (go-task's `--silent` also keeps it).
    let (out, err) = run_plain(ReportOptions { quiet: true, ..ReportOptions::default() });
    let (loud, _) = run_plain(ReportOptions::default());
    assert_eq!(out, loud);
    assert!(!err.contains("$ "), "{err}");
    assert!(!err.contains("[api] ok in"), "{err}");
    assert!(!err.contains("[talos] resumed"), "{err}");
    assert!(!err.contains("started\n"), "{err}");
    assert!(err.contains("[api] waiting for health: api-ready"), "{err}");
    assert!(err.contains("[cilium] FAILED after 3.1s: command 2 exited with code 1\n"), "{err}");
    assert!(err.contains("warning: [cilium] helm printed a deprecation notice\n"), "{err}");
    assert!(err.ends_with(SUMMARY), "{err}");
}

#[test]
fn plain_ignores_broken_pipes() {
    let reporter = PlainReporter::new(Box::new(BrokenPipe), Box::new(BrokenPipe), ReportOptions::default());
    for event in bootstrap() {
        reporter.emit(&event);
    }
    reporter.finish();
}

#[test]
fn json_lines_round_trip() {
    let out = SharedBuf::default();
    let reporter = JsonReporter::new(Box::new(out.clone()));
    let events = bootstrap();
    for event in &events {
        reporter.emit(event);
    }
    reporter.finish();
    let text = out.text();
    let parsed: Vec<EventEnvelope> =
        text.lines().map(|line| serde_json::from_str(line).expect("each line is an envelope")).collect();
    assert_eq!(parsed, events);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap_or_default()).expect("json");
    assert_eq!(first["v"], 1);
    assert_eq!(first["type"], "run_started");
    assert_eq!(first["ts"], "2025-06-15T15:06:40.123456Z");
}

#[test]
fn json_ignores_broken_pipes() {
    let reporter = JsonReporter::new(Box::new(BrokenPipe));
    for event in bootstrap() {
        reporter.emit(&event);
    }
    reporter.finish();
}

#[test]
fn bars_survive_a_run() {
    for color in [false, true] {
        let err = SharedBuf::default();
        let options = ReportOptions { verbose: true, color, ..ReportOptions::default() };
        let reporter = BarsReporter::with_draw_target(ProgressDrawTarget::hidden, Box::new(err.clone()), options);
        for event in bootstrap() {
            reporter.emit(&event);
        }
        reporter.finish();
        reporter.finish();
        assert!(err.text().ends_with(SUMMARY), "{}", err.text());
    }
}

#[test]
fn summary_keeps_the_last_twenty_lines() {
    let mut events = vec![
        Event::RunStarted {
            mode: RunMode::Run,
            name: "noisy".into(),
            tasks: vec![planned("noisy", &[], None)],
            state_dir: None,
        },
        Event::TaskStarted { task: "noisy".into() },
    ];
    events.extend((1..=25).map(|n| output("noisy", &format!("line {n}"))));
    events.push(Event::TaskFinished {
        task: "noisy".into(),
        outcome: TaskOutcome::Failed,
        duration_ms: 500,
        message: Some("command 1 exited with code 2".into()),
        gate_attempts: 0,
        log: None,
    });
    events.push(Event::RunFinished { outcome: RunOutcome::Failed, duration_ms: 600, resume_hint: None });
    let mut summary = RunSummary::new();
    for (event, n) in events.into_iter().zip(0..) {
        summary.record(&envelope(n, event));
    }
    let tail: Vec<String> = (6..=25).map(|n| format!("  | line {n}\n")).collect();
    let expected = "\
task   outcome  duration
noisy  failed       0.5s

1 task: 1 failed
run failed after 0.6s (noisy, run r1)

noisy failed: command 1 exited with code 2
  last 20 of 25 output lines:
"
    .to_owned()
        + &tail.concat();
    assert_eq!(summary.render(), expected);
}
