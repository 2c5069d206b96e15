//! Go's `fmt.Sprintf` for template values, and Go string quoting.
//!
//! Supports the verbs Taskfiles use (`%s %d %v %q %f %e %g %t %x %X %o %b %c
//! %T %%`) with flags `-+0 #`, width and precision (including `*`). Mistakes
//! render inline the way Go does (`%!d(MISSING)`), except that numeric
//! strings are accepted by `%d` and anything by `%s`, because Taskfile vars
//! are usually strings.

use std::fmt::Write as _;

use super::{CallError, at_least, into_text};
use crate::value::{Value, format_float};

/// `printf FORMAT ARGS...`
pub(super) fn printf(args: Vec<Value>) -> Result<Value, CallError> {
    at_least(&args, 1)?;
    let mut args = args.into_iter();
    let format = args.next().map(into_text).unwrap_or_default();
    let rest: Vec<Value> = args.collect();
    Ok(Value::Str(sprintf(&format, &rest)))
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// Formats like Go's `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut next_arg = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        spec.width = number_or_star(&mut chars, args, &mut next_arg);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(number_or_star(&mut chars, args, &mut next_arg).unwrap_or(0));
        }
        // Go's own answers to a width or precision it cannot honour.
        if spec.width.is_some_and(|n| n > MAX_WIDTH) {
            out.push_str("%!(BADWIDTH)");
            spec.width = None;
        }
        if spec.precision.is_some_and(|n| n > MAX_WIDTH) {
            out.push_str("%!(BADPREC)");
            spec.precision = None;
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next_arg += 1;
        let formatted = format_verb(verb, spec, arg);
        pad(&mut out, &formatted, spec, is_numeric_verb(verb));
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, arg) in args[next_arg..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}={}", arg.type_name(), arg.to_display_string());
        }
        out.push(')');
    }
    out
}

/// The largest width or precision `printf` accepts (Rust's formatter panics past 65535; no real
/// template needs more than a few dozen).
const MAX_WIDTH: usize = 4096;

fn number_or_star(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    args: &[Value],
    next_arg: &mut usize,
) -> Option<usize> {
    if chars.peek() == Some(&'*') {
        chars.next();
        let value = args.get(*next_arg);
        *next_arg += 1;
        return match value {
            Some(Value::Int(n)) => usize::try_from(*n).ok().map(|n| n.min(MAX_WIDTH + 1)),
            _ => None,
        };
    }
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        chars.next();
        // Capped so a silly width cannot exhaust memory.
        n = Some((n.unwrap_or(0) * 10 + d as usize).min(MAX_WIDTH + 1));
    }
    n
}

fn is_numeric_verb(verb: char) -> bool {
    matches!(verb, 'd' | 'f' | 'F' | 'e' | 'E' | 'g' | 'G' | 'x' | 'X' | 'o' | 'b')
}

fn pad(out: &mut String, formatted: &str, spec: Spec, numeric: bool) {
    let len = formatted.chars().count();
    let fill = spec.width.unwrap_or(0).saturating_sub(len);
    if fill == 0 {
        out.push_str(formatted);
    } else if spec.minus {
        out.push_str(formatted);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        // Zeros go between the sign and the digits.
        let (sign, digits) = match formatted.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (Some(c), &formatted[1..]),
            _ => (None, formatted),
        };
        out.extend(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(formatted);
    }
}

fn bad_verb(verb: char, arg: &Value) -> String {
    format!("%!{verb}({}={})", arg.type_name(), arg.to_display_string())
}

fn signed(spec: Spec, negative: bool, body: String) -> String {
    if negative {
        body
    } else if spec.plus {
        format!("+{body}")
    } else if spec.space {
        format!(" {body}")
    } else {
        body
    }
}

