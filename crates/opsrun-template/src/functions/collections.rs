//! List and map functions: `len`, `index`, `list`, `first`, `last`, JSON.

use indexmap::IndexMap;

use super::{CallError, at_least, exact, text};
use crate::value::Value;

/// Go's `len`; undefined and nil have length 0 (Go would fail on nil, but a
/// missing optional var is common in Taskfiles and 0 is the useful answer).
pub(super) fn len(args: Vec<Value>) -> Result<Value, CallError> {
    let [value] = exact(args)?;
    let n = match &value {
        Value::Undefined(_) | Value::Nil => 0,
        // Go's len of a string counts bytes.
        Value::Str(s) => s.len(),
        Value::List(items) => items.len(),
        Value::Map(map) => map.len(),
        other => {
            return Err(CallError::Message(format!("len of type {}", other.type_name())));
        }
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// Go's `index COLLECTION KEY...`: each key indexes into the previous result.
/// A missing map key gives nil, as in Go.
pub(super) fn index(args: Vec<Value>) -> Result<Value, CallError> {
    at_least(&args, 1)?;
    let mut args = args.into_iter();
    let mut current = args.next().unwrap_or(Value::Nil);
    for key in args {
        current = match current {
            Value::List(mut items) => {
                let i = position(&key, items.len())?;
                items.swap_remove(i)
            }
            Value::Str(s) => {
                let i = position(&key, s.len())?;
                Value::Int(i64::from(s.as_bytes()[i]))
            }
            Value::Map(mut map) => match &key {
                Value::Str(k) => map.swap_remove(k).unwrap_or(Value::Nil),
                other => {
                    return Err(CallError::Message(format!("map key must be a string, got {}", other.type_name())));
                }
            },
            Value::Nil => return Err(CallError::Message("index of nil".to_owned())),
            other => {
                return Err(CallError::Message(format!("can't index item of type {}", other.type_name())));
            }
        };
    }
    Ok(current)
}

fn position(key: &Value, len: usize) -> Result<usize, CallError> {
    let i = match key {
        Value::Int(i) => *i,
        other => {
            return Err(CallError::Message(format!("cannot index with a {}, expected an integer", other.type_name())));
        }
    };
    usize::try_from(i)
        .ok()
        .filter(|&i| i < len)
        .ok_or_else(|| CallError::Message(format!("index out of range: {i} (length {len})")))
}

pub(super) fn list(args: Vec<Value>) -> Result<Value, CallError> {
    Ok(Value::List(args))
}

fn list_arg(value: Value, name: &str) -> Result<Vec<Value>, CallError> {
    match value {
        Value::List(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        other => Err(CallError::Message(format!("cannot find {name} on type {}", other.type_name()))),
    }
}

/// Sprig's `first`: the first element, nil for an empty list.
pub(super) fn first(args: Vec<Value>) -> Result<Value, CallError> {
    let [value] = exact(args)?;
    Ok(list_arg(value, "first")?.into_iter().next().unwrap_or(Value::Nil))
}

/// Sprig's `last`: the last element, nil for an empty list.
pub(super) fn last(args: Vec<Value>) -> Result<Value, CallError> {
    let [value] = exact(args)?;
    Ok(list_arg(value, "last")?.pop().unwrap_or(Value::Nil))
}

/// Sprig's `append` (`push`): the list with one more element at the end.
pub(super) fn append(args: Vec<Value>) -> Result<Value, CallError> {
    let [list, value] = exact(args)?;
    let mut items = list_arg(list, "append")?;
    items.push(value);
    Ok(Value::List(items))
}

/// Sprig's `prepend`: the list with one more element at the front.
pub(super) fn prepend(args: Vec<Value>) -> Result<Value, CallError> {
    let [list, value] = exact(args)?;
    let mut items = list_arg(list, "prepend")?;
    items.insert(0, value);
    Ok(Value::List(items))
}

/// Sprig's `concat`: the lists one after the other.
pub(super) fn concat(args: Vec<Value>) -> Result<Value, CallError> {
    let mut out = Vec::new();
    for list in args {
        out.extend(list_arg(list, "concat")?);
    }
    Ok(Value::List(out))
}

/// Sprig's `has`: whether the list holds the value (`has NEEDLE LIST`).
pub(super) fn has(args: Vec<Value>) -> Result<Value, CallError> {
    let [needle, list] = exact(args)?;
    let needle = needle.to_display_string();
    Ok(Value::Bool(list_arg(list, "has")?.iter().any(|v| v.to_display_string() == needle)))
}

/// Sprig's `uniq`: the list without repeated elements, first ones kept.
pub(super) fn uniq(args: Vec<Value>) -> Result<Value, CallError> {
    let [list] = exact(args)?;
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for item in list_arg(list, "uniq")? {
        let key = item.to_display_string();
        if !seen.contains(&key) {
            seen.push(key);
            out.push(item);
        }
    }
    Ok(Value::List(out))
}

pub(super) fn to_json(args: Vec<Value>) -> Result<Value, CallError> {
    let [value] = exact(args)?;
    serde_json::to_string(&to_json_value(&value)).map(Value::Str).map_err(|e| CallError::Message(e.to_string()))
}

fn to_json_value(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Undefined(_) | Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(s.clone()),
        Value::List(items) => J::Array(items.iter().map(to_json_value).collect()),
        Value::Map(map) => J::Object(map.iter().map(|(k, v)| (k.clone(), to_json_value(v))).collect()),
        Value::Time(t) => J::String(t.timestamp().to_string()),
    }
}

/// Parses JSON; unlike sprig (which returns an empty value), invalid JSON is
/// an error, because silently rendering nothing hides the mistake.
pub(super) fn from_json(args: Vec<Value>) -> Result<Value, CallError> {
    let [s] = exact(args)?;
    let parsed: serde_json::Value =
        serde_json::from_str(&text(&s)).map_err(|e| CallError::Message(format!("invalid JSON: {e}")))?;
    Ok(from_json_value(parsed))
}

fn from_json_value(json: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match json {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => n.as_i64().map(Value::Int).or_else(|| n.as_f64().map(Value::Float)).unwrap_or(Value::Nil),
        J::String(s) => Value::Str(s),
        J::Array(items) => Value::List(items.into_iter().map(from_json_value).collect()),
        J::Object(map) => Value::Map(map.into_iter().map(|(k, v)| (k, from_json_value(v))).collect::<IndexMap<_, _>>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_nested() {
        let inner = Value::List(vec![Value::Int(1), Value::Int(2)]);
        let got = index(vec![Value::List(vec![inner]), Value::Int(0), Value::Int(1)]);
        assert_eq!(got, Ok(Value::Int(2)));
        assert!(index(vec![Value::List(vec![]), Value::Int(0)]).is_err());
        assert!(index(vec![Value::List(vec![Value::Nil]), Value::Int(-1)]).is_err());
    }

    #[test]
    fn list_functions_build_new_lists() {
        let abc = || Value::List(vec![Value::Str("a".into()), Value::Str("b".into())]);
        let strs = |v: Value| match v {
            Value::List(items) => items.iter().map(Value::to_display_string).collect::<Vec<_>>(),
            other => panic!("not a list: {other:?}"),
        };
        assert_eq!(strs(append(vec![abc(), Value::Str("c".into())]).unwrap()), ["a", "b", "c"]);
        assert_eq!(strs(prepend(vec![abc(), Value::Str("z".into())]).unwrap()), ["z", "a", "b"]);
        assert_eq!(strs(concat(vec![abc(), abc()]).unwrap()), ["a", "b", "a", "b"]);
        assert_eq!(strs(uniq(vec![concat(vec![abc(), abc()]).unwrap()]).unwrap()), ["a", "b"]);
        assert_eq!(has(vec![Value::Str("b".into()), abc()]), Ok(Value::Bool(true)));
        assert!(append(vec![Value::Str("x".into()), Value::Int(1)]).is_err());
    }

    #[test]
    fn json_round_trip() {
        let parsed = from_json(vec![Value::Str(r#"{"a":[1,2.5,"x",null,true]}"#.into())]).expect("valid json");
        let back = to_json(vec![parsed]).expect("serialisable");
        assert_eq!(back, Value::Str(r#"{"a":[1,2.5,"x",null,true]}"#.into()));
    }
}
