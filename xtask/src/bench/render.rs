//! What drawing the progress bars costs: opsrun runs [`RENDER_TASKS`] tasks at once (`-j 200`,
//! each printing a line every half second for five seconds) on a pseudo-terminal (util-linux
//! `script`), once as typed (`--output auto`: bars on a terminal) and once with `--output plain`.
//! The difference in CPU time (opsrun and everything it ran, from the shell's `times`) per second
//! of the run is the bars' share of one core. Both runs start and print the same.

use std::fs;
use std::path::Path;
use std::process::Command;

use super::pairs::{Spread, Which, order};
use super::process;
use super::suite::Bench;
use super::table::Row;
use super::workload;

const RENDER_TASKS: usize = 200;
/// Percent of one core the progress bars may cost.
const RENDER_TARGET_POINTS: f64 = 5.0;
/// Rounds are slow (two five-second runs each): at most this many.
const MAX_ROUNDS: usize = 3;

impl Bench<'_> {
    pub(super) fn render(&mut self) -> Result<Vec<Row>, String> {
        let dir = self.workdir("render", &[("tasks.toml", &workload::running(RENDER_TASKS))])?;
        let rounds = self.options.pairs.clamp(1, MAX_ROUNDS);
        eprint!("  bars with {RENDER_TASKS} tasks running: {rounds} rounds ");
        let mut bars = Vec::new();
        let mut plain = Vec::new();
        let mut failure = None;
        'rounds: for round in 0..rounds {
            eprint!(".");
            for which in order(round) {
                let (mode, samples) = match which {
                    Which::A => (None, &mut bars),
                    Which::B => (Some("plain"), &mut plain),
                };
                match self.cpu_on_terminal(&dir, mode) {
                    Ok(share) => samples.push(share),
                    Err(error) => {
                        failure = Some(error);
                        break 'rounds;
                    }
                }
            }
        }
        eprintln!(" done");
        let mut row = Row {
            other: "`--output plain` (plain lines)".into(),
            target: format!("< +{RENDER_TARGET_POINTS} points"),
            ..Row::new(format!("progress bars, {RENDER_TASKS} tasks running at once: CPU per second of run"))
        };
        if let Some(error) = failure {
            row.opsrun = self.failed(error);
            return Ok(vec![row]);
        }
        let costs = bars.iter().zip(&plain).map(|(b, p)| b - p).collect();
        if let (Some(bars), Some(plain), Some(cost)) = (Spread::of(bars), Spread::of(plain), Spread::of(costs)) {
            row.opsrun = format!("{:.1}% of a core (bars)", bars.median);
            row.other_time = format!("{:.1}% of a core", plain.median);
            row.ratio = format!("{:+.1} points ({:+.1} to {:+.1})", cost.median, cost.min, cost.max);
            row.met = Some(cost.median < RENDER_TARGET_POINTS);
        }
        Ok(vec![row])
    }

    /// CPU time per wall time in percent of `opsrun run all -j 200` (with `--output MODE` when
    /// given) on a 40×120 pseudo-terminal.
    fn cpu_on_terminal(&self, dir: &Path, mode: Option<&str>) -> Result<f64, String> {
        let times = dir.join(format!("times-{}", mode.unwrap_or("auto")));
        let output = mode.map(|mode| format!(" --output {mode}")).unwrap_or_default();
        let script = format!(
            "stty rows 40 cols 120; '{}' run all -j {RENDER_TASKS}{output}; times > '{}'",
            self.opsrun.display(),
            times.display()
        );
        let mut command = Command::new("script");
        command
            .args(["-q", "-e", "-c", &script, "/dev/null"])
            .current_dir(dir)
            .env_remove("CI")
            .env_remove("RUST_LOG")
            .env("TERM", "xterm-256color");
        let wall = process::run(&mut command)
            .map_err(|e| format!("`script` (util-linux) running opsrun on a pseudo-terminal: {e}"))?
            .usage
            .wall;
        let text = fs::read_to_string(&times).map_err(|e| format!("no `times` output: {e}"))?;
        // The second line of `times`: the children's user and system time, as `0m1.234s 0m0.567s`.
        let children = text.lines().nth(1).ok_or_else(|| format!("unexpected `times` output: {text:?}"))?;
        let cpu: f64 = children
            .split_whitespace()
            .map(shell_time)
            .sum::<Option<f64>>()
            .ok_or_else(|| format!("unexpected `times` output: {text:?}"))?;
        Ok(cpu / wall.as_secs_f64() * 100.0)
    }
}

/// `1m2.500s` as seconds.
fn shell_time(text: &str) -> Option<f64> {
    let (minutes, seconds) = text.strip_suffix('s')?.split_once('m')?;
    Some(minutes.parse::<f64>().ok()? * 60.0 + seconds.parse::<f64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_times() {
        assert_eq!(shell_time("0m1.250s"), Some(1.25));
        assert_eq!(shell_time("2m0.000s"), Some(120.0));
        assert_eq!(shell_time("1.2"), None);
    }
}
