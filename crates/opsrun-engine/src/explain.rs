//! `opsrun explain` and `--dry-run`: what a run would do, without running anything.
//!
//! Fingerprints are computed in plan order exactly as a run computes them (each task's once,
//! its sources through the run's [`SourceCache`]), and compared with the saved state. What
//! only a run can know (the result of `status` commands, whether a gate passes now) is stated
//! as a condition rather than guessed.
//!
//! [`explain`] computes every task's fingerprint (`opsrun explain` shows them); [`predict`]
//! only those the decisions need, for `--dry-run`, confirmations and the preflight: a task's
//! fingerprint matters only when the state has a record of it to compare with, or a task that
//! depends on it (whose fingerprint covers its dependencies') has one. Their decisions and
//! reasons are the same.

use opsrun_event::RunMode;
use opsrun_plan::{Plan, TaskId};
use serde::Serialize;

use crate::decide::{self, Before, Checks, Situation, SourcesCheck, Upstream, Why};
use crate::sources::SourceCache;
use crate::state::State;

/// The expected decision for one task.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Explanation {
    /// Task key.
    pub task: String,
    /// True when the task is expected to run its commands.
    pub will_run: bool,
    /// Its `status` commands decide when it runs (`will_run` is then "unless they pass"): only
    /// a run executes them, since they may reach the cluster.
    pub unless_status: bool,
    /// Why, in one sentence.
    pub reason: String,
    /// Fingerprint parts that differ from the last recorded run.
    pub changed: Vec<String>,
    /// The current fingerprint (empty from [`predict`] when no decision needed it).
    pub fingerprint: String,
}

/// Explains every task of `plan` against `state` for a run with `resume` and `force`; source
/// files are read through `sources` (give the run the same cache, and unchanged files are read
/// at most once).
pub fn explain(plan: &Plan, state: &State, resume: bool, force: bool, sources: &SourceCache) -> Vec<Explanation> {
    explain_with(plan, state, resume, force, sources, &vec![true; plan.len()])
}

/// [`explain`] computing only the fingerprints the decisions need: those of the tasks `state`
/// has a record of, and of what they depend on. The other explanations have an empty
/// `fingerprint`; every decision and reason is the one [`explain`] gives.
pub fn predict(plan: &Plan, state: &State, resume: bool, force: bool, sources: &SourceCache) -> Vec<Explanation> {
    let mut needed = vec![false; plan.len()];
    // Dependents come after their dependencies in plan order: walking it backwards marks a
    // task's dependencies before they are reached.
    for &node in plan.order().iter().rev() {
        if needed[node.index()] || state.tasks.contains_key(&plan.task(node).key) {
            needed[node.index()] = true;
            for d in plan.dependencies(node) {
                needed[d.index()] = true;
            }
        }
    }
    explain_with(plan, state, resume, force, sources, &needed)
}

