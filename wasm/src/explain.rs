//! The explain tree: every boolean sub-expression of a rule with its value
//! on the request, from the engine's own explanation (`Filter::explain`).

use portcullis::{Filter, HttpRequest, Outcome, StepKind};
use serde_json::{Value as J, json};

/// The page shows at most this many rows.
const MAX_ROWS: usize = 200;

/// `[{"depth", "text", "value", "start", "end"}]` in source order, parents
/// before their terms; `value` is null for a part short-circuiting did not
/// evaluate.
pub(crate) fn tree(filter: &Filter, request: &HttpRequest) -> Vec<J> {
    let Ok(e) = filter.explain(request) else {
        return Vec::new();
    };
    // The spans of the rows above this one that contain it.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut out = Vec::new();
    for step in e.steps.iter().filter(|s| s.kind != StepKind::Value) {
        let (start, end) = (step.span.start, step.span.end);
        while open.last().is_some_and(|&(s, e)| !(s <= start && end <= e)) {
            open.pop();
        }
        if out.len() >= MAX_ROWS {
            break;
        }
        let value = match step.outcome {
            Outcome::Truth(b) => json!(b),
            _ => J::Null,
        };
        out.push(json!({
            "depth": open.len(),
            "text": e.source.get(start..end).unwrap_or_default(),
            "value": value,
            "start": start,
            "end": end,
        }));
        open.push((start, end));
    }
    out
}
