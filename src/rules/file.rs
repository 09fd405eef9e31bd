//! Rule files as people write them for the public APIs (`LANGUAGE.md` §7):
//! a bare `{"rules": [...]}`, a ruleset object (`name`, `phase`, `rules`…),
//! or an API response (`{"result": {...}}`), in JSON or TOML.
//!
//! Every key is known or an error that suggests the closest known one: a
//! misspelled `enabled` must never leave a rule on. Keys the engine does not
//! act on (`ref`, `version`, `last_updated`, `logging`, and any action
//! parameter) are accepted and kept. Every problem of a file is reported at
//! once, each with its rule's id and the line and column in the file.

use super::{Action, ActionParameters, Rule, RuleSet, RuleSetError};
use crate::error::Error;
use crate::types::Span;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Keys of a bare rules object or a ruleset object.
const SET_KEYS: &[&str] = &[
    "rules",
    "id",
    "name",
    "description",
    "kind",
    "phase",
    "version",
    "last_updated",
    "ref",
];
/// Keys of an API response around a ruleset.
const RESPONSE_KEYS: &[&str] = &["result", "success", "errors", "messages", "result_info"];
/// Keys of a rule the engine acts on.
const RULE_KEYS: &[&str] = &[
    "id",
    "expression",
    "action",
    "description",
    "enabled",
    "action_parameters",
];
/// Keys of a rule the engine accepts and keeps without acting on them.
const KEPT_RULE_KEYS: &[&str] = &["ref", "version", "last_updated", "logging", "categories"];
/// The actions, by name.
const ACTIONS: &[(&str, Action)] = &[
    ("block", Action::Block),
    ("challenge", Action::Challenge),
    ("js_challenge", Action::JsChallenge),
    ("managed_challenge", Action::ManagedChallenge),
    ("allow", Action::Allow),
    ("log", Action::Log),
    ("skip", Action::Skip),
];

/// Where the parts of a file are: the offset of each rule's text and, within
/// it, of each key.
trait Locate {
    /// The byte range of rule `k` in the file.
    fn rule(&self, k: usize) -> Span;
    /// The byte range of key `key` within `rule`, or the rule's own.
    fn key(&self, rule: Span, key: &str) -> Span;
}

/// Collects the problems of one file.
struct Problems<'t> {
    text: &'t str,
    out: RuleSetError,
}

impl<'t> Problems<'t> {
    fn new(text: &'t str) -> Self {
        Problems {
            text,
            out: RuleSetError::default(),
        }
    }

    fn at(&mut self, id: &str, message: String, span: Span) {
        let e = Error::config_at(message, span);
        self.out.push(id.to_string(), e, self.text);
    }

    fn finish(self, set: RuleSet) -> Result<RuleSet, RuleSetError> {
        if self.out.problems.is_empty() {
            Ok(set)
        } else {
            let mut out = self.out;
            out.readable = Some(Box::new(set));
            Err(out)
        }
    }
}