/// Explains every task, computing the fingerprints of the tasks marked in `fingerprinted`.
fn explain_with(
    plan: &Plan,
    state: &State,
    resume: bool,
    force: bool,
    sources: &SourceCache,
    fingerprinted: &[bool],
) -> Vec<Explanation> {
    // `runs`: certainly executes; `maybe`: executes unless its status commands pass (only a
    // run can tell), so dependents are told it as a condition, not a certainty.
    let mut runs = vec![false; plan.len()];
    let mut maybe = vec![false; plan.len()];
    let mut out = Vec::with_capacity(plan.len());
    // Nothing runs before the run this explains, so every task's fingerprint is its static one
    // (a callee's, needed for its callers, is then computed once).
    let mut fingerprints = crate::fingerprint::StaticMemo::new();
    for &node in plan.order() {
        let task = plan.task(node);
        let deps: Vec<_> = plan.dependencies(node).collect();
        let prior = state.tasks.get(&task.key);
        let fp = fingerprinted[node.index()]
            .then(|| crate::fingerprint::static_fingerprint(plan, node, &mut fingerprints, sources).clone());
        let digest = fp.as_ref().map_or("", |fp| fp.digest.as_str());
        let changed = prior.zip(fp.as_ref()).map(|(p, fp)| fp.changed_parts(&p.parts)).unwrap_or_default();
        let dep_runs: Vec<&str> = deps.iter().filter(|d| runs[d.index()]).map(|d| plan.task(*d).key.as_str()).collect();
        let dep_maybe: Vec<&str> =
            deps.iter().filter(|d| maybe[d.index()] && !runs[d.index()]).map(|d| plan.task(*d).key.as_str()).collect();
        let gate = task.health.as_ref().map(|h| format!(" and its gate `{}` passes", h.name)).unwrap_or_default();
        let situation = Situation {
            task,
            assumed_done: plan.node(node).assumed_done,
            forced: force || plan.node(node).forced,
            called: plan.node(node).on_demand,
            mode: if resume { RunMode::Pipeline } else { RunMode::Run },
            resume,
            prior,
            fingerprint: digest,
            upstream: if !dep_runs.is_empty() {
                Upstream::Ran
            } else if dep_maybe.is_empty() {
                Upstream::Quiet
            } else {
                Upstream::Maybe
            },
        };
        // (runs, runs unless its status commands pass, why)
        let (will_run, conditional, reason) = match decide::before(&situation) {
            Before::AssumedDone => {
                (false, false, "not selected in this run (--only or emergency recovery); assumed done".to_string())
            }
            Before::NotForPlatform(why) => (false, false, format!("skipped: {why}")),
            Before::Resume { run } => {
                let unless = if gate.is_empty() {
                    " nothing else changes".to_string()
                } else {
                    gate.trim_start_matches(" and").to_string()
                };
                (false, false, format!("succeeded in run {run}, unchanged; skipped if{unless}"))
            }
            Before::RepairIfUnhealthy => (true, false, format!("repaired unless{}", gate.trim_start_matches(" and"))),
            Before::Proceed(Why::Forced) => (true, false, "forced (--force, --from or --only)".to_string()),
            Before::Proceed(why) => match decide::checks(task, prior, digest) {
                Some(Checks { sources: Some(SourcesCheck::GeneratedMissing), .. }) => {
                    (true, false, "a file it generates is missing".to_string())
                }
                Some(Checks { sources: Some(SourcesCheck::Changed), .. }) => {
                    (true, false, "sources changed since the last success".to_string())
                }
                Some(Checks { status: true, .. }) => (
                    true,
                    true,
                    format!(
                        "its status commands decide{gate}; explain does not run them, since they may reach the cluster"
                    ),
                ),
                Some(_) => (false, false, format!("up to date: sources unchanged{gate}")),
                None => (true, false, why_it_runs(plan, node, &why, &changed, &dep_runs)),
            },
        };
        let reason = if !will_run && !dep_maybe.is_empty() {
            format!("{reason}; but runs if {} does (status commands decide)", dep_maybe.join(", "))
        } else {
            reason
        };
        runs[node.index()] = will_run && !conditional;
        maybe[node.index()] = conditional || (!will_run && !dep_maybe.is_empty());
        let fingerprint = fp.map(|fp| fp.digest).unwrap_or_default();
        out.push(Explanation {
            task: task.key.clone(),
            will_run,
            unless_status: conditional,
            reason,
            changed,
            fingerprint,
        });
    }
    out
}

