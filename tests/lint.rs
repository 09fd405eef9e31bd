//! The lint suite: every `tests/cases/lint/*.toml` file is a table of cases.
//!
//! A case is either `expression` (linted on its own, by `lint_expression`)
//! or `rules` (a rule set, as the `rules` of a TOML rule file, linted by
//! `lint`), and `expect`: every lint that must fire, each as `lint` (its
//! id), `rule` (for a rule set), `at` (the text of the expression its span
//! covers) and optionally `fix` (its suggestion; `""` is "remove it").
//! Exactly those lints fire: a case with `expect = []` is a negative case.
//! Every lint id has a case, and `docs/rules.md` lists every id.

use portcullis::{Compiler, Lint, RuleSet, Schema};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    expression: Option<String>,
    rules: Option<toml::Value>,
    expect: Vec<Expect>,
}

#[derive(Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
struct Expect {
    lint: String,
    rule: Option<String>,
    at: String,
    fix: Option<String>,
}

/// The lints of a case, with the source each one's span is in.
fn lints(case: &Case, compiler: &Compiler<'_>) -> Result<Vec<(Lint, String)>, String> {
    match (&case.expression, &case.rules) {
        (Some(text), None) => portcullis::lint_expression(text, compiler)
            .map(|ls| ls.into_iter().map(|l| (l, text.clone())).collect())
            .map_err(|e| e.render(text)),
        (None, Some(rules)) => {
            let mut file = toml::Table::new();
            file.insert("rules".into(), rules.clone());
            let text = toml::to_string(&file).map_err(|e| e.to_string())?;
            let set = RuleSet::from_toml(&text).map_err(|e| e.to_string())?;
            let out = portcullis::lint(&set, compiler);
            Ok(out
                .into_iter()
                .map(|l| {
                    let source = set
                        .rules
                        .iter()
                        .find(|r| Some(&r.id) == l.rule.as_ref())
                        .map(|r| r.expression.clone())
                        .unwrap_or_default();
                    (l, source)
                })
                .collect())
        }
        _ => Err("a case has `expression` or `rules`, not both".into()),
    }
}

fn run(case: &Case, compiler: &Compiler<'_>) -> Result<(), String> {
    let got = lints(case, compiler)?;
    let mut actual: Vec<Expect> = Vec::new();
    for (l, source) in &got {
        // Every lint renders, and serializes, whatever it points at.
        let rendered = l.render(source);
        if !rendered.contains(l.id) || !rendered.contains('^') {
            return Err(format!("bad rendering:\n{rendered}"));
        }
        serde_json::to_string(l).map_err(|e| e.to_string())?;
        if !portcullis::LINTS.iter().any(|(id, _)| *id == l.id) {
            return Err(format!("`{}` is not in LINTS", l.id));
        }
        let at = source
            .get(l.span.start..l.span.end)
            .ok_or_else(|| format!("span {:?} outside {source:?}", l.span))?;
        actual.push(Expect {
            lint: l.id.to_string(),
            rule: l.rule.clone(),
            at: at.to_string(),
            fix: l.suggestion.clone(),
        });
    }
    // A suggestion is compared only where the case gives one.
    let mut want = case.expect.clone();
    for w in &mut want {
        if w.fix.is_none()
            && let Some(a) = actual
                .iter()
                .find(|a| a.lint == w.lint && a.rule == w.rule && a.at == w.at)
        {
            w.fix = a.fix.clone();
        }
    }
    want.sort();
    actual.sort();
    if want != actual {
        let show = |v: &[Expect]| {
            v.iter()
                .map(|e| format!("  {e:?}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let messages: Vec<String> = got.iter().map(|(l, s)| l.render(s)).collect();
        return Err(format!(
            "want:\n{}\ngot:\n{}\n{}",
            show(&want),
            show(&actual),
            messages.join("")
        ));
    }
    Ok(())
}

fn cases() -> Vec<(String, Case)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/lint");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/cases/lint")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let file: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        out.extend(file.case.into_iter().map(|c| (name.clone(), c)));
    }
    out
}

