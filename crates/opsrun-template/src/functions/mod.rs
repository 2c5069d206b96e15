//! The function table: Go's builtins plus the sprig and go-task functions
//! Taskfiles use, with sprig's argument order (the piped value comes last).
//!
//! Each function declares how it treats undefined variables, so the policy
//! lives in one place instead of in every implementation: most propagate the
//! undefined value (so printing it later names the variable), the
//! emptiness-aware ones (`default`, `eq`, `and`, ...) accept it, and the
//! ordering comparisons reject it outright.

// Every implementation has one of the two `Imp` signatures so the table can
// hold plain fn pointers; some neither consume their `Vec` nor fail, and that is fine.
#![allow(clippy::needless_pass_by_value, clippy::unnecessary_wraps)]

mod collections;
mod compare;
mod printf;
mod strings;
mod system;

use std::borrow::Cow;

use super::host::Host;
use super::value::Value;

pub(crate) use printf::go_quote;

/// An implementation that depends on its arguments only.
type PureImp = fn(Vec<Value>) -> Result<Value, CallError>;

/// An implementation that also asks the render's [`Host`].
type HostImp = fn(&dyn Host, Vec<Value>) -> Result<Value, CallError>;

/// A function's implementation: takes its arguments (piped value last), and
/// the render's [`Host`] if it reports facts about the machine.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Imp {
    /// Depends on its arguments only.
    Pure(PureImp),
    /// Asks the host (environment, clock, platform).
    Host(HostImp),
}

impl Imp {
    /// Calls the implementation.
    pub(crate) fn call(self, host: &dyn Host, args: Vec<Value>) -> Result<Value, CallError> {
        match self {
            Imp::Pure(imp) => imp(args),
            Imp::Host(imp) => imp(host, args),
        }
    }
}

/// How a function is evaluated.
#[derive(Debug)]
pub(crate) enum Kind {
    /// Arguments are evaluated first, then the function is called.
    Plain(Imp),
    /// Go's short-circuit `and`: stops at the first falsy argument.
    And,
    /// Go's short-circuit `or`: stops at the first truthy argument.
    Or,
}

/// What a function does when an argument is an undefined variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnUndefined {
    /// Returns that undefined value without calling the function.
    Propagate,
    /// Receives it like any other value (it is empty and falsy).
    Accept,
    /// Fails with an undefined-variable error.
    Reject,
}

#[derive(Debug)]
pub(crate) struct Func {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) on_undefined: OnUndefined,
}

/// Why a function call failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CallError {
    /// Bad arguments; becomes `TemplateErrorKind::Function`.
    Message(String),
    /// The template called `fail`.
    Fail(String),
}

const fn plain(name: &'static str, imp: PureImp) -> Func {
    Func { name, kind: Kind::Plain(Imp::Pure(imp)), on_undefined: OnUndefined::Propagate }
}

const fn accepting(name: &'static str, imp: PureImp) -> Func {
    Func { name, kind: Kind::Plain(Imp::Pure(imp)), on_undefined: OnUndefined::Accept }
}

const fn rejecting(name: &'static str, imp: PureImp) -> Func {
    Func { name, kind: Kind::Plain(Imp::Pure(imp)), on_undefined: OnUndefined::Reject }
}

/// A function that asks the [`Host`]; undefined arguments propagate.
const fn host(name: &'static str, imp: HostImp) -> Func {
    Func { name, kind: Kind::Plain(Imp::Host(imp)), on_undefined: OnUndefined::Propagate }
}

