//! `--fail-on`: which verdicts make `opsrun classify` exit non-zero, for CI gates.

use std::fmt;
use std::str::FromStr;

use crate::error::ParseValueError;
use crate::risk::Risk;
use crate::verdict::Verdict;

/// A condition under which a CI gate should fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailOn {
    /// Any bootstrap file (a bootstrap or hybrid change).
    Bootstrap,
    /// A hybrid change.
    Hybrid,
    /// Risk high or critical.
    High,
    /// Risk critical.
    Critical,
}

impl FailOn {
    const SPELLINGS: &'static [&'static str] = &["bootstrap", "hybrid", "high", "critical"];

    /// The spelling of the `--fail-on` value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Bootstrap => "bootstrap",
            FailOn::Hybrid => "hybrid",
            FailOn::High => "high",
            FailOn::Critical => "critical",
        }
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FailOn {
    type Err = ParseValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bootstrap" => Ok(FailOn::Bootstrap),
            "hybrid" => Ok(FailOn::Hybrid),
            "high" => Ok(FailOn::High),
            "critical" => Ok(FailOn::Critical),
            _ => Err(ParseValueError { what: "fail-on condition", value: s.to_owned(), expected: Self::SPELLINGS }),
        }
    }
}

/// Whether `verdict` meets the `--fail-on` condition. Unclassified files never trigger it.
pub fn should_fail(verdict: &Verdict, condition: FailOn) -> bool {
    match condition {
        FailOn::Bootstrap => verdict.phase.has_bootstrap(),
        FailOn::Hybrid => verdict.phase == crate::phase::OverallPhase::Hybrid,
        FailOn::High => verdict.risk >= Some(Risk::High),
        FailOn::Critical => verdict.risk == Some(Risk::Critical),
    }
}
