//! `portcullis test RULES TESTS`: rule unit tests, with coverage.
//!
//! A test file (TOML) holds named cases, each a request (as the request
//! JSON: raw parts or fields), optional lists, and the verdict expected:
//!
//! ```toml
//! [lists]                      # optional, for every case
//! office = ["192.0.2.0/24"]
//!
//! [[case]]
//! name = "no certificate is blocked"
//! request = { uri = "/v1", headers = { Host = "api.example.com" } }
//! lists = { office = [] }      # optional, replaces those lists for this case
//! expect = { action = "block", rule = "mtls-required", logged = ["log-api"] }
//! ```
//!
//! `action` is an action name or `"none"`; `rule`, `logged` and `skipped`
//! are checked when given.

use crate::{Fail, read};
use portcullis::{CompiledRuleSet, Lists, RuleSet, Schema, Verdict};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const FILE_KEYS: &[&str] = &["lists", "case"];
const CASE_KEYS: &[&str] = &["name", "request", "lists", "expect"];
const EXPECT_KEYS: &[&str] = &["action", "rule", "logged", "skipped"];

type ListMap = BTreeMap<String, Vec<Value>>;

/// One case of a test file.
pub struct Case {
    name: String,
    request: Value,
    lists: Option<ListMap>,
    expect: Expect,
}

/// What a case expects; `None` parts are not checked.
struct Expect {
    /// `Some(None)`: no terminating rule fires.
    action: Option<Option<String>>,
    rule: Option<String>,
    logged: Option<Vec<String>>,
    skipped: Option<Vec<String>>,
}

/// A test file: lists for every case, and the cases.
pub struct Suite {
    pub lists: ListMap,
    pub cases: Vec<Case>,
}

impl Suite {
    /// Every list a case or the file names, with the file's contents (for
    /// declaring them before the rules compile).
    pub fn all_lists(&self) -> ListMap {
        let mut all = self.lists.clone();
        for case in &self.cases {
            for (name, items) in case.lists.iter().flatten() {
                let slot = all.entry(name.clone()).or_default();
                if slot.is_empty() {
                    slot.clone_from(items);
                }
            }
        }
        all
    }
}

