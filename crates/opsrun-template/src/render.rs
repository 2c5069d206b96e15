//! Evaluates a parsed template against a [`Scope`] on a [`Host`].
//!
//! Dot starts as the root variable map, which is never materialised: `.NAME`
//! at the root asks the scope, so only referenced variables are evaluated.
//! Template variables (`$x`) live on a stack that is truncated at the end of
//! each control structure, mirroring the parser's scoping.

use super::ast::{Command, Conditional, Node, Operand, Pipeline, RangeNode, Term};
use super::error::{Span, TemplateError, TemplateErrorKind};
use super::functions::{CallError, Func, Kind, OnUndefined};
use super::host::Host;
use super::scope::Scope;
use super::value::Value;

/// Renders `nodes` (parsed from `src`) into a new string. An undefined variable that reaches
/// the output is an error, and all of them are reported (rendering goes on past one); with
/// `lenient`, it prints as nothing instead and is returned with the byte range of its action.
/// Any other error ends the rendering (the last error of the list).
pub(crate) fn render(
    src: &str,
    nodes: &[Node],
    scope: &mut dyn Scope,
    host: &dyn Host,
    lenient: bool,
) -> Result<(String, Vec<UndefinedUse>), Vec<TemplateError>> {
    let mut renderer = Renderer {
        src,
        scope,
        host,
        vars: Vec::new(),
        out: String::with_capacity(src.len()),
        steps: 0,
        lenient,
        undefined: Vec::new(),
        lenient_undefined: Vec::new(),
    };
    if let Err(e) = renderer.walk(nodes, &Datum::Root) {
        renderer.undefined.push(e);
        return Err(renderer.undefined);
    }
    if renderer.undefined.is_empty() { Ok((renderer.out, renderer.lenient_undefined)) } else { Err(renderer.undefined) }
}

/// An undefined variable printed in lenient mode, with its action's byte range.
pub(crate) type UndefinedUse = (String, std::ops::Range<usize>);

/// The most one rendering may produce: a command, a variable or a message longer than this is
/// a runaway template (variables doubling each other, say).
pub const MAX_OUTPUT: usize = 4 << 20;

/// The most steps (nodes, loop iterations, calls) one rendering may take: a nested `range` over
/// huge lists is an error, not a hang.
pub const MAX_STEPS: u64 = 2_000_000;

/// What dot (or a variable) holds: the root variable map, or a value.
#[derive(Debug, Clone)]
enum Datum {
    Root,
    Val(Value),
}

impl Datum {
    fn is_truthy(&self) -> bool {
        match self {
            Datum::Root => true,
            Datum::Val(v) => v.is_truthy(),
        }
    }
}

/// How a list of nodes finished: normally, or by `{{break}}`/`{{continue}}`.
enum Flow {
    Next,
    Break,
    Continue,
}

