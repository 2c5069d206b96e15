//! Text from the tasks file made fit for a terminal: control characters escaped, long text
//! wrapped. A `desc` is whatever its author wrote: an escape sequence in it must not reach the
//! terminal raw, and a 9 KB description must not be one line.

/// `text` with every control character but the newline shown escaped (`\u{1b}`), tabs as four
/// spaces; printing it cannot move the cursor, change colours or ring the bell.
pub(crate) fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// The first line of `text`, escaped, with ` …` when more lines follow.
pub(crate) fn first_line(text: &str) -> String {
    let text = text.trim();
    let mut lines = text.split(['\n', '\r']).filter(|l| !l.trim().is_empty());
    let first = escape_controls(lines.next().unwrap_or_default().trim_end());
    if lines.next().is_some() { format!("{first} …") } else { first }
}

/// `text` wrapped at `width` columns (characters), at spaces where it can, each line after the
/// first indented by `indent` spaces (which count towards the width). Existing newlines are kept.
pub(crate) fn wrap(text: &str, width: usize, indent: usize) -> String {
    let room = width.saturating_sub(indent).max(20);
    let pad = " ".repeat(indent);
    let mut out: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let mut word = word.to_owned();
            // A word longer than a line is cut.
            while word.chars().count() > room {
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(room).collect();
                word = word.chars().skip(room).collect();
                out.push(head);
            }
            let len = line.chars().count();
            if len > 0 && len + 1 + word.chars().count() > room {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        out.push(line);
    }
    out.iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { l.clone() } else { format!("{pad}{l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The width to wrap at: `COLUMNS` when set, else 100.
pub(crate) fn width() -> usize {
    std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse().ok()).filter(|&c: &usize| c >= 40).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("red \u{1b}[31mtext\u{7}\r"), "red \\u{1b}[31mtext\\u{7}\\r");
        assert_eq!(first_line("Deploy\nsecond line"), "Deploy …");
        assert_eq!(first_line("\n  only \u{1b}[2J line \n"), "only \\u{1b}[2J line");
    }

    #[test]
    fn long_text_is_wrapped_and_indented() {
        let text = "one two three four five six seven eight nine ten eleven twelve thirteen";
        let wrapped = wrap(text, 30, 4);
        assert!(wrapped.lines().all(|l| l.chars().count() <= 30), "{wrapped}");
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("    ")), "{wrapped}");
        assert_eq!(wrapped.replace("\n    ", " "), text);
        let long = "x".repeat(50);
        assert_eq!(wrap(&long, 30, 0).lines().count(), 2);
    }
}