/// Reads test file `path`; every problem reported at once, each with its case.
pub fn load(path: &str) -> Result<Suite, Fail> {
    let text = read(path)?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let at = e.span().map_or(String::new(), |r| {
            let lc = portcullis::line_col(&text, r.start);
            format!(":{}:{}", lc.line, lc.column)
        });
        Fail(
            format!("error: `{path}`{at}: not valid TOML: {}", e.message()),
            2,
        )
    })?;
    let top = serde_json::to_value(table).unwrap_or_default();
    // Where each case starts, for messages.
    let headers: Vec<usize> = text.match_indices("[[case]]").map(|(at, _)| at).collect();
    let mut problems = Vec::new();
    let mut at = |case: Option<usize>, message: String| {
        let place = match case.and_then(|k| headers.get(k)) {
            Some(&offset) => {
                let lc = portcullis::line_col(&text, offset);
                format!("{path}:{}:{}", lc.line, lc.column)
            }
            None => path.to_string(),
        };
        problems.push(format!("error: {place}: {message}"));
    };
    let mut suite = Suite {
        lists: ListMap::new(),
        cases: Vec::new(),
    };
    let Some(top) = top.as_object() else {
        return Err(Fail(
            format!("error: `{path}`: a test file holds a table"),
            1,
        ));
    };
    unknown_keys(top, FILE_KEYS, "the test file", &mut |m| at(None, m));
    if let Some(l) = top.get("lists") {
        match lists_of(l) {
            Ok(l) => suite.lists = l,
            Err(m) => at(None, m),
        }
    }
    let cases = match top.get("case") {
        Some(Value::Array(cases)) => cases.as_slice(),
        _ => {
            at(None, "a test file needs cases: `[[case]]` tables".into());
            &[]
        }
    };
    for (k, case) in cases.iter().enumerate() {
        let Some(m) = case.as_object() else {
            at(Some(k), "a case must be a table".into());
            continue;
        };
        let name = m
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("case #{}", k + 1), str::to_string);
        let mut bad = |message: String| at(Some(k), format!("case `{name}`: {message}"));
        unknown_keys(m, CASE_KEYS, "a case", &mut bad);
        if !m.get("name").is_some_and(Value::is_string) {
            bad("a case needs a `name` (a string)".into());
        }
        let request = match m.get("request") {
            Some(r @ Value::Object(_)) => r.clone(),
            _ => {
                bad(
                    "a case needs a `request` table (the request JSON: raw parts or fields)".into(),
                );
                continue;
            }
        };
        let lists = match m.get("lists").map(lists_of) {
            None => None,
            Some(Ok(l)) => Some(l),
            Some(Err(message)) => {
                bad(message);
                None
            }
        };
        let Some(Value::Object(e)) = m.get("expect") else {
            bad("a case needs an `expect` table: `{ action = \"block\", rule = \"...\" }`".into());
            continue;
        };
        unknown_keys(e, EXPECT_KEYS, "`expect`", &mut bad);
        let strings = |key: &str, bad: &mut dyn FnMut(String)| match e.get(key) {
            None => None,
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            ),
            Some(_) => {
                bad(format!("`expect.{key}` must be an array of rule ids"));
                None
            }
        };
        let action = match e.get("action") {
            None => None,
            Some(Value::String(a)) if a == "none" => Some(None),
            Some(Value::String(a)) if is_action(a) => Some(Some(a.clone())),
            Some(other) => {
                bad(format!(
                    "`expect.action` must be an action name or \"none\", found {other}"
                ));
                None
            }
        };
        let rule = match e.get("rule") {
            None => None,
            Some(Value::String(r)) => Some(r.clone()),
            Some(_) => {
                bad("`expect.rule` must be a rule id".into());
                None
            }
        };
        let expect = Expect {
            action,
            rule,
            logged: strings("logged", &mut bad),
            skipped: strings("skipped", &mut bad),
        };
        if expect.action.is_none()
            && expect.rule.is_none()
            && expect.logged.is_none()
            && expect.skipped.is_none()
        {
            bad("`expect` checks nothing: give `action`, `rule`, `logged` or `skipped`".into());
        }
        suite.cases.push(Case {
            name,
            request,
            lists,
            expect,
        });
    }
    if problems.is_empty() {
        Ok(suite)
    } else {
        Err(Fail(problems.join("\n"), 1))
    }
}

fn is_action(name: &str) -> bool {
    serde_json::from_value::<portcullis::Action>(Value::String(name.into())).is_ok()
}

fn lists_of(v: &Value) -> Result<ListMap, String> {
    serde_json::from_value(v.clone())
        .map_err(|e| format!("`lists` must be a table of arrays (`name = [values...]`): {e}"))
}

fn unknown_keys(m: &Map<String, Value>, known: &[&str], what: &str, bad: &mut dyn FnMut(String)) {
    for key in m.keys().filter(|k| !known.contains(&k.as_str())) {
        let known: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
        bad(format!(
            "unknown key `{key}` in {what}, which takes {}",
            known.join(", ")
        ));
    }
}

/// The outcome of one case.
struct Outcome {
    name: String,
    /// What differs, one line each (empty: the case passed).
    diff: Vec<String>,
    got: Value,
}

/// Clause coverage: per rule, whether some case matched it and some did
/// not; per clause (by its span), whether it was seen true and false.
#[derive(Default)]
struct Coverage {
    /// Rule id → (matched in some case, did not match in some case, clause
    /// span → (seen true, seen false)).
    rules: BTreeMap<String, RuleCoverage>,
}

#[derive(Default)]
struct RuleCoverage {
    matched: bool,
    missed: bool,
    clauses: BTreeMap<(usize, usize), (bool, bool)>,
}

