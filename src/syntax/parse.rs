//! The nom parser: expression text to [`Expr`].
//!
//! Tokens (whitespace, keywords, literals, names) are nom parsers over `&str`;
//! the structure is a precedence-climbing descent (`or` < `xor` < `and` <
//! `not`) that builds n-ary chains in loops, so only real nesting (parentheses,
//! `not`, function calls) recurses, and that nesting is counted against
//! [`Limits::max_depth`].

use super::ast::*;
use crate::error::Error;
use crate::limits::Limits;
use nom::IResult;
use nom::bytes::complete::{tag, take_while};
use nom::character::complete::char;
use std::net::IpAddr;

/// Which bytes `$accepts` (an expression of byte `$c`) accepts, as a table:
/// a token scan is then one lookup a byte (names and bare literals are most
/// of what the parser reads).
macro_rules! byte_table {
    (|$c:ident| $accepts:expr) => {{
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let $c = b as u8;
            t[b] = $accepts;
            b += 1;
        }
        t
    }};
}

pub use super::keywords::KEYWORDS;

/// Parses `source` with the default [`Limits`].
pub fn parse(source: &str) -> Result<Expr, Error> {
    parse_with(source, &Limits::default())
}

/// Parses `source`, enforcing `limits.max_length` and `limits.max_depth`.
pub fn parse_with(source: &str, limits: &Limits) -> Result<Expr, Error> {
    if source.len() > limits.max_length {
        return Err(Error::limit(
            crate::error::Stage::Parse,
            format!(
                "expression is {} bytes long; the limit is {} bytes (raise `max_length` in the settings)",
                source.len(),
                limits.max_length
            ),
            Span::new(limits.max_length, source.len()),
        ));
    }
    let p = Parser {
        src: source,
        max_depth: limits.effective_depth(),
        depth_capped: limits.max_depth > limits.effective_depth(),
    };
    // A match rather than map_err and `?`: each of those moved the whole
    // (large) tree once more.
    match p.expr(source, 0) {
        Ok((rest, expr)) => match ws(rest) {
            Ok(("", _)) => Ok(expr),
            Ok((rest, _)) => Err(p.trailing(rest)),
            Err(e) => Err(p.to_error(e)),
        },
        Err(e) => Err(p.to_error(e)),
    }
}

/// A parse failure that has not been turned into an [`Error`] yet.
#[derive(Debug)]
pub struct PErr {
    /// Length of the input left where the error was found (gives the offset).
    rest: usize,
    /// Length of the offending text.
    len: usize,
    /// `None` for "not this alternative"; `Some` for a committed error.
    message: Option<String>,
}

impl<'a> nom::error::ParseError<&'a str> for PErr {
    fn from_error_kind(input: &'a str, _kind: nom::error::ErrorKind) -> Self {
        PErr {
            rest: input.len(),
            len: 0,
            message: None,
        }
    }

    fn append(_input: &'a str, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, T> = IResult<&'a str, T, PErr>;

/// A committed error at `at` covering `len` bytes.
fn fail<T>(at: &str, len: usize, message: impl Into<String>) -> PResult<'_, T> {
    Err(nom::Err::Failure(PErr {
        rest: at.len(),
        len,
        message: Some(message.into()),
    }))
}

/// A soft "not this alternative" error.
fn backtrack<T>(at: &str) -> PResult<'_, T> {
    Err(nom::Err::Error(PErr {
        rest: at.len(),
        len: 0,
        message: None,
    }))
}

/// Skips spaces, tabs and line breaks (never fails; a `PResult` to chain with `?`).
#[inline]
fn ws(i: &str) -> PResult<'_, &str> {
    let n = i
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .count();
    // The skipped bytes are ASCII, so `n` is a character boundary.
    Ok((&i[n..], &i[..n]))
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// A lowercase keyword that ends at a word boundary.
fn keyword<'a>(word: &'static str) -> impl Fn(&'a str) -> PResult<'a, &'a str> {
    move |i: &'a str| {
        let (rest, k) = tag(word)(i)?;
        if rest.starts_with(is_word_char) {
            return backtrack(i);
        }
        Ok((rest, k))
    }
}

/// The next word (letters, digits, `_`, `.`), for messages.
fn next_word(i: &str) -> &str {
    let n = i.find(|c: char| !is_word_char(c)).unwrap_or(i.len());
    if n == 0 {
        let c = i.chars().next().map_or(0, char::len_utf8);
        &i[..c]
    } else {
        &i[..n]
    }
}

/// If `word` is a keyword written in the wrong case, the keyword.
fn miscased_keyword(word: &str) -> Option<&'static str> {
    // Keywords are lowercase: one that equals `word` only ignoring case.
    KEYWORDS
        .iter()
        .copied()
        .find(|k| *k != word && k.eq_ignore_ascii_case(word))
}

struct Parser<'s> {
    src: &'s str,
    max_depth: usize,
    depth_capped: bool,
}

impl<'s> Parser<'s> {
    fn offset(&self, rest: &str) -> usize {
        self.src.len() - rest.len()
    }

    fn span_from(&self, start: &str, rest: &str) -> Span {
        Span::new(self.offset(start), self.offset(rest))
    }

    fn to_error(&self, e: nom::Err<PErr>) -> Error {
        match e {
            nom::Err::Error(p) | nom::Err::Failure(p) => {
                let start = self.src.len() - p.rest;
                let rest = &self.src[start..];
                match p.message {
                    Some(m) if m.starts_with("nesting") => Error::limit(
                        crate::error::Stage::Parse,
                        m,
                        Span::new(start, start + p.len),
                    ),
                    Some(m) => Error::parse(m, Span::new(start, start + p.len)),
                    None => self.unexpected(rest),
                }
            }
            nom::Err::Incomplete(_) => Error::parse(
                "unexpected end of expression",
                Span::new(self.src.len(), self.src.len()),
            ),
        }
    }

