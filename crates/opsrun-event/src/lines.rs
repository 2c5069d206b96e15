//! Lines of text kept in one buffer: how a command's output travels from its pipe to every
//! sink without an allocation per line. [`LineBuf`] owns the lines, [`LineSlice`] is a cheap
//! view of some of them (what [`crate::OutputLines`] hands to sinks).
//!
//! The lines are stored joined by `\n`, so a line never holds a `\n` of its own: a `\n` pushed
//! in a line starts a new one.

use std::fmt;

/// Lines of text in one buffer.
///
/// ```
/// use opsrun_event::LineBuf;
///
/// let mut lines = LineBuf::new();
/// lines.push("first");
/// lines.push("");
/// lines.push("third");
/// assert_eq!(lines.len(), 3);
/// assert_eq!(lines.as_slice().iter().collect::<Vec<_>>(), ["first", "", "third"]);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LineBuf {
    /// The lines joined by `\n` (no `\n` after the last one).
    text: String,
    len: usize,
}

impl LineBuf {
    /// No lines.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `line` (without its newline) as the last line.
    pub fn push(&mut self, line: &str) {
        if self.len > 0 {
            self.text.push('\n');
        }
        self.text.push_str(line);
        self.len += 1 + memchr::memchr_iter(b'\n', line.as_bytes()).count();
    }

    /// How many lines.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// No lines at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every line (the buffer is kept).
    pub fn clear(&mut self) {
        self.text.clear();
        self.len = 0;
    }

    /// A view of all the lines.
    #[must_use]
    pub fn as_slice(&self) -> LineSlice<'_> {
        LineSlice { text: &self.text, len: self.len }
    }

    /// Replaces each line for which `change` returns a new text; the buffer is rebuilt only
    /// when some line changed. (`change` must not return a text with a `\n` in it: that would
    /// make it two lines.)
    pub fn replace_each(&mut self, mut change: impl FnMut(&str) -> Option<String>) {
        let mut rebuilt: Option<Self> = None;
        for (i, line) in self.as_slice().iter().enumerate() {
            match (change(line), rebuilt.as_mut()) {
                (Some(new), Some(out)) => out.push(&new),
                (Some(new), None) => {
                    let mut out = Self { text: String::with_capacity(self.text.len()), len: 0 };
                    for earlier in self.as_slice().iter().take(i) {
                        out.push(earlier);
                    }
                    out.push(&new);
                    rebuilt = Some(out);
                }
                (None, Some(out)) => out.push(line),
                (None, None) => {}
            }
        }
        if let Some(out) = rebuilt {
            *self = out;
        }
    }
}

impl fmt::Debug for LineBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_slice(), f)
    }
}

impl<'a> FromIterator<&'a str> for LineBuf {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        let mut lines = Self::new();
        for line in iter {
            lines.push(line);
        }
        lines
    }
}

/// Some lines, borrowed: from a [`LineBuf`], or [`LineSlice::one`] line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LineSlice<'a> {
    text: &'a str,
    len: usize,
}

impl<'a> LineSlice<'a> {
    /// `text` as lines: one, unless it holds a `\n`.
    #[must_use]
    pub fn one(text: &'a str) -> Self {
        Self { text, len: 1 + memchr::memchr_iter(b'\n', text.as_bytes()).count() }
    }

