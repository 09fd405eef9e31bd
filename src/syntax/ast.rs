//! The abstract syntax tree: what the parser produces and the printer prints.
//!
//! Every node carries a [`Span`] (byte offsets into the source). Logical chains
//! are n-ary (`a or b or c` is one [`Expr::Logical`] with three terms), so a long
//! flat chain never makes a deep tree. Equality of trees "spans aside" is
//! [`Expr::same_shape`].

use crate::types::canonical_ip;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::net::IpAddr;

pub use crate::small_bytes::SmallBytes;

pub use crate::types::Span;

/// A boolean expression: the whole of a rule, or the argument of `any`/`all`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// `true` or `false`.
    Const {
        /// The constant.
        value: bool,
        /// Where it stands.
        span: Span,
    },
    /// An n-ary chain of one logical operator: `a and b and c`.
    Logical {
        /// The operator joining every term.
        op: LogicalOp,
        /// At least two terms.
        terms: Vec<Expr>,
        /// Where the chain stands.
        span: Span,
    },
    /// `not e` / `! e`.
    Not {
        /// The negated expression.
        expr: Box<Expr>,
        /// Where it stands, from the `not`.
        span: Span,
    },
    /// `( e )`: kept so the printer can reproduce the user's grouping.
    Paren {
        /// The inner expression.
        expr: Box<Expr>,
        /// Where it stands, parentheses included.
        span: Span,
    },
    /// `lhs op rhs`.
    Compare {
        /// The value being tested.
        lhs: Value,
        /// The operator.
        op: CompareOp,
        /// What it is compared with.
        rhs: Rhs,
        /// Where it stands.
        span: Span,
    },
    /// A value used on its own as a test: `ssl`, `starts_with(x, "a")`.
    Test {
        /// The value, which must be a Bool (or `Array<Bool>` inside `any`/`all`).
        value: Value,
    },
}

/// The logical binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LogicalOp {
    /// `and`, `&&`.
    And,
    /// `xor`, `^^`.
    Xor,
    /// `or`, `||`.
    Or,
}

impl LogicalOp {
    /// The canonical keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            LogicalOp::And => "and",
            LogicalOp::Xor => "xor",
            LogicalOp::Or => "or",
        }
    }

    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            LogicalOp::And => 3,
            LogicalOp::Xor => 2,
            LogicalOp::Or => 1,
        }
    }
}

/// The comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CompareOp {
    /// `eq`, `==`.
    Eq,
    /// `ne`, `!=`.
    Ne,
    /// `lt`, `<`.
    Lt,
    /// `le`, `<=`.
    Le,
    /// `gt`, `>`.
    Gt,
    /// `ge`, `>=`.
    Ge,
    /// `contains`.
    Contains,
    /// `matches`, `~`.
    Matches,
    /// `wildcard` (ASCII case-insensitive).
    Wildcard,
    /// `strict wildcard` (case-sensitive).
    StrictWildcard,
    /// `in`.
    In,
    /// `&`, `bitwise_and`: true when the result is non-zero.
    BitwiseAnd,
}

impl CompareOp {
    /// The canonical (English) spelling.
    pub fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Contains => "contains",
            CompareOp::Matches => "matches",
            CompareOp::Wildcard => "wildcard",
            CompareOp::StrictWildcard => "strict wildcard",
            CompareOp::In => "in",
            CompareOp::BitwiseAnd => "bitwise_and",
        }
    }
}

/// A dotted name (`http.request.uri.path`) with its span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    /// The name as written (borrowed for the names of the default catalogue
    /// and the built-in functions, so most names cost no allocation).
    pub name: Cow<'static, str>,
    /// Where it stands.
    pub span: Span,
}

/// A value expression: a field or a function call, followed by indexes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Value {
    /// The field or call the value starts from.
    pub base: ValueBase,
    /// `[0]`, `["key"]`, `[*]`, in order.
    pub indexes: Vec<Index>,
    /// Where the whole value stands.
    pub span: Span,
}

/// Where a [`Value`] starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ValueBase {
    /// A schema field.
    Field(Name),
    /// A function call (boxed: most values are fields, and a small value
    /// keeps every comparison node small).
    Call(Box<Call>),
}

/// A function call `name(arg, ...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The function's name.
    pub name: Name,
    /// The arguments, in order.
    pub args: Vec<Arg>,
    /// Where the call stands, name to closing parenthesis.
    pub span: Span,
}

/// A function argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Arg {
    /// A literal (`"a"`, `5`, `10.0.0.1`).
    Literal(Literal, Span),
    /// A value or a comparison (`x[*] == "a"` inside `any`).
    Expr(Expr),
    /// A regex literal (the pattern of `regex_replace`), kept as its source
    /// text: in the quoted form a backslash stays unless it escapes `"`.
    Regex(String, Span),
}

/// An index step after a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Index {
    /// `[N]` on an array.
    Position(u32, Span),
    /// `["key"]` on a map.
    Key(Vec<u8>, Span),
    /// `[*]`: every element.
    Star(Span),
}

