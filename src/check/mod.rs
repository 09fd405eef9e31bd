//! The type checker: AST + schema → a resolved, typed tree ([`Typed`]).
//!
//! Fields become [`FieldId`]s, literals are converted to the type they meet,
//! sets are typed and normalised into ranges, regexes are compiled (once), and
//! every misuse is rejected with the span of the offending node.

use crate::error::{Error, ErrorKind};
use crate::functions::{Builtin, Callee};
use crate::limits::Limits;
use crate::matchers::merge_ranges;
use crate::regexes::{Pattern, RegexCache};
use crate::schema::Schema;
use crate::small_bytes::SmallBytes;
use crate::syntax::{self, Arg, CompareOp, Expr, Literal, LogicalOp, Rhs, Span, ValueBase};
use crate::types::canonical_ip;
use crate::types::{FieldId, Type};
use std::net::IpAddr;

/// A checked expression: the typed tree and what it needs at run time.
#[derive(Debug, Clone)]
pub struct Typed {
    /// The root, a Bool-valued node.
    pub root: Node,
    /// Named lists the expression reads.
    pub lists: Vec<String>,
}

/// A Bool-valued node.
#[derive(Debug, Clone)]
pub enum Node {
    /// A constant.
    Const(bool),
    /// All terms true (short-circuit, left to right).
    And(Vec<Node>),
    /// Some term true (short-circuit, left to right).
    Or(Vec<Node>),
    /// An odd number of terms true.
    Xor(Vec<Node>),
    /// Negation.
    Not(Box<Node>),
    /// A Bool operand used as a test (missing is false).
    Test(Operand),
    /// A comparison (held in place: most nodes are one).
    Compare(Compare),
}

/// `lhs test` where `lhs` has type `ty`.
#[derive(Debug, Clone)]
pub struct Compare {
    /// The value tested.
    pub lhs: Operand,
    /// The test.
    pub test: Test,
    /// Where the comparison stands.
    pub span: Span,
}

/// A constant value of a scalar type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Const {
    /// An Int.
    Int(i64),
    /// A byte string.
    Bytes(SmallBytes),
    /// An address (canonical: IPv4-mapped IPv6 is IPv4).
    Ip(IpAddr),
}

/// The ordering operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Order {
    /// Whether `ord` (lhs compared with rhs) satisfies the operator.
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Order::Lt => ord == Less,
            Order::Le => ord != Greater,
            Order::Gt => ord == Greater,
            Order::Ge => ord != Less,
        }
    }

    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Order::Lt => "lt",
            Order::Le => "le",
            Order::Gt => "gt",
            Order::Ge => "ge",
        }
    }
}

/// What a comparison tests.
#[derive(Debug, Clone)]
pub enum Test {
    /// Equal to a constant.
    Eq(Const),
    /// Not equal to a constant (false when missing).
    Ne(Const),
    /// Ordered against a constant.
    Order(Order, Const),
    /// Contains a byte substring.
    Contains(Vec<u8>),
    /// Matches a regex (compiled once, here, unless it is a plain literal:
    /// see [`Pattern`]).
    Matches(Box<Pattern>),
    /// Matches a wildcard pattern (`*`, `\*`, `\\`).
    Wildcard {
        /// The pattern bytes, escapes still in place.
        pattern: Vec<u8>,
        /// Case-sensitive (`strict wildcard`).
        strict: bool,
    },
    /// In a set of byte strings (sorted, deduplicated).
    InBytes(Vec<Vec<u8>>),
    /// In a set of inclusive integer ranges (sorted, merged).
    InInts(Vec<(i64, i64)>),
    /// In a set of inclusive address ranges (sorted, merged, one family each).
    InIps(Vec<(IpAddr, IpAddr)>),
    /// In a named list.
    InList(String),
    /// `lhs & mask != 0`.
    BitAnd(i64),
    /// Compared with another operand of the same type.
    Operand(CompareOp, Operand),
}

/// A value-producing node.
#[derive(Debug, Clone)]
pub enum Operand {
    /// A request field.
    Field(FieldId),
    /// An array position or map key of a value.
    Index(Box<Operand>, Key),
    /// A function call.
    Call(Callee, Vec<Operand>),
    /// A constant argument.
    Const(Const),
    /// `[*]`: `body` evaluated for every element of `source` (an Array).
    Each {
        /// The array or map iterated.
        source: Box<Operand>,
        /// Evaluated per element, which it reads as [`Operand::Elem`].
        body: Box<Operand>,
    },
    /// The current element of the innermost [`Operand::Each`].
    Elem,
    /// A comparison used as a value (inside `[*]` mapping or as an argument).
    Compare(Box<Compare>),
    /// A logical expression used as a value.
    Logic(Box<Node>),
}

impl Operand {
    /// The bytes of a literal string operand.
    pub fn literal_bytes(&self) -> Option<&[u8]> {
        match self {
            Operand::Const(Const::Bytes(b)) => Some(b),
            _ => None,
        }
    }
}

/// An index step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// Array position.
    Position(u32),
    /// Map key.
    Name(Vec<u8>),
}

/// Checks `expr` against `schema`, writing the checked tree into `root` (a
/// tree is large: returned, it would be copied once more); returns the
/// named lists the expression reads. The byte strings of `expr` move into
/// the checked tree: what is left of it is only good for dropping.
/// Compiled regexes come from (and go to) `cache`.
pub(crate) fn check(
    expr: &mut Expr,
    schema: &Schema,
    limits: &Limits,
    cache: &RegexCache,
    root: &mut Node,
) -> Result<Vec<String>, Error> {
    let mut c = Checker::new(schema, limits, cache);
    // Before typing, which moves the literals out of `expr`.
    growth::check(expr, limits)?;
    c.node(expr, 0, root)?;
    Ok(c.lists)
}

