//! Standard output through the plan's masker: what a command prints about a plan (its graph,
//! explanations, gate assessments) can hold a rendered secret, in a gate's URL say.

use std::io::{self, StdoutLock, Write};

use opsrun_spec::Masker;

/// A line-buffered writer that masks each complete line before writing it.
pub(crate) struct MaskedStdout<'m> {
    masker: &'m Masker,
    inner: StdoutLock<'static>,
    pending: Vec<u8>,
}

/// Standard output, masked with `masker`.
pub(crate) fn stdout(masker: &Masker) -> MaskedStdout<'_> {
    MaskedStdout { masker, inner: io::stdout().lock(), pending: Vec::new() }
}

impl MaskedStdout<'_> {
    fn write_masked(&mut self, bytes: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(bytes);
        self.inner.write_all(self.masker.mask(&text).as_bytes())
    }
}

impl Write for MaskedStdout<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            self.write_masked(&lines)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let rest = std::mem::take(&mut self.pending);
        if !rest.is_empty() {
            self.write_masked(&rest)?;
        }
        self.inner.flush()
    }
}

impl Drop for MaskedStdout<'_> {
    fn drop(&mut self) {
        // A closed pipe is not worth a panic.
        let _ = self.flush();
    }
}
