//! [`TaskOutput`]: how the lines a task prints reach opsrun's stdout and stderr, per the task's
//! output style (go-task's `output`): as printed (`interleaved`, the default, so that
//! `$(opsrun run version)` captures exactly what `version` printed), `[prefix] line`
//! (`prefixed`), or held back and printed together when each command ends (`group`). As in
//! go-task, `prefixed` and `group` write a command's stderr lines to stdout too.
//!
//! Shared by the plain and bars renderers so the two cannot disagree.

use std::borrow::Cow;

use std::collections::HashMap;

use opsrun_event::{OutputStyle, PlannedTask, Stream};

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

    /// A line `task` printed: what to write now, on which stream.
    pub(crate) fn line<'l>(&mut self, task: &str, stream: Stream, line: &'l str) -> Option<(Stream, Cow<'l, str>)> {
        match self.styles.get(task) {
            Some((OutputStyle::Prefixed, prefix)) => Some((Stream::Stdout, Cow::Owned(format!("[{prefix}] {line}")))),
            Some((OutputStyle::Group { .. }, _)) => {
                self.groups.entry(task.to_string()).or_default().push((Stream::Stdout, line.to_string()));
                None
            }
            Some((OutputStyle::Interleaved | _, _)) | None => Some((stream, Cow::Borrowed(line))),
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
