//! The workloads that read and plan without running anything: `opsrun list` on 1000 tasks (against
//! go-task and just, and its memory next to `opsrun --version`'s), and `opsrun run LAST --dry-run`
//! on a 10,000-task DAG (its time, and how its memory grows with the number of tasks).

use std::time::Duration;

use super::pairs::Summary;
use super::process::PeakRss;
use super::suite::{Bench, Runner, Target, Versus};
use super::table::{Row, grouped, kib_to_mib, mib, ms, rss};
use super::workload;

const LIST_TASKS: usize = 1000;
/// opsrun's time over go-task's.
const LIST_TARGET: Target = Target::Below(0.1);
/// "At the measurement floor": `opsrun list`'s peak RSS at most this much above `--version`'s.
const LIST_RSS_SLACK_KIB: u64 = 1024;

/// The plan that is timed, and the smaller ones that show how memory grows.
const PLAN_TASKS: usize = 10_000;
const PLAN_SIZES: [usize; 3] = [2_500, 5_000, PLAN_TASKS];
const PLAN_TARGET: Duration = Duration::from_millis(100);

impl Bench<'_> {
    pub(super) fn list(&mut self) -> Result<Vec<Row>, String> {
        let workload = workload::listing(LIST_TASKS);
        let dir = self.workdir("list", &workload.files())?;
        let title = format!("`opsrun list`, {LIST_TASKS} tasks");
        let list = ["list"];
        let mut rows = Vec::new();
        let go_task = Versus { runner: Runner::GoTask, args: &["--list"], note: "", target: LIST_TARGET };
        rows.push(self.tool_row(&title, &dir, &list, &go_task));
        let just = Versus { runner: Runner::Just, args: &["--list"], note: "", target: Target::None };
        rows.push(self.tool_row(&title, &dir, &list, &just));

        let result = {
            let mut opsrun = Self::side("opsrun list", || self.opsrun(&dir, &list));
            let mut version = Self::side("opsrun --version", || self.opsrun(&dir, &["--version"]));
            self.compare("list memory", &mut opsrun, &mut version)
        };
        let peaks = result.as_ref().ok().and_then(|pairs| Some((pairs.a()?.max_rss, pairs.b()?.max_rss)));
        let mut row = self.pair_row(format!("{title}: memory"), "`opsrun --version`", result, Target::None);
        row.target = format!("peak RSS ≤ `--version`'s + {}", mib(LIST_RSS_SLACK_KIB));
        row.met = peaks.and_then(|(list, version)| within(list, version, LIST_RSS_SLACK_KIB));
        rows.push(row);
        Ok(rows)
    }

    pub(super) fn plan(&mut self) -> Result<Vec<Row>, String> {
        let mut summaries = Vec::new();
        let mut failure = None;
        for tasks in PLAN_SIZES {
            let dir = self.workdir(&format!("plan-{tasks}"), &[("tasks.toml", &workload::plan(tasks))])?;
            let target = workload::dag_target(tasks);
            let args = ["run", target.as_str(), "--dry-run"];
            // Proof that all the tasks were planned: the plan ends with the target, numbered.
            let last = format!("{tasks}. {target} [run");
            let runs = if tasks == PLAN_TASKS { self.options.pairs } else { self.options.pairs.min(3) };
            let result = {
                let mut side = Self::checked_side(
                    format!("opsrun run {target} --dry-run"),
                    || self.opsrun(&dir, &args),
                    |finished| {
                        if finished.stdout.contains(&last) {
                            Ok(())
                        } else {
                            Err(format!("the dry run's output does not end with `{last}`"))
                        }
                    },
                );
                self.repeat(&format!("plan of {tasks} tasks"), &mut side, runs)
            };
            match result.map(|runs| Summary::of(&runs)) {
                Ok(Some(summary)) => summaries.push((tasks, summary)),
                Ok(None) => {}
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let title =
            format!("plan {} tasks: `opsrun run {} --dry-run`", grouped(PLAN_TASKS), workload::dag_target(PLAN_TASKS));
        let mut time = Row { target: format!("< {} ms", PLAN_TARGET.as_millis()), ..Row::new(&title) };
        let sizes: Vec<String> = PLAN_SIZES.into_iter().map(grouped).collect();
        let mut memory = Row::new(format!("plan memory: peak RSS at {} tasks", sizes.join(" / ")));
        if let Some(error) = failure {
            time.opsrun = self.failed(error);
            return Ok(vec![time, memory]);
        }
        if let Some((_, summary)) = summaries.iter().find(|(tasks, _)| *tasks == PLAN_TASKS) {
            time.opsrun = ms(summary.wall);
            time.cpu = ms(summary.cpu);
            time.rss = rss(summary.max_rss);
            time.met = Some(summary.wall < PLAN_TARGET);
        }
        let points: Vec<(f64, f64)> =
            summaries.iter().map(|(tasks, s)| (thousands(*tasks), kib_to_mib(s.max_rss.kib))).collect();
        if let Some(fit) = Fit::of(&points) {
            memory.rss = summaries.iter().map(|(_, s)| rss(s.max_rss)).collect::<Vec<_>>().join(" / ");
            memory.opsrun = format!("{:+.2} MiB per 1000 tasks", fit.slope);
            memory.other = "the least-squares line".into();
            memory.other_rss = format!("points within {:.2} MiB of it", fit.max_residual);
        }
        Ok(vec![time, memory])
    }
}

/// Whether `peak` is at most `slack` above `reference`; `None` when upper bounds leave it open.
fn within(peak: PeakRss, reference: PeakRss, slack: u64) -> Option<bool> {
    let limit = reference.kib + slack;
    match (peak.kib <= limit, reference.at_most) {
        // The reference may be lower than its bound: below the bound's limit proves nothing.
        (true, true) => None,
        // Above the limit: the peak is at least its figure unless that is a bound itself.
        (false, _) if peak.at_most => None,
        (within, _) => Some(within),
    }
}

fn thousands(tasks: usize) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "task counts are far below 2^53")]
    let tasks = tasks as f64;
    tasks / 1000.0
}

