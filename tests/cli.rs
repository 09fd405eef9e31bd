//! The command-line contract: outputs, exit codes, the batch format, and
//! hostile inputs that must end with exit 0 or 1 and a message.

#[path = "support/cli.rs"]
mod support_cli;

use support_cli::run;

#[test]
fn check_prints_the_canonical_form_or_a_caret_diagnostic() {
    let (code, out, _) = run(&["check", "http.host == \"a\" && !ssl"], "");
    assert_eq!((code, out.trim()), (0, "http.host eq \"a\" and not ssl"));
    let (code, _, err) = run(&["check", "http.host == \"a\" AND ssl"], "");
    assert_eq!(code, 1);
    assert!(
        err.contains("did you mean `and`?") && err.contains("1:18") && err.contains("^^^"),
        "{err}"
    );
}

#[test]
fn eval_prints_true_or_false() {
    let dir = std::env::temp_dir().join(format!("portcullis-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let req = dir.join("req.json");
    std::fs::write(
        &req,
        r#"{"http.host": "a.com", "ip.src": "::ffff:10.0.0.1"}"#,
    )
    .unwrap();
    let lists = dir.join("lists.json");
    std::fs::write(&lists, r#"{"office": ["10.0.0.0/8"]}"#).unwrap();
    let r = req.to_str().unwrap();
    let (code, out, _) = run(
        &[
            "eval",
            "ip.src in $office and http.host == \"a.com\"",
            "--request",
            r,
            "--lists",
            lists.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!((code, out.trim()), (0, "true"));
    let (code, out, _) = run(&["eval", "http.cookie != \"x\"", "--request", r], "");
    assert_eq!((code, out.trim()), (0, "false"));
}

#[test]
fn batch_answers_every_line_in_order_and_errors_are_data() {
    let input = [
        r#"{"expr": "http.host == \"a\"", "request": {"http.host": "a"}}"#,
        r#"{"expr": "http.host == \"a\""}"#,
        r#"{"expr": "http.host == "}"#,
        r#"{"expr": "http.hots == \"a\""}"#,
        r#"{"expr": "http.host matches \"((\""}"#,
        r#"{"expr": "tcp.dstport == 1", "request": {"tcp.dstport": "80"}}"#,
        r#"{"expr": "ip.src in $bad", "request": {"ip.src": "10.1.1.1"}, "lists": {"bad": ["10.0.0.0/8"]}}"#,
        r#"not json"#,
    ]
    .join("\n");
    let (code, out, _) = run(&["eval", "--batch", "-"], &input);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[0], serde_json::json!({"result": true}));
    assert_eq!(lines[1], serde_json::json!({"result": false}));
    assert_eq!(lines[2]["error"]["stage"], "parse");
    assert!(lines[2]["error"]["span"].is_array());
    assert_eq!(lines[3]["error"]["stage"], "check");
    assert_eq!(lines[3]["error"]["span"], serde_json::json!([0, 9]));
    assert_eq!(lines[4]["error"]["stage"], "compile");
    assert_eq!(lines[5]["error"]["stage"], "request");
    assert!(
        lines[5]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tcp.dstport")
    );
    assert!(lines[5]["error"].get("span").is_none());
    assert_eq!(lines[6], serde_json::json!({"result": true}));
    assert!(lines[7]["error"].is_object());
}

#[test]
fn run_prints_verdicts_for_the_bundled_examples() {
    let cases = [
        ("examples/mtls/blocked-no-cert.json", "block"),
        ("examples/mtls/blocked-unverified.json", "block"),
        ("examples/mtls/blocked-revoked.json", "block"),
        ("examples/mtls/allowed-verified.json", "null"),
        ("examples/mtls/allowed-other-host.json", "null"),
    ];
    for (req, action) in cases {
        let (code, out, err) = run(
            &[
                "run",
                "--rules",
                "examples/mtls/rules.json",
                "--request",
                req,
            ],
            "",
        );
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(
            v["action"].to_string().trim_matches('"'),
            action,
            "{req}: {out}"
        );
    }
    let (code, out, _) = run(
        &[
            "run",
            "--rules",
            "examples/mtls/rules.toml",
            "--requests",
            "examples/mtls/requests.jsonl",
        ],
        "",
    );
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 4);
    let (code, out, _) = run(
        &[
            "run",
            "--rules",
            "examples/iot/rules.json",
            "--request",
            "examples/iot/message.json",
            "--schema",
            "examples/iot/schema.json",
            "--lists",
            "examples/iot/lists.json",
        ],
        "",
    );
    assert_eq!(code, 0);
    assert!(out.contains(r#""skipped":["old-firmware"]"#), "{out}");
}

#[test]
fn a_bad_rule_among_good_ones_is_reported_with_its_id() {
    let dir = std::env::temp_dir().join(format!("portcullis-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        r#"{"rules": [
            {"id": "ok", "expression": "ssl", "action": "log"},
            {"id": "bad1", "expression": "http.hots == \"a\"", "action": "block"},
            {"id": "bad2", "expression": "ssl and", "action": "block"},
            {"id": "ok", "expression": "ssl", "action": "block"},
            {"id": "s", "expression": "ssl", "action": "skip", "action_parameters": {"rules": ["nope"]}}
        ]}"#,
    )
    .unwrap();
    let (code, _, err) = run(
        &[
            "run",
            "--rules",
            rules.to_str().unwrap(),
            "--request",
            "examples/mtls/blocked-no-cert.json",
        ],
        "",
    );
    assert_eq!(code, 1);
    for fragment in [
        "rule `bad1`",
        "did you mean `http.host`?",
        "rule `bad2`",
        "duplicate rule id",
        "unknown rule `nope`",
    ] {
        assert!(err.contains(fragment), "missing `{fragment}` in:\n{err}");
    }
}

#[test]
fn hostile_inputs_end_with_a_message() {
    let deep = format!("{}ssl{}", "(".repeat(100_000), ")".repeat(100_000));
    let chain = vec!["ssl"; 50_000].join(" or ");
    let nots = "not ".repeat(100_000) + "ssl";
    let bomb = format!("http.host matches \"{}\"", "(a*)*".repeat(50));
    let garbage: String = (0..5000u32)
        .map(|k| char::from_u32(32 + (k * 7919) % 95).unwrap())
        .collect();
    for (expr, extra) in [
        (
            deep.as_str(),
            vec!["--max-length", "1000000", "--max-depth", "100000"],
        ),
        (chain.as_str(), vec!["--max-length", "1000000"]),
        (
            nots.as_str(),
            vec!["--max-length", "1000000", "--max-depth", "1000000"],
        ),
        (bomb.as_str(), vec![]),
        (garbage.as_str(), vec!["--max-length", "100000"]),
        ("\u{0}\u{1}\u{7f}", vec![]),
    ] {
        let mut args = vec!["check", "--file", "-"];
        args.extend(extra);
        let (code, out, err) = run(&args, expr);
        assert!(
            code == 0 || code == 1,
            "exit {code} for `{}...`",
            &expr[..expr.len().min(40)]
        );
        assert!(
            !out.is_empty() || !err.is_empty(),
            "no output for `{}...`",
            &expr[..expr.len().min(40)]
        );
    }
}

#[test]
fn fields_and_disasm_and_fmt() {
    let (code, out, _) = run(&["fields"], "");
    assert_eq!(code, 0);
    assert!(out.contains("http.request.headers\tMap<Array<String>>"));
    assert!(out.contains("ip.geoip.country\tString (alias of ip.src.country)"));
    let (code, out, _) = run(&["disasm", "http.host == \"a\" or ssl"], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("jump_if_true") && out.contains("return"),
        "{out}"
    );
    // The bundled rule files are canonical; a rewritten copy of a
    // non-canonical one is, and keeps its comments and its other keys.
    for file in ["examples/mtls/rules.json", "examples/mtls/rules.toml"] {
        let (code, _, err) = run(&["fmt", "--check", "--rules", file], "");
        assert_eq!(code, 0, "{file}: {err}");
    }
    let dir = std::env::temp_dir().join(format!("portcullis-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("rules.toml");
    std::fs::write(
        &toml,
        "# keep me\n[[rules]]\nref = \"r1\"\naction = \"block\"\nexpression = \"http.host==\\\"a\\\"  &&  ssl\"\nid = \"x\"\n",
    )
    .unwrap();
    let path = toml.to_str().unwrap();
    let (code, _, err) = run(&["fmt", "--check", "--rules", path], "");
    assert_eq!(code, 1, "not canonical: {err}");
    assert!(err.contains("not in canonical form"), "{err}");
    let (code, _, err) = run(&["fmt", "--rules", path], "");
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(&toml).unwrap();
    assert_eq!(
        written,
        "# keep me\n[[rules]]\nid = \"x\"\nexpression = 'http.host eq \"a\" and ssl'\naction = \"block\"\nref = \"r1\"\n"
    );
    let (code, _, err) = run(&["fmt", "--check", "--rules", path], "");
    assert_eq!(code, 0, "canonical after fmt: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A line of a stream that is not UTF-8 gets an error line of its own; the
/// lines after it are answered as usual.
#[test]
fn a_stream_answers_every_line_even_one_that_is_not_utf8() {
    let mut requests = b"{\"http.host\": \"api.orangeclouded.com\"}\n".to_vec();
    requests.extend_from_slice(b"{\"http.host\": \"\xff\xfe\"}\r\n");
    requests.extend_from_slice(b"{\"http.host\": \"other.example\"}\n");
    let (code, out, err) = run(
        &[
            "run",
            "--rules",
            "examples/mtls/rules.json",
            "--requests",
            "-",
        ],
        &requests,
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("\"action\":\"block\""), "{out}");
    assert!(lines[1].contains("line 2 is not valid UTF-8"), "{out}");
    assert!(lines[2].contains("\"action\":null"), "{out}");
    let mut batch = b"{\"expr\": \"ssl\", \"request\": {\"ssl\": true}}\n\xc3\x28\n".to_vec();
    batch.extend_from_slice(b"{\"expr\": \"ssl\", \"request\": {\"ssl\": false}}\n");
    let (code, out, err) = run(&["eval", "--batch", "-"], &batch);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1].contains("line 2 is not valid UTF-8"), "{out}");
}

/// Over the built-in catalogue, a request JSON may give raw request parts,
/// derived as the library's builder derives them; a field given by name
/// wins; an unknown key is an error naming it. With `--schema`, keys are
/// field names only.
#[test]
fn a_request_json_gives_raw_parts_or_fields_and_no_unknown_key() {
    let dir = std::env::temp_dir().join(format!("portcullis-parts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let rules = write(
        "rules.json",
        r#"{"rules": [
            {"id": "admin", "expression": "starts_with(http.request.uri.path, \"/admin\")", "action": "log"},
            {"id": "names", "expression": "any(http.request.headers.names[*] == \"X-Debug\")", "action": "log"},
            {"id": "https", "expression": "ssl and http.host == \"a.com\"", "action": "log"}
        ]}"#,
    );
    let parts = write(
        "parts.json",
        r#"{"method": "GET", "uri": "https://a.com:8443/public/%2e%2e//admin/x", "headers": [["X-Debug", "1"]]}"#,
    );
    let (code, out, err) = run(&["run", "--rules", &rules, "--request", &parts], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(r#""logged":["admin","names","https"]"#),
        "{out}"
    );
    let (code, out, _) = run(
        &[
            "eval",
            "http.request.uri.path == \"/given\"",
            "--request",
            &write(
                "both.json",
                r#"{"uri": "/derived", "http.request.uri.path": "/given"}"#,
            ),
        ],
        "",
    );
    assert_eq!((code, out.trim()), (0, "true"));
    let typo = write("typo.json", r#"{"uri": "/admin", "heders": {"Host": "a"}}"#);
    let (code, _, err) = run(&["run", "--rules", &rules, "--request", &typo], "");
    assert_eq!(code, 1);
    assert!(
        err.contains("`heders`") && err.contains("did you mean `headers`?"),
        "{err}"
    );
    let (code, out, _) = run(
        &["eval", "--batch", "-"],
        r#"{"expr": "http.request.uri.path == \"/admin\"", "request": {"uri": "/./admin"}}"#,
    );
    assert_eq!((code, out.trim()), (0, r#"{"result":true}"#));
    // A custom schema has no request parts: `uri` is an unknown field there.
    let (code, _, err) = run(
        &[
            "run",
            "--rules",
            "examples/iot/rules.json",
            "--request",
            &write("iot.json", r#"{"uri": "/"}"#),
            "--schema",
            "examples/iot/schema.json",
        ],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("`uri`: unknown field"), "{err}");
    let (code, out, _) = run(&["run", "--help"], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("REQUEST JSON") && out.contains("win over a derived value"),
        "{out}"
    );
}

/// Mistakes in how the tool is called are errors that say the fix, with the
/// documented exit codes: `eval` without a request (2), a misspelled rule
/// key (1, pointing at the file's line and column), `fields` offering only
/// the flag that applies.
#[test]
fn usage_mistakes_are_errors_that_say_the_fix() {
    let (code, _, err) = run(&["eval", "ssl"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("eval needs a request"), "{err}");
    let dir = std::env::temp_dir().join(format!("portcullis-usage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        "{\"rules\": [\n  {\"id\": \"a\", \"expression\": \"ssl\", \"action\": \"block\", \"enabeld\": false}\n]}",
    )
    .unwrap();
    let rules = rules.to_str().unwrap();
    let (code, _, err) = run(&["run", "--rules", rules, "--request", "-"], "{}");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("did you mean `enabled`?"), "{err}");
    assert!(err.contains(&format!("--> {rules}:2:55")), "{err}");
    let (code, out, _) = run(&["fields", "--help"], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("--schema") && !out.contains("--max-depth"),
        "{out}"
    );
}

/// The exit codes the README promises, command by command: 0 success, 1 an
/// invalid expression, rule set, schema or test file (or a failing test,
/// a lint under --deny, a file fmt --check finds not canonical), 2 an
/// input that cannot be read or is not JSON/TOML at all.
#[test]
fn every_command_exits_as_the_readme_says() {
    let dir = std::env::temp_dir().join(format!("portcullis-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let not_json = file("not.json", "{");
    let not_toml = file("not.toml", "x = [");
    let bad_rules = file(
        "bad.json",
        r#"{"rules": [{"id": "a", "expresion": "ssl", "action": "block"}]}"#,
    );
    let rules = file(
        "ok.json",
        r#"{"rules": [{"id": "a", "expression": "ssl", "action": "block"}]}"#,
    );
    let bad_schema = file("schema.json", r#"{"fields": {"Bad": "Int"}}"#);
    let request = file("req.json", r#"{"uri": "/"}"#);
    let failing = file(
        "tests.toml",
        "[[case]]\nname = \"x\"\nrequest = {}\nexpect = { action = \"block\" }\n",
    );
    let missing = dir.join("missing").to_str().unwrap().to_string();
    let cases: &[(&[&str], i32)] = &[
        (&["check", "ssl"], 0),
        (&["check", "ssl and"], 1),
        (&["check", "--rules", &rules], 0),
        (&["check", "--rules", &bad_rules], 1),
        (&["check", "--rules", &not_json], 2),
        (&["check", "--rules", &missing], 2),
        (&["eval", "--request", &request, "ssl"], 0),
        (&["eval", "--request", &request, "http.hots eq 1"], 1),
        (&["eval", "--request", &not_json, "ssl"], 2),
        (&["eval", "--request", &missing, "ssl"], 2),
        (&["eval", "ssl"], 2),
        (&["run", "--rules", &rules, "--request", &request], 0),
        (&["run", "--rules", &bad_rules, "--request", &request], 1),
        (&["run", "--rules", &not_json, "--request", &request], 2),
        (&["run", "--rules", &not_toml, "--request", &request], 2),
        (&["run", "--rules", &rules, "--request", &not_json], 2),
        (&["fields", "--schema", &bad_schema], 1),
        (&["fields", "--schema", &not_json], 2),
        (&["test", &rules, &failing], 1),
        (&["test", &rules, &not_toml], 2),
        (&["test", &rules, &missing], 2),
        (&["lint", "ssl"], 0),
        (&["lint", "--deny", "http.host eq \"A\""], 1),
        (&["lint", "--rules", &not_json], 2),
        (&["fmt", "ssl and"], 1),
        (&["fmt", "--check", "--rules", &rules], 1),
        (&["fmt", "--rules", &not_toml], 2),
        (&["disasm", "ssl and"], 1),
        (&["no-such-command"], 2),
    ];
    for (args, want) in cases {
        let (code, out, err) = run(args, "");
        assert_eq!(code, *want, "{args:?}\n{out}{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