/// Types one value on its own (for explanations: the value a sub-expression
/// of a checked rule had). A value mapped by `[*]` becomes the array of its
/// elements' values.
pub(crate) fn check_value(
    value: &syntax::Value,
    schema: &Schema,
    limits: &Limits,
    cache: &RegexCache,
) -> Result<Operand, Error> {
    Ok(Checker::new(schema, limits, cache)
        .value(value, 0)?
        .close()
        .op)
}

mod calls;
mod growth;

pub(crate) struct Checker<'s> {
    cache: &'s RegexCache,
    schema: &'s Schema,
    limits: &'s Limits,
    regexes: usize,
    lists: Vec<String>,
    max_depth: usize,
    /// The field the last field reference resolved to, and its type.
    last_field: Option<(FieldId, Option<&'s Type>)>,
}

/// A checked value before `[*]` mapping is closed.
pub(crate) struct TVal<'e> {
    pub(crate) op: Operand,
    pub(crate) ty: Type,
    /// `Some(source)` while the value is mapped over `source` by `[*]`:
    /// `op` and `ty` then describe one element.
    pub(crate) star: Option<Box<Operand>>,
    /// The literal, when the value is one (for literal-only parameters).
    pub(crate) literal: Option<Box<Literal>>,
    pub(crate) span: Span,
    /// The value as written (canonical form), for messages.
    pub(crate) text: Text<'e>,
}

impl<'e> TVal<'e> {
    /// Closes a mapping: the value becomes `Array<ty>`.
    fn close(self) -> TVal<'e> {
        match self.star {
            Some(source) => TVal {
                op: Operand::Each {
                    source,
                    body: Box::new(self.op),
                },
                ty: Type::array(self.ty),
                star: None,
                literal: None,
                span: self.span,
                text: self.text,
            },
            None => self,
        }
    }
}

const STAR_MISPLACED: &str =
    "`[*]` can only be used inside any(...), all(...) or the first argument of a function";

fn type_name(ty: &Type) -> String {
    ty.to_string()
}

/// The type with its article: "a String", "an Int".
fn a_type(ty: &Type) -> String {
    let t = ty.to_string();
    let article = if t.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {t}")
}

impl<'s> Checker<'s> {
    fn new(schema: &'s Schema, limits: &'s Limits, cache: &'s RegexCache) -> Self {
        Checker {
            schema,
            limits,
            cache,
            regexes: 0,
            lists: Vec::new(),
            max_depth: limits.effective_depth(),
            last_field: None,
        }
    }
}

