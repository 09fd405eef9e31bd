//! Why a rule set gave its verdict: each rule's fate and trace.
//!
//! [`CompiledRuleSet::explain`] runs the rules in order as
//! [`CompiledRuleSet::evaluate`] does, but explains every rule (not only the
//! index's candidates), so the verdict it reaches is derived independently
//! of the index and the VM; tests hold it equal to `evaluate`'s.

use super::{Action, CompiledRuleSet, Verdict};
use crate::context::Request;
use crate::error::Error;
use crate::explain::Explanation;
use serde::Serialize;
use std::fmt::{self, Write as _};

/// The trace of a whole rule set over one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSetExplanation<'r> {
    /// Every enabled rule, in order.
    pub rules: Vec<RuleTrace<'r>>,
    /// The verdict (always what [`CompiledRuleSet::evaluate`] gives).
    pub verdict: Verdict<'r>,
    /// Why evaluation stopped.
    pub stopped: Stop<'r>,
}

/// One rule's part in a rule set's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleTrace<'r> {
    /// Its id.
    pub id: &'r str,
    /// Its action.
    pub action: Action,
    /// Whether the index named it a candidate (a rule that is not one
    /// cannot match; the trace shows it does not).
    pub candidate: bool,
    /// What became of it.
    pub fate: Fate<'r>,
    /// Its expression's trace (`None` when it was skipped or not reached).
    pub explanation: Option<Explanation>,
}

/// What became of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "fate", content = "by")]
pub enum Fate<'r> {
    /// Its expression matched (and its action was taken).
    Matched,
    /// Its expression did not match.
    NotMatched,
    /// A matching `skip` rule, named here, skipped it.
    Skipped(&'r str),
    /// An earlier terminating rule ended evaluation first.
    NotReached,
}

/// Why a rule set's evaluation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "stop", content = "rule")]
pub enum Stop<'r> {
    /// This terminating rule matched.
    Terminated(&'r str),
    /// Every rule was evaluated or skipped; none terminated.
    End,
}

impl CompiledRuleSet {
    /// Explains the verdict for `request`: which rules were candidates,
    /// matched, were skipped (and by which rule) or not reached, each
    /// rule's trace, and why evaluation stopped. A separate, slower path;
    /// the verdict always equals [`CompiledRuleSet::evaluate`]'s.
    pub fn explain<R: Request + ?Sized>(
        &self,
        request: &R,
    ) -> Result<RuleSetExplanation<'_>, Error> {
        let candidates = self.candidate_bits(request);
        let is_candidate = |k: usize| {
            candidates
                .get(k / 64)
                .is_some_and(|w| w & (1 << (k % 64)) != 0)
        };
        let mut skipped_by: Vec<Option<&str>> = vec![None; self.rules.len()];
        let mut verdict = Verdict::default();
        let mut rules = Vec::new();
        let mut stopped = Stop::End;
        for (k, slot) in self.rules.iter().enumerate() {
            let Some(rule) = slot else { continue };
            let candidate = is_candidate(k);
            let mut trace = RuleTrace {
                id: rule.id(),
                action: rule.action,
                candidate,
                fate: Fate::NotReached,
                explanation: None,
            };
            if stopped != Stop::End {
                rules.push(trace);
                continue;
            }
            if let Some(by) = skipped_by[k] {
                trace.fate = Fate::Skipped(by);
                verdict.skipped.push(rule.id());
                rules.push(trace);
                continue;
            }
            let explanation = rule.filter.explain(request)?;
            let matched = explanation.matched;
            trace.explanation = Some(explanation);
            trace.fate = if matched {
                Fate::Matched
            } else {
                Fate::NotMatched
            };
            rules.push(trace);
            if !matched {
                continue;
            }
            match rule.action {
                Action::Log => verdict.logged.push(rule.id()),
                Action::Skip => {
                    verdict.record_skip(rule);
                    for &t in &rule.skips {
                        if let Some(slot) = skipped_by.get_mut(t).filter(|_| t > k) {
                            slot.get_or_insert(rule.id());
                        }
                    }
                }
                terminal => {
                    verdict.action = Some(terminal);
                    verdict.rule = Some(rule.id());
                    stopped = Stop::Terminated(rule.id());
                }
            }
        }
        Ok(RuleSetExplanation {
            rules,
            verdict,
            stopped,
        })
    }
}

impl RuleSetExplanation<'_> {
    /// The trace for people: a line per rule with its fate, the traces of
    /// the rules that were evaluated beneath it, then the verdict. With
    /// `all` false, the traces of rules that did not match are left out.
    pub fn render(&self, all: bool) -> String {
        let mut out = String::new();
        for r in &self.rules {
            let fate = match r.fate {
                Fate::Matched => "matched".to_string(),
                Fate::NotMatched => "did not match".to_string(),
                Fate::Skipped(by) => format!("skipped by `{by}`"),
                Fate::NotReached => "not reached".to_string(),
            };
            let candidate = if r.candidate {
                ""
            } else {
                " (not a candidate)"
            };
            let _ = writeln!(out, "rule `{}` ({}): {fate}{candidate}", r.id, r.action);
            if let Some(e) = &r.explanation
                && (all || e.matched)
            {
                for line in e.render().lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        let _ = match self.stopped {
            Stop::Terminated(id) => writeln!(out, "stopped: rule `{id}` terminated evaluation"),
            Stop::End => writeln!(out, "stopped: end of the rules, none terminated"),
        };
        let _ = writeln!(out, "verdict: {}", self.verdict);
        out
    }
}

impl fmt::Display for RuleSetExplanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(true))
    }
}
