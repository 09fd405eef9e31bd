//! Attacker-written requests: huge maps and arrays, 1 MiB bodies, bytes that
//! are not UTF-8, deeply nested JSON, percent-encoding bombs. Evaluation must
//! finish with an answer (bounded work, documented in the README) and agree
//! with the reference evaluator.

use portcullis::HttpRequest;
use portcullis::{Compiler, Schema, Value};

fn check(req: &HttpRequest, cases: &[(&str, bool)]) {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    for (text, want) in cases {
        let filter = compiler
            .compile(text)
            .unwrap_or_else(|e| panic!("`{text}`: {e}"));
        assert_eq!(filter.matches(req), *want, "`{text}`");
        let checked = compiler.check(text).unwrap();
        assert_eq!(
            portcullis::test_support::reference_matches(&checked, req, compiler.lists()),
            *want,
            "reference: `{text}`"
        );
    }
}

#[test]
fn ten_thousand_headers() {
    let mut b = HttpRequest::builder().method("GET").uri("/");
    for k in 0..10_000 {
        b = b.header(&format!("x-h{k}"), format!("v{k}"));
    }
    let req = b.header("X-Last", "\u{ff}\u{fe}").build().unwrap();
    check(
        &req,
        &[
            (r#"any(http.request.headers.names[*] == "x-h9999")"#, true),
            // Names as received; map keys lowercased.
            (r#"all(http.request.headers.names[*] contains "x-")"#, false),
            (r#"any(http.request.headers.names[*] == "X-Last")"#, true),
            (
                r#"all(lower(http.request.headers.names[*])[*] contains "x-")"#,
                true,
            ),
            (r#"has_key(http.request.headers, "x-last")"#, true),
            (r#"len(http.request.headers) == 10001"#, true),
            (r#"http.request.headers["x-h5000"][0] == "v5000""#, true),
            (
                r#"any(lower(http.request.headers.values[*])[*] == "v42")"#,
                true,
            ),
            (r#"has_key(http.request.headers, "x-h10000")"#, false),
        ],
    );
}

#[test]
fn one_mebibyte_body_and_non_utf8_bytes() {
    let mut body = vec![0xffu8; 1 << 20];
    body.extend_from_slice(b"needle\x00\x80");
    // Past the default body limit (128 KiB) the body fields see a prefix.
    let cut = HttpRequest::builder()
        .body(&body, "application/octet-stream")
        .build()
        .unwrap();
    check(
        &cut,
        &[
            (r#"http.request.body.raw contains "needle""#, false),
            (
                r#"http.request.body.truncated and http.request.body.size == 1048584"#,
                true,
            ),
            (r#"len(http.request.body.raw) == 131072"#, true),
        ],
    );
    let req = HttpRequest::builder()
        .body_limit(2 << 20)
        .body(&body, "application/octet-stream")
        .field("http.host", Value::Bytes(vec![0xc3, 0x28, b'a']))
        .build()
        .unwrap();
    check(
        &req,
        &[
            (r#"http.request.body.raw contains "needle""#, true),
            (r#"http.request.body.raw matches "needle\x00""#, true),
            (r#"http.request.body.size > 1000000"#, true),
            (r#"http.request.body.raw wildcard "*needle*""#, true),
            (r#"http.host contains 28:61"#, true),
            (r#"lower(http.host) == "\xc3(a""#, true),
            (r#"upper(http.host) == "\xc3(A""#, true),
            (r#"len(url_decode(http.request.body.raw)) == 1048584"#, true),
            (
                r#"len(encode_base64(http.request.body.raw)) > 1398100"#,
                true,
            ),
        ],
    );
}

#[test]
fn deeply_nested_json_is_missing_not_a_crash() {
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let fine = r#"{"a": {"b": [1, {"c": "x"}]}}"#;
    for (doc, lookup, want) in [
        (
            deep.as_str(),
            r#"lookup_json_integer(http.request.body.raw, 0) == 1"#,
            false,
        ),
        (
            deep.as_str(),
            r#"not lookup_json_string(http.request.body.raw, 0) == "x""#,
            true,
        ),
        (
            fine,
            r#"lookup_json_string(http.request.body.raw, "a", "b", 1, "c") == "x""#,
            true,
        ),
        (
            fine,
            r#"lookup_json_integer(http.request.body.raw, "a", "b", 0) == 1"#,
            true,
        ),
        (
            fine,
            r#"lookup_json_string(http.request.body.raw, "a", "b", 0) == "1""#,
            false,
        ),
        (
            "{not json",
            r#"not lookup_json_string(http.request.body.raw, "a") == "x""#,
            true,
        ),
    ] {
        let req = HttpRequest::builder()
            .body(doc.as_bytes(), "application/json")
            .build()
            .unwrap();
        check(&req, &[(lookup, want)]);
    }
}

#[test]
fn percent_encoding_bombs_are_bounded() {
    // Each recursive pass peels one layer: %25 -> %, so 40 layers of "%25"
    // need 40 passes; the engine stops after 16 and keeps what is left.
    let bomb = "%25".repeat(40) + "41";
    let long = "%2541".repeat(200_000);
    let req = HttpRequest::builder()
        .uri(format!("/?q={bomb}&z={long}"))
        .build()
        .unwrap();
    check(
        &req,
        &[
            (
                r#"url_decode(http.request.uri.query, "r") contains "%""#,
                true,
            ),
            (
                r#"len(url_decode(raw.http.request.uri.query, "r")) < len(raw.http.request.uri.query)"#,
                true,
            ),
            (r#"url_decode("%2541", "r") == "A""#, true),
            (r#"url_decode("%u0041%zz%", "u") == "A%zz%""#, true),
        ],
    );
}

/// Every reader of nested input (schema types, rule files in JSON and TOML,
/// request JSON, list files) refuses input nested a million levels deep with
/// an error, on a thread with a 2 MiB stack: none recurses without bound.
#[test]
fn million_level_nesting_is_an_error_in_every_reader() {
    const LEVELS: usize = 1_000_000;
    let on_small_stack = |what: &'static str, f: Box<dyn FnOnce() -> bool + Send>| {
        let ok = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap_or_else(|_| panic!("{what}: panicked"));
        assert!(ok, "{what}: accepted a million levels");
    };
    let arrays = "[".repeat(LEVELS) + &"]".repeat(LEVELS);
    let tables = "a = ".to_string() + &"[".repeat(LEVELS) + &"]".repeat(LEVELS);
    let inline = "a = ".to_string() + &"{b = ".repeat(LEVELS) + "1" + &"}".repeat(LEVELS);
    let schema_type = "Array<".repeat(LEVELS) + "Int" + &">".repeat(LEVELS);
    let a = arrays.clone();
    on_small_stack(
        "rule set JSON",
        Box::new(move || portcullis::RuleSet::from_json(&format!(r#"{{"rules": {a}}}"#)).is_err()),
    );
    on_small_stack(
        "rule set TOML (arrays)",
        Box::new(move || portcullis::RuleSet::from_toml(&tables).is_err()),
    );
    on_small_stack(
        "rule set TOML (inline tables)",
        Box::new(move || portcullis::RuleSet::from_toml(&inline).is_err()),
    );
    on_small_stack(
        "schema JSON",
        Box::new(move || {
            Schema::from_json(&format!(r#"{{"fields": {{"x": "{schema_type}"}}}}"#)).is_err()
        }),
    );
    let a = arrays.clone();
    on_small_stack(
        "request JSON",
        Box::new(move || {
            let schema = Schema::default_http();
            portcullis::Context::from_json(&schema, &format!(r#"{{"http.host": {a}}}"#)).is_err()
        }),
    );
    let a = arrays;
    on_small_stack(
        "lists JSON",
        Box::new(move || {
            let schema = Schema::default_http().with_list("l", portcullis::Type::Bytes);
            let compiler = Compiler::new(&schema);
            compiler
                .lists()
                .load_json(&format!(r#"{{"l": {a}}}"#))
                .is_err()
        }),
    );
}
