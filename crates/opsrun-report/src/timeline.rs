//! [`RunTimeline`]: one run's events (its journal) folded into what a run report shows: when
//! each task started and ended, its gate wait and probes, why it ran, the tail of its output,
//! and the critical path. Pure: the HTML, Markdown and JSON reports render this.

use std::collections::{HashMap, VecDeque};

use opsrun_event::{Event, EventEnvelope, ProbeVerdict, RunMode, RunOutcome, TaskOutcome};
use serde::Serialize;

use crate::text::clean_line;

/// How many output lines of a task a report keeps.
pub const REPORT_TAIL_LINES: usize = 12;

/// A run as a report shows it; times are milliseconds from the run's start.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunTimeline {
    /// The run id.
    pub run: String,
    /// The pipeline, or the targets.
    pub name: String,
    /// `run`, `pipeline`, `recovery`.
    pub mode: Option<RunMode>,
    /// When it started (RFC 3339).
    pub started: Option<String>,
    /// How long it took (to its last event when it never finished).
    pub duration_ms: u64,
    /// How it ended; `None` when the journal has no end (opsrun was killed).
    pub outcome: Option<RunOutcome>,
    /// Every task of the plan, in plan order (those nobody called left out).
    pub tasks: Vec<TaskSpan>,
    /// The chain of tasks that decided the run's length, first to last: the last task to
    /// finish, the dependency it waited for last, and so on.
    pub critical_path: Vec<String>,
}

/// One task of a [`RunTimeline`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskSpan {
    /// The task key.
    pub task: String,
    /// Its direct dependencies.
    pub deps: Vec<String>,
    /// When it started, if it did.
    pub start_ms: Option<u64>,
    /// When it ended, if it did.
    pub end_ms: Option<u64>,
    /// How it ended.
    pub outcome: Option<TaskOutcome>,
    /// Why it was skipped (resumed, up to date).
    pub skipped: Option<String>,
    /// Why it ran (`never ran`, `changed since run X`, ...).
    pub reason: Option<String>,
    /// The fingerprint parts that changed since its last recorded run.
    pub changed: Vec<String>,
    /// Its health gate, when it waited on one.
    pub gate: Option<GateSpan>,
    /// On failure, why.
    pub message: Option<String>,
    /// Its last [`REPORT_TAIL_LINES`] output lines.
    pub tail: Vec<String>,
    /// How many lines it printed in all.
    pub output_lines: u64,
    /// On the critical path.
    pub critical: bool,
    /// Reached only through task calls.
    #[serde(skip)]
    pub on_demand: bool,
}

impl TaskSpan {
    /// Wall time, when it started and ended.
    pub fn duration_ms(&self) -> Option<u64> {
        Some(self.end_ms?.saturating_sub(self.start_ms?))
    }
}

/// A gate wait of a [`TaskSpan`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct GateSpan {
    /// The gate's name.
    pub name: String,
    /// When it started polling.
    pub start_ms: u64,
    /// When it finished, if it did.
    pub end_ms: Option<u64>,
    /// Passed, failed, or unknown (never finished).
    pub passed: Option<bool>,
    /// Every probe.
    pub probes: Vec<ProbeMark>,
}

/// One probe of a gate.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeMark {
    /// When its verdict came.
    pub at_ms: u64,
    /// 1-based.
    pub attempt: u32,
    /// The classification.
    pub verdict: ProbeVerdict,
    /// Its one-line detail.
    pub detail: String,
}

