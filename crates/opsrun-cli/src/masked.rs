//! Standard output through the plan's masker: what a command prints about a plan (its graph,
//! explanations, gate assessments) can hold a rendered secret, in a gate's URL say.
//!
//! Only complete lines are masked and written (a secret is never split across two writes), and
//! every byte goes through the masker. [`stdout`] writes each line as soon as it is complete,
//! for a command that prints while it works (an assessment before a confirmation); [`buffered`]
//! gathers lines and writes them in blocks, for a command that prints everything at once (a
//! dry run of 10,000 tasks is one `write` per block instead of one per line).

use std::io::{self, StdoutLock, Write};

use opsrun_spec::Masker;

/// How many bytes of complete lines [`buffered`] gathers before masking and writing them.
const BLOCK: usize = 64 * 1024;

/// A writer that masks complete lines before writing them to standard output.
pub(crate) type MaskedStdout<'m> = Masked<'m, StdoutLock<'static>>;

/// A writer that masks complete lines before writing them to `W`.
pub(crate) struct Masked<'m, W: Write> {
    masker: &'m Masker,
    inner: W,
    pending: Vec<u8>,
    /// Complete lines are written once `pending` holds at least this many bytes (1: at once).
    threshold: usize,
}

/// Standard output, masked with `masker`, each line written when complete.
pub(crate) fn stdout(masker: &Masker) -> MaskedStdout<'_> {
    Masked::new(masker, io::stdout().lock(), 1)
}

/// Standard output, masked with `masker`, lines written in blocks (and the rest when flushed or
/// dropped): for output printed all at once, with nothing on stderr or stdin in between.
pub(crate) fn buffered(masker: &Masker) -> MaskedStdout<'_> {
    Masked::new(masker, io::stdout().lock(), BLOCK)
}

impl<'m, W: Write> Masked<'m, W> {
    fn new(masker: &'m Masker, inner: W, threshold: usize) -> Self {
        let pending = if threshold > 1 { Vec::with_capacity(threshold + 1024) } else { Vec::new() };
        Masked { masker, inner, pending, threshold }
    }
}

fn write_masked(masker: &Masker, out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    // `from_utf8` first: its check is much faster than the lossy conversion's, and most text is
    // valid.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    out.write_all(masker.mask_cow(&text).as_bytes())
}

impl<W: Write> Write for Masked<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= self.threshold
            && let Some(end) = self.pending.iter().rposition(|&b| b == b'\n')
        {
            let written = write_masked(self.masker, &mut self.inner, &self.pending[..=end]);
            self.pending.drain(..=end);
            written?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let written = write_masked(self.masker, &mut self.inner, &self.pending);
            self.pending.clear();
            written?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Masked<'_, W> {
    fn drop(&mut self) {
        // A closed pipe is not worth a panic.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records each write it is given.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl Write for &mut Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn secret() -> Masker {
        let masker = Masker::new();
        masker.add("hunter2-secret");
        masker
    }

    #[test]
    fn line_mode_writes_each_complete_line_masked() {
        let masker = secret();
        let mut writes = Writes::default();
        {
            let mut out = Masked::new(&masker, &mut writes, 1);
            write!(out, "token hunter2").unwrap();
            writeln!(out, "-secret here").unwrap();
            write!(out, "partial hunter2-secret").unwrap();
        }
        let text: Vec<String> = writes.0.iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect();
        assert_eq!(text, ["token **** here\n", "partial ****"], "a line split across writes is masked whole");
    }

    #[test]
    fn buffered_mode_writes_blocks_of_masked_lines() {
        let masker = secret();
        let mut writes = Writes::default();
        let mut expected = String::new();
        {
            let mut out = Masked::new(&masker, &mut writes, BLOCK);
            for i in 0..10_000 {
                writeln!(out, "{i}. echo hunter2-secret").unwrap();
                expected.push_str(&format!("{i}. echo ****\n"));
            }
            write!(out, "no newline at the end: hunter2-secret").unwrap();
            expected.push_str("no newline at the end: ****");
        }
        assert!(writes.0.len() < 10, "{} writes for 10,000 lines", writes.0.len());
        assert!(writes.0.iter().rev().skip(1).all(|w| w.ends_with(b"\n")), "blocks end at a line's end");
        assert_eq!(String::from_utf8(writes.0.concat()).unwrap(), expected);
    }
}
