//! [`Host`]: the facts about the machine that template functions report.
//!
//! The engine never reads the process environment, the clock or the platform
//! itself: `env`, `now`, `date`, `OS`, `ARCH`, `exeExt` and `numCPU` ask the
//! [`Host`] passed to [`Template::render`](crate::Template::render). A caller
//! with its own notion of the environment (opsrun's resolver, which captures it
//! once per run) passes a host that answers from it, and tests pass a fixed
//! clock and a fake environment. [`SystemHost`] answers from the real process.
//!
//! Path functions (`fromSlash`, `toSlash`) follow the platform the crate was
//! compiled for, like Go's `path/filepath`: they are about path syntax, not
//! about the machine.

use jiff::Zoned;
use jiff::tz::TimeZone;

/// The machine a template is rendered on, as seen by its functions.
///
/// Only the template functions that report host facts call these methods,
/// and only when a template uses them; a render with no such calls never
/// touches the host.
pub trait Host {
    /// The value of the environment variable `name` (`{{env "NAME"}}`), or
    /// `None` when it is unset; the template prints an unset variable as the
    /// empty string, as sprig does. `name` is never empty and never contains
    /// `=` or NUL (the engine answers those with "" without asking).
    fn env(&self, name: &str) -> Option<String>;

    /// The current time in the host's time zone (`{{now}}`).
    fn now(&self) -> Zoned;

    /// The time zone that `date` uses for Unix seconds and RFC 3339 strings.
    ///
    /// Defaults to the time zone of [`Host::now`], so a host with a fixed
    /// clock is consistent without implementing it.
    fn time_zone(&self) -> TimeZone {
        self.now().time_zone().clone()
    }

    /// The operating system in Go's `GOOS` words (`linux`, `darwin`,
    /// `windows`, ...), for `{{OS}}`.
    fn os(&self) -> &str;

    /// The CPU architecture in Go's `GOARCH` words (`amd64`, `arm64`, ...),
    /// for `{{ARCH}}`.
    fn arch(&self) -> &str;

    /// The suffix of executable files (`.exe` on Windows, empty elsewhere),
    /// for `{{exeExt}}`.
    fn exe_suffix(&self) -> &str;

    /// The number of CPUs available to the process, at least 1, for
    /// `{{numCPU}}`.
    fn num_cpu(&self) -> usize;
}

/// The real machine: the process environment at the moment of the call, the
/// system clock and time zone, and the platform the crate was compiled for.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemHost;

impl Host for SystemHost {
    /// Reads the process environment; a value that is not valid Unicode
    /// counts as unset.
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn now(&self) -> Zoned {
        Zoned::now()
    }

    fn time_zone(&self) -> TimeZone {
        TimeZone::system()
    }

    fn os(&self) -> &str {
        go_os()
    }

    fn arch(&self) -> &str {
        go_arch()
    }

    fn exe_suffix(&self) -> &str {
        std::env::consts::EXE_SUFFIX
    }

    fn num_cpu(&self) -> usize {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }
}

/// Go's `runtime.GOOS` name for the platform this crate was compiled for.
pub fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// Go's `runtime.GOARCH` name for the platform this crate was compiled for.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => {
            if cfg!(target_endian = "little") {
                "ppc64le"
            } else {
                "ppc64"
            }
        }
        "loongarch64" => "loong64",
        other => other,
    }
}