    fn unexpected(&self, rest: &str) -> Error {
        let start = self.offset(rest);
        if rest.is_empty() {
            return Error::parse("unexpected end of expression", Span::new(start, start));
        }
        let word = next_word(rest);
        Error::parse(
            format!("unexpected `{word}`"),
            Span::new(start, start + word.len()),
        )
    }

    /// Error for input left after a complete expression.
    fn trailing(&self, rest: &str) -> Error {
        let start = self.offset(rest);
        let word = next_word(rest);
        let span = Span::new(start, start + word.len());
        if let Some(k) = miscased_keyword(word) {
            return Error::parse(
                format!("`{word}` is not an operator; keywords are lowercase: did you mean `{k}`?"),
                span,
            );
        }
        if word == ")" {
            return Error::parse("unmatched `)`", span);
        }
        // `http.user-agent`: a field name with `-` for `_`.
        if let Some(after) = rest.strip_prefix('-') {
            let before = self.src.get(..start).unwrap_or_default();
            let name_start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .map_or(0, |k| k + 1);
            let tail: String = after
                .chars()
                .take_while(|&c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
                .collect();
            let name = &before[name_start..];
            if !name.is_empty() && !tail.is_empty() {
                let fixed = format!("{name}_{}", tail.replace('-', "_"));
                return Error::parse(
                    format!("field names use `_`, not `-`: did you mean `{fixed}`?"),
                    Span::new(name_start, start + 1 + tail.len()),
                );
            }
        }
        Error::parse(
            format!(
                "unexpected `{word}` after a complete expression; expected `and`, `or`, `xor` or the end"
            ),
            span,
        )
    }

    fn deeper(&self, at: &str, depth: usize) -> Result<usize, nom::Err<PErr>> {
        if depth + 1 > self.max_depth {
            let msg = if self.depth_capped {
                format!(
                    "nesting deeper than {} levels; the engine caps `max_depth` at {} so that no stage can overflow the stack",
                    self.max_depth, self.max_depth
                )
            } else {
                format!(
                    "nesting deeper than {} levels (raise `max_depth` in the settings)",
                    self.max_depth
                )
            };
            return Err(nom::Err::Failure(PErr {
                rest: at.len(),
                len: next_word(at).len(),
                message: Some(msg),
            }));
        }
        Ok(depth + 1)
    }

    // ----- logical structure -------------------------------------------------

    /// A whole logical expression: `or` < `xor` < `and`, each an n-ary chain.
    ///
    /// One loop reads the terms (unary expressions) and the operators between
    /// them, keeping one open chain per operator, tightest first. An operator
    /// closes the open chains that bind tighter than it and extends (or opens)
    /// its own. The tree is the one a descent with a function per level
    /// builds, but a term is not handed up through every level, and a chain of
    /// one term never allocates.
    fn expr<'a>(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        const OPS: [LogicalOp; 3] = [LogicalOp::And, LogicalOp::Xor, LogicalOp::Or];
        // Per level: the terms so far and where the chain starts.
        let mut open: [(Vec<Expr>, usize); 3] = Default::default();
        let mut at = ws(i)?.0;
        loop {
            let mut cur_start = self.offset(at);
            let (rest, mut cur) = self.unary(at, depth)?;
            let end = self.offset(rest);
            let (after_ws, _) = ws(rest)?;
            let mut next = None;
            // Only `and && xor ^^ or ||` continue a chain.
            let maybe_op = matches!(
                after_ws.as_bytes().first(),
                Some(b'a' | b'&' | b'x' | b'^' | b'o' | b'|')
            );
            for (level, &op) in OPS.iter().enumerate().filter(|_| maybe_op) {
                if let Ok((after_op, ())) = logical_op(op)(after_ws) {
                    next = Some((level, after_op));
                    break;
                }
            }
            let close = next.map_or(OPS.len(), |(level, _)| level);
            for (level, (terms, start)) in open.iter_mut().enumerate().take(close) {
                if !terms.is_empty() {
                    terms.push(cur);
                    cur_start = *start;
                    cur = Expr::Logical {
                        op: OPS[level],
                        terms: std::mem::take(terms),
                        span: Span::new(*start, end),
                    };
                }
            }
            let Some((level, after_op)) = next else {
                return Ok((rest, cur));
            };
            let (terms, start) = &mut open[level];
            if terms.is_empty() {
                *start = cur_start;
                terms.reserve(4);
            } else if terms.len() == terms.capacity() {
                // A long chain (`a or b or ...` by the dozen): rather than
                // doubling a Vec of large nodes again and again, guess the
                // rest from the length of the terms so far (at most doubling
                // past 64 terms, so that a misleading guess cannot reserve
                // much more than the chain needs).
                let done = self.offset(after_ws) - *start;
                let left = self.src.len() - self.offset(after_ws);
                let guess = left.saturating_mul(terms.len()) / done.max(1) + 1;
                terms.reserve(guess.min(terms.len().max(64)));
            }
            terms.push(cur);
            at = ws(after_op)?.0;
        }
    }

