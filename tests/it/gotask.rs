//! Differential tests against go-task: the same project written as a `Taskfile.yml` and as a
//! `tasks.toml`, run by `task` (go-task 3.54.0) and by `opsrun`, and their behaviour compared.
//!
//! Each case is a directory `tests/fixtures/gotask/<case>/` holding a `Taskfile.yml`, an
//! equivalent `tasks.toml`, any files the tasks need, and a `case.toml` describing the run:
//!
//! ```toml
//! notes = "what the case shows"          # optional, printed on failure
//! args = ["build", "V=1"]                # go-task gets these, opsrun gets ["run", ...args]
//! gotask_args = ["build"]                # optional: go-task's own arguments instead
//! opsrun_args = ["run", "build"]         # optional: opsrun's own arguments instead (complete)
//! env = { MYVAR = "x" }                  # optional: extra environment for both tools
//! runs = 2                               # optional: run that many times in the same directory
//! between = ["", "touch in.txt"]         # optional: `sh -c` scripts run before runs 2, 3, ...
//! parallel = true                        # optional: compare stdout as a multiset of lines
//! compare_stdout = false                 # optional: compare success only
//! success = true                         # optional: both must succeed (or fail)
//! expect_stdout = ["a", "b"]             # optional: both tools' stdout must be exactly this
//! files = ["out.txt"]                    # optional: files compared between the two directories
//!
//! [difference]                           # optional: a deliberate, documented difference
//! reason = "why opsrun differs"
//! opsrun_stdout = ["a"]                  # opsrun's stdout instead of go-task's
//! opsrun_success = true                  # opsrun's success instead of go-task's
//! also_for_taskfile = true               # optional: the Taskfile read directly or imported too
//! ```
//!
//! The case directory is copied into fresh temporary directories, all named after the case
//! (so `basename "$PWD"` agrees): `Taskfile.yml` files go only to go-task's copy, `tasks.toml`
//! files only to opsrun's, `case.toml` to neither. opsrun also runs the Taskfile itself, twice:
//! **directly** (a copy with only the `Taskfile.yml` files, found by opsrun's discovery) and
//! **imported** (the same copy after `opsrun import`, which must succeed, running the written
//! `tasks.toml`); both must behave as go-task does. A `[difference]` applies to those two runs
//! only with `also_for_taskfile = true`: the settings a Taskfile gets (`run = "always"`,
//! `undefined_vars = "empty"`, `background = "keep"`) remove the others. Those two runs must
//! also list the tasks `task --list-all --json` lists (by name; failing to list where go-task
//! fails). Both tools run with `CI=true`, `NO_COLOR=1`,
//! stdin at `/dev/null`, and no `OPSRUN_*`, `TASK_*` or `RUST_LOG` variables inherited.
//!
//! What is compared: the commands' own stdout (line by line, or as a sorted multiset with
//! `parallel = true`) and success versus failure. Exit code values and stderr are never compared:
//! each tool's status lines and codes are its own. With `runs > 1` the stdout of all runs is
//! concatenated and every run's success is compared. opsrun must never panic.
//!
//! With a `[difference]`, go-task is still held to `expect_stdout` and `success`, and opsrun to
//! the difference's values (where it gives none, to the same as go-task). Expectations are checked
//! for both tools, so a case in which both are wrong the same way still fails.
//!
//! To add a case: create its directory, and add its name to the `cases!` list at the end of this
//! file ([`every_fixture_has_a_test`] fails until you do).
//!
//! A missing `task` binary fails every case (it is not skipped): install it with
//! `python3 -m pip install go-task-bin==3.54.0`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tempfile::TempDir;

/// The opsrun binary under test.
const OPSRUN: &str = env!("CARGO_BIN_EXE_opsrun");

/// The go-task binary, looked up on `PATH`.
const GO_TASK: &str = "task";

/// The go-task version the cases were written against.
const GO_TASK_VERSION: &str = "3.54.0";

/// How to get go-task, for the failure message when it is missing.
const GO_TASK_INSTALL: &str = "python3 -m pip install go-task-bin==3.54.0";

