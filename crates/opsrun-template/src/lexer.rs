//! Splits template source into text runs and tokenised actions.
//!
//! Mirrors Go's `text/template/parse` lexer: `{{- ` and ` -}}` trim the
//! adjacent text's whitespace, `{{/* */}}` comments vanish, and string
//! literals use Go's escapes. The lexer runs once over the whole source and
//! hands the parser a flat list of items, each token carrying its byte span.

use super::error::{Span, TemplateError};

/// A keyword recognised inside actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    If,
    Else,
    End,
    Range,
    With,
    Define,
    Template,
    Block,
    Break,
    Continue,
}

impl Keyword {
    fn from_ident(ident: &str) -> Option<Self> {
        Some(match ident {
            "if" => Keyword::If,
            "else" => Keyword::Else,
            "end" => Keyword::End,
            "range" => Keyword::Range,
            "with" => Keyword::With,
            "define" => Keyword::Define,
            "template" => Keyword::Template,
            "block" => Keyword::Block,
            "break" => Keyword::Break,
            "continue" => Keyword::Continue,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Keyword::If => "if",
            Keyword::Else => "else",
            Keyword::End => "end",
            Keyword::Range => "range",
            Keyword::With => "with",
            Keyword::Define => "define",
            Keyword::Template => "template",
            Keyword::Block => "block",
            Keyword::Break => "break",
            Keyword::Continue => "continue",
        }
    }
}

/// A token inside an action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// `.Name` (without the dot).
    Field(String),
    /// `.` alone.
    Dot,
    /// `$` or `$name` (with the dollar).
    Var(String),
    /// A function name.
    Ident(String),
    Keyword(Keyword),
    Bool(bool),
    Nil,
    /// A decoded string literal (quoted or raw).
    Str(String),
    Int(i64),
    Float(f64),
    Pipe,
    LParen,
    RParen,
    /// `:=`
    Declare,
    /// `=`
    Assign,
    Comma,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Field(name) => format!("`.{name}`"),
            Tok::Dot => "`.`".to_owned(),
            Tok::Var(name) | Tok::Ident(name) => format!("`{name}`"),
            Tok::Keyword(kw) => format!("keyword `{}`", kw.as_str()),
            Tok::Bool(b) => format!("`{b}`"),
            Tok::Nil => "`nil`".to_owned(),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Int(i) => format!("number `{i}`"),
            Tok::Float(f) => format!("number `{f}`"),
            Tok::Pipe => "`|`".to_owned(),
            Tok::LParen => "`(`".to_owned(),
            Tok::RParen => "`)`".to_owned(),
            Tok::Declare => "`:=`".to_owned(),
            Tok::Assign => "`=`".to_owned(),
            Tok::Comma => "`,`".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Span,
}

/// A top-level piece of the template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// Literal text, already trimmed by adjacent trim markers.
    Text { start: usize, end: usize },
    /// An action; `span` covers the delimiters. Comments produce no item.
    Action { span: Span, tokens: Vec<Token> },
}

/// Go's `isSpace`: the whitespace trim markers remove.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokenises the whole template.
pub(crate) fn lex(src: &str) -> Result<Vec<Item>, TemplateError> {
    Lexer { src, bytes: src.as_bytes(), items: Vec::new() }.run()
}

struct Lexer<'s> {
    src: &'s str,
    bytes: &'s [u8],
    items: Vec<Item>,
}

