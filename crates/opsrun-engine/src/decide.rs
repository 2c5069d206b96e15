//! Whether a task runs: the one decision a run acts on and `explain` / `--dry-run` describe.
//!
//! It is split where the engine must do something in between. [`before`] needs only the plan,
//! the saved state and what upstream did; preconditions then run; [`checks`] is go-task's
//! up-to-date check, of which only the sources part is decided here (status commands and gate
//! probes are run by the unit, and described as conditions by `explain`). Both are pure, so
//! each rule (forcing, resume, emergency recovery, sources by method) is unit-tested here
//! without processes.

use opsrun_event::RunMode;
use opsrun_spec::{Method, ResolvedTask};

use crate::state::{RecordStatus, TaskRecord};

/// Whether a task's dependencies executed in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upstream {
    /// None executed (each was skipped, resumed or up to date).
    Quiet,
    /// One may execute: it has status commands only a run can evaluate (`explain` only).
    Maybe,
    /// At least one executed.
    Ran,
}

/// What the decision depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Situation<'a> {
    pub(crate) task: &'a ResolvedTask,
    /// Not selected (`--only`, or upstream of an emergency recovery).
    pub(crate) assumed_done: bool,
    /// `--force`, `--from`, `--only`, or a forcing caller.
    pub(crate) forced: bool,
    /// Reached through a task call: part of its caller's work, never resumed on its own.
    pub(crate) called: bool,
    pub(crate) mode: RunMode,
    /// Saved state may skip tasks (pipelines, unless `--fresh`).
    pub(crate) resume: bool,
    pub(crate) prior: Option<&'a TaskRecord>,
    /// The task's fingerprint now.
    pub(crate) fingerprint: &'a str,
    pub(crate) upstream: Upstream,
}

/// The decision before preconditions run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Before {
    /// Not selected: assumed done, never run.
    AssumedDone,
    /// `platforms` excludes this machine.
    NotForPlatform(String),
    /// Saved state says done: it succeeded in `run` with the same fingerprint and nothing
    /// upstream executed. Skipped if its gate (if any) passes one probe now.
    Resume {
        /// The run it succeeded in.
        run: String,
    },
    /// Emergency recovery, a layer above the broken one: repaired only if its gate fails now.
    RepairIfUnhealthy,
    /// Goes on to preconditions and the up-to-date check, for this reason.
    Proceed(Why),
}

/// Why a task was not skipped by [`before`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Why {
    Forced,
    Called,
    /// Not resuming (`opsrun run`, `--fresh`), or emergency recovery of a task without a gate.
    NotResuming,
    NeverRan,
    /// Left `running` by an opsrun that stopped.
    Interrupted {
        run: String,
    },
    LastOutcome {
        run: String,
        status: RecordStatus,
    },
    Changed {
        run: String,
    },
    UpstreamRan,
}

impl Why {
    /// In a few words, for the `task_executing` event.
    pub(crate) fn describe(&self) -> String {
        match self {
            Why::Forced => "forced".into(),
            Why::Called => "called by a task that runs".into(),
            Why::NotResuming => "not resuming (opsrun run, or --fresh)".into(),
            Why::NeverRan => "never ran".into(),
            Why::Interrupted { run } => format!("interrupted in run {run}"),
            Why::LastOutcome { run, status } => {
                format!("last outcome in run {run} was {}", format!("{status:?}").to_lowercase())
            }
            Why::Changed { run } => format!("changed since run {run}"),
            Why::UpstreamRan => "a dependency ran".into(),
        }
    }
}