    /// How many lines.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// No lines at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The lines, in order.
    #[must_use]
    pub fn iter(&self) -> LineIter<'a> {
        LineIter { rest: self.text, left: self.len }
    }

    /// The lines joined by `\n` (no `\n` after the last).
    #[must_use]
    pub fn joined(&self) -> &'a str {
        self.text
    }

    /// The bytes the lines take with a newline each.
    #[must_use]
    pub fn bytes_with_newlines(&self) -> usize {
        if self.len == 0 { 0 } else { self.text.len() + 1 }
    }

    /// The first `n` lines and the rest (all of them in the first when there are fewer).
    #[must_use]
    pub fn split_at(&self, n: usize) -> (Self, Self) {
        if n >= self.len {
            return (*self, Self { text: "", len: 0 });
        }
        if n == 0 {
            return (Self { text: "", len: 0 }, *self);
        }
        let cut = memchr::memchr_iter(b'\n', self.text.as_bytes()).nth(n - 1).unwrap_or(self.text.len());
        (
            Self { text: &self.text[..cut], len: n },
            Self { text: self.text.get(cut + 1..).unwrap_or_default(), len: self.len - n },
        )
    }

    /// The last `n` lines (all of them when there are fewer).
    #[must_use]
    pub fn last(&self, n: usize) -> Self {
        if n >= self.len {
            return *self;
        }
        if n == 0 {
            return Self { text: "", len: 0 };
        }
        let cut = memchr::memrchr_iter(b'\n', self.text.as_bytes()).nth(n - 1).map_or(0, |i| i + 1);
        Self { text: &self.text[cut..], len: n }
    }
}

impl fmt::Debug for LineSlice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for LineSlice<'a> {
    type Item = &'a str;
    type IntoIter = LineIter<'a>;

    fn into_iter(self) -> LineIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &LineSlice<'a> {
    type Item = &'a str;
    type IntoIter = LineIter<'a>;

    fn into_iter(self) -> LineIter<'a> {
        self.iter()
    }
}

/// The lines of a [`LineSlice`], in order.
#[derive(Debug, Clone)]
pub struct LineIter<'a> {
    rest: &'a str,
    left: usize,
}

impl<'a> Iterator for LineIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        if self.left == 0 {
            return Some(std::mem::take(&mut self.rest));
        }
        let end = memchr::memchr(b'\n', self.rest.as_bytes()).unwrap_or(self.rest.len());
        let line = &self.rest[..end];
        self.rest = self.rest.get(end + 1..).unwrap_or_default();
        Some(line)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for LineIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(lines: &[&str]) -> LineBuf {
        lines.iter().copied().collect()
    }

    #[test]
    fn empty_lines_count_and_a_newline_in_a_pushed_line_starts_another() {
        let mut lines = buf(&["", "", "x"]);
        assert_eq!((lines.len(), lines.as_slice().iter().collect::<Vec<_>>()), (3, vec!["", "", "x"]));
        lines.push("a\nb");
        assert_eq!(lines.as_slice().iter().collect::<Vec<_>>(), ["", "", "x", "a", "b"]);
        assert_eq!(lines.len(), 5);
        lines.clear();
        assert!(lines.is_empty() && lines.as_slice().iter().next().is_none());
        assert_eq!(buf(&[""]).as_slice().iter().collect::<Vec<_>>(), [""]);
        assert_eq!(LineSlice::one("a\nb").iter().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn split_and_last_give_the_lines_they_say() {
        let lines = buf(&["a", "bb", "", "ccc"]);
        let all = lines.as_slice();
        for n in 0..=5 {
            let (head, tail) = all.split_at(n);
            let expected: Vec<&str> = all.iter().collect();
            let k = n.min(expected.len());
            assert_eq!(head.iter().collect::<Vec<_>>(), &expected[..k], "split_at({n}) head");
            assert_eq!(tail.iter().collect::<Vec<_>>(), &expected[k..], "split_at({n}) tail");
            assert_eq!((head.len(), tail.len()), (k, expected.len() - k));
            assert_eq!(all.last(n).iter().collect::<Vec<_>>(), &expected[expected.len() - k..], "last({n})");
        }
        assert_eq!(all.bytes_with_newlines(), 10);
        assert_eq!(all.split_at(0).0.bytes_with_newlines(), 0);
    }

    #[test]
    fn replace_each_rebuilds_only_what_changed() {
        let mut lines = buf(&["keep", "secret here", "keep too", "secret"]);
        lines.replace_each(|l| l.contains("secret").then(|| l.replace("secret", "***")));
        assert_eq!(lines, buf(&["keep", "*** here", "keep too", "***"]));
        let before = lines.clone();
        lines.replace_each(|_| None);
        assert_eq!(lines, before);
    }
}
