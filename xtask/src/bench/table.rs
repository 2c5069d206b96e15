//! The results as a markdown table, and the results section of `docs/benchmarks.md`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

pub(crate) const BEGIN_MARKER: &str = "<!-- bench:begin -->";
pub(crate) const END_MARKER: &str = "<!-- bench:end -->";

const HEADER: [&str; 8] = ["workload", "opsrun", "floor", "go-task", "just", "ratio vs floor", "target", "ok?"];

/// One line of the table, already formatted.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) workload: String,
    pub(crate) opsrun: String,
    pub(crate) floor: String,
    pub(crate) go_task: String,
    pub(crate) just: String,
    pub(crate) ratio: String,
    pub(crate) target: String,
    /// `None` for informational rows without a target.
    pub(crate) met: Option<bool>,
}

impl Row {
    fn cells(&self) -> [String; 8] {
        let ok = match self.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        [
            self.workload.clone(),
            self.opsrun.clone(),
            self.floor.clone(),
            self.go_task.clone(),
            self.just.clone(),
            self.ratio.clone(),
            self.target.clone(),
            ok.to_string(),
        ]
    }
}

/// A duration in milliseconds, with two decimals below 10 ms and one above.
pub(crate) fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.1} ms") }
}

/// A markdown table whose columns are padded so that it also reads well in a terminal.
pub(crate) fn markdown(rows: &[Row]) -> String {
    let cells: Vec<[String; 8]> = rows.iter().map(Row::cells).collect();
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
            workload: "w".into(),
            opsrun: ms(Duration::from_micros(1500)),
            floor: ms(Duration::from_millis(25)),
            go_task: "not installed".into(),
            just: "—".into(),
            ratio: "0.06×".into(),
            target: "< 1.2×".into(),
            met: Some(false),
        };
        let table = markdown(&[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| workload | opsrun  | floor   | go-task       | just | ratio vs floor | target | ok?    |"
        );
        assert_eq!(
            lines[2],
            "| w        | 1.50 ms | 25.0 ms | not installed | —    | 0.06×          | < 1.2× | **no** |"
        );
    }
}