/// Decides what saved state, the plan and upstream say before anything of the task runs.
pub(crate) fn before(s: &Situation<'_>) -> Before {
    if s.assumed_done {
        return Before::AssumedDone;
    }
    if let Some(why) = &s.task.platform_skip {
        return Before::NotForPlatform(why.clone());
    }
    if s.forced {
        return Before::Proceed(Why::Forced);
    }
    if s.called {
        return Before::Proceed(Why::Called);
    }
    if s.mode == RunMode::Recovery {
        return if s.task.health.is_some() { Before::RepairIfUnhealthy } else { Before::Proceed(Why::NotResuming) };
    }
    if !s.resume {
        return Before::Proceed(Why::NotResuming);
    }
    match s.prior {
        None => Before::Proceed(Why::NeverRan),
        Some(p) if p.status == RecordStatus::Running => Before::Proceed(Why::Interrupted { run: p.run.clone() }),
        Some(p) if p.status != RecordStatus::Succeeded => {
            Before::Proceed(Why::LastOutcome { run: p.run.clone(), status: p.status })
        }
        Some(p) if p.fingerprint != s.fingerprint => Before::Proceed(Why::Changed { run: p.run.clone() }),
        Some(_) if s.upstream == Upstream::Ran => Before::Proceed(Why::UpstreamRan),
        Some(p) => Before::Resume { run: p.run.clone() },
    }
}

/// go-task's up-to-date check for a task that was not forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checks {
    /// It has `status` commands: up to date only if they all pass (the unit runs them).
    pub(crate) status: bool,
    /// `None` when it does not check sources (none, or `method = "none"`); else whether they
    /// are up to date by its method.
    pub(crate) sources: Option<SourcesCheck>,
}

/// The outcome of the sources part of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourcesCheck {
    UpToDate,
    Changed,
    /// A file it generates is missing (checksum method).
    GeneratedMissing,
}

