//! The canonical printer: `Display` for the AST.
//!
//! English operator words, single spaces, parentheses where the source had
//! them or where precedence needs them. The output parses back to an equal tree
//! (spans aside) for every tree the parser can produce; [`normalize`] turns any
//! other tree into such a one by adding the parentheses the printer would add.

use super::ast::*;
use std::fmt::{self, Display, Formatter, Write as _};
use std::net::IpAddr;

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        crate::stack::guard(|| self.fmt_inner(f))
    }
}

impl Expr {
    fn fmt_inner(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Const { value, .. } => write!(f, "{value}"),
            Expr::Logical { op, terms, .. } => {
                for (k, t) in terms.iter().enumerate() {
                    if k > 0 {
                        write!(f, " {} ", op.keyword())?;
                    }
                    if needs_parens_in_chain(t, *op) {
                        write!(f, "({t})")?;
                    } else {
                        write!(f, "{t}")?;
                    }
                }
                Ok(())
            }
            Expr::Not { expr, .. } => {
                if matches!(**expr, Expr::Logical { .. }) {
                    write!(f, "not ({expr})")
                } else {
                    write!(f, "not {expr}")
                }
            }
            Expr::Paren { expr, .. } => write!(f, "({expr})"),
            Expr::Compare { lhs, op, rhs, .. } => write!(f, "{lhs} {} {rhs}", op.keyword()),
            Expr::Test { value } => write!(f, "{value}"),
        }
    }
}

/// A chain term that would re-associate without parentheses.
fn needs_parens_in_chain(term: &Expr, parent: LogicalOp) -> bool {
    matches!(term, Expr::Logical { op, .. } if op.precedence() <= parent.precedence())
}

/// Wraps in [`Expr::Paren`] every subtree the printer would parenthesize, so
/// that `parse(print(e))` equals `normalize(e)` for any tree `e`.
pub fn normalize(e: Expr) -> Expr {
    crate::stack::guard(|| normalize_inner(e))
}

fn normalize_inner(e: Expr) -> Expr {
    fn paren(e: Expr) -> Expr {
        let span = e.span();
        Expr::Paren {
            expr: Box::new(e),
            span,
        }
    }
    match e {
        Expr::Logical { op, terms, span } => {
            let terms = terms
                .into_iter()
                .map(|t| {
                    let t = normalize(t);
                    if needs_parens_in_chain(&t, op) {
                        paren(t)
                    } else {
                        t
                    }
                })
                .collect();
            Expr::Logical { op, terms, span }
        }
        Expr::Not { expr, span } => {
            let inner = normalize(*expr);
            let inner = if matches!(inner, Expr::Logical { .. }) {
                paren(inner)
            } else {
                inner
            };
            Expr::Not {
                expr: Box::new(inner),
                span,
            }
        }
        Expr::Paren { expr, span } => Expr::Paren {
            expr: Box::new(normalize(*expr)),
            span,
        },
        Expr::Compare { lhs, op, rhs, span } => Expr::Compare {
            lhs: normalize_value(lhs),
            op,
            rhs: match rhs {
                Rhs::Value(v) => Rhs::Value(Box::new(normalize_value(*v))),
                other => other,
            },
            span,
        },
        Expr::Test { value } => Expr::Test {
            value: normalize_value(value),
        },
        other => other,
    }
}

fn normalize_value(mut v: Value) -> Value {
    if let ValueBase::Call(c) = &mut v.base {
        for a in &mut c.args {
            if let Arg::Expr(e) = a {
                let taken = std::mem::replace(
                    e,
                    Expr::Const {
                        value: false,
                        span: Span::default(),
                    },
                );
                *e = normalize(taken);
            }
        }
    }
    v
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.base {
            ValueBase::Field(n) => f.write_str(&n.name)?,
            ValueBase::Call(c) => write!(f, "{c}")?,
        }
        for ix in &self.indexes {
            match ix {
                Index::Position(n, _) => write!(f, "[{n}]")?,
                Index::Key(k, _) => write!(f, "[{}]", QuotedBytes(k))?,
                Index::Star(_) => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

impl Display for Call {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name.name)?;
        for (k, a) in self.args.iter().enumerate() {
            if k > 0 {
                f.write_str(", ")?;
            }
            match a {
                Arg::Literal(l, _) => write!(f, "{l}")?,
                Arg::Regex(p, _) => write_regex(f, p)?,
                Arg::Expr(e) => write!(f, "{e}")?,
            }
        }
        f.write_str(")")
    }
}

impl Display for Rhs {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Rhs::Literal(l, _) => write!(f, "{l}"),
            Rhs::Set(items, _) => {
                f.write_str("{")?;
                for (k, (l, _)) in items.iter().enumerate() {
                    if k > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{l}")?;
                }
                f.write_str("}")
            }
            Rhs::List(n) => write!(f, "${}", n.name),
            Rhs::Regex(p, _) => write_regex(f, p),
            Rhs::Value(v) => write!(f, "{v}"),
        }
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(n) => write!(f, "{n}"),
            Literal::IntRange(a, b) => write!(f, "{a}..{b}"),
            Literal::Bytes(b) => write!(f, "{}", QuotedBytes(b)),
            Literal::Ip(ip) => write!(f, "{ip}"),
            Literal::IpOrBytes(ip, bytes) => match ip {
                IpAddr::V4(_) => write!(f, "{ip}"),
                IpAddr::V6(_) => {
                    for (k, b) in bytes.iter().enumerate() {
                        if k > 0 {
                            f.write_char(':')?;
                        }
                        write!(f, "{b:02x}")?;
                    }
                    Ok(())
                }
            },
            Literal::Cidr(ip, len) => write!(f, "{ip}/{len}"),
            Literal::IpRange(a, b) => write!(f, "{a}..{b}"),
        }
    }
}

/// A byte string printed as a quoted literal: printable text as is, `"` and
/// `\` escaped, every other byte as `\xHH`.
pub struct QuotedBytes<'a>(pub &'a [u8]);

impl Display for QuotedBytes<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '"' => f.write_str("\\\"")?,
                    '\\' => f.write_str("\\\\")?,
                    c if c.is_control() => {
                        let mut buf = [0u8; 4];
                        for b in c.encode_utf8(&mut buf).bytes() {
                            write!(f, "\\x{b:02x}")?;
                        }
                    }
                    c => f.write_char(c)?,
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_char('"')
    }
}

/// Regex source: quoted with `"` escaped when that reads back the same,
/// otherwise a raw string with enough `#`.
fn write_regex(f: &mut Formatter<'_>, pattern: &str) -> fmt::Result {
    let quoted = pattern.replace('"', "\\\"");
    if regex_unquote(&quoted) == pattern {
        return write!(f, "\"{quoted}\"");
    }
    let mut hashes = String::new();
    while pattern.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    write!(f, "r{hashes}\"{pattern}\"{hashes}")
}

/// How the parser reads a quoted regex body (kept in step with `parse.rs`).
fn regex_unquote(body: &str) -> String {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('"') => out.push('"'),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => return String::from("\u{0}unterminated"),
            }
        } else if c == '"' {
            return String::from("\u{0}early end");
        } else {
            out.push(c);
        }
    }
    out
}