    fn unary<'a>(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        crate::stack::guard(|| self.unary_inner(i, depth))
    }

    fn unary_inner<'a>(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        let (i, _) = ws(i)?;
        if let Ok((rest, _)) = not_op(i) {
            let depth = self.deeper(i, depth)?;
            let (rest, inner) = self.unary(rest, depth)?;
            let span = Span::new(self.offset(i), inner.span().end);
            return Ok((
                rest,
                Expr::Not {
                    expr: Box::new(inner),
                    span,
                },
            ));
        }
        if let Ok((rest, _)) = char::<_, PErr>('(')(i) {
            let depth = self.deeper(i, depth)?;
            let (rest, inner) = self.expr(rest, depth)?;
            let (rest, _) = ws(rest)?;
            let Ok((rest, _)) = char::<_, PErr>(')')(rest) else {
                if rest.is_empty() {
                    return fail(i, 1, "this `(` is never closed");
                }
                return Err(nom::Err::Failure(self.expected_close(rest)));
            };
            let span = self.span_from(i, rest);
            return Ok((
                rest,
                Expr::Paren {
                    expr: Box::new(inner),
                    span,
                },
            ));
        }
        for (word, value) in [("true", true), ("false", false)] {
            if let Ok((rest, _)) = keyword(word)(i) {
                let span = self.span_from(i, rest);
                return Ok((rest, Expr::Const { value, span }));
            }
        }
        self.comparison(i, depth)
    }

    fn expected_close(&self, rest: &str) -> PErr {
        let word = next_word(rest);
        let message = match miscased_keyword(word) {
            Some(k) => {
                format!("`{word}` is not an operator; keywords are lowercase: did you mean `{k}`?")
            }
            None => format!("expected `)`, found `{word}`"),
        };
        PErr {
            rest: rest.len(),
            len: word.len(),
            message: Some(message),
        }
    }

    fn comparison<'a>(&self, i: &'a str, depth: usize) -> PResult<'a, Expr> {
        let (rest, lhs) = match self.value(i, depth) {
            Ok(ok) => ok,
            Err(nom::Err::Error(_)) => {
                if let Ok((after, _)) = self.literal(i) {
                    return fail(
                        i,
                        after.as_ptr() as usize - i.as_ptr() as usize,
                        "a comparison starts with a field or a function call, not a literal: write `field == literal`",
                    );
                }
                let found = describe(i);
                return fail(
                    i,
                    next_word(i).len(),
                    format!("expected a field, a function call, `not` or `(`, found {found}"),
                );
            }
            Err(e) => return Err(e),
        };
        let (after_ws, _) = ws(rest)?;
        let (after_op, op) = match compare_op(after_ws) {
            Ok(ok) => ok,
            Err(nom::Err::Error(_)) => return Ok((rest, Expr::Test { value: lhs })),
            Err(e) => return Err(e),
        };
        let (after_op, _) = ws(after_op)?;
        let (rest, rhs) = self.rhs(after_op, op, depth)?;
        let span = Span::new(lhs.span.start, self.offset(rest));
        Ok((rest, Expr::Compare { lhs, op, rhs, span }))
    }

    fn rhs<'a>(&self, i: &'a str, op: CompareOp, depth: usize) -> PResult<'a, Rhs> {
        match op {
            CompareOp::In => {
                if i.starts_with('{') {
                    return self.set(i);
                }
                if i.starts_with('$') {
                    let (rest, name) = self.list_name(i)?;
                    return Ok((rest, Rhs::List(name)));
                }
                fail(
                    i,
                    next_word(i).len(),
                    "expected a set `{ ... }` or a named list `$name` after `in`",
                )
            }
            CompareOp::Matches => {
                let (rest, pattern) = match string_literal(i, StringMode::Regex) {
                    Ok(ok) => ok,
                    Err(nom::Err::Error(_)) => {
                        return fail(
                            i,
                            next_word(i).len(),
                            "expected a regular expression string after `matches`, such as \"^/admin\"",
                        );
                    }
                    Err(e) => return Err(e),
                };
                let text = String::from_utf8(pattern.into_vec()).unwrap_or_default();
                Ok((rest, Rhs::Regex(text, self.span_from(i, rest))))
            }
            _ => {
                if i.starts_with('$') {
                    let (rest, name) = self.list_name(i)?;
                    return Ok((rest, Rhs::List(name)));
                }
                if i.starts_with('{') {
                    return self.set(i);
                }
                match self.literal(i) {
                    Ok((rest, lit)) => {
                        return Ok((rest, Rhs::Literal(lit, self.span_from(i, rest))));
                    }
                    Err(nom::Err::Error(_)) => {}
                    Err(e) => return Err(e),
                }
                match self.value(i, depth) {
                    Ok((rest, v)) => Ok((rest, Rhs::Value(Box::new(v)))),
                    Err(nom::Err::Error(_)) => {
                        let word = next_word(i);
                        let hint = if let Some(quoted) = i.strip_prefix('\'') {
                            let text: String = quoted.chars().take_while(|&c| c != '\'').collect();
                            format!("; strings are in double quotes: \"{text}\"")
                        } else if i.starts_with('=') {
                            "; `===` is not an operator: did you mean `==`?".to_string()
                        } else if word == "true" || word == "false" {
                            "; a Bool field is a test by itself: write the field (for `true`) or `not` and the field (for `false`)".to_string()
                        } else {
                            String::new()
                        };
                        fail(
                            i,
                            word.len(),
                            format!(
                                "expected a value after `{}`, found {}{hint}",
                                op.keyword(),
                                describe(i)
                            ),
                        )
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    fn set<'a>(&self, i: &'a str) -> PResult<'a, Rhs> {
        let (mut rest, _) = char('{')(i)?;
        let mut items = Vec::with_capacity(4);
        loop {
            rest = ws(rest)?.0;
            if let Some(after) = rest.strip_prefix('}') {
                let span = self.span_from(i, after);
                return Ok((after, Rhs::Set(items, span)));
            }
            if rest.is_empty() {
                return fail(i, 1, "this `{` is never closed");
            }
            if !items.is_empty()
                && let Some(after) = rest.strip_prefix(',')
            {
                rest = ws(after)?.0;
            }
            match self.literal(rest) {
                Ok((after, lit)) => {
                    items.push((lit, self.span_from(rest, after)));
                    rest = after;
                }
                Err(nom::Err::Error(_)) => {
                    return fail(
                        rest,
                        next_word(rest).len(),
                        format!("expected a literal in the set, found {}", describe(rest)),
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn list_name<'a>(&self, i: &'a str) -> PResult<'a, Name> {
        let (rest, _) = char('$')(i)?;
        let (rest, name) = match dotted_name(rest) {
            Ok(ok) => ok,
            Err(_) => {
                return fail(
                    i,
                    1,
                    "expected a list name after `$`, such as `$office_network`",
                );
            }
        };
        if let Some(msg) = check_name(name) {
            return fail(
                i,
                name.len() + 1,
                format!("invalid list name `${name}`: {msg}"),
            );
        }
        Ok((
            rest,
            Name {
                name: known_name(name),
                span: self.span_from(i, rest),
            },
        ))
    }

    // ----- values ---------------------------------------------------------------

    fn value<'a>(&self, i: &'a str, depth: usize) -> PResult<'a, Value> {
        let start = i;
        let Ok((rest, name)) = dotted_name(i) else {
            let word = next_word(i);
            if let Some(k) = miscased_keyword(word) {
                return fail(
                    i,
                    word.len(),
                    format!(
                        "`{word}` is not a keyword; keywords are lowercase: did you mean `{k}`?"
                    ),
                );
            }
            if word.starts_with(|c: char| c.is_ascii_alphabetic())
                && word.chars().any(|c| c.is_ascii_uppercase())
                && word.chars().all(is_word_char)
            {
                return fail(
                    i,
                    word.len(),
                    format!(
                        "field names are lowercase: did you mean `{}`?",
                        word.to_ascii_lowercase()
                    ),
                );
            }
            return backtrack(i);
        };
        // A name directly followed by uppercase letters or other word chars.
        if rest.starts_with(|c: char| c.is_ascii_uppercase()) {
            let word = next_word(i);
            return fail(
                i,
                word.len(),
                format!(
                    "field names are lowercase: did you mean `{}`?",
                    word.to_ascii_lowercase()
                ),
            );
        }
        let base_span = self.span_from(i, rest);
        // Whitespace may stand between any two tokens: before a call's `(`
        // (`lower (http.host)`, `any (...)`) and before an index's `[`.
        let (after_ws, _) = ws(rest)?;
        let call_at = if rest.starts_with('(') || (!name.contains('.') && after_ws.starts_with('('))
        {
            Some(after_ws)
        } else {
            None
        };
        let (mut rest, base) = if let Some(open) = call_at {
            let (rest, call) = self.call(i, name, open, depth)?;
            (rest, ValueBase::Call(Box::new(call)))
        } else {
            if !name.contains('.') && KEYWORDS.contains(&name) {
                return backtrack(i);
            }
            let known = known_name(name);
            // Names from the static table are well formed (a unit test
            // checks every one); others are checked here.
            if let std::borrow::Cow::Owned(_) = known
                && let Some(msg) = check_name(name)
            {
                return fail(i, name.len(), format!("invalid field name `{name}`: {msg}"));
            }
            if !after_ws.starts_with('[') {
                // A bare field, the common case, built where it is returned.
                return Ok((
                    rest,
                    Value {
                        base: ValueBase::Field(Name {
                            name: known,
                            span: base_span,
                        }),
                        indexes: Vec::new(),
                        span: base_span,
                    },
                ));
            }
            (
                rest,
                ValueBase::Field(Name {
                    name: known,
                    span: base_span,
                }),
            )
        };
        let mut indexes = Vec::new();
        loop {
            let (at, _) = ws(rest)?;
            if !at.starts_with('[') {
                break;
            }
            let (after, ix) = self.index(at)?;
            indexes.push(ix);
            rest = after;
        }
        Ok((
            rest,
            Value {
                base,
                indexes,
                span: self.span_from(start, rest),
            },
        ))
    }

    fn call<'a>(
        &self,
        name_at: &'a str,
        name: &'a str,
        i: &'a str,
        depth: usize,
    ) -> PResult<'a, Call> {
        crate::stack::guard(|| self.call_inner(name_at, name, i, depth))
    }

    fn call_inner<'a>(
        &self,
        name_at: &'a str,
        name: &'a str,
        i: &'a str,
        depth: usize,
    ) -> PResult<'a, Call> {
        if name.contains('.') || !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
            return fail(
                name_at,
                name.len(),
                format!("`{name}` is not a function name"),
            );
        }
        let depth = self.deeper(name_at, depth)?;
        let name_node = Name {
            name: known_name(name),
            span: self.span_from(name_at, i),
        };
        let (mut rest, _) = char('(')(i)?;
        let mut args = Vec::new();
        rest = ws(rest)?.0;
        if let Some(after) = rest.strip_prefix(')') {
            let span = self.span_from(name_at, after);
            return Ok((
                after,
                Call {
                    name: name_node,
                    args,
                    span,
                },
            ));
        }
        loop {
            rest = ws(rest)?.0;
            // The pattern of `regex_replace` is a regex literal, read like the
            // right side of `matches`.
            let (after, arg) = if name == "regex_replace"
                && args.len() == 1
                && string_literal(rest, StringMode::Regex).is_ok()
            {
                let (after, pattern) = string_literal(rest, StringMode::Regex)?;
                let text = String::from_utf8(pattern.into_vec()).unwrap_or_default();
                (after, Arg::Regex(text, self.span_from(rest, after)))
            } else {
                self.arg(rest, depth)?
            };
            args.push(arg);
            let (after, _) = ws(after)?;
            if let Some(a) = after.strip_prefix(',') {
                rest = a;
                continue;
            }
            if let Some(a) = after.strip_prefix(')') {
                let span = self.span_from(name_at, a);
                return Ok((
                    a,
                    Call {
                        name: name_node,
                        args,
                        span,
                    },
                ));
            }
            if after.is_empty() {
                return fail(
                    i,
                    1,
                    format!("the argument list of `{name}(` is never closed"),
                );
            }
            return fail(
                after,
                next_word(after).len(),
                format!(
                    "expected `,` or `)` in the arguments of `{name}`, found {}",
                    describe(after)
                ),
            );
        }
    }

    fn arg<'a>(&self, i: &'a str, depth: usize) -> PResult<'a, Arg> {
        match self.literal(i) {
            Ok((rest, lit)) => {
                // A literal argument ends the argument; anything else (an operator) is an error.
                return Ok((rest, Arg::Literal(lit, self.span_from(i, rest))));
            }
            Err(nom::Err::Error(_)) => {}
            Err(e) => return Err(e),
        }
        match self.expr(i, depth) {
            Ok((rest, e)) => Ok((rest, Arg::Expr(e))),
            Err(nom::Err::Error(_)) => fail(
                i,
                next_word(i).len(),
                format!("expected a function argument, found {}", describe(i)),
            ),
            Err(e) => Err(e),
        }
    }

    fn index<'a>(&self, i: &'a str) -> PResult<'a, Index> {
        let (rest, _) = char('[')(i)?;
        let (rest, _) = ws(rest)?;
        let (rest, ix) = if let Some(after) = rest.strip_prefix('*') {
            (after, Index::Star(Span::default()))
        } else if rest.starts_with('"') || rest.starts_with('r') {
            match string_literal(rest, StringMode::Plain) {
                Ok((after, key)) => (after, Index::Key(key.into_vec(), Span::default())),
                Err(nom::Err::Error(_)) => {
                    return fail(
                        rest,
                        next_word(rest).len(),
                        "expected `*`, an index or a quoted key inside `[ ]`",
                    );
                }
                Err(e) => return Err(e),
            }
        } else {
            let (after, digits) = take_while::<_, _, PErr>(|c: char| c.is_ascii_digit())(rest)?;
            if digits.is_empty() {
                return fail(
                    rest,
                    next_word(rest).len(),
                    format!(
                        "expected `*`, a non-negative index or a quoted key inside `[ ]`, found {}",
                        describe(rest)
                    ),
                );
            }
            match digits.parse::<u32>() {
                Ok(n) => (after, Index::Position(n, Span::default())),
                Err(_) => {
                    return fail(rest, digits.len(), format!("index `{digits}` is too large"));
                }
            }
        };
        let (rest, _) = ws(rest)?;
        let Some(rest) = rest.strip_prefix(']') else {
            return fail(
                rest,
                next_word(rest).len(),
                format!("expected `]`, found {}", describe(rest)),
            );
        };
        let span = self.span_from(i, rest);
        let ix = match ix {
            Index::Star(_) => Index::Star(span),
            Index::Key(k, _) => Index::Key(k, span),
            Index::Position(n, _) => Index::Position(n, span),
        };
        Ok((rest, ix))
    }

    // ----- literals -------------------------------------------------------------

    /// A literal, or a soft error when the text is not one (it may be a field).
    fn literal<'a>(&self, i: &'a str) -> PResult<'a, Literal> {
        if i.starts_with('"') || i.starts_with("r\"") || i.starts_with("r#") {
            let (rest, bytes) = string_literal(i, StringMode::Plain)?;
            return Ok((rest, Literal::Bytes(bytes)));
        }
        const TOKEN_BYTE: [bool; 256] = byte_table!(
            |c| c.is_ascii_alphanumeric() || matches!(c, b':' | b'.' | b'-' | b'/' | b'_')
        );
        let n = run_of(i, &TOKEN_BYTE);
        if n == 0 {
            return backtrack(i);
        }
        // The token is ASCII, so `n` is a character boundary.
        let (tok, rest) = i.split_at(n);
        match classify(tok) {
            Classified::Literal(l) => Ok((rest, l)),
            Classified::NotALiteral => backtrack(i),
            Classified::Invalid(msg) => fail(i, tok.len(), msg),
        }
    }
}

