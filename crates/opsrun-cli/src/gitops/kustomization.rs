//! A Kustomization's state as `flux get kustomizations NAME` prints it, and the Git commit in
//! the revision it applied.
//!
//! The table has a header (`NAME REVISION SUSPENDED READY MESSAGE`, with `NAMESPACE` first
//! under `-A`) and one row per Kustomization; cells are padded to the header's columns, so a
//! cell is read between its column's start and the next one's (an empty REVISION, before the
//! first apply, stays empty instead of shifting the row).

/// One Kustomization's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KustomizationStatus {
    /// The READY cell: `True`, `False`, `Unknown`.
    pub(crate) ready: String,
    /// The SUSPENDED cell, when the table has one.
    pub(crate) suspended: Option<String>,
    /// The last applied revision (`main@sha1:0123abcd`; flux shortens the hash).
    pub(crate) revision: String,
    /// The MESSAGE cell.
    pub(crate) message: String,
}

impl KustomizationStatus {
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.eq_ignore_ascii_case("true")
    }

    pub(crate) fn is_suspended(&self) -> bool {
        self.suspended.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("true"))
    }
}

/// Finds `name`'s row in a `flux get kustomizations` table.
pub(crate) fn parse_status(output: &str, name: &str) -> Result<KustomizationStatus, String> {
    let mut lines = output.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .by_ref()
        .find(|l| {
            let upper = l.to_ascii_uppercase();
            upper.split_whitespace().any(|w| w == "READY") && upper.split_whitespace().any(|w| w == "REVISION")
        })
        .ok_or_else(|| "no table with READY and REVISION columns in its output".to_string())?;
    let columns = columns(header);
    let cell = |row: &str, title: &str| -> Option<String> {
        let i = columns.iter().position(|(t, _)| t == title)?;
        let start = columns[i].1;
        let end = columns.get(i + 1).map_or(usize::MAX, |c| c.1);
        let chars: Vec<char> = row.chars().collect();
        if start >= chars.len() {
            return Some(String::new());
        }
        Some(chars[start..end.min(chars.len())].iter().collect::<String>().trim().to_string())
    };
    let titles: Vec<&str> = columns.iter().map(|(t, _)| t.as_str()).collect();
    for row in lines {
        let by_offset = KustomizationStatus {
            ready: cell(row, "READY").unwrap_or_default(),
            suspended: cell(row, "SUSPENDED"),
            revision: cell(row, "REVISION").unwrap_or_default(),
            message: cell(row, "MESSAGE").unwrap_or_default(),
        };
        if cell(row, "NAME").as_deref() == Some(name) && is_condition(&by_offset.ready) {
            return Ok(by_offset);
        }
        // A cell wider than its column shifts the rest of the row: read it word by word (the
        // message, last, may contain spaces).
        let words: Vec<&str> = row.split_whitespace().collect();
        let word = |title: &str| titles.iter().position(|t| *t == title).and_then(|i| words.get(i).copied());
        if words.len() >= titles.len().saturating_sub(1) && word("NAME") == Some(name) {
            let by_word = KustomizationStatus {
                ready: word("READY").unwrap_or_default().to_string(),
                suspended: word("SUSPENDED").map(str::to_string),
                revision: word("REVISION").unwrap_or_default().to_string(),
                message: titles
                    .iter()
                    .position(|t| *t == "MESSAGE")
                    .map(|i| words.get(i..).unwrap_or_default().join(" "))
                    .unwrap_or_default(),
            };
            if is_condition(&by_word.ready) {
                return Ok(by_word);
            }
        }
    }
    Err(format!("no row for `{name}` in its output"))
}

/// A Kubernetes condition status.
fn is_condition(text: &str) -> bool {
    ["true", "false", "unknown"].iter().any(|c| text.eq_ignore_ascii_case(c))
}

/// Each header word (upper-cased) with the character offset where its column starts.
fn columns(header: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let chars: Vec<char> = header.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push((chars[s..i].iter().collect::<String>().to_ascii_uppercase(), s));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((chars[s..].iter().collect::<String>().to_ascii_uppercase(), s));
    }
    out
}

/// The Git commit id in a Flux revision: `main@sha1:<id>` (Flux 2), `main/<id>` (Flux 0.x),
/// `sha1:<id>` or a bare id; `None` when there is none (an OCI digest, an empty revision).
pub(crate) fn commit_of(revision: &str) -> Option<&str> {
    let revision = revision.trim();
    let candidate = if let Some(i) = revision.rfind("sha1:") {
        &revision[i + "sha1:".len()..]
    } else if revision.contains("sha256:") {
        return None;
    } else {
        revision.rsplit('/').next().unwrap_or(revision)
    };
    let is_id = (7..=40).contains(&candidate.len()) && candidate.chars().all(|c| c.is_ascii_hexdigit());
    is_id.then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_row_by_its_columns() {
        let out = "NAME       \tREVISION          \tSUSPENDED\tREADY\tMESSAGE\napps       \tmain@sha1:0123abcd\tFalse    \tTrue \tApplied revision: main@sha1:0123abcd\n";
        let status = parse_status(out, "apps").unwrap();
        assert_eq!(status.revision, "main@sha1:0123abcd");
        assert!(status.is_ready());
        assert!(!status.is_suspended());
        assert_eq!(status.message, "Applied revision: main@sha1:0123abcd");
    }

    #[test]
    fn an_empty_revision_does_not_shift_the_row() {
        let out = "NAME   REVISION             SUSPENDED  READY  MESSAGE\napps                        True       False  waiting to be reconciled\n";
        let status = parse_status(out, "apps").unwrap();
        assert_eq!(status.revision, "");
        assert!(status.is_suspended());
        assert!(!status.is_ready());
    }

    #[test]
    fn an_overflowing_cell_is_read_word_by_word() {
        let out = "NAME   REVISION     SUSPENDED  READY  MESSAGE\napps   main@sha1:0123456789abcdef0123 False      True   Applied revision: main@sha1:0123456789ab\n";
        let status = parse_status(out, "apps").unwrap();
        assert_eq!(status.revision, "main@sha1:0123456789abcdef0123");
        assert!(status.is_ready());
        assert!(!status.is_suspended());
        assert_eq!(status.message, "Applied revision: main@sha1:0123456789ab");
    }

    #[test]
    fn missing_rows_and_tables_are_errors() {
        assert!(parse_status("✗ no Kustomization objects found", "apps").unwrap_err().contains("READY"));
        let out = "NAME  REVISION  SUSPENDED  READY  MESSAGE\nweb   main/abc  False      True   ok\n";
        assert_eq!(parse_status(out, "apps").unwrap_err(), "no row for `apps` in its output");
    }

    #[test]
    fn finds_the_commit_in_every_revision_format() {
        assert_eq!(commit_of("main@sha1:0123abcd4567"), Some("0123abcd4567"));
        assert_eq!(commit_of("refs/heads/main@sha1:0123abcd"), Some("0123abcd"));
        assert_eq!(
            commit_of("main/0123abcdef0123abcdef0123abcdef01234567"),
            Some("0123abcdef0123abcdef0123abcdef01234567")
        );
        assert_eq!(commit_of("sha1:0123abc"), Some("0123abc"));
        assert_eq!(commit_of("latest@sha256:0123abcd"), None);
        assert_eq!(commit_of(""), None);
        assert_eq!(commit_of("main@sha1:xyz"), None);
    }
}
