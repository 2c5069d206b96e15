//! The benchmark suite: builds opsrun, generates each workload into a temporary directory and
//! times opsrun, the spawn floor, go-task and just side by side.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::measure::{Contender, Timing, side_by_side, spawn_floor, time_command};
use super::options::{BenchOptions, DEFAULT_RUNS, QUICK_RUNS, WORKLOADS};
use super::table::{Row, markdown, ms, write_section};
use super::tools::{self, Tool};
use super::workload::{self, Workload};

const LIST_TASKS: usize = 1000;
const FAN_OUT_DEPS: usize = 500;
const CHAIN_LENGTH: usize = 200;
const PIPELINE_TASKS: usize = 200;
const RENDER_TASKS: usize = 200;

const LIST_TARGET_MS: f64 = 20.0;
const SPAWN_RATIO_TARGET: f64 = 1.2;
const GATE_TARGET_MS: f64 = 5.0;
const RESUME_RATIO_TARGET: f64 = 1.5;
/// Percent of one core the progress bars may cost with [`RENDER_TASKS`] tasks running.
const RENDER_TARGET_PERCENT: f64 = 5.0;

pub(crate) fn run(root: &Path, options: &BenchOptions) -> ExitCode {
    match run_suite(root, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}

/// Everything a workload needs.
struct Bench<'a> {
    opsrun: PathBuf,
    go_task: Option<&'a Tool>,
    just: Option<&'a Tool>,
    jobs: usize,
    options: &'a BenchOptions,
    scratch: &'a Path,
    /// Failures, numbered in the order they appear in the table.
    footnotes: Vec<String>,
}

fn run_suite(root: &Path, options: &BenchOptions) -> Result<(), String> {
    let opsrun = build_opsrun(root)?;
    let go_task = tools::go_task();
    let just = tools::just();
    let jobs = thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let scratch = Scratch::create()?;

    let mut bench = Bench {
        opsrun,
        go_task: go_task.as_ref(),
        just: just.as_ref(),
        jobs,
        options,
        scratch: &scratch.0,
        footnotes: Vec::new(),
    };
    eprintln!(
        "bench: {} timed runs after {} warm-up, -j {jobs}; go-task: {}; just: {}",
        options.runs,
        options.warmup,
        go_task.as_ref().map_or("not installed", |t| t.version.as_str()),
        just.as_ref().map_or("not installed", |t| t.version.as_str()),
    );

    let wanted = |name: &str| options.only.as_deref().is_none_or(|only| only == name);
    let mut rows = Vec::new();
    for name in WORKLOADS.into_iter().filter(|name| wanted(name)) {
        rows.push(match name {
            "startup" => bench.startup()?,
            "list" => bench.list()?,
            "fan-out" => bench.fan_out()?,
            "chain" => bench.chain()?,
            "gate" => bench.gate()?,
            "resume" => bench.resume()?,
            _ => bench.render()?,
        });
    }

    let section = section(&bench, &rows);
    println!("\n{section}");
    if options.write {
        let docs = root.join("docs/benchmarks.md");
        write_section(&docs, &section)?;
        eprintln!("bench: wrote the results into {}", docs.display());
    }
    Ok(())
}