struct Renderer<'a, 's> {
    src: &'a str,
    scope: &'s mut dyn Scope,
    host: &'s dyn Host,
    vars: Vec<(&'a str, Datum)>,
    out: String,
    steps: u64,
    /// Undefined values print as nothing (and are recorded) instead of failing.
    lenient: bool,
    /// Undefined variables printed so far (strict): rendering goes on to find the others.
    undefined: Vec<TemplateError>,
    /// The undefined variables printed in lenient mode, with their actions' byte ranges.
    lenient_undefined: Vec<UndefinedUse>,
}

impl<'a> Renderer<'a, '_> {
    /// Counts one step of work; past [`MAX_STEPS`], an error at `span`.
    fn step(&mut self, span: Span) -> Result<(), TemplateError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(TemplateError::new(
                TemplateErrorKind::Limit(format!(
                    "the template takes more than {MAX_STEPS} steps to render (a range over a huge list?)"
                )),
                span,
            ));
        }
        Ok(())
    }

    /// Errors once the output is past [`MAX_OUTPUT`].
    fn check_size(&self, span: Span) -> Result<(), TemplateError> {
        if self.out.len() > MAX_OUTPUT {
            return Err(TemplateError::new(
                TemplateErrorKind::Limit(format!("the template renders more than {} MiB", MAX_OUTPUT >> 20)),
                span,
            ));
        }
        Ok(())
    }

    fn walk(&mut self, nodes: &'a [Node], dot: &Datum) -> Result<Flow, TemplateError> {
        for node in nodes {
            let flow = match node {
                Node::Text { start, end } => {
                    self.step(Span::new(*start, *end))?;
                    self.out.push_str(self.src.get(*start..*end).unwrap_or_default());
                    self.check_size(Span::new(*start, *end))?;
                    Flow::Next
                }
                Node::Action(action) => {
                    let value = self.eval_and_bind(&action.pipe, dot)?;
                    if action.pipe.decl.is_empty() {
                        self.print(value, action.span)?;
                    }
                    Flow::Next
                }
                Node::If(cond) => self.conditional(cond, dot, false)?,
                Node::With(cond) => self.conditional(cond, dot, true)?,
                Node::Range(range) => self.range(range, dot)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Next) {
                return Ok(flow);
            }
        }
        Ok(Flow::Next)
    }

    fn print(&mut self, value: Datum, span: Span) -> Result<(), TemplateError> {
        let value = to_value(value, span)?;
        if let Some(name) = value.find_undefined() {
            if self.lenient {
                self.lenient_undefined.push((name.to_owned(), span.range()));
            } else {
                self.undefined.push(TemplateError::new(TemplateErrorKind::UndefinedVariable(name.to_owned()), span));
            }
            return Ok(());
        }
        value.write_display(&mut self.out);
        self.check_size(span)
    }

    fn conditional(&mut self, cond: &'a Conditional, dot: &Datum, with: bool) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        for branch in &cond.branches {
            let value = self.eval_and_bind(&branch.pipe, dot)?;
            if value.is_truthy() {
                let flow = if with { self.walk(&branch.body, &value)? } else { self.walk(&branch.body, dot)? };
                self.vars.truncate(mark);
                return Ok(flow);
            }
        }
        // Header variables stay visible in `{{else}}`, as in Go.
        let flow = match &cond.otherwise {
            Some(otherwise) => self.walk(otherwise, dot)?,
            None => Flow::Next,
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range(&mut self, range: &'a RangeNode, dot: &Datum) -> Result<Flow, TemplateError> {
        let value = to_value(self.eval(&range.pipe, dot)?, range.pipe.span)?;
        let eval_error = |message: String| Err(TemplateError::new(TemplateErrorKind::Eval(message), range.span));
        let pairs: Vec<(Value, Value)> = match value {
            Value::List(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| (Value::Int(i64::try_from(i).unwrap_or(i64::MAX)), item))
                .collect(),
            Value::Map(map) => {
                // Go ranges over maps in sorted key order.
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                entries.into_iter().map(|(k, v)| (Value::Str(k), v)).collect()
            }
            Value::Int(n) => {
                if range.pipe.decl.len() > 1 {
                    return eval_error("cannot declare two variables when ranging over an integer".to_owned());
                }
                if u64::try_from(n).is_ok_and(|n| n > MAX_STEPS) {
                    return Err(TemplateError::new(
                        TemplateErrorKind::Limit(format!("cannot range over {n}: more than {MAX_STEPS} steps")),
                        range.span,
                    ));
                }
                (0..n.max(0)).map(|i| (Value::Int(i), Value::Int(i))).collect()
            }
            // Go skips to `{{else}}` for nil; an undefined var is treated alike.
            Value::Undefined(_) | Value::Nil => Vec::new(),
            other => return eval_error(format!("cannot range over a {} value", other.type_name())),
        };
        let mark = self.vars.len();
        let empty = pairs.is_empty();
        for (key, elem) in pairs {
            self.step(range.span)?;
            self.vars.truncate(mark);
            match range.pipe.decl.as_slice() {
                [element] => self.vars.push((element, Datum::Val(elem.clone()))),
                [k, element] => {
                    self.vars.push((k, Datum::Val(key)));
                    self.vars.push((element, Datum::Val(elem.clone())));
                }
                _ => {}
            }
            if let Flow::Break = self.walk(&range.body, &Datum::Val(elem))? {
                break;
            }
        }
        self.vars.truncate(mark);
        match (&range.otherwise, empty) {
            (Some(otherwise), true) => self.walk(otherwise, dot),
            _ => Ok(Flow::Next),
        }
    }

    fn eval_and_bind(&mut self, pipe: &'a Pipeline, dot: &Datum) -> Result<Datum, TemplateError> {
        let value = self.eval(pipe, dot)?;
        for name in &pipe.decl {
            if pipe.assign {
                // The parser checked the variable exists in an enclosing scope.
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = value.clone();
                }
            } else {
                self.vars.push((name, value.clone()));
            }
        }
        Ok(value)
    }

    fn eval(&mut self, pipe: &'a Pipeline, dot: &Datum) -> Result<Datum, TemplateError> {
        let mut piped: Option<Datum> = None;
        for cmd in &pipe.cmds {
            piped = Some(match cmd {
                Command::Operand(op) => self.operand(op, dot)?,
                Command::Call(call) => Datum::Val(self.call(call.func, &call.args, call.span, dot, piped.take())?),
            });
        }
        Ok(piped.unwrap_or(Datum::Val(Value::Nil)))
    }

    fn call(
        &mut self,
        func: &'static Func,
        operands: &'a [Operand],
        span: Span,
        dot: &Datum,
        piped: Option<Datum>,
    ) -> Result<Value, TemplateError> {
        self.step(span)?;
        let imp = match func.kind {
            Kind::Plain(imp) => imp,
            Kind::And | Kind::Or => return self.and_or(func, operands, span, dot, piped),
        };
        let mut args = Vec::with_capacity(operands.len() + 1);
        for op in operands {
            args.push(self.value(op, dot)?);
        }
        if let Some(piped) = piped {
            args.push(to_value(piped, span)?);
        }
        let undefined = args.iter().find(|a| matches!(a, Value::Undefined(_)));
        match (func.on_undefined, undefined) {
            (OnUndefined::Propagate, Some(undefined)) => return Ok(undefined.clone()),
            (OnUndefined::Reject, Some(Value::Undefined(name))) if !self.lenient => {
                return Err(TemplateError::new(TemplateErrorKind::UndefinedVariable(name.clone()), span));
            }
            (OnUndefined::Reject, Some(Value::Undefined(name))) => {
                // As in Go, the function gets nil.
                self.lenient_undefined.push((name.clone(), span.range()));
                for arg in &mut args {
                    if matches!(arg, Value::Undefined(_)) {
                        *arg = Value::Nil;
                    }
                }
            }
            _ => {}
        }
        imp.call(self.host, args).map_err(|e| {
            let kind = match e {
                CallError::Message(message) => TemplateErrorKind::Function { name: func.name.to_owned(), message },
                CallError::Fail(message) => TemplateErrorKind::Fail(message),
            };
            TemplateError::new(kind, span)
        })
    }

    /// Go's short-circuit `and`/`or`: returns the first argument that decides
    /// the result (falsy for `and`, truthy for `or`), else the last one.
    fn and_or(
        &mut self,
        func: &'static Func,
        operands: &'a [Operand],
        span: Span,
        dot: &Datum,
        piped: Option<Datum>,
    ) -> Result<Value, TemplateError> {
        if operands.is_empty() && piped.is_none() {
            return Err(TemplateError::new(
                TemplateErrorKind::Function {
                    name: func.name.to_owned(),
                    message: "wrong number of arguments: expected at least 1, got 0".to_owned(),
                },
                span,
            ));
        }
        let stop_when = matches!(func.kind, Kind::Or);
        let mut last = Value::Nil;
        for op in operands {
            let value = self.value(op, dot)?;
            if value.is_truthy() == stop_when {
                return Ok(value);
            }
            last = value;
        }
        match piped {
            Some(piped) => to_value(piped, span),
            None => Ok(last),
        }
    }

    fn value(&mut self, op: &'a Operand, dot: &Datum) -> Result<Value, TemplateError> {
        to_value(self.operand(op, dot)?, op.span)
    }

    fn operand(&mut self, op: &'a Operand, dot: &Datum) -> Result<Datum, TemplateError> {
        let fields = op.fields.as_slice();
        match &op.term {
            Term::Dot => match dot {
                Datum::Root if !fields.is_empty() => self.root_field(fields, op.span),
                Datum::Val(v) if !fields.is_empty() => field_chain(v, fields, 0, None, op.span),
                _ => Ok(dot.clone()),
            },
            Term::Var(name) => {
                let datum = if name == "$" {
                    Datum::Root
                } else {
                    // The parser checked the variable is declared.
                    self.vars.iter().rev().find(|(n, _)| n == name).map_or(Datum::Val(Value::Nil), |(_, d)| d.clone())
                };
                self.fields_of(datum, fields, Some(name), op.span)
            }
            Term::Literal(value) => Ok(Datum::Val((**value).clone())),
            Term::Call(func, span) => {
                let value = self.call(func, &[], *span, dot, None)?;
                self.fields_of(Datum::Val(value), fields, None, op.span)
            }
            Term::Pipe(pipe) => {
                let datum = self.eval(pipe, dot)?;
                self.fields_of(datum, fields, None, op.span)
            }
        }
    }

    fn fields_of(
        &mut self,
        datum: Datum,
        fields: &[String],
        prefix: Option<&str>,
        span: Span,
    ) -> Result<Datum, TemplateError> {
        match datum {
            _ if fields.is_empty() => Ok(datum),
            Datum::Root => self.root_field(fields, span),
            Datum::Val(v) => field_chain(&v, fields, 0, prefix, span),
        }
    }

    /// `.A.B...` on the root map: asks the scope for `A`, then walks the rest.
    fn root_field(&mut self, fields: &[String], span: Span) -> Result<Datum, TemplateError> {
        let name = &fields[0];
        let value = match self.scope.lookup(name) {
            Ok(Some(value)) => value,
            Ok(None) => Value::Undefined(name.clone()),
            Err(message) => {
                return Err(TemplateError::new(TemplateErrorKind::Lookup { name: name.clone(), message }, span));
            }
        };
        if fields.len() == 1 {
            return Ok(Datum::Val(value));
        }
        field_chain(&value, fields, 1, None, span)
    }
}

