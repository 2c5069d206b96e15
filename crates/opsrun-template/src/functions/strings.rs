//! String functions (sprig and go-task), including shell quoting.

use indexmap::IndexMap;

use super::{CallError, exact, into_text, text, to_int};
use crate::value::Value;

/// Go's `fmt.Sprint`: a space between two operands when neither is a string.
pub(super) fn print(args: Vec<Value>) -> Result<Value, CallError> {
    let mut out = String::new();
    let mut prev_is_string = true;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::Str(_));
        if i > 0 && !is_string && !prev_is_string {
            out.push(' ');
        }
        arg.write_display(&mut out);
        prev_is_string = is_string;
    }
    Ok(Value::Str(out))
}

/// Go's `fmt.Sprintln`: spaces between all operands and a final newline.
pub(super) fn println(args: Vec<Value>) -> Result<Value, CallError> {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        arg.write_display(&mut out);
    }
    out.push('\n');
    Ok(Value::Str(out))
}

/// `replace OLD NEW S`
pub(super) fn replace(args: Vec<Value>) -> Result<Value, CallError> {
    let [old, new, s] = exact(args)?;
    let (old, new, s) = (text(&old), text(&new), text(&s));
    // Go's strings.Replace with an empty OLD inserts NEW around every rune;
    // Rust's str::replace does the same.
    Ok(Value::Str(s.replace(old.as_ref(), &new)))
}

/// Go's `strings.Split`: an empty separator splits into characters.
fn go_split(sep: &str, s: &str) -> Vec<String> {
    if sep.is_empty() { s.chars().map(String::from).collect() } else { s.split(sep).map(str::to_owned).collect() }
}

/// Sprig's `split SEP S`: a map with keys `_0`, `_1`, ...
pub(super) fn split(args: Vec<Value>) -> Result<Value, CallError> {
    let [sep, s] = exact(args)?;
    let map: IndexMap<String, Value> = go_split(&text(&sep), &text(&s))
        .into_iter()
        .enumerate()
        .map(|(i, part)| (format!("_{i}"), Value::Str(part)))
        .collect();
    Ok(Value::Map(map))
}

/// `splitList SEP S`
pub(super) fn split_list(args: Vec<Value>) -> Result<Value, CallError> {
    let [sep, s] = exact(args)?;
    Ok(Value::List(go_split(&text(&sep), &text(&s)).into_iter().map(Value::Str).collect()))
}

/// Sprig's `strslice`: list elements as strings (nils dropped), a scalar as a
/// one-element list.
fn string_list(value: Value) -> Vec<String> {
    match value {
        Value::List(items) => items.into_iter().filter(|item| !matches!(item, Value::Nil)).map(into_text).collect(),
        Value::Nil => Vec::new(),
        other => vec![into_text(other)],
    }
}

/// `join SEP LIST`
pub(super) fn join(args: Vec<Value>) -> Result<Value, CallError> {
    let [sep, list] = exact(args)?;
    Ok(Value::Str(string_list(list).join(&text(&sep))))
}

/// `contains SUBSTR S`
pub(super) fn contains(args: Vec<Value>) -> Result<Value, CallError> {
    let [needle, s] = exact(args)?;
    Ok(Value::Bool(text(&s).contains(text(&needle).as_ref())))
}

/// `hasPrefix PREFIX S`
pub(super) fn has_prefix(args: Vec<Value>) -> Result<Value, CallError> {
    let [prefix, s] = exact(args)?;
    Ok(Value::Bool(text(&s).starts_with(text(&prefix).as_ref())))
}

/// `hasSuffix SUFFIX S`
pub(super) fn has_suffix(args: Vec<Value>) -> Result<Value, CallError> {
    let [suffix, s] = exact(args)?;
    Ok(Value::Bool(text(&s).ends_with(text(&suffix).as_ref())))
}

fn map_text(args: Vec<Value>, f: impl FnOnce(&str) -> String) -> Result<Value, CallError> {
    let [s] = exact(args)?;
    Ok(Value::Str(f(&text(&s))))
}

pub(super) fn lower(args: Vec<Value>) -> Result<Value, CallError> {
    map_text(args, str::to_lowercase)
}

pub(super) fn upper(args: Vec<Value>) -> Result<Value, CallError> {
    map_text(args, str::to_uppercase)
}

