//! The authoring tools as a user meets them: `check --rules`, `test` with
//! coverage, `--explain`, over the bundled examples and over files written
//! with deliberate mistakes.

#[path = "support/cli.rs"]
mod support_cli;

use portcullis::{Compiler, HttpRequest, Outcome, RuleSet, Schema, StepKind};
use support_cli::run;

/// A scratch folder for one test's files.
fn scratch(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("portcullis-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

/// Every bundled example's tests pass, with every rule and clause covered.
#[test]
fn the_examples_tests_pass_and_cover_every_rule() {
    let examples: &[&[&str]] = &[
        &["examples/mtls/rules.json", "examples/mtls/tests.toml"],
        &["examples/gateway/rules.json", "examples/gateway/tests.toml"],
        &[
            "examples/iot/rules.json",
            "examples/iot/tests.toml",
            "--schema",
            "examples/iot/schema.json",
        ],
    ];
    for args in examples {
        let mut all = vec!["test"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--coverage", "--json"]);
        let (code, out, err) = run(&all, "");
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["failed"], 0, "{args:?}");
        assert!(report["passed"].as_u64().unwrap() >= 6, "{args:?}");
        let coverage = &report["coverage"];
        assert_eq!(
            coverage["uncovered_rules"],
            serde_json::json!([]),
            "{args:?}"
        );
        for rule in coverage["rules"].as_array().unwrap() {
            for clause in rule["clauses"].as_array().unwrap() {
                assert!(
                    clause["seen_true"] == true && clause["seen_false"] == true,
                    "{args:?}: {clause}"
                );
            }
        }
    }
}

const RULES: &str = r#"{"rules": [
  {"id": "block-admin", "expression": "starts_with(http.request.uri.path, \"/admin\")", "action": "block"},
  {"id": "log-api", "expression": "http.host eq \"api.example.com\"", "action": "log"},
  {"id": "never-tested", "expression": "ip.src in {203.0.113.0/24}", "action": "block"}
]}"#;