impl Checker<'_> {
    fn deeper(&self, depth: usize, span: Span) -> Result<usize, Error> {
        if depth >= self.max_depth {
            return Err(Error::limit(
                crate::error::Stage::Check,
                format!(
                    "nesting deeper than {} levels (raise `max_depth` in the settings)",
                    self.max_depth
                ),
                span,
            ));
        }
        Ok(depth + 1)
    }

    /// Checks `e` into `out`. The node is written where it is kept (a
    /// chain's vector, a box) rather than returned: nodes are large, and
    /// moving each one out of a `Result` into its place cost a copy whose
    /// loads stalled on the stores just made.
    fn node(&mut self, e: &mut Expr, depth: usize, out: &mut Node) -> Result<(), Error> {
        crate::stack::guard(|| self.node_inner(e, depth, out))
    }

    fn node_inner(&mut self, e: &mut Expr, depth: usize, out: &mut Node) -> Result<(), Error> {
        let depth = self.deeper(depth, e.span())?;
        *out = match e {
            Expr::Const { value, .. } => Node::Const(*value),
            Expr::Logical { op, terms, span } => {
                if terms.len() < 2 {
                    return Err(Error::check(
                        "a logical chain needs at least two terms",
                        *span,
                    ));
                }
                let mut checked = Vec::with_capacity(terms.len());
                for t in terms {
                    checked.push(Node::Const(false));
                    if let Some(slot) = checked.last_mut() {
                        self.node(t, depth, slot)?;
                    }
                }
                let terms = checked;
                match op {
                    LogicalOp::And => Node::And(terms),
                    LogicalOp::Or => Node::Or(terms),
                    LogicalOp::Xor => Node::Xor(terms),
                }
            }
            Expr::Not { expr, .. } => {
                let mut inner = Box::new(Node::Const(false));
                self.node(expr, depth, &mut inner)?;
                Node::Not(inner)
            }
            Expr::Paren { expr, .. } => return self.node(expr, depth, out),
            Expr::Compare { lhs, op, rhs, span } => {
                let lhs = self.value(&*lhs, depth)?;
                if lhs.star.is_some() {
                    return Err(Error::check(
                        format!(
                            "{STAR_MISPLACED}; a comparison with `[*]` yields Array<Bool>: wrap it in any(...) or all(...)"
                        ),
                        lhs.span,
                    ));
                }
                Node::Compare(self.compare(lhs, *op, rhs, *span, depth)?)
            }
            Expr::Test { value } => {
                let v = self.value(&*value, depth)?;
                if v.star.is_some() {
                    return Err(Error::check(STAR_MISPLACED, v.span));
                }
                if v.ty != Type::Bool {
                    let hint = match &v.ty {
                        Type::Array(t) if **t == Type::Bool => {
                            "; use any(...) or all(...) to test an Array<Bool>".to_string()
                        }
                        _ => "; compare it with something, e.g. `== ...`".to_string(),
                    };
                    return Err(Error::check(
                        format!(
                            "`{value}` is {}, not a Bool, so it cannot stand alone as a test{hint}",
                            a_type(&v.ty)
                        ),
                        v.span,
                    ));
                }
                Node::Test(v.op)
            }
        };
        Ok(())
    }

    fn value<'e>(&mut self, v: &'e syntax::Value, depth: usize) -> Result<TVal<'e>, Error> {
        let mut t = match &v.base {
            ValueBase::Field(name) => {
                // Rules name the same field again and again: the last one
                // resolved is checked first (by its canonical name).
                let last = self
                    .last_field
                    .filter(|(id, _)| self.schema.field(*id).is_some_and(|f| f.name == name.name));
                let Some((id, ty)) = last.or_else(|| {
                    let id = self.schema.field_id(&name.name)?;
                    let ty = self.schema.field(id).map(|f| &f.ty);
                    Some((id, ty))
                }) else {
                    let hint = match self.schema.suggest_field(&name.name) {
                        Some(s) => format!("; did you mean `{s}`?"),
                        None => String::new(),
                    };
                    return Err(Error::check(
                        format!("unknown field `{}`{hint}", name.name),
                        name.span,
                    )
                    .with_kind(ErrorKind::UnknownField));
                };
                self.last_field = Some((id, ty));
                let ty = ty.cloned().unwrap_or(Type::Bool);
                TVal {
                    op: Operand::Field(id),
                    ty,
                    star: None,
                    literal: None,
                    span: name.span,
                    text: Text::Name(&name.name),
                }
            }
            ValueBase::Call(call) => self.call(call, depth)?,
        };
        for ix in &v.indexes {
            let span = ix.span();
            match ix {
                syntax::Index::Star(_) => {
                    if t.star.is_some() {
                        return Err(Error::check(
                            "only one `[*]` per value; map again through a function, as in any(lower(x[*])[*] == \"a\")",
                            span,
                        ));
                    }
                    let Some(elem) = t.ty.element().cloned() else {
                        return Err(Error::check(
                            format!(
                                "`[*]` needs an Array or a Map, but this is {}",
                                a_type(&t.ty)
                            ),
                            span,
                        ));
                    };
                    t = TVal {
                        op: Operand::Elem,
                        ty: elem,
                        star: Some(Box::new(t.op)),
                        literal: None,
                        span: t.span.to(span),
                        text: t.text,
                    };
                }
                syntax::Index::Position(n, _) => {
                    let Type::Array(elem) = &t.ty else {
                        let hint = if matches!(t.ty, Type::Map(_)) {
                            "; a Map takes a quoted key, as in [\"name\"]"
                        } else {
                            ""
                        };
                        return Err(Error::check(
                            format!(
                                "`[{n}]` needs an Array, but this is {}{hint}",
                                a_type(&t.ty)
                            ),
                            span,
                        ));
                    };
                    let elem = (**elem).clone();
                    t = TVal {
                        op: Operand::Index(Box::new(t.op), Key::Position(*n)),
                        ty: elem,
                        star: t.star,
                        literal: None,
                        span: t.span.to(span),
                        text: t.text,
                    };
                }
                syntax::Index::Key(k, _) => {
                    let Type::Map(elem) = &t.ty else {
                        let hint = if matches!(t.ty, Type::Array(_)) {
                            "; an Array takes a position, as in [0]"
                        } else {
                            ""
                        };
                        return Err(Error::check(
                            format!(
                                "`[\"...\"]` needs a Map, but this is {}{hint}",
                                a_type(&t.ty)
                            ),
                            span,
                        ));
                    };
                    let elem = (**elem).clone();
                    t = TVal {
                        op: Operand::Index(Box::new(t.op), Key::Name(k.clone())),
                        ty: elem,
                        star: t.star,
                        literal: None,
                        span: t.span.to(span),
                        text: t.text,
                    };
                }
            }
        }
        t.span = v.span;
        t.text = Text::Value(v);
        Ok(t)
    }

    fn compare(
        &mut self,
        lhs: TVal,
        op: CompareOp,
        rhs: &mut Rhs,
        span: Span,
        depth: usize,
    ) -> Result<Compare, Error> {
        let ty = lhs.ty.clone();
        let op_ok = match op {
            CompareOp::Eq | CompareOp::Ne => {
                matches!(ty, Type::Bytes | Type::Int | Type::Ip | Type::Bool)
            }
            CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => {
                matches!(ty, Type::Bytes | Type::Int | Type::Ip)
            }
            CompareOp::Contains
            | CompareOp::Matches
            | CompareOp::Wildcard
            | CompareOp::StrictWildcard => ty == Type::Bytes,
            CompareOp::In => matches!(ty, Type::Bytes | Type::Int | Type::Ip),
            CompareOp::BitwiseAnd => ty == Type::Int,
        };
        if !op_ok {
            let takes = match op {
                CompareOp::Eq | CompareOp::Ne => "String, Int, Ip or Bool values",
                CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge | CompareOp::In => {
                    "String, Int or Ip values"
                }
                CompareOp::BitwiseAnd => "Int values",
                _ => "String values",
            };
            let hint = match &ty {
                Type::Array(_) | Type::Map(_) => {
                    "; comparisons never apply to a whole array or map: index it (`[0]`, `[\"key\"]`) or use any(x[*] ...)"
                }
                _ => "",
            };
            return Err(Error::check(
                format!(
                    "operator `{}` is not valid for `{}`, which is {}; it takes {takes}{hint}",
                    op.keyword(),
                    span_text(&lhs),
                    a_type(&ty)
                ),
                span,
            ));
        }
        let test = match rhs {
            Rhs::Value(v) => {
                let r = match self.value(&*v, depth) {
                    // A bare word compared with a string: a string it is
                    // meant to be (`http.host eq example.com`).
                    Err(e)
                        if e.kind() == ErrorKind::UnknownField
                            && ty == Type::Bytes
                            && !e.message().contains("did you mean") =>
                    {
                        if let (ValueBase::Field(name), true) = (&v.base, v.indexes.is_empty()) {
                            return Err(Error::check(
                                format!(
                                    "unknown field `{0}`; to compare with the string, quote it: \"{0}\"",
                                    name.name
                                ),
                                name.span,
                            )
                            .with_kind(ErrorKind::UnknownField));
                        }
                        return Err(e);
                    }
                    other => other?,
                };
                if r.star.is_some() {
                    return Err(Error::check(STAR_MISPLACED, r.span));
                }
                if r.ty != ty {
                    return Err(Error::check(
                        format!("cannot compare {} with {}", a_type(&ty), a_type(&r.ty)),
                        r.span,
                    ));
                }
                match op {
                    CompareOp::Matches | CompareOp::Wildcard | CompareOp::StrictWildcard => {
                        return Err(Error::check(
                            format!(
                                "`{}` needs a literal pattern on its right, not a field",
                                op.keyword()
                            ),
                            r.span,
                        ));
                    }
                    CompareOp::In => {
                        return Err(Error::check(
                            "`in` needs a set `{...}` or a list `$name`",
                            r.span,
                        ));
                    }
                    _ => Test::Operand(op, r.op),
                }
            }
            Rhs::List(name) => {
                if op != CompareOp::In {
                    return Err(Error::check(
                        format!(
                            "a named list can only follow `in`: `{} in ${}`",
                            span_text(&lhs),
                            name.name
                        ),
                        name.span,
                    ));
                }
                let Some(list_ty) = self.schema.list_type(&name.name) else {
                    let hint = match self.schema.suggest_list(&name.name) {
                        Some(s) => format!("; did you mean `${s}`?"),
                        None => String::new(),
                    };
                    return Err(Error::check(
                        format!("unknown list `${}`{hint}", name.name),
                        name.span,
                    )
                    .with_kind(ErrorKind::UnknownList));
                };
                if *list_ty != ty {
                    return Err(Error::check(
                        format!(
                            "list `${}` holds {} values, but `{}` is {}",
                            name.name,
                            type_name(list_ty),
                            span_text(&lhs),
                            a_type(&ty)
                        ),
                        name.span,
                    ));
                }
                if !self.lists.iter().any(|l| *l == *name.name) {
                    self.lists.push(name.name.to_string());
                }
                Test::InList(name.name.to_string())
            }
            Rhs::Set(items, set_span) => {
                if op != CompareOp::In {
                    return Err(Error::check(
                        format!(
                            "a set can only follow `in`, as in `{} in {{...}}`",
                            span_text(&lhs)
                        ),
                        *set_span,
                    ));
                }
                self.set(&ty, items)?
            }
            Rhs::Regex(pattern, rspan) => {
                let re = self.regex(pattern, *rspan)?;
                Test::Matches(Box::new(re))
            }
            Rhs::Literal(lit, lspan) => {
                let lspan = *lspan;
                match op {
                    CompareOp::In => {
                        return Err(Error::check(
                            "`in` needs a set `{...}` or a list `$name`",
                            lspan,
                        ));
                    }
                    CompareOp::Matches => {
                        return Err(Error::check("`matches` needs a regex string", lspan));
                    }
                    CompareOp::Contains => {
                        Test::Contains(self.bytes_literal(lit, lspan, "contains")?)
                    }
                    CompareOp::Wildcard | CompareOp::StrictWildcard => {
                        let pattern = self.bytes_literal(lit, lspan, op.keyword())?;
                        validate_wildcard(&pattern, lspan)?;
                        Test::Wildcard {
                            pattern,
                            strict: op == CompareOp::StrictWildcard,
                        }
                    }
                    CompareOp::BitwiseAnd => match lit {
                        Literal::Int(n) => Test::BitAnd(*n),
                        other => {
                            return Err(Error::check(
                                format!(
                                    "`bitwise_and` needs an integer mask, found {}",
                                    other.kind()
                                ),
                                lspan,
                            ));
                        }
                    },
                    CompareOp::Eq
                    | CompareOp::Ne
                    | CompareOp::Lt
                    | CompareOp::Le
                    | CompareOp::Gt
                    | CompareOp::Ge => {
                        let c = self.scalar(&ty, lit, lspan, &lhs)?;
                        match op {
                            CompareOp::Eq => Test::Eq(c),
                            CompareOp::Ne => Test::Ne(c),
                            CompareOp::Lt => Test::Order(Order::Lt, c),
                            CompareOp::Le => Test::Order(Order::Le, c),
                            CompareOp::Gt => Test::Order(Order::Gt, c),
                            _ => Test::Order(Order::Ge, c),
                        }
                    }
                }
            }
        };
        Ok(Compare {
            lhs: lhs.op,
            test,
            span,
        })
    }

    fn regex(&mut self, pattern: &str, span: Span) -> Result<Pattern, Error> {
        self.regexes += 1;
        if self.regexes > self.limits.max_regexes {
            return Err(Error::limit(
                crate::error::Stage::Check,
                format!(
                    "more than {} regexes in one expression (raise `max_regexes` in the settings)",
                    self.limits.max_regexes
                ),
                span,
            ));
        }
        // A plain literal far inside the size limit always compiles (a literal
        // regex takes about 32 bytes a byte, plus a few hundred): the compiler
        // tests it as bytes, so building the regex now would be wasted work.
        // The same holds for a handful of anchored literals (`^/a(/|$)`),
        // which the compiler tests as a few byte comparisons.
        let size_limit = self.limits.max_regex_size;
        if pattern.len() <= (size_limit.saturating_sub(4096)) / 64 {
            if let Some(literals) = crate::regexes::literal_alternatives(pattern) {
                return Ok(Pattern::deferred(pattern, size_limit, literals));
            }
        }
        let (re, states) = self.cache.get_with_states(pattern, size_limit).map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => Error::limit(
                crate::error::Stage::Compile,
                format!("regex compiles to more than {limit} bytes (raise `max_regex_size` in the settings)"),
                span,
            ),
            other => {
                // Point at the place in the pattern, when the parser says where.
                let (message, at) = match regex_syntax::ast::parse::Parser::new().parse(pattern) {
                    Err(e) => (
                        e.kind().to_string(),
                        pattern_span(pattern, span, e.span().start.offset, e.span().end.offset),
                    ),
                    Ok(_) => (one_line(&other.to_string()), span),
                };
                Error::compile(format!("invalid regex: {message}"), at)
                    .with_kind(ErrorKind::InvalidRegex)
            }
        })?;
        // The worst search: every state stepped for every byte of a value
        // as large as a value may be.
        let work = (states as u128) * (self.limits.max_value_bytes as u128);
        if work > self.limits.max_regex_work as u128 {
            return Err(Error::limit(
                crate::error::Stage::Check,
                format!(
                    "regex has {states} states: a search of a {}-byte value could take {work} steps, more than `max_regex_work` ({}) allows; simplify it (a bounded repetition `{{n}}` is n copies)",
                    self.limits.max_value_bytes, self.limits.max_regex_work
                ),
                span,
            ));
        }
        Ok(Pattern::compiled(re))
    }

    fn bytes_literal(&self, lit: &mut Literal, span: Span, op: &str) -> Result<Vec<u8>, Error> {
        match lit {
            Literal::Bytes(b) | Literal::IpOrBytes(_, b) => Ok(std::mem::take(b).into_vec()),
            other => Err(Error::check(
                format!("`{op}` needs a string, found {} `{other}`", other.kind()),
                span,
            )),
        }
    }

    /// A literal compared with `==`, `!=`, `<` ... against a value of type `ty`.
    fn scalar(&self, ty: &Type, lit: &mut Literal, span: Span, lhs: &TVal) -> Result<Const, Error> {
        if let (Type::Bytes, Literal::Bytes(b) | Literal::IpOrBytes(_, b)) = (ty, &mut *lit) {
            return Ok(Const::Bytes(std::mem::take(b)));
        }
        let lit: &Literal = lit;
        let mismatch = || {
            Error::check(
                format!(
                    "`{}` is {}, but {} `{lit}` is not",
                    span_text(lhs),
                    a_type(ty),
                    lit.kind()
                ),
                span,
            )
        };
        match (ty, lit) {
            (Type::Int, Literal::Int(n)) => Ok(Const::Int(*n)),
            (Type::Ip, Literal::Ip(ip) | Literal::IpOrBytes(ip, _)) => {
                Ok(Const::Ip(canonical_ip(*ip)))
            }
            (Type::Ip, Literal::Cidr(..) | Literal::IpRange(..)) => Err(Error::check(
                format!(
                    "a {} can only be used in a set: write `{} in {{{lit}}}`",
                    lit.kind(),
                    span_text(lhs)
                ),
                span,
            )),
            (Type::Int, Literal::IntRange(..)) => Err(Error::check(
                format!(
                    "a range can only be used in a set: write `{} in {{{lit}}}`",
                    span_text(lhs)
                ),
                span,
            )),
            (Type::Bool, _) => Err(Error::check(
                format!(
                    "`{}` is a Bool: test it directly (`{0}` or `not {0}`) instead of comparing it with a literal",
                    span_text(lhs)
                ),
                span,
            )),
            _ => Err(mismatch()),
        }
    }

    fn set(&self, ty: &Type, items: &mut [(Literal, Span)]) -> Result<Test, Error> {
        // Mixed kinds among the elements themselves are reported first.
        let class = |l: &Literal| match l {
            Literal::Int(_) | Literal::IntRange(..) => 0,
            Literal::Bytes(_) => 1,
            Literal::Ip(_) | Literal::Cidr(..) | Literal::IpRange(..) => 2,
            Literal::IpOrBytes(..) => 3,
        };
        let mut firm = items.iter().filter(|(l, _)| class(l) != 3);
        if let Some((first, _)) = firm.next()
            && let Some((bad, bad_span)) = firm
                .find(|(l, _)| class(l) != class(first))
                .map(|x| (&x.0, x.1))
        {
            return Err(Error::check(
                format!(
                    "mixed-type set: `{bad}` is {} {}, but the set starts with {} {}",
                    article(bad.kind()),
                    bad.kind(),
                    article(first.kind()),
                    first.kind()
                ),
                bad_span,
            ));
        }
        let wrong = |l: &Literal, span: Span| {
            Error::check(
                format!(
                    "set element `{l}` is {} {}, but the value tested is {}",
                    article(l.kind()),
                    l.kind(),
                    a_type(ty)
                ),
                span,
            )
        };
        match ty {
            Type::Bytes => {
                let mut out = Vec::with_capacity(items.len());
                for (l, span) in items.iter_mut() {
                    match l {
                        Literal::Bytes(b) | Literal::IpOrBytes(_, b) => {
                            out.push(std::mem::take(b).into_vec())
                        }
                        other => return Err(wrong(other, *span)),
                    }
                }
                out.sort();
                out.dedup();
                Ok(Test::InBytes(out))
            }
            Type::Int => {
                let mut out = Vec::with_capacity(items.len());
                for (l, span) in items.iter() {
                    match l {
                        Literal::Int(n) => out.push((*n, *n)),
                        Literal::IntRange(a, b) if a <= b => out.push((*a, *b)),
                        Literal::IntRange(a, b) => {
                            return Err(Error::check(
                                format!(
                                    "range `{a}..{b}` is reversed: its start is greater than its end"
                                ),
                                *span,
                            ));
                        }
                        other => return Err(wrong(other, *span)),
                    }
                }
                Ok(Test::InInts(merge_ranges(out, |n| n.checked_add(1))))
            }
            Type::Ip => {
                let mut out = Vec::with_capacity(items.len());
                for (l, span) in items.iter() {
                    out.push(l.ip_range().map_err(|e| match e {
                        Some(m) => Error::check(m, *span),
                        None => wrong(l, *span),
                    })?);
                }
                Ok(Test::InIps(merge_ranges(out, crate::types::next_ip)))
            }
            _ => Err(Error::check(
                format!("`in` is not valid for {}", a_type(ty)),
                items.first().map_or(Span::default(), |x| x.1),
            )),
        }
    }

    fn call<'e>(&mut self, call: &'e syntax::Call, depth: usize) -> Result<TVal<'e>, Error> {
        crate::stack::guard(|| self.call_inner(call, depth))
    }

    fn call_inner<'e>(&mut self, call: &'e syntax::Call, depth: usize) -> Result<TVal<'e>, Error> {
        let depth = self.deeper(depth, call.span)?;
        let name = &*call.name.name;
        let callee = match Builtin::from_name(name) {
            Some(b) => Callee::Builtin(b),
            None => match self.schema.function(name) {
                Some(u) => Callee::User(u.clone()),
                None => {
                    let known = Builtin::ALL.iter().map(|b| b.name());
                    let hint = match crate::schema::closest(name, known) {
                        Some(s) => format!("; did you mean `{s}`?"),
                        None => String::new(),
                    };
                    return Err(Error::check(
                        format!("unknown function `{name}`{hint}"),
                        call.name.span,
                    )
                    .with_kind(ErrorKind::UnknownFunction));
                }
            },
        };
        let mut args = Vec::with_capacity(call.args.len());
        for (k, a) in call.args.iter().enumerate() {
            let v = self.arg(a, depth)?;
            if k > 0 && v.star.is_some() {
                return Err(Error::check(
                    format!(
                        "{STAR_MISPLACED}; here it is argument {} of `{name}`",
                        k + 1
                    ),
                    v.span,
                ));
            }
            args.push(v);
        }
        let is_any_all = matches!(callee, Callee::Builtin(Builtin::Any | Builtin::All));
        // A mapped first argument applies the function to every element.
        let star = if is_any_all {
            None
        } else {
            args.first_mut().and_then(|a| a.star.take())
        };
        if is_any_all && let Some(first) = args.first_mut() {
            let span = first.span;
            let taken = std::mem::replace(
                first,
                TVal {
                    op: Operand::Elem,
                    ty: Type::Bool,
                    star: None,
                    literal: None,
                    span,
                    text: Text::Empty,
                },
            );
            *first = taken.close();
        }
        let ret = self.check_call(&callee, &mut args, call)?;
        for a in &args {
            if let Some(Literal::Cidr(..) | Literal::IpRange(..) | Literal::IntRange(..)) =
                a.literal.as_deref()
            {
                return Err(Error::check(
                    format!(
                        "a {} cannot be a function argument",
                        a.literal.as_ref().map_or("", |l| l.kind())
                    ),
                    a.span,
                ));
            }
        }
        let op = Operand::Call(callee, args.into_iter().map(|a| a.op).collect());
        let out = TVal {
            op,
            ty: ret,
            star,
            literal: None,
            span: call.span,
            text: Text::Call(call),
        };
        Ok(out.close())
    }

    fn arg<'e>(&mut self, a: &'e Arg, depth: usize) -> Result<TVal<'e>, Error> {
        match a {
            Arg::Literal(l, span) => {
                let (op, ty) = match l {
                    Literal::Int(n) => (Operand::Const(Const::Int(*n)), Type::Int),
                    Literal::Bytes(b) => (Operand::Const(Const::Bytes(b.clone())), Type::Bytes),
                    Literal::Ip(ip) => (Operand::Const(Const::Ip(canonical_ip(*ip))), Type::Ip),
                    // Resolved by the function's parameter type (see `typing::coerce`).
                    Literal::IpOrBytes(_, b) => {
                        (Operand::Const(Const::Bytes(b.clone())), Type::Bytes)
                    }
                    _ => (Operand::Const(Const::Int(0)), Type::Int),
                };
                Ok(TVal {
                    op,
                    ty,
                    star: None,
                    literal: Some(Box::new(l.clone())),
                    span: *span,
                    text: Text::Literal(l),
                })
            }
            Arg::Regex(pattern, span) => {
                let bytes = pattern.as_bytes().to_vec();
                Ok(TVal {
                    op: Operand::Const(Const::Bytes(bytes.clone().into())),
                    ty: Type::Bytes,
                    star: None,
                    literal: Some(Box::new(Literal::Bytes(bytes.into()))),
                    span: *span,
                    text: Text::Name(pattern),
                })
            }
            Arg::Expr(Expr::Test { value }) => self.value(value, depth),
            Arg::Expr(e @ Expr::Compare { lhs, op, rhs, span }) => {
                let lhs = self.value(lhs, depth)?;
                let star = lhs.star.as_ref().map(|_| ());
                let (lhs, source) = match star {
                    Some(()) => {
                        let mut l = lhs;
                        let s = l.star.take();
                        (l, s)
                    }
                    None => (lhs, None),
                };
                // Inside a call the tree is borrowed (for messages): check a copy.
                let cmp = self.compare(lhs, *op, &mut rhs.clone(), *span, depth)?;
                Ok(TVal {
                    op: Operand::Compare(Box::new(cmp)),
                    ty: Type::Bool,
                    star: source,
                    literal: None,
                    span: *span,
                    text: Text::Expr(e),
                })
            }
            Arg::Expr(e @ (Expr::Not { .. } | Expr::Logical { .. } | Expr::Paren { .. }))
                if has_star(e) =>
            {
                self.elementwise(e, depth)
            }
            Arg::Expr(e) => {
                let mut n = Box::new(Node::Const(false));
                self.node(&mut e.clone(), depth, &mut n)?;
                Ok(TVal {
                    op: Operand::Logic(n),
                    ty: Type::Bool,
                    star: None,
                    literal: None,
                    span: e.span(),
                    text: Text::Expr(e),
                })
            }
        }
    }
}

