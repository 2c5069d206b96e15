//! Starting a command's shell and waiting for it: the part of the runner that talks to the OS.
//!
//! On Linux a command is started with `posix_spawn` directly: the argument and environment
//! arrays are built without copying opsrun's whole environment per command (the environment a
//! command gets is built once per distinct set of added variables, see `env::block`), stdin is
//! one `/dev/null` descriptor opened once per process, the working directory is set with
//! `posix_spawn_file_actions_addchdir_np`, and the shell's exit is watched through a pidfd
//! registered with the runtime (no `SIGCHLD` handler, no reaper queue). Elsewhere the shell is
//! started by `std::process::Command`; both then read the same pipes and wait the same way
//! ([`Child`]). The environment is opsrun's own as it was when the first command started, with
//! each command's variables added: a program embedding opsrun sets variables for its commands
//! through [`crate::ShellCommand::env`], not `std::env::set_var` once commands have run.
//!
//! This is the only module of the workspace with `unsafe` code: the FFI calls above, each with
//! the reason it is sound next to it.

#[cfg(target_os = "linux")]
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::OwnedFd;
#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;

use tokio::net::unix::pipe;

/// What to start: `program args...` in `dir`, with `env` added to opsrun's environment.
pub(crate) struct Spawn<'a> {
    /// `/bin/sh`, or a shell found on `PATH` (the command's own `PATH` when it sets one).
    pub(crate) program: &'a str,
    pub(crate) args: &'a [&'a str],
    pub(crate) dir: &'a Path,
    pub(crate) env: &'a [(String, String)],
    /// A process group of its own (everything but interactive commands).
    pub(crate) new_group: bool,
    /// stdin from `/dev/null`, stdout and stderr to pipes; else opsrun's own three.
    pub(crate) piped: bool,
}

/// A started shell: its pid, the read ends of its pipes, and its exit once reaped.
pub(crate) struct Child {
    pid: i32,
    pub(crate) stdout: Option<pipe::Receiver>,
    pub(crate) stderr: Option<pipe::Receiver>,
    exit: Exit,
    status: Option<ExitStatus>,
}

/// How the shell's exit is noticed.
enum Exit {
    /// Its pidfd turns readable when it exits (Linux 5.3+).
    #[cfg(target_os = "linux")]
    Pidfd(tokio::io::unix::AsyncFd<OwnedFd>),
    /// `SIGCHLD`, then `waitpid` (no pidfd: another Unix, an old kernel).
    Signal(Option<tokio::signal::unix::Signal>),
}

impl Child {
    pub(crate) fn id(&self) -> i32 {
        self.pid
    }

    /// The exit status when the shell has exited (reaping it), else `None`.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = reap(self.pid, false)?;
        }
        Ok(self.status)
    }

    /// Waits for the shell to exit and reaps it. Cancellation-safe.
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        loop {
            match &mut self.exit {
                #[cfg(target_os = "linux")]
                Exit::Pidfd(fd) => {
                    let mut ready = fd.readable().await?;
                    if let Some(status) = reap(self.pid, false)? {
                        self.status = Some(status);
                        return Ok(status);
                    }
                    ready.clear_ready();
                }
                Exit::Signal(signal) => {
                    // The handler is in place before the first look, so an exit between the
                    // look and the wait still wakes us.
                    if signal.is_none() {
                        *signal = Some(tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())?);
                    }
                    if let Some(status) = reap(self.pid, false)? {
                        self.status = Some(status);
                        return Ok(status);
                    }
                    if let Some(signal) = signal.as_mut() {
                        signal.recv().await;
                    }
                }
            }
        }
    }
}

impl Drop for Child {
    /// A shell dropped before it was reaped (an abandoned run, whose group the runner has
    /// already killed) is reaped by a thread of its own, so it never stays a zombie.
    fn drop(&mut self) {
        if self.status.is_none() && matches!(reap(self.pid, false), Ok(None)) {
            let pid = self.pid;
            let _ = std::thread::Builder::new().name("opsrun-reap".into()).spawn(move || reap(pid, true));
        }
    }
}

