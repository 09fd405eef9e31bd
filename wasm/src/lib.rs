//! portcullis in the browser: the engine behind the playground
//! (`playground/`), bound with `wasm-bindgen`.
//!
//! A [`Playground`] holds what a person typed, compiled: lists, a rule (or a
//! rule set) and a request. Each `set_*` call answers JSON diagnostics
//! (message, line, column, caret rendering); [`Playground::evaluate`]
//! answers the verdict, each rule's result, an explain tree of the
//! expression's sub-expressions and the program listings. Every answer is a
//! JSON string, so the page needs no bindings beyond strings. The same API
//! runs natively, where its tests run.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod explain;

use portcullis::{
    CompiledRuleSet, Compiler, Error, Filter, HttpRequest, Lists, RuleSet, RuleSetError, Schema,
    infer_list_type,
};
use serde_json::{Value as J, json};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

/// What the rule box holds, compiled.
enum Rules {
    /// One expression.
    Expression { filter: Filter },
    /// A rule set, and each enabled rule compiled alone (for the per-rule results).
    Set(Box<RuleSetRules>),
}

/// A rule set, and each enabled rule compiled alone (for the per-rule results).
struct RuleSetRules {
    rules: RuleSet,
    set: CompiledRuleSet,
    each: Vec<Option<Filter>>,
}

/// The playground's state: the default catalogue, plus the lists typed.
#[wasm_bindgen]
pub struct Playground {
    schema: Schema,
    lists: Lists,
    lists_json: BTreeMap<String, Vec<J>>,
    rules: Option<Rules>,
    requests: Vec<HttpRequest>,
}

impl Default for Playground {
    fn default() -> Self {
        Playground::new()
    }
}

/// One diagnostic, for the page: what, where, and the caret rendering.
fn diagnostic(error: &Error, source: &str, rule: Option<&str>) -> J {
    let at = error
        .span()
        .map(|s| (portcullis::line_col(source, s.start), s));
    json!({
        "rule": rule,
        "kind": format!("{:?}", error.kind()),
        "message": error.message(),
        "line": at.map(|(lc, _)| lc.line),
        "column": at.map(|(lc, _)| lc.column),
        "start": at.map(|(_, s)| s.start),
        "end": at.map(|(_, s)| s.end),
        "rendered": error.render(source),
    })
}

/// The diagnostics of a rule set's problems, each located in the text
/// `source_of` its rule id names.
fn rule_set_problems<'a>(e: &'a RuleSetError, source_of: impl Fn(&str) -> &'a str) -> Vec<J> {
    e.problems
        .iter()
        .zip(e.errors())
        .map(|((id, _), err)| diagnostic(err, source_of(id), (!id.is_empty()).then_some(&**id)))
        .collect()
}

/// `{"ok": true}` or `{"ok": false, "diagnostics": [...]}`.
fn answer(diagnostics: Vec<J>) -> String {
    json!({"ok": diagnostics.is_empty(), "diagnostics": diagnostics}).to_string()
}