/// The longest one tool may take for one run before the case fails. It only bounds a hang.
const DEADLINE: Duration = Duration::from_secs(30);

/// How often a running tool is polled for its exit.
const POLL: Duration = Duration::from_millis(5);

/// The `case.toml` of a case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case shows; printed on failure.
    #[serde(default)]
    notes: String,
    /// Arguments for both tools (opsrun gets `run` in front).
    #[serde(default)]
    args: Vec<String>,
    /// go-task's arguments, when they differ from `args`.
    gotask_args: Option<Vec<String>>,
    /// opsrun's complete arguments, when they differ from `["run", ...args]`.
    opsrun_args: Option<Vec<String>>,
    /// Extra environment variables for both tools.
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// How many times to run, in the same directory.
    #[serde(default = "one")]
    runs: usize,
    /// `sh -c` scripts run in each directory before the second, third, ... run (an empty one
    /// does nothing).
    #[serde(default)]
    between: Vec<String>,
    /// Compare stdout as a sorted multiset of lines (for tasks that run in parallel).
    #[serde(default)]
    parallel: bool,
    /// Compare stdout at all (`false`: success only).
    #[serde(default = "yes")]
    compare_stdout: bool,
    /// Whether the run succeeds, for both tools (go-task only with a `[difference]`).
    success: Option<bool>,
    /// The exact stdout, for both tools (go-task only with a `[difference]`).
    expect_stdout: Option<Vec<String>>,
    /// Files (relative to the project) whose contents must be the same after the run.
    #[serde(default)]
    files: Vec<String>,
    /// A deliberate difference of opsrun from go-task.
    difference: Option<Difference>,
}

/// The `[difference]` table: where opsrun deliberately does not do what go-task does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Difference {
    /// Why; printed on failure.
    reason: String,
    /// opsrun's exact stdout (default: go-task's).
    opsrun_stdout: Option<Vec<String>>,
    /// Whether opsrun succeeds (default: as go-task does).
    opsrun_success: Option<bool>,
    /// The difference holds for the Taskfile read directly or imported too (default: those runs
    /// must do what go-task does).
    #[serde(default)]
    also_for_taskfile: bool,
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

/// Which tool a run is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    GoTask,
    Opsrun,
    /// opsrun reading the `Taskfile.yml` directly.
    OpsrunDirect,
    /// opsrun running what `opsrun import` wrote from the `Taskfile.yml`.
    OpsrunImported,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Self::GoTask => "go-task",
            Self::Opsrun => "opsrun",
            Self::OpsrunDirect => "opsrun (Taskfile.yml read directly)",
            Self::OpsrunImported => "opsrun (after opsrun import)",
        }
    }

    fn program(self) -> &'static str {
        match self {
            Self::GoTask => GO_TASK,
            Self::Opsrun | Self::OpsrunDirect | Self::OpsrunImported => OPSRUN,
        }
    }

    /// The tasks files this tool's copy of the project leaves out.
    fn other_file(self) -> &'static str {
        match self {
            Self::GoTask | Self::OpsrunDirect | Self::OpsrunImported => "tasks.toml",
            Self::Opsrun => "Taskfile.yml",
        }
    }
}

/// One finished invocation of a tool.
#[derive(Clone)]
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Everything one tool did for a case: its project directory and every run in it.
struct Outcome {
    tool: Tool,
    args: Vec<String>,
    _tempdir: TempDir,
    project: PathBuf,
    runs: Vec<Run>,
}

impl Outcome {
    /// The stdout of all runs, concatenated.
    fn stdout(&self) -> String {
        self.runs.iter().map(|run| run.stdout.as_str()).collect()
    }

    /// Whether each run exited 0.
    fn successes(&self) -> Vec<bool> {
        self.runs.iter().map(|run| run.status.success()).collect()
    }

    /// Stdout lines, sorted when the case runs tasks in parallel.
    fn lines(&self, parallel: bool) -> Vec<String> {
        normalise(self.stdout().lines().map(str::to_owned).collect(), parallel)
    }

