//! What opsrun remembers about overrides: `overrides.json` (each override's stage: suspended,
//! resumed but not yet aligned, aligned) and `audit.jsonl` (every suspend, resume and alignment
//! check, successful, refused or failed).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};
use crate::exit;
use crate::status::age;

/// Where an override stands in the emergency loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stage {
    /// GitOps does not reconcile the Kustomization.
    #[default]
    Suspended,
    /// GitOps reconciles it again, but nothing has confirmed yet that Git and the cluster agree.
    Resumed,
    /// Ready, at a revision containing the checkout's HEAD, with an empty diff.
    Aligned,
}

impl Stage {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Stage::Suspended => "suspended",
            Stage::Resumed => "resumed",
            Stage::Aligned => "aligned",
        }
    }
}

/// Who moved an override on, and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Milestone {
    pub(crate) at: jiff::Timestamp,
    pub(crate) user: String,
    pub(crate) host: String,
    /// Resume: the operator accepted that Flux reverts the drift it found.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) allow_revert: bool,
    /// Align: the revision Flux had applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) revision: Option<String>,
}

impl Milestone {
    pub(crate) fn now() -> Self {
        Self {
            at: jiff::Timestamp::now(),
            user: opsrun_engine::user_name(),
            host: opsrun_engine::host_name(),
            allow_revert: false,
            revision: None,
        }
    }
}

/// The last alignment check that did not pass, for the warnings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LastCheck {
    pub(crate) at: jiff::Timestamp,
    pub(crate) problems: Vec<String>,
}

/// One override: the suspension (name, reason, who, when) and how far it has come since.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OverrideRecord {
    pub(crate) name: String,
    pub(crate) reason: String,
    pub(crate) user: String,
    pub(crate) host: String,
    /// When it was suspended.
    pub(crate) since: jiff::Timestamp,
    /// Files written before alignment was tracked have no stage: they were suspended.
    #[serde(default)]
    pub(crate) stage: Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resumed: Option<Milestone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) aligned: Option<Milestone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_check: Option<LastCheck>,
}

impl OverrideRecord {
    /// When it entered its current stage.
    pub(crate) fn stage_since(&self) -> jiff::Timestamp {
        match self.stage {
            Stage::Suspended => self.since,
            Stage::Resumed => self.resumed.as_ref().map_or(self.since, |m| m.at),
            Stage::Aligned => self.aligned.as_ref().map_or(self.since, |m| m.at),
        }
    }

    /// Still needs the operator: suspended, or resumed and not yet aligned.
    pub(crate) fn open(&self) -> bool {
        self.stage != Stage::Aligned
    }

    /// The one-line warning every command prints while the override is open.
    pub(crate) fn warning(&self) -> Option<String> {
        match self.stage {
            Stage::Suspended => Some(format!(
                "warning: GitOps override active: `{}` suspended {} ago by {}@{}: {} (resume with `opsrun override resume {}`)",
                self.name,
                age(self.since),
                self.user,
                self.host,
                self.reason,
                self.name
            )),
            Stage::Resumed => {
                let who = self.resumed.as_ref().map(|m| format!(" by {}@{}", m.user, m.host)).unwrap_or_default();
                let why = self
                    .last_check
                    .as_ref()
                    .and_then(|c| c.problems.first())
                    .map(|p| format!(": {p}"))
                    .unwrap_or_default();
                Some(format!(
                    "warning: GitOps override not aligned yet: `{}` resumed {} ago{who} (suspended for: {}){why} (check with `opsrun override align {}`)",
                    self.name,
                    age(self.stage_since()),
                    self.reason,
                    self.name
                ))
            }
            Stage::Aligned => None,
        }
    }
}

/// `.opsrun/overrides.json`.
pub(crate) struct OverrideBook {
    path: PathBuf,
}

impl OverrideBook {
    pub(crate) fn new(state_dir: &Path) -> Self {
        Self { path: state_dir.join("overrides.json") }
    }

    /// Every recorded override; none when the file does not exist yet.
    pub(crate) fn load(&self) -> Result<Vec<OverrideRecord>> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(internal(format!("cannot read `{}`: {e}", self.path.display()))),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            internal(format!(
                "cannot read `{}`: {e} (fix or remove it; the audit log has the history)",
                self.path.display()
            ))
        })
    }

    /// Replaces the file atomically: a temporary file, synced, renamed over it.
    pub(crate) fn save(&self, records: &[OverrideRecord]) -> Result<()> {
        let io = |e: std::io::Error| internal(format!("cannot write `{}`: {e}", self.path.display()));
        if let Some(dir) = self.path.parent() {
            opsrun_engine::fs::create_dir(dir).map_err(io)?;
        }
        let text = serde_json::to_vec_pretty(records).map_err(|e| internal(format!("cannot encode overrides: {e}")))?;
        opsrun_engine::fs::write_atomic(&self.path, &text, None).map_err(io)
    }
}

/// A command an override action ran to check something, with its outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CheckRecord {
    /// `checkout`, `spec_path`, `diff` or `status`.
    pub(crate) what: String,
    /// The command (masked), when one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) command: Option<String>,
    /// One line: `no drift`, `drift: 2 objects`, `exit code 2: ...`, `timed out after 2m`.
    pub(crate) outcome: String,
    #[serde(default)]
    pub(crate) duration_ms: u64,
}

