//! `run_shell`: one shell command in its own process group, its output streamed line by line.
//!
//! Every command runs as `sh -c SCRIPT` in a new process group, so a timeout, a cancel or an
//! interrupt can end the whole tree (`sleep 100 & wait` included), not just the shell. After
//! the shell exits, anything left in its group is a straggler: it is killed and reported, unless
//! the command keeps its background processes (`keep_background`, go-task's behaviour), in which
//! case they are left running and their output is read (and dropped) for as long as opsrun runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

use opsrun_event::{LineBuf, Stream};

use crate::Shutdown;
use crate::spawn::{self, Spawn};

/// What to run.
#[derive(Debug, Clone)]
pub struct ShellCommand {
    /// The script, run as `SHELL -c SCRIPT`.
    pub script: String,
    /// Its working directory.
    pub dir: PathBuf,
    /// Variables added to (or replacing) opsrun's environment (as it was when the first
    /// command started; see the crate docs). Later pairs win.
    pub env: Vec<(String, String)>,
    /// End the command (TERM, grace, KILL) at this instant.
    pub deadline: Option<Instant>,
    /// How long to wait between TERM and KILL on timeout.
    pub grace: Duration,
    /// The program run as `SHELL -c SCRIPT`; `None` for `/bin/sh`.
    pub shell: Option<String>,
    /// Hand the command opsrun's stdin, stdout and stderr (a terminal) instead of pipes; its
    /// output is then not captured.
    pub interactive: bool,
    /// Run with `-e` (errexit): a failing line ends the script, as every command of a go-task
    /// Taskfile does.
    pub errexit: bool,
    /// Processes the command started in the background (`cmd &`) and left running when its
    /// shell exits keep running (as under go-task) instead of being killed as stragglers.
    pub keep_background: bool,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Exited with a code.
    Code(i32),
    /// Killed by a signal it did not handle (not by us).
    Signal(i32),
    /// Past its deadline; its group was ended.
    TimedOut,
    /// Ended because the run is shutting down.
    Interrupted,
    /// `sh` could not be started.
    SpawnFailed(String),
}

impl Exit {
    /// The exit code, when it exited with one.
    pub fn code(&self) -> Option<i32> {
        match self {
            Exit::Code(c) => Some(*c),
            _ => None,
        }
    }

    /// `exit code 3`, `timed out`, ...
    pub fn describe(&self) -> String {
        match self {
            Exit::Code(c) => format!("exit code {c}"),
            Exit::Signal(s) => format!("killed by signal {s}"),
            Exit::TimedOut => "timed out".into(),
            Exit::Interrupted => "interrupted".into(),
            Exit::SpawnFailed(e) => format!("could not start: {e}"),
        }
    }
}

/// The result of a command: how it ended and whether stragglers had to be killed.
#[derive(Debug)]
pub struct Finished {
    /// How the shell ended.
    pub exit: Exit,
    /// Processes it left behind in its group were killed.
    pub stragglers_killed: bool,
    /// Processes it left behind in its group were kept running (`keep_background`).
    pub background_kept: bool,
}

/// Runs `cmd`, calling `on_line` for each output line, until it exits, times out, or
/// `shutdown` asks it to stop.
pub async fn run_shell(
    cmd: &ShellCommand,
    shutdown: watch::Receiver<Shutdown>,
    on_line: impl FnMut(Stream, String),
) -> Finished {
    run_shell_reporting(cmd, shutdown, |_| {}, on_line).await
}

/// [`run_shell`], also telling `on_spawn` the new process group's id (so that a run killed with
/// `kill -9` can have its leftover groups ended by the next run).
pub async fn run_shell_reporting(
    cmd: &ShellCommand,
    shutdown: watch::Receiver<Shutdown>,
    on_spawn: impl FnOnce(i32),
    mut on_line: impl FnMut(Stream, String),
) -> Finished {
    run_shell_batched(cmd, shutdown, on_spawn, |stream, lines| {
        for line in lines.as_slice() {
            on_line(stream, line.to_string());
        }
    })
    .await
}

