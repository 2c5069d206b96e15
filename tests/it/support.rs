//! The `Test` builder: a fresh temporary project, the real `opsrun` binary, and assertions on
//! what it did.
//!
//! Every test gets its own [`TempDir`], so tests run in parallel without sharing state,
//! journals or locks. The child's environment is made deterministic: `CI=true` (plain output,
//! no progress bars) and no `OPSRUN_*` or `RUST_LOG` variables inherited from the developer's
//! shell.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use opsrun::event::{Event, EventEnvelope, TaskOutcome};
use tempfile::TempDir;

/// The binary under test, built by cargo for this test target.
const OPSRUN: &str = env!("CARGO_BIN_EXE_opsrun");

/// How long any wait for a condition may take before the test fails. Generous: it only bounds
/// a hang, it never decides an outcome.
const DEADLINE: Duration = Duration::from_secs(30);

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(10);

/// A command line to run in a fresh temporary project.
#[must_use]
pub(crate) struct Test {
    project: Project,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    current_dir: Option<PathBuf>,
}

impl Test {
    /// A new empty project directory.
    pub(crate) fn new() -> Self {
        let tempdir = tempfile::Builder::new().prefix("opsrun-it-").tempdir().expect("create a temp dir");
        Self::in_project(Project::Owned(tempdir))
    }

    fn in_project(project: Project) -> Self {
        Self { project, args: Vec::new(), env: Vec::new(), current_dir: None }
    }

    /// Writes `contents` to `path` (relative to the project), creating parent directories.
    pub(crate) fn file(self, path: &str, contents: &str) -> Self {
        let path = self.project.path().join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent dirs");
        }
        fs::write(&path, contents).expect("write a project file");
        self
    }

    /// Writes `tasks.toml`.
    pub(crate) fn tasks(self, contents: &str) -> Self {
        self.file("tasks.toml", contents)
    }

    /// Creates an empty directory `path` (relative to the project).
    pub(crate) fn dir(self, path: &str) -> Self {
        fs::create_dir_all(self.project.path().join(path)).expect("create a dir");
        self
    }

    /// Appends arguments.
    pub(crate) fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    /// Sets an environment variable for the child.
    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes an environment variable (including the `CI=true` set by default).
    pub(crate) fn env_remove(mut self, key: &str) -> Self {
        self.env.push((key.into(), None));
        self
    }

    /// Runs opsrun from `path` (relative to the project) instead of its root.
    pub(crate) fn current_dir(mut self, path: &str) -> Self {
        self.current_dir = Some(path.into());
        self
    }

    /// The project directory.
    pub(crate) fn path(&self) -> &Path {
        self.project.path()
    }

    fn command(&self) -> Command {
        let mut command = Command::new(OPSRUN);
        command
            .args(&self.args)
            .current_dir(self.project.path().join(self.current_dir.as_deref().unwrap_or(Path::new(""))));
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if name.starts_with("OPSRUN_") || name == "RUST_LOG" {
                command.env_remove(&key);
            }
        }
        command.env("CI", "true");
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command.stdin(Stdio::null());
        command
    }

    /// Runs opsrun to completion.
    pub(crate) fn run(self) -> Output {
        let output = self.command().output().expect("run opsrun");
        Output::new(self.project, output.status, output.stdout, output.stderr)
    }

    /// Starts opsrun in the background; its output goes to files read by [`Running`].
    pub(crate) fn spawn(self) -> Running {
        let capture = tempfile::Builder::new().prefix("opsrun-it-out-").tempdir().expect("create a temp dir");
        let stdout = capture.path().join("stdout");
        let stderr = capture.path().join("stderr");
        let child = self
            .command()
            .stdout(File::create(&stdout).expect("create stdout capture"))
            .stderr(File::create(&stderr).expect("create stderr capture"))
            .spawn()
            .expect("spawn opsrun");
        Running { child: KillOnDrop(child), project: self.project, _capture: capture, stdout, stderr }
    }
}

