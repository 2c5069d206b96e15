//! Ending what a run left behind when opsrun itself was killed (`kill -9`, OOM killer).
//!
//! Commands run in their own process groups, so they outlive a killed opsrun. Their group ids
//! are recorded in the state while the task runs; the next run ends any such group that is
//! still alive before it starts anything, so that (say) a half-finished `helm upgrade` does not
//! race the new one. A group is only touched if every member started after the task did:
//! otherwise the id was reused by something unrelated and it is left alone, with a warning.
//! Linux only (it reads `/proc`); elsewhere nothing is found and nothing is done.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// A live (non-zombie) process of a group.
struct Member {
    pid: i32,
    started_unix: i64,
    command: String,
}

/// Ends the orphaned group `pgid` of a task that started at `task_started`. Returns a message
/// for the operator when anything was found.
pub(crate) fn end_orphan_group(pgid: i32, task_started: jiff::Timestamp, grace: Duration) -> Option<String> {
    let members = group_members(pgid);
    if members.is_empty() {
        return None;
    }
    // Clock-tick rounding and a slow spawn: allow two seconds before the task's start.
    let floor = task_started.as_second() - 2;
    if members.iter().any(|m| m.started_unix < floor) {
        return Some(format!(
            "process group {pgid} of the interrupted run now holds processes older than the task ({}); left alone",
            describe(&members)
        ));
    }
    let what = describe(&members);
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGTERM);
    let deadline = Instant::now() + grace.min(Duration::from_secs(5));
    while Instant::now() < deadline && !group_members(pgid).is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    if !group_members(pgid).is_empty() {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
    Some(format!("ended processes left running by the interrupted run (process group {pgid}): {what}"))
}

fn describe(members: &[Member]) -> String {
    members.iter().map(|m| format!("{} `{}`", m.pid, m.command)).collect::<Vec<_>>().join(", ")
}

/// Live members of a process group, from `/proc`.
fn group_members(pgid: i32) -> Vec<Member> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let boot = boot_time().unwrap_or(0);
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid pgrp ...`: comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After comm: [0] state, [2] pgrp, [19] starttime (clock ticks since boot).
        if fields.len() < 20 || fields[2].parse::<i32>().ok() != Some(pgid) || fields[0] == "Z" {
            continue;
        }
        let ticks: i64 = fields[19].parse().unwrap_or(0);
        let command = std::fs::read(entry.path().join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " ").trim().to_string())
            .unwrap_or_default();
        // USER_HZ is 100 on every Linux architecture opsrun targets.
        out.push(Member { pid, started_unix: boot + ticks / 100, command });
    }
    out
}

fn boot_time() -> Option<i64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    #[test]
    fn ends_a_live_group_started_after_the_task() {
        let before = jiff::Timestamp::now();
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 4242 & wait"])
            .process_group(0)
            .spawn()
            .expect("spawn sh");
        let pgid = i32::try_from(child.id()).expect("pid fits");
        // Wait (bounded) until the group has its sleep.
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_members(pgid).len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let message = end_orphan_group(pgid, before, Duration::from_secs(2)).expect("found the group");
        assert!(message.contains("sleep 4242"), "{message}");
        let _ = child.wait();
        assert!(group_members(pgid).is_empty());
    }

    #[test]
    fn a_group_older_than_the_task_is_left_alone() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 4243 & wait"])
            .process_group(0)
            .spawn()
            .expect("spawn sh");
        let pgid = i32::try_from(child.id()).expect("pid fits");
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3600);
        let message = end_orphan_group(pgid, later, Duration::from_secs(1)).expect("found the group");
        assert!(message.contains("left alone"), "{message}");
        assert!(!group_members(pgid).is_empty());
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        let _ = child.wait();
    }
}