/// Starts `spec`. An error is the OS's reason (a missing directory or shell, a NUL byte in the
/// script or a variable).
pub(crate) fn spawn(spec: &Spawn<'_>) -> io::Result<Child> {
    let (pid, stdout, stderr) = os::spawn(spec)?;
    let mut child = Child { pid, stdout: None, stderr: None, exit: Exit::Signal(None), status: None };
    let watched = (|| {
        child.stdout = stdout.map(receiver).transpose()?;
        child.stderr = stderr.map(receiver).transpose()?;
        #[cfg(target_os = "linux")]
        if let Some(fd) = os::pidfd_open(pid) {
            child.exit = Exit::Pidfd(os::watch(fd)?);
        }
        Ok(())
    })();
    if let Err(e) = watched {
        // Started but it cannot be followed (out of descriptors, say): it is ended rather than
        // left running unseen, and reaped when `child` drops.
        let target = nix::unistd::Pid::from_raw(pid);
        let _ = if spec.new_group {
            nix::sys::signal::killpg(target, nix::sys::signal::Signal::SIGKILL)
        } else {
            nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL)
        };
        return Err(e);
    }
    Ok(child)
}

/// The read end of a pipe (already non-blocking) as a runtime pipe.
fn receiver(fd: OwnedFd) -> io::Result<pipe::Receiver> {
    pipe::Receiver::from_owned_fd_unchecked(fd)
}

/// `waitpid(pid)`, blocking or not: the exit status once the process has exited.
#[expect(unsafe_code, reason = "waitpid is an FFI call; it writes only the status integer we pass")]
fn reap(pid: i32, block: bool) -> io::Result<Option<ExitStatus>> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid, writable c_int for the call's duration.
        let reaped = unsafe { libc::waitpid(pid, &raw mut status, if block { 0 } else { libc::WNOHANG }) };
        match reaped {
            0 => return Ok(None),
            -1 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            _ => return Ok(Some(ExitStatus::from_raw(status))),
        }
    }
}

#[cfg(target_os = "linux")]
/// A pipe whose read end (ours) is non-blocking and whose write end (the child's) is not; both
/// close on exec. Returns (read, write).
#[expect(unsafe_code, reason = "pipe2 and fcntl are FFI calls on descriptors we own")]
fn pipe_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded: both descriptors are open and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: `read` is an open descriptor; F_SETFL takes an int flag set.
    if unsafe { libc::fcntl(read.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((read, write))
}

#[cfg(target_os = "linux")]
/// `bytes` as a C string, or the error `std::process::Command` gives for a NUL byte.
fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a nul byte (\\0) in the script, its directory or an environment variable: a command line cannot hold one",
        )
    })
}

#[cfg(target_os = "linux")]
/// `PATH` as the command sees it: its own when it sets one, else opsrun's.
fn path_of<'a>(env: &'a [(String, String)], base: &'a env::Base) -> Option<&'a OsStr> {
    env.iter().rev().find(|(k, _)| k == "PATH").map(|(_, v)| OsStr::new(v.as_str())).or_else(|| base.path())
}

#[cfg(target_os = "linux")]
mod os {
    //! `posix_spawn` with everything prepared in the parent.

    use std::ffi::c_char;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::sync::OnceLock;

    use super::{Spawn, c_string, env, path_of, pipe_pair};

