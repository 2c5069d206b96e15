//! Masking secrets before anything leaves the engine.
//!
//! Secret values (vars marked `secret`, such as credentials read with `op read`) are replaced
//! by `****` in every command echo and output line, so they never reach the terminal, logs,
//! the journal, state or JSON events.

use std::sync::{Arc, Mutex, PoisonError};

/// The mask put in place of a secret.
pub const MASK: &str = "****";

/// Replaces known secret values in text. Cheap to clone; sees secrets added later.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Arc<Mutex<Vec<String>>>,
}

impl Masker {
    /// A masker over a shared, growing list of secret values.
    pub fn new(secrets: Arc<Mutex<Vec<String>>>) -> Self {
        Self { secrets }
    }

    /// Adds a secret value found while running (e.g. a dynamic env value marked secret).
    /// Values shorter than 4 characters are ignored: masking them would garble ordinary text.
    pub fn add(&self, value: &str) {
        let value = value.trim();
        if value.len() < 4 {
            return;
        }
        let mut secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        if !secrets.iter().any(|s| s == value) {
            secrets.push(value.to_string());
        }
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = text.to_string();
        // Longest first, so a secret that contains another is masked whole.
        let mut sorted: Vec<&String> = secrets.iter().collect();
        sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in sorted {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }

    /// True when `text` contains no secret.
    pub fn is_clean(&self, text: &str) -> bool {
        let secrets = self.secrets.lock().unwrap_or_else(PoisonError::into_inner);
        !secrets.iter().any(|s| text.contains(s.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let m = Masker::new(Arc::new(Mutex::new(vec!["abcd".into(), "abcdefgh".into()])));
        assert_eq!(m.mask("x abcdefgh y abcd"), "x **** y ****");
        assert!(!m.is_clean("abcd"));
        assert!(m.is_clean("abc"));
    }
}