impl<'s> Checker<'s> {
    /// A logical expression over `Array<Bool>` operands, element by element
    /// (`LANGUAGE.md` §4): `not` maps over the elements, `and`/`or`/`xor`
    /// combine the elements of their operands. Over one array the result
    /// maps over it (its `[*]` source), per element; over different arrays
    /// it is an `Array<Bool>` as long as the shortest ([`zip`]).
    fn elementwise<'e>(&mut self, e: &'e Expr, depth: usize) -> Result<TVal<'e>, Error> {
        let depth = self.deeper(depth, e.span())?;
        match e {
            Expr::Paren { expr, .. } => self.elementwise(expr, depth),
            Expr::Not { expr, span } => {
                let (source, body) = self.element_term(expr, depth)?;
                Ok(TVal {
                    op: Operand::Logic(Box::new(Node::Not(Box::new(Node::Test(body))))),
                    ty: Type::Bool,
                    star: Some(source),
                    literal: None,
                    span: *span,
                    text: Text::Expr(e),
                })
            }
            Expr::Logical { op, terms, span } => {
                let mut mapped = Vec::with_capacity(terms.len());
                for t in terms {
                    mapped.push(self.element_term(t, depth)?);
                }
                let same = mapped
                    .windows(2)
                    .all(|w| format!("{:?}", w[0].0) == format!("{:?}", w[1].0));
                if !same {
                    // Different arrays: each term becomes its own Array<Bool>,
                    // combined element by element, as long as the shortest.
                    let arrays = mapped
                        .into_iter()
                        .map(|(source, body)| Operand::Each {
                            source,
                            body: Box::new(body),
                        })
                        .collect();
                    return Ok(TVal {
                        op: Operand::Call(Callee::User(zip(*op)), arrays),
                        ty: Type::array(Type::Bool),
                        star: None,
                        literal: None,
                        span: *span,
                        text: Text::Expr(e),
                    });
                }
                let mut source = None;
                let mut bodies = Vec::with_capacity(mapped.len());
                for (s, body) in mapped {
                    source.get_or_insert(s);
                    bodies.push(Node::Test(body));
                }
                let Some(source) = source else {
                    return Err(Error::check("a logical chain needs terms", *span));
                };
                let node = match op {
                    LogicalOp::And => Node::And(bodies),
                    LogicalOp::Or => Node::Or(bodies),
                    LogicalOp::Xor => Node::Xor(bodies),
                };
                Ok(TVal {
                    op: Operand::Logic(Box::new(node)),
                    ty: Type::Bool,
                    star: Some(source),
                    literal: None,
                    span: *span,
                    text: Text::Expr(e),
                })
            }
            other => {
                let (source, body) = self.element_term(other, depth)?;
                Ok(TVal {
                    op: body,
                    ty: Type::Bool,
                    star: Some(source),
                    literal: None,
                    span: other.span(),
                    text: Text::Expr(other),
                })
            }
        }
    }

    /// One operand of an element-wise logical operator: the array it maps
    /// over and its per-element Bool. A `Bool` here is a type error: a
    /// logical operator does not mix a Bool with an `Array<Bool>`.
    fn element_term(&mut self, e: &Expr, depth: usize) -> Result<(Box<Operand>, Operand), Error> {
        let v = match e {
            Expr::Not { .. } | Expr::Logical { .. } | Expr::Paren { .. } => {
                self.elementwise(e, depth)?
            }
            Expr::Test { value } => self.value(value, depth)?,
            Expr::Compare { .. } | Expr::Const { .. } => {
                let arg = Arg::Expr(e.clone());
                let v = self.arg(&arg, depth)?;
                TVal {
                    op: v.op,
                    ty: v.ty,
                    star: v.star,
                    literal: None,
                    span: v.span,
                    text: Text::Expr(e),
                }
            }
        };
        match (v.star, &v.ty) {
            (Some(source), Type::Bool) => Ok((source, v.op)),
            // A call mapped over an array (`starts_with(x[*], "a")`): its
            // source and its per-element call.
            (None, Type::Array(t)) if **t == Type::Bool => match v.op {
                Operand::Each { source, body } => Ok((source, *body)),
                op => Ok((Box::new(op), Operand::Elem)),
            },
            (_, ty) => Err(Error::check(
                format!(
                    "`{e}` is {}; a logical operator over `[*]` works element by element on Array<Bool> operands and does not mix them with a Bool",
                    a_type(ty)
                ),
                e.span(),
            )),
        }
    }
}

