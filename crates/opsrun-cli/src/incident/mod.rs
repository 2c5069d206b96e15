//! `opsrun incident report`: the incident record the post-incident review needs, from what
//! opsrun journaled (assessments, emergency recoveries, runs, override suspends, resumes and
//! alignment checks), what is not aligned yet, and the framework's post-emergency questions,
//! as Markdown ([`markdown`]) or JSON.

mod markdown;
mod window;

use std::path::Path;

use opsrun_engine::{list_runs, read_journal};
use opsrun_event::{Event, EventEnvelope, RunMode, TaskOutcome};
use serde::Serialize;

use crate::args::{Cli, IncidentReportArgs};
use crate::context::Context;
use crate::error::{CliError, Result};
use crate::exit;
use crate::gitops::record::{AuditEntry, OverrideBook, OverrideRecord, Stage, audit_path, read_jsonl};
use crate::journals::{AssessmentRecord, RecoveryRecord, assessments_path, recoveries_path};
use crate::status::age;

pub(crate) use window::Window;

/// The whole record.
#[derive(Debug, Serialize)]
pub(crate) struct IncidentReport {
    pub(crate) window: Window,
    pub(crate) generated: Generated,
    pub(crate) summary: Summary,
    /// Oldest first.
    pub(crate) timeline: Vec<Entry>,
    /// Overrides that are suspended, or resumed and not aligned yet (now, whatever the window).
    pub(crate) unaligned: Vec<Unaligned>,
    /// The post-incident review's questions, unanswered.
    pub(crate) review: Vec<ReviewSection>,
}

/// Who wrote the record, when, from what.
#[derive(Debug, Serialize)]
pub(crate) struct Generated {
    pub(crate) at: jiff::Timestamp,
    pub(crate) user: String,
    pub(crate) host: String,
    pub(crate) opsrun: &'static str,
    pub(crate) tasks_file: String,
}

/// Counts for the top of the record.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Summary {
    pub(crate) assessments: usize,
    pub(crate) unhealthy_assessments: usize,
    pub(crate) recoveries: usize,
    pub(crate) runs: usize,
    pub(crate) override_actions: usize,
    /// Kustomizations overridden in the window.
    pub(crate) overrides: Vec<String>,
}

/// A stage's health at an assessment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StageState {
    pub(crate) stage: String,
    pub(crate) health: String,
    pub(crate) detail: String,
}

/// One command a task ran.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CommandRun {
    pub(crate) command: String,
    pub(crate) exit_code: Option<i32>,
    pub(crate) status: String,
    pub(crate) duration_ms: u64,
}

/// A task that ran commands (tasks skipped as up to date or resumed are left out).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TaskRun {
    pub(crate) task: String,
    pub(crate) outcome: String,
    pub(crate) duration_ms: u64,
    pub(crate) message: Option<String>,
    pub(crate) commands: Vec<CommandRun>,
}

/// One thing that happened.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Entry {
    /// `opsrun status` or the assessment an emergency recovery starts with.
    Assessment {
        ts: jiff::Timestamp,
        user: String,
        host: String,
        command: String,
        pipeline: String,
        operational: bool,
        unhealthy: Vec<StageState>,
        duration_ms: u64,
    },
    /// `opsrun emergency-recovery` that ran.
    Recovery {
        ts: jiff::Timestamp,
        user: String,
        host: String,
        pipeline: String,
        outcome: String,
        broken: Vec<StageState>,
        plan: Vec<String>,
        run: Option<String>,
        tasks: Vec<TaskRun>,
        /// Stages still unhealthy after it.
        still_unhealthy: Vec<String>,
        duration_ms: Option<u64>,
    },
    /// Any other run (`bootstrap`, `pipeline`, `run`) that ran commands.
    Run {
        ts: jiff::Timestamp,
        run: String,
        name: String,
        mode: String,
        outcome: String,
        tasks: Vec<TaskRun>,
        duration_ms: Option<u64>,
    },
    /// An override suspend, resume or alignment check, from the audit log.
    Override(AuditEntry),
}

impl Entry {
    pub(crate) fn ts(&self) -> jiff::Timestamp {
        match self {
            Entry::Assessment { ts, .. } | Entry::Recovery { ts, .. } | Entry::Run { ts, .. } => *ts,
            Entry::Override(a) => a.ts,
        }
    }
}

/// An override that is not aligned yet.
#[derive(Debug, Serialize)]
pub(crate) struct Unaligned {
    pub(crate) name: String,
    pub(crate) stage: Stage,
    pub(crate) since: jiff::Timestamp,
    pub(crate) age: String,
    pub(crate) reason: String,
    pub(crate) suspended_by: String,
    pub(crate) problems: Vec<String>,
}

