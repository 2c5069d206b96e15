//! Text helpers shared by the renderers: cleaning event text for a terminal and formatting durations.

use std::fmt::Write as _;

/// Makes one line of event text safe to print: ANSI escape sequences are removed, a carriage
/// return keeps only what a terminal would finally show, and other control characters are
/// dropped (tabs survive).
pub(crate) fn clean_line(line: &str) -> String {
    clean_line_cow(line).into_owned()
}

/// One line of printable ASCII (tabs too): what [`clean_line`] leaves as it is.
pub(crate) fn is_plain_line(text: &str) -> bool {
    text.bytes().all(|b| (b' '..0x7f).contains(&b) || b == b'\t')
}

/// [`clean_line`] without a copy for the common line: printable ASCII (and tabs) only.
pub(crate) fn clean_line_cow(line: &str) -> std::borrow::Cow<'_, str> {
    if is_plain_line(line) {
        return std::borrow::Cow::Borrowed(line);
    }
    let stripped = console::strip_ansi_codes(line);
    let trimmed = stripped.trim_end_matches('\r');
    let last = trimmed.rsplit('\r').next().unwrap_or(trimmed);
    std::borrow::Cow::Owned(last.chars().filter(|c| *c == '\t' || !c.is_control()).collect())
}

/// [`clean_line`] for text that may span lines; the lines are kept, joined by `\n`.
pub(crate) fn clean_text(text: &str) -> String {
    text.trim_end_matches('\n').split('\n').map(clean_line).collect::<Vec<_>>().join("\n")
}

/// `text` cut to `width` terminal columns, ending in `…` when it was cut. Escape sequences are
/// kept (and not counted).
pub(crate) fn fit(text: &str, width: usize) -> String {
    console::truncate_str(text, width, "…").into_owned()
}

/// A live clock in whole seconds: `0s`, `12s`, `1m05s`, `1h02m`.
pub(crate) fn clock(elapsed: std::time::Duration) -> String {
    let secs = elapsed.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// A task or command duration: `0.4s`, `12.3s`, `1m05s`, `1h02m`.
pub(crate) fn duration(ms: u64) -> String {
    if ms < 60_000 {
        // Tenths, rounded half up, as an integer to avoid float formatting surprises.
        let tenths = (ms + 50) / 100;
        if tenths < 600 {
            return format!("{}.{}s", tenths / 10, tenths % 10);
        }
    }
    let secs = (ms + 500) / 1000;
    if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

/// A coarse duration in whole units: `35s`, `5m`, `1m30s`, `2h`, `1h05m`; under a second, `0.5s`.
pub(crate) fn coarse_duration(ms: u64) -> String {
    if (1..1000).contains(&ms) {
        return duration(ms);
    }
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h");
        if m > 0 {
            let _ = write!(out, "{m:02}m");
        }
        return out;
    }
    if m > 0 {
        let _ = write!(out, "{m}m");
        if s > 0 {
            let _ = write!(out, "{s:02}s");
        }
        return out;
    }
    format!("{s}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_lines() {
        assert_eq!(clean_line("\u{1b}[32mok\u{1b}[0m done"), "ok done");
        assert_eq!(clean_line("10%\r50%\r100%\r"), "100%");
        assert_eq!(clean_line("a\tb\u{7}c"), "a\tbc");
        assert_eq!(clean_text("one\n\u{1b}[1mtwo\u{1b}[0m\n"), "one\ntwo");
    }

    #[test]
    fn fits_and_clocks() {
        assert_eq!(fit("health: not ready", 10), "health: n…");
        assert_eq!(fit("short", 10), "short");
        assert_eq!(clock(std::time::Duration::from_millis(999)), "0s");
        assert_eq!(clock(std::time::Duration::from_secs(65)), "1m05s");
        assert_eq!(clock(std::time::Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn formats_durations() {
        let table = [
            (0, "0.0s"),
            (49, "0.0s"),
            (50, "0.1s"),
            (12_340, "12.3s"),
            (59_949, "59.9s"),
            (59_960, "1m00s"),
            (65_000, "1m05s"),
            (3_599_000, "59m59s"),
            (3_720_000, "1h02m"),
        ];
        for (ms, expected) in table {
            assert_eq!(duration(ms), expected, "{ms} ms");
        }
    }

    #[test]
    fn formats_coarse_durations() {
        let table = [
            (0, "0s"),
            (500, "0.5s"),
            (35_400, "35s"),
            (300_000, "5m"),
            (90_000, "1m30s"),
            (7_200_000, "2h"),
            (3_900_000, "1h05m"),
        ];
        for (ms, expected) in table {
            assert_eq!(coarse_duration(ms), expected, "{ms} ms");
        }
    }
}
