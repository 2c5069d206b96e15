//! Functions that look at the machine (platform names, environment, clock),
//! all through the render's [`Host`]; paths; and `fail`.

use jiff::Timestamp;

use super::{CallError, exact, text};
use crate::host::Host;
use crate::time_layout;
use crate::value::Value;

/// `fail MESSAGE`: aborts the render with the user's message.
pub(super) fn fail(args: Vec<Value>) -> Result<Value, CallError> {
    let [message] = exact(args)?;
    Err(CallError::Fail(text(&message).into_owned()))
}

/// `OS`: the host's operating system in Go's words.
pub(super) fn os(host: &dyn Host, args: Vec<Value>) -> Result<Value, CallError> {
    let [] = exact(args)?;
    Ok(Value::Str(host.os().to_owned()))
}

/// `ARCH`: the host's architecture in Go's words.
pub(super) fn arch(host: &dyn Host, args: Vec<Value>) -> Result<Value, CallError> {
    let [] = exact(args)?;
    Ok(Value::Str(host.arch().to_owned()))
}

/// `numCPU`: the CPUs available to the host process.
pub(super) fn num_cpu(host: &dyn Host, args: Vec<Value>) -> Result<Value, CallError> {
    let [] = exact(args)?;
    Ok(Value::Int(i64::try_from(host.num_cpu().max(1)).unwrap_or(1)))
}

/// `exeExt`: the host's executable suffix.
pub(super) fn exe_ext(host: &dyn Host, args: Vec<Value>) -> Result<Value, CallError> {
    let [] = exact(args)?;
    Ok(Value::Str(host.exe_suffix().to_owned()))
}

/// `env NAME`: the environment variable, or "" when unset (as sprig does).
pub(super) fn env(host: &dyn Host, args: Vec<Value>) -> Result<Value, CallError> {
    let [name] = exact(args)?;
    let name = text(&name);
    if name.is_empty() || name.contains(['=', '\0']) {
        return Ok(Value::Str(String::new()));
    }
    Ok(Value::Str(host.env(&name).unwrap_or_default()))
}

/// `now`: the host's current time.
pub(super) fn now(host: &dyn Host, args: Vec<Value>) -> Result<Value, CallError> {
    let [] = exact(args)?;
    Ok(Value::Time(host.now()))
}

/// Sprig's `date LAYOUT TIME` with a Go layout. TIME may be a time, Unix
/// seconds, or an RFC 3339 string.
pub(super) fn date(host: &dyn Host, args: Vec<Value>) -> Result<Value, CallError> {
    let [layout, time] = exact(args)?;
    let zoned = match time {
        Value::Time(t) => t,
        Value::Int(secs) => Timestamp::from_second(secs)
            .map_err(|e| CallError::Message(format!("invalid Unix time {secs}: {e}")))?
            .to_zoned(host.time_zone()),
        Value::Str(s) => s
            .parse::<Timestamp>()
            .map_err(|e| CallError::Message(format!("invalid time {s:?}: {e}")))?
            .to_zoned(host.time_zone()),
        other => {
            return Err(CallError::Message(format!("expected a time, got {}", other.type_name())));
        }
    };
    Ok(Value::Str(time_layout::format(&zoned, &text(&layout))))
}

/// Go's `path/filepath.Join` on `/`-separated paths: joins non-empty
/// elements and cleans the result.
pub(super) fn join_path(args: Vec<Value>) -> Result<Value, CallError> {
    let parts: Vec<String> = args.iter().map(|v| text(v).into_owned()).filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Ok(Value::Str(String::new()));
    }
    Ok(Value::Str(clean_path(&parts.join("/"))))
}

/// Go's `path.Clean`.
fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

pub(super) fn from_slash(args: Vec<Value>) -> Result<Value, CallError> {
    let [path] = exact(args)?;
    Ok(Value::Str(text(&path).replace('/', std::path::MAIN_SEPARATOR_STR)))
}

pub(super) fn to_slash(args: Vec<Value>) -> Result<Value, CallError> {
    let [path] = exact(args)?;
    Ok(Value::Str(text(&path).replace(std::path::MAIN_SEPARATOR, "/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_clean_like_go() {
        for (input, want) in
            [("a/b/../c", "a/c"), ("/a/./b/", "/a/b"), ("../a", "../a"), ("/../a", "/a"), ("a/..", ".")]
        {
            assert_eq!(clean_path(input), want, "{input}");
        }
    }
}