/// [`run_shell_reporting`] handing over the lines read together from one stream at once:
/// `on_lines` gets every complete line the pipe held (a few hundred for a command printing
/// fast) in one buffer, and takes what it keeps out of it.
#[expect(
    clippy::too_many_lines,
    reason = "one select loop over exit, both pipes, shutdown, deadline and kill timer; splitting it would share all its state"
)]
pub async fn run_shell_batched(
    cmd: &ShellCommand,
    mut shutdown: watch::Receiver<Shutdown>,
    on_spawn: impl FnOnce(i32),
    mut on_lines: impl FnMut(Stream, &mut LineBuf),
) -> Finished {
    if let Shutdown::Graceful(_) | Shutdown::Kill = *shutdown.borrow() {
        return Finished { exit: Exit::Interrupted, stragglers_killed: false, background_kept: false };
    }
    let program = match cmd.shell.as_deref() {
        None | Some("sh") => shell(),
        Some(other) => other,
    };
    let args: &[&str] = if cmd.errexit { &["-e", "-c", &cmd.script] } else { &["-c", &cmd.script] };
    // An interactive command stays in opsrun's process group, which owns the terminal: it can
    // read it (a new group would be stopped by SIGTTIN) and gets the operator's Ctrl-C itself.
    // Everything else gets a group of its own, so that its whole tree can be ended, reads
    // /dev/null and writes to pipes.
    let spec =
        Spawn { program, args, dir: &cmd.dir, env: &cmd.env, new_group: !cmd.interactive, piped: !cmd.interactive };
    let mut child = match spawn::spawn(&spec) {
        Ok(c) => c,
        Err(e) => {
            let why = if !cmd.dir.is_dir() {
                format!("directory `{}` does not exist", cmd.dir.display())
            } else if e.kind() == std::io::ErrorKind::NotFound {
                format!("the shell `{program}` was not found")
            } else {
                e.to_string()
            };
            return Finished { exit: Exit::SpawnFailed(why), stragglers_killed: false, background_kept: false };
        }
    };
    let pgid = Some(Target { pid: Pid::from_raw(child.id()), group: !cmd.interactive });
    if let Some(t) = pgid.filter(|t| t.group) {
        on_spawn(t.pid.as_raw());
    }
    // If this future is dropped (a cancelled or abandoned run), the group dies with it.
    let mut guard = GroupGuard(pgid);
    // Both pipes are read in this loop rather than by helper tasks: one command costs no extra
    // task spawns or channels (`Lines::fill` is cancellation-safe).
    let mut stdout = child.stdout.take().map(Lines::new);
    let mut stderr = child.stderr.take().map(Lines::new);

    let deadline = cmd.deadline.map(tokio::time::Instant::from_std);
    let mut ending: Option<Exit> = None;
    let mut kill_at: Option<tokio::time::Instant> = None;
    let mut kill_sent = false;
    let mut exited: Option<std::io::Result<std::process::ExitStatus>> = None;
    // After the shell exits, stragglers are killed and the pipes drained for a bounded time: a
    // process that escaped the group could keep a pipe open forever.
    let mut drain_until: Option<tokio::time::Instant> = None;
    let mut stragglers_killed = false;
    let mut background_kept = false;
    loop {
        if exited.is_some() && stdout.is_none() && stderr.is_none() {
            break;
        }
        // Both pipes closed: the shell has usually exited by now. Asking at once saves waiting
        // for the runtime to report it (a task's latency on a chain's critical path).
        let reaped =
            if exited.is_none() && stdout.is_none() && stderr.is_none() { child.try_wait().transpose() } else { None };
        tokio::select! {
            biased;
            status = wait_child(&mut child, reaped), if exited.is_none() => {
                exited = Some(status);
                // The shell is gone; anything left in its group is a straggler (or the tree we
                // are ending).
                // (An interactive command has no group of its own, and its reaped pid may be
                // reused: nothing to end.)
                let group = pgid.is_some_and(|t| t.group);
                if cmd.keep_background && ending.is_none() {
                    // Left running, as go-task leaves them; they may hold the pipes open for
                    // ever, so the drain ends once the pipes go quiet (see below).
                    background_kept = group && pgid.is_some_and(|t| killpg(t.pid, None).is_ok());
                } else {
                    stragglers_killed = group && signal_group(pgid, Signal::SIGKILL) && ending.is_none();
                }
                guard.0 = None;
                let drain = if background_kept { KEPT_DRAIN_QUIET } else { Duration::from_secs(2) };
                drain_until = Some(tokio::time::Instant::now() + drain);
            }
            more = fill_lines(&mut stdout) => {
                deliver(&mut stdout, more, Stream::Stdout, &mut on_lines);
                if background_kept {
                    drain_until = Some(tokio::time::Instant::now() + KEPT_DRAIN_QUIET);
                }
            }
            more = fill_lines(&mut stderr) => {
                deliver(&mut stderr, more, Stream::Stderr, &mut on_lines);
                if background_kept {
                    drain_until = Some(tokio::time::Instant::now() + KEPT_DRAIN_QUIET);
                }
            }
            changed = shutdown.changed(), if !kill_sent && exited.is_none() => {
                if changed.is_err() {
                    // The run dropped the sender: treat as a kill request.
                    signal_group(pgid, Signal::SIGKILL);
                    ending = Some(Exit::Interrupted);
                    kill_sent = true;
                    continue;
                }
                match *shutdown.borrow() {
                    Shutdown::Running => {}
                    Shutdown::Graceful(sig) => {
                        // Forward the operator's signal once to the whole group; the run
                        // escalates to Kill after its grace period.
                        if ending != Some(Exit::Interrupted) {
                            signal_group(pgid, sig.to_nix());
                        }
                        ending = Some(Exit::Interrupted);
                    }
                    Shutdown::Kill => {
                        signal_group(pgid, Signal::SIGKILL);
                        ending = Some(Exit::Interrupted);
                        kill_at = None;
                        kill_sent = true;
                    }
                }
            }
            () = sleep_until_opt(deadline), if ending.is_none() && exited.is_none() => {
                signal_group(pgid, Signal::SIGTERM);
                ending = Some(Exit::TimedOut);
                kill_at = Some(tokio::time::Instant::now() + cmd.grace);
            }
            () = sleep_until_opt(kill_at), if exited.is_none() => {
                signal_group(pgid, Signal::SIGKILL);
                kill_at = None;
                kill_sent = true;
            }
            () = sleep_until_opt(drain_until) => break,
        }
    }
    if background_kept {
        // What the kept processes print from now on is read and dropped while opsrun runs (a
        // closed pipe would kill them with SIGPIPE at their next line).
        keep_reading(stdout.take());
        keep_reading(stderr.take());
    }
    let status = exited.unwrap_or_else(|| Err(std::io::Error::other("the command's output never ended")));
    let exit = match (ending, status) {
        (Some(e), _) => e,
        (None, Ok(s)) => {
            use std::os::unix::process::ExitStatusExt;
            match (s.code(), s.signal()) {
                (Some(c), _) => Exit::Code(c),
                (None, Some(sig)) => Exit::Signal(sig),
                (None, None) => Exit::Code(-1),
            }
        }
        (None, Err(e)) => Exit::SpawnFailed(e.to_string()),
    };
    Finished { exit, stragglers_killed, background_kept }
}

