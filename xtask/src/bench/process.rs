//! One timed run of a whole process, as a user's shell would see it: stdin on `/dev/null`, stdout
//! and stderr each on a pipe that the harness reads and discards (keeping only the last few KiB,
//! for checks and error messages), and the process reaped with `wait4(2)`, which also gives its
//! CPU time and peak resident set.
//!
//! The wall time runs from just before the spawn to the return of `wait4`, which the harness
//! calls once both pipes reached end-of-file; for the programs timed here that is the moment the
//! process exits, since none leaves anything running that holds the pipes.

use std::io;
use std::os::fd::{AsRawFd as _, RawFd};
use std::os::unix::process::ExitStatusExt as _;
use std::process::{ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How much of each stream's end is kept.
const TAIL_BYTES: usize = 16 * 1024;
/// Bytes read per `read(2)`: what a pipe holds by default, so one read empties it.
const READ_BYTES: usize = 64 * 1024;

/// What one run cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Usage {
    /// From spawn to reaping.
    pub(crate) wall: Duration,
    /// User plus system CPU time of the process and of every descendant it waited for.
    pub(crate) cpu: Duration,
    /// `ru_maxrss`: the largest resident set of the process or of any descendant it waited for.
    pub(crate) max_rss: PeakRss,
}

/// A peak resident set from `ru_maxrss`, in KiB (Linux counts kilobytes).
///
/// A child starts out with the peak of the process that spawned it: at `execve` Linux records
/// the high-water mark of the address space being replaced, which for a child started with
/// `posix_spawn` or `vfork` is the harness's own (and for a `fork` child a copy of it). So a
/// figure that is not above the harness's peak at spawn time only says "at most this much".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PeakRss {
    pub(crate) kib: u64,
    /// The figure is the harness's peak, an upper bound of the child's.
    pub(crate) at_most: bool,
}

impl PeakRss {
    /// What `wait4` reported, given the harness's own peak when it spawned the child.
    pub(crate) fn reported(kib: u64, harness_kib: u64) -> Self {
        Self { kib, at_most: kib <= harness_kib }
    }
}

/// A run that exited 0.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) usage: Usage,
    /// The last [`TAIL_BYTES`] of stdout and of stderr, lossily decoded.
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// Everything the process wrote to stdout, in bytes.
    pub(crate) stdout_bytes: u64,
}

/// Runs `command` to its end with drained pipes; a non-zero exit is an error that quotes the
/// end of stderr.
pub(crate) fn run(command: &mut Command) -> Result<Finished, String> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Without /proc the harness's peak is unknown, and every child's figure only an upper bound.
    let harness_kib = own_peak_rss_kib().unwrap_or(u64::MAX);
    let start = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("failed to start: {e}"))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("no pipes to the child".into());
    };
    let drained = drain(stdout, stderr);
    let reaped = wait4(child.id());
    let wall = start.elapsed();
    let (mut out, mut err) = drained.map_err(|e| format!("reading its output: {e}"))?;
    let (status, usage) = reaped.map_err(|e| format!("wait4: {e}"))?;
    let finished = Finished {
        usage: Usage { wall, cpu: usage.cpu, max_rss: PeakRss::reported(usage.max_rss_kib, harness_kib) },
        stdout: out.text(),
        stderr: err.text(),
        stdout_bytes: out.total,
    };
    if status.success() {
        Ok(finished)
    } else {
        let last: Vec<&str> = finished.stderr.lines().rev().take(3).collect();
        let last: Vec<&str> = last.into_iter().rev().collect();
        Err(format!("failed ({status}); end of stderr: {:?}", last.join(" / ")))
    }
}

/// The end of a stream: the last [`TAIL_BYTES`] (at least) of what was pushed.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    bytes: Vec<u8>,
    /// Everything pushed, in bytes.
    total: u64,
}

impl Tail {
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        let chunk = &chunk[chunk.len().saturating_sub(TAIL_BYTES)..];
        self.bytes.extend_from_slice(chunk);
        // Trim only once twice the size is reached, so that trimming costs O(1) per byte.
        if self.bytes.len() > 2 * TAIL_BYTES {
            self.bytes.drain(..self.bytes.len() - TAIL_BYTES);
        }
    }

    /// The kept end, lossily decoded (a character cut at the start shows as U+FFFD).
    pub(crate) fn text(&mut self) -> String {
        let start = self.bytes.len().saturating_sub(TAIL_BYTES);
        String::from_utf8_lossy(&self.bytes[start..]).into_owned()
    }
}

