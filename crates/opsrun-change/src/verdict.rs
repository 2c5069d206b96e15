//! The answer for a change: per-file classification, overall phase, risk, approval, procedure.

use serde::{Deserialize, Serialize};

use crate::phase::{OverallPhase, Phase};
use crate::procedure::Procedure;
use crate::risk::{Approval, Risk};

/// The version of the JSON document; bumped on any incompatible change of [`Verdict`].
pub const SCHEMA_VERSION: u32 = 1;

/// The classification of a change. Serialised as the documented JSON schema (version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Verdict {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Every input path (normalised, deduplicated, in input order) with its classification.
    pub files: Vec<FileVerdict>,
    /// The paths no rule matches: they need a human decision and do not count toward the risk.
    pub unclassified: Vec<String>,
    /// Bootstrap, GitOps, Hybrid (both), or None (nothing classified).
    pub phase: OverallPhase,
    /// The highest risk among classified files.
    pub risk: Option<Risk>,
    /// The approval the risk matrix requires for `risk`.
    pub approval: Option<Approval>,
    /// The health probe found the cluster not operational: follow the emergency path.
    pub emergency: bool,
    /// How to carry the change out.
    pub procedure: Procedure,
    /// What to check before and after.
    pub checklists: Checklists,
}

/// One input path and the rule that classified it, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct FileVerdict {
    /// The path, relative to the project root.
    pub path: String,
    /// `None` when no rule matches the path.
    pub classification: Option<Classification>,
}

/// What a rule says about a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Classification {
    /// Bootstrap or GitOps.
    pub phase: Phase,
    /// The framework component.
    pub component: String,
    /// The risk of the change to this file.
    pub risk: Risk,
    /// The name of the matching rule.
    pub rule: String,
    /// The rule's reason.
    pub reason: String,
}

/// The checklists of the framework's change validation requirements, adapted to the change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Checklists {
    /// To tick before the change is applied.
    pub pre_change: Vec<String>,
    /// To tick after the change is applied.
    pub post_change: Vec<String>,
}

impl Verdict {
    /// The classified files, with their classification.
    pub fn classified(&self) -> impl Iterator<Item = (&str, &Classification)> {
        self.files.iter().filter_map(|f| f.classification.as_ref().map(|c| (f.path.as_str(), c)))
    }
}
