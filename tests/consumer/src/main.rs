//! An embedder of opsrun: a pipeline built in code with a custom Rust gate, run; a second run
//! cancelled; the events of both checked. Exits non-zero (a failed assertion) when anything
//! differs from what the library promises.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use opsrun::event::{Event, ProbeVerdict, RunOutcome, TaskOutcome};
use opsrun::spec::build::{GateBuilder, SpecBuilder, TaskBuilder};
use opsrun::{ProbeContext, ProbeResult, Project, Runner, SignalPolicy, StopSignal};

fn main() {
    let dir = std::env::temp_dir().join(format!("opsrun-consumer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a work directory");
    let spec = SpecBuilder::new(&dir)
        .secret("TOKEN", "consumer-secret-value")
        .task(TaskBuilder::new("cni").cmd("echo cni up"))
        .task(
            TaskBuilder::new("api")
                .dep("cni")
                .cmd("echo using {{.TOKEN}}")
                .gate(GateBuilder::probe("warming").with("needed", "3").interval("10ms").success_threshold(1)),
        )
        .task(TaskBuilder::new("hang").cmd("echo hanging; sleep 60"))
        .pipeline("bootstrap", ["api"])
        .pipeline("hang", ["hang"])
        .build()
        .expect("a valid spec");
    let project = Project::new(spec);

    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    // Not ready until the third probe, as a starting API server.
    let warming = move |ctx: ProbeContext| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        let needed: u32 = ctx.arg("needed").and_then(|v| v.parse().ok()).unwrap_or(1);
        async move {
            if n >= needed {
                ProbeResult::pass(format!("probe {n}"))
            } else {
                ProbeResult::not_ready(format!("probe {n}"))
            }
        }
    };

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let mut runner = Runner::new(SignalPolicy::None).probe("warming", warming);
        let mut events = runner.events();
        let report = runner.run(project.pipeline("bootstrap").expect("a plan")).await.expect("the run starts");
        assert_eq!(report.outcome, RunOutcome::Succeeded);
        assert_eq!(report.tasks, [("cni".to_string(), TaskOutcome::Ok), ("api".to_string(), TaskOutcome::Ok)]);
        let mut verdicts = Vec::new();
        let mut lines = Vec::new();
        while let Some(e) = events.next().await {
            match e.event {
                Event::GateProbe { verdict, .. } => verdicts.push(verdict),
                Event::Output { line, .. } => lines.push(line),
                _ => {}
            }
        }
        assert_eq!(verdicts, [ProbeVerdict::NotReady, ProbeVerdict::NotReady, ProbeVerdict::Pass]);
        assert_eq!(lines, ["cni up", "using ****"], "the secret is masked by default");
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let mut runner = Runner::new(SignalPolicy::None).grace(Duration::from_secs(5));
        let mut events = runner.events();
        let stop = runner.cancel_token();
        let run = tokio::spawn(runner.run(project.pipeline("hang").expect("a plan")));
        let mut interrupts = Vec::new();
        while let Some(e) = events.next().await {
            match e.event {
                Event::Output { .. } => stop.stop(StopSignal::Interrupt),
                Event::Interrupt { signal, .. } => interrupts.push(signal),
                _ => {}
            }
        }
        let report = run.await.expect("the run task").expect("the run starts");
        assert_eq!(report.outcome, RunOutcome::Interrupted);
        assert_eq!(report.interrupted_by, Some(StopSignal::Interrupt));
        assert_eq!(report.tasks, [("hang".to_string(), TaskOutcome::Interrupted)]);
        // SIGINT is forwarded first; on a loaded machine the grace period may end before the
        // command does, and the run then kills it ("grace period over").
        assert_eq!(interrupts.first().map(String::as_str), Some("SIGINT"), "{interrupts:?}");
        assert!(report.duration < Duration::from_secs(10), "the sleeping command was ended");
    });
    let _ = std::fs::remove_dir_all(&dir);
    println!("consumer: ok");
}