impl Index {
    /// Where the index stands.
    pub fn span(&self) -> Span {
        match self {
            Index::Position(_, s) | Index::Key(_, s) | Index::Star(s) => *s,
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Rhs {
    /// A single literal.
    Literal(Literal, Span),
    /// `{ a b c }`.
    Set(Vec<(Literal, Span)>, Span),
    /// `$name`.
    List(Name),
    /// A regular expression (right side of `matches`), kept as its source text.
    Regex(String, Span),
    /// Another field, index or function expression (boxed: rare, and a
    /// small right-hand side keeps every comparison node small).
    Value(Box<Value>),
}

impl Rhs {
    /// Where the right-hand side stands.
    pub fn span(&self) -> Span {
        match self {
            Rhs::Literal(_, s) | Rhs::Set(_, s) | Rhs::Regex(_, s) => *s,
            Rhs::List(n) => n.span,
            Rhs::Value(v) => v.span,
        }
    }
}

/// A literal as written; the type checker converts it to the type it meets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Literal {
    /// An integer (decimal, `0x` hex, `0o` or leading-`0` octal).
    Int(i64),
    /// `lo..hi` integers (inside sets).
    IntRange(i64, i64),
    /// A byte string: quoted, raw, or hex bytes.
    Bytes(SmallBytes),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// Text that reads as both an address and hex bytes, such as `10.20.30.40`:
    /// the checker picks the one the other side's type needs.
    IpOrBytes(IpAddr, SmallBytes),
    /// `addr/len` (inside sets).
    Cidr(IpAddr, u8),
    /// `lo..hi` addresses (inside sets).
    IpRange(IpAddr, IpAddr),
}

impl Literal {
    /// An IP set element as an inclusive range; `Err(None)` when it is not an IP element.
    /// An address set element as an inclusive range (canonical: IPv4-mapped
    /// IPv6 folds to IPv4); `Err(None)` when it is not an address element,
    /// `Err(Some(message))` when it is a malformed one.
    pub fn ip_range(&self) -> Result<(IpAddr, IpAddr), Option<String>> {
        match self {
            Literal::Ip(ip) | Literal::IpOrBytes(ip, _) => {
                let ip = canonical_ip(*ip);
                Ok((ip, ip))
            }
            Literal::Cidr(ip, len) => {
                let net = ipnet::IpNet::new(*ip, *len)
                    .map_err(|e| Some(format!("invalid CIDR `{self}`: {e}")))?;
                if net.network() != *ip {
                    return Err(Some(format!(
                        "CIDR `{self}` has host bits set; did you mean `{}`?",
                        net.trunc()
                    )));
                }
                // A v4-mapped v6 block is the v4 block it maps.
                let (lo, hi) = (canonical_ip(net.network()), canonical_ip(net.broadcast()));
                if lo.is_ipv4() != hi.is_ipv4() {
                    return Ok((net.network(), net.broadcast()));
                }
                Ok((lo, hi))
            }
            Literal::IpRange(a, b) => {
                let (a, b) = (canonical_ip(*a), canonical_ip(*b));
                if a.is_ipv4() != b.is_ipv4() {
                    return Err(Some(format!("range `{self}` mixes IPv4 and IPv6")));
                }
                if a > b {
                    return Err(Some(format!(
                        "range `{self}` is reversed: its start is greater than its end"
                    )));
                }
                Ok((a, b))
            }
            _ => Err(None),
        }
    }

    /// How the literal's kind is named in messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Literal::Int(_) => "integer",
            Literal::IntRange(..) => "integer range",
            Literal::Bytes(_) => "string",
            Literal::Ip(_) | Literal::IpOrBytes(..) => "IP address",
            Literal::Cidr(..) => "CIDR block",
            Literal::IpRange(..) => "IP range",
        }
    }
}

impl Expr {
    /// Where the expression stands.
    pub fn span(&self) -> Span {
        match self {
            Expr::Const { span, .. }
            | Expr::Logical { span, .. }
            | Expr::Not { span, .. }
            | Expr::Paren { span, .. }
            | Expr::Compare { span, .. } => *span,
            Expr::Test { value } => value.span,
        }
    }

    /// Equality with every span ignored: what "parses back to an equal AST" means.
    pub fn same_shape(&self, other: &Expr) -> bool {
        let mut a = self.clone();
        let mut b = other.clone();
        a.clear_spans();
        b.clear_spans();
        a == b
    }

    /// Sets every span in the tree to `0..0`.
    pub fn clear_spans(&mut self) {
        // Explicit work list: no recursion on the Rust stack for expressions.
        let mut stack: Vec<&mut Expr> = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Const { span, .. } => *span = Span::default(),
                Expr::Logical { terms, span, .. } => {
                    *span = Span::default();
                    stack.extend(terms.iter_mut());
                }
                Expr::Not { expr, span } | Expr::Paren { expr, span } => {
                    *span = Span::default();
                    stack.push(expr);
                }
                Expr::Compare { lhs, rhs, span, .. } => {
                    *span = Span::default();
                    clear_value(lhs, &mut stack);
                    match rhs {
                        Rhs::Literal(_, s) | Rhs::Regex(_, s) => *s = Span::default(),
                        Rhs::Set(items, s) => {
                            *s = Span::default();
                            for (_, s) in items {
                                *s = Span::default();
                            }
                        }
                        Rhs::List(n) => n.span = Span::default(),
                        Rhs::Value(v) => clear_value(v, &mut stack),
                    }
                }
                Expr::Test { value } => clear_value(value, &mut stack),
            }
        }
    }
}

fn clear_value<'a>(v: &'a mut Value, stack: &mut Vec<&'a mut Expr>) {
    v.span = Span::default();
    for ix in &mut v.indexes {
        match ix {
            Index::Position(_, s) | Index::Key(_, s) | Index::Star(s) => *s = Span::default(),
        }
    }
    match &mut v.base {
        ValueBase::Field(n) => n.span = Span::default(),
        ValueBase::Call(c) => {
            c.span = Span::default();
            c.name.span = Span::default();
            for a in &mut c.args {
                match a {
                    Arg::Literal(_, s) | Arg::Regex(_, s) => *s = Span::default(),
                    Arg::Expr(e) => stack.push(e),
                }
            }
        }
    }
}
