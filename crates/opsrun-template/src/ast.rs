//! The parsed form of a template.
//!
//! Function names are resolved at parse time (`&'static Func`), so rendering
//! never looks a name up and an unknown function is a parse error with a
//! suggestion, as in Go.

use super::error::Span;
use super::functions::Func;
use super::value::Value;

/// A node of the template body. Actions and conditionals are boxed, so that a node is 24 bytes
/// rather than 88: every template of a tasks file is kept parsed, and most of its nodes are text.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text: a byte range of the source.
    Text {
        start: usize,
        end: usize,
    },
    /// `{{pipeline}}`: prints the result unless the pipeline declares a variable.
    Action(Box<Action>),
    /// `{{if}}` with its `{{else if}}` chain.
    If(Box<Conditional>),
    /// `{{with}}` with its `{{else with}}` chain.
    With(Box<Conditional>),
    /// Boxed: it is the largest node, and the rarest of those that are not text or an action.
    Range(Box<RangeNode>),
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub(crate) pipe: Pipeline,
    /// The whole `{{ ... }}`, used to locate errors about printing.
    pub(crate) span: Span,
}

/// `if`/`with` chain: the first truthy branch runs, else `otherwise`.
#[derive(Debug, Clone)]
pub(crate) struct Conditional {
    pub(crate) branches: Vec<Branch>,
    pub(crate) otherwise: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub(crate) pipe: Pipeline,
    pub(crate) body: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(crate) struct RangeNode {
    /// `decl` holds the element variable, or the key and element variables.
    pub(crate) pipe: Pipeline,
    pub(crate) body: Vec<Node>,
    pub(crate) otherwise: Option<Vec<Node>>,
    /// The `{{range ...}}` action, for errors about what is ranged over.
    pub(crate) span: Span,
}

/// `[$x :=] command | command ...`
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    /// Declared or assigned variable names (with the `$`).
    pub(crate) decl: Vec<String>,
    /// `=` (assign to an existing variable) rather than `:=`.
    pub(crate) assign: bool,
    pub(crate) cmds: Vec<Command>,
    pub(crate) span: Span,
}

#[derive(Debug, Clone)]
pub(crate) enum Command {
    /// A function call; the piped value, if any, is appended to `args`.
    Call(Call),
    /// A lone operand (only valid as the first command of a pipeline).
    Operand(Operand),
}

#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) func: &'static Func,
    pub(crate) args: Vec<Operand>,
    pub(crate) span: Span,
}

/// A term followed by a field chain: `.A.B`, `$x.C`, `(pipeline).D`, `"lit"`.
#[derive(Debug, Clone)]
pub(crate) struct Operand {
    pub(crate) term: Term,
    pub(crate) fields: Vec<String>,
    pub(crate) span: Span,
}

#[derive(Debug, Clone)]
pub(crate) enum Term {
    /// `.` — fields on it are `.A.B`.
    Dot,
    /// `$` or `$name`.
    Var(String),
    /// A constant (boxed: a `Value` is 72 bytes, and most operands are `.NAME` fields).
    Literal(Box<Value>),
    /// A function used as an argument, called with no arguments (`eq OS "linux"`).
    Call(&'static Func, Span),
    /// `( pipeline )`.
    Pipe(Box<Pipeline>),
}

/// Collects the root variables referenced by `nodes` into `out` (in order of
/// first use, deduplicated). `root_dot` says whether `.` is the variable map
/// here: it is not inside `with` and `range` bodies, where dot is rebound.
pub(crate) fn collect_root_vars(nodes: &[Node], root_dot: bool, out: &mut Vec<String>) {
    for node in nodes {
        match node {
            Node::Text { .. } | Node::Break | Node::Continue => {}
            Node::Action(action) => collect_pipe(&action.pipe, root_dot, out),
            Node::If(cond) | Node::With(cond) => {
                let body_root = root_dot && matches!(node, Node::If(_));
                for branch in &cond.branches {
                    collect_pipe(&branch.pipe, root_dot, out);
                    collect_root_vars(&branch.body, body_root, out);
                }
                if let Some(otherwise) = &cond.otherwise {
                    collect_root_vars(otherwise, root_dot, out);
                }
            }
            Node::Range(range) => {
                collect_pipe(&range.pipe, root_dot, out);
                collect_root_vars(&range.body, false, out);
                if let Some(otherwise) = &range.otherwise {
                    collect_root_vars(otherwise, root_dot, out);
                }
            }
        }
    }
}

fn collect_pipe(pipe: &Pipeline, root_dot: bool, out: &mut Vec<String>) {
    for cmd in &pipe.cmds {
        match cmd {
            Command::Call(call) => {
                for arg in &call.args {
                    collect_operand(arg, root_dot, out);
                }
            }
            Command::Operand(op) => collect_operand(op, root_dot, out),
        }
    }
}

fn collect_operand(op: &Operand, root_dot: bool, out: &mut Vec<String>) {
    let is_root = match &op.term {
        Term::Dot => root_dot,
        Term::Var(name) => name == "$",
        Term::Pipe(pipe) => {
            collect_pipe(pipe, root_dot, out);
            false
        }
        Term::Literal(_) | Term::Call(..) => false,
    };
    if is_root
        && let Some(first) = op.fields.first()
        && !out.contains(first)
    {
        out.push(first.clone());
    }
}
