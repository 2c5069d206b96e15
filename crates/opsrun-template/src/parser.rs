//! Builds the AST from lexer items: control structure, pipelines, operands.
//!
//! Follows Go's `text/template/parse` grammar. Variables are checked at parse
//! time like Go does (`$x` must be declared in an enclosing scope), and
//! function names are resolved here so unknown ones fail before rendering.

use super::ast::{Action, Branch, Call, Command, Conditional, Node, Operand, Pipeline, RangeNode, Term};
use super::error::{Span, TemplateError, TemplateErrorKind};
use super::functions;
use super::lexer::{Item, Keyword, Tok, Token, lex};
use super::value::Value;

/// Parses a whole template into its top-level nodes. The top-level list, and each command
/// list, argument list and field list, is shrunk to its length once complete: a file holds
/// thousands of parsed templates for the whole run, most with one action of one command, for
/// which a growing vector would reserve room for four.
pub(crate) fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let mut parser = Parser { items: lex(src)?.into_iter(), vars: vec!["$".to_owned()], range_depth: 0, depth: 0 };
    let (nodes, stop) = parser.list()?;
    match stop {
        Stop::Eof => Ok(nodes),
        Stop::End(span) => {
            Err(TemplateError::syntax("unexpected `{{end}}`: there is no `if`, `range` or `with` to close", span))
        }
        Stop::Else { span, .. } => {
            Err(TemplateError::syntax("unexpected `{{else}}` outside `if`, `range` or `with`", span))
        }
    }
}

/// Why a list of nodes ended.
enum Stop {
    Eof,
    End(Span),
    /// `{{else}}`, or `{{else if ...}}`/`{{else with ...}}` with the keyword
    /// and the header tokens that follow it.
    Else {
        span: Span,
        chain: Option<(Keyword, Vec<Token>)>,
    },
}

/// Which control structure a body belongs to, for messages.
#[derive(Clone, Copy, PartialEq)]
enum Control {
    If,
    With,
    Range,
}

impl Control {
    fn name(self) -> &'static str {
        match self {
            Control::If => "if",
            Control::With => "with",
            Control::Range => "range",
        }
    }
}

struct Parser {
    items: std::vec::IntoIter<Item>,
    /// Variables in scope, innermost last; `$` is always there.
    vars: Vec<String>,
    /// How many `range` bodies enclose the current position (for `break`).
    range_depth: usize,
    /// Nesting of blocks and parentheses, bounded so that hostile input
    /// cannot overflow the stack of the recursive parser (and renderer).
    depth: usize,
}

/// Deeper nesting than any real template needs.
const MAX_DEPTH: usize = 100;