impl Test {
    /// Runs opsrun to completion with a pseudo-terminal as its stdout and stderr, and returns
    /// every byte it drew there (as a terminal emulator would have received them).
    pub(crate) fn run_in_terminal(self) -> TerminalOutput {
        let size = Winsize { ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0 };
        let pty = openpty(Some(&size), None).expect("open a pseudo-terminal");
        let mut command = self.command();
        command.stdout(Stdio::from(pty.slave.try_clone().expect("duplicate the pty")));
        command.stderr(Stdio::from(pty.slave));
        let mut child = KillOnDrop(command.spawn().expect("spawn opsrun"));
        // The command holds the parent's copies of the slave side; the master only reports the
        // end of the output once every copy is closed.
        drop(command);

        let (sender, receiver) = mpsc::channel();
        let mut master = File::from(pty.master);
        // Detached: it ends by itself when the last slave descriptor closes (read then fails
        // with EIO), and a test that fails first must not wait for it.
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = master.read_to_end(&mut bytes);
            let _ = sender.send(bytes);
        });
        let bytes = receiver.recv_timeout(DEADLINE).expect("opsrun's terminal output never ended");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.0.try_wait().expect("poll opsrun") {
                break status;
            }
            assert!(start.elapsed() < DEADLINE, "opsrun did not exit in time");
            thread::sleep(POLL);
        };
        TerminalOutput { _project: self.project, status, bytes }
    }
}

/// What opsrun wrote to a pseudo-terminal ([`Test::run_in_terminal`]).
pub(crate) struct TerminalOutput {
    _project: Project,
    /// How it ended.
    pub(crate) status: ExitStatus,
    /// Everything written to the terminal, escape sequences included.
    pub(crate) bytes: Vec<u8>,
}

impl TerminalOutput {
    /// What the terminal shows once opsrun has exited: every line written and not erased, as a
    /// terminal emulator of [`TERMINAL_COLUMNS`] columns would have it (scrollback included),
    /// trailing blanks trimmed.
    pub(crate) fn screen(&self) -> String {
        Screen::default().feed(&String::from_utf8_lossy(&self.bytes)).text()
    }
}

/// The width of the pseudo-terminal of [`Test::run_in_terminal`].
pub(crate) const TERMINAL_COLUMNS: usize = 120;

/// Just enough of a VT100 to replay what opsrun draws: printing with wrap, CR, LF, backspace,
/// cursor movement (`CSI n A/B/C/D/G`), erasing (`CSI n K`, `CSI n J`); colours and modes are
/// ignored. Lines scrolled off the top are kept, as a terminal's scrollback.
#[derive(Default)]
struct Screen {
    lines: Vec<Vec<char>>,
    row: usize,
    col: usize,
}

impl Screen {
    fn line(&mut self) -> &mut Vec<char> {
        while self.lines.len() <= self.row {
            self.lines.push(Vec::new());
        }
        &mut self.lines[self.row]
    }

    fn put(&mut self, c: char) {
        if self.col >= TERMINAL_COLUMNS {
            self.row += 1;
            self.col = 0;
        }
        let col = self.col;
        let line = self.line();
        if line.len() <= col {
            line.resize(col + 1, ' ');
        }
        line[col] = c;
        self.col += 1;
    }

    fn feed(mut self, text: &str) -> Self {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => self.col = 0,
                '\n' => self.row += 1,
                '\u{8}' => self.col = self.col.saturating_sub(1),
                '\u{1b}' if chars.peek() == Some(&'[') => {
                    chars.next();
                    let mut params = String::new();
                    let mut command = ' ';
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() || c == '@' || c == '~' {
                            command = c;
                            break;
                        }
                        params.push(c);
                    }
                    let n: usize =
                        params.trim_start_matches('?').split(';').next().and_then(|p| p.parse().ok()).unwrap_or(0);
                    let moves = n.max(1);
                    match command {
                        'A' => self.row = self.row.saturating_sub(moves),
                        'B' => self.row += moves,
                        'C' => self.col += moves,
                        'D' => self.col = self.col.saturating_sub(moves),
                        'G' => self.col = moves - 1,
                        'K' => {
                            let col = self.col;
                            let line = self.line();
                            match n {
                                0 => line.truncate(col),
                                1 => line.iter_mut().take(col + 1).for_each(|c| *c = ' '),
                                _ => line.clear(),
                            }
                        }
                        'J' if n == 0 => {
                            let (row, col) = (self.row, self.col);
                            self.line().truncate(col);
                            self.lines.truncate(row + 1);
                        }
                        _ => {}
                    }
                }
                '\u{1b}' => {
                    // Another escape: skip its one following character.
                    chars.next();
                }
                c if c.is_control() => {}
                c => self.put(c),
            }
        }
        self
    }

    fn text(&self) -> String {
        let lines: Vec<String> =
            self.lines.iter().map(|l| l.iter().collect::<String>().trim_end().to_owned()).collect();
        let mut text = lines.join("\n");
        text.truncate(text.trim_end().len());
        text
    }
}