fn describe(i: &str) -> String {
    if i.is_empty() {
        "the end of the expression".to_string()
    } else {
        format!("`{}`", next_word(i))
    }
}

fn logical_op<'a>(op: LogicalOp) -> impl Fn(&'a str) -> PResult<'a, ()> {
    move |i: &'a str| {
        let (word, sym) = match op {
            LogicalOp::And => ("and", "&&"),
            LogicalOp::Xor => ("xor", "^^"),
            LogicalOp::Or => ("or", "||"),
        };
        if let Ok((rest, _)) = keyword(word)(i) {
            return Ok((rest, ()));
        }
        let (rest, _) = tag(sym)(i)?;
        Ok((rest, ()))
    }
}

fn not_op(i: &str) -> PResult<'_, ()> {
    if let Ok((rest, _)) = keyword("not")(i) {
        return Ok((rest, ()));
    }
    let (rest, _) = char('!')(i)?;
    if rest.starts_with('=') {
        return backtrack(i);
    }
    Ok((rest, ()))
}

fn compare_op(i: &str) -> PResult<'_, CompareOp> {
    let symbols: [(&str, CompareOp); 9] = [
        ("==", CompareOp::Eq),
        ("!=", CompareOp::Ne),
        ("<=", CompareOp::Le),
        (">=", CompareOp::Ge),
        ("<", CompareOp::Lt),
        (">", CompareOp::Gt),
        ("~", CompareOp::Matches),
        ("&", CompareOp::BitwiseAnd),
        ("=", CompareOp::Eq),
    ];
    for (sym, op) in symbols {
        if let Ok((rest, _)) = tag::<_, _, PErr>(sym)(i) {
            if sym == "&" && rest.starts_with('&') {
                return backtrack(i);
            }
            if sym == "=" {
                return fail(i, 1, "`=` is not an operator; did you mean `==`?");
            }
            return Ok((rest, op));
        }
    }
    let words: [(&str, CompareOp); 11] = [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("contains", CompareOp::Contains),
        ("matches", CompareOp::Matches),
        ("wildcard", CompareOp::Wildcard),
        ("in", CompareOp::In),
        ("bitwise_and", CompareOp::BitwiseAnd),
    ];
    for (w, op) in words {
        if let Ok((rest, _)) = keyword(w)(i) {
            return Ok((rest, op));
        }
    }
    if let Ok((rest, _)) = keyword("strict")(i) {
        let (after, _) = ws(rest)?;
        if let Ok((after, _)) = keyword("wildcard")(after) {
            return Ok((after, CompareOp::StrictWildcard));
        }
        return fail(i, 6, "`strict` must be followed by `wildcard`");
    }
    let word = next_word(i);
    if let Some(k) = miscased_keyword(word) {
        return fail(
            i,
            word.len(),
            format!("`{word}` is not an operator; keywords are lowercase: did you mean `{k}`?"),
        );
    }
    backtrack(i)
}