/// One line of `.opsrun/audit.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AuditEntry {
    pub(crate) ts: jiff::Timestamp,
    /// `suspend`, `resume` or `align`.
    pub(crate) action: String,
    pub(crate) name: String,
    pub(crate) reason: Option<String>,
    pub(crate) user: String,
    pub(crate) host: String,
    /// The suspend or resume command (masked); for `align`, the status command. A refused
    /// resume names the command it did not run.
    pub(crate) command: String,
    pub(crate) ok: bool,
    pub(crate) exit_code: Option<i32>,
    /// Resume: the operator accepted that Flux reverts the drift it found.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) allow_revert: bool,
    /// The objects the drift check found different (`Kind/namespace/name drifted`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) drift: Vec<String>,
    /// Why a resume was refused, or why alignment is not reached, one problem each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) problems: Vec<String>,
    /// The checks that ran before (resume) or as (align) the action.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) checks: Vec<CheckRecord>,
    /// Align: the revision Flux had applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) revision: Option<String>,
    /// Wall time of the whole action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) duration_ms: Option<u64>,
}

impl AuditEntry {
    /// An entry by the current user on this host, now.
    pub(crate) fn new(action: &str, name: &str, reason: Option<&str>, command: String) -> Self {
        Self {
            ts: jiff::Timestamp::now(),
            action: action.into(),
            name: name.into(),
            reason: reason.map(str::to_string),
            user: opsrun_engine::user_name(),
            host: opsrun_engine::host_name(),
            command,
            ok: false,
            exit_code: None,
            allow_revert: false,
            drift: Vec::new(),
            problems: Vec::new(),
            checks: Vec::new(),
            revision: None,
            duration_ms: None,
        }
    }
}

/// `.opsrun/audit.jsonl`.
pub(crate) fn audit_path(state_dir: &Path) -> PathBuf {
    state_dir.join("audit.jsonl")
}

/// Appends one entry to the audit log.
pub(crate) fn audit(state_dir: &Path, entry: &AuditEntry) -> Result<()> {
    append_jsonl(&audit_path(state_dir), entry)
}

/// Every readable entry of a JSON-lines journal, oldest first; a torn or foreign line is
/// skipped, a missing file is empty.
pub(crate) fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Appends one JSON line and syncs it to disk.
pub(crate) fn append_jsonl<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let io = |e: std::io::Error| internal(format!("cannot append to `{}`: {e}", path.display()));
    if let Some(dir) = path.parent() {
        opsrun_engine::fs::create_dir(dir).map_err(io)?;
    }
    let mut line = serde_json::to_vec(value).map_err(|e| internal(format!("cannot encode a journal line: {e}")))?;
    line.push(b'\n');
    let mut f = opsrun_engine::fs::open_append(path).map_err(io)?;
    f.write_all(&line).map_err(io)?;
    f.sync_all().map_err(io)
}

fn internal(message: String) -> CliError {
    CliError::Other { code: exit::INTERNAL, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_from_before_stages_reads_as_suspended() {
        let old = r#"[{"name":"apps","reason":"outage","user":"root","host":"vm","since":"2025-01-01T00:00:00Z"}]"#;
        let records: Vec<OverrideRecord> = serde_json::from_str(old).unwrap();
        assert_eq!(records[0].stage, Stage::Suspended);
        assert!(records[0].open());
        assert!(records[0].warning().unwrap().contains("`apps` suspended "));
    }

    #[test]
    fn resumed_warns_with_the_last_problem_and_aligned_is_quiet() {
        let mut record = OverrideRecord {
            name: "apps".into(),
            reason: "outage".into(),
            user: "root".into(),
            host: "vm".into(),
            since: jiff::Timestamp::UNIX_EPOCH,
            stage: Stage::Resumed,
            resumed: Some(Milestone::now()),
            aligned: None,
            last_check: Some(LastCheck { at: jiff::Timestamp::now(), problems: vec!["not Ready".into()] }),
        };
        let warning = record.warning().unwrap();
        assert!(warning.contains("not aligned yet: `apps` resumed"), "{warning}");
        assert!(warning.contains(": not Ready"), "{warning}");
        assert!(warning.contains("opsrun override align apps"), "{warning}");
        record.stage = Stage::Aligned;
        assert!(record.warning().is_none());
        assert!(!record.open());
    }

    #[test]
    fn the_book_round_trips_and_reports_a_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let book = OverrideBook::new(dir.path());
        assert!(book.load().unwrap().is_empty());
        let record = OverrideRecord {
            name: "apps".into(),
            reason: "outage".into(),
            user: "root".into(),
            host: "vm".into(),
            since: jiff::Timestamp::UNIX_EPOCH,
            stage: Stage::Suspended,
            resumed: None,
            aligned: None,
            last_check: None,
        };
        book.save(&[record]).unwrap();
        assert_eq!(book.load().unwrap()[0].name, "apps");
        assert!(!dir.path().join("overrides.json.tmp").exists());
        fs::write(dir.path().join("overrides.json"), "{not json").unwrap();
        let err = book.load().unwrap_err().to_string();
        assert!(err.contains("overrides.json") && err.contains("fix or remove it"), "{err}");
    }
}