/// Walks `fields[start..]` into `value`. A missing map key yields an
/// undefined value named by the path so far (`A.B`), so printing it says
/// exactly what is missing.
fn field_chain(
    value: &Value,
    fields: &[String],
    start: usize,
    prefix: Option<&str>,
    span: Span,
) -> Result<Datum, TemplateError> {
    let path = |end: usize| {
        let joined = fields[..=end].join(".");
        match prefix {
            Some(prefix) => format!("{prefix}.{joined}"),
            None => joined,
        }
    };
    let mut current = value;
    for (i, field) in fields.iter().enumerate().skip(start) {
        current = match current {
            Value::Map(map) => match map.get(field) {
                Some(next) => next,
                None => return Ok(Datum::Val(Value::Undefined(path(i)))),
            },
            Value::Undefined(_) => break,
            other => {
                return Err(TemplateError::new(
                    TemplateErrorKind::Eval(format!("cannot read field `{field}` of a {} value", other.type_name())),
                    span,
                ));
            }
        };
    }
    Ok(Datum::Val(current.clone()))
}

fn to_value(datum: Datum, span: Span) -> Result<Value, TemplateError> {
    match datum {
        Datum::Val(value) => Ok(value),
        Datum::Root => Err(TemplateError::new(
            TemplateErrorKind::Eval(
                "the variable map `.` cannot be used as a value; use a field such as `.NAME`".to_owned(),
            ),
            span,
        )),
    }
}
