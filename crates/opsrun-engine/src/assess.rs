//! Assessment: check every gate of a plan once, in parallel, each bounded by its probe timeout.
//!
//! This answers "is the cluster operational?" for `opsrun status`, emergency recovery and
//! `classify --probe`. Nothing is run but the probes.

use std::sync::Arc;

use opsrun_event::ProbeVerdict;
use opsrun_plan::{Plan, TaskId};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::gate::{ProbeContext, probe_once};
use crate::probe::{ProbeRegistry, ProbeResult};
use crate::signal::Shutdown;

/// The health of one stage now.
#[derive(Debug, Clone, Serialize)]
pub struct StageHealth {
    /// Task key.
    pub task: String,
    /// The gate's name, if the task has one.
    pub gate: Option<String>,
    /// The probe's verdict; `None` for tasks without a gate.
    pub verdict: Option<ProbeVerdict>,
    /// One-line detail (secrets masked).
    pub detail: String,
    /// The plan node.
    #[serde(skip)]
    pub node: TaskId,
}

impl StageHealth {
    /// True for a gated stage whose probe passed.
    pub fn healthy(&self) -> bool {
        self.verdict == Some(ProbeVerdict::Pass)
    }
}

/// Probes every gate of `plan` once, concurrently (custom probes from `probes`); results in
/// plan order.
pub async fn assess(plan: Arc<Plan>, probes: &ProbeRegistry) -> Vec<StageHealth> {
    let masker = plan.masker().clone();
    // Never shut down: each probe is bounded by its own probe timeout.
    let (_tx, rx) = watch::channel(Shutdown::Running);
    let mut set: JoinSet<(TaskId, ProbeResult)> = JoinSet::new();
    for &node in plan.order() {
        if plan.task(node).health.is_none() {
            continue;
        }
        let plan = Arc::clone(&plan);
        let rx = rx.clone();
        let probes = probes.clone();
        set.spawn(async move {
            let task = plan.task(node);
            let env = crate::unit::env_pairs(task);
            let health = task.health.as_ref().expect("filtered on gates above");
            let ctx = ProbeContext {
                task: &task.key,
                dir: &task.dir,
                env: &env,
                shutdown: rx,
                probes: &probes,
                on_spawn: None,
            };
            (node, probe_once(health, &ctx).await)
        });
    }
    let mut results = std::collections::HashMap::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((node, r)) = joined {
            results.insert(node, r);
        }
    }
    plan.order()
        .iter()
        .map(|&node| {
            let task = plan.task(node);
            let gate = task.health.as_ref().map(|h| h.name.clone());
            let (verdict, detail) = match (results.remove(&node), &gate) {
                (Some(r), _) => (Some(r.verdict), masker.mask(&r.detail)),
                (None, Some(_)) => (Some(ProbeVerdict::Error), "probe did not complete".into()),
                (None, None) => (None, "no health gate".into()),
            };
            StageHealth { task: task.key.clone(), gate, verdict, detail, node }
        })
        .collect()
}
