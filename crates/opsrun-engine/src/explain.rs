//! `opsrun explain` and `--dry-run`: what a run would do, without running anything.
//!
//! Fingerprints are computed in plan order exactly as a run computes them, and compared with
//! the saved state. What only a run can know (the result of `status` commands, whether a gate
//! passes now) is stated as a condition rather than guessed.

use opsrun_plan::Plan;
use serde::Serialize;

use crate::fingerprint::Fingerprint;
use crate::state::{RecordStatus, State};

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
    /// The current fingerprint.
    pub fingerprint: String,
}

/// Explains every task of `plan` against `state` for a run with `resume` and `force`.
#[expect(
    clippy::too_many_lines,
    reason = "walks the plan once, deciding each task in the engine's check order; the order is the point"
)]
pub fn explain(plan: &Plan, state: &State, resume: bool, force: bool) -> Vec<Explanation> {
    let mut digests = vec![String::new(); plan.len()];
    // `runs`: certainly executes; `maybe`: executes unless its status commands pass (only a
    // run can tell), so dependents are told it as a condition, not a certainty.
    let mut runs = vec![false; plan.len()];
    let mut maybe = vec![false; plan.len()];
    let mut out = Vec::with_capacity(plan.len());
    let mut static_digests = std::collections::HashMap::new();
    for &node in plan.order() {
        let task = plan.task(node);
        let deps: Vec<_> = plan.dependencies(node).collect();
        let calls: Vec<String> = plan
            .callees(node)
            .iter()
            .map(|&c| crate::fingerprint::static_digest(plan, c, &mut static_digests))
            .collect();
        let fp = Fingerprint::compute_with_calls(
            task,
            &deps.iter().map(|d| digests[d.index()].clone()).collect::<Vec<_>>(),
            &calls,
            plan.root_dir(),
        );
        let prior = state.tasks.get(&task.key);
        let changed = prior.map(|p| fp.changed_parts(&p.parts)).unwrap_or_default();
        let dep_runs: Vec<&str> = deps.iter().filter(|d| runs[d.index()]).map(|d| plan.task(*d).key.as_str()).collect();
        let dep_maybe: Vec<&str> =
            deps.iter().filter(|d| maybe[d.index()] && !runs[d.index()]).map(|d| plan.task(*d).key.as_str()).collect();
        let gate = task.health.as_ref().map(|h| format!(" and its gate `{}` passes", h.name)).unwrap_or_default();
        let callers: Vec<&str> = plan.callers(node).iter().map(|&c| plan.task(c).key.as_str()).collect();
        let (will_run, reason) = if plan.node(node).assumed_done {
            (false, "not selected in this run (--only or emergency recovery); assumed done".to_string())
        } else if let Some(why) = &task.platform_skip {
            (false, format!("skipped: {why}"))
        } else if force || plan.node(node).forced {
            (true, "forced (--force, --from or --only)".to_string())
        } else if !task.status.is_empty() {
            (
                true,
                format!(
                    "its status commands decide{gate}; explain does not run them, since they may reach the cluster"
                ),
            )
        } else if plan.node(node).on_demand && !callers.is_empty() {
            (true, format!("runs when {} calls it", callers.join(" or ")))
        } else if plan.node(node).on_demand {
            let needed_by: Vec<&str> = plan.dependents(node).map(|d| plan.task(d).key.as_str()).collect();
            (true, format!("runs before {}, which runs only when called", needed_by.join(" and ")))
        } else if !resume {
            if task.sources.is_empty() {
                (true, "always runs (no status or sources to check)".to_string())
            } else if !task
                .generates
                .iter()
                .all(|g| !crate::fingerprint::matching_files(&task.dir, std::slice::from_ref(g)).is_empty())
            {
                (true, "a file it generates is missing".to_string())
            } else if prior.is_some_and(|p| p.status == RecordStatus::Succeeded && p.fingerprint == fp.digest) {
                (false, format!("up to date: sources unchanged{gate}"))
            } else {
                (true, "sources changed since the last success".to_string())
            }
        } else {
            match prior {
                None => (true, "never ran".to_string()),
                Some(p) if p.status == RecordStatus::Running => {
                    (true, format!("was interrupted in run {} (opsrun stopped)", p.run))
                }
                Some(p) if p.status != RecordStatus::Succeeded => {
                    (true, format!("last outcome in run {} was {}", p.run, format!("{:?}", p.status).to_lowercase()))
                }
                Some(p) if p.fingerprint != fp.digest => {
                    (true, format!("changed since run {}: {}", p.run, changed.join(", ")))
                }
                Some(_) if !dep_runs.is_empty() => (true, format!("a dependency will run: {}", dep_runs.join(", "))),
                Some(p) => (
                    false,
                    format!(
                        "succeeded in run {}, unchanged; skipped if{}",
                        p.run,
                        if gate.is_empty() {
                            " nothing else changes".to_string()
                        } else {
                            gate.trim_start_matches(" and").to_string()
                        }
                    ),
                ),
            }
        };
        let conditional = !task.status.is_empty() && will_run && !(force || plan.node(node).forced);
        let reason = if !will_run && !dep_maybe.is_empty() {
            format!("{reason}; but runs if {} does (status commands decide)", dep_maybe.join(", "))
        } else {
            reason
        };
        runs[node.index()] = will_run && !conditional;
        maybe[node.index()] = conditional || (!will_run && !dep_maybe.is_empty());
        digests[node.index()].clone_from(&fp.digest);
        out.push(Explanation {
            task: task.key.clone(),
            will_run,
            unless_status: conditional,
            reason,
            changed,
            fingerprint: fp.digest,
        });
    }
    out
}
