//! Events consumed into your own output: the demo bootstrap chain run in-process, its event
//! stream folded into one JSON document of the kind a chat webhook or an incident tool takes.
//!
//! ```sh
//! cargo run --example event_summary
//! ```
//!
//! The demo's `onepassword` stage prints its secret token on purpose; the summary (like every
//! event) shows `****` instead.

use std::path::Path;

use opsrun::event::{Event, RunMode, RunOutcome};
use opsrun::{Project, Runner, SignalPolicy};
use serde_json::{Value, json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The demo writes its simulated cluster next to its tasks file: run a copy.
    let work = tempfile::tempdir()?;
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    for file in ["tasks.toml", "README.md"] {
        std::fs::copy(demo.join(file), work.path().join(file))?;
    }
    let plan = Project::load(work.path().join("tasks.toml"))?.pipeline("bootstrap")?;

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (report, summary) = runtime.block_on(async {
        let mut runner = Runner::new(SignalPolicy::None).mode(RunMode::Pipeline, "bootstrap");
        let mut events = runner.events();
        // The stream is read while the run goes on, as a long-running consumer would.
        let consumer = tokio::spawn(async move {
            let mut summary = Summary::default();
            while let Some(envelope) = events.next().await {
                summary.add(&envelope.event);
            }
            summary
        });
        let report = runner.run(plan).await?;
        Ok::<_, Box<dyn std::error::Error>>((report, consumer.await?))
    })?;

    let payload = summary.to_json();
    println!("{}", serde_json::to_string_pretty(&payload)?);
    assert_eq!(report.outcome, RunOutcome::Succeeded);
    assert_eq!(payload["outcome"], "succeeded");
    assert_eq!(payload["stages"].as_array().map(Vec::len), Some(report.tasks.len()));
    assert!(summary.output_lines > 0);
    assert!(summary.masked_lines > 0, "the demo prints its token: the events carry the mask");
    assert!(!payload.to_string().contains("demo-token-do-not-print"));
    Ok(())
}

/// What the webhook gets.
#[derive(Default)]
struct Summary {
    pipeline: String,
    outcome: Option<RunOutcome>,
    duration_ms: u64,
    stages: Vec<Value>,
    warnings: Vec<String>,
    output_lines: usize,
    masked_lines: usize,
}

impl Summary {
    fn add(&mut self, event: &Event) {
        match event {
            Event::RunStarted { name, .. } => self.pipeline.clone_from(name),
            Event::Output { line, .. } => {
                self.output_lines += 1;
                self.masked_lines += usize::from(line.contains(opsrun::engine::MASK));
            }
            Event::TaskFinished { task, outcome, duration_ms, message, gate_attempts, .. } => {
                self.stages.push(json!({
                    "task": task,
                    "outcome": outcome.label(),
                    "duration_ms": duration_ms,
                    "gate_probes": gate_attempts,
                    "message": message,
                }));
            }
            Event::Warning { message, .. } => self.warnings.push(message.clone()),
            Event::RunFinished { outcome, duration_ms, .. } => {
                self.outcome = Some(*outcome);
                self.duration_ms = *duration_ms;
            }
            // Commands, probes and whatever a newer opsrun adds are not part of this summary.
            _ => {}
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "text": format!("{} {}", self.pipeline, self.outcome.map_or("did not finish", |o| match o {
                RunOutcome::Succeeded => "succeeded",
                RunOutcome::Failed => "failed",
                RunOutcome::Interrupted => "was interrupted",
                _ => "ended",
            })),
            "pipeline": self.pipeline,
            "outcome": self.outcome,
            "duration_ms": self.duration_ms,
            "stages": self.stages,
            "warnings": self.warnings,
        })
    }
}
