//! The two phases of the framework, and the overall phase of a change.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseValueError;

/// Which phase manages a file: applied directly by tasks, or reconciled by Flux from Git.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Phase {
    /// Foundation applied by tasks (talosctl, helm, kubectl): Talos, Kubernetes, Cilium,
    /// secrets foundation, Flux itself.
    Bootstrap,
    /// Reconciled by Flux from Git: infrastructure services and applications.
    Gitops,
}

impl Phase {
    const SPELLINGS: &'static [&'static str] = &["bootstrap", "gitops"];

    /// The spelling used in `tasks.toml`, JSON and `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Bootstrap => "bootstrap",
            Phase::Gitops => "gitops",
        }
    }

    /// The framework's name for the phase, for prose: "Bootstrap", "GitOps".
    pub fn label(self) -> &'static str {
        match self {
            Phase::Bootstrap => "Bootstrap",
            Phase::Gitops => "GitOps",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = ParseValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bootstrap" => Ok(Phase::Bootstrap),
            "gitops" => Ok(Phase::Gitops),
            _ => Err(ParseValueError { what: "phase", value: s.to_owned(), expected: Self::SPELLINGS }),
        }
    }
}

/// The phase of a whole change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OverallPhase {
    /// Every classified file is bootstrap.
    Bootstrap,
    /// Every classified file is GitOps.
    Gitops,
    /// Both phases are present: the bootstrap part goes first, then the GitOps part.
    Hybrid,
    /// No file was classified (no input, or only unclassified files).
    None,
}

impl OverallPhase {
    const SPELLINGS: &'static [&'static str] = &["bootstrap", "gitops", "hybrid", "none"];

    /// The overall phase of a set of file phases.
    pub fn of(phases: impl IntoIterator<Item = Phase>) -> Self {
        let (mut bootstrap, mut gitops) = (false, false);
        for phase in phases {
            match phase {
                Phase::Bootstrap => bootstrap = true,
                Phase::Gitops => gitops = true,
            }
        }
        match (bootstrap, gitops) {
            (true, true) => OverallPhase::Hybrid,
            (true, false) => OverallPhase::Bootstrap,
            (false, true) => OverallPhase::Gitops,
            (false, false) => OverallPhase::None,
        }
    }

    /// Whether the change has a bootstrap part (bootstrap or hybrid).
    pub fn has_bootstrap(self) -> bool {
        matches!(self, OverallPhase::Bootstrap | OverallPhase::Hybrid)
    }

    /// Whether the change has a GitOps part (GitOps or hybrid).
    pub fn has_gitops(self) -> bool {
        matches!(self, OverallPhase::Gitops | OverallPhase::Hybrid)
    }

    /// The spelling used in JSON and `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverallPhase::Bootstrap => "bootstrap",
            OverallPhase::Gitops => "gitops",
            OverallPhase::Hybrid => "hybrid",
            OverallPhase::None => "none",
        }
    }

    /// The framework's name for the phase, for prose.
    pub fn label(self) -> &'static str {
        match self {
            OverallPhase::Bootstrap => "Bootstrap",
            OverallPhase::Gitops => "GitOps",
            OverallPhase::Hybrid => "Hybrid",
            OverallPhase::None => "None",
        }
    }
}

impl fmt::Display for OverallPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OverallPhase {
    type Err = ParseValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bootstrap" => Ok(OverallPhase::Bootstrap),
            "gitops" => Ok(OverallPhase::Gitops),
            "hybrid" => Ok(OverallPhase::Hybrid),
            "none" => Ok(OverallPhase::None),
            _ => Err(ParseValueError { what: "phase", value: s.to_owned(), expected: Self::SPELLINGS }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_phase_of_mixed_phases_is_hybrid() {
        assert_eq!(OverallPhase::of([]), OverallPhase::None);
        assert_eq!(OverallPhase::of([Phase::Gitops]), OverallPhase::Gitops);
        assert_eq!(OverallPhase::of([Phase::Bootstrap, Phase::Bootstrap]), OverallPhase::Bootstrap);
        assert_eq!(OverallPhase::of([Phase::Gitops, Phase::Bootstrap]), OverallPhase::Hybrid);
    }

    #[test]
    fn phases_round_trip_through_strings() {
        for phase in [Phase::Bootstrap, Phase::Gitops] {
            assert_eq!(phase.to_string().parse::<Phase>(), Ok(phase));
        }
        assert_eq!("GitOps".parse::<Phase>(), Ok(Phase::Gitops));
        let err = "hybrid".parse::<Phase>().unwrap_err();
        assert_eq!(err.to_string(), "unknown phase `hybrid`; expected one of: bootstrap, gitops");
    }
}
