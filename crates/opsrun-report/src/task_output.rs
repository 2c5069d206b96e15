//! [`TaskOutput`]: how the lines a task prints reach opsrun's stdout and stderr, per the task's
//! output style (go-task's `output`): as printed (`interleaved`, the default, so that
//! `$(opsrun run version)` captures exactly what `version` printed), `[prefix] line`
//! (`prefixed`), or held back and printed together when each command ends (`group`). As in
//! go-task, `prefixed` and `group` write a command's stderr lines to stdout too.
//!
//! Shared by the plain and bars renderers so the two cannot disagree.

use std::collections::HashMap;

use opsrun_event::{LineSlice, OutputStyle, PlannedTask, Stream};

/// The output style of each task of a run, and the groups being held back.
#[derive(Default)]
pub(crate) struct TaskOutput {
    styles: HashMap<String, (OutputStyle, String)>,
    groups: HashMap<String, Vec<(Stream, String)>>,
    /// Some task of the run has the `group` style.
    any_group: bool,
}

impl TaskOutput {
    /// A new run: its tasks' styles.
    pub(crate) fn start(&mut self, tasks: &[PlannedTask]) {
        self.groups.clear();
        self.any_group = tasks.iter().any(|t| matches!(t.output, OutputStyle::Group { .. }));
        self.styles = tasks
            .iter()
            .map(|t| {
                let prefix = if t.prefix.is_empty() { t.task.clone() } else { t.prefix.clone() };
                (t.task.clone(), (t.output.clone(), prefix))
            })
            .collect();
    }

    /// Lines `task` printed on `stream`, read together: each is handed to `write` now, with the
    /// stream it goes to and its text in pieces (the prefix first, without putting them
    /// together), or held back for the task's group. The style is looked up once per batch.
    pub(crate) fn lines(
        &mut self,
        task: &str,
        stream: Stream,
        lines: LineSlice<'_>,
        mut write: impl FnMut(Stream, &[&str]),
    ) {
        match self.styles.get(task) {
            Some((OutputStyle::Prefixed, prefix)) => {
                for line in lines {
                    write(Stream::Stdout, &["[", prefix, "] ", line]);
                }
            }
            Some((OutputStyle::Group { .. }, _)) => {
                let group = self.groups.entry(task.to_string()).or_default();
                group.extend(lines.iter().map(|line| (Stream::Stdout, line.to_string())));
            }
            // As printed: all of them in one piece.
            Some((OutputStyle::Interleaved | _, _)) | None => {
                if !lines.is_empty() {
                    write(stream, &[lines.joined()]);
                }
            }
        }
    }

    /// A command of `task` ended (`failed` or not): its held-back group, framed by the
    /// `begin` and `end` lines.
    pub(crate) fn command_finished(&mut self, task: &str, failed: bool) -> Vec<(Stream, String)> {
        if !self.any_group {
            return Vec::new();
        }
        let lines = self.groups.remove(task).unwrap_or_default();
        let Some((OutputStyle::Group { begin, end, error_only }, _)) = self.styles.get(task) else {
            return lines;
        };
        if (*error_only && !failed) || (lines.is_empty() && begin.is_none() && end.is_none()) {
            return Vec::new();
        }
        if lines.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(lines.len() + 2);
        if let Some(b) = begin {
            out.push((Stream::Stdout, b.clone()));
        }
        out.extend(lines);
        if let Some(e) = end {
            out.push((Stream::Stdout, e.clone()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(task: &str, prefix: &str, output: OutputStyle) -> PlannedTask {
        PlannedTask {
            task: task.into(),
            deps: Vec::new(),
            gate: None,
            desc: None,
            label: None,
            prefix: prefix.into(),
            output,
            on_demand: false,
            interactive: false,
        }
    }

    /// Each style's lines, written in pieces or held back for the group, per batch.
    #[test]
    fn a_batch_of_lines_is_written_or_held_back_by_the_tasks_style() {
        let mut output = TaskOutput::default();
        let group = OutputStyle::Group { begin: Some("<<".into()), end: Some(">>".into()), error_only: false };
        output.start(&[
            planned("plain", "", OutputStyle::Interleaved),
            planned("pre", "", OutputStyle::Prefixed),
            planned("named", "api", OutputStyle::Prefixed),
            planned("grouped", "", group),
        ]);
        let mut written = Vec::new();
        let mut write = |stream: Stream, pieces: &[&str]| written.push((stream, pieces.concat()));
        let batch = |lines: &[&str]| lines.iter().copied().collect::<opsrun_event::LineBuf>();
        output.lines("plain", Stream::Stderr, batch(&["a", "b"]).as_slice(), &mut write);
        output.lines("pre", Stream::Stderr, batch(&["c"]).as_slice(), &mut write);
        output.lines("named", Stream::Stdout, batch(&["d"]).as_slice(), &mut write);
        output.lines("grouped", Stream::Stderr, batch(&["e", "f"]).as_slice(), &mut write);
        output.lines("unknown", Stream::Stdout, batch(&["g"]).as_slice(), &mut write);
        assert_eq!(
            written,
            [
                (Stream::Stderr, "a\nb".to_string()),
                (Stream::Stdout, "[pre] c".to_string()),
                (Stream::Stdout, "[api] d".to_string()),
                (Stream::Stdout, "g".to_string()),
            ]
        );
        assert_eq!(
            output.command_finished("grouped", false),
            [
                (Stream::Stdout, "<<".to_string()),
                (Stream::Stdout, "e".to_string()),
                (Stream::Stdout, "f".to_string()),
                (Stream::Stdout, ">>".to_string()),
            ]
        );
    }
}