/// The known name closest to `word` (by edit distance), if it is close.
fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (distance(word, k), k))
        .filter(|&(d, k)| d <= 2.max(k.len() / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over bytes.
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn unknown_key(key: &str, known: &[&str], what: &str) -> String {
    match closest(key, known.iter().copied()) {
        Some(k) => format!("unknown key `{key}` in {what}; did you mean `{k}`?"),
        None => format!(
            "unknown key `{key}` in {what}; the keys are {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The rules of a parsed file, whatever its shape: checks the keys around
/// them and returns the rules' values and the set's own id.
fn rules_of<'v>(
    top: &'v Map<String, Value>,
    p: &mut Problems<'_>,
) -> Option<(&'v [Value], Option<&'v str>)> {
    let whole = Span::new(0, p.text.len().min(1));
    let set = if let Some(result) = top.get("result") {
        for key in top.keys().filter(|k| !RESPONSE_KEYS.contains(&k.as_str())) {
            p.at(
                "",
                unknown_key(key, RESPONSE_KEYS, "the API response"),
                whole,
            );
        }
        match result {
            Value::Object(m) => m,
            other => {
                p.at(
                    "",
                    format!(
                        "`result` must be a ruleset object, found {}",
                        kind_of(other)
                    ),
                    whole,
                );
                return None;
            }
        }
    } else {
        top
    };
    for key in set.keys().filter(|k| !SET_KEYS.contains(&k.as_str())) {
        p.at("", unknown_key(key, SET_KEYS, "the rule set"), whole);
    }
    let id = set.get("id").and_then(Value::as_str);
    match set.get("rules") {
        Some(Value::Array(rules)) => Some((rules, id)),
        Some(other) => {
            p.at(
                "",
                format!(
                    "`rules` must be an array of rules, found {}",
                    kind_of(other)
                ),
                whole,
            );
            None
        }
        None => {
            p.at(
                "",
                "a rule set needs `rules`, an array of rules".into(),
                whole,
            );
            None
        }
    }
}

/// Reads every rule, reporting each problem at its place.
fn read_rules(
    rules: &[Value],
    set_id: Option<&str>,
    at: &dyn Locate,
    p: &mut Problems<'_>,
) -> RuleSet {
    let mut out = Vec::with_capacity(rules.len());
    for (k, value) in rules.iter().enumerate() {
        let span = at.rule(k);
        let Value::Object(m) = value else {
            p.at(
                &format!("#{k}"),
                format!("a rule must be an object, found {}", kind_of(value)),
                span,
            );
            continue;
        };
        let id = m
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{k}"), str::to_string);
        let mut bad = |key: &str, message: String| p.at(&id, message, at.key(span, key));
        let string = |key: &str, bad: &mut dyn FnMut(&str, String)| match m.get(key) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                bad(
                    key,
                    format!("`{key}` must be a string, found {}", kind_of(other)),
                );
                None
            }
        };
        let mut extra = Map::new();
        for (key, v) in m {
            if KEPT_RULE_KEYS.contains(&key.as_str()) {
                extra.insert(key.clone(), v.clone());
            } else if !RULE_KEYS.contains(&key.as_str()) {
                let known = RULE_KEYS.iter().chain(KEPT_RULE_KEYS).copied();
                let message = match closest(key, known) {
                    Some(c) => format!("unknown key `{key}` in rule `{id}`; did you mean `{c}`?"),
                    None => unknown_key(key, RULE_KEYS, &format!("rule `{id}`")),
                };
                bad(key, message);
            }
        }
        let rule_id = string("id", &mut bad);
        let expression = string("expression", &mut bad);
        let description = string("description", &mut bad).unwrap_or_default();
        if rule_id.is_none() && !m.contains_key("id") {
            bad("id", "a rule needs an `id`".into());
        }
        if expression.is_none() && !m.contains_key("expression") {
            bad("expression", format!("rule `{id}` needs an `expression`"));
        }
        let action = match m.get("action") {
            None => {
                bad("action", format!("rule `{id}` needs an `action`"));
                None
            }
            Some(Value::String(name)) => match ACTIONS.iter().find(|(n, _)| n == name) {
                Some(&(_, a)) => Some(a),
                None => {
                    let hint = closest(name, ACTIONS.iter().map(|(n, _)| *n))
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_else(|| {
                            format!(
                                "; the actions are {}",
                                ACTIONS
                                    .iter()
                                    .map(|(n, _)| format!("`{n}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        });
                    bad("action", format!("unknown action `{name}`{hint}"));
                    None
                }
            },
            Some(other) => {
                bad(
                    "action",
                    format!("`action` must be a string, found {}", kind_of(other)),
                );
                None
            }
        };
        let enabled = match m.get("enabled") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                bad(
                    "enabled",
                    format!("`enabled` must be true or false, found {}", kind_of(other)),
                );
                true
            }
        };
        let action_parameters = match m.get("action_parameters") {
            None => ActionParameters::default(),
            Some(Value::Object(params)) => parameters(params, set_id, &mut bad),
            Some(other) => {
                bad(
                    "action_parameters",
                    format!(
                        "`action_parameters` must be an object, found {}",
                        kind_of(other)
                    ),
                );
                ActionParameters::default()
            }
        };
        if let (Some(id), Some(expression), Some(action)) = (rule_id, expression, action) {
            out.push(Rule {
                id,
                description,
                expression,
                action,
                action_parameters,
                enabled,
                extra,
            });
        }
    }
    RuleSet { rules: out }
}

/// The parameters of an action: what a skip rule skips (`ruleset`,
/// `rules` as a list of ids or by ruleset id, `phases`, `products`); every
/// other parameter is kept.
fn parameters(
    params: &Map<String, Value>,
    set_id: Option<&str>,
    bad: &mut dyn FnMut(&str, String),
) -> ActionParameters {
    let mut out = ActionParameters::default();
    let strings = |key: &str, v: &Value, bad: &mut dyn FnMut(&str, String)| -> Vec<String> {
        match v {
            Value::Array(items) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            other => {
                bad(
                    key,
                    format!(
                        "`{key}` must be an array of strings, found {}",
                        kind_of(other)
                    ),
                );
                Vec::new()
            }
        }
    };
    for (key, v) in params {
        match key.as_str() {
            "ruleset" => match v.as_str() {
                Some("current") => out.ruleset = Some("current".into()),
                Some(other) if Some(other) == set_id => out.ruleset = Some("current".into()),
                _ => bad(
                    key,
                    format!(
                        "`ruleset` skips the rest of this rule set: it must be \"current\" (or this set's id), found {v}"
                    ),
                ),
            },
            "rules" => match v {
                Value::Object(by_set) => {
                    for (set, ids) in by_set {
                        if set != "current" && Some(set.as_str()) != set_id {
                            bad(
                                key,
                                format!(
                                    "`rules` names rules of ruleset `{set}`, which is not this rule set (its id is {})",
                                    set_id.map_or("not given".to_string(), |s| format!("`{s}`"))
                                ),
                            );
                        }
                        out.rules.extend(strings(key, ids, bad));
                    }
                }
                other => out.rules = strings(key, other, bad),
            },
            "phases" => out.phases = strings(key, v, bad),
            "products" => out.products = strings(key, v, bad),
            _ => {
                out.other.insert(key.clone(), v.clone());
            }
        }
    }
    out
}

/// Locates rules in JSON text: each rule's own bytes (its raw value) and
/// keys by their quoted name within them.
struct JsonPlaces<'t> {
    rules: Vec<Span>,
    text_len: usize,
    text: &'t str,
}

impl Locate for JsonPlaces<'_> {
    fn rule(&self, k: usize) -> Span {
        self.rules
            .get(k)
            .copied()
            .unwrap_or(Span::new(0, self.text_len.min(1)))
    }

    fn key(&self, rule: Span, key: &str) -> Span {
        let body = self.text.get(rule.start..rule.end).unwrap_or_default();
        let quoted = format!("\"{key}\"");
        match body.find(&quoted) {
            Some(at) => Span::new(rule.start + at, rule.start + at + quoted.len()),
            None => Span::new(rule.start, (rule.start + 1).min(rule.end)),
        }
    }
}

/// The byte offset of `inner` in `outer`, when it is a part of it.
fn offset_in(outer: &str, inner: &str) -> Option<usize> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (start + inner.len() <= outer.len()).then_some(start)
}

/// Loads a rule file in JSON.
pub(super) fn from_json(text: &str) -> Result<RuleSet, RuleSetError> {
    let mut p = Problems::new(text);
    let json_error = |p: &mut Problems<'_>, e: serde_json::Error| {
        let lc_offset = offset_of_line_col(text, e.line(), e.column());
        p.at(
            "",
            format!("not valid JSON: {e}"),
            Span::new(lc_offset, (lc_offset + 1).min(text.len())),
        );
    };
    let top: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            json_error(&mut p, e);
            return Err(p.out);
        }
    };
    let Value::Object(top) = top else {
        p.at(
            "",
            format!("a rule set file holds an object, found {}", kind_of(&top)),
            Span::new(0, text.len().min(1)),
        );
        return Err(p.out);
    };
    let Some((rules, set_id)) = rules_of(&top, &mut p) else {
        return Err(p.out);
    };
    // Where each rule is: its raw text within the file.
    let places = raw_rule_spans(text).unwrap_or_default();
    let at = JsonPlaces {
        rules: places,
        text_len: text.len(),
        text,
    };
    let set = read_rules(rules, set_id, &at, &mut p);
    p.finish(set)
}

