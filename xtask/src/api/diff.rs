//! A line diff for `cargo xtask api --check`: unified-style hunks with two lines of context.
//!
//! Snapshots are sorted, so a change is usually a few lines in one place; the common head and
//! tail are trimmed first and only the middle goes through the longest-common-subsequence table.

use std::fmt::Write as _;

/// Lines of context around each change.
const CONTEXT: usize = 2;

/// Above this many table cells the middle is shown as removed-then-added instead of aligned.
const MAX_TABLE_CELLS: usize = 16_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Removed,
    Added,
}

/// What changed between `old` and `new`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Diff {
    pub(crate) added: usize,
    pub(crate) removed: usize,
    /// `@@ -a,b +c,d @@` hunks with ` `, `-` and `+` lines.
    pub(crate) hunks: String,
}

/// `None` when the texts have the same lines.
pub(crate) fn diff(old: &str, new: &str) -> Option<Diff> {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    if old == new {
        return None;
    }
    let ops = align(&old, &new);
    let added = ops.iter().filter(|(op, _)| *op == Op::Added).count();
    let removed = ops.iter().filter(|(op, _)| *op == Op::Removed).count();
    Some(Diff { added, removed, hunks: hunks(&ops) })
}

/// The edit script: every line of both sides once, in order.
fn align<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<(Op, &'a str)> {
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let tail = old[head..].iter().rev().zip(new[head..].iter().rev()).take_while(|(a, b)| a == b).count();
    let (old_mid, new_mid) = (&old[head..old.len() - tail], &new[head..new.len() - tail]);

    let mut ops: Vec<(Op, &str)> = old[..head].iter().map(|line| (Op::Same, *line)).collect();
    if old_mid.len().saturating_mul(new_mid.len()) > MAX_TABLE_CELLS {
        ops.extend(old_mid.iter().map(|line| (Op::Removed, *line)));
        ops.extend(new_mid.iter().map(|line| (Op::Added, *line)));
    } else {
        // lcs[i][j]: longest common subsequence of old_mid[i..] and new_mid[j..].
        let width = new_mid.len() + 1;
        let mut lcs = vec![0u32; (old_mid.len() + 1) * width];
        for i in (0..old_mid.len()).rev() {
            for j in (0..new_mid.len()).rev() {
                lcs[i * width + j] = if old_mid[i] == new_mid[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < old_mid.len() || j < new_mid.len() {
            if i < old_mid.len() && j < new_mid.len() && old_mid[i] == new_mid[j] {
                ops.push((Op::Same, old_mid[i]));
                i += 1;
                j += 1;
            } else if j == new_mid.len() || (i < old_mid.len() && lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
                ops.push((Op::Removed, old_mid[i]));
                i += 1;
            } else {
                ops.push((Op::Added, new_mid[j]));
                j += 1;
            }
        }
    }
    ops.extend(old[old.len() - tail..].iter().map(|line| (Op::Same, *line)));
    ops
}

/// Groups changes with [`CONTEXT`] lines around them into `@@` hunks.
fn hunks(ops: &[(Op, &str)]) -> String {
    // Which ops are shown: the changes and their context.
    let mut shown = vec![false; ops.len()];
    for (index, (op, _)) in ops.iter().enumerate() {
        if *op != Op::Same {
            let start = index.saturating_sub(CONTEXT);
            let end = (index + CONTEXT + 1).min(ops.len());
            shown[start..end].iter_mut().for_each(|s| *s = true);
        }
    }
    let mut out = String::new();
    // 1-based line numbers of the next old and new line.
    let (mut old_line, mut new_line) = (1, 1);
    let mut index = 0;
    while index < ops.len() {
        if !shown[index] {
            advance(ops[index].0, &mut old_line, &mut new_line);
            index += 1;
            continue;
        }
        let end = (index..ops.len()).find(|&i| !shown[i]).unwrap_or(ops.len());
        let hunk = &ops[index..end];
        let old_count = hunk.iter().filter(|(op, _)| *op != Op::Added).count();
        let new_count = hunk.iter().filter(|(op, _)| *op != Op::Removed).count();
        let _ = writeln!(out, "@@ -{old_line},{old_count} +{new_line},{new_count} @@");
        for (op, line) in hunk {
            let sign = match op {
                Op::Same => ' ',
                Op::Removed => '-',
                Op::Added => '+',
            };
            let _ = writeln!(out, "{sign}{line}");
            advance(*op, &mut old_line, &mut new_line);
        }
        index = end;
    }
    out
}

fn advance(op: Op, old_line: &mut usize, new_line: &mut usize) {
    if op != Op::Added {
        *old_line += 1;
    }
    if op != Op::Removed {
        *new_line += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(diff("a\nb\n", "a\nb\n"), None);
        assert_eq!(diff("", ""), None);
    }

    #[test]
    fn a_changed_line_is_a_hunk_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\n";
        let new = "a\nb\nc\nD\ne\nf\ng\nh\n";
        let found = diff(old, new).expect("a diff");
        assert_eq!((found.added, found.removed), (2, 1));
        assert_eq!(found.hunks, "@@ -2,6 +2,7 @@\n b\n c\n-d\n+D\n e\n f\n g\n+h\n");
    }

    #[test]
    fn distant_changes_are_separate_hunks() {
        let old: String = (1..=20).map(|n| n.to_string() + "\n").collect();
        let new: String = (1..=20)
            .filter(|&n| n != 3)
            .map(|n| if n == 18 { "18\n18b\n".to_string() } else { n.to_string() + "\n" })
            .collect();
        let found = diff(&old, &new).expect("a diff");
        assert_eq!((found.added, found.removed), (1, 1));
        assert_eq!(found.hunks, "@@ -1,5 +1,4 @@\n 1\n 2\n-3\n 4\n 5\n@@ -17,4 +16,5 @@\n 17\n 18\n+18b\n 19\n 20\n");
    }

    #[test]
    fn a_new_file_is_all_added() {
        let found = diff("", "x\ny\n").expect("a diff");
        assert_eq!(found.hunks, "@@ -1,0 +1,2 @@\n+x\n+y\n");
    }
}