/// What a finished opsrun did. The project directory lives as long as this does.
///
/// Strict by default, as just's `Test` is: a test that never asserts the exit code
/// ([`Output::status`], or reads it with [`Output::status_code`]) has it checked to be 0 when
/// the output is dropped, so a failing command cannot pass a test that only looked at output.
pub(crate) struct Output {
    project: Project,
    status: ExitStatus,
    stdout: String,
    stderr: String,
    status_checked: std::cell::Cell<bool>,
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.status_checked.get() && !thread::panicking() {
            assert_eq!(self.status.code(), Some(0), "opsrun failed and the test did not expect it\n{}", self.dump());
        }
    }
}

impl Output {
    fn new(project: Project, status: ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> Self {
        let output = Self {
            project,
            status,
            stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
            status_checked: std::cell::Cell::new(false),
        };
        // Whatever the input, opsrun must never panic.
        assert!(!output.stderr.contains("panicked"), "opsrun panicked\n{}", output.dump());
        output
    }

    /// Stdout and stderr, for assertion messages.
    fn dump(&self) -> String {
        format!("--- status: {:?}\n--- stdout:\n{}\n--- stderr:\n{}", self.status, self.stdout, self.stderr)
    }

    /// Asserts the exit code.
    pub(crate) fn status(&self, code: i32) -> &Self {
        self.status_checked.set(true);
        assert_eq!(self.status.code(), Some(code), "unexpected exit code\n{}", self.dump());
        self
    }

    /// The exit code, `None` when killed by a signal.
    pub(crate) fn status_code(&self) -> Option<i32> {
        self.status_checked.set(true);
        self.status.code()
    }

    /// Asserts that stdout contains `needle`.
    pub(crate) fn stdout_contains(&self, needle: &str) -> &Self {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}\n{}", self.dump());
        self
    }

    /// Asserts that stderr contains `needle`.
    pub(crate) fn stderr_contains(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}\n{}", self.dump());
        self
    }

    /// Asserts that neither stdout nor stderr contains `needle`.
    pub(crate) fn output_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle) && !self.stderr.contains(needle),
            "output contains {needle:?}\n{}",
            self.dump()
        );
        self
    }

    /// Stdout as text.
    pub(crate) fn stdout(&self) -> &str {
        &self.stdout
    }

    /// Stderr as text.
    pub(crate) fn stderr(&self) -> &str {
        &self.stderr
    }

    /// Stdout with the project's path replaced by `[TMP]`, for snapshots.
    pub(crate) fn stdout_redacted(&self) -> String {
        redact(&self.stdout, self.project.path())
    }

    /// Stderr with the project's path replaced by `[TMP]`, for snapshots.
    pub(crate) fn stderr_redacted(&self) -> String {
        redact(&self.stderr, self.project.path())
    }

    /// Every stdout line as a typed event (the JSON reporter's output); panics on a line that is
    /// not one.
    pub(crate) fn json_events(&self) -> Vec<EventEnvelope> {
        parse_events(&self.stdout)
    }

    /// The project directory.
    pub(crate) fn path(&self) -> &Path {
        self.project.path()
    }

    /// Whether `path` (relative to the project) exists.
    pub(crate) fn exists(&self, path: &str) -> bool {
        self.path().join(path).exists()
    }

    /// The contents of `path` (relative to the project).
    pub(crate) fn read(&self, path: &str) -> String {
        fs::read_to_string(self.path().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}\n{}", self.dump()))
    }

    /// The number of lines in `path` (relative to the project), 0 when it does not exist.
    pub(crate) fn lines(&self, path: &str) -> usize {
        fs::read_to_string(self.path().join(path)).map_or(0, |s| s.lines().count())
    }

    /// A new command line in the same project directory (state, journal and files kept).
    /// Another opsrun in the same project, keeping this output (and the project) alive.
    pub(crate) fn alongside(&self) -> Test {
        Test::in_project(Project::Shared(self.project.path().to_path_buf()))
    }

    pub(crate) fn then(mut self) -> Test {
        // (The exit code is still checked when `self` drops, after the project moved on.)
        let project = std::mem::replace(&mut self.project, Project::Shared(PathBuf::new()));
        Test::in_project(project)
    }
}