    /// Starts the command; returns its pid and the read ends of its stdout and stderr pipes.
    #[expect(unsafe_code, reason = "posix_spawn and its attribute and file-action calls are FFI")]
    pub(super) fn spawn(spec: &Spawn<'_>) -> io::Result<(i32, Option<OwnedFd>, Option<OwnedFd>)> {
        let base = env::base();
        let program = env::resolve(spec.program, path_of(spec.env, base))?;
        let envp = env::block(spec.env)?;
        let mut argv_owned = Vec::with_capacity(spec.args.len() + 1);
        argv_owned.push(c_string(spec.program.as_bytes())?);
        for arg in spec.args {
            argv_owned.push(c_string(arg.as_bytes())?);
        }
        let mut argv: Vec<*mut c_char> = argv_owned.iter().map(|a| a.as_ptr().cast_mut()).collect();
        argv.push(std::ptr::null_mut());
        let dir = c_string(spec.dir.as_os_str().as_bytes())?;
        let pipes = if spec.piped { Some((pipe_pair()?, pipe_pair()?, dev_null()?)) } else { None };

        let mut attr = Attr::new()?;
        let mut actions = FileActions::new()?;
        // SAFETY (the block): `attr` and `actions` were initialised by their constructors and are
        // destroyed by their Drop; every pointer passed (sigsets, the directory, argv, envp,
        // the program) points to memory that outlives the posix_spawn call; the descriptors
        // passed to adddup2 are open (owned by `pipes` or the static /dev/null).
        unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut empty);
            check(libc::posix_spawnattr_setsigmask(&raw mut attr.0, &raw const empty))?;
            // Rust ignores SIGPIPE; a command gets the default back (a shell pipeline relies
            // on it), as std::process::Command does.
            let mut default: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut default);
            libc::sigaddset(&raw mut default, libc::SIGPIPE);
            check(libc::posix_spawnattr_setsigdefault(&raw mut attr.0, &raw const default))?;
            let mut flags = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
            if spec.new_group {
                flags |= libc::POSIX_SPAWN_SETPGROUP;
                check(libc::posix_spawnattr_setpgroup(&raw mut attr.0, 0))?;
            }
            #[expect(clippy::cast_possible_truncation, reason = "the flags are small constants that fit a c_short")]
            check(libc::posix_spawnattr_setflags(&raw mut attr.0, flags as libc::c_short))?;
            check(libc::posix_spawn_file_actions_addchdir_np(&raw mut actions.0, dir.as_ptr()))?;
            if let Some(((_, out_w), (_, err_w), null)) = &pipes {
                check(libc::posix_spawn_file_actions_adddup2(&raw mut actions.0, null.as_raw_fd(), 0))?;
                check(libc::posix_spawn_file_actions_adddup2(&raw mut actions.0, out_w.as_raw_fd(), 1))?;
                check(libc::posix_spawn_file_actions_adddup2(&raw mut actions.0, err_w.as_raw_fd(), 2))?;
            }
            let mut pid: libc::pid_t = 0;
            check(libc::posix_spawn(
                &raw mut pid,
                program.as_ptr(),
                &raw const actions.0,
                &raw const attr.0,
                argv.as_ptr(),
                envp.as_ptr(),
            ))?;
            // The write ends are the child's now; ours close here.
            Ok(match pipes {
                Some(((out_r, _), (err_r, _), _)) => (pid, Some(out_r), Some(err_r)),
                None => (pid, None, None),
            })
        }
    }

    /// A pidfd for `pid` (readable once it exits), or `None` where the kernel has none.
    #[expect(unsafe_code, reason = "pidfd_open has no libc wrapper in glibc 2.36; it is a raw syscall")]
    pub(super) fn pidfd_open(pid: i32) -> Option<OwnedFd> {
        // SAFETY: pidfd_open(pid, flags) takes two integers and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
        // SAFETY: the syscall returned a new descriptor that nothing else owns.
        Some(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// `fd` registered with the runtime for readability.
    #[expect(
        unsafe_code,
        reason = "AsyncFd::register_with_interest is unsafe: the descriptor must stay open while registered"
    )]
    pub(super) fn watch(fd: OwnedFd) -> io::Result<tokio::io::unix::AsyncFd<OwnedFd>> {
        // SAFETY: the AsyncFd owns `fd`; it is neither closed nor replaced while registered
        // (it is closed only when the AsyncFd drops, after deregistering).
        Ok(unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }?)
    }

    /// `/dev/null`, opened once per process (close-on-exec; dup2 gives each child its own).
    fn dev_null() -> io::Result<&'static OwnedFd> {
        static NULL: OnceLock<Result<OwnedFd, String>> = OnceLock::new();
        NULL.get_or_init(|| {
            std::fs::File::open("/dev/null").map(OwnedFd::from).map_err(|e| format!("cannot open /dev/null: {e}"))
        })
        .as_ref()
        .map_err(|e| io::Error::other(e.clone()))
    }

    /// A `posix_spawn` return code as a result.
    fn check(code: libc::c_int) -> io::Result<()> {
        if code == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(code)) }
    }

    struct Attr(libc::posix_spawnattr_t);

    impl Attr {
        #[expect(unsafe_code, reason = "posix_spawnattr_init is FFI")]
        fn new() -> io::Result<Self> {
            // SAFETY: a zeroed posix_spawnattr_t is valid storage for posix_spawnattr_init.
            let mut attr = Self(unsafe { std::mem::zeroed() });
            // SAFETY: `attr.0` is writable storage of the right type.
            check(unsafe { libc::posix_spawnattr_init(&raw mut attr.0) })?;
            Ok(attr)
        }
    }

    impl Drop for Attr {
        #[expect(unsafe_code, reason = "posix_spawnattr_destroy is FFI")]
        fn drop(&mut self) {
            // SAFETY: initialised by `new`, destroyed once.
            unsafe { libc::posix_spawnattr_destroy(&raw mut self.0) };
        }
    }

    struct FileActions(libc::posix_spawn_file_actions_t);

    impl FileActions {
        #[expect(unsafe_code, reason = "posix_spawn_file_actions_init is FFI")]
        fn new() -> io::Result<Self> {
            // SAFETY: zeroed storage of the right type, initialised by the call.
            let mut actions = Self(unsafe { std::mem::zeroed() });
            // SAFETY: `actions.0` is writable storage of the right type.
            check(unsafe { libc::posix_spawn_file_actions_init(&raw mut actions.0) })?;
            Ok(actions)
        }
    }

    impl Drop for FileActions {
        #[expect(unsafe_code, reason = "posix_spawn_file_actions_destroy is FFI")]
        fn drop(&mut self) {
            // SAFETY: initialised by `new`, destroyed once.
            unsafe { libc::posix_spawn_file_actions_destroy(&raw mut self.0) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    //! `std::process::Command`, its child's pipes and pid taken over by [`super::Child`].

    use std::io;
    use std::os::fd::OwnedFd;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    use super::Spawn;

    pub(super) fn spawn(spec: &Spawn<'_>) -> io::Result<(i32, Option<OwnedFd>, Option<OwnedFd>)> {
        let mut command = Command::new(spec.program);
        command.args(spec.args).current_dir(spec.dir).envs(spec.env.iter().map(|(k, v)| (k, v)));
        if spec.new_group {
            command.process_group(0);
        }
        if spec.piped {
            command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let mut child = command.spawn()?;
        let pid = i32::try_from(child.id()).map_err(io::Error::other)?;
        let stdout = child.stdout.take().map(OwnedFd::from).map(nonblocking).transpose()?;
        let stderr = child.stderr.take().map(OwnedFd::from).map(nonblocking).transpose()?;
        // `child` is dropped without waiting: [`super::Child`] reaps it by pid.
        Ok((pid, stdout, stderr))
    }

    fn nonblocking(fd: OwnedFd) -> io::Result<OwnedFd> {
        let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFL).map_err(io::Error::from)?;
        let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
        Ok(fd)
    }
}

#[cfg(target_os = "linux")]
mod env {
    //! The environment arrays commands get, built once per distinct set of added variables.

    use std::ffi::{CString, OsStr, OsString, c_char};
    use std::io;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex, OnceLock, PoisonError};

    use super::c_string;

    /// opsrun's environment when the first command started.
    pub(super) struct Base {
        vars: Vec<(OsString, OsString)>,
    }

    impl Base {
        pub(super) fn path(&self) -> Option<&OsStr> {
            self.vars.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_os_str())
        }
    }

    pub(super) fn base() -> &'static Base {
        static BASE: OnceLock<Base> = OnceLock::new();
        BASE.get_or_init(|| Base { vars: std::env::vars_os().collect() })
    }

    /// A NULL-terminated `KEY=VALUE` array and the strings it points into.
    pub(super) struct Block {
        _strings: Vec<CString>,
        pointers: Vec<*mut c_char>,
    }

    // SAFETY: the pointers point into `_strings`, heap data owned by the block and never
    // changed after it is built; sharing or moving the block moves no string data.
    #[expect(unsafe_code, reason = "a Block's raw pointers point into its own immutable strings")]
    unsafe impl Send for Block {}
    // SAFETY: as above: the block is immutable once built.
    #[expect(unsafe_code, reason = "a Block's raw pointers point into its own immutable strings")]
    unsafe impl Sync for Block {}

    impl Block {
        pub(super) fn as_ptr(&self) -> *const *mut c_char {
            self.pointers.as_ptr()
        }
    }

    /// The last few blocks built, most recent first, by the variables added.
    type Cache = Vec<(Vec<(String, String)>, Arc<Block>)>;
    const CACHED: usize = 8;

    /// The environment for a command adding `added` (later pairs win) to opsrun's own.
    pub(super) fn block(added: &[(String, String)]) -> io::Result<Arc<Block>> {
        static CACHE: Mutex<Cache> = Mutex::new(Vec::new());
        let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = cache.iter().position(|(key, _)| key.as_slice() == added) {
            let hit = cache.remove(at);
            let block = Arc::clone(&hit.1);
            cache.insert(0, hit);
            return Ok(block);
        }
        let block = Arc::new(build(added)?);
        cache.insert(0, (added.to_vec(), Arc::clone(&block)));
        cache.truncate(CACHED);
        Ok(block)
    }

    fn build(added: &[(String, String)]) -> io::Result<Block> {
        let mut vars: Vec<(Vec<u8>, Vec<u8>)> =
            base().vars.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
        for (key, value) in added {
            match vars.iter_mut().find(|(k, _)| k.as_slice() == key.as_bytes()) {
                Some(slot) => slot.1 = value.as_bytes().to_vec(),
                None => vars.push((key.as_bytes().to_vec(), value.as_bytes().to_vec())),
            }
        }
        let strings = vars
            .into_iter()
            .map(|(mut k, v)| {
                k.push(b'=');
                k.extend_from_slice(&v);
                c_string(&k)
            })
            .collect::<io::Result<Vec<_>>>()?;
        let mut pointers: Vec<*mut c_char> = strings.iter().map(|s| s.as_ptr().cast_mut()).collect();
        pointers.push(std::ptr::null_mut());
        Ok(Block { _strings: strings, pointers })
    }

    /// The program to execute: `program` itself when it names a path, else the first executable
    /// file of that name on `path` (remembered until it can no longer be started).
    pub(super) fn resolve(program: &str, path: Option<&OsStr>) -> io::Result<CString> {
        static FOUND: Mutex<Vec<(String, Option<OsString>, PathBuf)>> = Mutex::new(Vec::new());
        if program.contains('/') {
            return c_string(program.as_bytes());
        }
        let mut found = FOUND.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, at)) = found.iter().find(|(p, dirs, _)| p == program && dirs.as_deref() == path)
            && is_executable(at)
        {
            return c_string(at.as_os_str().as_bytes());
        }
        found.retain(|(p, dirs, _)| !(p == program && dirs.as_deref() == path));
        let at = std::env::split_paths(path.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin")))
            .map(|dir| if dir.as_os_str().is_empty() { PathBuf::from(".").join(program) } else { dir.join(program) })
            .find(|candidate| is_executable(candidate))
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        found.push((program.to_string(), path.map(OsStr::to_os_string), at.clone()));
        c_string(at.into_os_string().into_vec().as_slice())
    }

    fn is_executable(path: &std::path::Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::watch;

    use crate::{Exit, ShellCommand, Shutdown, run_shell};

    async fn output(cmd: &ShellCommand) -> (Exit, Vec<String>) {
        let (_tx, rx) = watch::channel(Shutdown::Running);
        let mut lines = Vec::new();
        let finished = run_shell(cmd, rx, |_, line| lines.push(line)).await;
        (finished.exit, lines)
    }

    #[tokio::test]
    async fn added_variables_replace_or_extend_opsruns_environment_and_keep_the_rest() {
        let mut cmd = ShellCommand::new(r#"echo "$OPSRUN_SPAWN_TEST|$HOME|${PATH:+path}""#, std::env::temp_dir());
        cmd.env = vec![
            ("OPSRUN_SPAWN_TEST".into(), "first".into()),
            ("HOME".into(), "/nonexistent/home".into()),
            ("OPSRUN_SPAWN_TEST".into(), "second".into()),
        ];
        assert_eq!(output(&cmd).await, (Exit::Code(0), vec!["second|/nonexistent/home|path".to_string()]));
        // The same variables again (the cached environment), then none: nothing leaks between.
        assert_eq!(output(&cmd).await.1, ["second|/nonexistent/home|path"]);
        cmd.env.clear();
        let (_, lines) = output(&cmd).await;
        assert!(lines[0].starts_with('|') && !lines[0].contains("/nonexistent/home"), "{lines:?}");
    }

    #[tokio::test]
    async fn a_shell_without_a_path_is_found_on_the_commands_own_path() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let shell = dir.path().join("opsrun-test-sh");
        std::fs::write(&shell, "#!/bin/sh\necho wrapped\nexec /bin/sh \"$@\"\n").unwrap();
        std::fs::set_permissions(&shell, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut cmd = ShellCommand::new("echo inside", std::env::temp_dir());
        cmd.shell = Some("opsrun-test-sh".into());
        cmd.deadline = Some(std::time::Instant::now() + Duration::from_secs(10));
        let (exit, _) = output(&cmd).await;
        assert!(matches!(exit, Exit::SpawnFailed(ref e) if e.contains("was not found")), "{exit:?}");
        cmd.env = vec![("PATH".into(), format!("{}:/usr/bin:/bin", dir.path().display()))];
        assert_eq!(output(&cmd).await, (Exit::Code(0), vec!["wrapped".to_string(), "inside".to_string()]));
    }

    /// The wait used without pidfds (another Unix, an old kernel): SIGCHLD, then `waitpid`.
    #[tokio::test]
    async fn without_a_pidfd_sigchld_wakes_the_wait() {
        let spec = super::Spawn {
            program: "/bin/sh",
            args: &["-c", "sleep 0.2; exit 3"],
            dir: &std::env::temp_dir(),
            env: &[],
            new_group: true,
            piped: false,
        };
        let (pid, _, _) = super::os::spawn(&spec).unwrap();
        let mut child = super::Child { pid, stdout: None, stderr: None, exit: super::Exit::Signal(None), status: None };
        assert_eq!(child.try_wait().unwrap(), None, "still sleeping");
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
        assert_eq!(status.code(), Some(3));
    }

    #[tokio::test]
    async fn a_nul_byte_is_a_spawn_failure_not_a_panic() {
        let cmd = ShellCommand::new("echo a\0b", std::env::temp_dir());
        let (exit, _) = output(&cmd).await;
        assert!(matches!(exit, Exit::SpawnFailed(ref e) if e.contains("nul byte")), "{exit:?}");
        let mut cmd = ShellCommand::new("true", std::env::temp_dir());
        cmd.env = vec![("BAD".into(), "a\0b".into())];
        assert!(matches!(output(&cmd).await.0, Exit::SpawnFailed(_)));
    }
}