/// The byte range of each rule of a JSON rule file, found by reading the
/// file again into raw values that borrow from it.
fn raw_rule_spans(text: &str) -> Option<Vec<Span>> {
    let top: BTreeMap<String, &RawValue> = serde_json::from_str(text).ok()?;
    let set: BTreeMap<String, &RawValue> = match top.get("result") {
        Some(result) => serde_json::from_str(result.get()).ok()?,
        None => top,
    };
    let rules: Vec<&RawValue> = serde_json::from_str(set.get("rules")?.get()).ok()?;
    rules
        .iter()
        .map(|r| {
            let start = offset_in(text, r.get())?;
            Some(Span::new(start, start + r.get().len()))
        })
        .collect()
}

/// The byte offset of 1-based `line` and `column` (characters) in `text`.
fn offset_of_line_col(text: &str, line: usize, column: usize) -> usize {
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let rest = text.get(line_start..).unwrap_or_default();
    line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// Locates rules in TOML text: the `[[rules]]` (or `[[result.rules]]`)
/// headers, and keys as `key =` after them.
#[cfg(feature = "toml")]
struct TomlPlaces<'t> {
    headers: Vec<usize>,
    text: &'t str,
}

#[cfg(feature = "toml")]
impl Locate for TomlPlaces<'_> {
    fn rule(&self, k: usize) -> Span {
        let start = self.headers.get(k).copied().unwrap_or(0);
        let end = self.headers.get(k + 1).copied().unwrap_or(self.text.len());
        Span::new(start, end.max(start))
    }

    fn key(&self, rule: Span, key: &str) -> Span {
        let body = self.text.get(rule.start..rule.end).unwrap_or_default();
        let mut from = 0;
        while let Some(at) = body.get(from..).and_then(|b| b.find(key)) {
            let at = from + at;
            let line_start = body[..at].rfind('\n').map_or(0, |n| n + 1);
            let before_blank = body[line_start..at].trim().is_empty();
            let after = body[at + key.len()..].trim_start_matches([' ', '\t', '"']);
            if before_blank && after.starts_with('=') {
                return Span::new(rule.start + at, rule.start + at + key.len());
            }
            from = at + key.len();
        }
        Span::new(rule.start, (rule.start + 1).min(rule.end))
    }
}

