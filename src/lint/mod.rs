//! Lints: rules that type-check and compile but do not do what their author
//! meant (`docs/rules.md`, "Lints"). Each [`Lint`] has a stable id (one of
//! [`LINTS`]), a message naming the fix, the span of the rule's expression
//! it is about, and, when there is one, the text to put there instead.
//!
//! Expression lints read the syntax tree (`expr.rs`); "can never fire" reads
//! the checked, optimized tree through one implication decider over
//! conjunctions of field tests (`decide.rs`), which answers only when it is
//! sure. Only enabled rules that compile are linted: a rule that does not
//! compile is [`RuleSet::compile`]'s to report.

mod decide;
mod expr;

use crate::error::{Error, render_span};
use crate::filter::Compiler;
use crate::rules::{Action, Rule, RuleSet};
use crate::syntax::Expr;
use crate::types::Span;
use decide::Dnf;
use serde::Serialize;

/// The stable lint ids.
pub(crate) mod ids {
    pub const MTLS: &str = "mtls-revoked-passes";
    pub const HEX: &str = "hex-literal-form";
    pub const CASE: &str = "case-never-matches";
    pub const NEVER: &str = "never-matches";
    pub const ALWAYS: &str = "always-matches";
    pub const SHADOWED: &str = "shadowed-rule";
    pub const UNREACHABLE: &str = "unreachable-rule";
    pub const DUPLICATE: &str = "duplicate-set-element";
    pub const EMPTY_SET: &str = "empty-set";
    pub const REGEX_LITERAL: &str = "regex-is-literal";
    pub const SKIP_EARLIER: &str = "skip-names-earlier-rule";
}

/// Every lint: its id and what it catches.
pub const LINTS: &[(&str, &str)] = &[
    (
        ids::MTLS,
        "a rule stops unverified client certificates (or allows verified ones) without testing cert_revoked: revoked certificates are reported as verified",
    ),
    (
        ids::HEX,
        "a certificate hex field compared with a literal in the wrong case, with separators, or as raw bytes: it can never match",
    ),
    (
        ids::CASE,
        "a lower-cased field (http.host, the path extension, header names) or lower(...) compared with upper-case text, or upper(...) with lower-case text: it can never match",
    ),
    (
        ids::NEVER,
        "an expression that is always false (constants, or tests on one field that contradict): the rule can never fire",
    ),
    (
        ids::ALWAYS,
        "an expression that folds to true: the rule matches every request",
    ),
    (
        ids::SHADOWED,
        "every request a rule matches is matched first by an earlier terminating rule: it can never fire",
    ),
    (
        ids::UNREACHABLE,
        "a rule after an unconditional terminating rule: it is never evaluated",
    ),
    (ids::DUPLICATE, "an element written twice in a set"),
    (ids::EMPTY_SET, "`in {}`: always false"),
    (
        ids::REGEX_LITERAL,
        "a regex that is a plain literal or prefix: contains, starts_with, ends_with or == says the same",
    ),
    (
        ids::SKIP_EARLIER,
        "a skip rule naming a rule before it (or itself): that rule has already run, so skipping it does nothing",
    ),
];

/// One warning about a rule (or an expression).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lint {
    /// The stable id (one of [`LINTS`]), e.g. `mtls-revoked-passes`.
    pub id: &'static str,
    /// The id of the rule it is about (`None` for [`lint_expression`]).
    pub rule: Option<String>,
    /// What is wrong, and the fix.
    pub message: String,
    /// The bytes of the rule's expression it points at (the whole
    /// expression for a lint about the rule as a whole).
    pub span: Span,
    /// The text to replace [`span`](Lint::span) with, when there is one
    /// (`""`: remove it).
    pub suggestion: Option<String>,
}

impl Lint {
    fn new(id: &'static str, span: Span, message: String, suggestion: Option<String>) -> Self {
        Lint {
            id,
            rule: None,
            message,
            span,
            suggestion,
        }
    }

    /// Renders the lint for a person, as [`Error::render`] does an error:
    /// the message, `line:column`, the line of `source` (the rule's
    /// expression) with a caret line under the span, and the suggestion.
    pub fn render(&self, source: &str) -> String {
        let mut out = match &self.rule {
            Some(rule) => format!("warning[{}]: rule `{rule}`: {}\n", self.id, self.message),
            None => format!("warning[{}]: {}\n", self.id, self.message),
        };
        out.push_str(&render_span(source, self.span));
        match self.suggestion.as_deref() {
            Some("") => out.push_str("  = help: remove it\n"),
            Some(fix) => out.push_str(&format!("  = help: replace with `{fix}`\n")),
            None => {}
        }
        out
    }
}