/// The span in the source of bytes `start..end` of `pattern`, whose literal
/// stands at `literal`: quoted (`"..."`, where only `\"` is an escape) or
/// raw (`r#"..."#`). The whole literal when the two do not line up.
fn pattern_span(pattern: &str, literal: Span, start: usize, end: usize) -> Span {
    let quotes_before = |o: usize| pattern.get(..o).map_or(0, |p| p.matches('"').count());
    let extra = literal
        .end
        .saturating_sub(literal.start)
        .saturating_sub(pattern.len());
    let at = |o: usize| {
        if extra == 2 + quotes_before(pattern.len()) {
            literal.start + 1 + o + quotes_before(o)
        } else {
            literal.start + extra.div_ceil(2) + o
        }
    };
    let (s, e) = (
        at(start),
        at(end.max(start + 1)).min(literal.end.saturating_sub(1)),
    );
    if start > pattern.len() || s >= literal.end || e <= s {
        return literal;
    }
    Span::new(s, e)
}

/// `and`/`or`/`xor` of `Array<Bool>`s element by element, as long as the
/// shortest (`LANGUAGE.md` §4): what a logical operator over `[*]` of
/// different arrays is. A missing element counts as false.
fn zip(op: LogicalOp) -> std::sync::Arc<crate::functions::UserFunction> {
    std::sync::Arc::new(crate::functions::UserFunction::new(
        op.keyword(),
        Vec::new(),
        Type::array(Type::Bool),
        move |arrays| zip_arrays(op, arrays),
    ))
}

