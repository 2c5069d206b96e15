//! The CLI's own journals besides the audit log: `assessments.jsonl` (`opsrun status` and
//! emergency-recovery assessments that found something unhealthy, and the first healthy one
//! after them) and `recoveries.jsonl` (every emergency recovery that ran). One type per file,
//! written by `status.rs` and read back by the incident report.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// `(stage, health, detail)`.
pub(crate) type StageHealthRow = (String, String, String);

/// One line of `.opsrun/assessments.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AssessmentRecord {
    pub(crate) ts: jiff::Timestamp,
    pub(crate) user: String,
    pub(crate) host: String,
    /// `status` or `emergency-recovery`.
    pub(crate) command: String,
    pub(crate) pipeline: String,
    pub(crate) operational: bool,
    /// Every gated stage, in order.
    pub(crate) stages: Vec<StageHealthRow>,
    #[serde(default)]
    pub(crate) duration_ms: u64,
}

/// One line of `.opsrun/recoveries.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RecoveryRecord {
    /// When it ended.
    pub(crate) ts: jiff::Timestamp,
    /// When it began (its first assessment); absent in records of older versions.
    #[serde(default)]
    pub(crate) started: Option<jiff::Timestamp>,
    /// From the first assessment to the end of the assessment after the repair.
    #[serde(default)]
    pub(crate) duration_ms: Option<u64>,
    pub(crate) user: String,
    pub(crate) host: String,
    pub(crate) pipeline: String,
    /// The unhealthy stages before.
    pub(crate) broken: Vec<StageHealthRow>,
    /// The stages the recovery ran, in order.
    pub(crate) plan: Vec<String>,
    pub(crate) run: Option<String>,
    /// `recovered`, `ran, still unhealthy` or `failed`.
    pub(crate) outcome: String,
    /// `(stage, health)` of every gated stage after.
    pub(crate) after: Vec<(String, String)>,
}

pub(crate) fn assessments_path(state_dir: &Path) -> PathBuf {
    state_dir.join("assessments.jsonl")
}

pub(crate) fn recoveries_path(state_dir: &Path) -> PathBuf {
    state_dir.join("recoveries.jsonl")
}
