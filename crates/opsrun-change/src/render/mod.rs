//! Renderers of a [`crate::Verdict`]: plain text for terminals, JSON for tools, Markdown for
//! pull-request comments. Renderers only format; they never change the verdict.

mod json;
mod markdown;
mod text;

pub use json::render_json;
pub use markdown::render_markdown;
pub use text::render_text;

use crate::phase::OverallPhase;
use crate::verdict::Verdict;

/// One line that sums the verdict up, shared by the text and Markdown headings.
fn summary(verdict: &Verdict) -> String {
    let mut line = match (verdict.phase, verdict.risk, verdict.approval) {
        (OverallPhase::None, _, _) | (_, None, _) | (_, _, None) => "no file is classified".to_owned(),
        (phase, Some(risk), Some(approval)) => {
            format!("{}, risk {risk}, approval: {approval}", phase.label())
        }
    };
    if verdict.emergency {
        line.push_str(" (EMERGENCY: the cluster is not operational)");
    }
    line
}

/// What the text and Markdown outputs say about unclassified files.
fn unclassified_note(verdict: &Verdict) -> Option<String> {
    match verdict.unclassified.len() {
        0 => None,
        1 => Some("1 file matches no rule and needs a human decision (it does not count toward the risk)".to_owned()),
        n => Some(format!("{n} files match no rule and need a human decision (they do not count toward the risk)")),
    }
}