/// What the rule-set lints need of one rule that compiles.
struct Prepared {
    dnf: Dnf,
    /// The expression folds to this constant.
    constant: Option<bool>,
}

/// The lints of one expression that compiles, and what the rule-set lints
/// need of it.
fn lint_one(
    text: &str,
    compiler: &Compiler<'_>,
    action: Option<Action>,
) -> Result<(Vec<Lint>, Prepared), Error> {
    let checked = compiler.check(text)?;
    // Regex sizes and other limits are checked only when compiling.
    compiler.compile(text)?;
    let syntax = checked.syntax();
    let mut out = expr::lint(syntax, text, compiler.schema(), action);
    let mut root = checked.typed.root.clone();
    crate::compile::optimize::optimize_in_place(&mut root);
    let constant = match root {
        crate::check::Node::Const(b) => Some(b),
        _ => None,
    };
    let dnf = Dnf::of(&root);
    let whole = syntax.span();
    if constant == Some(false) {
        out.push(Lint::new(
            ids::NEVER,
            whole,
            "this expression is always false once its constants are folded: the rule can never fire; fix it, or disable the rule (`enabled = false`)".into(),
            None,
        ));
    } else if constant == Some(true) {
        if !is_true_literal(syntax) {
            out.push(Lint::new(
                ids::ALWAYS,
                whole,
                "this expression is always true once its constants are folded: the rule matches every request; if that is meant, write `true`, else fix the test that makes it so".into(),
                Some("true".into()),
            ));
        }
    } else if dnf.never() {
        out.push(Lint::new(
            ids::NEVER,
            whole,
            "no request passes every test of this expression (tests of one field contradict each other): the rule can never fire; fix the tests or remove the rule".into(),
            None,
        ));
    }
    Ok((out, Prepared { dnf, constant }))
}

/// `true`, in parentheses or not.
fn is_true_literal(mut e: &Expr) -> bool {
    while let Expr::Paren { expr, .. } = e {
        e = expr;
    }
    matches!(e, Expr::Const { value: true, .. })
}

/// The lints of expression `text` on its own (read as a blocking filter),
/// or the error that stops it from compiling.
///
/// ```
/// use portcullis::{Compiler, Schema};
///
/// let schema = Schema::default_http();
/// let compiler = Compiler::new(&schema);
/// let text = r#"http.host == "api.example.com" and not cf.tls_client_auth.cert_verified"#;
/// let lints = portcullis::lint_expression(text, &compiler).unwrap();
/// assert_eq!(lints[0].id, "mtls-revoked-passes");
/// assert_eq!(&text[lints[0].span.start..lints[0].span.end], "not cf.tls_client_auth.cert_verified");
/// assert_eq!(
///     lints[0].suggestion.as_deref(),
///     Some("(not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked)")
/// );
/// assert!(lints[0].render(text).contains("^^^"));
/// ```
pub fn lint_expression(text: &str, compiler: &Compiler<'_>) -> Result<Vec<Lint>, Error> {
    let (mut out, _) = lint_one(text, compiler, None)?;
    sort(&mut out);
    Ok(out)
}

fn sort(lints: &mut [Lint]) {
    lints.sort_by(|a, b| (a.span.start, a.id).cmp(&(b.span.start, b.id)));
}

