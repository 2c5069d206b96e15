//! The one masker: every string opsrun prints, writes or reports passes through it.
//!
//! Secret values (vars marked `secret` such as credentials read with `op read`, command-line
//! values of credential-looking names, dynamic env values marked secret) are replaced by
//! `****` in command echoes, output lines, gate labels and details, messages, events, the
//! journal, logs, state, `graph` and `status`. A multi-line secret (an SSH key, a kubeconfig)
//! is also masked line by line, because output arrives one line at a time: each of its lines of
//! at least [`MIN_SECRET_LINE`] characters is a secret of its own. Values shorter than
//! [`MIN_SECRET`] are not plausible secrets and would garble ordinary text; they are ignored.
//!
//! What cannot be masked: a secret transformed by a command (base64, a hash, one character per
//! line) is a different string. `SECURITY.md` says so.

use std::sync::{Arc, Mutex, PoisonError};

use aho_corasick::AhoCorasick;

/// The mask put in place of a secret.
pub const MASK: &str = "****";

/// The shortest value treated as a secret.
pub const MIN_SECRET: usize = 4;

/// The shortest line of a multi-line secret that is masked on its own (shorter lines, such as
/// `-----` or `}`, occur in ordinary output).
pub const MIN_SECRET_LINE: usize = 6;

/// Replaces known secret values in text. Cheap to clone: clones share one growing list, so a
/// secret found later (while a plan runs) is masked everywhere from then on.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Arc<Mutex<Secrets>>,
}

/// The known secrets and one automaton finding all of them in a single pass over a text.
#[derive(Debug, Default)]
struct Secrets {
    list: Vec<String>,
    /// Built again when a secret is added (rare); `None` while there is none.
    matcher: Option<AhoCorasick>,
}

impl Secrets {
    /// The byte ranges of `text` that belong to an occurrence of any secret, merged: where two
    /// secrets overlap, both are masked whole (a shorter secret found first never leaves the
    /// rest of a longer one showing).
    fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        let Some(matcher) = &self.matcher else { return Vec::new() };
        if !matcher.is_match(text) {
            return Vec::new();
        }
        let mut found: Vec<(usize, usize)> =
            matcher.find_overlapping_iter(text).map(|m| (m.start(), m.end())).collect();
        found.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(found.len());
        for (start, end) in found {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

/// `text` with each of `ranges` (sorted, disjoint) replaced by [`MASK`].
fn replace_ranges(text: &str, ranges: &[(usize, usize)]) -> String {
    let mut masked = String::with_capacity(text.len());
    let mut at = 0;
    for &(start, end) in ranges {
        masked.push_str(&text[at..start]);
        masked.push_str(MASK);
        at = end;
    }
    masked.push_str(&text[at..]);
    masked
}

impl Masker {
    /// A masker with no secrets yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Secrets> {
        self.secrets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a secret value (trimmed), and each line of a multi-line value.
    pub fn add(&self, value: &str) {
        let value = value.trim();
        let mut secrets = self.lock();
        let before = secrets.list.len();
        let mut insert = |s: &str| {
            if !secrets.list.iter().any(|known| known == s) {
                secrets.list.push(s.to_string());
            }
        };
        if value.len() >= MIN_SECRET {
            insert(value);
        }
        if value.contains('\n') {
            for line in value.lines().map(str::trim).filter(|l| l.len() >= MIN_SECRET_LINE) {
                insert(line);
            }
        }
        if secrets.list.len() != before {
            // Every pattern is at least MIN_SECRET bytes, so the build cannot fail on an empty
            // pattern; if it ever did, masking everything is not an option, so keep the old one.
            if let Ok(matcher) = AhoCorasick::new(&secrets.list) {
                secrets.matcher = Some(matcher);
            }
        }
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        self.mask_cow(text).into_owned()
    }

    /// [`Masker::mask`] without a copy when `text` holds no secret.
    pub fn mask_cow<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        let ranges = self.lock().ranges(text);
        if ranges.is_empty() {
            std::borrow::Cow::Borrowed(text)
        } else {
            std::borrow::Cow::Owned(replace_ranges(text, &ranges))
        }
    }

    /// [`Masker::mask`] for an owned string (no copy when it holds no secret).
    pub fn mask_owned(&self, text: String) -> String {
        let ranges = self.lock().ranges(&text);
        if ranges.is_empty() { text } else { replace_ranges(&text, &ranges) }
    }

    /// Masks each of `lines` in place, line by line as [`Masker::mask`] would (a chunk of output
    /// lines: one lock, and one scan of them all when none holds a secret).
    pub fn mask_lines(&self, lines: &mut opsrun_event::LineBuf) {
        let secrets = self.lock();
        let Some(matcher) = &secrets.matcher else { return };
        if !matcher.is_match(lines.as_slice().joined()) {
            return;
        }
        lines.replace_each(|line| {
            let ranges = secrets.ranges(line);
            (!ranges.is_empty()).then(|| replace_ranges(line, &ranges))
        });
    }

    /// True when `text` contains no secret.
    pub fn is_clean(&self, text: &str) -> bool {
        self.lock().matcher.as_ref().is_none_or(|m| !m.is_match(text))
    }

    /// How many secret strings are known (lines of multi-line secrets counted separately).
    pub fn len(&self) -> usize {
        self.lock().list.len()
    }

    /// True when no secret is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let m = Masker::new();
        m.add("abcd");
        m.add("abcdefgh");
        assert_eq!(m.mask("x abcdefgh y abcd"), "x **** y ****");
        assert!(!m.is_clean("abcd"));
        assert!(m.is_clean("abc"));
    }

    #[test]
    fn short_values_are_not_secrets() {
        let m = Masker::new();
        m.add("abc");
        m.add("  ");
        assert!(m.is_empty());
        assert_eq!(m.mask("abc"), "abc");
    }

    #[test]
    fn a_multi_line_secret_is_masked_line_by_line() {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        let m = Masker::new();
        m.add(key);
        // Each line as it would be printed on its own.
        assert_eq!(m.mask("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"), MASK);
        assert_eq!(m.mask("-----BEGIN OPENSSH PRIVATE KEY-----"), MASK);
        // A line shorter than MIN_SECRET_LINE is ordinary text.
        assert_eq!(m.mask("AAAA"), "AAAA");
        // And the whole value where it appears whole.
        assert_eq!(m.mask(key.trim()), MASK);
    }

    #[test]
    fn overlapping_secrets_are_both_masked_whole() {
        let m = Masker::new();
        m.add("abcd");
        m.add("bcdefgh");
        // `abcd` starts first, but masking only it would leave `efgh` of the other showing.
        assert_eq!(m.mask("xabcdefghy"), "x****y");
        assert_eq!(m.mask("abcd bcdefgh"), "**** ****");
        assert_eq!(m.mask("no secret here"), "no secret here");
        let mut lines: opsrun_event::LineBuf = ["a abcd", "clean", "bcdefgh!"].into_iter().collect();
        m.mask_lines(&mut lines);
        assert_eq!(lines.as_slice().iter().collect::<Vec<_>>(), ["a ****", "clean", "****!"]);
        // A secret of two lines is masked line by line, never across the line break.
        m.add("first line\nsecond line");
        let mut lines: opsrun_event::LineBuf = ["x first line", "second line y"].into_iter().collect();
        m.mask_lines(&mut lines);
        assert_eq!(lines.as_slice().iter().collect::<Vec<_>>(), ["x ****", "**** y"]);
    }
}
