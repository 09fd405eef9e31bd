//! Explanations: why a filter decided what it did, off the hot path.
//!
//! [`Filter::explain`] walks the rule's syntax tree, evaluating every
//! sub-expression on its own with the reference evaluator (the oracle the
//! differential tests hold the VM to), and records each one's span and value,
//! which terms short-circuiting left unevaluated, and which sub-expressions
//! decided the result. Nothing here runs when a filter only [`matches`](Filter::matches).

use crate::check;
use crate::context::Request;
use crate::error::Error;
use crate::filter::{Filter, Origin};
use crate::syntax::{self, Arg, Expr, LogicalOp, Rhs, ValueBase};
use crate::types::{Span, Value};
use serde::Serialize;
use std::fmt::{self, Write as _};

/// Why a filter matched or did not: every sub-expression with its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The expression explained.
    pub source: String,
    /// Whether it matched (always what [`Filter::matches`] says).
    pub matched: bool,
    /// Every sub-expression, outermost first, in source order.
    pub steps: Vec<Step>,
}

/// One sub-expression of an explained expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Where it stands in the expression.
    pub span: Span,
    /// What it is.
    pub kind: StepKind,
    /// What it evaluated to.
    pub outcome: Outcome,
    /// On the path that decided the result: the terms that made a chain
    /// true or false, down to the comparisons.
    pub decided: bool,
}

/// What kind of sub-expression a [`Step`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// `and`/`or`/`xor` chain, `not`, or `true`/`false`: a Bool built from others.
    Logic,
    /// A comparison, or a Bool value used as a test: a clause.
    Clause,
    /// A field, index or function value a clause reads.
    Value,
}

/// A sub-expression's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A Bool: the truth of a clause or logic node.
    Truth(bool),
    /// A value; `None` when missing (absent from the request, or a function
    /// that yields missing).
    Value(#[serde(serialize_with = "serialize_value")] Option<Value>),
    /// Not evaluated: short-circuiting decided before it was reached.
    NotEvaluated,
}

impl Filter {
    /// Explains the decision for `request`: each sub-expression's span and
    /// value, and which decided. A separate, slower path (each clause is
    /// checked and evaluated on its own); `matched` always equals
    /// [`Filter::matches`].
    pub fn explain<R: Request + ?Sized>(&self, request: &R) -> Result<Explanation, Error> {
        let origin = self.origin();
        let source = self.source();
        let expr = syntax::parse_with(source, &origin.limits)?;
        let mut walker = Walker {
            origin,
            request,
            steps: Vec::new(),
        };
        let root = walker.node(&expr, true)?;
        let mut steps = walker.steps;
        mark_decided(&mut steps, root);
        let matched = match steps.get(root) {
            Some(Built { outcome, .. }) => *outcome == Outcome::Truth(true),
            None => false,
        };
        Ok(Explanation {
            source: source.to_string(),
            matched,
            steps: steps
                .into_iter()
                .map(|b| Step {
                    span: b.span,
                    kind: b.kind,
                    outcome: b.outcome,
                    decided: b.decided,
                })
                .collect(),
        })
    }
}

/// A step while the tree is walked: with its children, to mark what decided.
struct Built {
    span: Span,
    kind: StepKind,
    outcome: Outcome,
    decided: bool,
    /// The logic node's operator, for deciding which children decided.
    op: Option<Op>,
    children: Vec<usize>,
}

#[derive(Clone, Copy)]
enum Op {
    Chain(LogicalOp),
    Not,
}

struct Walker<'o, 'r, R: ?Sized> {
    origin: &'o Origin,
    request: &'r R,
    steps: Vec<Built>,
}

impl<R: Request + ?Sized> Walker<'_, '_, R> {
    fn push(&mut self, span: Span, kind: StepKind, outcome: Outcome, op: Option<Op>) -> usize {
        self.steps.push(Built {
            span,
            kind,
            outcome,
            decided: false,
            op,
            children: Vec::new(),
        });
        self.steps.len() - 1
    }

    fn truth(&self, at: usize) -> Option<bool> {
        match self.steps.get(at)?.outcome {
            Outcome::Truth(b) => Some(b),
            _ => None,
        }
    }

    /// Records `e` (and, when `evaluate`, its value) and returns its step.
    fn node(&mut self, e: &Expr, evaluate: bool) -> Result<usize, Error> {
        crate::stack::guard(|| self.node_inner(e, evaluate))
    }