/// An opsrun started with [`Test::spawn`].
pub(crate) struct Running {
    child: KillOnDrop,
    project: Project,
    _capture: TempDir,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    /// The process id of opsrun.
    pub(crate) fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// The project directory.
    pub(crate) fn path(&self) -> &Path {
        self.project.path()
    }

    /// Another command line in the same project, to run while this one is running.
    pub(crate) fn alongside(&self) -> Test {
        Test::in_project(Project::Shared(self.project.path().to_path_buf()))
    }

    /// Sends `signal` to opsrun (only to it: the tasks get it from opsrun).
    pub(crate) fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.child.0.id()).expect("pid fits i32"));
        kill(pid, signal).expect("send a signal to opsrun");
    }

    /// Waits until `path` (relative to the project) exists.
    pub(crate) fn wait_for_file(&mut self, path: &str) {
        let full = self.project.path().join(path);
        self.wait_until(&format!("file {path} to exist"), |_| full.exists());
    }

    /// Waits until stdout contains `needle`.
    pub(crate) fn wait_for_stdout(&mut self, needle: &str) {
        let stdout = self.stdout.clone();
        self.wait_until(&format!("stdout to contain {needle:?}"), |_| {
            fs::read_to_string(&stdout).is_ok_and(|s| s.contains(needle))
        });
    }

    /// Polls `condition` until it holds; fails the test if opsrun exits first or the deadline
    /// passes.
    pub(crate) fn wait_until(&mut self, what: &str, mut condition: impl FnMut(&Self) -> bool) {
        let start = Instant::now();
        loop {
            if condition(self) {
                return;
            }
            if let Some(status) = self.child.0.try_wait().expect("poll opsrun") {
                panic!("opsrun exited ({status}) while waiting for {what}\n{}", self.captured());
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.0.kill();
                panic!("timed out waiting for {what}\n{}", self.captured());
            }
            thread::sleep(POLL);
        }
    }

    fn captured(&self) -> String {
        format!(
            "--- stdout:\n{}\n--- stderr:\n{}",
            fs::read_to_string(&self.stdout).unwrap_or_default(),
            fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }

    /// Waits (bounded) for opsrun to exit.
    pub(crate) fn wait(mut self) -> Output {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.0.try_wait().expect("poll opsrun") {
                break status;
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.0.kill();
                let _ = self.child.0.wait();
                panic!("opsrun did not exit in time\n{}", self.captured());
            }
            thread::sleep(POLL);
        };
        let stdout = fs::read(&self.stdout).expect("read stdout capture");
        let stderr = fs::read(&self.stderr).expect("read stderr capture");
        Output::new(self.project, status, stdout, stderr)
    }
}