impl Lexer<'_> {
    fn run(mut self) -> Result<Vec<Item>, TemplateError> {
        let mut pos = 0;
        let mut trim_next = false;
        loop {
            let open = self.src[pos..].find("{{").map(|i| pos + i);
            let mut text_start = pos;
            let mut text_end = open.unwrap_or(self.src.len());
            if trim_next {
                while text_start < text_end && is_space(self.bytes[text_start]) {
                    text_start += 1;
                }
            }
            let Some(open) = open else {
                self.push_text(text_start, text_end);
                return Ok(self.items);
            };
            let mut p = open + 2;
            if self.bytes.get(p) == Some(&b'-') && self.bytes.get(p + 1).is_some_and(|&b| is_space(b)) {
                while text_end > text_start && is_space(self.bytes[text_end - 1]) {
                    text_end -= 1;
                }
                p += 2;
            }
            self.push_text(text_start, text_end);
            let (end, trim) = if self.src[p..].starts_with("/*") {
                self.comment(open, p)?
            } else {
                let (tokens, end, trim) = self.action(open, p)?;
                self.items.push(Item::Action { span: Span::new(open, end), tokens });
                (end, trim)
            };
            pos = end;
            trim_next = trim;
        }
    }

    fn push_text(&mut self, start: usize, end: usize) {
        if start < end {
            self.items.push(Item::Text { start, end });
        }
    }

    /// If a closing delimiter starts at `p`, returns (end of it, trims).
    fn right_delim(&self, p: usize) -> Option<(usize, bool)> {
        let rest = &self.src[p..];
        if rest.len() >= 4 && is_space(self.bytes[p]) && rest[1..].starts_with("-}}") {
            return Some((p + 4, true));
        }
        rest.starts_with("}}").then_some((p + 2, false))
    }

    fn comment(&self, open: usize, p: usize) -> Result<(usize, bool), TemplateError> {
        let Some(close) = self.src[p + 2..].find("*/").map(|i| p + 2 + i) else {
            return Err(TemplateError::syntax("unclosed comment", Span::new(open, p + 2)));
        };
        self.right_delim(close + 2).ok_or_else(|| {
            TemplateError::syntax(
                "comment ends before closing delimiter: expected `}}` right after `*/`",
                Span::new(open, close + 2),
            )
        })
    }

    fn action(&self, open: usize, mut p: usize) -> Result<(Vec<Token>, usize, bool), TemplateError> {
        let mut tokens = Vec::new();
        loop {
            if let Some((end, trim)) = self.right_delim(p) {
                return Ok((tokens, end, trim));
            }
            let Some(c) = self.src[p..].chars().next() else {
                return Err(TemplateError::syntax("unclosed action: missing `}}`", Span::new(open, open + 2)));
            };
            let start = p;
            let simple = match c {
                ' ' | '\t' | '\r' | '\n' => {
                    p += 1;
                    continue;
                }
                '|' => Some(Tok::Pipe),
                '(' => Some(Tok::LParen),
                ')' => Some(Tok::RParen),
                ',' => Some(Tok::Comma),
                '=' => Some(Tok::Assign),
                _ => None,
            };
            if let Some(tok) = simple {
                p += 1;
                tokens.push(Token { tok, span: Span::new(start, p) });
                continue;
            }
            let tok = match c {
                ':' => {
                    if self.bytes.get(p + 1) != Some(&b'=') {
                        return Err(TemplateError::syntax("expected `:=`", Span::new(p, p + 1)));
                    }
                    p += 2;
                    Tok::Declare
                }
                '"' => {
                    let (s, end) = self.quoted(p)?;
                    p = end;
                    Tok::Str(s)
                }
                '`' => {
                    let Some(close) = self.src[p + 1..].find('`').map(|i| p + 1 + i) else {
                        return Err(TemplateError::syntax("unterminated raw string", Span::new(p, p + 1)));
                    };
                    // Go drops carriage returns from raw strings.
                    let s = self.src[p + 1..close].replace('\r', "");
                    p = close + 1;
                    Tok::Str(s)
                }
                '\'' => {
                    let (ch, end) = self.char_constant(p)?;
                    p = end;
                    Tok::Int(i64::from(u32::from(ch)))
                }
                '$' => {
                    let len = self.ident_len(p + 1);
                    p += 1 + len;
                    Tok::Var(self.src[start..p].to_owned())
                }
                '.' => {
                    if self.bytes.get(p + 1).is_some_and(u8::is_ascii_digit) {
                        let (tok, end) = self.number(p)?;
                        p = end;
                        tok
                    } else {
                        let len = self.ident_len(p + 1);
                        p += 1 + len;
                        if len == 0 { Tok::Dot } else { Tok::Field(self.src[start + 1..p].to_owned()) }
                    }
                }
                '0'..='9' => {
                    let (tok, end) = self.number(p)?;
                    p = end;
                    tok
                }
                '+' | '-' if self.bytes.get(p + 1).is_some_and(|&b| b.is_ascii_digit() || b == b'.') => {
                    let (tok, end) = self.number(p)?;
                    p = end;
                    tok
                }
                c if is_ident_char(c) => {
                    let len = self.ident_len(p);
                    p += len;
                    let word = &self.src[start..p];
                    match word {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        _ => Keyword::from_ident(word).map_or_else(|| Tok::Ident(word.to_owned()), Tok::Keyword),
                    }
                }
                c => {
                    return Err(TemplateError::syntax(
                        format!("unexpected character {c:?} in action"),
                        Span::new(p, p + c.len_utf8()),
                    ));
                }
            };
            tokens.push(Token { tok, span: Span::new(start, p) });
        }
    }

    fn ident_len(&self, p: usize) -> usize {
        self.src[p..].char_indices().find(|&(_, c)| !is_ident_char(c)).map_or(self.src.len() - p, |(i, _)| i)
    }

    /// Lexes a number starting at `p`; like Go, a number must not run into
    /// letters (`3x` is an error, not `3` then `x`).
    fn number(&self, p: usize) -> Result<(Tok, usize), TemplateError> {
        let mut end = p;
        if matches!(self.bytes[end], b'+' | b'-') {
            end += 1;
        }
        // Consume the longest run that could belong to a number; validity is
        // decided by parsing it below.
        while end < self.bytes.len() {
            let b = self.bytes[end];
            let exponent_sign = matches!(b, b'+' | b'-')
                && matches!(self.bytes[end - 1], b'e' | b'E')
                && !self.src[p..end].to_ascii_lowercase().contains("0x");
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || exponent_sign {
                end += 1;
            } else {
                break;
            }
        }
        let text = &self.src[p..end];
        parse_number(text)
            .map(|tok| (tok, end))
            .ok_or_else(|| TemplateError::syntax(format!("bad number syntax: `{text}`"), Span::new(p, end)))
    }

    /// Lexes a double-quoted string at `p`, returning the decoded text and the
    /// offset just past the closing quote.
    fn quoted(&self, p: usize) -> Result<(String, usize), TemplateError> {
        let mut out = String::new();
        let mut chars = self.src[p + 1..].char_indices();
        let unterminated = || TemplateError::syntax("unterminated string", Span::new(p, p + 1));
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((out, p + 1 + i + 1)),
                '\n' => return Err(unterminated()),
                '\\' => {
                    let at = p + 1 + i;
                    let decoded = escape(at, &mut chars, '"')?;
                    out.push(decoded);
                }
                c => out.push(c),
            }
        }
        Err(unterminated())
    }

    /// Lexes a Go character constant such as `'a'` or `'\n'`.
    fn char_constant(&self, p: usize) -> Result<(char, usize), TemplateError> {
        let mut chars = self.src[p + 1..].char_indices();
        let bad = || TemplateError::syntax("malformed character constant", Span::new(p, p + 1));
        let ch = match chars.next() {
            Some((i, '\\')) => escape(p + 1 + i, &mut chars, '\'')?,
            Some((_, '\'' | '\n')) | None => return Err(bad()),
            Some((_, c)) => c,
        };
        match chars.next() {
            Some((i, '\'')) => Ok((ch, p + 1 + i + 1)),
            _ => Err(bad()),
        }
    }
}