impl RunTimeline {
    /// Folds a run's events (as its journal holds them) into a timeline.
    pub fn from_events(events: &[EventEnvelope]) -> Self {
        let mut t = RunTimeline::default();
        let Some(first) = events.first() else { return t };
        let start = first.ts;
        let at = |e: &EventEnvelope| u64::try_from(e.ts.duration_since(start).as_millis()).unwrap_or(0);
        t.run.clone_from(&first.run);
        t.started = Some(start.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut tails: HashMap<String, VecDeque<String>> = HashMap::new();
        let mut slot = |t: &mut RunTimeline, task: &str| -> usize {
            *index.entry(task.to_owned()).or_insert_with(|| {
                t.tasks.push(TaskSpan { task: task.to_owned(), ..TaskSpan::default() });
                t.tasks.len() - 1
            })
        };
        for e in events {
            let now = at(e);
            t.duration_ms = t.duration_ms.max(now);
            match &e.event {
                Event::RunStarted { mode, name, tasks, .. } => {
                    t.mode = Some(*mode);
                    t.name.clone_from(name);
                    for planned in tasks {
                        let i = slot(&mut t, &planned.task);
                        t.tasks[i].deps.clone_from(&planned.deps);
                        t.tasks[i].on_demand = planned.on_demand;
                    }
                }
                Event::TaskStarted { task } => {
                    let i = slot(&mut t, task);
                    t.tasks[i].start_ms = Some(now);
                }
                Event::TaskSkipped { task, detail, .. } => {
                    let i = slot(&mut t, task);
                    t.tasks[i].skipped = Some(clean_line(detail));
                }
                Event::TaskExecuting { task, reason, changed } => {
                    let i = slot(&mut t, task);
                    t.tasks[i].reason = Some(clean_line(reason));
                    t.tasks[i].changed.clone_from(changed);
                }
                Event::Output { task, line, .. } => {
                    let i = slot(&mut t, task);
                    t.tasks[i].output_lines += 1;
                    let tail = tails.entry(task.clone()).or_default();
                    if tail.len() == REPORT_TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(clean_line(line));
                }
                Event::GateStarted { task, gate, .. } => {
                    let i = slot(&mut t, task);
                    t.tasks[i].gate = Some(GateSpan { name: clean_line(gate), start_ms: now, ..GateSpan::default() });
                }
                Event::GateProbe { task, attempt, verdict, detail, .. } => {
                    let i = slot(&mut t, task);
                    if let Some(gate) = &mut t.tasks[i].gate {
                        gate.probes.push(ProbeMark {
                            at_ms: now,
                            attempt: *attempt,
                            verdict: *verdict,
                            detail: clean_line(detail),
                        });
                    }
                }
                Event::GateFinished { task, passed, .. } => {
                    let i = slot(&mut t, task);
                    if let Some(gate) = &mut t.tasks[i].gate {
                        gate.end_ms = Some(now);
                        gate.passed = Some(*passed);
                    }
                }
                Event::TaskFinished { task, outcome, message, .. } => {
                    let i = slot(&mut t, task);
                    let span = &mut t.tasks[i];
                    span.outcome = Some(*outcome);
                    span.message = message.as_deref().map(clean_line);
                    if span.start_ms.is_some() {
                        span.end_ms = Some(now);
                    }
                }
                Event::RunFinished { outcome, duration_ms, .. } => {
                    t.outcome = Some(*outcome);
                    t.duration_ms = t.duration_ms.max(*duration_ms);
                }
                _ => {}
            }
        }
        for span in &mut t.tasks {
            span.tail = tails.remove(&span.task).map(Vec::from).unwrap_or_default();
        }
        // A task reached only through calls that nobody called was not part of the run.
        t.tasks.retain(|s| !(s.on_demand && s.start_ms.is_none()));
        t.critical_path = critical_path(&t.tasks);
        for span in &mut t.tasks {
            span.critical = t.critical_path.contains(&span.task);
        }
        t
    }
}

/// The last task to finish, then at each step the dependency that finished last (the one it
/// waited for), back to a task with none; returned first to last.
fn critical_path(tasks: &[TaskSpan]) -> Vec<String> {
    let by_name: HashMap<&str, &TaskSpan> = tasks.iter().map(|t| (t.task.as_str(), t)).collect();
    let Some(mut current) = tasks.iter().filter(|t| t.end_ms.is_some()).max_by_key(|t| t.end_ms) else {
        return Vec::new();
    };
    let mut path = vec![current.task.clone()];
    while let Some(next) = current
        .deps
        .iter()
        .filter_map(|d| by_name.get(d.as_str()))
        .filter(|d| d.end_ms.is_some())
        .max_by_key(|d| d.end_ms)
    {
        if path.contains(&next.task) {
            break;
        }
        path.push(next.task.clone());
        current = next;
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsrun_event::{EVENT_SCHEMA_VERSION, PlannedTask};

    fn at(ms: i64, event: Event) -> EventEnvelope {
        EventEnvelope {
            v: EVENT_SCHEMA_VERSION,
            ts: jiff::Timestamp::from_millisecond(1_750_000_000_000 + ms).expect("timestamp"),
            run: "r1".into(),
            event,
        }
    }

    fn planned(task: &str, deps: &[&str]) -> PlannedTask {
        PlannedTask { task: task.into(), deps: deps.iter().map(|d| (*d).into()).collect(), ..PlannedTask::default() }
    }

    fn finished(task: &str, outcome: TaskOutcome) -> Event {
        Event::TaskFinished { task: task.into(), outcome, duration_ms: 0, message: None, gate_attempts: 0, log: None }
    }

    #[test]
    fn folds_spans_gates_reasons_and_the_critical_path() {
        let events = vec![
            at(
                0,
                Event::RunStarted {
                    mode: RunMode::Pipeline,
                    name: "bootstrap".into(),
                    tasks: vec![planned("a", &[]), planned("b", &[]), planned("c", &["a", "b"])],
                    state_dir: None,
                },
            ),
            at(0, Event::TaskStarted { task: "a".into() }),
            at(0, Event::TaskStarted { task: "b".into() }),
            at(10, Event::TaskExecuting { task: "a".into(), reason: "never ran".into(), changed: vec![] }),
            at(20, Event::Output { task: "a".into(), stream: opsrun_event::Stream::Stdout, line: "hi".into() }),
            at(100, finished("b", TaskOutcome::Ok)),
            at(300, Event::GateStarted { task: "a".into(), gate: "g".into(), timeout_ms: 1, success_threshold: 1 }),
            at(
                400,
                Event::GateProbe {
                    task: "a".into(),
                    gate: "g".into(),
                    attempt: 1,
                    verdict: ProbeVerdict::Pass,
                    detail: "ok".into(),
                    elapsed_ms: 100,
                    consecutive_passes: 1,
                },
            ),
            at(
                400,
                Event::GateFinished {
                    task: "a".into(),
                    gate: "g".into(),
                    passed: true,
                    attempts: 1,
                    elapsed_ms: 100,
                    message: None,
                },
            ),
            at(400, finished("a", TaskOutcome::Ok)),
            at(400, Event::TaskStarted { task: "c".into() }),
            at(500, finished("c", TaskOutcome::Failed)),
            at(500, Event::RunFinished { outcome: RunOutcome::Failed, duration_ms: 500, resume_hint: None }),
        ];
        let t = RunTimeline::from_events(&events);
        assert_eq!(t.duration_ms, 500);
        assert_eq!(t.critical_path, ["a", "c"]);
        let a = &t.tasks[0];
        assert_eq!((a.start_ms, a.end_ms, a.duration_ms()), (Some(0), Some(400), Some(400)));
        assert_eq!(a.reason.as_deref(), Some("never ran"));
        assert_eq!(a.tail, ["hi"]);
        let gate = a.gate.as_ref().expect("gate");
        assert_eq!((gate.start_ms, gate.end_ms, gate.probes.len()), (300, Some(400), 1));
        assert!(!t.tasks[1].critical && t.tasks[2].critical);
    }
}