/// A part of the post-incident review, its questions unanswered.
#[derive(Debug, Serialize)]
pub(crate) struct ReviewSection {
    pub(crate) title: &'static str,
    pub(crate) questions: Vec<Question>,
}

/// A question and its (empty) answer.
#[derive(Debug, Serialize)]
pub(crate) struct Question {
    pub(crate) question: &'static str,
    pub(crate) answer: String,
}

/// The framework's post-emergency procedure ("Post-Emergency Procedures" of the Bootstrap vs
/// GitOps decision framework), as questions.
const REVIEW: &[(&str, &[&str])] = &[
    (
        "Immediate documentation",
        &[
            "What was changed, and why? (The timeline lists what opsrun ran; add what was done by hand.)",
            "Which emergency procedure was used (emergency recovery, override, direct kubectl), and why that one?",
            "Which deviations from standard practice were made, and why?",
        ],
    ),
    (
        "System alignment",
        &[
            "Does the Git repository reflect the actual cluster state?",
            "Has GitOps taken over management again?",
            "Do the emergency changes conflict with what GitOps applies?",
        ],
    ),
    (
        "Post-incident review",
        &[
            "What was the root cause of the emergency?",
            "Which procedures change so that it does not recur?",
            "Which monitoring or alerting would have caught it sooner?",
        ],
    ),
];

/// `opsrun incident report`.
pub(crate) fn report(cli: &Cli, ctx: &Context, args: &IncidentReportArgs) -> Result<u8> {
    let state_dir = ctx.state_dir();
    let now = jiff::Timestamp::now();
    let assessments: Vec<AssessmentRecord> = read_jsonl(&assessments_path(&state_dir));
    let recoveries: Vec<RecoveryRecord> = read_jsonl(&recoveries_path(&state_dir));
    let audit: Vec<AuditEntry> = read_jsonl(&audit_path(&state_dir));
    let runs = list_runs(&state_dir);
    let window = window::select(args, now, &runs, &assessments, &audit).map_err(CliError::Usage)?;

    let mut timeline = Vec::new();
    for a in assessments.iter().filter(|a| window.contains(a.ts)) {
        timeline.push(assessment_entry(a));
    }
    let recovery_runs: Vec<&str> = recoveries.iter().filter_map(|r| r.run.as_deref()).collect();
    for r in recoveries.iter().filter(|r| window.contains(r.started.unwrap_or(r.ts))) {
        timeline.push(recovery_entry(&state_dir, r));
    }
    for info in runs.iter().filter(|i| i.started.is_some_and(|t| window.contains(t))) {
        if recovery_runs.contains(&info.id.as_str()) {
            continue;
        }
        if let Some(entry) = run_entry(&state_dir, info) {
            timeline.push(entry);
        }
    }
    for a in audit.iter().filter(|a| window.contains(a.ts)) {
        timeline.push(Entry::Override(a.clone()));
    }
    timeline.sort_by_key(Entry::ts);

    let mut summary = Summary::default();
    for e in &timeline {
        match e {
            Entry::Assessment { operational, .. } => {
                summary.assessments += 1;
                summary.unhealthy_assessments += usize::from(!operational);
            }
            Entry::Recovery { .. } => summary.recoveries += 1,
            Entry::Run { .. } => summary.runs += 1,
            Entry::Override(a) => {
                summary.override_actions += 1;
                if !summary.overrides.contains(&a.name) {
                    summary.overrides.push(a.name.clone());
                }
            }
        }
    }
    let unaligned = OverrideBook::new(&state_dir)
        .load()?
        .into_iter()
        .filter(OverrideRecord::open)
        .map(|o| Unaligned {
            since: o.stage_since(),
            age: age(o.stage_since()),
            stage: o.stage,
            suspended_by: format!("{}@{}", o.user, o.host),
            problems: o.last_check.map(|c| c.problems).unwrap_or_default(),
            name: o.name,
            reason: o.reason,
        })
        .collect();
    let report = IncidentReport {
        window,
        generated: Generated {
            at: now,
            user: opsrun_engine::user_name(),
            host: opsrun_engine::host_name(),
            opsrun: env!("CARGO_PKG_VERSION"),
            tasks_file: ctx.spec.file.display().to_string(),
        },
        summary,
        timeline,
        unaligned,
        review: REVIEW
            .iter()
            .map(|(title, questions)| ReviewSection {
                title,
                questions: questions.iter().map(|q| Question { question: q, answer: String::new() }).collect(),
            })
            .collect(),
    };
    let text = if cli.output == "json" {
        serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::Other { code: exit::INTERNAL, message: format!("cannot encode the report: {e}") })?
    } else {
        markdown::render(&report)
    };
    println!("{text}");
    Ok(exit::OK)
}