/// `name`, borrowed from the static table when it is a field of the default
/// catalogue, owned otherwise.
fn known_name(name: &str) -> std::borrow::Cow<'static, str> {
    use std::collections::HashSet;
    use std::sync::OnceLock;
    static KNOWN: OnceLock<HashSet<&'static str, crate::hash::FastHash>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| crate::catalogue::FIELDS.iter().map(|(n, _)| *n).collect());
    match known.get(name) {
        Some(&k) => std::borrow::Cow::Borrowed(k),
        None => std::borrow::Cow::Owned(name.to_string()),
    }
}

/// How many leading bytes of `i` `table` accepts.
#[inline]
fn run_of(i: &str, table: &[bool; 256]) -> usize {
    let bytes = i.as_bytes();
    let mut n = 0;
    while n < bytes.len() && table[usize::from(bytes[n])] {
        n += 1;
    }
    n
}

/// A dotted name made of `[a-z0-9_.]` characters (validated by [`check_name`]).
#[inline]
fn dotted_name(i: &str) -> PResult<'_, &str> {
    const NAME_BYTE: [bool; 256] =
        byte_table!(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'.');
    let n = run_of(i, &NAME_BYTE);
    let (name, rest) = i.split_at(n);
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        return backtrack(i);
    }
    Ok((rest, name))
}

