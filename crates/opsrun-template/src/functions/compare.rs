//! Comparison, logic and default-value functions, plus integer arithmetic.

use std::cmp::Ordering;

use super::{CallError, at_least, exact, to_int};
use crate::value::Value;

pub(super) fn not(args: Vec<Value>) -> Result<Value, CallError> {
    let [value] = exact(args)?;
    Ok(Value::Bool(!value.is_truthy()))
}

/// Go's `eq`: true if the first argument equals any of the others.
pub(super) fn eq(args: Vec<Value>) -> Result<Value, CallError> {
    at_least(&args, 2)?;
    let (first, rest) = args.split_first().unwrap_or((&Value::Nil, &[]));
    for other in rest {
        if equal(first, other)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

pub(super) fn ne(args: Vec<Value>) -> Result<Value, CallError> {
    let [a, b] = exact(args)?;
    Ok(Value::Bool(!equal(&a, &b)?))
}

/// Equality as Go's `eq` defines it, except that an undefined variable equals
/// any empty value (so `eq .MAYBE ""` works) and ints compare with floats.
fn equal(a: &Value, b: &Value) -> Result<bool, CallError> {
    Ok(match (a, b) {
        (Value::Undefined(_), other) | (other, Value::Undefined(_)) => other.is_empty(),
        (Value::Nil, other) | (other, Value::Nil) => matches!(other, Value::Nil),
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::List(_), Value::List(_)) | (Value::Map(_), Value::Map(_)) | (Value::Time(_), Value::Time(_)) => a == b,
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y) == Ordering::Equal,
            _ => return Err(incompatible(a, b)),
        },
    })
}

#[allow(clippy::cast_precision_loss)] // Mixed int/float comparison is inherently approximate.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn incompatible(a: &Value, b: &Value) -> CallError {
    CallError::Message(format!("incompatible types for comparison: {} and {}", a.type_name(), b.type_name()))
}

fn order(args: Vec<Value>) -> Result<Ordering, CallError> {
    let [a, b] = exact(args)?;
    match (&a, &b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        (Value::Time(x), Value::Time(y)) => Ok(x.cmp(y)),
        _ => match (number(&a), number(&b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).ok_or_else(|| CallError::Message("cannot order NaN".to_owned())),
            _ if a.type_name() == b.type_name() => {
                Err(CallError::Message(format!("invalid type for comparison: {}", a.type_name())))
            }
            _ => Err(incompatible(&a, &b)),
        },
    }
}

pub(super) fn lt(args: Vec<Value>) -> Result<Value, CallError> {
    Ok(Value::Bool(order(args)? == Ordering::Less))
}

pub(super) fn le(args: Vec<Value>) -> Result<Value, CallError> {
    Ok(Value::Bool(order(args)? != Ordering::Greater))
}

pub(super) fn gt(args: Vec<Value>) -> Result<Value, CallError> {
    Ok(Value::Bool(order(args)? == Ordering::Greater))
}

pub(super) fn ge(args: Vec<Value>) -> Result<Value, CallError> {
    Ok(Value::Bool(order(args)? != Ordering::Less))
}

/// Sprig's `default DEFAULT [VALUE]`: VALUE unless it is empty or undefined.
pub(super) fn default(args: Vec<Value>) -> Result<Value, CallError> {
    let mut args = args.into_iter();
    match (args.next(), args.next(), args.next()) {
        (Some(fallback), None, None) => Ok(fallback),
        (Some(fallback), Some(given), None) => Ok(if given.is_empty() { fallback } else { given }),
        (first, second, third) => {
            let got = [first, second, third].iter().flatten().count() + args.count();
            Err(CallError::Message(format!("wrong number of arguments: expected 1 or 2, got {got}")))
        }
    }
}

pub(super) fn empty(args: Vec<Value>) -> Result<Value, CallError> {
    let [value] = exact(args)?;
    Ok(Value::Bool(value.is_empty()))
}

pub(super) fn coalesce(args: Vec<Value>) -> Result<Value, CallError> {
    Ok(args.into_iter().find(Value::is_truthy).unwrap_or(Value::Nil))
}

/// Sprig's `ternary IF_TRUE IF_FALSE CONDITION`.
pub(super) fn ternary(args: Vec<Value>) -> Result<Value, CallError> {
    let [if_true, if_false, condition] = exact(args)?;
    Ok(if condition.is_truthy() { if_true } else { if_false })
}

fn overflow() -> CallError {
    CallError::Message("integer overflow".to_owned())
}

pub(super) fn add(args: Vec<Value>) -> Result<Value, CallError> {
    let mut sum: i64 = 0;
    for arg in &args {
        sum = sum.checked_add(to_int(arg)?).ok_or_else(overflow)?;
    }
    Ok(Value::Int(sum))
}

pub(super) fn mul(args: Vec<Value>) -> Result<Value, CallError> {
    at_least(&args, 1)?;
    let mut product: i64 = 1;
    for arg in &args {
        product = product.checked_mul(to_int(arg)?).ok_or_else(overflow)?;
    }
    Ok(Value::Int(product))
}

fn pair(args: Vec<Value>) -> Result<(i64, i64), CallError> {
    let [a, b] = exact(args)?;
    Ok((to_int(&a)?, to_int(&b)?))
}

pub(super) fn sub(args: Vec<Value>) -> Result<Value, CallError> {
    let (a, b) = pair(args)?;
    a.checked_sub(b).map(Value::Int).ok_or_else(overflow)
}

pub(super) fn div(args: Vec<Value>) -> Result<Value, CallError> {
    let (a, b) = pair(args)?;
    if b == 0 {
        return Err(CallError::Message("division by zero".to_owned()));
    }
    a.checked_div(b).map(Value::Int).ok_or_else(overflow)
}

pub(super) fn modulo(args: Vec<Value>) -> Result<Value, CallError> {
    let (a, b) = pair(args)?;
    if b == 0 {
        return Err(CallError::Message("division by zero".to_owned()));
    }
    a.checked_rem(b).map(Value::Int).ok_or_else(overflow)
}
