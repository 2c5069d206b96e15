//! A `tasks.toml` run from a file: a failure reacted to, then a resume.
//!
//! ```sh
//! cargo run --example resume_from_file
//! ```
//!
//! The demo chain runs with `FAIL_AT=cilium` and a state directory, and fails at `cilium`. The
//! program reads the failure from the report and the task's log (as an operator's tool would,
//! to page someone with the right lines), then runs the pipeline again without the fault: the
//! stages below `cilium` are resumed from the saved state and `cilium` onwards runs.

use std::path::Path;

use opsrun::event::{Event, RunMode, RunOutcome, TaskOutcome};
use opsrun::{Project, Runner, SignalPolicy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = tempfile::tempdir()?;
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    for file in ["tasks.toml", "README.md"] {
        std::fs::copy(demo.join(file), work.path().join(file))?;
    }
    let state = work.path().join(".opsrun");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    // 1. The failing run.
    let plan = Project::load(work.path().join("tasks.toml"))?.var("FAIL_AT", "cilium").pipeline("bootstrap")?;
    let mut runner = Runner::new(SignalPolicy::None)
        .mode(RunMode::Pipeline, "bootstrap")
        .state_dir(&state)
        .resume(true)
        .keep_going(false);
    let mut events = runner.events();
    let report = runtime.block_on(runner.run(plan))?;
    assert_eq!(report.outcome, RunOutcome::Failed);

    // 2. React: which stage failed, why, and the end of its log.
    let mut failure = None;
    while let Some(e) = events.try_next() {
        if let Event::TaskFinished { task, outcome: TaskOutcome::Failed, message, log, .. } = e.event {
            failure = Some((task, message, log));
        }
    }
    let (task, message, log) = failure.ok_or("a failed run reports its failed task")?;
    println!("failed: {task}: {}", message.unwrap_or_default());
    let log = std::fs::read_to_string(log.ok_or("a task that ran has a log")?)?;
    let tail: Vec<&str> = log.lines().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
    println!("last lines of its log:\n  {}", tail.join("\n  "));
    assert_eq!(task, "cilium");
    assert!(log.contains("injected: FAIL_AT=cilium"));

    // 3. Fixed: run again. Saved state skips what already succeeded.
    let plan = Project::load(work.path().join("tasks.toml"))?.pipeline("bootstrap")?;
    let runner = Runner::new(SignalPolicy::None).mode(RunMode::Pipeline, "bootstrap").state_dir(&state).resume(true);
    let report = runtime.block_on(runner.run(plan))?;
    for (task, outcome) in &report.tasks {
        println!("{task:<18} {}", outcome.label());
    }
    assert_eq!(report.outcome, RunOutcome::Succeeded);
    let outcome = |name: &str| report.tasks.iter().find(|(t, _)| t == name).map(|(_, o)| *o);
    assert_eq!(outcome("talos"), Some(TaskOutcome::Resumed));
    assert_eq!(outcome("api"), Some(TaskOutcome::Resumed));
    assert_eq!(outcome("cilium"), Some(TaskOutcome::Ok));
    assert_eq!(outcome("flux"), Some(TaskOutcome::Ok));
    Ok(())
}
