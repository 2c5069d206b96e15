//! Emergency recovery planning: from an assessment of every gate, the first broken layer and
//! the plan that repairs from there.
//!
//! The broken layer is forced (its `recover` commands run, or its `cmds`); every layer that
//! depends on it is selected and, when its turn comes, repaired only if its gate still fails
//! (`RunMode::Recovery` in the unit); layers below the broken one are never touched. With
//! `rerun_downstream`, every selected layer is forced.

use opsrun_plan::{Plan, TaskId};
use opsrun_spec::{ResolvedCmd, ResolvedTask};

use crate::assess::StageHealth;

/// What emergency recovery will do.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// The first layer, in plan order, whose gate fails now.
    pub broken: TaskId,
    /// The layers it selects, in order: the broken one and everything that depends on it.
    pub stages: Vec<TaskId>,
    /// The plan to run (everything else assumed done).
    pub plan: Plan,
    rerun_downstream: bool,
}

/// Why a selected layer is part of the recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecoveryStep {
    /// The first broken layer: repaired.
    Broken,
    /// Re-run whatever its gate says (`--rerun-downstream`).
    Rerun,
    /// Repaired only if its gate still fails after the layers below it were repaired.
    RepairIfUnhealthy,
    /// No gate to ask: always re-run.
    NoGate,
}

/// Plans the recovery of `plan` from `health` (one assessment per stage, in plan order, as
/// [`assess`](crate::assess) returns). `None` when every gated layer is healthy.
pub fn plan_recovery(plan: &Plan, health: &[StageHealth], rerun_downstream: bool) -> Option<Recovery> {
    let broken = health.iter().find(|s| s.gate.is_some() && !s.healthy())?.node;
    let stages = plan.downstream(&[broken]);
    let forced = if rerun_downstream { stages.clone() } else { vec![broken] };
    let plan = plan.selecting(&stages, &forced);
    Some(Recovery { broken, stages, plan, rerun_downstream })
}

impl Recovery {
    /// Why `node` (one of [`Recovery::stages`]) is part of the recovery.
    pub fn step(&self, node: TaskId) -> RecoveryStep {
        if node == self.broken {
            RecoveryStep::Broken
        } else if self.rerun_downstream {
            RecoveryStep::Rerun
        } else if self.plan.task(node).health.is_some() {
            RecoveryStep::RepairIfUnhealthy
        } else {
            RecoveryStep::NoGate
        }
    }
}

/// The commands a recovery runs for `task`: its `recover` commands when it has them, else its
/// `cmds`; and whether they are the `recover` ones.
pub fn repair_commands(task: &ResolvedTask) -> (&[ResolvedCmd], bool) {
    if task.recover.is_empty() { (&task.cmds, false) } else { (&task.recover, true) }
}