#[test]
fn lint_cases() {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let cases = cases();
    assert!(cases.len() >= 20, "too few cases");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(file, c)| {
            run(c, &compiler)
                .err()
                .map(|e| format!("{file}: {}\n{e}", c.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_lint_has_a_case_and_a_doc() {
    let cases = cases();
    let docs = include_str!("../docs/rules.md");
    for (id, _) in portcullis::LINTS {
        assert!(
            cases
                .iter()
                .any(|(_, c)| c.expect.iter().any(|e| e.lint == *id)),
            "no case expects `{id}`"
        );
        assert!(
            docs.contains(&format!("`{id}`")),
            "docs/rules.md does not list `{id}`"
        );
    }
}

/// Nothing an expression can be makes a lint panic, and deep trees do not
/// overflow the stack.
#[test]
fn deep_and_odd_expressions() {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let deep = format!("{}ssl{}", "not (".repeat(5000), ")".repeat(5000));
    let wide = (0..2000)
        .map(|k| format!("tcp.dstport == {k}"))
        .collect::<Vec<_>>()
        .join(" or ");
    // About a hundred levels deep (inside the default limit), each an `and` holding an
    // `or` (opaque to the decider, so written out whole).
    let mut nested = String::from("ssl");
    for k in 0..25 {
        nested = format!("(tcp.dstport == {k} or (http.host == \"h{k}\" and {nested}))");
    }
    for text in [
        deep.as_str(),
        wide.as_str(),
        &nested,
        "",
        "(",
        "http.hots == 1",
    ] {
        let _ = portcullis::lint_expression(text, &compiler);
    }
    assert!(portcullis::lint_expression(&nested, &compiler).is_ok());
    let set = RuleSet::from_json(
        &serde_json::json!({"rules": [
            {"id": "a", "action": "block", "expression": format!("ssl and {nested}")},
            {"id": "b", "action": "block", "expression": format!("{nested} and ssl")},
        ]})
        .to_string(),
    )
    .expect("rules");
    let lints = portcullis::lint(&set, &compiler);
    assert!(lints.iter().any(|l| l.id == "shadowed-rule"), "{lints:#?}");
}

#[path = "workload/mod.rs"]
mod workload;

/// The examples' rule files are written as the lints want.
#[test]
fn the_examples_lint_clean() {
    let schema = Schema::default_http().with_list("office", portcullis::Type::Ip);
    let compiler = Compiler::new(&schema);
    for path in [
        "examples/mtls/rules.toml",
        "examples/mtls/rules.json",
        "examples/gateway/rules.json",
    ] {
        let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
            .expect("read");
        let set = RuleSet::load(path, &text).expect("loads");
        set.compile(&compiler).expect("compiles");
        let lints = portcullis::lint(&set, &compiler);
        assert!(lints.is_empty(), "{path}: {lints:#?}");
    }
}

/// The 1,000-rule benchmark set lints in reasonable time, and what it
/// finds is right: its mTLS rules block on `not cert_verified` alone, a
/// rule repeated (same template, same number) is shadowed by the first, and
/// some country sets name one country twice.
#[test]
fn the_r1000_set() {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let exprs = workload::r1000();
    let set = workload::rule_set(&exprs);
    let started = std::time::Instant::now();
    let lints = portcullis::lint(&set, &compiler);
    let took = started.elapsed();
    assert!(took.as_secs() < 30, "linting took {took:?}");
    let position = |id: &str| set.rules.iter().position(|r| r.id == id).expect("rule");
    let mut shadowed = 0;
    for l in &lints {
        let k = position(l.rule.as_deref().unwrap_or_default());
        match l.id {
            "mtls-revoked-passes" => assert_eq!(k % 9, 1, "{l:?}"),
            // Two countries drawn alike.
            "duplicate-set-element" => assert_eq!(k % 9, 4, "{l:?}"),
            "shadowed-rule" => {
                shadowed += 1;
                let text = &exprs[k];
                assert!(exprs[..k].contains(text), "{l:?}: {text}");
            }
            _ => panic!("unexpected {l:?}"),
        }
    }
    let repeated = (0..exprs.len())
        .filter(|&k| exprs[..k].contains(&exprs[k]))
        .count();
    assert_eq!(shadowed, repeated);
    assert_eq!(
        lints
            .iter()
            .filter(|l| l.id == "mtls-revoked-passes")
            .count(),
        (0..exprs.len()).filter(|k| k % 9 == 1).count()
    );
}

/// Soundness of "can never fire": on random rules over a few fields, and
/// every request over a domain holding all their constants (each field
/// missing too), a rule said to be shadowed matches only requests the
/// earlier rule matches, and a rule said never (or always) to match never
/// (or always) does.
mod soundness {
    use portcullis::{Compiler, Context, RuleSet, Schema, Value};
    use proptest::prelude::*;
    use std::net::IpAddr;

    const HOSTS: &[&str] = &["", "a", "b", "ab", "ba", "abc"];

    fn atom() -> impl Strategy<Value = String> {
        let host = || prop::sample::select(HOSTS);
        let port = || 0i64..6;
        prop_oneof![
            host().prop_map(|h| format!("http.host == \"{h}\"")),
            host().prop_map(|h| format!("http.host ne \"{h}\"")),
            (host(), host()).prop_map(|(a, b)| format!("http.host in {{\"{a}\" \"{b}\"}}")),
            host().prop_map(|h| format!("starts_with(http.host, \"{h}\")")),
            host().prop_map(|h| format!("http.host contains \"{h}\"")),
            port().prop_map(|n| format!("tcp.dstport == {n}")),
            port().prop_map(|n| format!("tcp.dstport ne {n}")),
            (prop::sample::select(&["<", "<=", ">", ">="][..]), port())
                .prop_map(|(op, n)| format!("tcp.dstport {op} {n}")),
            (port(), port(), port()).prop_map(|(a, b, c)| format!(
                "tcp.dstport in {{{}..{} {c}}}",
                a.min(b),
                a.max(b)
            )),
            Just("ssl".to_string()),
            Just("ip.src in {10.0.0.0/31}".to_string()),
            Just("ip.src == 10.0.0.2".to_string()),
            Just("ip.src in {::/0}".to_string()),
        ]
    }

    fn expr() -> impl Strategy<Value = String> {
        atom().prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
                inner.prop_map(|a| format!("not ({a})")),
            ]
        })
    }

    /// Every request over the domain.
    fn requests(schema: &Schema) -> Vec<Context<'_>> {
        let hosts: Vec<Option<&str>> = std::iter::once(None)
            .chain(HOSTS.iter().copied().map(Some))
            .collect();
        let ports: Vec<Option<i64>> = std::iter::once(None).chain((0..6).map(Some)).collect();
        let ips: Vec<Option<IpAddr>> = [
            None,
            Some("10.0.0.0"),
            Some("10.0.0.1"),
            Some("10.0.0.2"),
            Some("::1"),
        ]
        .iter()
        .map(|s| s.map(|s| s.parse().expect("ip")))
        .collect();
        let mut out = Vec::new();
        for h in &hosts {
            for p in &ports {
                for ssl in [None, Some(false), Some(true)] {
                    for ip in &ips {
                        let mut c = Context::new(schema);
                        if let Some(h) = h {
                            c.set("http.host", Value::Bytes(h.as_bytes().to_vec()))
                                .expect("host");
                        }
                        if let Some(p) = p {
                            c.set("tcp.dstport", Value::Int(*p)).expect("port");
                        }
                        if let Some(s) = ssl {
                            c.set("ssl", Value::Bool(s)).expect("ssl");
                        }
                        if let Some(ip) = ip {
                            c.set("ip.src", Value::Ip(*ip)).expect("ip");
                        }
                        out.push(c);
                    }
                }
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn what_the_lints_say_is_true(e in expr(), l in expr()) {
            let schema = Schema::default_http();
            let compiler = Compiler::new(&schema);
            let set = RuleSet::from_json(&serde_json::json!({"rules": [
                {"id": "e", "action": "block", "expression": e},
                {"id": "l", "action": "block", "expression": l},
            ]}).to_string()).expect("rules");
            let fe = compiler.compile(&e).expect("e compiles");
            let fl = compiler.compile(&l).expect("l compiles");
            let requests = requests(&schema);
            for lint in portcullis::lint(&set, &compiler) {
                let (this, text) = if lint.rule.as_deref() == Some("e") { (&fe, &e) } else { (&fl, &l) };
                for r in &requests {
                    match lint.id {
                        "shadowed-rule" => prop_assert!(!fl.matches(r) || fe.matches(r), "{l} is not implied by {e}"),
                        "never-matches" => prop_assert!(!this.matches(r), "{text} matches"),
                        "always-matches" => prop_assert!(this.matches(r), "{text} does not match"),
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Every expression of the language suite lints without panicking, each
/// lint's span is a slice of its text, and where a case says what an
/// expression evaluates to, "never" and "always" agree with it.
#[test]
fn the_language_suite_lints_soundly() {
    #[derive(Deserialize)]
    struct Suite {
        case: Vec<toml::Value>,
    }
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let mut linted = 0;
    for file in ["eval.toml", "syntax.toml", "types.toml"] {
        let path = format!("{}/tests/cases/{file}", env!("CARGO_MANIFEST_DIR"));
        let suite: Suite =
            toml::from_str(&std::fs::read_to_string(&path).expect("read")).expect("suite");
        for case in suite.case {
            let Some(text) = case.get("expr").and_then(|v| v.as_str()) else {
                continue;
            };
            if case.get("schema").is_some() || case.get("lists").is_some() {
                continue;
            }
            let Ok(lints) = portcullis::lint_expression(text, &compiler) else {
                continue;
            };
            linted += 1;
            let expect = case.get("expect").and_then(|v| v.as_bool());
            for l in &lints {
                assert!(
                    text.get(l.span.start..l.span.end).is_some(),
                    "{text}: {l:?}"
                );
                let _ = l.render(text);
                match (l.id, expect) {
                    ("never-matches", Some(true)) | ("always-matches", Some(false)) => {
                        panic!("{file}: {text} is expected {expect:?}, but {l:?}")
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(linted > 100, "only {linted} expressions linted");
}

/// The rendering and the JSON `docs/rules.md` shows.
#[test]
fn the_documented_rendering() {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let text = r#"http.host == "api.example.com" and not cf.tls_client_auth.cert_verified"#;
    let set = RuleSet::from_json(
        &serde_json::json!({"rules": [{"id": "mtls", "action": "block", "expression": text}]})
            .to_string(),
    )
    .expect("rules");
    let lints = portcullis::lint(&set, &compiler);
    assert_eq!(lints.len(), 1, "{lints:?}");
    let docs = include_str!("../docs/rules.md");
    let rendered = lints[0].render(text);
    assert!(docs.contains(&rendered), "docs/rules.md lacks:\n{rendered}");
    let json = serde_json::to_value(&lints[0]).expect("json");
    assert_eq!(json["span"], serde_json::json!({"start": 35, "end": 71}));
    assert_eq!(json["rule"], "mtls");
}
