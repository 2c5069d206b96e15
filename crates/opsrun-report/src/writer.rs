//! [`LineWriter`]: a writer that never fails the caller.

use std::io::Write;

use opsrun_event::Stream;

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

/// stdout and stderr with one buffer that keeps their order: lines are collected until
/// [`Console::flush`] (the engine asks for it once per burst of events) and written then, one
/// write per run of consecutive lines to the same stream. So a task that prints 100 MB costs a
/// write per chunk, not per line, and its lines and the status lines around them still reach a
/// shared terminal (`2>&1`) in the order they happened. Write errors are ignored, as in
/// [`LineWriter`].
pub(crate) struct Console {
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    /// Unwritten text, in order; each part for one stream.
    pending: Vec<(Stream, Vec<u8>)>,
    /// Total bytes in `pending`.
    size: usize,
    /// Emptied buffers of written parts, for the next ones.
    spare: Vec<Vec<u8>>,
}

/// Past this much unwritten text, a line is written at once, whatever the engine does.
const CONSOLE_BUFFER: usize = 64 * 1024;

impl Console {
    pub(crate) fn new(out: Box<dyn Write + Send>, err: Box<dyn Write + Send>) -> Self {
        Self { out, err, pending: Vec::new(), size: 0, spare: Vec::new() }
    }

    /// Adds `text` and a newline for `stream`.
    pub(crate) fn line(&mut self, stream: Stream, text: &str) {
        self.line_of(stream, &[text]);
    }

    /// Adds the line made of `pieces` and a newline for `stream` (without putting it together
    /// first).
    pub(crate) fn line_of(&mut self, stream: Stream, pieces: &[&str]) {
        let part = self.part(stream);
        let mut len = 1;
        for piece in pieces {
            part.extend_from_slice(piece.as_bytes());
            len += piece.len();
        }
        part.push(b'\n');
        self.grew(len);
    }

    /// Adds `text` as is for `stream`.
    pub(crate) fn raw(&mut self, stream: Stream, text: &str) {
        self.part(stream).extend_from_slice(text.as_bytes());
        self.grew(text.len());
    }

    fn part(&mut self, stream: Stream) -> &mut Vec<u8> {
        if self.pending.last().is_none_or(|(s, _)| *s != stream) {
            let buf = self.spare.pop().unwrap_or_default();
            self.pending.push((stream, buf));
        }
        let (_, part) = self.pending.last_mut().expect("a part was just pushed");
        part
    }

    fn grew(&mut self, by: usize) {
        self.size += by;
        if self.size >= CONSOLE_BUFFER {
            self.flush();
        }
    }

    /// Writes everything pending, in order, and flushes both streams.
    pub(crate) fn flush(&mut self) {
        for (stream, mut part) in self.pending.drain(..) {
            let target = match stream {
                Stream::Stdout => &mut self.out,
                Stream::Stderr => &mut self.err,
            };
            let _ = target.write_all(&part);
            let _ = target.flush();
            // Kept for the next parts, unless it grew big (a task's flood of output).
            if self.spare.len() < 2 && part.capacity() <= CONSOLE_BUFFER * 2 {
                part.clear();
                self.spare.push(part);
            }
        }
        self.size = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer appending to a shared log of (stream, write) pairs.
    struct Tap(Stream, Arc<Mutex<Vec<(Stream, String)>>>);

    impl Write for Tap {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.1.lock().unwrap().push((self.0, String::from_utf8_lossy(buf).into_owned()));
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn console_keeps_the_order_of_both_streams_and_writes_once_per_run_of_lines() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut console = Console::new(
            Box::new(Tap(Stream::Stdout, Arc::clone(&log))),
            Box::new(Tap(Stream::Stderr, Arc::clone(&log))),
        );
        console.line(Stream::Stderr, "[a] started");
        console.line(Stream::Stdout, "one");
        console.line(Stream::Stdout, "two");
        console.raw(Stream::Stderr, "[a] ok\n");
        assert!(log.lock().unwrap().is_empty(), "nothing is written before a flush");
        console.flush();
        assert_eq!(
            *log.lock().unwrap(),
            [
                (Stream::Stderr, "[a] started\n".to_string()),
                (Stream::Stdout, "one\ntwo\n".to_string()),
                (Stream::Stderr, "[a] ok\n".to_string()),
            ]
        );
        console.flush();
        assert_eq!(log.lock().unwrap().len(), 3, "a second flush writes nothing");
    }

    #[test]
    fn console_writes_without_a_flush_past_its_buffer() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut console = Console::new(
            Box::new(Tap(Stream::Stdout, Arc::clone(&log))),
            Box::new(Tap(Stream::Stderr, Arc::clone(&log))),
        );
        let line = "x".repeat(1000);
        for _ in 0..70 {
            console.line(Stream::Stdout, &line);
        }
        let written: usize = log.lock().unwrap().iter().map(|(_, w)| w.len()).sum();
        assert_eq!(written, 66 * 1001, "written once the buffer held 64 KiB");
    }
}