/// The shell's exit status: `reaped` when it was already collected, else once it exits.
async fn wait_child(
    child: &mut spawn::Child,
    reaped: Option<std::io::Result<std::process::ExitStatus>>,
) -> std::io::Result<std::process::ExitStatus> {
    match reaped {
        Some(status) => status,
        None => child.wait().await,
    }
}

/// How long the pipes of a command whose background processes are kept must stay quiet, after
/// its shell exited, before the command counts as finished: what the shell itself printed is
/// already in the pipe and arrives well within it.
const KEPT_DRAIN_QUIET: Duration = Duration::from_millis(50);

/// Reads and drops a kept background process's output until it ends (or the runtime does).
fn keep_reading<R: AsyncRead + Unpin + Send + 'static>(lines: Option<Lines<R>>) {
    if let Some(mut lines) = lines
        && let Ok(runtime) = tokio::runtime::Handle::try_current()
    {
        runtime.spawn(async move {
            while lines.fill().await {
                lines.ready.clear();
            }
        });
    }
}

/// What to signal: a command's process group, or (interactive commands) its shell.
#[derive(Debug, Clone, Copy)]
struct Target {
    pid: Pid,
    group: bool,
}

/// Kills a command's process group when dropped while the command still runs.
struct GroupGuard(Option<Target>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        signal_group(self.0, Signal::SIGKILL);
    }
}