/// The up-to-date check of `task`, or `None` when it has nothing to check (it runs).
pub(crate) fn checks(task: &ResolvedTask, prior: Option<&TaskRecord>, fingerprint: &str) -> Option<Checks> {
    let checks_sources = !task.sources.is_empty() && task.method != Method::None;
    if task.status.is_empty() && !checks_sources {
        return None;
    }
    let sources = checks_sources.then(|| {
        if task.method == Method::Timestamp {
            if crate::fingerprint::timestamps_up_to_date(&task.dir, &task.sources, &task.generates) {
                SourcesCheck::UpToDate
            } else {
                SourcesCheck::Changed
            }
        } else if !task
            .generates
            .iter()
            .all(|g| !crate::fingerprint::matching_files(&task.dir, std::slice::from_ref(g)).is_empty())
        {
            SourcesCheck::GeneratedMissing
        } else if prior.is_some_and(|p| p.status == RecordStatus::Succeeded && p.fingerprint == fingerprint) {
            SourcesCheck::UpToDate
        } else {
            SourcesCheck::Changed
        }
    });
    Some(Checks { status: !task.status.is_empty(), sources })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use opsrun_spec::{Invocation, Resolver};

    use super::*;

    fn task(toml: &str) -> ResolvedTask {
        let spec = opsrun_spec::load_str(Path::new("/tmp/opsrun-decide/tasks.toml"), toml).unwrap();
        Resolver::new(&spec, Invocation::default()).resolve("t", &indexmap::IndexMap::new()).unwrap()
    }

    fn record(status: RecordStatus, fingerprint: &str) -> TaskRecord {
        TaskRecord::fixture(status, fingerprint)
    }

    fn situation<'a>(task: &'a ResolvedTask, prior: Option<&'a TaskRecord>) -> Situation<'a> {
        Situation {
            task,
            assumed_done: false,
            forced: false,
            called: false,
            mode: RunMode::Pipeline,
            resume: true,
            prior,
            fingerprint: "fp",
            upstream: Upstream::Quiet,
        }
    }

    #[test]
    fn a_pipeline_resumes_an_unchanged_success_only() {
        let t = task("[tasks.t]\ncmds = ['true']");
        let ok = record(RecordStatus::Succeeded, "fp");
        assert_eq!(before(&situation(&t, Some(&ok))), Before::Resume { run: "r1".into() });
        assert_eq!(before(&situation(&t, None)), Before::Proceed(Why::NeverRan));
        let other = record(RecordStatus::Succeeded, "old");
        assert_eq!(before(&situation(&t, Some(&other))), Before::Proceed(Why::Changed { run: "r1".into() }));
        let failed = record(RecordStatus::Failed, "fp");
        assert_eq!(
            before(&situation(&t, Some(&failed))),
            Before::Proceed(Why::LastOutcome { run: "r1".into(), status: RecordStatus::Failed })
        );
        let running = record(RecordStatus::Running, "fp");
        assert_eq!(before(&situation(&t, Some(&running))), Before::Proceed(Why::Interrupted { run: "r1".into() }));
    }

    #[test]
    fn upstream_work_forcing_and_calls_beat_saved_state() {
        let t = task("[tasks.t]\ncmds = ['true']");
        let ok = record(RecordStatus::Succeeded, "fp");
        let base = situation(&t, Some(&ok));
        assert_eq!(before(&Situation { upstream: Upstream::Ran, ..base }), Before::Proceed(Why::UpstreamRan));
        // `explain` cannot know whether a dependency with status commands runs: it resumes, and
        // says so as a condition.
        assert_eq!(before(&Situation { upstream: Upstream::Maybe, ..base }), Before::Resume { run: "r1".into() });
        assert_eq!(before(&Situation { forced: true, ..base }), Before::Proceed(Why::Forced));
        assert_eq!(before(&Situation { called: true, ..base }), Before::Proceed(Why::Called));
        assert_eq!(before(&Situation { resume: false, ..base }), Before::Proceed(Why::NotResuming));
        assert_eq!(before(&Situation { assumed_done: true, forced: true, ..base }), Before::AssumedDone);
    }

    #[test]
    fn emergency_recovery_probes_gated_layers_and_reruns_the_rest() {
        let gated = task("[tasks.t]\ncmds = ['true']\nhealth = { cmd = 'true' }");
        let plain = task("[tasks.t]\ncmds = ['true']");
        let ok = record(RecordStatus::Succeeded, "fp");
        let recovery = |t| Situation { mode: RunMode::Recovery, ..situation(t, Some(&ok)) };
        assert_eq!(before(&recovery(&gated)), Before::RepairIfUnhealthy);
        assert_eq!(before(&recovery(&plain)), Before::Proceed(Why::NotResuming));
        // The broken layer itself is forced.
        assert_eq!(before(&Situation { forced: true, ..recovery(&gated) }), Before::Proceed(Why::Forced));
    }

    #[test]
    fn the_up_to_date_check_follows_the_method() {
        assert_eq!(checks(&task("[tasks.t]\ncmds = ['true']"), None, "fp"), None);
        let status = task("[tasks.t]\ncmds = ['true']\nstatus = ['test -f x']");
        assert_eq!(checks(&status, None, "fp"), Some(Checks { status: true, sources: None }));
        let sources = task("[tasks.t]\ncmds = ['true']\nsources = ['*.txt']");
        let ok = record(RecordStatus::Succeeded, "fp");
        let up = checks(&sources, Some(&ok), "fp").and_then(|c| c.sources);
        assert_eq!(up, Some(SourcesCheck::UpToDate));
        assert_eq!(checks(&sources, Some(&ok), "new").and_then(|c| c.sources), Some(SourcesCheck::Changed));
        assert_eq!(checks(&sources, None, "fp").and_then(|c| c.sources), Some(SourcesCheck::Changed));
        let none = task("[tasks.t]\ncmds = ['true']\nsources = ['*.txt']\nmethod = 'none'");
        assert_eq!(checks(&none, Some(&ok), "fp"), None);
        let generates = task("[tasks.t]\ncmds = ['true']\nsources = ['*.txt']\ngenerates = ['out.bin']");
        assert_eq!(checks(&generates, Some(&ok), "fp").and_then(|c| c.sources), Some(SourcesCheck::GeneratedMissing));
    }
}