    /// Every run's command line, exit status, stdout and stderr, for failure messages.
    fn dump(&self) -> String {
        let mut text = format!("=== {} {}\n", self.tool.name(), self.args.join(" "));
        for (i, run) in self.runs.iter().enumerate() {
            let _ = write!(
                text,
                "--- run {} of {}: {}\n--- stdout:\n{}--- stderr:\n{}",
                i + 1,
                self.runs.len(),
                run.status,
                with_newline(&run.stdout),
                with_newline(&run.stderr),
            );
        }
        text
    }
}

/// `text` ending in a newline (unless empty), so dumps stay line-aligned.
fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') { text.to_owned() } else { format!("{text}\n") }
}

/// `lines` sorted when order does not matter.
fn normalise(mut lines: Vec<String>, parallel: bool) -> Vec<String> {
    if parallel {
        lines.sort();
    }
    lines
}

/// The fixtures directory of the cases.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gotask")
}

/// Fails unless the `task` on `PATH` is go-task [`GO_TASK_VERSION`]; checked once per process.
fn require_go_task() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        let output = match Command::new(GO_TASK).arg("--version").stdin(Stdio::null()).output() {
            Ok(output) => output,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(format!("go-task (`{GO_TASK}`) is not installed; install it with `{GO_TASK_INSTALL}`"));
            }
            Err(e) => return Err(format!("could not run `{GO_TASK} --version`: {e}")),
        };
        let version = String::from_utf8_lossy(&output.stdout);
        if version.contains(GO_TASK_VERSION) {
            Ok(())
        } else {
            Err(format!(
                "`{GO_TASK} --version` says {:?}, the cases expect go-task {GO_TASK_VERSION}; install it with \
                 `{GO_TASK_INSTALL}`",
                version.trim()
            ))
        }
    });
    if let Err(message) = checked {
        panic!("{message}");
    }
}

/// Copies the case directory `from` into `to`, keeping only `tool`'s tasks files.
fn copy_project(from: &Path, to: &Path, tool: Tool) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    let mut entries: Vec<_> = fs::read_dir(from)
        .unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
        .map(|entry| entry.expect("read a directory entry"))
        .collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        let (source, target) = (entry.path(), to.join(&name));
        let file_type = entry.file_type().expect("file type");
        if file_type.is_dir() {
            copy_project(&source, &target, tool);
        } else if name != "case.toml" && name != tool.other_file() {
            fs::copy(&source, &target).unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
        }
    }
}

/// Runs `tool` once in `project`, bounded by [`DEADLINE`].
fn run_tool(tool: Tool, args: &[String], project: &Path, env: &BTreeMap<String, String>) -> Run {
    let capture = tempfile::Builder::new().prefix("opsrun-gotask-out-").tempdir().expect("create a temp dir");
    let (stdout_path, stderr_path) = (capture.path().join("stdout"), capture.path().join("stderr"));
    let mut command = Command::new(tool.program());
    command.args(args).current_dir(project).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("OPSRUN_") || name.starts_with("TASK_") || name == "RUST_LOG" {
            command.env_remove(&key);
        }
    }
    command.env("CI", "true").env("NO_COLOR", "1").envs(env);
    command
        .stdout(File::create(&stdout_path).expect("create stdout capture"))
        .stderr(File::create(&stderr_path).expect("create stderr capture"));
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if tool == Tool::GoTask && e.kind() == ErrorKind::NotFound => {
            panic!("go-task (`{GO_TASK}`) is not installed; install it with `{GO_TASK_INSTALL}`")
        }
        Err(e) => panic!("could not start {}: {e}", tool.name()),
    };
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} {} did not exit within {DEADLINE:?}\n--- stdout:\n{}--- stderr:\n{}",
                tool.name(),
                args.join(" "),
                fs::read_to_string(&stdout_path).unwrap_or_default(),
                fs::read_to_string(&stderr_path).unwrap_or_default(),
            );
        }
        thread::sleep(POLL);
    };
    let read = |path: &Path| {
        let bytes = fs::read(path).expect("read a capture");
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{} wrote non-UTF-8 output: {e}", tool.name()))
    };
    Run { status, stdout: read(&stdout_path), stderr: read(&stderr_path) }
}