/// The rule set under test, and how to build its requests.
pub struct Subject<'a> {
    pub rules: &'a RuleSet,
    pub compiled: &'a CompiledRuleSet,
    /// The lists the set reads (each case loads its own).
    pub store: &'a Lists,
    pub schema: &'a Schema,
    /// Requests derived from raw parts (the built-in catalogue).
    pub derive: bool,
}

/// Runs every case; prints the report (people or `--json`), with coverage
/// when asked; `Ok(true)` when every case passed.
pub fn run(
    suite: &Suite,
    subject: &Subject<'_>,
    json_out: bool,
    coverage: bool,
) -> Result<bool, Fail> {
    let Subject {
        rules,
        compiled,
        store,
        schema,
        derive,
    } = *subject;
    let mut outcomes = Vec::new();
    let mut cov = Coverage::default();
    for rule in rules.rules.iter().filter(|r| r.enabled) {
        cov.rules.entry(rule.id.clone()).or_default();
    }
    let declared = suite.all_lists();
    for case in &suite.cases {
        // Every list: the case's, else the file's, else empty.
        let mut lists: ListMap = declared.keys().map(|k| (k.clone(), Vec::new())).collect();
        lists.extend(suite.lists.clone());
        lists.extend(case.lists.clone().unwrap_or_default());
        if let Err(e) = store.load_map(&lists) {
            outcomes.push(Outcome {
                name: case.name.clone(),
                diff: vec![format!("lists: {}", e.message())],
                got: json!(null),
            });
            continue;
        }
        let cx = match crate::request(schema, derive, &case.request, None) {
            Ok(cx) => cx,
            Err(e) => {
                outcomes.push(Outcome {
                    name: case.name.clone(),
                    diff: vec![format!("request: {}", e.message())],
                    got: json!(null),
                });
                continue;
            }
        };
        let verdict = compiled.evaluate(&*cx);
        if coverage {
            let explained = compiled
                .explain(&*cx)
                .map_err(|e| Fail(format!("error: explaining case `{}`: {e}", case.name), 1))?;
            for trace in &explained.rules {
                let Some(e) = &trace.explanation else {
                    continue;
                };
                let r = cov.rules.entry(trace.id.to_string()).or_default();
                if e.matched {
                    r.matched = true;
                } else {
                    r.missed = true;
                }
                for (span, truth) in e.clauses() {
                    let seen = r.clauses.entry((span.start, span.end)).or_default();
                    match truth {
                        Some(true) => seen.0 = true,
                        Some(false) => seen.1 = true,
                        None => {}
                    }
                }
            }
        }
        outcomes.push(Outcome {
            name: case.name.clone(),
            diff: diff(&case.expect, &verdict),
            got: verdict.to_json(),
        });
    }
    let failed = outcomes.iter().filter(|o| !o.diff.is_empty()).count();
    if json_out {
        let mut report = json!({
            "cases": outcomes.iter().map(|o| json!({
                "name": o.name,
                "passed": o.diff.is_empty(),
                "diff": o.diff,
                "got": o.got,
            })).collect::<Vec<_>>(),
            "passed": outcomes.len() - failed,
            "failed": failed,
        });
        if coverage {
            report["coverage"] = coverage_json(&cov, rules);
        }
        println!("{report}");
    } else {
        let mut out = String::new();
        for o in &outcomes {
            if o.diff.is_empty() {
                let _ = writeln!(out, "ok     {}", o.name);
            } else {
                let _ = writeln!(out, "FAILED {}", o.name);
                for line in &o.diff {
                    let _ = writeln!(out, "       {line}");
                }
            }
        }
        let _ = writeln!(
            out,
            "{} case{}: {} passed, {failed} failed",
            outcomes.len(),
            if outcomes.len() == 1 { "" } else { "s" },
            outcomes.len() - failed
        );
        if coverage {
            out.push_str(&coverage_table(&cov, rules));
        }
        print!("{out}");
    }
    Ok(failed == 0)
}

