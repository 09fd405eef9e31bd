//! The data-driven suites: every `tests/cases/*.toml` file is a table of cases.
//!
//! A case is `expr` plus exactly one expectation:
//! - `canonical = "..."`: the expression is valid (parse, check and compile
//!   against the default schema) and prints as this canonical form, which
//!   itself parses back to the same tree;
//! - `error = "fragment"` (with optional `stage` and `span = [start, end]`):
//!   the expression is rejected with a message containing the fragment;
//! - `expect = true|false` (with optional `request` and `lists`, JSON text):
//!   evaluation on the VM and on the reference evaluator both give this.
//!
//! `schema` (JSON text) replaces the default schema for a case.

use portcullis::test_support;
use portcullis::{Compiler, Context, Lists, Schema};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    expr: String,
    canonical: Option<String>,
    error: Option<String>,
    stage: Option<String>,
    span: Option<[usize; 2]>,
    expect: Option<bool>,
    request: Option<String>,
    lists: Option<String>,
    schema: Option<String>,
    #[allow(dead_code)]
    note: Option<String>,
}

fn schema_for(case: &Case, lists: &BTreeMap<String, Vec<serde_json::Value>>) -> Schema {
    let mut schema = match &case.schema {
        Some(json) => Schema::from_json(json).expect("case schema"),
        None => Schema::default_http(),
    };
    for (name, values) in lists {
        if schema.list_type(name).is_none() {
            schema = schema.with_list(name, portcullis::infer_list_type(values));
        }
    }
    schema
}

/// Runs one case; `Err` describes a failure.
fn run(case: &Case) -> Result<(), String> {
    let lists: BTreeMap<String, Vec<serde_json::Value>> = match &case.lists {
        Some(text) => {
            serde_json::from_str(text).map_err(|e| format!("bad lists JSON in case: {e}"))?
        }
        None => BTreeMap::new(),
    };
    let schema = schema_for(case, &lists);
    let store = Lists::for_schema(&schema);
    store.load_map(&lists).map_err(|e| format!("lists: {e}"))?;
    let compiler = Compiler::new(&schema).with_lists(&store);
    let compiled = compiler.check(&case.expr).and_then(|checked| {
        let filter = compiler.compile(&case.expr)?;
        Ok((checked, filter))
    });
    if let Some(fragment) = &case.error {
        let e = match compiled {
            Ok(_) => return Err("accepted, but an error was expected".into()),
            Err(e) => e,
        };
        let msg = e.to_string();
        if !msg.contains(fragment.as_str()) {
            return Err(format!("error `{msg}` does not contain `{fragment}`"));
        }
        if let Some(stage) = &case.stage
            && e.stage().name() != stage
        {
            return Err(format!(
                "stage `{}`, expected `{stage}` ({msg})",
                e.stage().name()
            ));
        }
        if let Some([a, b]) = case.span {
            let span = e.span().ok_or("error has no span")?;
            if (span.start, span.end) != (a, b) {
                return Err(format!(
                    "span {}..{}, expected {a}..{b} ({msg})",
                    span.start, span.end
                ));
            }
        }
        // Every diagnostic renders without panicking.
        let _ = e.render(&case.expr);
        return Ok(());
    }
    let (checked, filter) = compiled.map_err(|e| format!("rejected: {e}"))?;
    let ast = checked.syntax();
    if let Some(canonical) = &case.canonical {
        let printed = ast.to_string();
        if &printed != canonical {
            return Err(format!("printed `{printed}`, expected `{canonical}`"));
        }
        let again = portcullis::parse(&printed)
            .map_err(|e| format!("canonical form does not parse: {e}"))?;
        if !again.same_shape(ast) {
            return Err("canonical form parses to a different tree".into());
        }
    }
    if let Some(expect) = case.expect {
        let request = case.request.as_deref().unwrap_or("{}");
        let cx = Context::from_json(&schema, request).map_err(|e| format!("request: {e}"))?;
        let vm = filter.matches(&cx);
        let oracle = test_support::reference_matches(&checked, &cx, &store);
        if vm != expect || oracle != expect {
            return Err(format!(
                "vm = {vm}, reference = {oracle}, expected {expect}"
            ));
        }
    }
    if case.canonical.is_none() && case.expect.is_none() {
        return Err("case has no expectation (canonical, error or expect)".into());
    }
    Ok(())
}

#[test]
fn every_case_file_passes() {
    let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases"))
        .expect("tests/cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read case file");
        let file: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (k, case) in file.case.iter().enumerate() {
            total += 1;
            if let Err(why) = run(case) {
                failures.push(format!(
                    "{} case {} `{}`: {why}",
                    path.display(),
                    k + 1,
                    case.expr
                ));
            }
        }
    }
    assert!(total >= 1, "no cases found");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{total} cases passed");
}