/// Decodes the escape whose backslash is at byte `at`, consuming from `chars`.
fn escape(at: usize, chars: &mut std::str::CharIndices<'_>, quote: char) -> Result<char, TemplateError> {
    let bad = |len: usize| TemplateError::syntax("invalid escape sequence in string", Span::new(at, at + len));
    let Some((_, c)) = chars.next() else {
        return Err(bad(1));
    };
    let simple = match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        c if c == quote => Some(c),
        _ => None,
    };
    if let Some(ch) = simple {
        return Ok(ch);
    }
    let (digits, radix) = match c {
        'x' => (2, 16),
        'u' => (4, 16),
        'U' => (8, 16),
        '0'..='7' => (2, 8),
        _ => return Err(bad(1 + c.len_utf8())),
    };
    let mut code = if radix == 8 { c.to_digit(8).unwrap_or(0) } else { 0 };
    for n in 0..digits {
        let digit = chars.next().and_then(|(_, d)| d.to_digit(radix));
        let Some(digit) = digit else {
            return Err(bad(2 + n));
        };
        code = code.saturating_mul(radix).saturating_add(digit);
    }
    // `\xHH` and octal escapes are bytes in Go; we only accept those that
    // are also valid characters (ASCII), as our strings are UTF-8.
    if matches!(c, 'x' | '0'..='7') && code > 0x7f {
        return Err(bad(2 + digits));
    }
    char::from_u32(code).ok_or_else(|| bad(2 + digits))
}

