//! Embedding opsrun: load a tasks file, plan a pipeline, run it with your own event sink.
//!
//! ```sh
//! cargo run --example embed -- examples/demo/tasks.toml bootstrap
//! ```
//!
//! Nothing is printed by the engine: this program decides what to show (here, one line per
//! finished task and a count of health-gate probes), and records no state (`state_dir: None`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use opsrun::engine::{Masker, RunOptions, SignalHandlerKind};
use opsrun::event::{Event, EventEnvelope, RunMode};
use opsrun::plan::{Plan, PlanOptions};
use opsrun::spec::{Invocation, Resolver};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = PathBuf::from(args.next().unwrap_or_else(|| "examples/demo/tasks.toml".into()));
    let pipeline = args.next().unwrap_or_else(|| "bootstrap".into());

    let spec = opsrun::spec::load(&file)?;
    let targets = spec
        .pipelines
        .get(&pipeline)
        .ok_or_else(|| format!("no pipeline `{pipeline}` in {}", file.display()))?
        .targets
        .clone();
    let resolver = Resolver::new(&spec, Invocation::default());
    let plan = Plan::build(&resolver, &targets, &PlanOptions { allow_internal: true, ..PlanOptions::default() })?;

    let probes = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&probes);
    let sink = Arc::new(move |e: &EventEnvelope| match &e.event {
        Event::GateProbe { .. } => {
            seen.fetch_add(1, Ordering::Relaxed);
        }
        Event::TaskFinished { task, outcome, duration_ms, .. } => {
            println!("{task:<20} {:<12} {duration_ms} ms", outcome.label());
        }
        _ => {}
    });
    let options = RunOptions {
        mode: RunMode::Pipeline,
        name: pipeline,
        state_dir: None,
        // An embedder keeps its own signal handling.
        signals: SignalHandlerKind::Noop,
        ..RunOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report =
        runtime.block_on(opsrun::engine::run(Arc::new(plan), options, Masker::new(resolver.secrets()), sink, None))?;
    println!("{:?} in {:?}, {} gate probes", report.outcome, report.duration, probes.load(Ordering::Relaxed));
    Ok(())
}
