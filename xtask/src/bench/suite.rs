//! The benchmark suite: builds opsrun and the C spawn floor, runs each workload in a fresh
//! temporary directory, and turns paired measurements into table rows. The workloads themselves
//! are in their own files ([`super::spawn`], [`super::load`], [`super::up_to_date`],
//! [`super::output`], [`super::gates`], [`super::render`]), each an `impl Bench` block.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use super::floor::Floor;
use super::options::{BenchOptions, DEFAULT_PAIRS, QUICK_PAIRS, WORKLOADS};
use super::pairs::{Pairs, Side, paired, series};
use super::process::{self, Finished, Usage};
use super::table::{self, Row, markdown, ms, rss, write_section};
use super::tools::{self, Tool};

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
pub(super) struct Bench<'a> {
    pub(super) opsrun: PathBuf,
    pub(super) floor: Floor,
    pub(super) go_task: Option<&'a Tool>,
    pub(super) just: Option<&'a Tool>,
    /// `available_parallelism`: the `-j` of the parallel workloads.
    pub(super) jobs: usize,
    pub(super) options: &'a BenchOptions,
    scratch: &'a Path,
    /// Failures, numbered in the order they appear in the table.
    footnotes: Vec<String>,
}

fn run_suite(root: &Path, options: &BenchOptions) -> Result<(), String> {
    let opsrun = build_opsrun(root)?;
    let scratch = Scratch::create()?;
    let floor = Floor::compile(&scratch.0)?;
    let go_task = tools::go_task();
    let just = tools::just();
    let jobs = thread::available_parallelism().map_or(1, std::num::NonZero::get);

    let mut bench = Bench {
        opsrun,
        floor,
        go_task: go_task.as_ref(),
        just: just.as_ref(),
        jobs,
        options,
        scratch: &scratch.0,
        footnotes: Vec::new(),
    };
    eprintln!(
        "bench: {} timed pairs per comparison after {} warm-up pair(s), -j {jobs}; go-task: {}; just: {}",
        options.pairs,
        options.warmup,
        go_task.as_ref().map_or("not installed", |t| t.version.as_str()),
        just.as_ref().map_or("not installed", |t| t.version.as_str()),
    );

    let wanted = |name: &str| options.only.as_deref().is_none_or(|only| only == name);
    let mut rows = Vec::new();
    for name in WORKLOADS.into_iter().filter(|name| wanted(name)) {
        rows.extend(match name {
            "startup" => bench.startup()?,
            "list" => bench.list()?,
            "chain" => bench.chain()?,
            "fan-out" => bench.fan_out()?,
            "up-to-date" => bench.up_to_date()?,
            "plan" => bench.plan()?,
            "output" => bench.output()?,
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

/// What a row's ratio must be for its target to be met.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Target {
    /// Information only.
    None,
    AtMost(f64),
    Below(f64),
}

impl Target {
    pub(super) fn text(self) -> String {
        match self {
            Self::None => "—".into(),
            Self::AtMost(limit) => format!("≤ {limit}×"),
            Self::Below(limit) => format!("< {limit}×"),
        }
    }

    pub(super) fn met(self, ratio: f64) -> Option<bool> {
        match self {
            Self::None => None,
            Self::AtMost(limit) => Some(ratio <= limit),
            Self::Below(limit) => Some(ratio < limit),
        }
    }
}

impl Bench<'_> {
    /// Writes a workload's files into a new directory named `name`.
    pub(super) fn workdir(&self, name: &str, files: &[(&str, &str)]) -> Result<PathBuf, String> {
        let dir = self.scratch.join(name);
        fs::create_dir_all(&dir).map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
        for (file, text) in files {
            fs::write(dir.join(file), text)
                .map_err(|e| format!("failed to write {}: {e}", dir.join(file).display()))?;
        }
        Ok(dir)
    }

    /// `opsrun ARGS` in `dir`, exactly as typed: no flags added, and none of the environment
    /// variables that change opsrun's output (`CI`, `RUST_LOG`) passed on from the harness.
    pub(super) fn opsrun(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(&self.opsrun);
        command.current_dir(dir).args(args);
        clean_env(&mut command);
        command
    }

    pub(super) fn tool(tool: &Tool, dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(&tool.path);
        command.current_dir(dir).args(args);
        clean_env(&mut command);
        command
    }

    pub(super) fn floor(&self, count: usize, jobs: usize) -> Command {
        let mut command = self.floor.command(count, jobs);
        clean_env(&mut command);
        command
    }

    pub(super) fn floor_capturing(&self, count: usize, jobs: usize) -> Command {
        let mut command = self.floor.capturing(count, jobs);
        clean_env(&mut command);
        command
    }

    /// A side that runs a fresh `build()` command per run.
    pub(super) fn side<'c>(label: impl Into<String>, mut build: impl FnMut() -> Command + 'c) -> Side<'c> {
        Side::new(label, move || process::run(&mut build()).map(|finished| finished.usage))
    }

    /// A side whose every run is checked (did it do what this row claims to measure?).
    pub(super) fn checked_side<'c>(
        label: impl Into<String>,
        mut build: impl FnMut() -> Command + 'c,
        mut check: impl FnMut(&Finished) -> Result<(), String> + 'c,
    ) -> Side<'c> {
        Side::new(label, move || {
            let finished = process::run(&mut build())?;
            check(&finished)?;
            Ok(finished.usage)
        })
    }

    pub(super) fn compare(&self, title: &str, a: &mut Side<'_>, b: &mut Side<'_>) -> Result<Pairs, String> {
        paired(title, a, b, self.options.warmup, self.options.pairs)
    }

    pub(super) fn repeat(&self, title: &str, side: &mut Side<'_>, runs: usize) -> Result<Vec<Usage>, String> {
        series(title, side, self.options.warmup, runs)
    }

    /// A table cell for a failure: a numbered footnote with the error.
    pub(super) fn failed(&mut self, error: String) -> String {
        self.footnotes.push(error);
        format!("failed [{}]", self.footnotes.len())
    }

    /// A row for opsrun (side A) against `other` (side B): medians of both sides, opsrun's CPU
    /// and peak RSS, the other side's peak RSS and the median of the per-pair ratios.
    pub(super) fn pair_row(
        &mut self,
        workload: impl Into<String>,
        other: impl Into<String>,
        result: Result<Pairs, String>,
        target: Target,
    ) -> Row {
        let mut row = Row { other: other.into(), target: target.text(), ..Row::new(workload) };
        match result {
            Err(error) => row.opsrun = self.failed(error),
            Ok(pairs) => {
                if let (Some(a), Some(b), Some(ratio)) = (pairs.a(), pairs.b(), pairs.ratio()) {
                    row.opsrun = ms(a.wall);
                    row.cpu = ms(a.cpu);
                    row.rss = rss(a.max_rss);
                    row.other_time = ms(b.wall);
                    row.other_rss = rss(b.max_rss);
                    row.ratio = table::ratio(&ratio);
                    row.met = target.met(ratio.median);
                }
            }
        }
        row
    }

    /// opsrun `opsrun_args` paired against go-task or just, both in `dir`.
    pub(super) fn tool_row(&mut self, title: &str, dir: &Path, opsrun_args: &[&str], versus: &Versus<'_>) -> Row {
        let (tool, name, program) = match versus.runner {
            Runner::GoTask => (self.go_task, "go-task", "task"),
            Runner::Just => (self.just, "just", "just"),
        };
        let Some(tool) = tool else {
            return Row { other: format!("{name}: not installed"), target: versus.target.text(), ..Row::new(title) };
        };
        let label = format!("{name} `{program} {}`{}", versus.args.join(" "), versus.note);
        let result = {
            let mut opsrun = Self::side("opsrun", || self.opsrun(dir, opsrun_args));
            let mut other = Self::side(name, || Self::tool(tool, dir, versus.args));
            self.compare(title, &mut opsrun, &mut other)
        };
        self.pair_row(title, label, result, versus.target)
    }
}

