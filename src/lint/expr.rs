//! The lints of one expression that read its syntax tree: the mTLS
//! revocation trap, literals that cannot match a field's form (hex case and
//! separators, lower-cased fields and header names), sets, and regexes
//! that are plain literals.
//!
//! The walk keeps its own work list (no recursion on the Rust stack), and
//! for each node whether the rule matches more when it is true (`Some(true)`),
//! less (`Some(false)`), or neither simply (`None`: under `xor` or inside a
//! function's arguments).

use super::{Lint, ids};
use crate::catalogue::{Form, form};
use crate::rules::Action;
use crate::schema::Schema;
use crate::syntax::{
    Arg, CompareOp, Expr, Index, Literal, LogicalOp, QuotedBytes, Rhs, Value, ValueBase,
};
use crate::types::Span;

pub(super) const VERIFIED: &str = "cf.tls_client_auth.cert_verified";
pub(super) const REVOKED: &str = "cf.tls_client_auth.cert_revoked";
/// What an equality with a literal of the wrong form does.
const EQUAL: &str = "can never be equal";

/// The lints of `expr` (the syntax tree of `source`, which checked against
/// `schema`), for a rule with `action` (`None`: an expression on its own,
/// read as a blocking filter).
pub(super) fn lint(
    expr: &Expr,
    source: &str,
    schema: &Schema,
    action: Option<Action>,
) -> Vec<Lint> {
    let mut w = Walk {
        source,
        schema,
        out: Vec::new(),
        verified: Vec::new(),
        mentions_revoked: false,
    };
    let mut stack: Vec<(&Expr, Option<bool>)> = vec![(expr, Some(true))];
    while let Some((e, polarity)) = stack.pop() {
        match e {
            Expr::Const { .. } => {}
            Expr::Logical { op, terms, .. } => {
                let p = if *op == LogicalOp::Xor {
                    None
                } else {
                    polarity
                };
                stack.extend(terms.iter().rev().map(|t| (t, p)));
            }
            Expr::Paren { expr, .. } => stack.push((expr, polarity)),
            Expr::Not { expr: inner, span } => {
                if let Some(v) = field_test(inner).filter(|v| w.is(v, VERIFIED)) {
                    w.value(v, &mut stack);
                    w.verified.push((polarity.map(|p| !p), *span, true));
                } else {
                    stack.push((inner, polarity.map(|p| !p)));
                }
            }
            Expr::Test { value } => {
                if w.is(value, VERIFIED) {
                    w.verified.push((polarity, value.span, false));
                }
                w.value(value, &mut stack);
            }
            Expr::Compare { lhs, op, rhs, span } => {
                w.value(lhs, &mut stack);
                if let Rhs::Value(v) = rhs {
                    w.value(v, &mut stack);
                }
                w.compare(lhs, *op, rhs, *span);
            }
        }
    }
    w.mtls(action);
    w.out
}

/// The value `e` is, when it is a value on its own (in parentheses or not).
fn field_test_or_call(mut e: &Expr) -> Option<&Value> {
    while let Expr::Paren { expr, .. } = e {
        e = expr;
    }
    match e {
        Expr::Test { value } => Some(value),
        _ => None,
    }
}

/// The value `e` tests, when it is a plain field used as a test (in
/// parentheses or not).
fn field_test(mut e: &Expr) -> Option<&Value> {
    while let Expr::Paren { expr, .. } = e {
        e = expr;
    }
    match e {
        Expr::Test { value } if value.indexes.is_empty() => match &value.base {
            ValueBase::Field(_) => Some(value),
            ValueBase::Call(_) => None,
        },
        _ => None,
    }
}

struct Walk<'a> {
    source: &'a str,
    schema: &'a Schema,
    out: Vec<Lint>,
    /// Each test of `cert_verified`: its polarity, its span, and whether
    /// the span is a `not` of it.
    verified: Vec<(Option<bool>, Span, bool)>,
    mentions_revoked: bool,
}