fn rows(rows: &[(String, String, String)]) -> Vec<StageState> {
    rows.iter()
        .map(|(stage, health, detail)| StageState {
            stage: stage.clone(),
            health: health.clone(),
            detail: detail.clone(),
        })
        .collect()
}

fn assessment_entry(a: &AssessmentRecord) -> Entry {
    Entry::Assessment {
        ts: a.ts,
        user: a.user.clone(),
        host: a.host.clone(),
        command: a.command.clone(),
        pipeline: a.pipeline.clone(),
        operational: a.operational,
        unhealthy: rows(&a.stages).into_iter().filter(|s| s.health != "healthy").collect(),
        duration_ms: a.duration_ms,
    }
}

fn recovery_entry(state_dir: &Path, r: &RecoveryRecord) -> Entry {
    let (tasks, run_duration) = r.run.as_deref().map(|id| tasks_of(state_dir, id)).unwrap_or_default();
    Entry::Recovery {
        ts: r.started.unwrap_or(r.ts),
        user: r.user.clone(),
        host: r.host.clone(),
        pipeline: r.pipeline.clone(),
        outcome: r.outcome.clone(),
        broken: rows(&r.broken),
        plan: r.plan.clone(),
        run: r.run.clone(),
        tasks,
        still_unhealthy: r.after.iter().filter(|(_, h)| h != "healthy").map(|(s, _)| s.clone()).collect(),
        duration_ms: r.duration_ms.or(run_duration),
    }
}

fn run_entry(state_dir: &Path, info: &opsrun_engine::RunInfo) -> Option<Entry> {
    let (tasks, _) = tasks_of(state_dir, &info.id);
    if tasks.is_empty() {
        // Nothing ran (everything up to date or resumed): nothing changed.
        return None;
    }
    let mode = match info.mode {
        Some(RunMode::Pipeline) => "pipeline",
        Some(RunMode::Recovery) => "recovery",
        Some(RunMode::Run) => "run",
        _ => "unknown",
    };
    Some(Entry::Run {
        ts: info.started?,
        run: info.id.clone(),
        name: info.name.clone(),
        mode: mode.into(),
        outcome: info.outcome.map_or_else(|| "did not finish".to_string(), |o| snake(&o)),
        tasks,
        duration_ms: info.duration_ms,
    })
}

/// A serde enum's JSON name (`succeeded`, `failed_ignored`).
fn snake<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "unknown".into())
}

/// The tasks of a run that ran commands, with their commands, from its journal; and the run's
/// duration.
fn tasks_of(state_dir: &Path, run: &str) -> (Vec<TaskRun>, Option<u64>) {
    let Ok(events) = read_journal(state_dir, run) else { return (Vec::new(), None) };
    tasks_from_events(&events)
}

fn tasks_from_events(events: &[EventEnvelope]) -> (Vec<TaskRun>, Option<u64>) {
    let mut tasks: Vec<TaskRun> = Vec::new();
    let mut commands: Vec<(String, usize, String)> = Vec::new();
    let mut finished: Vec<(String, CommandRun)> = Vec::new();
    let mut duration = None;
    for e in events {
        match &e.event {
            Event::CommandStarted { task, index, command, .. } => {
                commands.push((task.clone(), *index, command.clone()));
            }
            Event::CommandFinished { task, index, exit_code, status, duration_ms } => {
                let command = commands
                    .iter()
                    .rev()
                    .find(|(t, i, _)| t == task && i == index)
                    .map(|(_, _, c)| c.clone())
                    .unwrap_or_default();
                finished.push((
                    task.clone(),
                    CommandRun { command, exit_code: *exit_code, status: snake(status), duration_ms: *duration_ms },
                ));
            }
            Event::TaskFinished { task, outcome, duration_ms, message, .. } => {
                if matches!(outcome, TaskOutcome::UpToDate | TaskOutcome::Resumed | TaskOutcome::NotRun) {
                    continue;
                }
                let cmds: Vec<CommandRun> =
                    finished.iter().filter(|(t, _)| t == task).map(|(_, c)| c.clone()).collect();
                if cmds.is_empty() && *outcome == TaskOutcome::Ok {
                    // A task without commands (a gate only) changed nothing.
                    continue;
                }
                tasks.push(TaskRun {
                    task: task.clone(),
                    outcome: snake(outcome),
                    duration_ms: *duration_ms,
                    message: message.clone(),
                    commands: cmds,
                });
            }
            Event::RunFinished { duration_ms, .. } => duration = Some(*duration_ms),
            _ => {}
        }
    }
    (tasks, duration)
}
