//! The explain tree: every boolean sub-expression of a rule with its value
//! on the request. The engine has no trace API, so each sub-expression is
//! compiled on its own (from its span of the source) and evaluated; that is
//! what the program computes for it, whether or not the program's
//! short-circuit reaches it.

use portcullis::syntax::Expr;
use portcullis::{Compiler, HttpRequest, Span};
use serde_json::{Value as J, json};

/// `[{"depth", "text", "value", "start", "end"}]` in source order, parents
/// before their terms; `value` is null for a part that does not compile alone.
pub(crate) fn tree(compiler: &Compiler<'_>, source: &str, request: &HttpRequest) -> Vec<J> {
    let Ok(expr) = portcullis::parse(source) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(compiler, source, request, &expr, 0, &mut out);
    out
}

fn walk(
    compiler: &Compiler<'_>,
    source: &str,
    request: &HttpRequest,
    expr: &Expr,
    depth: usize,
    out: &mut Vec<J>,
) {
    // Parentheses are shown by their contents.
    if let Expr::Paren { expr, .. } = expr {
        return walk(compiler, source, request, expr, depth, out);
    }
    // A bounded tree: the page shows at most this many rows.
    if out.len() >= 200 {
        return;
    }
    let span: Span = expr.span();
    let text = source.get(span.start..span.end).unwrap_or_default();
    let value = compiler.compile(text).ok().map(|f| f.matches(request));
    out.push(json!({
        "depth": depth,
        "text": text,
        "value": value,
        "start": span.start,
        "end": span.end,
    }));
    match expr {
        Expr::Logical { terms, .. } => {
            for t in terms {
                walk(compiler, source, request, t, depth + 1, out);
            }
        }
        Expr::Not { expr, .. } => walk(compiler, source, request, expr, depth + 1, out),
        _ => {}
    }
}