/// Why a dotted name is malformed, if it is.
fn check_name(name: &str) -> Option<String> {
    // The common case, a well-formed name, in one pass over the bytes.
    // The first segment starts with a letter or `_` (so a name is never
    // read as a number); later ones may start with a digit, as in
    // `cf.response.1xxx_code`.
    let mut at_start = true;
    let mut first = true;
    let well_formed = name.bytes().all(|b| {
        let ok = if at_start {
            b.is_ascii_lowercase() || b == b'_' || (!first && b.is_ascii_digit())
        } else {
            true
        };
        if b == b'.' {
            first = false;
        }
        at_start = b == b'.';
        ok
    }) && !at_start;
    if well_formed {
        return None;
    }
    for (k, seg) in name.split('.').enumerate() {
        if seg.is_empty() {
            return Some("empty segment (two dots in a row, or a dot at an end)".to_string());
        }
        if k == 0 && !seg.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
            return Some(format!(
                "the name must start with a letter or `_`, not `{seg}`"
            ));
        }
    }
    None
}

/// How a quoted string treats backslashes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StringMode {
    /// `\" \\ \xHH \OOO`; anything else is an error.
    Plain,
    /// Regex source: a backslash is kept unless it escapes `"`.
    Regex,
}

/// A quoted (`"..."`) or raw (`r#"..."#`) string literal.
fn string_literal(i: &str, mode: StringMode) -> PResult<'_, SmallBytes> {
    if let Some(after_r) = i.strip_prefix('r') {
        let (after_hashes, hashes) = take_while::<_, _, PErr>(|c| c == '#')(after_r)?;
        if !after_hashes.starts_with('"') {
            return backtrack(i);
        }
        if hashes.len() > 255 {
            return fail(
                i,
                hashes.len() + 1,
                format!("a raw string takes at most 255 `#`, found {}", hashes.len()),
            );
        }
        let body = &after_hashes[1..];
        let mut close = String::with_capacity(hashes.len() + 1);
        close.push('"');
        close.push_str(hashes);
        return match body.find(&close) {
            Some(end) => Ok((
                &body[end + close.len()..],
                SmallBytes::from_slice(&body.as_bytes()[..end]),
            )),
            None => fail(
                i,
                1 + hashes.len() + 1,
                format!("raw string is never closed (expected `{close}`)"),
            ),
        };
    }
    if !i.starts_with('"') {
        return backtrack(i);
    }
    let bytes = i.as_bytes();
    // Up to the first quote or backslash the bytes are copied as they are:
    // a string without escapes is one copy (inline when it is short).
    let plain = memchr::memchr2(b'"', b'\\', &bytes[1..]).map_or(bytes.len(), |n| n + 1);
    if bytes.get(plain) == Some(&b'"') {
        return Ok((&i[plain + 1..], SmallBytes::from_slice(&bytes[1..plain])));
    }
    let mut out = Vec::with_capacity(plain + 8);
    out.extend_from_slice(&bytes[1..plain]);
    let mut k = plain;
    while k < bytes.len() {
        match bytes[k] {
            b'"' => return Ok((&i[k + 1..], out.into())),
            b'\\' => {
                let Some(&next) = bytes.get(k + 1) else { break };
                if mode == StringMode::Regex {
                    if next == b'"' {
                        out.push(b'"');
                    } else {
                        out.push(b'\\');
                        // Keep the escaped character (may be multi-byte UTF-8: copied on the next turn).
                        if next.is_ascii() {
                            out.push(next);
                        } else {
                            k += 1;
                            continue;
                        }
                    }
                    k += 2;
                    continue;
                }
                match next {
                    b'"' | b'\\' => {
                        out.push(next);
                        k += 2;
                    }
                    b'x' => {
                        let hex = bytes
                            .get(k + 2..k + 4)
                            .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                        let Some(hex) = hex else {
                            return fail(
                                &i[k..],
                                2,
                                "`\\x` must be followed by two hex digits, as in `\\x41`",
                            );
                        };
                        let s = std::str::from_utf8(hex).unwrap_or("0");
                        out.push(u8::from_str_radix(s, 16).unwrap_or(0));
                        k += 4;
                    }
                    b'0'..=b'7' => {
                        let oct = bytes
                            .get(k + 1..k + 4)
                            .filter(|h| h.iter().all(|b| (b'0'..=b'7').contains(b)));
                        let Some(oct) = oct else {
                            return fail(
                                &i[k..],
                                2,
                                "an octal escape takes exactly three digits, as in `\\101`",
                            );
                        };
                        let s = std::str::from_utf8(oct).unwrap_or("0");
                        match u8::from_str_radix(s, 8) {
                            Ok(b) => out.push(b),
                            Err(_) => {
                                return fail(
                                    &i[k..],
                                    4,
                                    format!("octal escape `\\{s}` is larger than \\377 (one byte)"),
                                );
                            }
                        }
                        k += 4;
                    }
                    _ => {
                        let esc: String = i[k + 1..]
                            .chars()
                            .next()
                            .map(String::from)
                            .unwrap_or_default();
                        return fail(
                            &i[k..],
                            1 + esc.len(),
                            format!(
                                "unknown escape `\\{esc}` in string; the escapes are `\\\"`, `\\\\`, `\\xHH` and `\\OOO` (use a raw string r\"...\" for backslashes)"
                            ),
                        );
                    }
                }
            }
            b => {
                out.push(b);
                k += 1;
            }
        }
    }
    fail(i, 1, "string is never closed (missing `\"`)")
}