/// Go's `strings.Title`: upper-cases the first letter of each word, where
/// anything but letters, digits and `_` separates words.
pub(super) fn title(args: Vec<Value>) -> Result<Value, CallError> {
    map_text(args, |s| {
        let mut out = String::with_capacity(s.len());
        let mut at_word_start = true;
        for c in s.chars() {
            if at_word_start {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            at_word_start = !(c.is_alphanumeric() || c == '_');
        }
        out
    })
}

/// `trim`/`trimSpace`: surrounding whitespace.
pub(super) fn trim(args: Vec<Value>) -> Result<Value, CallError> {
    map_text(args, |s| s.trim().to_owned())
}

/// `trimPrefix PREFIX S`
pub(super) fn trim_prefix(args: Vec<Value>) -> Result<Value, CallError> {
    let [prefix, s] = exact(args)?;
    let (prefix, s) = (text(&prefix), text(&s));
    Ok(Value::Str(s.strip_prefix(prefix.as_ref()).unwrap_or(&s).to_owned()))
}

/// `trimSuffix SUFFIX S`
pub(super) fn trim_suffix(args: Vec<Value>) -> Result<Value, CallError> {
    let [suffix, s] = exact(args)?;
    let (suffix, s) = (text(&suffix), text(&s));
    Ok(Value::Str(s.strip_suffix(suffix.as_ref()).unwrap_or(&s).to_owned()))
}

/// `trimAll CHARS S`: Go's `strings.Trim` with a cutset.
pub(super) fn trim_all(args: Vec<Value>) -> Result<Value, CallError> {
    let [cutset, s] = exact(args)?;
    let cutset = text(&cutset);
    Ok(Value::Str(text(&s).trim_matches(|c| cutset.contains(c)).to_owned()))
}

/// Sprig's `quote`: each non-nil argument Go-quoted, joined by spaces.
pub(super) fn quote(args: Vec<Value>) -> Result<Value, CallError> {
    let quoted: Vec<String> =
        args.iter().filter(|v| !matches!(v, Value::Nil)).map(|v| super::go_quote(&text(v))).collect();
    Ok(Value::Str(quoted.join(" ")))
}

/// Sprig's `squote`: each non-nil argument in single quotes (no escaping).
pub(super) fn squote(args: Vec<Value>) -> Result<Value, CallError> {
    let quoted: Vec<String> =
        args.iter().filter(|v| !matches!(v, Value::Nil)).map(|v| format!("'{}'", text(v))).collect();
    Ok(Value::Str(quoted.join(" ")))
}

pub(super) fn to_string(args: Vec<Value>) -> Result<Value, CallError> {
    let [value] = exact(args)?;
    Ok(Value::Str(into_text(value)))
}

/// `repeat COUNT S`
pub(super) fn repeat(args: Vec<Value>) -> Result<Value, CallError> {
    let [count, s] = exact(args)?;
    let count = usize::try_from(to_int(&count)?).map_err(|_| CallError::Message("negative repeat count".to_owned()))?;
    let s = text(&s);
    // Refuse absurd sizes rather than aborting on allocation failure.
    if s.len().saturating_mul(count) > crate::MAX_OUTPUT {
        return Err(CallError::Message(format!("repeat result would exceed {} MiB", crate::MAX_OUTPUT >> 20)));
    }
    Ok(Value::Str(s.repeat(count)))
}

fn indent_by(args: Vec<Value>) -> Result<String, CallError> {
    let [spaces, s] = exact(args)?;
    let spaces =
        usize::try_from(to_int(&spaces)?).map_err(|_| CallError::Message("negative indent".to_owned()))?.min(1024);
    let pad = " ".repeat(spaces);
    Ok(format!("{pad}{}", text(&s).replace('\n', &format!("\n{pad}"))))
}

/// `indent N S`: prefixes every line with N spaces.
pub(super) fn indent(args: Vec<Value>) -> Result<Value, CallError> {
    indent_by(args).map(Value::Str)
}

/// `nindent N S`: a newline, then `indent N S`.
pub(super) fn nindent(args: Vec<Value>) -> Result<Value, CallError> {
    indent_by(args).map(|s| Value::Str(format!("\n{s}")))
}

/// go-task's `splitLines`: splits on `\n` or `\r\n`.
pub(super) fn split_lines(args: Vec<Value>) -> Result<Value, CallError> {
    let [s] = exact(args)?;
    let s = text(&s);
    Ok(Value::List(s.split('\n').map(|line| Value::Str(line.strip_suffix('\r').unwrap_or(line).to_owned())).collect()))
}

/// go-task's `catLines`: joins lines with spaces.
pub(super) fn cat_lines(args: Vec<Value>) -> Result<Value, CallError> {
    map_text(args, |s| s.replace("\r\n", " ").replace('\n', " "))
}

/// go-task's `shellQuote` (`q`): quotes a string, or each element of a list
/// (joined by spaces), so that `sh` reads it back as one word. Like
/// `mvdan.cc/sh`'s `syntax.Quote`, words that need no quoting are left alone.
pub(super) fn shell_quote(args: Vec<Value>) -> Result<Value, CallError> {
    let [value] = exact(args)?;
    Ok(Value::Str(match value {
        Value::List(items) => items.iter().map(|item| sh_quote(&text(item))).collect::<Vec<_>>().join(" "),
        other => sh_quote(&text(&other)),
    }))
}

const SH_KEYWORDS: &[&str] = &[
    "!", "[[", "]]", "case", "coproc", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in",
    "select", "then", "time", "until", "while", "{", "}",
];

fn sh_quote(s: &str) -> String {
    if s.is_empty() {
        // An empty word must be quoted or it disappears.
        return "''".to_owned();
    }
    let needs_quotes = SH_KEYWORDS.contains(&s)
        || s.char_indices().any(|(i, c)| {
            matches!(
                c,
                ';' | '"'
                    | '\''
                    | '('
                    | ')'
                    | '$'
                    | '|'
                    | '&'
                    | '>'
                    | '<'
                    | '`'
                    | ' '
                    | '\t'
                    | '\r'
                    | '\n'
                    | '\\'
                    | '{'
                    | '*'
                    | '?'
                    | '['
                    | '!'
            ) || (i == 0 && matches!(c, '#' | '~' | '='))
                || c.is_control()
        });
    if needs_quotes { format!("'{}'", s.replace('\'', r"'\''")) } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_quoting() {
        for (input, want) in [
            ("plain", "plain"),
            ("a/b-c_d.e:f@g", "a/b-c_d.e:f@g"),
            ("", "''"),
            ("two words", "'two words'"),
            ("it's", r"'it'\''s'"),
            ("$HOME", "'$HOME'"),
            ("#x", "'#x'"),
            ("a#x", "a#x"),
            ("if", "'if'"),
        ] {
            assert_eq!(sh_quote(input), want, "{input:?}");
        }
    }
}