/// Why a task that [`decide::before`] lets through, and that has nothing to check, runs.
fn why_it_runs(plan: &Plan, node: TaskId, why: &Why, changed: &[String], dep_runs: &[&str]) -> String {
    match why {
        Why::Forced => "forced (--force, --from or --only)".to_string(),
        Why::Called => {
            let callers: Vec<&str> = plan.callers(node).iter().map(|&c| plan.task(c).key.as_str()).collect();
            if callers.is_empty() {
                let needed_by: Vec<&str> = plan.dependents(node).map(|d| plan.task(d).key.as_str()).collect();
                format!("runs before {}, which runs only when called", needed_by.join(" and "))
            } else {
                format!("runs when {} calls it", callers.join(" or "))
            }
        }
        Why::NotResuming => "always runs (no status or sources to check)".to_string(),
        Why::NeverRan => "never ran".to_string(),
        Why::Interrupted { run } => format!("was interrupted in run {run} (opsrun stopped)"),
        Why::LastOutcome { run, status } => {
            format!("last outcome in run {run} was {}", format!("{status:?}").to_lowercase())
        }
        Why::Changed { run } => format!("changed since run {run}: {}", changed.join(", ")),
        Why::UpstreamRan => format!("a dependency will run: {}", dep_runs.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use opsrun_plan::{Plan, PlanOptions};
    use opsrun_spec::{Invocation, Resolver};

    use super::*;
    use crate::state::{RecordStatus, TaskRecord};

    const CHAIN: &str = "
        [tasks.talos]
        cmds = ['true']
        [tasks.api]
        deps = ['talos']
        cmds = ['true']
        [tasks.cni]
        deps = ['api']
        cmds = ['true', { task = 'helper' }]
        [tasks.helper]
        deps = ['talos']
        cmds = ['true']
        [tasks.flux]
        deps = ['cni']
        cmds = ['true']
    ";

    fn record(fingerprint: &str) -> TaskRecord {
        TaskRecord::fixture(RecordStatus::Succeeded, fingerprint)
    }

    #[test]
    fn predict_decides_as_explain_with_only_the_fingerprints_it_needs() {
        let spec = opsrun_spec::load_str(Path::new("/tmp/opsrun-explain/tasks.toml"), CHAIN).unwrap();
        let resolver = Resolver::new(&spec, Invocation::default());
        let plan = Plan::build(&resolver, &["flux".to_string()], &PlanOptions::default()).unwrap();
        let without_fingerprints = |xs: &[Explanation]| {
            xs.iter().map(|x| Explanation { fingerprint: String::new(), ..x.clone() }).collect::<Vec<_>>()
        };
        let fingerprinted = |xs: &[Explanation]| {
            xs.iter().filter(|x| !x.fingerprint.is_empty()).map(|x| x.task.as_str()).collect::<Vec<_>>().join(" ")
        };

        let by_task = |xs: &[Explanation], task: &str| xs.iter().find(|x| x.task == task).cloned().unwrap();

        // No saved state: no decision needs a fingerprint.
        let mut state = State::default();
        let full = explain(&plan, &state, true, false, &SourceCache::in_memory());
        assert_eq!(fingerprinted(&full), "talos api helper cni flux");
        let predicted = predict(&plan, &state, true, false, &SourceCache::in_memory());
        assert_eq!(fingerprinted(&predicted), "");
        assert_eq!(predicted, without_fingerprints(&full));

        // A record of `flux` needs its fingerprint, and so those of its dependencies, but not
        // the callee's own (the caller's covers it through the callee's static digest).
        let only_flux = State { tasks: [("flux".to_string(), record("old"))].into(), ..State::default() };
        assert_eq!(
            fingerprinted(&predict(&plan, &only_flux, true, false, &SourceCache::in_memory())),
            "talos api cni flux"
        );
        assert_eq!(
            by_task(&predict(&plan, &only_flux, true, false, &SourceCache::in_memory()), "flux"),
            by_task(&explain(&plan, &only_flux, true, false, &SourceCache::in_memory()), "flux")
        );

        // Records up to `cni`: their fingerprints, and those of what they depend on, are needed
        // (the callee's is part of its caller's); `flux`'s is not.
        for task in ["talos", "api", "cni"] {
            state.tasks.insert(task.into(), record(&by_task(&full, task).fingerprint));
        }
        let full = explain(&plan, &state, true, false, &SourceCache::in_memory());
        let predicted = predict(&plan, &state, true, false, &SourceCache::in_memory());
        assert_eq!(fingerprinted(&predicted), "talos api cni");
        assert_eq!(without_fingerprints(&predicted), without_fingerprints(&full));
        for task in ["talos", "api", "cni"] {
            assert_eq!(by_task(&predicted, task), by_task(&full, task));
        }
        assert!(by_task(&predicted, "cni").reason.starts_with("succeeded in run r1, unchanged"), "{predicted:#?}");

        // A changed record is explained with its changed parts, as by `explain`.
        state.tasks.insert("cni".into(), record("another"));
        let predicted = predict(&plan, &state, true, false, &SourceCache::in_memory());
        assert_eq!(
            by_task(&predicted, "cni"),
            by_task(&explain(&plan, &state, true, false, &SourceCache::in_memory()), "cni")
        );
        assert!(by_task(&predicted, "cni").reason.starts_with("changed since run r1"), "{predicted:#?}");
    }
}