/// Parses a Go number literal: decimal, `0x`/`0o`/`0b` integers with `_`
/// separators, decimal floats with optional exponent.
fn parse_number(text: &str) -> Option<Tok> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') {
        return None;
    }
    let clean = body.replace('_', "");
    let lower = clean.to_ascii_lowercase();
    let radix_int = |digits: &str, radix: u32| {
        let magnitude = i128::from_str_radix(digits, radix).ok()?;
        let value = if neg { -magnitude } else { magnitude };
        i64::try_from(value).ok().map(Tok::Int)
    };
    if let Some(hex) = lower.strip_prefix("0x") {
        return radix_int(hex, 16);
    }
    if let Some(oct) = lower.strip_prefix("0o") {
        return radix_int(oct, 8);
    }
    if let Some(bin) = lower.strip_prefix("0b") {
        return radix_int(bin, 2);
    }
    if clean.bytes().all(|b| b.is_ascii_digit()) {
        // Go reads a leading 0 as octal (`017` is 15).
        if clean.len() > 1 && clean.starts_with('0') {
            return radix_int(&clean[1..], 8);
        }
        return match radix_int(&clean, 10) {
            Some(tok) => Some(tok),
            // Too large for an int: Go would make it a float.
            None => clean.parse::<f64>().ok().map(|f| Tok::Float(if neg { -f } else { f })),
        };
    }
    // Rust's float parser also accepts `inf`/`nan`; Go number syntax does not.
    if !clean.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) {
        return None;
    }
    let f: f64 = clean.parse().ok()?;
    Some(Tok::Float(if neg { -f } else { f }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<Tok> {
        lex(src)
            .expect("lexes")
            .into_iter()
            .flat_map(|item| match item {
                Item::Action { tokens, .. } => tokens.into_iter().map(|t| t.tok).collect(),
                Item::Text { .. } => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn numbers() {
        assert_eq!(
            tokens("{{1 -2 0x1F 1_000 017 1.5 -1e3 .5}}"),
            vec![
                Tok::Int(1),
                Tok::Int(-2),
                Tok::Int(31),
                Tok::Int(1000),
                Tok::Int(15),
                Tok::Float(1.5),
                Tok::Float(-1000.0),
                Tok::Float(0.5),
            ]
        );
        assert!(lex("{{3x}}").is_err());
        assert!(lex("{{1.2.3}}").is_err());
    }

    #[test]
    fn strings_and_chars() {
        assert_eq!(
            tokens(r#"{{"a\tb\"\u00e9\x41" `raw\n` 'a' '\n'}}"#),
            vec![Tok::Str("a\tb\"éA".into()), Tok::Str("raw\\n".into()), Tok::Int(97), Tok::Int(10),]
        );
    }

    #[test]
    fn fields_and_vars() {
        assert_eq!(
            tokens("{{.A.B $x.C $ . := = , | ( )}}"),
            vec![
                Tok::Field("A".into()),
                Tok::Field("B".into()),
                Tok::Var("$x".into()),
                Tok::Field("C".into()),
                Tok::Var("$".into()),
                Tok::Dot,
                Tok::Declare,
                Tok::Assign,
                Tok::Comma,
                Tok::Pipe,
                Tok::LParen,
                Tok::RParen,
            ]
        );
    }

    #[test]
    fn trim_markers_and_comments() {
        let items = lex("a  {{- 1 -}}  b {{/* c */}} d{{- /* e */ -}} f").expect("lexes");
        let texts: Vec<_> = items
            .iter()
            .filter_map(|item| match item {
                Item::Text { start, end } => Some(&"a  {{- 1 -}}  b {{/* c */}} d{{- /* e */ -}} f"[*start..*end]),
                Item::Action { .. } => None,
            })
            .collect();
        assert_eq!(texts, vec!["a", "b ", " d", "f"]);
    }

    #[test]
    fn minus_without_space_is_a_number() {
        assert_eq!(tokens("{{-3}}"), vec![Tok::Int(-3)]);
    }
}
