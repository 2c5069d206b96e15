//! Health gates: what a gate that passes at its first probe adds to a task (paired against the
//! same task without a gate), and what resuming a finished pipeline of 200 gated tasks costs
//! (paired against a dry run of it). Resuming probes each task's gate once; the dry run probes
//! nothing. Every timed run is checked for having done what the row says.

use super::suite::{Bench, Target, stderr_has};
use super::table::Row;
use super::workload;

/// Milliseconds a passing gate may add.
const GATE_TARGET_MS: f64 = 5.0;
const PIPELINE_TASKS: usize = 200;

impl Bench<'_> {
    pub(super) fn gate(&mut self) -> Result<Vec<Row>, String> {
        let dir = self.workdir("gate", &[("tasks.toml", &workload::gate())])?;
        let result = {
            let mut gated = Self::checked_side(
                "opsrun run gated",
                || self.opsrun(&dir, &["run", "gated"]),
                |finished| stderr_has(finished, "after 1 probe"),
            );
            let mut plain = Self::side("opsrun run plain", || self.opsrun(&dir, &["run", "plain"]));
            self.compare("gate passing at its first probe", &mut gated, &mut plain)
        };
        let added = result.as_ref().ok().and_then(super::pairs::Pairs::difference_ms);
        let mut row = self.pair_row(
            "health gate passing at its first probe: `opsrun run gated`",
            "`opsrun run plain` (same task, no gate)",
            result,
            Target::None,
        );
        if let Some(added) = added {
            row.ratio = format!("{:+.2} ms ({:+.2} to {:+.2})", added.median, added.min, added.max);
            row.met = Some(added.median < GATE_TARGET_MS);
        }
        row.target = format!("< +{GATE_TARGET_MS} ms");
        Ok(vec![row])
    }

    pub(super) fn resume(&mut self) -> Result<Vec<Row>, String> {
        let dir = self.workdir("resume", &[("tasks.toml", &workload::gated_pipeline(PIPELINE_TASKS))])?;
        eprintln!("  resume: first run of pipeline p to completion");
        let done = format!("{PIPELINE_TASKS} tasks: {PIPELINE_TASKS} ok");
        super::process::run(&mut self.opsrun(&dir, &["pipeline", "p"]))
            .and_then(|finished| stderr_has(&finished, &done))
            .map_err(|e| format!("the first run of the {PIPELINE_TASKS}-task pipeline: {e}"))?;
        let resumed = format!("{PIPELINE_TASKS} tasks: {PIPELINE_TASKS} resumed");
        // The dry run's plan ends with the last task, to be skipped.
        let last = format!("{PIPELINE_TASKS}. {} [skip:", workload::dag_target(PIPELINE_TASKS));
        let result = {
            let mut resume = Self::checked_side(
                "opsrun pipeline p",
                || self.opsrun(&dir, &["pipeline", "p"]),
                |finished| stderr_has(finished, &resumed),
            );
            let mut dry = Self::checked_side(
                "opsrun pipeline p --dry-run",
                || self.opsrun(&dir, &["pipeline", "p", "--dry-run"]),
                |finished| {
                    if finished.stdout.contains(&last) {
                        Ok(())
                    } else {
                        Err(format!("the dry run's plan does not end with `{last}`"))
                    }
                },
            );
            self.compare("resume of a finished pipeline", &mut resume, &mut dry)
        };
        Ok(vec![self.pair_row(
            format!("resume: {PIPELINE_TASKS} gated tasks all done, `opsrun pipeline p`"),
            "`opsrun pipeline p --dry-run`",
            result,
            Target::None,
        )])
    }
}