/// A child process stopped when dropped, so that a failed assertion leaves neither opsrun nor
/// its tasks behind (which would also confuse the process counts of a later run).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if !matches!(self.0.try_wait(), Ok(None)) {
            return;
        }
        // Two SIGINTs make opsrun kill its tasks' process groups at once; SIGKILL would orphan them.
        if let Ok(pid) = i32::try_from(self.0.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
            thread::sleep(Duration::from_millis(100));
            let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
        }
        let start = Instant::now();
        while matches!(self.0.try_wait(), Ok(None)) && start.elapsed() < Duration::from_secs(5) {
            thread::sleep(POLL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A test's project directory: its own, or one it shares with a running opsrun.
enum Project {
    Owned(TempDir),
    Shared(PathBuf),
}

impl Project {
    fn path(&self) -> &Path {
        match self {
            Self::Owned(dir) => dir.path(),
            Self::Shared(path) => path,
        }
    }
}

/// Replaces every spelling of `dir` in `text` with `[TMP]`.
fn redact(text: &str, dir: &Path) -> String {
    let mut text = text.to_owned();
    if let Ok(canonical) = dir.canonicalize() {
        text = text.replace(&*canonical.to_string_lossy(), "[TMP]");
    }
    text.replace(&*dir.to_string_lossy(), "[TMP]")
}

/// Parses JSON lines into typed events.
pub(crate) fn parse_events(text: &str) -> Vec<EventEnvelope> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not an event ({e}): {line}")))
        .collect()
}

/// The tasks that got a `task_started`, in order.
pub(crate) fn started(events: &[EventEnvelope]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::TaskStarted { task } => Some(task.as_str()),
            _ => None,
        })
        .collect()
}

/// The outcome of `task` from its `task_finished`.
pub(crate) fn outcome(events: &[EventEnvelope], task: &str) -> TaskOutcome {
    events
        .iter()
        .find_map(|e| match &e.event {
            Event::TaskFinished { task: t, outcome, .. } if t == task => Some(*outcome),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no task_finished for {task}"))
}

/// The envelope of the first event matching `pred`.
pub(crate) fn find<'e>(events: &'e [EventEnvelope], what: &str, pred: impl Fn(&Event) -> bool) -> &'e EventEnvelope {
    events.iter().find(|e| pred(&e.event)).unwrap_or_else(|| panic!("no event: {what}"))
}

/// A shell snippet that polls `condition` every 10ms and exits 99 after about 10 seconds: a
/// bounded wait for tasks that must synchronise with each other or with opsrun.
pub(crate) fn sh_wait_until(condition: &str) -> String {
    format!("i=0; until {condition}; do i=$((i+1)); if [ $i -gt 1000 ]; then exit 99; fi; sleep 0.01; done")
}

/// Processes (pid, command line) whose command line contains `needle` and that are not zombies.
pub(crate) fn live_processes(needle: &str) -> Vec<(u32, String)> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if !cmdline.contains(needle) {
                return None;
            }
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The state is the first field after the parenthesised command name.
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            (state != 'Z').then_some((pid, cmdline))
        })
        .collect()
}

/// Asserts that no live process has `needle` in its command line. A process that was sent
/// SIGKILL can take a moment to be torn down, so this polls briefly before failing; a process
/// that nobody killed survives the wait and fails the test.
pub(crate) fn assert_no_process(needle: &str) {
    let start = Instant::now();
    loop {
        let live = live_processes(needle);
        if live.is_empty() {
            return;
        }
        if start.elapsed() > Duration::from_secs(3) {
            kill_processes(needle);
            panic!("processes left behind: {live:?}");
        }
        thread::sleep(POLL);
    }
}

/// Sends SIGKILL to every process with `needle` in its command line (by pid).
pub(crate) fn kill_processes(needle: &str) {
    for (pid, _) in live_processes(needle) {
        if let Ok(pid) = i32::try_from(pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// The persisted state of a project as the next run will read it: `.opsrun/state.json` with
/// the write-ahead log `.opsrun/state.wal` replayed over it (a torn last line ends the replay).
pub(crate) fn persisted_state(project: &Path) -> serde_json::Value {
    let dir = project.join(".opsrun");
    let mut state: serde_json::Value = std::fs::read_to_string(dir.join("state.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| serde_json::json!({ "version": 1, "tasks": {} }));
    let wal = std::fs::read_to_string(dir.join("state.wal")).unwrap_or_default();
    for line in wal.lines() {
        let Ok(update) = serde_json::from_str::<serde_json::Value>(line) else { break };
        let task = update["task"].as_str().expect("wal line names its task").to_string();
        state["tasks"][task] = update["record"].clone();
    }
    state
}