/// Runs `opsrun import` in `project`: `None` when it succeeded, else its run (a refused
/// Taskfile is an error with exit code 2, never a panic), which stands for every run of the
/// case (they fail, as go-task's must for the case to pass).
fn import(name: &str, project: &Path) -> Option<Run> {
    let run = run_tool(Tool::OpsrunImported, &["import".to_owned()], project, &BTreeMap::new());
    if run.status.success() {
        return None;
    }
    assert!(
        run.status.code() == Some(2) && !run.stderr.contains("panicked"),
        "case {name}: `opsrun import` failed badly: {}\n--- stdout:\n{}--- stderr:\n{}",
        run.status,
        run.stdout,
        run.stderr
    );
    Some(run)
}

/// Runs `tool` for `case` (named `name`) in a fresh copy of the case directory.
fn run_case_with(tool: Tool, name: &str, case: &Case) -> Outcome {
    let args = match tool {
        Tool::GoTask => case.gotask_args.clone().unwrap_or_else(|| case.args.clone()),
        Tool::Opsrun | Tool::OpsrunDirect | Tool::OpsrunImported => case
            .opsrun_args
            .clone()
            .unwrap_or_else(|| std::iter::once("run".to_owned()).chain(case.args.iter().cloned()).collect()),
    };
    let tempdir = tempfile::Builder::new().prefix("opsrun-gotask-").tempdir().expect("create a temp dir");
    let project = tempdir.path().join(name);
    copy_project(&fixtures().join(name), &project, tool);
    if tool == Tool::OpsrunImported
        && let Some(refused) = import(name, &project)
    {
        let runs = vec![refused; case.runs];
        return Outcome { tool, args: vec!["import".to_owned()], _tempdir: tempdir, project, runs };
    }
    let mut runs = Vec::with_capacity(case.runs);
    for i in 0..case.runs {
        if let Some(script) = i.checked_sub(1).and_then(|j| case.between.get(j))
            && !script.is_empty()
        {
            let status = Command::new("sh")
                .args(["-c", script])
                .current_dir(&project)
                .stdin(Stdio::null())
                .status()
                .expect("run the `between` script");
            assert!(status.success(), "case {name}: `between` script failed in {}'s copy: {status}", tool.name());
        }
        runs.push(run_tool(tool, &args, &project, &case.env));
    }
    Outcome { tool, args, _tempdir: tempdir, project, runs }
}