fn build_opsrun(root: &Path) -> Result<PathBuf, String> {
    eprintln!("bench: cargo build --release --bin opsrun");
    let status = Command::new(crate::cargo())
        .args(["build", "--release", "--quiet", "--package", "opsrun", "--bin", "opsrun"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("failed to start cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build --release failed ({status})"));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let binary = target_dir.join("release/opsrun");
    if binary.is_file() { Ok(binary) } else { Err(format!("{} was not built", binary.display())) }
}

/// A fresh directory under the system temp dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn create() -> Result<Self, String> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("opsrun-bench-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl Bench<'_> {
    /// Writes a workload's files into a new directory named `name`.
    fn workdir(&self, name: &str, tasks_toml: &str, others: Option<&Workload>) -> Result<PathBuf, String> {
        let dir = self.scratch.join(name);
        let write = |file: &str, text: &str| {
            fs::write(dir.join(file), text).map_err(|e| format!("failed to write {}: {e}", dir.join(file).display()))
        };
        fs::create_dir_all(&dir).map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
        write("tasks.toml", tasks_toml)?;
        if let Some(workload) = others {
            write("Taskfile.yml", &workload.taskfile_yml)?;
            write("justfile", &workload.justfile)?;
        }
        Ok(dir)
    }

    /// `opsrun ARGS` in `dir`, quiet, plain output, as CI would run it.
    fn opsrun(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(&self.opsrun);
        command.current_dir(dir).env("CI", "true").args(args).args(["--output", "plain", "-q"]);
        command
    }

    fn tool_command(tool: &Tool, dir: &Path, args: &[String]) -> Command {
        let mut command = Command::new(&tool.path);
        command.current_dir(dir).env("CI", "true").args(args);
        command
    }

    /// Adds go-task and just (when installed) to `contenders`, returning where each one sits.
    fn add_tools<'c>(
        &'c self,
        contenders: &mut Vec<Contender<'c>>,
        dir: &'c Path,
        task_args: Vec<String>,
        just_args: Vec<String>,
    ) -> (Option<usize>, Option<usize>) {
        let mut add = |tool: Option<&'c Tool>, label: &str, args: Vec<String>| {
            tool.map(|tool| {
                contenders.push(Contender::command(label, move || Self::tool_command(tool, dir, &args)));
                contenders.len() - 1
            })
        };
        let go_task = add(self.go_task, "go-task", task_args);
        let just = add(self.just, "just", just_args);
        (go_task, just)
    }

    fn measure(&self, title: &str, contenders: &mut [Contender<'_>]) -> Vec<Timing> {
        side_by_side(title, contenders, self.options.warmup, self.options.runs)
    }

    /// A table cell for a timing, recording a failure as a numbered footnote.
    fn cell(&mut self, timing: &Timing) -> String {
        match timing {
            Ok(duration) => ms(*duration),
            Err(error) => {
                self.footnotes.push(error.clone());
                format!("failed [{}]", self.footnotes.len())
            }
        }
    }

    fn tool_cell(&mut self, installed: bool, index: Option<usize>, results: &[Timing], suffix: &str) -> String {
        match index {
            Some(index) => {
                let cell = self.cell(&results[index]);
                if results[index].is_ok() { format!("{cell}{suffix}") } else { cell }
            }
            None if installed => "—".into(),
            None => "not installed".into(),
        }
    }

    /// Reference row: what merely starting opsrun costs next to starting `sh`.
    fn startup(&mut self) -> Result<Row, String> {
        let dir = self.workdir("startup", "", None)?;
        let mut contenders = vec![
            Contender::command("opsrun", || self.opsrun(&dir, &["--version"])),
            Contender::new("floor", || spawn_floor(1, 1)),
        ];
        let results = self.measure("start-up", &mut contenders);
        drop(contenders);
        Ok(Row {
            workload: "start-up: `opsrun --version` vs one `sh -c true` (reference)".into(),
            opsrun: self.cell(&results[0]),
            floor: self.cell(&results[1]),
            go_task: "—".into(),
            just: "—".into(),
            ratio: ratio_cell(&results[0], &results[1]),
            target: "—".into(),
            met: None,
        })
    }

    fn list(&mut self) -> Result<Row, String> {
        let workload = workload::listing(LIST_TASKS);
        let dir = self.workdir("list", &workload.tasks_toml, Some(&workload))?;
        let mut contenders = vec![Contender::command("opsrun", || self.opsrun(&dir, &["list"]))];
        let (task, just) = self.add_tools(&mut contenders, &dir, vec!["--list".into()], vec!["--list".into()]);
        let results = self.measure("list, 1000 tasks", &mut contenders);
        drop(contenders);
        let met = results[0].as_ref().ok().map(|d| millis(*d) < LIST_TARGET_MS);
        Ok(Row {
            workload: format!("`list`, {LIST_TASKS} tasks"),
            opsrun: self.cell(&results[0]),
            floor: "—".into(),
            go_task: self.tool_cell(self.go_task.is_some(), task, &results, ""),
            just: self.tool_cell(self.just.is_some(), just, &results, ""),
            ratio: "—".into(),
            target: format!("< {LIST_TARGET_MS} ms"),
            met,
        })
    }

    fn fan_out(&mut self) -> Result<Row, String> {
        let workload = workload::fan_out(FAN_OUT_DEPS);
        let dir = self.workdir("fan-out", &workload.tasks_toml, Some(&workload))?;
        let jobs = self.jobs.to_string();
        let mut contenders = vec![
            Contender::command("opsrun", || self.opsrun(&dir, &["run", "all", "-j", &jobs, "--force"])),
            Contender::new("floor", || spawn_floor(FAN_OUT_DEPS, self.jobs)),
        ];
        let task_args = vec!["all".into(), "--concurrency".into(), jobs.clone()];
        let (task, just) = self.add_tools(&mut contenders, &dir, task_args, vec!["all".into()]);
        let results = self.measure("500 no-op deps", &mut contenders);
        drop(contenders);
        Ok(self.spawn_row(format!("{FAN_OUT_DEPS} no-op deps, `-j {}`", self.jobs), &results, task, just, " (serial)"))
    }

    fn chain(&mut self) -> Result<Row, String> {
        let workload = workload::chain(CHAIN_LENGTH);
        let dir = self.workdir("chain", &workload.tasks_toml, Some(&workload))?;
        let target = workload::chain_target(CHAIN_LENGTH);
        let jobs = self.jobs.to_string();
        let mut contenders = vec![
            Contender::command("opsrun", || self.opsrun(&dir, &["run", &target, "-j", &jobs, "--force"])),
            Contender::new("floor", || spawn_floor(CHAIN_LENGTH, 1)),
        ];
        let (task, just) = self.add_tools(&mut contenders, &dir, vec![target.clone()], vec![target.clone()]);
        let results = self.measure("200-long chain", &mut contenders);
        drop(contenders);
        Ok(self.spawn_row(format!("{CHAIN_LENGTH}-long chain"), &results, task, just, ""))
    }

    /// opsrun against the floor, with go-task and just alongside; contenders 0 and 1 are opsrun
    /// and the floor.
    fn spawn_row(
        &mut self,
        workload: String,
        results: &[Timing],
        task: Option<usize>,
        just: Option<usize>,
        just_suffix: &str,
    ) -> Row {
        // go-task runs `true` with its embedded shell interpreter, which has `true` as a builtin:
        // it spawns no process, so its figure is not bound by the spawn floor.
        let go_task_suffix = " (no spawn)";
        let met = ratio(&results[0], &results[1]).map(|r| r <= SPAWN_RATIO_TARGET);
        Row {
            workload,
            opsrun: self.cell(&results[0]),
            floor: self.cell(&results[1]),
            go_task: self.tool_cell(self.go_task.is_some(), task, results, go_task_suffix),
            just: self.tool_cell(self.just.is_some(), just, results, just_suffix),
            ratio: ratio_cell(&results[0], &results[1]),
            target: format!("≤ {SPAWN_RATIO_TARGET}×"),
            met,
        }
    }

    fn gate(&mut self) -> Result<Row, String> {
        let dir = self.workdir("gate", &workload::gate(), None)?;
        let mut contenders = vec![
            Contender::command("opsrun gated", || self.opsrun(&dir, &["run", "gated", "--force"])),
            Contender::command("opsrun plain", || self.opsrun(&dir, &["run", "plain", "--force"])),
        ];
        let results = self.measure("gate passing at first probe", &mut contenders);
        drop(contenders);
        let added = match (&results[0], &results[1]) {
            (Ok(gated), Ok(plain)) => Some(millis(*gated) - millis(*plain)),
            _ => None,
        };
        Ok(Row {
            workload: "health gate passing at its first probe".into(),
            opsrun: self.cell(&results[0]),
            floor: match &results[1] {
                Ok(plain) => format!("{} (same task, no gate)", ms(*plain)),
                Err(_) => self.cell(&results[1]),
            },
            go_task: "—".into(),
            just: "—".into(),
            ratio: added.map_or_else(|| "—".into(), |added| format!("{added:+.2} ms")),
            target: format!("< +{GATE_TARGET_MS} ms"),
            met: added.map(|added| added < GATE_TARGET_MS),
        })
    }

    fn resume(&mut self) -> Result<Row, String> {
        let dir = self.workdir("resume", &workload::pipeline(PIPELINE_TASKS), None)?;
        eprintln!("  resume: first run of pipeline p to completion");
        time_command(&mut self.opsrun(&dir, &["pipeline", "p"]))
            .map_err(|e| format!("the first run of the {PIPELINE_TASKS}-task pipeline failed: {e}"))?;
        let mut contenders = vec![
            Contender::command("opsrun resume", || self.opsrun(&dir, &["pipeline", "p"])),
            Contender::command("opsrun dry run", || self.opsrun(&dir, &["pipeline", "p", "--dry-run"])),
        ];
        let results = self.measure("resume of a finished pipeline", &mut contenders);
        drop(contenders);
        Ok(Row {
            workload: format!("resume, {PIPELINE_TASKS}-task pipeline all done"),
            opsrun: self.cell(&results[0]),
            floor: match &results[1] {
                Ok(dry) => format!("{} (`--dry-run`)", ms(*dry)),
                Err(_) => self.cell(&results[1]),
            },
            go_task: "—".into(),
            just: "—".into(),
            ratio: ratio_cell(&results[0], &results[1]),
            target: format!("< {RESUME_RATIO_TARGET}× dry run"),
            met: ratio(&results[0], &results[1]).map(|r| r < RESUME_RATIO_TARGET),
        })
    }
}