/// Sends `sig` to a command's process group (or its shell). Returns true if it still had
/// members.
fn signal_group(target: Option<Target>, sig: Signal) -> bool {
    target.is_some_and(|t| if t.group { killpg(t.pid, sig).is_ok() } else { kill(t.pid, sig).is_ok() })
}

/// Sleeps until `at`, or forever when there is no deadline (a `select!` branch that never fires).
pub async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The longest line kept whole: the rest of a longer line is dropped (and counted), so a
/// command printing 50 MB without a newline costs 64 KiB of memory, not 50 MB in every event,
/// log and state record it reaches.
pub const MAX_LINE: usize = 64 * 1024;

/// How much of a pipe is read at once: a few hundred lines of typical output per wake-up, and
/// 32 KiB per running command (two pipes) however many run.
const READ_CHUNK: usize = 16 * 1024;

/// A pipe read line by line, each line bounded by [`MAX_LINE`].
struct Lines<R> {
    reader: R,
    /// What the last read brought, [`READ_CHUNK`] bytes at most: read into the vector's spare
    /// capacity, never zeroed first (a command that prints nothing costs no 16 KiB memset).
    chunk: Vec<u8>,
    /// The line read so far (kept across cancelled reads: [`Lines::fill`] is cancellation-safe,
    /// as a cancelled read reads nothing).
    partial: Partial,
    /// Complete lines read by the last [`Lines::fill`], for the caller to take.
    ready: LineBuf,
}

/// A line being read, bounded by [`MAX_LINE`].
#[derive(Default)]
struct Partial {
    line: Vec<u8>,
    /// Bytes of the line beyond [`MAX_LINE`], dropped.
    dropped: usize,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    fn new(reader: R) -> Self {
        Self { reader, chunk: Vec::new(), partial: Partial::default(), ready: LineBuf::new() }
    }

    /// Waits for the pipe to have something, then moves every complete line it holds into
    /// `ready` (without line endings) in one go, rather than one wake-up per line. At the end
    /// of the pipe, an unterminated last line is moved too, and the result is `false`.
    async fn fill(&mut self) -> bool {
        let Self { reader, chunk, partial, ready } = self;
        chunk.clear();
        chunk.reserve(READ_CHUNK);
        let available = match reader.read_buf(chunk).await {
            Ok(read) if read > 0 => &chunk[..read],
            _ => {
                if !partial.is_empty() {
                    ready.push(&partial.take());
                }
                return false;
            }
        };
        let mut rest = available;
        // The first line may end one begun by an earlier read.
        if !partial.is_empty() {
            let Some(end) = memchr::memchr(b'\n', rest) else {
                partial.append(rest);
                return true;
            };
            partial.append(&rest[..end]);
            ready.push(&partial.take());
            rest = &rest[end + 1..];
        }
        // Every complete line left (each shorter than the read, so within MAX_LINE): copied at
        // once when they are valid UTF-8 without carriage returns, the common case.
        if let Some(last) = memchr::memrchr(b'\n', rest) {
            let whole = &rest[..last];
            match std::str::from_utf8(whole) {
                Ok(text) if memchr::memchr(b'\r', whole).is_none() => ready.push(text),
                _ => {
                    for line in whole.split(|&b| b == b'\n') {
                        ready.push(&String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)));
                    }
                }
            }
            rest = &rest[last + 1..];
        }
        partial.append(rest);
        true
    }
}

impl Partial {
    fn is_empty(&self) -> bool {
        self.line.is_empty() && self.dropped == 0
    }