/// The names `tool` lists in `project` as `task --list-all --json` lists them (internal tasks
/// left out), or `None` when listing fails.
fn listed(tool: Tool, project: &Path) -> Option<BTreeSet<String>> {
    let args: Vec<String> = match tool {
        Tool::GoTask => vec!["--list-all".into(), "--json".into()],
        Tool::Opsrun | Tool::OpsrunDirect | Tool::OpsrunImported => {
            vec!["list".into(), "--all".into(), "--json".into()]
        }
    };
    let run = run_tool(tool, &args, project, &BTreeMap::new());
    // go-task exits 1 when there is nothing to list, after printing an empty list.
    if !(run.status.success() || tool == Tool::GoTask && run.status.code() == Some(1)) {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{} listed invalid JSON ({e}):\n{}", tool.name(), run.stdout));
    // go-task's `name` is the label; `task` is the task's name.
    let (tasks, key) = match tool {
        Tool::GoTask => (json["tasks"].as_array().cloned().unwrap_or_default(), "task"),
        _ => (
            json.as_array().cloned().unwrap_or_default().into_iter().filter(|t| t["internal"] == false).collect(),
            "name",
        ),
    };
    Some(tasks.iter().filter_map(|t| t[key].as_str().map(str::to_owned)).collect())
}

/// Reads and checks `case.toml` of the case `name`.
fn load_case(name: &str) -> Case {
    let path = fixtures().join(name).join("case.toml");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(case.runs >= 1, "{}: runs must be at least 1", path.display());
    assert!(case.between.len() < case.runs, "{}: more `between` scripts than gaps between runs", path.display());
    if let Some(difference) = &case.difference {
        assert!(
            difference.opsrun_stdout.is_some() || difference.opsrun_success.is_some(),
            "{}: a [difference] must say what opsrun does instead (opsrun_stdout or opsrun_success)",
            path.display()
        );
    }
    case
}

/// Lines of `label` that are not `expected`, as a readable diff (empty when equal).
fn diff_lines(label: &str, expected: &[String], actual: &[String]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let mut text = format!("{label}:\n");
    let first = expected.iter().zip(actual).position(|(e, a)| e != a).unwrap_or(expected.len().min(actual.len()));
    let _ = writeln!(text, "  first difference at line {}", first + 1);
    let _ = writeln!(text, "  expected ({} lines):", expected.len());
    for line in expected {
        let _ = writeln!(text, "    | {line}");
    }
    let _ = writeln!(text, "  actual ({} lines):", actual.len());
    for line in actual {
        let _ = writeln!(text, "    | {line}");
    }
    Some(text)
}

/// What one tool did, reduced to what is compared: stdout lines (sorted for a parallel case) and
/// each run's success.
#[derive(Debug)]
struct Observed {
    lines: Vec<String>,
    successes: Vec<bool>,
}

impl Observed {
    fn of(outcome: &Outcome, parallel: bool) -> Self {
        Self { lines: outcome.lines(parallel), successes: outcome.successes() }
    }
}

/// Everything in which the two tools' behaviour breaks the case's rules (empty: the case passes).
///
/// go-task is held to `expect_stdout` and `success`. opsrun is held to the `[difference]` where it
/// says something, else to the same expectations; and to go-task's actual behaviour whenever that
/// is not what the case expects (or the case expects nothing), so that both tools being wrong in
/// the same way still fails.
fn problems(case: &Case, gotask: &Observed, opsrun: &Observed) -> Vec<String> {
    let mut problems = Vec::new();
    let expected_lines = case.expect_stdout.as_ref().map(|lines| normalise(lines.clone(), case.parallel));
    let all = |success: bool| vec![success; case.runs];
    let difference = case.difference.as_ref();

    if case.compare_stdout {
        if let Some(expected) = &expected_lines {
            problems.extend(diff_lines("go-task stdout vs expect_stdout", expected, &gotask.lines));
        }
        if let Some(lines) = difference.and_then(|d| d.opsrun_stdout.as_ref()) {
            let expected = normalise(lines.clone(), case.parallel);
            problems.extend(diff_lines("opsrun stdout vs [difference] opsrun_stdout", &expected, &opsrun.lines));
        } else {
            if let Some(expected) = &expected_lines {
                problems.extend(diff_lines("opsrun stdout vs expect_stdout", expected, &opsrun.lines));
            }
            if expected_lines.as_ref() != Some(&gotask.lines) {
                problems.extend(diff_lines("opsrun stdout vs go-task stdout", &gotask.lines, &opsrun.lines));
            }
        }
    }

    if let Some(success) = case.success
        && gotask.successes != all(success)
    {
        problems.push(format!("go-task success {:?}, the case expects {success}", gotask.successes));
    }
    if let Some(success) = difference.and_then(|d| d.opsrun_success) {
        if opsrun.successes != all(success) {
            problems.push(format!("opsrun success {:?}, [difference] expects {success}", opsrun.successes));
        }
    } else {
        if let Some(success) = case.success
            && opsrun.successes != all(success)
        {
            problems.push(format!("opsrun success {:?}, the case expects {success}", opsrun.successes));
        }
        if case.success.map(all).as_ref() != Some(&gotask.successes) && opsrun.successes != gotask.successes {
            problems.push(format!("success: go-task {:?}, opsrun {:?}", gotask.successes, opsrun.successes));
        }
    }
    problems
}

/// Runs the case `name` with go-task and with opsrun (its `tasks.toml`, and the `Taskfile.yml`
/// read directly and imported) and asserts they behave alike (or as documented).
fn check_case(name: &str) {
    require_go_task();
    let case = load_case(name);
    let gotask = run_case_with(Tool::GoTask, name, &case);
    let gotask_observed = Observed::of(&gotask, case.parallel);
    let mut problems = Vec::new();
    let mut dumps = gotask.dump();
    let gotask_listed = listed(Tool::GoTask, &gotask.project);
    // The Taskfile runs: held to go-task unless the difference is one a Taskfile keeps too.
    let taskfile_case = Case {
        difference: case.difference.as_ref().filter(|d| d.also_for_taskfile).map(|d| Difference {
            reason: d.reason.clone(),
            opsrun_stdout: d.opsrun_stdout.clone(),
            opsrun_success: d.opsrun_success,
            also_for_taskfile: true,
        }),
        ..load_case(name)
    };
    for (tool, rules) in
        [(Tool::Opsrun, &case), (Tool::OpsrunDirect, &taskfile_case), (Tool::OpsrunImported, &taskfile_case)]
    {
        let opsrun = run_case_with(tool, name, &case);
        let prefix = |p: String| if tool == Tool::Opsrun { p } else { format!("[{}] {p}", tool.name()) };
        if opsrun.runs.iter().any(|run| run.stderr.contains("panicked") || run.status.code() == Some(70)) {
            problems.push(prefix("opsrun panicked".to_owned()));
        }
        problems.extend(
            self::problems(rules, &gotask_observed, &Observed::of(&opsrun, case.parallel)).into_iter().map(prefix),
        );
        for file in &case.files {
            let read = |outcome: &Outcome| fs::read_to_string(outcome.project.join(file)).ok();
            let (from_gotask, from_opsrun) = (read(&gotask), read(&opsrun));
            if from_gotask != from_opsrun {
                problems
                    .push(prefix(format!("file {file}: go-task left {from_gotask:?}, opsrun left {from_opsrun:?}")));
            }
        }
        if tool != Tool::Opsrun {
            let opsrun_listed = listed(tool, &opsrun.project);
            if opsrun_listed != gotask_listed {
                problems.push(prefix(format!("lists {opsrun_listed:?}, go-task --list-all lists {gotask_listed:?}")));
            }
        }
        dumps.push_str(&opsrun.dump());
    }

    if !problems.is_empty() {
        let mut message = format!("go-task case `{name}` failed");
        if !case.notes.is_empty() {
            let _ = write!(message, " ({})", case.notes.trim());
        }
        if let Some(difference) = &case.difference {
            let _ = write!(message, "\ndeliberate difference: {}", difference.reason);
        }
        for problem in &problems {
            let _ = write!(message, "\n* {}", problem.trim_end());
        }
        let _ = write!(message, "\n{dumps}");
        panic!("{message}");
    }
}

/// One `#[test]` per case directory, and the list of them for [`every_fixture_has_a_test`].
macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// Every case with a `#[test]`.
        const CASES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                check_case(stringify!($name));
            }
        )*
    };
}