static FUNCTIONS: &[Func] = &[
    // Go builtins.
    Func { name: "and", kind: Kind::And, on_undefined: OnUndefined::Accept },
    Func { name: "or", kind: Kind::Or, on_undefined: OnUndefined::Accept },
    accepting("not", compare::not),
    accepting("eq", compare::eq),
    accepting("ne", compare::ne),
    rejecting("lt", compare::lt),
    rejecting("le", compare::le),
    rejecting("gt", compare::gt),
    rejecting("ge", compare::ge),
    accepting("len", collections::len),
    plain("index", collections::index),
    plain("print", strings::print),
    plain("println", strings::println),
    plain("printf", printf::printf),
    // Sprig: defaults and logic.
    accepting("default", compare::default),
    accepting("empty", compare::empty),
    accepting("coalesce", compare::coalesce),
    accepting("ternary", compare::ternary),
    rejecting("fail", system::fail),
    // Sprig: strings.
    plain("replace", strings::replace),
    plain("split", strings::split),
    plain("splitList", strings::split_list),
    plain("join", strings::join),
    plain("contains", strings::contains),
    plain("hasPrefix", strings::has_prefix),
    plain("hasSuffix", strings::has_suffix),
    plain("lower", strings::lower),
    plain("upper", strings::upper),
    plain("title", strings::title),
    plain("trim", strings::trim),
    plain("trimSpace", strings::trim),
    plain("trimPrefix", strings::trim_prefix),
    plain("trimSuffix", strings::trim_suffix),
    plain("trimAll", strings::trim_all),
    plain("quote", strings::quote),
    plain("squote", strings::squote),
    plain("toString", strings::to_string),
    plain("repeat", strings::repeat),
    plain("indent", strings::indent),
    plain("nindent", strings::nindent),
    // Sprig: lists and maps.
    plain("list", collections::list),
    plain("first", collections::first),
    plain("last", collections::last),
    plain("append", collections::append),
    plain("push", collections::append),
    plain("prepend", collections::prepend),
    plain("concat", collections::concat),
    plain("has", collections::has),
    plain("uniq", collections::uniq),
    plain("toJson", collections::to_json),
    plain("fromJson", collections::from_json),
    // Sprig: integer arithmetic.
    plain("add", compare::add),
    plain("sub", compare::sub),
    plain("mul", compare::mul),
    plain("div", compare::div),
    plain("mod", compare::modulo),
    // Sprig: dates and environment.
    host("now", system::now),
    host("date", system::date),
    host("env", system::env),
    // go-task.
    host("OS", system::os),
    host("ARCH", system::arch),
    host("numCPU", system::num_cpu),
    host("exeExt", system::exe_ext),
    plain("shellQuote", strings::shell_quote),
    plain("q", strings::shell_quote),
    plain("splitLines", strings::split_lines),
    plain("catLines", strings::cat_lines),
    plain("joinPath", system::join_path),
    plain("fromSlash", system::from_slash),
    plain("toSlash", system::to_slash),
];

/// Finds a function by name.
pub(crate) fn lookup(name: &str) -> Option<&'static Func> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// The known function closest to `name`, if it is close enough to be a typo.
pub(crate) fn suggest(name: &str) -> Option<&'static str> {
    let lowered = name.to_lowercase();
    FUNCTIONS
        .iter()
        .map(|f| {
            // Case-insensitive, because `toupper`-style mistakes are common.
            let score = strsim::jaro_winkler(&lowered, &f.name.to_lowercase());
            (score, f.name)
        })
        .filter(|&(score, _)| score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// Names of all functions, for documentation and tests.
#[cfg(test)]
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.name)
}

/// Takes exactly `N` arguments, or explains the mismatch.
pub(crate) fn exact<const N: usize>(args: Vec<Value>) -> Result<[Value; N], CallError> {
    let got = args.len();
    args.try_into().map_err(|_| CallError::Message(format!("wrong number of arguments: expected {N}, got {got}")))
}

/// Requires at least `n` arguments.
pub(crate) fn at_least(args: &[Value], n: usize) -> Result<(), CallError> {
    if args.len() < n {
        return Err(CallError::Message(format!(
            "wrong number of arguments: expected at least {n}, got {}",
            args.len()
        )));
    }
    Ok(())
}

/// Sprig's `strval`: strings as they are, anything else as Go prints it.
pub(crate) fn text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::Str(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_display_string()),
    }
}

/// Like [`text`] but takes ownership, avoiding a copy for strings.
pub(crate) fn into_text(value: Value) -> String {
    match value {
        Value::Str(s) => s,
        other => other.to_display_string(),
    }
}

/// Sprig's `toInt64`: ints, floats (truncated), bools and numeric strings.
pub(crate) fn to_int(value: &Value) -> Result<i64, CallError> {
    #[allow(clippy::cast_possible_truncation)] // Truncation is sprig's documented conversion.
    match value {
        Value::Int(i) => Ok(*i),
        Value::Float(f) => Ok(*f as i64),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Str(s) => {
            s.trim().parse().map_err(|_| CallError::Message(format!("expected an integer, got string {s:?}")))
        }
        other => Err(CallError::Message(format!("expected an integer, got {}", other.type_name()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(suggest("uper"), Some("upper"));
        assert_eq!(suggest("Upper"), Some("upper"));
        assert_eq!(suggest("spliList"), Some("splitList"));
        assert_eq!(suggest("defualt"), Some("default"));
        assert_eq!(suggest("xyzzy"), None);
    }

    #[test]
    fn names_are_unique() {
        let mut all: Vec<_> = names().collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count);
    }
}