enum Classified {
    Literal(Literal),
    NotALiteral,
    Invalid(String),
}

/// Decides what a bare token (`42`, `0x1f`, `10.0.0.0/8`, `aa:bb`, `80..90`) is.
fn classify(tok: &str) -> Classified {
    // The most common token, a plain decimal (a port, a score), directly.
    let b = tok.as_bytes();
    if (1..=18).contains(&b.len())
        && b.iter().all(u8::is_ascii_digit)
        && (b[0] != b'0' || b.len() == 1)
    {
        let n = b.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        return Classified::Literal(Literal::Int(n));
    }
    // Tokens are short: one pass finds the first `..` and the first `/`
    // (a string searcher, or memchr, costs more to set up than to run).
    let (mut dots, mut slash) = (None, None);
    for (k, &c) in b.iter().enumerate() {
        match c {
            b'.' if dots.is_none() && b.get(k + 1) == Some(&b'.') => dots = Some(k),
            b'/' if slash.is_none() => slash = Some(k),
            _ => {}
        }
    }
    // Both ends are ASCII bytes, so the slices are at character boundaries.
    if let Some(k) = dots {
        let (lo, hi) = (&tok[..k], &tok[k + 2..]);
        return match (classify(lo), classify(hi)) {
            (Classified::Literal(Literal::Int(a)), Classified::Literal(Literal::Int(b))) => {
                Classified::Literal(Literal::IntRange(a, b))
            }
            (Classified::Literal(a), Classified::Literal(b)) => match (as_ip(&a), as_ip(&b)) {
                (Some(a), Some(b)) => Classified::Literal(Literal::IpRange(a, b)),
                _ => Classified::Invalid(format!(
                    "`{tok}` is not a range: both ends must be integers or both IP addresses"
                )),
            },
            (Classified::Invalid(m), _) | (_, Classified::Invalid(m)) => Classified::Invalid(m),
            _ => Classified::Invalid(format!(
                "`{tok}` is not a range: both ends must be integers or both IP addresses"
            )),
        };
    }
    if let Some(slash) = slash {
        let (addr, len) = (&tok[..slash], &tok[slash + 1..]);
        let Some(ip) = parse_ip(addr) else {
            return Classified::Invalid(format!("`{addr}` in `{tok}` is not an IP address"));
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        return match len.parse::<u8>() {
            Ok(n) if n <= max && len.chars().all(|c| c.is_ascii_digit()) => {
                Classified::Literal(Literal::Cidr(ip, n))
            }
            _ => Classified::Invalid(format!(
                "`{len}` is not a valid prefix length for `{addr}` (0 to {max})"
            )),
        };
    }
    if tok.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && !tok.contains([':', '.'])
        && !tok[1..].contains('-')
    {
        return int_literal(tok);
    }
    let hex = hex_bytes(tok);
    if let Some(ip) = parse_ip(tok) {
        return Classified::Literal(match hex {
            Some(bytes) => Literal::IpOrBytes(ip, bytes.into()),
            None => Literal::Ip(ip),
        });
    }
    if let Some(bytes) = hex {
        return Classified::Literal(Literal::Bytes(bytes.into()));
    }
    if tok.starts_with(|c: char| c.is_ascii_digit()) {
        if tok.contains(':') || tok.split('.').count() == 4 {
            return Classified::Invalid(format!(
                "`{tok}` is not a valid IP address or hex byte string"
            ));
        }
        return Classified::Invalid(format!("`{tok}` is not a valid literal"));
    }
    Classified::NotALiteral
}

/// An address as the standard library reads one, a dotted IPv4 quad (the
/// common case, read here directly) or IPv6.
fn parse_ip(s: &str) -> Option<IpAddr> {
    match parse_ipv4(s.as_bytes()) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => s.parse().ok(),
    }
}

/// A dotted quad exactly as `Ipv4Addr::from_str` accepts it: four decimal
/// octets of at most 255, without leading zeros; `None` for anything else
/// (which that parser rejects too).
fn parse_ipv4(b: &[u8]) -> Option<std::net::Ipv4Addr> {
    if !(7..=15).contains(&b.len()) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut at = 0;
    let (mut n, mut digits, mut leading_zero) = (0u16, 0, false);
    for &c in b {
        if c == b'.' {
            if digits == 0 {
                return None;
            }
            *octets.get_mut(at)? = n as u8;
            at += 1;
            (n, digits) = (0, 0);
        } else if c.is_ascii_digit() {
            if leading_zero || digits == 3 {
                return None;
            }
            leading_zero = digits == 0 && c == b'0';
            n = n * 10 + u16::from(c - b'0');
            if n > 255 {
                return None;
            }
            digits += 1;
            continue;
        } else {
            return None;
        }
        leading_zero = false;
    }
    if digits == 0 || at != 3 {
        return None;
    }
    octets[3] = n as u8;
    Some(std::net::Ipv4Addr::from(octets))
}