    fn node_inner(&mut self, e: &Expr, evaluate: bool) -> Result<usize, Error> {
        let skipped = || Outcome::NotEvaluated;
        match e {
            Expr::Paren { expr, .. } => self.node(expr, evaluate),
            Expr::Const { value, span } => {
                let outcome = if evaluate {
                    Outcome::Truth(*value)
                } else {
                    skipped()
                };
                Ok(self.push(*span, StepKind::Logic, outcome, None))
            }
            Expr::Not { expr, span } => {
                let at = self.push(*span, StepKind::Logic, skipped(), Some(Op::Not));
                let inner = self.node(expr, evaluate)?;
                if let Some(b) = self.truth(inner) {
                    self.steps[at].outcome = Outcome::Truth(!b);
                }
                self.steps[at].children.push(inner);
                Ok(at)
            }
            Expr::Logical { op, terms, span } => {
                let at = self.push(*span, StepKind::Logic, skipped(), Some(Op::Chain(*op)));
                let mut acc = match op {
                    LogicalOp::And => true,
                    LogicalOp::Or | LogicalOp::Xor => false,
                };
                let mut live = evaluate;
                for t in terms {
                    let child = self.node(t, live)?;
                    self.steps[at].children.push(child);
                    let Some(b) = self.truth(child) else { continue };
                    match op {
                        LogicalOp::And => acc &= b,
                        LogicalOp::Or => acc |= b,
                        LogicalOp::Xor => acc ^= b,
                    }
                    // `and` stops at the first false term, `or` at the first true one.
                    live &= match op {
                        LogicalOp::And => b,
                        LogicalOp::Or => !b,
                        LogicalOp::Xor => true,
                    };
                }
                if evaluate {
                    self.steps[at].outcome = Outcome::Truth(acc);
                }
                Ok(at)
            }
            Expr::Compare { lhs, rhs, span, .. } => {
                let at = self.push(*span, StepKind::Clause, skipped(), None);
                self.value(lhs, evaluate)?;
                if let Rhs::Value(v) = rhs {
                    self.value(v, evaluate)?;
                }
                if evaluate {
                    let b = self.clause(e)?;
                    self.steps[at].outcome = Outcome::Truth(b);
                }
                Ok(at)
            }
            Expr::Test { value } => {
                let at = self.push(value.span, StepKind::Clause, skipped(), None);
                self.call_args(value, evaluate)?;
                if evaluate {
                    let b = self.clause(e)?;
                    self.steps[at].outcome = Outcome::Truth(b);
                }
                Ok(at)
            }
        }
    }

    /// The truth of one clause, checked and evaluated on its own.
    fn clause(&self, e: &Expr) -> Result<bool, Error> {
        let mut root = check::Node::Const(false);
        check::check(
            &mut e.clone(),
            &self.origin.schema,
            &self.origin.limits,
            &self.origin.regexes,
            &mut root,
        )?;
        Ok(crate::reference::truth(
            &root,
            self.request,
            &self.origin.lists,
            &self.origin.limits,
        ))
    }

    /// Records a value a clause reads, and the values its call reads.
    fn value(&mut self, v: &syntax::Value, evaluate: bool) -> Result<(), Error> {
        let outcome = if evaluate {
            let op = check::check_value(
                v,
                &self.origin.schema,
                &self.origin.limits,
                &self.origin.regexes,
            )?;
            Outcome::Value(crate::reference::value(
                &op,
                self.request,
                &self.origin.lists,
                &self.origin.limits,
            ))
        } else {
            Outcome::NotEvaluated
        };
        self.push(v.span, StepKind::Value, outcome, None);
        self.call_args(v, evaluate)
    }

    /// Records the values of a call's arguments (what `lower(...)` lowered,
    /// the array `any(...)` tested).
    fn call_args(&mut self, v: &syntax::Value, evaluate: bool) -> Result<(), Error> {
        let ValueBase::Call(call) = &v.base else {
            return Ok(());
        };
        for arg in &call.args {
            match arg {
                Arg::Expr(Expr::Test { value }) => self.value(value, evaluate)?,
                Arg::Expr(Expr::Compare { lhs, .. }) => self.value(lhs, evaluate)?,
                _ => {}
            }
        }
        Ok(())
    }
}