fn zip_arrays<'a>(op: LogicalOp, arrays: &[crate::types::Val<'a>]) -> crate::types::Val<'a> {
    use crate::types::{Seq, Val};
    let mut seqs = Vec::with_capacity(arrays.len());
    for a in arrays {
        match a {
            Val::Array(s) => seqs.push(s),
            _ => return Val::Missing,
        }
    }
    let len = seqs.iter().map(|s| s.len()).min().unwrap_or(0);
    let items = (0..len)
        .map(|k| {
            let mut truths = seqs.iter().map(|s| s.get(k) == Val::Bool(true));
            Val::Bool(match op {
                LogicalOp::And => truths.all(|t| t),
                LogicalOp::Or => truths.any(|t| t),
                LogicalOp::Xor => truths.fold(false, |acc, t| acc ^ t),
            })
        })
        .collect();
    Val::Array(Seq::Vals(items))
}

/// Whether an expression maps over an array (`[*]`) anywhere in it.
fn has_star(e: &Expr) -> bool {
    fn value(v: &syntax::Value) -> bool {
        v.indexes
            .iter()
            .any(|i| matches!(i, syntax::Index::Star(_)))
            || matches!(&v.base, ValueBase::Call(c) if c.args.iter().any(|a| matches!(a, Arg::Expr(e) if has_star(e))))
    }
    match e {
        Expr::Not { expr, .. } | Expr::Paren { expr, .. } => has_star(expr),
        Expr::Logical { terms, .. } => terms.iter().any(has_star),
        Expr::Compare { lhs, .. } => value(lhs),
        Expr::Test { value: v } => value(v),
        Expr::Const { .. } => false,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u', 'I']) {
        "an"
    } else {
        "a"
    }
}

