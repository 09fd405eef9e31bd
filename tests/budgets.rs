//! Value budgets: no expression, however it nests its transforms, can make
//! an evaluation build unbounded values. Expressions whose values could
//! outgrow their inputs past `max_value_growth` are rejected when checked;
//! at evaluation, a function that would build a value past
//! `max_value_bytes` (or past what is left of `max_evaluation_bytes`)
//! yields missing instead, without building it.

use portcullis::{Compiler, Context, ErrorKind, Limits, Schema, Stage};

/// `f(X)` nested `n` times around `x`, where `f` is written with `X`.
fn nested(f: &str, x: &str, n: usize) -> String {
    (0..n).fold(x.to_string(), |inner, _| f.replace('X', &inner))
}

fn request<'s>(schema: &'s Schema, host: &str) -> Context<'s> {
    let mut cx = Context::new(schema);
    cx.set("http.host", host.into()).unwrap();
    cx
}

/// The issue's reproductions: short expressions whose values grow
/// exponentially with their nesting (9^11 times for the first, a 689-byte
/// expression that allocated a gigabyte).
fn reproductions() -> Vec<String> {
    let eight = "${0}".repeat(8);
    vec![
        nested(
            &format!(r#"regex_replace(X, "(?s).*", "{eight}")"#),
            "http.host",
            11,
        ),
        nested(
            &format!(r#"wildcard_replace(X, "*", "{}")"#, "${1}".repeat(8)),
            "http.host",
            11,
        ),
        nested("encode_base64(X)", "http.host", 100),
    ]
}

#[test]
fn expressions_that_outgrow_their_inputs_are_rejected_where_they_do() {
    let schema = Schema::default_http();
    // Long enough for `concat(X, X)` nested eleven times (2^11 copies).
    let compiler = Compiler::new(&schema).with_limits(Limits {
        max_length: 1 << 16,
        ..Limits::default()
    });
    let mut grows = reproductions();
    grows.extend([
        nested("concat(X, X)", "http.host", 11),
        nested(r#"join(split(X, "a"), "aaaa")"#, "http.host", 6),
    ]);
    for text in &grows {
        let full = format!("{text} == \"x\"");
        let e = compiler.compile(&full).unwrap_err();
        assert_eq!(
            (e.kind(), e.stage()),
            (ErrorKind::Limit, Stage::Check),
            "{e}"
        );
        assert!(e.message().contains("max_value_growth"), "{e}");
        // The span is the call where the growth crosses the limit.
        let span = e.span().unwrap();
        let message = e.message();
        let named = message.split('`').nth(1).unwrap().trim_end_matches("(…)");
        assert!(full[span.start..span.end].starts_with(named), "{e}");
        assert!(full[span.start..span.end].ends_with(')'), "{e}");
    }
    // What rules really do grows little and is accepted.
    for text in [
        r#"regex_replace(http.request.uri.path, "^/v[0-9]+/", "/") == "/a""#,
        r#"regex_replace(http.host, "(a)(b)", "${2}${1}") == "ba""#,
        r#"concat(http.host, http.request.uri.path) == "a/""#,
        r#"encode_base64(encode_base64(http.host)) == "x""#,
        r#"wildcard_replace(http.host, "*.example.com", "${1}") == "api""#,
        r#"lower(url_decode(url_decode(http.request.uri.query))) contains "<script""#,
    ] {
        assert!(compiler.compile(text).is_ok(), "{text}");
    }
}

#[test]
fn values_past_the_per_value_budget_are_missing_not_built() {
    let schema = Schema::default_http();
    let limits = Limits {
        max_value_bytes: 100,
        ..Limits::default()
    };
    let compiler = Compiler::new(&schema).with_limits(limits.clone());
    let doubled = compiler
        .compile("len(concat(http.host, http.host)) > 0")
        .unwrap();
    let missing = compiler
        .compile("not len(concat(http.host, http.host)) >= 0")
        .unwrap();
    for (host_len, fits) in [(10, true), (50, true), (51, false), (400, false)] {
        let cx = request(&schema, &"a".repeat(host_len));
        assert_eq!(doubled.matches(&cx), fits, "host of {host_len} bytes");
        assert_eq!(missing.matches(&cx), !fits, "host of {host_len} bytes");
    }
    // Every growing function keeps to it: replacements, base64, joins, and
    // the functions that copy their input (lower of a value too long).
    let cx = request(&schema, &"A".repeat(80));
    for text in [
        r#"len(regex_replace(http.host, "^", "${0}${0}xxxxxxxxxxxxxxxxxxxxxxx")) >= 0"#,
        r#"len(wildcard_replace(http.host, "*", "${1}${1}")) >= 0"#,
        "len(encode_base64(http.host)) >= 0",
        r#"len(join(split(http.host, "A"), "--")) >= 0"#,
        r#"len(lower(concat(http.host, "012345678901234567890"))) >= 0"#,
    ] {
        let f = compiler.compile(text).unwrap();
        assert!(!f.matches(&cx), "`{text}` built a value past the budget");
    }
    let small = request(&schema, "ab");
    let f = compiler
        .compile(r#"regex_replace(http.host, "(a)", "${1}${1}") == "aab""#)
        .unwrap();
    assert!(f.matches(&small), "small values are built as before");
}

#[test]
fn an_evaluation_has_a_total_budget() {
    let schema = Schema::default_http();
    let text =
        r#"concat(http.host, "1") == concat(http.host, "1") and concat(http.host, "2") != """#;
    let cx = request(&schema, &"h".repeat(40));
    let roomy = Compiler::new(&schema).compile(text).unwrap();
    assert!(roomy.matches(&cx));
    // Three values of 41 bytes: the third is past a total of 100.
    let tight = Compiler::new(&schema)
        .with_limits(Limits {
            max_evaluation_bytes: 100,
            ..Limits::default()
        })
        .compile(text)
        .unwrap();
    assert!(!tight.matches(&cx));
    // The budget is per evaluation: the next one starts afresh.
    assert!(!tight.matches(&cx));
    assert!(tight.matches(&request(&schema, "h")));
}

#[test]
fn the_reproductions_evaluate_within_bounds_when_let_through() {
    // With the static estimate switched off, the runtime budgets still hold.
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema).with_limits(Limits {
        max_value_growth: usize::MAX,
        max_length: 1 << 16,
        ..Limits::default()
    });
    let cx = request(&schema, "a");
    for text in reproductions() {
        let f = compiler.compile(&format!("len({text}) > 0")).unwrap();
        // Missing once a level passes 4 MiB: the comparison is false.
        assert!(!f.matches(&cx), "{}", &text[..40]);
    }
}

#[test]
fn regexes_whose_worst_search_is_too_long_are_rejected() {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    // Thousands of states stepped per byte: seconds per megabyte.
    for text in [
        r#"http.request.body.raw matches "(a|b)*a(a|b){2000}c""#,
        r#"http.request.body.raw matches "x[0-9a-f]{1500}y""#,
        r#"regex_replace(http.host, "(a|b){3000}", "") == """#,
    ] {
        let e = compiler.compile(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit, "{e}");
        assert!(e.message().contains("max_regex_work"), "{e}");
    }
    for text in [
        r#"http.request.uri.path matches "^/api/v[0-9]+/users/[0-9]+$""#,
        r#"http.request.body.raw matches "[a-z]{300}x""#,
        r#"http.user_agent matches "(?i)(curl|wget|python-requests)/[0-9.]+""#,
    ] {
        assert!(compiler.compile(text).is_ok(), "{text}");
    }
}

#[test]
fn json_lookups_in_one_evaluation_parse_within_the_budget() {
    let schema = Schema::default_http();
    // A 1 MiB body looked up 58 times is parsed once: the lookups fit in a
    // 4 MiB evaluation budget.
    let doc = format!(r#"{{"pad": "{}", "role": "admin"}}"#, "x".repeat(1 << 20));
    let mut cx = Context::new(&schema);
    cx.set("http.request.body.raw", doc.as_str().into())
        .unwrap();
    let compiler = Compiler::new(&schema).with_limits(Limits {
        max_evaluation_bytes: 4 << 20,
        max_length: 1 << 16,
        ..Limits::default()
    });
    let lookups = |doc: &str, n: usize| {
        (0..n)
            .map(|_| format!(r#"lookup_json_string({doc}, "role") == "admin""#))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let body = "http.request.body.raw";
    assert!(
        compiler.compile(&lookups(body, 58)).unwrap().matches(&cx),
        "parsed once"
    );
    // A document that functions build is parsed at each lookup (it may be
    // a different one each time), and each parse costs its length: past the
    // budget the lookups are missing.
    let built = r#"concat(http.request.body.raw, "")"#;
    let all = compiler.compile(&lookups(built, 58)).unwrap();
    assert!(!all.matches(&cx), "58 parses of 1 MiB went past 4 MiB");
    assert!(
        compiler.compile(&lookups(built, 1)).unwrap().matches(&cx),
        "one parse fits"
    );
    // A body larger than the whole budget is never parsed.
    let big = format!(r#"{{"pad": "{}", "role": "admin"}}"#, "x".repeat(5 << 20));
    cx.set("http.request.body.raw", big.as_str().into())
        .unwrap();
    assert!(!compiler.compile(&lookups(body, 1)).unwrap().matches(&cx));
    // Different documents in one evaluation each get their answer.
    let mut cx = Context::new(&schema);
    cx.set("http.request.body.raw", r#"{"role": "admin"}"#.into())
        .unwrap();
    cx.set("http.cookie", r#"{"role": "guest"}"#.into())
        .unwrap();
    let both = compiler
        .compile(r#"lookup_json_string(http.request.body.raw, "role") == "admin" and lookup_json_string(http.cookie, "role") == "guest" and lookup_json_string(http.request.body.raw, "role") == "admin""#)
        .unwrap();
    assert!(both.matches(&cx));
}
