//! `run --requests FILE --summary` and `--shadow CANDIDATE`: a stream of
//! requests evaluated line by line (never loaded whole), counted per rule
//! and action, and compared with a candidate rule set.

use crate::{Fail, Line};
use portcullis::{CompiledRuleSet, RuleSet, Schema, Verdict};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::IsTerminal;

/// How many line numbers a report keeps per group, as examples.
const EXAMPLES: usize = 5;

/// Requests between two progress lines on a terminal's stderr.
const PROGRESS_EVERY: u64 = 1_000_000;

/// What a stream of requests did.
#[derive(Default)]
pub struct Report<'r> {
    requests: u64,
    /// Lines that were not a request: count, first line numbers.
    unreadable: (u64, Vec<u64>),
    /// Matches per rule id (the terminating rule and the logged ones).
    rules: HashMap<&'r str, u64>,
    /// Requests per terminating action (`none` when none fired).
    actions: BTreeMap<&'static str, u64>,
    /// With a shadow set: (live, shadow) decision → count, first lines.
    changes: BTreeMap<(String, String), (u64, Vec<u64>)>,
}

/// A decision in a report: `block by \`id\`` or `none`.
fn decision(v: &Verdict<'_>) -> String {
    match (v.action, v.rule) {
        (Some(a), Some(r)) => format!("{a} by `{r}`"),
        (Some(a), None) => a.to_string(),
        _ => "none".into(),
    }
}

/// Streams `lines` through `live` (and `shadow`), counting.
pub fn run<'r>(
    lines: impl Iterator<Item = Result<Line, Fail>>,
    live: &'r CompiledRuleSet,
    shadow: Option<&CompiledRuleSet>,
    schema: &Schema,
    derive: bool,
) -> Result<Report<'r>, Fail> {
    let mut report = Report::default();
    // Each request builds only what one of the sets reads.
    let mut fields = live.fields().to_vec();
    fields.extend(shadow.iter().flat_map(|s| s.fields()));
    fields.sort_unstable();
    fields.dedup();
    let progress = std::io::stderr().is_terminal();
    for (k, line) in lines.enumerate() {
        let number = k as u64 + 1;
        let text = match line? {
            Ok(t) if t.trim().is_empty() => continue,
            Ok(t) => t,
            Err(_) => {
                report.unreadable(number);
                continue;
            }
        };
        let cx = match serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|json| crate::request(schema, derive, &json, Some(&fields)).ok())
        {
            Some(cx) => cx,
            None => {
                report.unreadable(number);
                continue;
            }
        };
        let verdict = live.evaluate(&*cx);
        report.requests += 1;
        *report
            .actions
            .entry(verdict.action.map_or("none", |a| a.name()))
            .or_default() += 1;
        for id in verdict.rule.iter().chain(&verdict.logged) {
            *report.rules.entry(id).or_default() += 1;
        }
        if let Some(candidate) = shadow {
            let other = candidate.evaluate(&*cx);
            if !verdict.same_decision(&other) {
                let group = report
                    .changes
                    .entry((decision(&verdict), decision(&other)))
                    .or_default();
                group.0 += 1;
                if group.1.len() < EXAMPLES {
                    group.1.push(number);
                }
            }
        }
        if progress && report.requests % PROGRESS_EVERY == 0 {
            eprintln!("portcullis: {} requests…", report.requests);
        }
    }
    Ok(report)
}

impl Report<'_> {
    fn unreadable(&mut self, line: u64) {
        self.unreadable.0 += 1;
        if self.unreadable.1.len() < EXAMPLES {
            self.unreadable.1.push(line);
        }
    }

    /// The report for people: totals per action and per rule of `rules`
    /// (in rule order, each with its share of the requests), then the
    /// shadow's changes, if it ran.
    pub fn render(&self, rules: &RuleSet, summary: bool, shadowed: bool) -> String {
        let mut out = String::new();
        let share = |n: u64| {
            if self.requests == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.requests as f64
            }
        };
        let lines = |v: &[u64], n: u64| {
            let shown: Vec<String> = v.iter().map(u64::to_string).collect();
            let more = if n > v.len() as u64 { ", …" } else { "" };
            format!(
                "line{} {}{more}",
                if n == 1 { "" } else { "s" },
                shown.join(", ")
            )
        };
        let _ = writeln!(out, "{} requests", self.requests);
        if self.unreadable.0 > 0 {
            let _ = writeln!(
                out,
                "{} lines were not requests ({})",
                self.unreadable.0,
                lines(&self.unreadable.1, self.unreadable.0)
            );
        }
        if summary {
            let _ = writeln!(out, "actions:");
            for (action, n) in &self.actions {
                let _ = writeln!(out, "  {action:<20} {n:>10}  {:6.2}%", share(*n));
            }
            let _ = writeln!(out, "rules (requests matched):");
            let width = rules.rules.iter().map(|r| r.id.len()).max().unwrap_or(0) + 12;
            for r in &rules.rules {
                let name = format!(
                    "{} ({})",
                    r.id,
                    if r.enabled {
                        r.action.name()
                    } else {
                        "disabled"
                    }
                );
                let n = self.rules.get(r.id.as_str()).copied().unwrap_or(0);
                let _ = writeln!(out, "  {name:<width$} {n:>10}  {:6.2}%", share(n));
            }
        }
        if shadowed {
            let changed: u64 = self.changes.values().map(|(n, _)| n).sum();
            let _ = writeln!(
                out,
                "shadow: {changed} request{} of {} change verdict ({:.2}%)",
                if changed == 1 { "" } else { "s" },
                self.requests,
                share(changed)
            );
            let mut groups: Vec<_> = self.changes.iter().collect();
            groups.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
            for ((old, new), (n, first)) in groups {
                let _ = writeln!(out, "  {old} -> {new}: {n} ({})", lines(first, *n));
            }
        }
        out
    }
}