/// A failing case shows what differs; an uncovered rule is named; the
/// exit code says whether every case passed.
#[test]
fn a_failing_case_prints_a_diff_and_coverage_names_what_no_case_reached() {
    let tests = r#"
[[case]]
name = "admin is blocked"
request = { uri = "/admin", headers = { Host = "api.example.com" } }
expect = { action = "block", rule = "block-admin" }

[[case]]
name = "wrong on purpose"
request = { uri = "/", headers = { Host = "api.example.com" } }
expect = { action = "block", logged = [] }
"#;
    let dir = scratch("suite", &[("rules.json", RULES), ("tests.toml", tests)]);
    let rules = dir.join("rules.json");
    let tests = dir.join("tests.toml");
    let (rules, tests) = (rules.to_str().unwrap(), tests.to_str().unwrap());
    let (code, out, _) = run(&["test", rules, tests, "--coverage"], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ok     admin is blocked"), "{out}");
    assert!(out.contains("FAILED wrong on purpose"), "{out}");
    assert!(out.contains("action: expected block, got none"), "{out}");
    assert!(
        out.contains(r#"logged: expected [], got ["log-api"]"#),
        "{out}"
    );
    assert!(
        out.contains("uncovered rules: log-api, never-tested"),
        "{out}"
    );
    assert!(
        out.contains("never-tested 1:1 `ip.src in {203.0.113.0/24}`: never true"),
        "{out}"
    );
    assert!(out.contains("2 cases: 1 passed, 1 failed"), "{out}");
    let (code, out, _) = run(&["test", rules, tests, "--json"], "");
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["failed"], 1);
    assert_eq!(
        report["cases"][1]["got"]["logged"],
        serde_json::json!(["log-api"])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Mistakes in a test file are errors naming the case, never a silently
/// passing case.
#[test]
fn a_test_file_with_a_mistake_is_rejected_not_passed() {
    let bad: &[(&str, &str)] = &[
        (
            "[[case]]\nname = \"a\"\nrequest = {}\nexpect = { acton = \"block\" }\n",
            "unknown key `acton` in `expect`",
        ),
        (
            "[[case]]\nname = \"a\"\nrequest = {}\nexpect = { action = \"blok\" }\n",
            "must be an action name",
        ),
        (
            "[[case]]\nname = \"a\"\nrequest = {}\nexpect = {}\n",
            "`expect` checks nothing",
        ),
        (
            "[[cases]]\nname = \"a\"\n",
            "unknown key `cases` in the test file",
        ),
        (
            "[[case]]\nname = \"a\"\nexpect = { action = \"none\" }\n",
            "needs a `request`",
        ),
        (
            "[[case]]\nname = \"a\"\nrequest = { uri = \"/\", hedaers = {} }\nexpect = { action = \"none\" }\n",
            "hedaers",
        ),
    ];
    for (k, (text, want)) in bad.iter().enumerate() {
        let dir = scratch(
            &format!("badsuite{k}"),
            &[("rules.json", RULES), ("tests.toml", text)],
        );
        let rules = dir.join("rules.json");
        let tests = dir.join("tests.toml");
        let (code, out, err) = run(
            &["test", rules.to_str().unwrap(), tests.to_str().unwrap()],
            "",
        );
        assert_eq!(code, 1, "{text}: {out}{err}");
        assert!(
            err.contains(want) || out.contains(want),
            "{text}: want {want:?} in {out}{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `check --rules` reports the file's problems and the rules' type errors
/// together, each with its rule id and place.
#[test]
fn check_reports_every_problem_of_a_rule_file_at_once() {
    let rules = r#"{"rules": [
  {"id": "typo-key", "expresion": "ssl", "action": "block"},
  {"id": "bad-field", "expression": "http.hots eq \"a\"", "action": "block"},
  {"id": "bad-type", "expression": "http.host eq 3", "action": "log"},
  {"id": "fine", "expression": "ssl", "action": "log"}
]}"#;
    let dir = scratch("check", &[("rules.json", rules)]);
    let path = dir.join("rules.json");
    let (code, _, err) = run(&["check", "--rules", path.to_str().unwrap()], "");
    assert_eq!(code, 1, "{err}");
    for want in [
        "rule `typo-key`: error[config]: unknown key `expresion`",
        ":2:",
        "rule `bad-field`: error[check]: unknown field `http.hots`; did you mean `http.host`?",
        "rule `bad-type`: error[check]",
        "expression of `bad-type`, 1:14",
        "problems in",
    ] {
        assert!(err.contains(want), "want {want:?} in\n{err}");
    }
    assert!(!err.contains("`fine`"), "{err}");
    for args in [
        &["examples/mtls/rules.json"][..],
        &[
            "examples/gateway/rules.json",
            "--lists",
            "examples/gateway/lists.json",
        ],
    ] {
        let file = args[0];
        let mut all = vec!["check", "--rules"];
        all.extend_from_slice(args);
        let (code, out, err) = run(&all, "");
        assert_eq!(code, 0, "{file}: {err}");
        assert!(out.contains("no problems"), "{out}");
    }
    // Without the lists file, a list the rules read is unknown.
    let (code, _, err) = run(&["check", "--rules", "examples/gateway/rules.json"], "");
    assert_eq!(code, 1);
    assert!(err.contains("unknown list `$office`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Explain shows each sub-expression's value and what decided, through
/// the library and the command line.
#[test]
fn explain_shows_values_and_what_decided() {
    let schema = Schema::default_http();
    let filter = Compiler::new(&schema)
        .compile(r#"lower(http.host) eq "api.example.com" and not ssl or http.request.uri.path contains "x""#)
        .unwrap();
    let req = HttpRequest::builder()
        .header("Host", "API.example.com")
        .uri("/a")
        .build()
        .unwrap();
    let e = filter.explain(&req).unwrap();
    assert_eq!(e.matched, filter.matches(&req));
    let shown: Vec<(String, String, bool)> = e
        .steps
        .iter()
        .map(|s| {
            (
                e.source[s.span.start..s.span.end].to_string(),
                s.outcome.to_string(),
                s.decided,
            )
        })
        .collect();
    let want: Vec<(&str, &str, bool)> = vec![
        (
            r#"lower(http.host) eq "api.example.com" and not ssl or http.request.uri.path contains "x""#,
            "true",
            true,
        ),
        (
            r#"lower(http.host) eq "api.example.com" and not ssl"#,
            "true",
            true,
        ),
        (r#"lower(http.host) eq "api.example.com""#, "true", true),
        ("lower(http.host)", r#""api.example.com""#, true),
        ("http.host", r#""api.example.com""#, true),
        ("not ssl", "true", true),
        ("ssl", "false", true),
        (
            r#"http.request.uri.path contains "x""#,
            "(not evaluated)",
            false,
        ),
        ("http.request.uri.path", "(not evaluated)", false),
    ];
    let got: Vec<(&str, &str, bool)> = shown
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), *c))
        .collect();
    assert_eq!(got, want);
    assert_eq!(e.steps[3].kind, StepKind::Value);
    assert_eq!(e.steps[7].outcome, Outcome::NotEvaluated);
    // A missing value is shown as missing.
    let f = Compiler::new(&schema)
        .compile(r#"http.cookie contains "a""#)
        .unwrap();
    let e = f.explain(&req).unwrap();
    assert!(!e.matched);
    assert_eq!(e.steps[1].outcome.to_string(), "missing");

    // The rule set: fates and why evaluation stopped.
    let set = RuleSet::from_json(RULES)
        .unwrap()
        .compile(&Compiler::new(&schema))
        .unwrap();
    let admin = HttpRequest::builder()
        .header("Host", "api.example.com")
        .uri("/admin/x")
        .build()
        .unwrap();
    let explained = set.explain(&admin).unwrap();
    assert_eq!(explained.verdict, set.evaluate(&admin));
    let fates: Vec<(&str, portcullis::Fate)> =
        explained.rules.iter().map(|r| (r.id, r.fate)).collect();
    assert_eq!(
        fates,
        vec![
            ("block-admin", portcullis::Fate::Matched),
            ("log-api", portcullis::Fate::NotReached),
            ("never-tested", portcullis::Fate::NotReached),
        ]
    );
    assert_eq!(
        explained.stopped,
        portcullis::Stop::Terminated("block-admin")
    );

    // The command line renders both.
    let (code, out, err) = run(
        &[
            "run",
            "--rules",
            "examples/mtls/rules.json",
            "--request",
            "examples/mtls/blocked-revoked.json",
            "--explain",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    for want in [
        "rule `allow-health-checks` (allow): did not match",
        "rule `mtls-required` (block): matched",
        "cf.tls_client_auth.cert_revoked",
        "stopped: rule `mtls-required` terminated evaluation",
        r#"verdict: {"action":"block","rule":"mtls-required""#,
    ] {
        assert!(out.contains(want), "want {want:?} in\n{out}");
    }
    let (code, out, _) = run(
        &[
            "eval",
            "--explain",
            "--request",
            "-",
            r#"http.host in {"a.example" "b.example"}"#,
        ],
        r#"{"headers": {"Host": "B.example"}}"#,
    );
    assert_eq!(code, 0);
    assert!(out.contains(r#"^^^^^^^^^ "b.example"  ◀"#), "{out}");
    assert!(out.trim_end().ends_with("=> matches"), "{out}");
}

/// `--summary` counts every request per action and rule over a stream
/// (an unreadable line is counted as such, not fatal); `--shadow` reports
/// the requests whose verdict a candidate set would change, grouped.
#[test]
fn summary_and_shadow_over_a_stream() {
    let mut stream = String::new();
    for k in 0..300 {
        let line = match k % 3 {
            0 => r#"{"uri": "/admin/x", "headers": {"Host": "api.example.com"}}"#.to_string(),
            1 => r#"{"uri": "/", "headers": {"Host": "api.example.com"}}"#.to_string(),
            _ => format!(r#"{{"uri": "/", "client_ip": "203.0.113.{}"}}"#, k % 250),
        };
        stream.push_str(&line);
        stream.push('\n');
    }
    stream.push_str("not json\n");
    // The candidate drops the admin block and blocks the API host instead.
    let candidate = r#"{"rules": [
  {"id": "log-api", "expression": "http.host eq \"api.example.com\"", "action": "block"},
  {"id": "never-tested", "expression": "ip.src in {203.0.113.0/24}", "action": "block"}
]}"#;
    let dir = scratch(
        "stream",
        &[("rules.json", RULES), ("candidate.json", candidate)],
    );
    let rules = dir.join("rules.json");
    let cand = dir.join("candidate.json");
    let (rules, cand) = (rules.to_str().unwrap(), cand.to_str().unwrap());
    let (code, out, err) = run(
        &["run", "--rules", rules, "--requests", "-", "--summary"],
        &stream,
    );
    assert_eq!(code, 0, "{err}");
    for want in [
        "300 requests",
        "1 lines were not requests (line 301)",
        "block                       200   66.67%",
        "none                        100   33.33%",
        "block-admin (block)             100   33.33%",
        "log-api (log)                   100   33.33%",
        "never-tested (block)            100   33.33%",
    ] {
        assert!(out.contains(want), "want {want:?} in\n{out}");
    }
    let (code, out, err) = run(
        &["run", "--rules", rules, "--requests", "-", "--shadow", cand],
        &stream,
    );
    assert_eq!(code, 0, "{err}");
    for want in [
        "shadow: 200 requests of 300 change verdict (66.67%)",
        "block by `block-admin` -> block by `log-api`: 100 (lines 1, 4, 7, 10, 13, …)",
        "none -> block by `log-api`: 100 (lines 2, 5, 8, 11, 14, …)",
    ] {
        assert!(out.contains(want), "want {want:?} in\n{out}");
    }
    assert!(
        !out.contains("never-tested"),
        "an unchanged verdict is no change: {out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A service holds a shadow set in its handle and sees both verdicts.
#[test]
fn a_handle_evaluates_its_shadow_beside_the_live_set() {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let live = RuleSet::from_json(RULES)
        .unwrap()
        .compile(&compiler)
        .unwrap();
    let handle = portcullis::RuleSetHandle::new(live);
    let req = HttpRequest::builder()
        .header("Host", "api.example.com")
        .uri("/admin")
        .build()
        .unwrap();
    assert!(!handle.has_shadow());
    let seen = handle.evaluate_shadowed(&req, |live, shadow| {
        (live.rule.map(str::to_string), shadow.is_none())
    });
    assert_eq!(seen, (Some("block-admin".to_string()), true));
    let candidate = RuleSet::from_json(
        r#"{"rules": [{"id": "allow-all", "expression": "true", "action": "allow"}]}"#,
    )
    .unwrap()
    .compile(&compiler)
    .unwrap();
    handle.store_shadow(Some(candidate));
    assert!(handle.has_shadow());
    let changed = handle.evaluate_shadowed(&req, |live, shadow| {
        let shadow = shadow.expect("a shadow verdict");
        (live.action, shadow.action, live.same_decision(shadow))
    });
    assert_eq!(
        changed,
        (
            Some(portcullis::Action::Block),
            Some(portcullis::Action::Allow),
            false
        )
    );
    handle.store_shadow(None);
    assert!(!handle.has_shadow());
}

/// `lint` on a file written with the classic mistakes: each warning has
/// its id, rule and fix; `--deny` fails, `--json` is machine-readable; the
/// bundled examples lint clean.
#[test]
fn lint_finds_the_classic_mistakes_and_deny_fails_on_them() {
    let rules = r#"{"rules": [
 {"id": "mtls", "expression": "http.host eq \"api.example.com\" and not cf.tls_client_auth.cert_verified", "action": "block"},
 {"id": "fp", "expression": "cf.tls_client_auth.cert_fingerprint_sha256 eq \"AB:CD\"", "action": "block"},
 {"id": "admin", "expression": "http.request.uri.path eq \"/admin\"", "action": "block"},
 {"id": "admin-again", "expression": "http.request.uri.path eq \"/admin\" and http.request.method eq \"GET\"", "action": "block"},
 {"id": "re", "expression": "http.user_agent matches \"^curl\"", "action": "log"}
]}"#;
    let dir = scratch("lint", &[("rules.json", rules)]);
    let path = dir.join("rules.json");
    let path = path.to_str().unwrap();
    let (code, out, _) = run(&["lint", "--rules", path], "");
    assert_eq!(code, 0, "warnings alone do not fail: {out}");
    for want in [
        "warning[mtls-revoked-passes]: rule `mtls`",
        "= help: replace with `(not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked)`",
        "warning[hex-literal-form]: rule `fp`",
        "warning[shadowed-rule]: rule `admin-again`",
        "warning[regex-is-literal]: rule `re`",
        "4 warnings",
    ] {
        assert!(out.contains(want), "want {want:?} in\n{out}");
    }
    let (code, _, _) = run(&["lint", "--rules", path, "--deny"], "");
    assert_eq!(code, 1);
    let (code, out, _) = run(&["lint", "--rules", path, "--json"], "");
    assert_eq!(code, 0);
    let lints: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = lints
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "mtls-revoked-passes",
            "hex-literal-form",
            "shadowed-rule",
            "regex-is-literal"
        ]
    );
    let (code, out, _) = run(&["lint", "--deny", "http.host eq \"API.example.com\""], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("warning[case-never-matches]"), "{out}");
    for args in [
        &["examples/mtls/rules.json"][..],
        &[
            "examples/gateway/rules.json",
            "--lists",
            "examples/gateway/lists.json",
        ],
    ] {
        let mut all = vec!["lint", "--deny", "--rules"];
        all.extend_from_slice(args);
        let (code, out, err) = run(&all, "");
        assert_eq!(code, 0, "{args:?}: {out}{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
