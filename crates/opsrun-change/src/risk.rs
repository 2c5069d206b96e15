//! Risk levels and the approvals the framework's risk matrix ties to them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseValueError;

/// A row of the framework's change risk matrix. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Risk {
    /// Configuration tuning, application updates.
    Low,
    /// Network configuration, infrastructure updates, backup policies.
    Medium,
    /// OS-level changes, security policies, authentication systems, security keys.
    High,
    /// Cluster rebuild.
    Critical,
}

impl Risk {
    const SPELLINGS: &'static [&'static str] = &["low", "medium", "high", "critical"];

    /// The approval the risk matrix requires for this risk.
    pub fn approval(self) -> Approval {
        match self {
            Risk::Low => Approval::SelfApproved,
            Risk::Medium => Approval::PeerReview,
            Risk::High => Approval::LeadApproval,
            Risk::Critical => Approval::TeamApproval,
        }
    }

    /// The spelling used in `tasks.toml`, JSON and `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Risk {
    type Err = ParseValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Risk::Low),
            "medium" => Ok(Risk::Medium),
            "high" => Ok(Risk::High),
            "critical" => Ok(Risk::Critical),
            _ => Err(ParseValueError { what: "risk", value: s.to_owned(), expected: Self::SPELLINGS }),
        }
    }
}

/// Who has to approve a change, from the "Approval Required" column of the risk matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Approval {
    /// The operator may approve their own change.
    SelfApproved,
    /// Another operator reviews the change.
    PeerReview,
    /// The lead approves the change.
    LeadApproval,
    /// The team approves the change.
    TeamApproval,
}

impl Approval {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::SelfApproved => "self_approved",
            Approval::PeerReview => "peer_review",
            Approval::LeadApproval => "lead_approval",
            Approval::TeamApproval => "team_approval",
        }
    }
}

/// Prose, as the risk matrix words it: "self-approved", "peer review", ...
impl fmt::Display for Approval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Approval::SelfApproved => "self-approved",
            Approval::PeerReview => "peer review",
            Approval::LeadApproval => "lead approval",
            Approval::TeamApproval => "team approval",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_matrix_maps_each_level_to_its_approval() {
        let cases = [
            (Risk::Low, Approval::SelfApproved),
            (Risk::Medium, Approval::PeerReview),
            (Risk::High, Approval::LeadApproval),
            (Risk::Critical, Approval::TeamApproval),
        ];
        for (risk, approval) in cases {
            assert_eq!(risk.approval(), approval, "{risk}");
            assert_eq!(risk.to_string().parse::<Risk>(), Ok(risk));
        }
        assert!(Risk::Low < Risk::Medium && Risk::High < Risk::Critical);
    }

    #[test]
    fn unknown_risk_names_the_choices() {
        let err = "severe".parse::<Risk>().unwrap_err();
        assert_eq!(err.to_string(), "unknown risk `severe`; expected one of: low, medium, high, critical");
    }
}
