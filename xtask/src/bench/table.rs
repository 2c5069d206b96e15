//! The results as a markdown table, and the results section of `docs/benchmarks.md`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use super::pairs::Spread;
use super::process::PeakRss;

pub(crate) const BEGIN_MARKER: &str = "<!-- bench:begin -->";
pub(crate) const END_MARKER: &str = "<!-- bench:end -->";

const HEADER: [&str; 10] = [
    "workload",
    "opsrun",
    "opsrun CPU",
    "opsrun peak RSS",
    "compared with",
    "its time",
    "its peak RSS",
    "ratio: median of pairs (range)",
    "target",
    "met?",
];

/// One line of the table, already formatted; `—` where a cell does not apply.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) workload: String,
    /// opsrun's median wall time (or its throughput).
    pub(crate) opsrun: String,
    /// opsrun's median user + system CPU time, its children's included.
    pub(crate) cpu: String,
    /// The largest `ru_maxrss` of opsrun's runs.
    pub(crate) rss: String,
    /// What opsrun is compared with.
    pub(crate) other: String,
    pub(crate) other_time: String,
    pub(crate) other_rss: String,
    pub(crate) ratio: String,
    pub(crate) target: String,
    /// `None` for rows that are information only.
    pub(crate) met: Option<bool>,
}

impl Row {
    /// A row whose cells are all `—` but the workload's.
    pub(crate) fn new(workload: impl Into<String>) -> Self {
        let none = || "—".to_string();
        Self {
            workload: workload.into(),
            opsrun: none(),
            cpu: none(),
            rss: none(),
            other: none(),
            other_time: none(),
            other_rss: none(),
            ratio: none(),
            target: none(),
            met: None,
        }
    }

    fn cells(&self) -> [String; 10] {
        let met = match self.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        [
            self.workload.clone(),
            self.opsrun.clone(),
            self.cpu.clone(),
            self.rss.clone(),
            self.other.clone(),
            self.other_time.clone(),
            self.other_rss.clone(),
            self.ratio.clone(),
            self.target.clone(),
            met.to_string(),
        ]
    }
}

/// A duration in milliseconds, with two decimals below 10 ms and one above.
pub(crate) fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.1} ms") }
}

/// A count with thousands separated: `10,000`.
pub(crate) fn grouped(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// KiB (as `ru_maxrss` counts) in MiB, with one decimal.
pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib_to_mib(kib))
}

/// A peak RSS in MiB; `≤ 4.3 MiB` when it is only an upper bound.
pub(crate) fn rss(peak: PeakRss) -> String {
    if peak.at_most { format!("≤ {}", mib(peak.kib)) } else { mib(peak.kib) }
}

pub(crate) fn kib_to_mib(kib: u64) -> f64 {
    // Exact for any RSS a machine has (below 2^53 KiB).
    #[expect(clippy::cast_precision_loss, reason = "RSS in KiB is far below 2^53")]
    let kib = kib as f64;
    kib / 1024.0
}

/// A ratio's median and, in parentheses, its range over the pairs: `1.18× (1.10–1.25)`.
pub(crate) fn ratio(spread: &Spread) -> String {
    format!("{:.2}× ({:.2}–{:.2})", spread.median, spread.min, spread.max)
}

/// A markdown table whose columns are padded so that it also reads well in a terminal.
pub(crate) fn markdown(rows: &[Row]) -> String {
    let cells: Vec<[String; 10]> = rows.iter().map(Row::cells).collect();
    let mut widths = HEADER.map(str::chars).map(Iterator::count);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        out.push('|');
        for (cell, width) in cells.iter().zip(widths) {
            let pad = width - cell.chars().count();
            let _ = write!(out, " {cell}{} |", " ".repeat(pad));
        }
        out.push('\n');
    };
    line(&mut out, &HEADER.map(str::to_string));
    line(&mut out, &widths.map(|w| "-".repeat(w)));
    for row in &cells {
        line(&mut out, row);
    }
    out
}

/// Replaces what lies between the bench markers of `path` with `section`.
pub(crate) fn write_section(path: &Path, section: &str) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("failed to read {}: {e}", path.display()))?;
    let replaced = replace_between_markers(&text, section)
        .ok_or_else(|| format!("{} has no `{BEGIN_MARKER}` … `{END_MARKER}` section to replace", path.display()))?;
    fs::write(path, replaced).map_err(|e| format!("failed to write {}: {e}", path.display()))
}

fn replace_between_markers(text: &str, section: &str) -> Option<String> {
    let begin = text.find(BEGIN_MARKER)? + BEGIN_MARKER.len();
    let end = begin + text[begin..].find(END_MARKER)?;
    Some(format!("{}\n{}\n{}", &text[..begin], section.trim_end(), &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_marked_section() {
        let text = format!("# Title\n\n{BEGIN_MARKER}\nold\nresults\n{END_MARKER}\n\nafter\n");
        let replaced = replace_between_markers(&text, "new\n").expect("markers present");
        assert_eq!(replaced, format!("# Title\n\n{BEGIN_MARKER}\nnew\n{END_MARKER}\n\nafter\n"));
        assert_eq!(replace_between_markers("no markers", "x"), None);
    }

    #[test]
    fn table_is_padded_markdown() {
        let row = Row {
            opsrun: ms(Duration::from_micros(1500)),
            rss: rss(PeakRss { kib: 3 * 1024 + 512, at_most: false }),
            other: "`floor 1 1`".into(),
            other_time: ms(Duration::from_millis(25)),
            ratio: ratio(&Spread { median: 0.06, min: 0.051, max: 0.2 }),
            target: "< 1.2×".into(),
            met: Some(false),
            ..Row::new("w")
        };
        let table = markdown(&[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| workload | opsrun  | opsrun CPU | opsrun peak RSS | compared with | its time | its peak RSS \
             | ratio: median of pairs (range) | target | met?   |"
        );
        assert_eq!(
            lines[2],
            "| w        | 1.50 ms | —          | 3.5 MiB         | `floor 1 1`   | 25.0 ms  | —            \
             | 0.06× (0.05–0.20)              | < 1.2× | **no** |"
        );
    }

    #[test]
    fn units() {
        assert_eq!(ms(Duration::from_micros(1234)), "1.23 ms");
        assert_eq!(ms(Duration::from_micros(12_345)), "12.3 ms");
        assert_eq!(mib(1024), "1.0 MiB");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(2_500), "2,500");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(mib(32 * 1024 - 60), "31.9 MiB");
        assert_eq!(rss(PeakRss { kib: 4403, at_most: true }), "≤ 4.3 MiB");
        assert_eq!(rss(PeakRss { kib: 4403, at_most: false }), "4.3 MiB");
    }
}