#[allow(clippy::cast_precision_loss)] // `%f` of an int is a float conversion by definition.
fn format_verb(verb: char, spec: Spec, arg: &Value) -> String {
    let int = match arg {
        Value::Int(i) => Some(*i),
        Value::Str(s) if verb == 'd' => s.trim().parse().ok(),
        _ => None,
    };
    let float = match arg {
        Value::Float(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        _ => None,
    };
    match verb {
        'v' | 's' => {
            // Go's fmt prints a nil as `<nil>` (a bare nil in a template action prints nothing).
            let s = if matches!(arg, Value::Nil) { "<nil>".to_owned() } else { arg.to_display_string() };
            match spec.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'T' => arg.type_name().to_owned(),
        'd' => int.map_or_else(|| bad_verb(verb, arg), |i| signed(spec, i < 0, i.to_string())),
        'x' | 'X' | 'o' | 'b' => match (int, arg) {
            (Some(i), _) => {
                let magnitude = i.unsigned_abs();
                let body = match verb {
                    'x' => format!("{magnitude:x}"),
                    'X' => format!("{magnitude:X}"),
                    'o' => format!("{magnitude:o}"),
                    _ => format!("{magnitude:b}"),
                };
                signed(spec, i < 0, if i < 0 { format!("-{body}") } else { body })
            }
            (None, Value::Str(s)) if verb == 'x' => s.bytes().fold(String::new(), |mut acc, b| {
                let _ = write!(acc, "{b:02x}");
                acc
            }),
            (None, Value::Str(s)) if verb == 'X' => s.bytes().fold(String::new(), |mut acc, b| {
                let _ = write!(acc, "{b:02X}");
                acc
            }),
            _ => bad_verb(verb, arg),
        },
        'f' | 'F' => float.map_or_else(
            || bad_verb(verb, arg),
            |f| {
                let p = spec.precision.unwrap_or(6);
                signed(spec, f.is_sign_negative(), format!("{f:.p$}"))
            },
        ),
        'e' | 'E' => float.map_or_else(
            || bad_verb(verb, arg),
            |f| {
                let p = spec.precision.unwrap_or(6);
                let s = go_exponent(&format!("{f:.p$e}"));
                let s = if verb == 'E' { s.to_uppercase() } else { s };
                signed(spec, f.is_sign_negative(), s)
            },
        ),
        'g' | 'G' => float.map_or_else(|| bad_verb(verb, arg), |f| signed(spec, f.is_sign_negative(), format_float(f))),
        't' => match arg {
            Value::Bool(b) => b.to_string(),
            _ => bad_verb(verb, arg),
        },
        'q' => match arg {
            Value::Str(s) => go_quote(s),
            Value::Int(i) => u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .map_or_else(|| bad_verb(verb, arg), |c| format!("'{}'", quote_char(c, '\''))),
            _ => go_quote(&arg.to_display_string()),
        },
        'c' => int
            .and_then(|i| u32::try_from(i).ok())
            .and_then(char::from_u32)
            .map_or_else(|| bad_verb(verb, arg), String::from),
        _ => bad_verb(verb, arg),
    }
}

/// Rust writes `1.5e0`; Go writes `1.5e+00`.
fn go_exponent(rust: &str) -> String {
    let Some((mantissa, exp)) = rust.split_once('e') else {
        return rust.to_owned();
    };
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// Go's `strconv.Quote`: double quotes with Go escapes.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        out.push_str(&quote_char(c, '"'));
    }
    out.push('"');
    out
}

fn quote_char(c: char, quote: char) -> String {
    match c {
        '\x07' => r"\a".to_owned(),
        '\x08' => r"\b".to_owned(),
        '\x0c' => r"\f".to_owned(),
        '\n' => r"\n".to_owned(),
        '\r' => r"\r".to_owned(),
        '\t' => r"\t".to_owned(),
        '\x0b' => r"\v".to_owned(),
        '\\' => r"\\".to_owned(),
        c if c == quote => format!("\\{c}"),
        c if u32::from(c) < 0x20 || c == '\x7f' => format!("\\x{:02x}", u32::from(c)),
        c if c.is_control() => {
            if u32::from(c) < 0x10000 {
                format!("\\u{:04x}", u32::from(c))
            } else {
                format!("\\U{:08x}", u32::from(c))
            }
        }
        c => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(format: &str, args: &[Value]) -> String {
        sprintf(format, args)
    }

    #[test]
    fn verbs() {
        let s = Value::from("hi");
        let i = Value::Int(42);
        assert_eq!(f("%s-%d", &["web".into(), Value::Int(3)]), "web-3");
        assert_eq!(f("%5s|%-5s|", &[s.clone(), s.clone()]), "   hi|hi   |");
        assert_eq!(
            f(
                "%05d %+d %x %X %o %b",
                &[i.clone(), i.clone(), Value::Int(255), Value::Int(255), Value::Int(8), Value::Int(5)]
            ),
            "00042 +42 ff FF 10 101"
        );
        assert_eq!(
            f("%.2f %f %e", &[Value::Float(1.23456), Value::Int(2), Value::Float(1500.0)]),
            "1.23 2.000000 1.500000e+03"
        );
        assert_eq!(
            f("%q %t %v %T", &["a\"b\n".into(), Value::Bool(true), Value::Float(2.5), s.clone()]),
            r#""a\"b\n" true 2.5 string"#
        );
        assert_eq!(f("100%%", &[]), "100%");
        assert_eq!(f("%d", &["7".into()]), "7");
        assert_eq!(f("%c%c", &[Value::Int(104), Value::Int(105)]), "hi");
        assert_eq!(f("%.1s", std::slice::from_ref(&s)), "h");
        assert_eq!(f("%*d", &[Value::Int(4), Value::Int(7)]), "   7");
    }

    #[test]
    fn mistakes_render_like_go() {
        assert_eq!(f("%d", &[]), "%!d(MISSING)");
        assert_eq!(f("%d", &["x".into()]), "%!d(string=x)");
        assert_eq!(f("a", &[Value::Int(1)]), "a%!(EXTRA int=1)");
        assert_eq!(f("%", &[]), "%!(NOVERB)");
        assert_eq!(f("%z", &[Value::Int(1)]), "%!z(int=1)");
    }
}
