//! JSON output: the [`Verdict`] as documented in `docs/classify.md` (schema version 1).

use crate::verdict::Verdict;

/// The verdict as pretty-printed JSON, keys in declaration order, with a trailing newline.
pub fn render_json(verdict: &Verdict) -> String {
    // Serialising plain structs, strings and enums to a String cannot fail.
    let mut out = serde_json::to_string_pretty(verdict).expect("verdict serialises to JSON");
    out.push('\n');
    out
}
