//! The spawning workloads: start-up, a 200-long chain and 500 parallel no-op tasks, each opsrun
//! invocation exactly as a user types it, paired against the C spawn floor and, when installed,
//! against go-task and just. The `extra` rows repeat the old `--output plain -q --force` runs,
//! for comparison with earlier tables; the `reference` rows time no opsrun: the floor capturing
//! output through pipes, and just, each against the plain floor.

use std::path::Path;

use super::floor::Floor;
use super::suite::{Bench, Runner, Target, Versus};
use super::table::Row;
use super::workload;

const CHAIN_LENGTH: usize = 200;
const FAN_OUT_DEPS: usize = 500;
/// opsrun's time over the floor's.
const FLOOR_TARGET: Target = Target::AtMost(1.15);
/// opsrun's time over just's, on the chain.
const JUST_TARGET: Target = Target::Below(1.0);

/// go-task runs `true` in its embedded shell interpreter (mvdan/sh), where `true` is a builtin: it
/// spawns no process, so its figure is not bound by the spawn floor.
const NO_SPAWN: &str = " (no spawn)";

/// The flags of the `extra` rows: what the table measured before it timed the default invocation.
const OLD_FLAGS: [&str; 4] = ["--output", "plain", "-q", "--force"];

impl Bench<'_> {
    /// Reference: what merely starting opsrun costs, next to the floor starting one `sh -c true`.
    pub(super) fn startup(&mut self) -> Result<Vec<Row>, String> {
        let dir = self.workdir("startup", &[])?;
        let result = {
            let mut opsrun = Self::side("opsrun --version", || self.opsrun(&dir, &["--version"]));
            let mut floor = Self::side(Floor::label(1, 1), || self.floor(1, 1));
            self.compare("start-up", &mut opsrun, &mut floor)
        };
        Ok(vec![self.pair_row("start-up: `opsrun --version`", Floor::label(1, 1), result, Target::None)])
    }

    pub(super) fn chain(&mut self) -> Result<Vec<Row>, String> {
        let workload = workload::chain(CHAIN_LENGTH);
        let dir = self.workdir("chain", &workload.files())?;
        let target = workload::chain_target(CHAIN_LENGTH);
        let title = format!("{CHAIN_LENGTH}-long chain: `opsrun run {target}`");
        let run = ["run", target.as_str()];
        let mut rows = Vec::new();

        let floor_label = Floor::label(CHAIN_LENGTH, 1);
        let result = {
            let mut opsrun = Self::side("opsrun", || self.opsrun(&dir, &run));
            let mut floor = Self::side(&floor_label, || self.floor(CHAIN_LENGTH, 1));
            self.compare("chain", &mut opsrun, &mut floor)
        };
        rows.push(self.pair_row(title.clone(), floor_label.clone(), result, FLOOR_TARGET));
        let args = [target.as_str()];
        rows.push(self.tool_row(
            &title,
            &dir,
            &run,
            &Versus { runner: Runner::Just, args: &args, note: "", target: JUST_TARGET },
        ));
        rows.push(self.tool_row(
            &title,
            &dir,
            &run,
            &Versus { runner: Runner::GoTask, args: &args, note: NO_SPAWN, target: Target::None },
        ));

        let old: Vec<&str> = run.iter().copied().chain(OLD_FLAGS).collect();
        let result = {
            let mut opsrun = Self::side("opsrun -q --force", || self.opsrun(&dir, &old));
            let mut floor = Self::side(&floor_label, || self.floor(CHAIN_LENGTH, 1));
            self.compare("chain, extra", &mut opsrun, &mut floor)
        };
        let extra = format!("extra: chain, `opsrun run {target} {}`", OLD_FLAGS.join(" "));
        rows.push(self.pair_row(extra, floor_label.clone(), result, Target::None));
        rows.push(self.capture_row("chain", CHAIN_LENGTH, 1));
        rows.push(self.just_floor_row(&dir, &args, &floor_label));
        Ok(rows)
    }

    pub(super) fn fan_out(&mut self) -> Result<Vec<Row>, String> {
        let workload = workload::fan_out(FAN_OUT_DEPS);
        let dir = self.workdir("fan-out", &workload.files())?;
        let jobs = self.jobs.to_string();
        let title = format!("{FAN_OUT_DEPS} no-op deps: `opsrun run all -j {jobs}`");
        let run = ["run", "all", "-j", jobs.as_str()];
        let mut rows = Vec::new();

        let floor_label = Floor::label(FAN_OUT_DEPS, self.jobs);
        let result = {
            let mut opsrun = Self::side("opsrun", || self.opsrun(&dir, &run));
            let mut floor = Self::side(&floor_label, || self.floor(FAN_OUT_DEPS, self.jobs));
            self.compare("fan-out", &mut opsrun, &mut floor)
        };
        rows.push(self.pair_row(title.clone(), floor_label.clone(), result, FLOOR_TARGET));
        let task_args = ["all", "--concurrency", jobs.as_str()];
        let go_task = Versus { runner: Runner::GoTask, args: &task_args, note: NO_SPAWN, target: Target::None };
        rows.push(self.tool_row(&title, &dir, &run, &go_task));
        // just runs a recipe's dependencies one after the other unless the recipe is `[parallel]`,
        // which the generated justfile (written as a user would write it) is not.
        let just = Versus { runner: Runner::Just, args: &["all"], note: " (serial)", target: Target::None };
        rows.push(self.tool_row(&title, &dir, &run, &just));

        let old: Vec<&str> = run.iter().copied().chain(OLD_FLAGS).collect();
        let result = {
            let mut opsrun = Self::side("opsrun -q --force", || self.opsrun(&dir, &old));
            let mut floor = Self::side(&floor_label, || self.floor(FAN_OUT_DEPS, self.jobs));
            self.compare("fan-out, extra", &mut opsrun, &mut floor)
        };
        let extra = format!("extra: fan-out, `opsrun run all -j {jobs} {}`", OLD_FLAGS.join(" "));
        rows.push(self.pair_row(extra, floor_label, result, Target::None));
        rows.push(self.capture_row("fan-out", FAN_OUT_DEPS, self.jobs));
        Ok(rows)
    }

    /// Reference, no opsrun in it: the floor capturing its children's output through pipes, paired
    /// against the plain floor, which tells what capturing output costs by itself.
    fn capture_row(&mut self, workload: &str, count: usize, jobs: usize) -> Row {
        let result = {
            let mut capturing = Self::side(Floor::capture_label(count, jobs), || self.floor_capturing(count, jobs));
            let mut floor = Self::side(Floor::label(count, jobs), || self.floor(count, jobs));
            self.compare(&format!("{workload}, capture"), &mut capturing, &mut floor)
        };
        let title = format!("reference: {workload}, {} (no opsrun)", Floor::capture_label(count, jobs));
        self.pair_row(title, Floor::label(count, jobs), result, Target::None)
    }

    /// Reference, no opsrun in it: just on the chain, paired against the floor.
    fn just_floor_row(&mut self, dir: &Path, args: &[&str], floor_label: &str) -> Row {
        let title = format!("reference: chain, just `just {}` (no opsrun)", args.join(" "));
        let Some(just) = self.just else {
            return Row { other: "just: not installed".into(), ..Row::new(title) };
        };
        let result = {
            let mut just = Self::side("just", || Self::tool(just, dir, args));
            let mut floor = Self::side(floor_label, || self.floor(CHAIN_LENGTH, 1));
            self.compare("chain, just", &mut just, &mut floor)
        };
        self.pair_row(title, floor_label, result, Target::None)
    }
}