/// Reads both pipes until both are at end-of-file, from this thread: `poll(2)` says which one
/// has data, so the child never blocks on a full pipe and no reader thread is started per run.
fn drain(mut stdout: ChildStdout, mut stderr: ChildStderr) -> io::Result<(Tail, Tail)> {
    let fds = [stdout.as_raw_fd(), stderr.as_raw_fd()];
    let mut tails = [Tail::default(), Tail::default()];
    let mut open = [true, true];
    let mut buffer = vec![0_u8; READ_BYTES];
    while open.iter().any(|&o| o) {
        let ready = poll_readable([open[0].then_some(fds[0]), open[1].then_some(fds[1])])?;
        for index in (0..2).filter(|&i| ready[i]) {
            let stream: &mut dyn io::Read = if index == 0 { &mut stdout } else { &mut stderr };
            match stream.read(&mut buffer) {
                Ok(0) => open[index] = false,
                Ok(read) => tails[index].push(&buffer[..read]),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
    let [out, err] = tails;
    Ok((out, err))
}

/// Which of the given descriptors (`None`: skip) can be read without blocking, end-of-file and
/// errors included; waits until at least one can.
#[expect(unsafe_code, reason = "poll(2) through libc: std has no safe way to wait on two pipes at once")]
fn poll_readable(fds: [Option<RawFd>; 2]) -> io::Result<[bool; 2]> {
    let mut pollfds = fds.map(|fd| libc::pollfd { fd: fd.unwrap_or(-1), events: libc::POLLIN, revents: 0 });
    loop {
        // SAFETY: `pollfds` is a valid, writable array of `pollfds.len()` pollfd structs for the
        // duration of the call; a negative fd is ignored by poll(2).
        let result = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, -1) };
        if result >= 0 {
            return Ok(pollfds.map(|p| p.fd >= 0 && p.revents != 0));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// What `wait4` reports besides the exit status.
struct Rusage {
    cpu: Duration,
    max_rss_kib: u64,
}

/// Reaps the child `pid` with `wait4(2)`: its exit status and resource use.
#[expect(unsafe_code, reason = "wait4(2) through libc: std reaps with waitpid and drops the rusage")]
fn wait4(pid: u32) -> io::Result<(ExitStatus, Rusage)> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the types wait4(2) expects.
        let reaped = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
        if reaped == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if reaped != -1 || error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let cpu = timeval(usage.ru_utime) + timeval(usage.ru_stime);
    let max_rss_kib = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    Ok((ExitStatus::from_raw(status), Rusage { cpu, max_rss_kib }))
}

/// The peak resident set of the harness's own address space (`VmHWM`), in KiB: what the kernel
/// hands on to a child at its `execve`. The peak is first reset to the current resident set
/// (`5` into `/proc/self/clear_refs`, Linux 4.0 and later), so that what the harness once needed
/// to generate a large workload does not hide a child's smaller peak; where that fails, the
/// figure is only higher and [`PeakRss`] says "at most". (`getrusage(RUSAGE_SELF)` would not do:
/// its `ru_maxrss` also counts what cargo, which started the harness, handed on to it.)
fn own_peak_rss_kib() -> io::Result<u64> {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let status = std::fs::read_to_string("/proc/self/status")?;
    vm_hwm_kib(&status).ok_or_else(|| io::Error::other("no VmHWM line in /proc/self/status"))
}

/// The `VmHWM:   1234 kB` line of `/proc/PID/status`.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}

fn timeval(time: libc::timeval) -> Duration {
    let secs = u64::try_from(time.tv_sec).unwrap_or(0);
    let micros = u32::try_from(time.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end() {
        let mut tail = Tail::default();
        for _ in 0..10_000 {
            tail.push(b"0123456789");
        }
        tail.push(b"end");
        let text = tail.text();
        assert_eq!(text.len(), TAIL_BYTES);
        assert!(text.ends_with("789end"));
        assert_eq!(tail.total, 100_003);
        let mut big = Tail::default();
        big.push(&vec![b'x'; 3 * TAIL_BYTES]);
        assert_eq!(big.text().len(), TAIL_BYTES);
        let mut small = Tail::default();
        small.push(b"a\n");
        assert_eq!(small.text(), "a\n");
    }

    #[test]
    fn runs_drain_both_pipes_and_report_usage() {
        // More than a pipe holds on each stream: a harness that read only one would deadlock.
        let script = "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; echo out; echo err >&2";
        let finished = run(Command::new("/bin/sh").args(["-c", script])).expect("the script succeeds");
        assert!(finished.stdout.ends_with("out\n"));
        assert!(finished.stderr.ends_with("err\n"));
        assert_eq!(finished.stdout_bytes, 300_004);
        assert!(finished.usage.max_rss.kib > 0);
        let failed = run(Command::new("/bin/sh").args(["-c", "echo why >&2; exit 3"])).expect_err("exit 3");
        assert!(failed.contains("why"), "{failed}");
        assert!(run(&mut Command::new("/nonexistent/program")).is_err());
    }

    #[test]
    fn a_peak_not_above_the_harness_is_an_upper_bound() {
        assert_eq!(PeakRss::reported(5_000, 4_000), PeakRss { kib: 5_000, at_most: false });
        assert_eq!(PeakRss::reported(4_000, 4_000), PeakRss { kib: 4_000, at_most: true });
        assert!(PeakRss { kib: 5_000, at_most: false } > PeakRss { kib: 4_000, at_most: true });
    }

    #[test]
    fn vm_hwm_from_proc_status() {
        assert_eq!(vm_hwm_kib("Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    4321 kB\nVmRSS:\t 4000 kB\n"), Some(4321));
        assert_eq!(vm_hwm_kib("Name:\tx\n"), None);
        assert!(own_peak_rss_kib().is_ok_and(|kib| kib > 0));
    }

    #[test]
    fn timevals_as_durations() {
        let time = libc::timeval { tv_sec: 2, tv_usec: 500_000 };
        assert_eq!(timeval(time), Duration::from_millis(2500));
    }
}
