//! [`LineWriter`]: a writer that never fails the caller.

use std::io::Write;

/// Wraps an output stream. Write errors (a closed pipe, a full disk) are ignored on purpose:
/// losing output must never stop or crash a run that is changing a cluster.
pub(crate) struct LineWriter {
    inner: Box<dyn Write + Send>,
}

impl LineWriter {
    pub(crate) fn new(inner: Box<dyn Write + Send>) -> Self {
        Self { inner }
    }

    /// Writes `text` followed by a newline, then flushes.
    pub(crate) fn line(&mut self, text: &str) {
        // One write per line: stderr is unbuffered, and a line must not be split by another
        // process writing to the same terminal.
        let mut buf = Vec::with_capacity(text.len() + 1);
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'\n');
        let _ = self.inner.write_all(&buf);
        let _ = self.inner.flush();
    }

    /// Writes `text` as is, then flushes.
    pub(crate) fn raw(&mut self, text: &str) {
        let _ = self.inner.write_all(text.as_bytes());
        let _ = self.inner.flush();
    }

    pub(crate) fn flush(&mut self) {
        let _ = self.inner.flush();
    }
}