impl<'a> Walk<'a> {
    /// The canonical name of the field `v` is, when it is a plain field
    /// of the schema (aliases resolved).
    fn field(&self, v: &Value) -> Option<&'a str> {
        if !v.indexes.is_empty() {
            return None;
        }
        self.base_field(v)
    }

    fn base_field(&self, v: &Value) -> Option<&'a str> {
        let ValueBase::Field(n) = &v.base else {
            return None;
        };
        let id = self.schema.field_id(&n.name)?;
        Some(self.schema.field(id)?.name.as_str())
    }

    /// What `v` is called in messages and the form of its text: a field
    /// with a form, or `lower(...)`/`upper(...)` of anything.
    fn form_of(&self, v: &Value) -> Option<(String, Form)> {
        if let Some(name) = self.field(v) {
            return Some((name.to_string(), form(name)?));
        }
        let ValueBase::Call(call) = &v.base else {
            return None;
        };
        if !v.indexes.is_empty() || call.args.len() != 1 {
            return None;
        }
        let form = match call.name.name.as_ref() {
            "lower" => Form::LowerCase,
            "upper" => Form::UpperCase,
            _ => return None,
        };
        let text = self.source.get(v.span.start..v.span.end)?;
        Some((text.to_string(), form))
    }

    fn is(&self, v: &Value, name: &str) -> bool {
        self.field(v) == Some(name)
    }

    /// Visits a value: its call's arguments go on the work list, and a
    /// lower-cased map's keys are checked.
    fn value<'e>(&mut self, v: &'e Value, stack: &mut Vec<(&'e Expr, Option<bool>)>) {
        if self.base_field(v) == Some(REVOKED) {
            self.mentions_revoked = true;
        }
        if let Some(name) = self.base_field(v)
            && form(name) == Some(Form::LowerKeys)
            && let Some(Index::Key(key, span)) = v.indexes.first()
            && key.iter().any(u8::is_ascii_uppercase)
        {
            let lower = key.to_ascii_lowercase();
            self.out.push(Lint::new(
                ids::CASE,
                *span,
                format!(
                    "`{name}` is keyed by lower-cased name, so {} is never a key: write {}",
                    QuotedBytes(key),
                    QuotedBytes(&lower)
                ),
                Some(format!("[{}]", QuotedBytes(&lower))),
            ));
        }
        if let ValueBase::Call(call) = &v.base {
            let name = call.name.name.as_ref();
            if (name == "starts_with" || name == "ends_with")
                && let [Arg::Expr(first), Arg::Literal(Literal::Bytes(lit), span)] = &call.args[..]
                && let Some((field, form)) = field_test_or_call(first).and_then(|f| self.form_of(f))
            {
                self.literal(&field, form, lit, *span, name);
            }
            for a in &call.args {
                if let Arg::Expr(e) = a {
                    stack.push((e, None));
                }
            }
        }
    }

    fn compare(&mut self, lhs: &Value, op: CompareOp, rhs: &Rhs, span: Span) {
        if let Rhs::Set(items, set_span) = rhs {
            self.set(lhs, op, items, *set_span);
        }
        if op == CompareOp::Matches
            && let Rhs::Regex(pattern, _) = rhs
        {
            self.regex_literal(lhs, pattern, span);
        }
        let Some((field, form)) = self.form_of(lhs) else {
            return;
        };
        let field = field.as_str();
        let what = match op {
            CompareOp::Eq | CompareOp::In => EQUAL,
            CompareOp::Ne => "is always unequal",
            CompareOp::Contains => "can never be contained",
            CompareOp::StrictWildcard => "can never match",
            CompareOp::Matches => {
                if let Rhs::Regex(pattern, at) = rhs {
                    self.regex_case(field, form, pattern, *at);
                }
                return;
            }
            _ => return,
        };
        match rhs {
            Rhs::Literal(Literal::Bytes(b), at) => self.literal(field, form, b, *at, what),
            Rhs::Set(items, _) => {
                for (l, at) in items {
                    if let Literal::Bytes(b) = l {
                        self.literal(field, form, b, *at, what);
                    }
                }
            }
            _ => {}
        }
    }

    /// A byte-string literal compared with `field`: one written in another
    /// form than the field's can never match it.
    fn literal(&mut self, field: &str, form: Form, lit: &[u8], at: Span, what: &str) {
        let text = self.source.get(at.start..at.end).unwrap_or("");
        let what = match what {
            "starts_with" => "can never start it",
            "ends_with" => "can never end it",
            other => other,
        };
        let (fixed, why): (Vec<u8>, &str) = match form {
            Form::UpperHex | Form::LowerHex => {
                let upper = form == Form::UpperHex;
                // A hex-bytes literal (`3a:2f`) is those bytes, not their text.
                let quoted = text.starts_with('"') || text.starts_with('r');
                let fixed: Vec<u8> = if quoted {
                    let digits: Vec<u8> = lit
                        .iter()
                        .copied()
                        .filter(|b| !matches!(b, b':' | b' ' | b'-'))
                        .collect();
                    if !digits.iter().all(u8::is_ascii_hexdigit) {
                        return;
                    }
                    if upper {
                        digits.to_ascii_uppercase()
                    } else {
                        digits.to_ascii_lowercase()
                    }
                } else {
                    lit.iter()
                        .flat_map(|b| {
                            let s = if upper {
                                format!("{b:02X}")
                            } else {
                                format!("{b:02x}")
                            };
                            s.into_bytes()
                        })
                        .collect()
                };
                if let Some(n) = crate::catalogue::hex_digits(field)
                    && what == EQUAL
                    && fixed.len() != n
                {
                    self.out.push(Lint::new(
                        ids::HEX,
                        at,
                        format!(
                            "`{field}` has {n} hex digits, so `{text}` ({} once written in its form) {what}: check the value",
                            fixed.len()
                        ),
                        None,
                    ));
                    return;
                }
                if fixed == lit {
                    return;
                }
                let why = if !quoted {
                    "is text: hex digits without separators, and this literal is raw bytes"
                } else if upper {
                    "is upper-case hex without separators"
                } else {
                    "is lower-case hex without separators"
                };
                (fixed, why)
            }
            Form::LowerCase => {
                if !lit.iter().any(u8::is_ascii_uppercase) {
                    return;
                }
                (lit.to_ascii_lowercase(), "is lower-cased")
            }
            Form::UpperCase => {
                if !lit.iter().any(u8::is_ascii_lowercase) {
                    return;
                }
                (lit.to_ascii_uppercase(), "is upper-cased")
            }
            Form::LowerKeys => return,
        };
        let (id, fix) = match form {
            Form::LowerCase | Form::UpperCase => (ids::CASE, QuotedBytes(&fixed).to_string()),
            _ => (ids::HEX, QuotedBytes(&fixed).to_string()),
        };
        self.out.push(Lint::new(
            id,
            at,
            format!("`{field}` {why}, so `{text}` {what}: write {fix}"),
            Some(fix),
        ));
    }

    fn set(&mut self, lhs: &Value, op: CompareOp, items: &[(Literal, Span)], at: Span) {
        if op != CompareOp::In {
            return;
        }
        let lhs_text = self.source.get(lhs.span.start..lhs.span.end).unwrap_or("");
        if items.is_empty() {
            self.out.push(Lint::new(
                ids::EMPTY_SET,
                at,
                format!("`{lhs_text} in {{}}` is always false: the set is empty; add its elements or remove the test"),
                None,
            ));
            return;
        }
        for (k, (l, span)) in items.iter().enumerate() {
            if items[..k].iter().any(|(m, _)| m == l) {
                let text = self.source.get(span.start..span.end).unwrap_or("");
                self.out.push(Lint::new(
                    ids::DUPLICATE,
                    *span,
                    format!("`{text}` is already in this set: remove it"),
                    Some(String::new()),
                ));
            }
        }
    }

    /// `lhs matches pattern` where the pattern is one literal, anchored or
    /// not: a byte test says the same, more plainly and cheaper.
    fn regex_literal(&mut self, lhs: &Value, pattern: &str, at: Span) {
        if lhs.indexes.iter().any(|i| matches!(i, Index::Star(_))) {
            return;
        }
        let Some(alts) = crate::regexes::literal_alternatives(pattern) else {
            return;
        };
        let [(bytes, start, end)] = &alts[..] else {
            return;
        };
        if bytes.is_empty() {
            return;
        }
        let v = self.source.get(lhs.span.start..lhs.span.end).unwrap_or("");
        let lit = QuotedBytes(bytes);
        let (fix, how) = match (start, end) {
            (false, false) => (format!("{v} contains {lit}"), "`contains`"),
            (true, false) => (format!("starts_with({v}, {lit})"), "`starts_with`"),
            (false, true) => (format!("ends_with({v}, {lit})"), "`ends_with`"),
            (true, true) => (format!("{v} == {lit}"), "`==`"),
        };
        self.out.push(Lint::new(
            ids::REGEX_LITERAL,
            at,
            format!("this regex is the plain literal {lit}: use {how} (`{fix}`), which says so and costs less"),
            Some(fix),
        ));
    }

    /// `matches` on a lower-cased field with upper-case letters in the
    /// pattern (outside a case-insensitive flag): those parts never match.
    fn regex_case(&mut self, field: &str, form: Form, pattern: &str, at: Span) {
        let upper = match form {
            Form::LowerCase => true,
            Form::UpperCase => false,
            _ => return,
        };
        let Some(wrong) = wrong_case_literals(pattern, upper) else {
            return;
        };
        if wrong.is_empty() {
            return;
        }
        let mut fixed = pattern.as_bytes().to_vec();
        for k in wrong {
            if let Some(b) = fixed.get_mut(k) {
                if upper {
                    b.make_ascii_lowercase();
                } else {
                    b.make_ascii_uppercase();
                }
            }
        }
        let (case, letters) = if upper {
            ("lower-cased", "upper-case")
        } else {
            ("upper-cased", "lower-case")
        };
        let fixed = String::from_utf8(fixed).unwrap_or_default();
        let fix = Rhs::Regex(fixed, at).to_string();
        self.out.push(Lint::new(
            ids::CASE,
            at,
            format!("`{field}` is {case}, so the {letters} letters of this pattern never match: write {fix}"),
            Some(fix),
        ));
    }

    /// The mTLS revocation trap: the public edge reports a revoked
    /// certificate as verified, so a rule that stops unverified
    /// certificates (or lets verified ones in) without testing
    /// `cert_revoked` lets revoked ones through.
    fn mtls(&mut self, action: Option<Action>) {
        if self.mentions_revoked || self.schema.field_id(REVOKED).is_none() {
            return;
        }
        let wanted = match action {
            None
            | Some(
                Action::Block | Action::Challenge | Action::JsChallenge | Action::ManagedChallenge,
            ) => false,
            Some(Action::Allow) => true,
            Some(Action::Log | Action::Skip) => return,
        };
        for &(polarity, span, _) in &self.verified {
            if polarity != Some(wanted) {
                continue;
            }
            let (fix, what) = if wanted {
                (
                    format!("({VERIFIED} and not {REVOKED})"),
                    "lets in every verified certificate, revoked ones too",
                )
            } else {
                (
                    format!("(not {VERIFIED} or {REVOKED})"),
                    "stops unverified certificates but lets revoked ones through",
                )
            };
            self.out.push(Lint::new(
                ids::MTLS,
                span,
                format!("a revoked certificate is reported as verified, so this {what}: test `{REVOKED}` too, as `{fix}`"),
                Some(fix),
            ));
        }
    }
}

