//! Which stretch of time an incident record covers: `--since DURATION|TIME`, or `--run ID`
//! widened to the start of the incident that run belongs to.

use opsrun_engine::RunInfo;
use serde::Serialize;

use crate::args::IncidentReportArgs;
use crate::gitops::record::AuditEntry;
use crate::journals::AssessmentRecord;

/// Without `--since` or `--run`: the last week.
const DEFAULT_SINCE: &str = "7d";

/// From when to when, and what chose it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Window {
    pub(crate) from: jiff::Timestamp,
    pub(crate) to: jiff::Timestamp,
    /// `--since 7d`, `--run ID (widened to ...)`.
    pub(crate) selected_by: String,
}

impl Window {
    pub(crate) fn contains(&self, ts: jiff::Timestamp) -> bool {
        self.from <= ts && ts <= self.to
    }
}

/// The window the arguments ask for.
pub(crate) fn select(
    args: &IncidentReportArgs,
    now: jiff::Timestamp,
    runs: &[RunInfo],
    assessments: &[AssessmentRecord],
    audit: &[AuditEntry],
) -> Result<Window, String> {
    if let Some(id) = &args.run {
        let run = runs.iter().find(|r| r.id == *id).ok_or_else(|| {
            let recent: Vec<&str> = runs.iter().rev().take(3).map(|r| r.id.as_str()).collect();
            format!(
                "no run `{id}` in the journal{}\n  help: `opsrun runs` lists them",
                if recent.is_empty() { String::new() } else { format!(" (latest: {})", recent.join(", ")) }
            )
        })?;
        let start = run.started.ok_or_else(|| format!("run `{id}` has no start in its journal"))?;
        let from = incident_start(start, assessments, audit);
        let widened =
            if from < start { format!(", widened to the incident's start {}", fmt(from)) } else { String::new() };
        return Ok(Window { from, to: now, selected_by: format!("--run {id}{widened}") });
    }
    let since = args.since.as_deref().unwrap_or(DEFAULT_SINCE);
    let from = parse_since(since, now)?;
    Ok(Window { from, to: now, selected_by: format!("--since {since}") })
}

/// The start of the incident a moment belongs to: earlier suspensions not resumed by then,
/// and the unbroken run of unhealthy assessments just before it, belong to it.
fn incident_start(at: jiff::Timestamp, assessments: &[AssessmentRecord], audit: &[AuditEntry]) -> jiff::Timestamp {
    let mut from = at;
    for suspend in audit.iter().filter(|a| a.action == "suspend" && a.ok && a.ts < at) {
        let resumed = audit
            .iter()
            .any(|a| a.action == "resume" && a.ok && a.name == suspend.name && suspend.ts < a.ts && a.ts < at);
        if !resumed {
            from = from.min(suspend.ts);
        }
    }
    for a in assessments.iter().rev().filter(|a| a.ts < at) {
        if a.operational {
            break;
        }
        from = from.min(a.ts);
    }
    from
}

/// `30m`, `12h`, `7d`, `1d12h` back from `now`, or an RFC 3339 instant.
pub(crate) fn parse_since(text: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp, String> {
    let bad = || format!("`{text}` is neither a duration (30m, 12h, 7d) nor a time (2025-01-31T14:00:00Z)");
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    if text.trim().is_empty() {
        return Err(bad());
    }
    let (days, rest) = match text.split_once('d') {
        Some((d, rest)) if !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()) => {
            (d.parse::<u64>().map_err(|_| bad())?, rest)
        }
        _ => (0, text),
    };
    let rest = if rest.is_empty() {
        std::time::Duration::ZERO
    } else {
        opsrun_spec::parse_duration(rest).map_err(|_| bad())?
    };
    let secs = days.checked_mul(86_400).and_then(|d| d.checked_add(rest.as_secs())).ok_or_else(bad)?;
    let span = jiff::SignedDuration::from_secs(i64::try_from(secs).map_err(|_| bad())?);
    now.checked_sub(span).map_err(|_| bad())
}

/// `2025-01-31 14:02:11 UTC`.
pub(crate) fn fmt(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn since_takes_durations_days_and_instants() {
        let now = at("2025-02-01T12:00:00Z");
        assert_eq!(parse_since("30m", now).unwrap(), at("2025-02-01T11:30:00Z"));
        assert_eq!(parse_since("7d", now).unwrap(), at("2025-01-25T12:00:00Z"));
        assert_eq!(parse_since("1d12h", now).unwrap(), at("2025-01-31T00:00:00Z"));
        assert_eq!(parse_since("2025-01-31T14:00:00Z", now).unwrap(), at("2025-01-31T14:00:00Z"));
        for bad in ["", "d", "7 days", "yesterday", "1x"] {
            assert!(parse_since(bad, now).unwrap_err().contains("neither a duration"), "{bad}");
        }
    }

    fn assessment(ts: &str, operational: bool) -> AssessmentRecord {
        AssessmentRecord {
            ts: at(ts),
            user: "u".into(),
            host: "h".into(),
            command: "status".into(),
            pipeline: "bootstrap".into(),
            operational,
            stages: Vec::new(),
            duration_ms: 0,
        }
    }

    fn audit(action: &str, name: &str, ts: &str) -> AuditEntry {
        let mut entry = AuditEntry::new(action, name, None, String::new());
        entry.ts = at(ts);
        entry.ok = true;
        entry
    }

    #[test]
    fn a_run_reaches_back_to_open_suspensions_and_the_unhealthy_streak() {
        let assessments = [
            assessment("2025-02-01T09:00:00Z", false),
            assessment("2025-02-01T09:30:00Z", true),
            assessment("2025-02-01T10:00:00Z", false),
            assessment("2025-02-01T10:10:00Z", false),
        ];
        let run = at("2025-02-01T10:20:00Z");
        assert_eq!(incident_start(run, &assessments, &[]), at("2025-02-01T10:00:00Z"));
        let log = [
            audit("suspend", "old", "2025-02-01T08:00:00Z"),
            audit("resume", "old", "2025-02-01T08:30:00Z"),
            audit("suspend", "apps", "2025-02-01T09:45:00Z"),
        ];
        assert_eq!(incident_start(run, &assessments, &log), at("2025-02-01T09:45:00Z"));
    }
}