cases! {
    alias_in_deps_and_calls,
    alias_on_command_line,
    call_and_dep_share_a_dependency,
    call_and_dep_share_a_dependency_run_once,
    call_is_a_barrier,
    call_runs_callee_deps,
    call_runs_callee_preconditions,
    call_skips_callee_when_status_passes,
    call_vars_and_silent_call,
    cli_args_after_double_dash,
    cli_tasks_run_in_order,
    cli_tasks_share_a_dep,
    cmd_and_cmds,
    defer_exit_code_on_success,
    defer_order,
    defer_runs_on_failure,
    defer_task,
    deps_run_before_preconditions,
    deps_run_in_parallel_before_the_task,
    dotenv_and_env_as_template_vars,
    dotenv_task_level,
    errexit_by_default,
    failing_command_stops_the_run,
    failing_dep_stops_the_task,
    for_deps,
    for_list,
    for_matrix,
    for_sources,
    for_task_call,
    for_var_split_as,
    for_var_whitespace,
    generates_missing_reruns,
    ignore_error_on_command,
    ignore_error_on_task,
    import_background_kept,
    import_include_options,
    import_missing_task_reference,
    import_nested_templated,
    import_task_commands,
    import_vars_kinds,
    import_yaml_forms,
    include_dir_sets_working_dir,
    include_excludes,
    include_flatten,
    include_nested_namespace_deps,
    include_runs_in_root_dir,
    include_vars,
    internal_task_callable,
    internal_task_not_runnable,
    label_and_prefix_with_prefixed_output,
    method_checksum,
    method_checksum_touch,
    method_none,
    method_timestamp,
    multiline_command,
    os_env_as_template_vars,
    output_group,
    output_group_begin_end,
    output_group_error_only,
    output_interleaved_is_raw,
    output_prefixed,
    output_prefixed_parallel_deps,
    platforms_cmd,
    platforms_task,
    precondition_fails_while_status_passes,
    requires_all_given,
    requires_checked_before_deps,
    requires_enum_invalid,
    requires_var_from_file_vars,
    requires_var_missing,
    root_task_collides_with_include,
    run_always,
    run_once,
    run_when_changed,
    set_pipefail,
    set_pipefail_cmd_level,
    shopt_globstar,
    silent_file_level,
    silent_hides_only_the_echo,
    sources_default_method,
    special_vars,
    status_up_to_date,
    stdout_is_exactly_the_task_output,
    task_dir,
    task_env,
    templated_task_names,
    undefined_variable,
    unknown_task_fails,
    vars_call_vs_task,
    vars_cli_vs_call,
    vars_cli_vs_file_and_task,
    vars_dynamic_sh,
    vars_file_task_default,
    wildcard_task_names,
}