/// Marks the steps that decided `at`'s value: every term of a chain whose
/// value all of them made, else the first term that settled it.
fn mark_decided(steps: &mut [Built], at: usize) {
    let mut todo = vec![at];
    while let Some(at) = todo.pop() {
        let Some(step) = steps.get_mut(at) else {
            continue;
        };
        if step.outcome == Outcome::NotEvaluated {
            continue;
        }
        step.decided = true;
        let result = match step.outcome {
            Outcome::Truth(b) => b,
            _ => continue,
        };
        let children = step.children.clone();
        match step.op {
            Some(Op::Not) | Some(Op::Chain(LogicalOp::Xor)) => todo.extend(children),
            Some(Op::Chain(op)) => {
                // `and` false / `or` true: the first term with that value;
                // otherwise every term.
                let settles = op == LogicalOp::Or;
                let first = children
                    .iter()
                    .copied()
                    .find(|&c| steps.get(c).map(|s| &s.outcome) == Some(&Outcome::Truth(settles)));
                match first {
                    Some(c) if result == settles => todo.push(c),
                    _ => todo.extend(children),
                }
            }
            // A clause decided; the values it read did too.
            None => {
                let span = step.span;
                for s in steps.iter_mut().skip(at + 1) {
                    if s.kind != StepKind::Value || s.span.start >= span.end {
                        break;
                    }
                    s.decided = true;
                }
            }
        }
    }
}

impl Explanation {
    /// The trace for people: the expression, then one line per
    /// sub-expression with carets under it and its value beside them, `◀`
    /// marking what decided.
    pub fn render(&self) -> String {
        let line: String = self
            .source
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut out = String::new();
        let _ = writeln!(out, "{line}");
        for step in &self.steps {
            let start = column(&self.source, step.span.start);
            let end = column(&self.source, step.span.end).max(start + 1);
            let _ = writeln!(
                out,
                "{}{} {}{}",
                " ".repeat(start),
                "^".repeat(end - start),
                step.outcome,
                if step.decided { "  ◀" } else { "" }
            );
        }
        let _ = writeln!(
            out,
            "=> {}",
            if self.matched {
                "matches"
            } else {
                "does not match"
            }
        );
        out
    }

    /// Each clause (comparison or Bool test) with its truth, when evaluated:
    /// what clause coverage counts.
    pub fn clauses(&self) -> impl Iterator<Item = (Span, Option<bool>)> + '_ {
        self.steps
            .iter()
            .filter(|s| s.kind != StepKind::Value)
            .map(|s| match s.outcome {
                Outcome::Truth(b) => (s.span, Some(b)),
                _ => (s.span, None),
            })
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// The display column of byte `at` of `s` (in characters).
fn column(s: &str, at: usize) -> usize {
    s.get(..at.min(s.len()))
        .map_or(at, |prefix| prefix.chars().count())
}

impl fmt::Display for Outcome {
    /// `true`, `"a.example"`, `missing`, `(not evaluated)`; long values cut.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Truth(b) => write!(f, "{b}"),
            Outcome::NotEvaluated => f.write_str("(not evaluated)"),
            Outcome::Value(None) => f.write_str("missing"),
            Outcome::Value(Some(v)) => {
                let mut s = String::new();
                literal(v, &mut s);
                if s.chars().count() > 80 {
                    let cut: String = s.chars().take(77).collect();
                    write!(f, "{cut}…")
                } else {
                    f.write_str(&s)
                }
            }
        }
    }
}

/// `v` as the language would write it (byte strings quoted and escaped).
fn literal(v: &Value, out: &mut String) {
    match v {
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Ip(ip) => {
            let _ = write!(out, "{ip}");
        }
        Value::Bytes(b) => quoted(b, out),
        Value::Array(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                literal(item, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (k, (key, item)) in m.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                quoted(key, out);
                out.push_str(": ");
                literal(item, out);
            }
            out.push('}');
        }
    }
}

fn quoted(b: &[u8], out: &mut String) {
    out.push('"');
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
}

/// A value in JSON: the language's literal as a string (`"\"a\""`, `"10"`),
/// `null` when missing.
fn serialize_value<S: serde::Serializer>(v: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(v) => {
            let mut out = String::new();
            literal(v, &mut out);
            s.serialize_str(&out)
        }
    }
}