/// Loads a rule file in TOML (`[[rules]]` tables, or the same shapes as
/// JSON).
#[cfg(feature = "toml")]
pub(super) fn from_toml(text: &str) -> Result<RuleSet, RuleSetError> {
    let mut p = Problems::new(text);
    let table: toml::Table = match toml::from_str(text) {
        Ok(t) => t,
        Err(e) => {
            let span = e.span().map_or(Span::new(0, text.len().min(1)), |r| {
                Span::new(r.start, r.end.max(r.start + 1).min(text.len().max(1)))
            });
            p.at("", format!("not valid TOML: {}", e.message()), span);
            return Err(p.out);
        }
    };
    let top = match serde_json::to_value(&table) {
        Ok(Value::Object(m)) => m,
        _ => {
            p.at(
                "",
                "a rule set file holds a table".into(),
                Span::new(0, text.len().min(1)),
            );
            return Err(p.out);
        }
    };
    let Some((rules, set_id)) = rules_of(&top, &mut p) else {
        return Err(p.out);
    };
    let headers = text
        .match_indices("[[")
        .filter(|(at, _)| {
            let line_start = text[..*at].rfind('\n').map_or(0, |n| n + 1);
            text[line_start..*at].trim().is_empty()
                && (text[*at..].starts_with("[[rules]]")
                    || text[*at..].starts_with("[[result.rules]]"))
        })
        .map(|(at, _)| at)
        .collect();
    let at = TomlPlaces { headers, text };
    let set = read_rules(rules, set_id, &at, &mut p);
    p.finish(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_names() {
        assert_eq!(
            closest("enabeld", RULE_KEYS.iter().copied()),
            Some("enabled")
        );
        assert_eq!(
            closest("expresion", RULE_KEYS.iter().copied()),
            Some("expression")
        );
        assert_eq!(closest("zzzzzzzz", RULE_KEYS.iter().copied()), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn line_and_column_to_offset() {
        let text = "ab\ncdé\nf";
        assert_eq!(offset_of_line_col(text, 1, 1), 0);
        assert_eq!(offset_of_line_col(text, 2, 3), 5);
        assert_eq!(offset_of_line_col(text, 3, 1), 8);
        assert_eq!(offset_of_line_col(text, 9, 9), text.len());
    }
}