impl Parser {
    fn enter(&mut self, span: Span) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(TemplateError::syntax(format!("nesting deeper than {MAX_DEPTH} levels"), span));
        }
        Ok(())
    }

    fn list(&mut self) -> Result<(Vec<Node>, Stop), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            let Some(item) = self.items.next() else {
                nodes.shrink_to_fit();
                return Ok((nodes, Stop::Eof));
            };
            let (span, tokens) = match item {
                Item::Text { start, end } => {
                    nodes.push(Node::Text { start, end });
                    continue;
                }
                Item::Action { span, tokens } => (span, tokens),
            };
            let Some(first) = tokens.first() else {
                return Err(TemplateError::syntax("empty action: missing value", span));
            };
            let Tok::Keyword(keyword) = first.tok else {
                let pipe = self.action_pipeline(&tokens, span, 1, "action")?;
                nodes.push(Node::Action(Box::new(Action { pipe, span })));
                continue;
            };
            match keyword {
                Keyword::End => {
                    expect_alone(&tokens, "end")?;
                    return Ok((nodes, Stop::End(span)));
                }
                Keyword::Else => {
                    let chain = match tokens.get(1).map(|t| &t.tok) {
                        None => None,
                        Some(Tok::Keyword(kw @ (Keyword::If | Keyword::With))) => Some((*kw, tokens[2..].to_vec())),
                        Some(_) => {
                            return Err(TemplateError::syntax(
                                "unexpected tokens after `else` (expected `}}`, `if` or `with`)",
                                tokens[1].span,
                            ));
                        }
                    };
                    return Ok((nodes, Stop::Else { span, chain }));
                }
                Keyword::If => nodes.push(self.conditional(Control::If, span, span, &tokens[1..])?),
                Keyword::With => {
                    nodes.push(self.conditional(Control::With, span, span, &tokens[1..])?);
                }
                Keyword::Range => nodes.push(self.range(span, &tokens[1..])?),
                Keyword::Break | Keyword::Continue => {
                    let name = keyword.as_str();
                    expect_alone(&tokens, name)?;
                    if self.range_depth == 0 {
                        return Err(TemplateError::syntax(format!("`{{{{{name}}}}}` outside `range`"), span));
                    }
                    nodes.push(if keyword == Keyword::Break { Node::Break } else { Node::Continue });
                }
                Keyword::Define | Keyword::Template | Keyword::Block => {
                    return Err(TemplateError::syntax(
                        format!("`{}` is not supported: opsrun templates are single-file", keyword.as_str()),
                        first.span,
                    ));
                }
            }
        }
    }

    /// Parses `{{if}}`/`{{with}}` from its header to its `{{end}}`. `opener`
    /// is the action that began the chain, named when `{{end}}` is missing.
    fn conditional(
        &mut self,
        control: Control,
        opener: Span,
        header: Span,
        tokens: &[Token],
    ) -> Result<Node, TemplateError> {
        self.enter(header)?;
        let mark = self.vars.len();
        let pipe = self.action_pipeline(tokens, header, 1, control.name())?;
        let body_mark = self.vars.len();
        let (body, stop) = self.list()?;
        self.vars.truncate(body_mark);
        let otherwise = match stop {
            Stop::Eof => return Err(unclosed(control, opener)),
            Stop::End(_) => None,
            Stop::Else { span, chain: None } => Some(self.else_body(control, opener, span)?),
            Stop::Else { span, chain: Some((kw, rest)) } => {
                let nested = if kw == Keyword::If { Control::If } else { Control::With };
                Some(vec![self.conditional(nested, opener, span, &rest)?])
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        let cond = Box::new(Conditional { branches: vec![Branch { pipe, body }], otherwise });
        Ok(match control {
            Control::With => Node::With(cond),
            _ => Node::If(cond),
        })
    }

    /// Parses the body of a plain `{{else}}` up to `{{end}}`.
    fn else_body(&mut self, control: Control, opener: Span, _else: Span) -> Result<Vec<Node>, TemplateError> {
        let mark = self.vars.len();
        let (body, stop) = self.list()?;
        self.vars.truncate(mark);
        match stop {
            Stop::End(_) => Ok(body),
            Stop::Eof => Err(unclosed(control, opener)),
            Stop::Else { span, .. } => Err(TemplateError::syntax(
                format!("unexpected `{{{{else}}}}` after `{{{{else}}}}` in `{}`", control.name()),
                span,
            )),
        }
    }

    fn range(&mut self, header: Span, tokens: &[Token]) -> Result<Node, TemplateError> {
        self.enter(header)?;
        let mark = self.vars.len();
        let pipe = self.action_pipeline(tokens, header, 2, "range")?;
        if pipe.assign {
            return Err(TemplateError::syntax("`range` declares its variables with `:=`, not `=`", pipe.span));
        }
        self.range_depth += 1;
        let body = self.list();
        self.range_depth -= 1;
        let (body, stop) = body?;
        self.vars.truncate(mark);
        let otherwise = match stop {
            Stop::Eof => return Err(unclosed(Control::Range, header)),
            Stop::End(_) => None,
            Stop::Else { span, chain: None } => Some(self.else_body(Control::Range, header, span)?),
            Stop::Else { span, chain: Some((kw, rest)) } => {
                let nested = if kw == Keyword::If { Control::If } else { Control::With };
                Some(vec![self.conditional(nested, header, span, &rest)?])
            }
        };
        self.depth -= 1;
        Ok(Node::Range(Box::new(RangeNode { pipe, body, otherwise, span: header })))
    }

    /// Parses the pipeline of an action or control header, with up to
    /// `max_decl` declared variables, consuming every token.
    fn action_pipeline(
        &mut self,
        tokens: &[Token],
        span: Span,
        max_decl: usize,
        context: &str,
    ) -> Result<Pipeline, TemplateError> {
        if tokens.is_empty() {
            return Err(TemplateError::syntax(format!("missing value for `{context}`"), span));
        }
        let mut cursor = Cursor { tokens, pos: 0 };
        let (decl, assign) = self.declaration(&mut cursor, max_decl)?;
        let mut pipe = self.pipeline(&mut cursor, None)?;
        if let Some(extra) = cursor.peek() {
            return Err(unexpected(extra));
        }
        if !assign {
            self.vars.extend(decl.iter().cloned());
        }
        pipe.decl = decl;
        pipe.assign = assign;
        Ok(pipe)
    }

    /// Recognises `$x :=`, `$x =`, `$i, $e :=` at the start of a pipeline.
    fn declaration(&self, c: &mut Cursor<'_>, max_decl: usize) -> Result<(Vec<String>, bool), TemplateError> {
        let toks: Vec<&Tok> = c.tokens.iter().take(4).map(|t| &t.tok).collect();
        let (names, op_index) = match toks.as_slice() {
            [Tok::Var(a), Tok::Declare | Tok::Assign, ..] => (vec![a.clone()], 1),
            [Tok::Var(a), Tok::Comma, Tok::Var(b), Tok::Declare | Tok::Assign, ..] => (vec![a.clone(), b.clone()], 3),
            _ => return Ok((Vec::new(), false)),
        };
        let op = &c.tokens[op_index];
        if names.len() > max_decl {
            return Err(TemplateError::syntax(
                "too many variables: only `range` declares two",
                c.tokens[0].span.to(op.span),
            ));
        }
        let assign = op.tok == Tok::Assign;
        for (i, name) in names.iter().enumerate() {
            let span = c.tokens[i * 2].span;
            if name == "$" {
                return Err(TemplateError::syntax("cannot assign to `$`", span));
            }
            if assign && !self.vars.contains(name) {
                return Err(TemplateError::new(TemplateErrorKind::UndefinedVariable(name.clone()), span));
            }
        }
        c.pos = op_index + 1;
        Ok((names, assign))
    }

    /// Parses `command ('|' command)*` up to the end of the tokens or, inside
    /// parentheses (`open` is the `(`), up to and including the `)`.
    fn pipeline(&mut self, c: &mut Cursor<'_>, open: Option<Span>) -> Result<Pipeline, TemplateError> {
        let start = c.peek().map_or_else(|| open.unwrap_or_default(), |t| t.span);
        let mut cmds = Vec::new();
        loop {
            let cmd = self.command(c, open)?;
            if !cmds.is_empty()
                && let Command::Operand(op) = &cmd
            {
                return Err(TemplateError::syntax(
                    "cannot pipe into a value: only a function can receive a piped value",
                    op.span,
                ));
            }
            cmds.push(cmd);
            match c.peek() {
                None => {
                    if let Some(open) = open {
                        return Err(TemplateError::syntax("unclosed `(`", open));
                    }
                    break;
                }
                Some(Token { tok: Tok::Pipe, span }) => {
                    let span = *span;
                    c.pos += 1;
                    if c.peek().is_none_or(|t| matches!(t.tok, Tok::Pipe | Tok::RParen)) {
                        return Err(TemplateError::syntax("missing command after `|`", span));
                    }
                }
                Some(Token { tok: Tok::RParen, .. }) if open.is_some() => break,
                Some(other) => return Err(unexpected(other)),
            }
        }
        let end = c.tokens.get(c.pos.saturating_sub(1)).map_or(start, |t| t.span);
        cmds.shrink_to_fit();
        Ok(Pipeline { decl: Vec::new(), assign: false, cmds, span: start.to(end) })
    }

    fn command(&mut self, c: &mut Cursor<'_>, open: Option<Span>) -> Result<Command, TemplateError> {
        let first = self.operand(c, open)?;
        let mut args = Vec::new();
        let mut end = first.span;
        while let Some(next) = c.peek() {
            if matches!(next.tok, Tok::Pipe | Tok::RParen) {
                break;
            }
            if next.span.start == end.end() {
                return Err(TemplateError::syntax(format!("missing space before {}", next.tok.describe()), next.span));
            }
            let arg = self.operand(c, open)?;
            end = arg.span;
            args.push(arg);
        }
        args.shrink_to_fit();
        match first.term {
            Term::Call(func, span) if first.fields.is_empty() => {
                Ok(Command::Call(Call { func, args, span: span.to(end) }))
            }
            _ => match args.first() {
                None => Ok(Command::Operand(first)),
                Some(arg) => {
                    Err(TemplateError::syntax("unexpected argument: only a function can take arguments", arg.span))
                }
            },
        }
    }

    fn operand(&mut self, c: &mut Cursor<'_>, open: Option<Span>) -> Result<Operand, TemplateError> {
        let Some(token) = c.next() else {
            let span = c.tokens.last().map(|t| t.span).or(open).unwrap_or_default();
            return Err(TemplateError::syntax("missing value", span));
        };
        let span = token.span;
        let mut fields = Vec::new();
        let (term, chains) = match &token.tok {
            Tok::Field(name) => {
                fields.push(name.clone());
                (Term::Dot, true)
            }
            Tok::Dot => (Term::Dot, false),
            Tok::Var(name) => {
                if !self.vars.contains(name) {
                    return Err(TemplateError::new(TemplateErrorKind::UndefinedVariable(name.clone()), span));
                }
                (Term::Var(name.clone()), true)
            }
            Tok::Ident(name) => {
                let func = functions::lookup(name).ok_or_else(|| {
                    TemplateError::new(
                        TemplateErrorKind::UnknownFunction {
                            name: name.clone(),
                            suggestion: functions::suggest(name).map(str::to_owned),
                        },
                        span,
                    )
                })?;
                (Term::Call(func, span), false)
            }
            Tok::Str(s) => (Term::Literal(Box::new(Value::Str(s.clone()))), false),
            Tok::Int(i) => (Term::Literal(Box::new(Value::Int(*i))), false),
            Tok::Float(f) => (Term::Literal(Box::new(Value::Float(*f))), false),
            Tok::Bool(b) => (Term::Literal(Box::new(Value::Bool(*b))), false),
            Tok::Nil => (Term::Literal(Box::new(Value::Nil)), false),
            Tok::LParen => {
                self.enter(span)?;
                let inner = self.pipeline(c, Some(span))?;
                self.depth -= 1;
                // `pipeline` stopped at the `)`; consume it.
                c.pos += 1;
                (Term::Pipe(Box::new(inner)), true)
            }
            _ => return Err(unexpected(token)),
        };
        let mut end = c.tokens.get(c.pos - 1).map_or(span, |t| t.span);
        while let Some(Token { tok: Tok::Field(name), span: field_span }) = c.peek() {
            if field_span.start != end.end() {
                break;
            }
            if !chains {
                return Err(TemplateError::syntax(
                    format!("unexpected `.{name}`: fields can only follow a variable, a field or `)`"),
                    *field_span,
                ));
            }
            fields.push(name.clone());
            end = *field_span;
            c.pos += 1;
        }
        fields.shrink_to_fit();
        Ok(Operand { term, fields, span: span.to(end) })
    }
}

struct Cursor<'t> {
    tokens: &'t [Token],
    pos: usize,
}

impl<'t> Cursor<'t> {
    fn peek(&self) -> Option<&'t Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<&'t Token> {
        let token = self.tokens.get(self.pos)?;
        self.pos += 1;
        Some(token)
    }
}

fn expect_alone(tokens: &[Token], keyword: &str) -> Result<(), TemplateError> {
    match tokens.get(1) {
        None => Ok(()),
        Some(extra) => {
            Err(TemplateError::syntax(format!("unexpected {} after `{keyword}`", extra.tok.describe()), extra.span))
        }
    }
}

fn unexpected(token: &Token) -> TemplateError {
    TemplateError::syntax(format!("unexpected {}", token.tok.describe()), token.span)
}

fn unclosed(control: Control, opener: Span) -> TemplateError {
    TemplateError::syntax(format!("unclosed `{}`: missing `{{{{end}}}}`", control.name()), opener)
}