/// Byte offsets of the upper-case (`upper`, else lower-case) ASCII letters
/// `pattern` matches as themselves (literals, class members and range
/// ends); `None` when the pattern does not parse or sets a flag (`(?i)`
/// would make them match).
fn wrong_case_literals(pattern: &str, upper: bool) -> Option<Vec<usize>> {
    use regex_syntax::ast::{self, Ast, ClassSetItem, LiteralKind, Visitor};
    struct Finder {
        at: Vec<usize>,
        flags: bool,
        upper: bool,
    }
    impl Finder {
        fn literal(&mut self, l: &ast::Literal) {
            let wrong = if self.upper {
                l.c.is_ascii_uppercase()
            } else {
                l.c.is_ascii_lowercase()
            };
            if l.kind == LiteralKind::Verbatim && wrong {
                self.at.push(l.span.start.offset);
            }
        }
    }
    impl Visitor for Finder {
        type Output = (Vec<usize>, bool);
        type Err = ();
        fn finish(self) -> Result<(Vec<usize>, bool), ()> {
            Ok((self.at, self.flags))
        }
        fn visit_pre(&mut self, ast: &Ast) -> Result<(), ()> {
            match ast {
                Ast::Literal(l) => self.literal(l),
                Ast::Flags(_) => self.flags = true,
                Ast::Group(g) => {
                    if let ast::GroupKind::NonCapturing(f) = &g.kind
                        && !f.items.is_empty()
                    {
                        self.flags = true;
                    }
                }
                _ => {}
            }
            Ok(())
        }
        fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), ()> {
            match item {
                ClassSetItem::Literal(l) => self.literal(l),
                ClassSetItem::Range(r) => {
                    self.literal(&r.start);
                    self.literal(&r.end);
                }
                _ => {}
            }
            Ok(())
        }
    }
    let parsed = ast::parse::ParserBuilder::new()
        .nest_limit(64)
        .build()
        .parse(pattern)
        .ok()?;
    // The visitor keeps its own stack (no recursion on ours).
    let (at, flags) = ast::visit(
        &parsed,
        Finder {
            at: Vec::new(),
            flags: false,
            upper,
        },
    )
    .ok()?;
    (!flags).then_some(at)
}