    /// Adds a piece of the line, keeping at most [`MAX_LINE`] bytes of it.
    fn append(&mut self, piece: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.line.len()).min(piece.len());
        self.line.extend_from_slice(&piece[..room]);
        self.dropped += piece.len() - room;
    }

    /// The line without its line ending, and a note of what was dropped; starts the next.
    fn take(&mut self) -> String {
        let mut bytes = std::mem::take(&mut self.line);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let mut text = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let dropped = std::mem::take(&mut self.dropped);
        if dropped > 0 {
            text.push_str(&format!(" … [{dropped} more bytes of this line not kept: lines are cut at 64 KiB]"));
        }
        text
    }
}

/// Reads the next chunk of a pipe into its `ready` lines; `false` at its end. Pending forever
/// once the pipe is gone, so the `select!` branch goes quiet.
async fn fill_lines<R: AsyncRead + Unpin>(lines: &mut Option<Lines<R>>) -> bool {
    let Some(l) = lines.as_mut() else { return std::future::pending().await };
    l.fill().await
}

/// Hands the lines read by the last [`fill_lines`] to `on_lines`; drops the pipe at its end.
fn deliver<R>(
    lines: &mut Option<Lines<R>>,
    more: bool,
    stream: Stream,
    on_lines: &mut impl FnMut(Stream, &mut LineBuf),
) {
    if let Some(l) = lines.as_mut()
        && !l.ready.is_empty()
    {
        on_lines(stream, &mut l.ready);
        l.ready.clear();
    }
    if !more {
        *lines = None;
    }
}