#[wasm_bindgen]
impl Playground {
    /// Nothing typed yet: no rules, no request, no lists.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Playground {
        let schema = Schema::default_http();
        Playground {
            lists: Lists::for_schema(&schema),
            schema,
            lists_json: BTreeMap::new(),
            rules: None,
            requests: Vec::new(),
        }
    }

    /// The lists, as `{"office": ["10.0.0.0/8"], "bad_hosts": ["a.com"]}`:
    /// each is declared with the type its items have, so `ip.src in
    /// $office` compiles. Rules must be set again after lists change.
    pub fn set_lists(&mut self, json: &str) -> String {
        let text = if json.trim().is_empty() { "{}" } else { json };
        let map: BTreeMap<String, Vec<J>> = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                return answer(vec![json!({
                    "kind": "Config",
                    "message": format!("lists: {e}"),
                    "line": e.line(),
                    "column": e.column(),
                    "rendered": format!("error[config]: lists: {e}\n"),
                })]);
            }
        };
        let mut schema = Schema::default_http();
        for (name, items) in &map {
            schema = schema.with_list(name, infer_list_type(items));
        }
        let lists = Lists::for_schema(&schema);
        if let Err(e) = lists.load_map(&map) {
            return answer(vec![diagnostic(&e, "", None)]);
        }
        self.schema = schema;
        self.lists = lists;
        self.lists_json = map;
        self.rules = None;
        answer(Vec::new())
    }

    /// The rule box: `kind` is `"expression"`, `"json"` or `"toml"` (a rule set).
    pub fn set_rules(&mut self, text: &str, kind: &str) -> String {
        self.rules = None;
        let compiler = Compiler::new(&self.schema)
            .with_lists(&self.lists)
            .keep_instructions(false);
        match kind {
            "expression" => match compiler.compile(text) {
                Ok(filter) => {
                    self.rules = Some(Rules::Expression { filter });
                    answer(Vec::new())
                }
                Err(e) => answer(vec![diagnostic(&e, text, None)]),
            },
            "json" | "toml" => {
                let parsed = if kind == "json" {
                    RuleSet::from_json(text)
                } else {
                    RuleSet::from_toml(text)
                };
                let rules = match parsed {
                    Ok(r) => r,
                    // Problems of the file: their spans are in its text.
                    Err(e) => return answer(rule_set_problems(&e, |_| text)),
                };
                match rules.compile(&compiler) {
                    Ok(set) => {
                        let each = rules
                            .rules
                            .iter()
                            .map(|r| {
                                r.enabled
                                    .then(|| compiler.compile(&r.expression).ok())
                                    .flatten()
                            })
                            .collect();
                        self.rules = Some(Rules::Set(Box::new(RuleSetRules { rules, set, each })));
                        answer(Vec::new())
                    }
                    // Problems of a rule: their spans are in its expression.
                    Err(e) => answer(rule_set_problems(&e, |id| {
                        rules
                            .rules
                            .iter()
                            .find(|r| r.id == id)
                            .map_or("", |r| r.expression.as_str())
                    })),
                }
            }
            other => answer(vec![json!({
                "kind": "Config",
                "message": format!("unknown kind `{other}`: expression, json or toml"),
                "rendered": format!("error[config]: unknown kind `{other}`\n"),
            })]),
        }
    }

    /// The request box: a request JSON of raw parts and/or fields, as the
    /// command line reads it (`{"uri": "/a", "headers": {"Host": "a.com"}}`).
    pub fn set_request(&mut self, json: &str) -> String {
        self.requests.clear();
        match HttpRequest::from_json(json) {
            Ok(r) => {
                self.requests.push(r);
                answer(Vec::new())
            }
            Err(e) => answer(vec![diagnostic(&e, "", None)]),
        }
    }

    /// Several requests at once (a JSON array of request objects), for
    /// [`Playground::run`] to evaluate in turn (the R1000 measurement).
    pub fn set_requests(&mut self, json: &str) -> String {
        self.requests.clear();
        let items: Vec<J> = match serde_json::from_str(json) {
            Ok(v) => v,
            Err(e) => {
                return answer(vec![json!({
                    "kind": "Request",
                    "message": format!("requests: {e}"),
                    "rendered": format!("error[request]: requests: {e}\n"),
                })]);
            }
        };
        for (k, item) in items.iter().enumerate() {
            match HttpRequest::from_json_value(item) {
                Ok(r) => self.requests.push(r),
                Err(e) => {
                    self.requests.clear();
                    let mut d = diagnostic(&e, "", None);
                    d["message"] = J::String(format!("request {k}: {}", e.message()));
                    return answer(vec![d]);
                }
            }
        }
        answer(Vec::new())
    }

    /// The result for the (first) request: `{"ready": false}` until rules
    /// and a request compile; then the verdict (a rule set) or the match
    /// (an expression), each rule's own result, the explain tree and the
    /// program listings.
    pub fn evaluate(&self) -> String {
        let (Some(rules), Some(request)) = (&self.rules, self.requests.first()) else {
            return json!({"ready": false}).to_string();
        };
        match rules {
            Rules::Expression { filter } => json!({
                "ready": true,
                "mode": "expression",
                "matched": filter.matches(request),
                "explain": explain::tree(filter, request),
                "disassembly": filter.disassemble(),
            }),
            Rules::Set(s) => {
                let RuleSetRules { rules, set, each } = &**s;
                let verdict = set.evaluate(request);
                let per_rule: Vec<J> = rules
                    .rules
                    .iter()
                    .zip(each)
                    .map(|(r, f)| {
                        json!({
                            "id": r.id,
                            "action": r.action.name(),
                            "enabled": r.enabled,
                            "matched": f.as_ref().map(|f| f.matches(request)),
                            "explain": f.as_ref().map(|f| explain::tree(f, request)),
                            "disassembly": f.as_ref().map(Filter::disassemble),
                        })
                    })
                    .collect();
                json!({
                    "ready": true,
                    "mode": "ruleset",
                    "verdict": verdict.to_json(),
                    "rules": per_rule,
                })
            }
        }
        .to_string()
    }

    /// Evaluates the rules `rounds` times over every request set, inside
    /// WebAssembly (no crossing per evaluation), and answers how many
    /// evaluations matched (an expression) or ended in a terminating action
    /// (a rule set): the page times this call.
    pub fn run(&self, rounds: u32) -> u32 {
        let Some(rules) = &self.rules else { return 0 };
        let mut hits = 0u32;
        for _ in 0..rounds {
            for request in &self.requests {
                let hit = match rules {
                    Rules::Expression { filter } => filter.matches(request),
                    Rules::Set(s) => s.set.evaluate(request).action.is_some(),
                };
                hits = hits.wrapping_add(u32::from(hit));
            }
        }
        hits
    }

    /// The lists as last set (for the page to show what was declared).
    pub fn lists(&self) -> String {
        json!(self.lists_json).to_string()
    }
}