/// The lints of every enabled rule of `set` that compiles, in rule order:
/// each rule's expression lints, then those about its place in the set
/// (shadowed by an earlier rule, after an unconditional one, skipping
/// earlier rules). Disabled rules, and rules that do not compile, are
/// neither linted nor taken into account.
pub fn lint(set: &RuleSet, compiler: &Compiler<'_>) -> Vec<Lint> {
    let rules = &set.rules;
    // Which rules an enabled skip rule before them may skip: such a rule
    // does not always end evaluation when it matches.
    let mut skippable = vec![false; rules.len()];
    for (s, r) in rules.iter().enumerate() {
        if !r.enabled || r.action != Action::Skip {
            continue;
        }
        let params = &r.action_parameters;
        for (k, later) in rules.iter().enumerate().skip(s + 1) {
            if params.ruleset.is_some() || params.rules.contains(&later.id) {
                skippable[k] = true;
            }
        }
    }
    let prepared: Vec<Option<(Vec<Lint>, Prepared)>> = rules
        .iter()
        .map(|r| {
            r.enabled
                .then(|| lint_one(&r.expression, compiler, Some(r.action)).ok())
                .flatten()
        })
        .collect();
    // Rules that end evaluation whenever they match.
    let ends = |j: usize| rules[j].action.terminates() && !skippable[j];
    let mut out = Vec::new();
    let mut unconditional: Option<usize> = None;
    for (k, r) in rules.iter().enumerate() {
        let Some((lints, this)) = &prepared[k] else {
            continue;
        };
        let mut lints = lints.clone();
        if lints.iter().any(|l| l.id == ids::MTLS)
            && revoked_caught(rules, &prepared, &skippable, k, compiler)
        {
            lints.retain(|l| l.id != ids::MTLS);
        }
        let whole = Span::new(0, r.expression.len());
        if let Some(u) = unconditional {
            let first = &rules[u];
            lints.push(Lint::new(
                ids::UNREACHABLE,
                whole,
                format!(
                    "rule `{}` ({}) matches every request and comes first: this rule is never evaluated; move it before `{}` or remove it",
                    first.id, first.action, first.id
                ),
                None,
            ));
        } else if this.constant.is_none() && !this.dnf.never() {
            let shadow = (0..k).find(|&j| {
                ends(j)
                    && prepared[j]
                        .as_ref()
                        .is_some_and(|(_, e)| this.dnf.implies(&e.dnf))
            });
            if let Some(j) = shadow {
                let first = &rules[j];
                lints.push(Lint::new(
                    ids::SHADOWED,
                    whole,
                    format!(
                        "every request this rule matches is matched first by rule `{}`, whose `{}` ends evaluation: this rule can never fire; move it before `{}`, narrow `{}`, or remove it",
                        first.id, first.action, first.id, first.id
                    ),
                    None,
                ));
            }
        }
        if r.action == Action::Skip {
            skip_earlier(rules, k, whole, &mut lints);
        }
        if ends(k) && this.constant == Some(true) && unconditional.is_none() {
            unconditional = Some(k);
        }
        sort(&mut lints);
        for mut l in lints {
            l.rule = Some(r.id.clone());
            out.push(l);
        }
    }
    out
}

/// Whether the set stops, by another rule, every revoked certificate that
/// rule `k`'s mTLS trap lets through: a blocking rule that ends
/// evaluation and matches them all, before rule `k` (or, for a blocking
/// rule `k`, after it with no `allow` in between).
fn revoked_caught(
    rules: &[Rule],
    prepared: &[Option<(Vec<Lint>, Prepared)>],
    skippable: &[bool],
    k: usize,
    compiler: &Compiler<'_>,
) -> bool {
    let schema = compiler.schema();
    let (Some(verified), Some(revoked)) = (
        schema.field_id(expr::VERIFIED),
        schema.field_id(expr::REVOKED),
    ) else {
        return false;
    };
    let Some((_, this)) = &prepared[k] else {
        return false;
    };
    let blocking = rules[k].action != Action::Allow;
    let through = this.dnf.revoked_through(verified, revoked, blocking);
    if through.is_empty() {
        return false;
    }
    let blocks = |j: usize| {
        rules[j].action.terminates() && rules[j].action != Action::Allow && !skippable[j]
    };
    let catches = |j: usize| {
        blocks(j)
            && prepared[j]
                .as_ref()
                .is_some_and(|(_, b)| through.implies(&b.dnf))
    };
    if (0..k).any(catches) {
        return true;
    }
    if !blocking {
        return false;
    }
    for (j, r) in rules.iter().enumerate().skip(k + 1) {
        if r.enabled && r.action == Action::Allow {
            return false;
        }
        if catches(j) {
            return true;
        }
    }
    false
}

/// A skip rule naming rules at or before its own place.
fn skip_earlier(rules: &[Rule], k: usize, whole: Span, out: &mut Vec<Lint>) {
    let here = &rules[k];
    for target in &here.action_parameters.rules {
        let Some(j) = rules.iter().position(|r| &r.id == target) else {
            continue;
        };
        if j > k {
            continue;
        }
        let message = if j == k {
            format!(
                "this skip rule names itself: it has already run when it matches, so skipping `{target}` does nothing; remove `{target}` from its `rules`"
            )
        } else {
            format!(
                "rule `{target}` comes before this skip rule, so it has already run when this one matches: skipping it does nothing; move this rule before `{target}` or remove `{target}` from its `rules`"
            )
        };
        out.push(Lint::new(ids::SKIP_EARLIER, whole, message, None));
    }
}