/// `/bin/sh` when it exists (no `PATH` search per command), else `sh` from `PATH`.
fn shell() -> &'static str {
    static SHELL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SHELL.get_or_init(|| if std::path::Path::new("/bin/sh").exists() { "/bin/sh" } else { "sh" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(script: &str) -> ShellCommand {
        ShellCommand {
            script: script.into(),
            dir: std::env::temp_dir(),
            env: vec![],
            deadline: None,
            grace: Duration::from_millis(200),
            shell: None,
            interactive: false,
            errexit: false,
            keep_background: false,
        }
    }

    #[tokio::test]
    async fn streams_lines_and_exit_code() {
        let (_tx, rx) = watch::channel(Shutdown::Running);
        let mut lines = Vec::new();
        let f = run_shell(&cmd("echo one; echo two >&2; exit 3"), rx, |s, l| lines.push((s, l))).await;
        assert_eq!(f.exit, Exit::Code(3));
        lines.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(lines, [(Stream::Stdout, "one".to_string()), (Stream::Stderr, "two".to_string())]);
    }

    #[tokio::test]
    async fn timeout_ends_the_whole_group() {
        let (_tx, rx) = watch::channel(Shutdown::Running);
        let mut c = cmd("sleep 30 & sleep 30 & echo started; wait");
        c.deadline = Some(Instant::now() + Duration::from_millis(300));
        let f = run_shell(&c, rx, |_, _| {}).await;
        assert_eq!(f.exit, Exit::TimedOut);
    }

    #[tokio::test]
    async fn stragglers_are_killed_and_reported() {
        let (_tx, rx) = watch::channel(Shutdown::Running);
        let f = run_shell(&cmd("sleep 30 >/dev/null 2>&1 &"), rx, |_, _| {}).await;
        assert_eq!(f.exit, Exit::Code(0));
        assert!(f.stragglers_killed);
    }

    #[tokio::test]
    async fn kept_background_processes_survive_the_command() {
        let (_tx, rx) = watch::channel(Shutdown::Running);
        let marker = tempfile::NamedTempFile::new().unwrap();
        let mut c = cmd(&format!("sleep 30 & echo $! > {}; echo started", marker.path().display()));
        c.keep_background = true;
        let started = Instant::now();
        let mut lines = Vec::new();
        let f = run_shell(&c, rx, |_, line| lines.push(line)).await;
        assert_eq!(f.exit, Exit::Code(0));
        assert!(f.background_kept && !f.stragglers_killed, "{f:?}");
        assert_eq!(lines, ["started"], "the shell's own output is read before the command ends");
        assert!(started.elapsed() < Duration::from_secs(2), "the open pipes do not hold the command up");
        let pid = Pid::from_raw(std::fs::read_to_string(marker.path()).unwrap().trim().parse().unwrap());
        assert!(kill(pid, None).is_ok() && !is_zombie(pid.as_raw()), "the background process still runs");
        let _ = kill(pid, Signal::SIGKILL);
    }

    #[tokio::test]
    async fn dropping_the_future_kills_the_group() {
        let (_tx, rx) = watch::channel(Shutdown::Running);
        let marker = tempfile::NamedTempFile::new().unwrap();
        let script = format!("sleep 30 & echo $! > {}; wait", marker.path().display());
        let c = cmd(&script);
        let run = run_shell(&c, rx, |_, _| {});
        // Long enough for the shell to start its child, then the future is dropped.
        let _ = tokio::time::timeout(Duration::from_millis(500), run).await;
        let pid: i32 = std::fs::read_to_string(marker.path()).unwrap().trim().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        // The child is gone (or a zombie waiting for a reaper that is not us).
        while nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok() && !is_zombie(pid) {
            assert!(Instant::now() < deadline, "the background child survived the dropped run");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn is_zombie(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')))
    }

    #[tokio::test]
    async fn an_interactive_command_stays_in_our_group_and_still_times_out() {
        let (_tx, rx) = watch::channel(Shutdown::Running);
        // Field 5 of /proc/PID/stat is the process group (no `ps` needed).
        let mut c = cmd(
            "test \"$(cut -d' ' -f5 /proc/$$/stat)\" = \"$(cut -d' ' -f5 /proc/$PPID/stat)\" || exit 7; exec sleep 30",
        );
        c.interactive = true;
        c.deadline = Some(Instant::now() + Duration::from_millis(500));
        let f = run_shell(&c, rx, |_, _| {}).await;
        assert_eq!(f.exit, Exit::TimedOut, "same group as opsrun (else exit 7), ended at its deadline");
    }

    #[tokio::test]
    async fn a_line_without_end_is_cut_not_kept_whole() {
        let (_tx, rx) = watch::channel(Shutdown::Running);
        // 5 MB without a newline, then a normal line.
        let script = "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo after";
        let mut lines = Vec::new();
        let f = run_shell(&cmd(script), rx, |_, l| lines.push(l)).await;
        assert_eq!(f.exit, Exit::Code(0));
        assert_eq!(lines.len(), 2);
        assert!(lines[0].len() < MAX_LINE + 200, "{}", lines[0].len());
        assert!(lines[0].ends_with("lines are cut at 64 KiB]"), "{}", &lines[0][MAX_LINE..]);
        assert!(lines[0].contains(&format!("[{} more bytes", 5_000_000 - MAX_LINE)));
        assert_eq!(lines[1], "after");
    }

    #[tokio::test]
    async fn missing_directory_is_a_spawn_failure() {
        let (_tx, rx) = watch::channel(Shutdown::Running);
        let mut c = cmd("true");
        c.dir = PathBuf::from("/nonexistent/opsrun");
        let f = run_shell(&c, rx, |_, _| {}).await;
        assert!(matches!(f.exit, Exit::SpawnFailed(ref e) if e.contains("does not exist")));
    }

    /// Hands out its chunks one read at a time, as a pipe does.
    struct Chunks(std::collections::VecDeque<Vec<u8>>);

    impl AsyncRead for Chunks {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if let Some(chunk) = self.0.pop_front() {
                buf.put_slice(&chunk);
            }
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// Whole lines in one chunk go over at once, the rest one by one: what is read is the same.
    #[tokio::test]
    async fn lines_are_the_same_however_the_reads_cut_them() {
        // (An empty read is the end of the pipe.)
        let chunks: [&[u8]; 4] = [b"one\ntwo\n\nthr", b"ee\r\nfour\r\nfive\n", b"bad \xff byte\nsix", b"\nseven"];
        let mut lines = Lines::new(Chunks(chunks.iter().map(|c| c.to_vec()).collect()));
        let mut read = Vec::new();
        while lines.fill().await {
            read.extend(lines.ready.as_slice().iter().map(str::to_string));
            lines.ready.clear();
        }
        read.extend(lines.ready.as_slice().iter().map(str::to_string));
        assert_eq!(read, ["one", "two", "", "three", "four", "five", "bad \u{fffd} byte", "six", "seven"]);
    }
}
