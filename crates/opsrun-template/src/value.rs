//! Template values: what variables hold and what expressions produce.
//!
//! Printing follows Go's `fmt` `%v` verb so that rendered output matches what
//! go-task would produce for the same Taskfile.

use std::fmt::Write as _;

use indexmap::IndexMap;

use super::time_layout;

/// A value flowing through a template.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A variable that is not defined; carries its name so that printing it
    /// can report which one. Falsy, and replaced by `default`.
    Undefined(String),
    /// Go's `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A list (Go slice).
    List(Vec<Value>),
    /// A map with string keys; insertion order is kept, printing sorts keys as Go does.
    Map(IndexMap<String, Value>),
    /// A point in time, produced by `now`.
    Time(jiff::Zoned),
}

impl Value {
    /// Go truthiness: false, 0, "", empty list or map, nil and undefined are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Undefined(_) | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Time(_) => true,
        }
    }

    /// Sprig's `empty`: the negation of truthiness.
    pub fn is_empty(&self) -> bool {
        !self.is_truthy()
    }

    /// A Go-flavoured type name for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Undefined(_) => "undefined",
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Time(_) => "time",
        }
    }

    /// The value as Go's `%v` prints it (undefined prints as an empty string;
    /// the renderer reports undefined values before they get here).
    pub fn to_display_string(&self) -> String {
        if let Value::Str(s) = self {
            return s.clone();
        }
        let mut out = String::new();
        self.write_display(&mut out);
        out
    }

    /// Appends the `%v` form of the value to `out`.
    pub fn write_display(&self, out: &mut String) {
        self.write_go(out, true);
    }

    /// `top` distinguishes a bare nil (printed empty, as the brief asks) from a
    /// nil inside a container (printed `<nil>`, as Go does).
    fn write_go(&self, out: &mut String, top: bool) {
        match self {
            Value::Undefined(_) => {
                if !top {
                    out.push_str("<no value>");
                }
            }
            Value::Nil => {
                if !top {
                    out.push_str("<nil>");
                }
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&format_float(*f)),
            Value::Str(s) => out.push_str(s),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.write_go(out, false);
                }
                out.push(']');
            }
            Value::Map(map) => {
                // Go's fmt sorts map keys so output is deterministic.
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push_str("map[");
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(key);
                    out.push(':');
                    map[key].write_go(out, false);
                }
                out.push(']');
            }
            Value::Time(t) => out.push_str(&time_layout::format(t, "2006-01-02 15:04:05.999999999 -0700 MST")),
        }
    }

    /// The first undefined value inside `self` (itself, or a list element or
    /// map value), so printing can name it.
    pub(crate) fn find_undefined(&self) -> Option<&str> {
        match self {
            Value::Undefined(name) => Some(name),
            Value::List(items) => items.iter().find_map(Value::find_undefined),
            Value::Map(map) => map.values().find_map(Value::find_undefined),
            _ => None,
        }
    }
}

/// Formats a float as Go's `%v` (`strconv.FormatFloat(f, 'g', -1, 64)`):
/// shortest round-trip digits, in exponent form when the decimal exponent is
/// below -4 or at least 6 (Go prints `1e+06`, not `1000000`).
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. `-1.25e-7`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs());
    } else if exp >= 0 {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    } else {
        out.push_str("0.");
        let zeros = usize::try_from(-exp - 1).unwrap_or(0);
        out.extend(std::iter::repeat_n('0', zeros));
        out.push_str(&digits);
    }
    out
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}

impl From<IndexMap<String, Value>> for Value {
    fn from(map: IndexMap<String, Value>) -> Self {
        Value::Map(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        for (f, want) in [
            (1.5, "1.5"),
            (2.0, "2"),
            (0.0, "0"),
            (-0.25, "-0.25"),
            (123_456.0, "123456"),
            (1_000_000.0, "1e+06"),
            (12_345_678.0, "1.2345678e+07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (f64::INFINITY, "+Inf"),
        ] {
            assert_eq!(format_float(f), want, "{f}");
        }
    }

    #[test]
    fn containers_print_like_go() {
        let list = Value::List(vec!["a".into(), Value::Int(1), Value::Nil]);
        assert_eq!(list.to_display_string(), "[a 1 <nil>]");
        let mut map = IndexMap::new();
        map.insert("b".to_owned(), Value::Bool(true));
        map.insert("a".to_owned(), Value::Float(1.5));
        assert_eq!(Value::Map(map).to_display_string(), "map[a:1.5 b:true]");
        assert_eq!(Value::Nil.to_display_string(), "");
    }
}