impl Bench<'_> {
    /// What drawing the progress bars costs: opsrun runs [`RENDER_TASKS`] tasks at once on a
    /// pseudo-terminal (util-linux `script`), once with bars and once with plain lines, and the
    /// difference in CPU time (opsrun and everything it ran, from the shell's `times`) per
    /// second of the run is the bars' share of a core. Both runs start and print the same.
    fn render(&mut self) -> Result<Row, String> {
        let dir = self.workdir("render", &workload::running(RENDER_TASKS), None)?;
        let runs = self.options.runs.clamp(1, 3);
        eprint!("  bars with {RENDER_TASKS} tasks running: {runs} rounds ");
        let mut bars = Vec::new();
        let mut plain = Vec::new();
        let mut failure = None;
        for _ in 0..runs {
            eprint!(".");
            match (self.cpu_on_terminal(&dir, "auto"), self.cpu_on_terminal(&dir, "plain")) {
                (Ok(b), Ok(p)) => {
                    bars.push(b);
                    plain.push(p);
                }
                (Err(e), _) | (_, Err(e)) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        eprintln!(" done");
        let row = |opsrun: String, floor: String, ratio: String, met| Row {
            workload: format!("progress bars, {RENDER_TASKS} tasks running at once (CPU per second of run)"),
            opsrun,
            floor,
            go_task: "—".into(),
            just: "—".into(),
            ratio,
            target: format!("< {RENDER_TARGET_PERCENT}% of a core"),
            met,
        };
        if let Some(error) = failure {
            self.footnotes.push(error);
            let cell = format!("failed [{}]", self.footnotes.len());
            return Ok(row(cell, "—".into(), "—".into(), None));
        }
        let percent = |samples: &mut Vec<(f64, f64)>| {
            let mut shares: Vec<f64> = samples.iter().map(|(cpu, wall)| cpu / wall * 100.0).collect();
            shares.sort_by(f64::total_cmp);
            shares[shares.len() / 2]
        };
        let (bars, plain) = (percent(&mut bars), percent(&mut plain));
        let cost = bars - plain;
        Ok(row(
            format!("{bars:.1}% (bars)"),
            format!("{plain:.1}% (plain lines)"),
            format!("{cost:+.1} points"),
            Some(cost < RENDER_TARGET_PERCENT),
        ))
    }

    /// (CPU seconds, wall seconds) of `opsrun --output MODE run all` on a 40×120 pseudo-terminal.
    fn cpu_on_terminal(&self, dir: &Path, mode: &str) -> Result<(f64, f64), String> {
        let times = dir.join(format!("times-{mode}"));
        let script = format!(
            "stty rows 40 cols 120; '{}' --output {mode} run all -j {RENDER_TASKS} --force; times > '{}'",
            self.opsrun.display(),
            times.display()
        );
        let mut command = Command::new("script");
        command
            .args(["-q", "-e", "-c", &script, "/dev/null"])
            .current_dir(dir)
            .env_remove("CI")
            .env("TERM", "xterm-256color");
        let wall = time_command(&mut command)
            .map_err(|e| format!("`script` (util-linux) running opsrun on a pseudo-terminal: {e}"))?;
        let text = fs::read_to_string(&times).map_err(|e| format!("no `times` output: {e}"))?;
        // The second line of `times`: the children's user and system time, as `0m1.234s 0m0.567s`.
        let children = text.lines().nth(1).ok_or_else(|| format!("unexpected `times` output: {text:?}"))?;
        let cpu: f64 = children
            .split_whitespace()
            .map(shell_time)
            .sum::<Option<f64>>()
            .ok_or_else(|| format!("unexpected `times` output: {text:?}"))?;
        Ok((cpu, wall.as_secs_f64()))
    }
}

/// `1m2.500s` as seconds.
fn shell_time(text: &str) -> Option<f64> {
    let (minutes, seconds) = text.strip_suffix('s')?.split_once('m')?;
    Some(minutes.parse::<f64>().ok()? * 60.0 + seconds.parse::<f64>().ok()?)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn ratio(measured: &Timing, floor: &Timing) -> Option<f64> {
    match (measured, floor) {
        (Ok(measured), Ok(floor)) if !floor.is_zero() => Some(measured.as_secs_f64() / floor.as_secs_f64()),
        _ => None,
    }
}

fn ratio_cell(measured: &Timing, floor: &Timing) -> String {
    ratio(measured, floor).map_or_else(|| "—".into(), |r| format!("{r:.2}×"))
}

/// The results section: the machine and versions, the table, the footnotes.
fn section(bench: &Bench<'_>, rows: &[Row]) -> String {
    let version = |tool: Option<&Tool>| tool.map_or_else(|| "not installed".to_string(), |t| t.version.clone());
    let opsrun_version = tools::version_of(&bench.opsrun, &["--version"]).unwrap_or_else(|| "opsrun".into());
    let mut out = String::new();
    let _ = writeln!(out, "Measured {} (UTC) with `cargo xtask bench{}`.\n", utc_date(), flags(bench.options));
    let _ = writeln!(
        out,
        "- machine: `nproc` = {}{}{}",
        bench.jobs,
        tools::cpu_model().map(|m| format!(", {m}")).unwrap_or_default(),
        tools::kernel().map(|k| format!(", {k}")).unwrap_or_default(),
    );
    let _ = writeln!(out, "- {opsrun_version} (release build), {}", tools::rustc_version());
    let _ = writeln!(out, "- go-task: {}; just: {}", version(bench.go_task), version(bench.just));
    let _ = writeln!(
        out,
        "- each figure is the median of {} timed runs after {} warm-up run(s), contenders interleaved round by round\n",
        bench.options.runs, bench.options.warmup
    );
    out.push_str(&markdown(rows));
    for (index, footnote) in bench.footnotes.iter().enumerate() {
        let _ = write!(out, "\n[{}] {footnote}", index + 1);
        out.push('\n');
    }
    out
}

fn flags(options: &BenchOptions) -> String {
    let mut flags = String::new();
    match options.runs {
        DEFAULT_RUNS => {}
        QUICK_RUNS => flags.push_str(" --quick"),
        runs => {
            let _ = write!(flags, " --runs {runs}");
        }
    }
    if options.write {
        flags.push_str(" --write");
    }
    flags
}

/// Today's date in UTC as `YYYY-MM-DD`, from the days-to-civil algorithm (H. Hinnant), so that
/// xtask needs no date crate.
fn utc_date() -> String {
    let days = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() / 86_400);
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!("{year:04}-{month:02}-{day:02}")
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_819), (2027, 1, 1));
    }

    #[test]
    fn shell_times() {
        assert_eq!(shell_time("0m1.250s"), Some(1.25));
        assert_eq!(shell_time("2m0.000s"), Some(120.0));
        assert_eq!(shell_time("1.2"), None);
    }

    #[test]
    fn ratios() {
        let ms = Duration::from_millis;
        assert_eq!(ratio_cell(&Ok(ms(12)), &Ok(ms(10))), "1.20×");
        assert_eq!(ratio_cell(&Err("x".into()), &Ok(ms(10))), "—");
        assert_eq!(ratio(&Ok(ms(1)), &Ok(Duration::ZERO)), None);
    }
}