/// The value as written, for messages.
fn span_text<'a>(v: &'a TVal<'_>) -> &'a Text<'a> {
    &v.text
}

/// Where a checked value came from, printed only when a message needs it.
#[derive(Clone, Copy)]
pub(crate) enum Text<'e> {
    /// Nothing to show.
    Empty,
    /// A field name.
    Name(&'e str),
    /// A value expression.
    Value(&'e syntax::Value),
    /// A call.
    Call(&'e syntax::Call),
    /// A literal.
    Literal(&'e Literal),
    /// An expression.
    Expr(&'e Expr),
}

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Text::Empty => Ok(()),
            Text::Name(n) => f.write_str(n),
            Text::Value(v) => write!(f, "{v}"),
            Text::Call(c) => write!(f, "{c}"),
            Text::Literal(l) => write!(f, "{l}"),
            Text::Expr(e) => write!(f, "{e}"),
        }
    }
}

/// Only `\*` and `\\` are escapes in a wildcard pattern.
fn validate_wildcard(p: &[u8], span: Span) -> Result<(), Error> {
    let mut k = 0;
    while k < p.len() {
        if p[k] == b'\\' {
            match p.get(k + 1) {
                Some(b'*') | Some(b'\\') => k += 2,
                Some(&c) => {
                    return Err(Error::check(
                        format!(
                            "in a wildcard pattern only `\\*` and `\\\\` are escapes, found `\\{}`",
                            c as char
                        ),
                        span,
                    ));
                }
                None => {
                    return Err(Error::check(
                        "a wildcard pattern cannot end with a lone `\\`",
                        span,
                    ));
                }
            }
        } else if p[k] == b'*' && p.get(k + 1) == Some(&b'*') {
            return Err(Error::check(
                "`**` is not a wildcard (the public engines reject it): one `*` already matches any run of characters, `/` and `.` included",
                span,
            ));
        } else {
            k += 1;
        }
    }
    Ok(())
}