/// A task runner opsrun is compared with.
#[derive(Debug, Clone, Copy)]
pub(super) enum Runner {
    GoTask,
    Just,
}

/// What opsrun is paired against in [`Bench::tool_row`].
pub(super) struct Versus<'x> {
    pub(super) runner: Runner,
    /// The tool's arguments.
    pub(super) args: &'x [&'x str],
    /// Appended to the tool's label: what the reader must know to read its figure.
    pub(super) note: &'x str,
    pub(super) target: Target,
}

/// Drops what would change the output of the programs timed.
fn clean_env(command: &mut Command) {
    command.env_remove("CI").env_remove("RUST_LOG");
}

/// Checks that a run's stderr ends with `expected` somewhere in its last lines.
pub(super) fn stderr_has(finished: &Finished, expected: &str) -> Result<(), String> {
    if finished.stderr.contains(expected) {
        Ok(())
    } else {
        let last: Vec<&str> = finished.stderr.lines().rev().take(4).collect();
        Err(format!("expected `{expected}` on stderr; its last lines, last first: {last:?}"))
    }
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
        "- each comparison: {} untimed warm-up pair(s), then {} timed pairs in alternating order; times are \
         medians over those pairs, the ratio is the median of the per-pair ratios (range in parentheses), \
         peak RSS the largest `ru_maxrss` of any run\n",
        bench.options.warmup, bench.options.pairs
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
    match options.pairs {
        DEFAULT_PAIRS => {}
        QUICK_PAIRS => flags.push_str(" --quick"),
        pairs => {
            let _ = write!(flags, " --pairs {pairs}");
        }
    }
    if let Some(only) = &options.only {
        let _ = write!(flags, " --only {only}");
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
    fn targets() {
        assert_eq!(Target::AtMost(1.15).text(), "≤ 1.15×");
        assert_eq!(Target::Below(0.1).text(), "< 0.1×");
        assert_eq!(Target::None.text(), "—");
        assert_eq!(Target::AtMost(1.15).met(1.15), Some(true));
        assert_eq!(Target::Below(1.0).met(1.0), Some(false));
        assert_eq!(Target::None.met(0.5), None);
    }

    #[test]
    fn flags_say_how_the_table_was_made() {
        let options =
            |pairs, only: Option<&str>, write| BenchOptions { pairs, warmup: 1, write, only: only.map(Into::into) };
        assert_eq!(flags(&options(9, None, true)), " --write");
        assert_eq!(flags(&options(3, Some("plan"), false)), " --quick --only plan");
        assert_eq!(flags(&options(15, None, false)), " --pairs 15");
    }
}
