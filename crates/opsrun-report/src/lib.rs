//! Turns opsrun Events into output: progress bars, plain lines, JSON lines, summary.