/// What differs between the expectation and the verdict, one line each.
fn diff(expect: &Expect, got: &Verdict<'_>) -> Vec<String> {
    let mut d = Vec::new();
    let action = got.action.map(|a| a.name().to_string());
    if let Some(want) = &expect.action
        && *want != action
    {
        d.push(format!(
            "action: expected {}, got {}",
            want.as_deref().unwrap_or("none"),
            action.as_deref().unwrap_or("none")
        ));
    }
    if let Some(want) = &expect.rule
        && Some(want.as_str()) != got.rule
    {
        d.push(format!(
            "rule: expected `{want}`, got {}",
            got.rule.map_or("none".to_string(), |r| format!("`{r}`"))
        ));
    }
    for (what, want, got) in [
        ("logged", &expect.logged, &got.logged),
        ("skipped", &expect.skipped, &got.skipped),
    ] {
        if let Some(want) = want
            && want.iter().map(String::as_str).ne(got.iter().copied())
        {
            d.push(format!("{what}: expected {want:?}, got {got:?}"));
        }
    }
    d
}

fn clause_text<'a>(rules: &'a RuleSet, id: &str, span: (usize, usize)) -> (&'a str, String) {
    let source = rules
        .rules
        .iter()
        .find(|r| r.id == id)
        .map_or("", |r| r.expression.as_str());
    let text = source.get(span.0..span.1).unwrap_or_default();
    let lc = portcullis::line_col(source, span.0);
    (text, format!("{}:{}", lc.line, lc.column))
}

fn coverage_json(cov: &Coverage, rules: &RuleSet) -> Value {
    let per_rule: Vec<Value> = cov
        .rules
        .iter()
        .map(|(id, r)| {
            json!({
                "rule": id,
                "matched": r.matched,
                "not_matched": r.missed,
                "clauses": r.clauses.iter().map(|(&span, &(t, f))| {
                    let (text, at) = clause_text(rules, id, span);
                    json!({"span": [span.0, span.1], "at": at, "text": text, "seen_true": t, "seen_false": f})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let uncovered: Vec<&String> = cov
        .rules
        .iter()
        .filter(|(_, r)| !(r.matched && r.missed))
        .map(|(id, _)| id)
        .collect();
    json!({"rules": per_rule, "uncovered_rules": uncovered})
}

fn coverage_table(cov: &Coverage, rules: &RuleSet) -> String {
    let mut out = String::from("\ncoverage\n");
    let width = cov.rules.keys().map(String::len).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "  {:width$}  matched  not matched  clauses true and false",
        "rule"
    );
    let (mut full_rules, mut full_clauses, mut all_clauses) = (0, 0, 0);
    let mut missing = Vec::new();
    for (id, r) in &cov.rules {
        let both = r.clauses.values().filter(|(t, f)| *t && *f).count();
        full_clauses += both;
        all_clauses += r.clauses.len();
        if r.matched && r.missed {
            full_rules += 1;
        }
        let yes = |b: bool| if b { "yes" } else { "NO" };
        let _ = writeln!(
            out,
            "  {id:width$}  {:7}  {:11}  {both}/{}",
            yes(r.matched),
            yes(r.missed),
            r.clauses.len()
        );
        for (&span, &(t, f)) in &r.clauses {
            if !(t && f) {
                let (text, at) = clause_text(rules, id, span);
                let never = match (t, f) {
                    (false, false) => "never evaluated",
                    (true, false) => "never false",
                    _ => "never true",
                };
                missing.push(format!("  {id} {at} `{text}`: {never}"));
            }
        }
    }
    let _ = writeln!(
        out,
        "  {full_rules} of {} rules both matched and did not match; {full_clauses} of {all_clauses} clauses seen true and false",
        cov.rules.len()
    );
    let uncovered: Vec<&str> = cov
        .rules
        .iter()
        .filter(|(_, r)| !(r.matched && r.missed))
        .map(|(id, _)| id.as_str())
        .collect();
    if !uncovered.is_empty() {
        let _ = writeln!(out, "uncovered rules: {}", uncovered.join(", "));
    }
    if !missing.is_empty() {
        let _ = writeln!(out, "uncovered clauses:");
        for m in missing {
            let _ = writeln!(out, "{m}");
        }
    }
    out
}