fn as_ip(l: &Literal) -> Option<IpAddr> {
    match l {
        Literal::Ip(ip) | Literal::IpOrBytes(ip, _) => Some(*ip),
        _ => None,
    }
}

/// `42`, `-5`, `0x1F`, `0o17`, `017`; overflow is an error, never a wrap.
fn int_literal(tok: &str) -> Classified {
    let (neg, body) = match tok.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, tok),
    };
    let (radix, digits, what) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, h, "hexadecimal")
        } else if let Some(o) = body.strip_prefix("0o") {
            (8, o, "octal")
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..], "octal (a leading 0 means octal)")
        } else {
            (10, body, "decimal")
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Classified::Invalid(format!("`{tok}` is not a valid {what} integer"));
    }
    // Parse the magnitude as u64 then negate, so i64::MIN is accepted.
    match u64::from_str_radix(digits, radix) {
        Ok(m) if neg && m <= i64::MAX as u64 + 1 => {
            Classified::Literal(Literal::Int((m as i128).wrapping_neg() as i64))
        }
        Ok(m) if !neg && m <= i64::MAX as u64 => Classified::Literal(Literal::Int(m as i64)),
        _ => Classified::Invalid(format!(
            "integer `{tok}` does not fit in 64 bits (range {} to {})",
            i64::MIN,
            i64::MAX
        )),
    }
}

/// `aa:bb:cc`, `aa-bb-cc` or `aa.bb.cc`: two or more pairs of hex digits, one separator.
fn hex_bytes(tok: &str) -> Option<Vec<u8>> {
    let sep = tok.chars().find(|c| matches!(c, ':' | '-' | '.'))?;
    let mut out = Vec::new();
    for pair in tok.split(sep) {
        if pair.len() != 2 || !pair.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        out.push(u8::from_str_radix(pair, 16).ok()?);
    }
    (out.len() >= 2).then_some(out)
}

/// Reads a bare literal token (`42`, `0x1f`, `10.0.0.0/8`, `aa:bb`, `80..90`,
/// `192.0.2.1..192.0.2.9`) the way the parser does; `None` when it is not one.
pub fn classify_literal(tok: &str) -> Option<Literal> {
    match classify(tok.trim()) {
        Classified::Literal(l) => Some(l),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_of_the_static_table_is_well_formed() {
        for (name, _) in crate::catalogue::FIELDS {
            assert_eq!(check_name(name), None, "{name}");
            assert!(matches!(known_name(name), std::borrow::Cow::Borrowed(n) if n == *name));
        }
        assert!(matches!(
            known_name("my.own.field"),
            std::borrow::Cow::Owned(_)
        ));
    }

    #[test]
    fn int_literals_cover_every_radix_and_overflow() {
        let cases: &[(&str, Option<i64>)] = &[
            ("42", Some(42)),
            ("-5", Some(-5)),
            ("0x1F", Some(31)),
            ("0o17", Some(15)),
            ("017", Some(15)),
            ("0", Some(0)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("08", None),
            ("0x", None),
        ];
        for (tok, want) in cases {
            let got = match int_literal(tok) {
                Classified::Literal(Literal::Int(n)) => Some(n),
                _ => None,
            };
            assert_eq!(got, *want, "{tok}");
        }
    }

    #[test]
    fn dotted_quads_read_as_the_standard_library_reads_them() {
        let cases = [
            "0.0.0.0",
            "1.2.3.4",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.04",
            "1.2.3.0",
            "a.b.c.d",
            "1.2.3.4a",
            "10.0.0.0",
            "192.0.2.255",
            "1000.1.1.1",
            "+1.2.3.4",
            "1.2.3.-4",
        ];
        for case in cases {
            let ours = super::parse_ipv4(case.as_bytes());
            let std = case.parse::<std::net::Ipv4Addr>().ok();
            assert_eq!(ours, std, "{case}");
        }
        // Exhaustively over short strings of digits and dots.
        let alphabet = [b'0', b'2', b'5', b'6', b'.'];
        let mut buf = Vec::new();
        for n in 7..=9usize {
            let total = alphabet.len().pow(n as u32);
            for mut k in 0..total {
                buf.clear();
                for _ in 0..n {
                    buf.push(alphabet[k % alphabet.len()]);
                    k /= alphabet.len();
                }
                let text = std::str::from_utf8(&buf).unwrap_or_default();
                let std = text.parse::<std::net::Ipv4Addr>().ok();
                assert_eq!(super::parse_ipv4(&buf), std, "{text}");
            }
        }
    }

    #[test]
    fn bare_tokens_classify_by_shape() {
        assert!(matches!(
            classify("10.20.30.40"),
            Classified::Literal(Literal::IpOrBytes(..))
        ));
        assert!(matches!(
            classify("1.2.3.4"),
            Classified::Literal(Literal::Ip(_))
        ));
        assert!(matches!(
            classify("aa:bb:cc"),
            Classified::Literal(Literal::Bytes(_))
        ));
        assert!(matches!(
            classify("::1"),
            Classified::Literal(Literal::Ip(_))
        ));
        assert!(matches!(classify("http.host"), Classified::NotALiteral));
        assert!(matches!(classify("10.0.0.0/33"), Classified::Invalid(_)));
        assert!(matches!(
            classify("80..90"),
            Classified::Literal(Literal::IntRange(80, 90))
        ));
    }
}
