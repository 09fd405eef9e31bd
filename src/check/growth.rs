//! A static estimate of how much an expression's values can outgrow the
//! request data they are computed from, so that an expression like
//! `regex_replace(regex_replace(x, "(?s).*", "${0}${0}"), ...)` nested ten
//! times is rejected when it is checked, not discovered at evaluation (where
//! the value budgets of [`Limits`] would make it missing anyway).
//!
//! The growth of a value is how many bytes it can hold per byte of its
//! inputs: a field is 1, a literal 0 (a constant adds bytes, not growth),
//! `concat` adds its arguments', `regex_replace` multiplies its input's by
//! one plus the groups its replacement inserts, `wildcard_replace` by the
//! groups it inserts (at least one), `encode_base64` by 4/3, `join` by its
//! separator's length, and every other function keeps the largest growth
//! of its arguments (they shrink, copy or compute small values).

use crate::error::{Error, Stage};
use crate::limits::Limits;
use crate::syntax::{Arg, Call, Expr, Literal, Rhs, Value, ValueBase};

/// Rejects `expr` when a value in it can grow more than
/// [`Limits::max_value_growth`] times, naming the outermost call that does.
pub(super) fn check(expr: &Expr, limits: &Limits) -> Result<(), Error> {
    crate::stack::guard(|| match expr {
        Expr::Const { .. } => Ok(()),
        Expr::Logical { terms, .. } => terms.iter().try_for_each(|t| check(t, limits)),
        Expr::Not { expr, .. } | Expr::Paren { expr, .. } => check(expr, limits),
        Expr::Compare { lhs, rhs, .. } => {
            value(lhs, limits)?;
            match rhs {
                Rhs::Value(v) => value(v, limits).map(|_| ()),
                _ => Ok(()),
            }
        }
        Expr::Test { value: v } => value(v, limits).map(|_| ()),
    })
}

/// The growth of `v` (see the module doc), or the error for the first call
/// in it that grows past the limit.
fn value(v: &Value, limits: &Limits) -> Result<f64, Error> {
    match &v.base {
        ValueBase::Field(_) => Ok(1.0),
        ValueBase::Call(call) => crate::stack::guard(|| self::call(call, limits)),
    }
}

fn call(call: &Call, limits: &Limits) -> Result<f64, Error> {
    let mut args = Vec::with_capacity(call.args.len());
    for a in &call.args {
        args.push(match a {
            Arg::Expr(Expr::Test { value: v }) => value(v, limits)?,
            Arg::Expr(e) => {
                check(e, limits)?;
                0.0
            }
            Arg::Literal(..) | Arg::Regex(..) => 0.0,
        });
    }
    let input = |k: usize| args.get(k).copied().unwrap_or(0.0);
    let literal = |k: usize| match call.args.get(k) {
        Some(Arg::Literal(Literal::Bytes(b) | Literal::IpOrBytes(_, b), _)) => b.as_slice(),
        _ => &[],
    };
    // How many groups a replacement inserts (`${N}`; `$$` is a `$`).
    let groups = |repl: &[u8]| repl.windows(2).filter(|w| w == b"${").count() as f64;
    let growth = match &*call.name.name {
        "concat" => args.iter().sum(),
        "regex_replace" => input(0) * (1.0 + groups(literal(2))),
        "wildcard_replace" => input(0) * groups(literal(2)).max(1.0),
        "encode_base64" => input(0) * 4.0 / 3.0,
        "join" => input(0) * (literal(1).len() as f64).max(1.0),
        _ => args.iter().copied().fold(0.0, f64::max),
    };
    if growth > limits.max_value_growth as f64 {
        return Err(Error::limit(
            Stage::Check,
            format!(
                "`{}(…)` can build values {} times larger than its input, more than `max_value_growth` ({}) allows; nest fewer growing transforms",
                call.name.name,
                shown(growth),
                limits.max_value_growth
            ),
            call.span,
        ));
    }
    Ok(growth)
}

/// A growth factor for people: an integer when it is one, else rounded up.
fn shown(g: f64) -> String {
    if g < 1e15 {
        format!("{}", g.ceil() as u64)
    } else {
        format!("{g:.1e}")
    }
}