/// The engine's version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and (not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked))"#;

    fn parse(s: String) -> J {
        serde_json::from_str(&s).expect("JSON answer")
    }

    fn ok(s: String) {
        let a = parse(s);
        assert_eq!(a["ok"], true, "{a}");
    }

    #[test]
    fn an_expression_with_its_explain_tree() {
        let mut pg = Playground::new();
        assert_eq!(parse(pg.evaluate())["ready"], false);
        ok(pg.set_rules(SEED, "expression"));
        ok(pg.set_request(r#"{"headers": {"Host": "API.orangeclouded.com"}, "client_cert": {"presented": true, "verified": true, "revoked": true}}"#));
        let r = parse(pg.evaluate());
        assert_eq!(r["matched"], true);
        let rows = r["explain"].as_array().unwrap();
        let row = |text: &str| {
            rows.iter()
                .find(|x| x["text"] == text)
                .unwrap_or_else(|| panic!("no row {text}: {r}"))
        };
        assert_eq!(row(&SEED[1..SEED.len() - 1])["depth"], 0);
        assert_eq!(row("not cf.tls_client_auth.cert_verified")["value"], false);
        assert_eq!(row("cf.tls_client_auth.cert_revoked")["value"], true);
        assert_eq!(row("cf.tls_client_auth.cert_revoked")["depth"], 2);
        assert!(r["disassembly"].as_str().unwrap().contains("cert_revoked"));
        assert_eq!(pg.run(3), 3);
    }

    #[test]
    fn diagnostics_have_positions_and_carets() {
        let mut pg = Playground::new();
        let a = parse(pg.set_rules("ssl and\n  http.hots == \"a\"", "expression"));
        let d = &a["diagnostics"][0];
        assert_eq!(
            (d["line"].as_u64(), d["column"].as_u64()),
            (Some(2), Some(3))
        );
        assert_eq!(d["kind"], "UnknownField");
        assert!(d["rendered"].as_str().unwrap().contains("^^^^^^^^^"), "{d}");
        assert_eq!(parse(pg.evaluate())["ready"], false);

        let a = parse(pg.set_rules(
            r#"{"rules": [{"id": "a", "expression": "ssl", "action": "log"}, {"id": "b", "expression": "ssl AND ssl", "action": "block"}]}"#,
            "json",
        ));
        assert_eq!(a["diagnostics"].as_array().unwrap().len(), 1);
        assert_eq!(a["diagnostics"][0]["rule"], "b");
        assert_eq!(a["diagnostics"][0]["column"], 5);

        let a = parse(pg.set_request(r#"{"urii": "/"}"#));
        assert!(
            a["diagnostics"][0]["message"]
                .as_str()
                .unwrap()
                .contains("`uri`")
        );
        let a = parse(pg.set_rules("x", "yaml"));
        assert_eq!(a["ok"], false);
    }

    #[test]
    fn a_rule_set_verdict_and_each_rule() {
        let mut pg = Playground::new();
        let toml = format!(
            "[[rules]]\nid = \"log-api\"\nexpression = 'http.host == \"api.orangeclouded.com\"'\naction = \"log\"\n\n[[rules]]\nid = \"mtls\"\nexpression = '{SEED}'\naction = \"block\"\n\n[[rules]]\nid = \"off\"\nexpression = 'ssl'\naction = \"allow\"\nenabled = false\n"
        );
        ok(pg.set_rules(&toml, "toml"));
        ok(pg.set_request(r#"{"headers": {"Host": "api.orangeclouded.com"}}"#));
        let r = parse(pg.evaluate());
        assert_eq!(r["verdict"]["action"], "block");
        assert_eq!(r["verdict"]["rule"], "mtls");
        assert_eq!(r["verdict"]["logged"][0], "log-api");
        let rules = r["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[1]["matched"], true);
        assert_eq!(rules[2]["matched"], J::Null);
        assert_eq!(rules[2]["enabled"], false);
    }

    #[test]
    fn lists_declare_and_fill_named_lists() {
        let mut pg = Playground::new();
        ok(pg.set_lists(r#"{"office": ["10.0.0.0/8"], "hosts": ["a.com"]}"#));
        ok(pg.set_rules("ip.src in $office and http.host in $hosts", "expression"));
        ok(pg.set_request(r#"{"client_ip": "10.1.2.3", "headers": {"Host": "a.com"}}"#));
        assert_eq!(parse(pg.evaluate())["matched"], true);
        let a = parse(pg.set_lists("{"));
        assert_eq!(a["ok"], false);
        assert!(a["diagnostics"][0]["line"].is_number());
        ok(pg.set_lists(""));
        let a = parse(pg.set_rules("ip.src in $office", "expression"));
        assert_eq!(a["diagnostics"][0]["kind"], "UnknownList");
    }

    #[test]
    fn batches_of_requests_for_the_measurements() {
        let mut pg = Playground::new();
        ok(pg.set_rules(r#"http.host == "a.com""#, "expression"));
        ok(pg.set_requests(r#"[{"headers": {"Host": "a.com"}}, {"headers": {"Host": "b.com"}}, {"http.host": "a.com"}]"#));
        assert_eq!(pg.run(2), 4);
        let a = parse(pg.set_requests(r#"[{}, {"nope": 1}]"#));
        assert!(
            a["diagnostics"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("request 1:")
        );
        assert_eq!(pg.run(1), 0);
    }
}