/// The least-squares line through some points, and the largest vertical distance of a point
/// from it: a small distance next to the growth says the growth is linear.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fit {
    slope: f64,
    intercept: f64,
    max_residual: f64,
}

impl Fit {
    /// `None` for fewer than two distinct x values.
    fn of(points: &[(f64, f64)]) -> Option<Self> {
        if points.len() < 2 {
            return None;
        }
        #[expect(clippy::cast_precision_loss, reason = "a handful of points")]
        let n = points.len() as f64;
        let mean = |get: fn(&(f64, f64)) -> f64| points.iter().map(get).sum::<f64>() / n;
        let (mean_x, mean_y) = (mean(|p| p.0), mean(|p| p.1));
        let sxx: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
        let sxy: f64 = points.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
        if sxx == 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let intercept = mean_y - slope * mean_x;
        let max_residual = points.iter().map(|(x, y)| (y - (slope * x + intercept)).abs()).fold(0.0, f64::max);
        Some(Self { slope, intercept, max_residual })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_of_a_line_and_of_a_bend() {
        let line = Fit::of(&[(2.5, 5.0), (5.0, 7.5), (10.0, 12.5)]).expect("three points");
        assert!((line.slope - 1.0).abs() < 1e-9 && (line.intercept - 2.5).abs() < 1e-9);
        assert!(line.max_residual < 1e-9);
        let bent = Fit::of(&[(0.0, 0.0), (1.0, 0.0), (2.0, 3.0)]).expect("three points");
        assert!((bent.slope - 1.5).abs() < 1e-9);
        assert!(bent.max_residual > 0.4);
        assert_eq!(Fit::of(&[(1.0, 1.0)]), None);
        assert_eq!(Fit::of(&[(1.0, 1.0), (1.0, 2.0)]), None);
    }

    #[test]
    fn within_a_slack_of_a_reference() {
        let exact = |kib| PeakRss { kib, at_most: false };
        let bound = |kib| PeakRss { kib, at_most: true };
        assert_eq!(within(exact(6_000), exact(5_000), 1024), Some(true));
        assert_eq!(within(exact(7_000), exact(5_000), 1024), Some(false));
        assert_eq!(within(bound(5_500), exact(5_000), 1024), Some(true));
        assert_eq!(within(exact(6_000), bound(5_000), 1024), None);
        assert_eq!(within(exact(7_000), bound(5_000), 1024), Some(false));
        assert_eq!(within(bound(7_000), exact(5_000), 1024), None);
    }

    #[test]
    fn thousands_of_tasks() {
        assert!((thousands(2_500) - 2.5).abs() < f64::EPSILON);
    }
}
