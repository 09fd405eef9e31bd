//! `check --rules` and `fmt --rules`: a rule file's every problem at once,
//! and its canonical form.

use crate::{Fail, read};
use portcullis::{Compiler, Limits, RuleSet, RuleSetError, Stage};
use serde_json::{Map, Value};

/// Every problem of the file (reading, then compiling the rules that could
/// be read), each with its rule id, place and caret; `Ok(rule count)` when
/// there is none.
pub fn check(path: &str, compiler: &Compiler<'_>) -> Result<usize, Fail> {
    let text = read(path)?;
    let mut problems = Vec::new();
    let mut code = 1;
    let (set, file_problems) = match RuleSet::load(path, &text) {
        Ok(set) => (Some(set), false),
        Err(e) => {
            problems.extend(file_problems_of(path, &e));
            code = exit_code(&e);
            (e.readable().cloned(), true)
        }
    };
    let count = set.as_ref().map_or(0, |s| s.rules.len());
    if let Some(set) = set
        && let Err(e) = set.compile(compiler)
    {
        for ((id, rendered), error) in e.problems.iter().zip(e.errors()) {
            // With rules missing (they had file problems), a skip naming one
            // is not a problem of its own.
            if file_problems && error.stage() == Stage::Config {
                continue;
            }
            let located =
                rendered.replacen("--> ", &format!("--> {path}: expression of `{id}`, "), 1);
            problems.push(format!("rule `{id}`: {}", located.trim_end()));
        }
    }
    if problems.is_empty() {
        Ok(count)
    } else {
        let n = problems.len();
        problems.push(format!(
            "error: {n} problem{} in `{path}`",
            if n == 1 { "" } else { "s" }
        ));
        Err(Fail(problems.join("\n"), code))
    }
}

/// The exit code of a rule file's problems: 2 when it is not JSON or TOML
/// at all (it cannot be parsed), 1 when it is but holds an invalid rule set.
pub fn exit_code(e: &RuleSetError) -> u8 {
    let unparsable = e.errors().first().is_some_and(|e| {
        e.message().starts_with("not valid JSON") || e.message().starts_with("not valid TOML")
    });
    if unparsable { 2 } else { 1 }
}

/// A file problem, pointing into the file (`--> path:line:column`).
pub fn file_problems_of<'e>(
    path: &'e str,
    e: &'e RuleSetError,
) -> impl Iterator<Item = String> + 'e {
    e.problems.iter().map(move |(id, rendered)| {
        let located = rendered.replacen("--> ", &format!("--> {path}:"), 1);
        if id.is_empty() {
            located.trim_end().to_string()
        } else {
            format!("rule `{id}`: {}", located.trim_end())
        }
    })
}

/// The rule keys in the order the canonical form writes them; other keys
/// (kept public-API keys) follow in the order they were written.
const KEY_ORDER: &[&str] = &[
    "id",
    "description",
    "expression",
    "action",
    "action_parameters",
    "enabled",
];

/// The canonical form of rule file `path`: the same shape and format, each
/// expression in its canonical form, each rule's keys in one order, every
/// other key kept as written.
pub fn canonical(path: &str, text: &str, limits: &Limits) -> Result<String, Fail> {
    let fail = |e: &RuleSetError| {
        Fail(
            file_problems_of(path, e).collect::<Vec<_>>().join("\n"),
            exit_code(e),
        )
    };
    RuleSet::load(path, text).map_err(|e| fail(&e))?;
    if path.ends_with(".toml") {
        return canonical_toml(path, text, limits);
    }
    let mut top: Value = serde_json::from_str(text).unwrap_or_default();
    let set = match top.get_mut("result") {
        Some(result) => result,
        None => &mut top,
    };
    if let Some(Value::Array(rules)) = set.get_mut("rules") {
        for rule in rules {
            if let Value::Object(m) = rule {
                canonical_rule(m, limits)?;
            }
        }
    }
    let mut out =
        serde_json::to_string_pretty(&top).map_err(|e| Fail(format!("error: `{path}`: {e}"), 1))?;
    out.push('\n');
    Ok(out)
}

/// A TOML rule file in canonical form, its comments and layout kept.
fn canonical_toml(path: &str, text: &str, limits: &Limits) -> Result<String, Fail> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Fail(format!("error: `{path}`: {e}"), 1))?;
    let root = doc.as_table_mut();
    let set = match root.get_mut("result").and_then(|r| r.as_table_mut()) {
        Some(result) => result,
        None => root,
    };
    let order = |k: &toml_edit::Key| {
        KEY_ORDER
            .iter()
            .position(|o| *o == k.get())
            .unwrap_or(KEY_ORDER.len())
    };
    if let Some(rules) = set
        .get_mut("rules")
        .and_then(|r| r.as_array_of_tables_mut())
    {
        for rule in rules.iter_mut() {
            if let Some(e) = rule.get("expression").and_then(|e| e.as_str()) {
                let id = rule.get("id").and_then(|i| i.as_str()).unwrap_or_default();
                let canonical = canonical_expression(id, e, limits)?;
                if canonical != e {
                    rule["expression"] = toml_edit::value(canonical);
                }
            }
            rule.sort_values_by(|a, _, b, _| order(a).cmp(&order(b)));
        }
    }
    Ok(doc.to_string())
}

fn canonical_expression(id: &str, e: &str, limits: &Limits) -> Result<String, Fail> {
    portcullis::parse_with(e, limits)
        .map(|ast| ast.to_string())
        .map_err(|err| Fail(format!("rule `{id}`: {}", err.render(e).trim_end()), 1))
}

fn canonical_rule(m: &mut Map<String, Value>, limits: &Limits) -> Result<(), Fail> {
    if let Some(Value::String(e)) = m.get("expression") {
        let id = m.get("id").and_then(Value::as_str).unwrap_or_default();
        let canonical = canonical_expression(id, e, limits)?;
        m.insert("expression".into(), Value::String(canonical));
    }
    let mut ordered = Map::new();
    for key in KEY_ORDER {
        if let Some(v) = m.remove(*key) {
            ordered.insert((*key).to_string(), v);
        }
    }
    ordered.append(m);
    *m = ordered;
    Ok(())
}