/// A case directory without a `#[test]` would silently never run.
#[test]
fn every_fixture_has_a_test() {
    let mut dirs: Vec<String> = fs::read_dir(fixtures())
        .expect("read the fixtures directory")
        .map(|entry| entry.expect("read a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut listed: Vec<String> = CASES.iter().map(|&case| case.to_owned()).collect();
    listed.sort();
    assert_eq!(dirs, listed, "tests/fixtures/gotask and the cases! list in tests/it/gotask.rs differ");
}

/// The comparison rules themselves, on made-up observations.
mod rules {
    use super::{Case, Observed, problems};

    fn case(text: &str) -> Case {
        toml::from_str(text).expect("a valid case.toml")
    }

    fn observed(lines: &[&str], success: bool) -> Observed {
        Observed { lines: lines.iter().map(|&line| line.to_owned()).collect(), successes: vec![success] }
    }

    #[test]
    fn alike_and_as_expected_passes() {
        let case = case("expect_stdout = [\"a\"]\nsuccess = true");
        assert!(problems(&case, &observed(&["a"], true), &observed(&["a"], true)).is_empty());
    }

    #[test]
    fn both_wrong_alike_fails_for_both() {
        let case = case("expect_stdout = [\"a\"]\nsuccess = true");
        let found = problems(&case, &observed(&["b"], false), &observed(&["b"], false));
        for needle in ["go-task stdout", "opsrun stdout", "go-task success", "opsrun success"] {
            assert!(found.iter().any(|p| p.contains(needle)), "no {needle:?} in {found:#?}");
        }
    }

    #[test]
    fn without_expectations_the_tools_are_compared() {
        let case = case("");
        assert!(problems(&case, &observed(&["x"], true), &observed(&["x"], true)).is_empty());
        assert_eq!(problems(&case, &observed(&["x"], true), &observed(&["y"], false)).len(), 2);
    }

    #[test]
    fn a_difference_replaces_opsrun_expectations() {
        let case = case(
            "expect_stdout = [\"a\", \"a\"]\nsuccess = true\n\
             [difference]\nreason = \"once\"\nopsrun_stdout = [\"a\"]\nopsrun_success = true",
        );
        assert!(problems(&case, &observed(&["a", "a"], true), &observed(&["a"], true)).is_empty());
        assert!(!problems(&case, &observed(&["a", "a"], true), &observed(&["a", "a"], true)).is_empty());
    }

    #[test]
    fn parallel_cases_ignore_line_order_only() {
        let case = case("parallel = true\nexpect_stdout = [\"a\", \"b\"]");
        let sorted = |lines: &[&str]| {
            let mut observed = observed(lines, true);
            observed.lines.sort();
            observed
        };
        assert!(problems(&case, &sorted(&["b", "a"]), &sorted(&["a", "b"])).is_empty());
        assert!(!problems(&case, &sorted(&["b", "a"]), &sorted(&["a", "a"])).is_empty());
    }
}
