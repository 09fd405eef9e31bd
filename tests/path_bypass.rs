//! Path tricks must not get past rules on the normalised path.
//!
//! Every row of `tests/cases/path_bypass.txt` (a raw request target and the
//! path it normalises to), and a few generated very long ones, must give
//! that path and be decided by the rules below exactly as that path itself
//! is, through the three ways a request comes in: the builder,
//! `HttpRequest::from_json` and `portcullis run`. A property test then
//! checks that the three derive the same fields for random targets.

use portcullis::{Compiler, Filter, HttpRequest, Schema, Seq, Val};
use proptest::prelude::*;
use serde_json::json;

#[path = "support/cli.rs"]
mod support_cli;

use std::io::Write;

/// The rules every trick is decided by, with the ids the CLI logs them under.
const RULES: &[(&str, &str)] = &[
    ("prefix", r#"starts_with(http.request.uri.path, "/admin")"#),
    ("regex", r#"http.request.uri.path matches "^/admin(/|$)""#),
    ("php", r#"http.request.uri.path.extension eq "php""#),
];

struct Row {
    /// Where the row comes from (a line of the table, or a generated case).
    at: String,
    raw: Vec<u8>,
    want: Vec<u8>,
}

/// `\xHH` is byte HH; any other `\` is itself.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'\\'
            && b.get(k + 1) == Some(&b'x')
            && let Some(byte) = b
                .get(k + 2..k + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            k += 4;
            continue;
        }
        out.push(b[k]);
        k += 1;
    }
    out
}

fn rows() -> Vec<Row> {
    let text = include_str!("cases/path_bypass.txt");
    let mut rows: Vec<Row> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(k, l)| {
            let (raw, want) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("line {}: no tab in {l:?}", k + 1));
            Row {
                at: format!("path_bypass.txt:{}", k + 1),
                raw: unescape(raw),
                want: unescape(want),
            }
        })
        .collect();
    // Very long paths: 10,000 segments each (linear time, or this test would
    // not finish).
    let n = 10_000;
    let double = "/%252e%252e".repeat(n);
    for (name, raw, want) in [
        (
            "../ x 10000",
            format!("/{}admin/x", "../".repeat(n)),
            "/admin/x".to_string(),
        ),
        (
            "/a x 10000 then /.. x 10000",
            format!("{}{}/admin", "/a".repeat(n), "/..".repeat(n)),
            "/admin".to_string(),
        ),
        (
            "/%2e%2e x 10000",
            format!("{}/admin", "/%2e%2e".repeat(n)),
            "/admin".to_string(),
        ),
        (
            "./ x 10000",
            format!("/{}admin", "./".repeat(n)),
            "/admin".to_string(),
        ),
        (
            "/ x 10000",
            format!("{}admin", "/".repeat(n)),
            "/admin".to_string(),
        ),
        (
            "\\ x 10000",
            format!("{}admin\\x", "\\".repeat(n)),
            "/admin/x".to_string(),
        ),
        (
            "/%252e%252e x 10000",
            format!("/public{double}/admin"),
            format!("/public{double}/admin"),
        ),
    ] {
        rows.push(Row {
            at: format!("generated: {name}"),
            raw: raw.into_bytes(),
            want: want.into_bytes(),
        });
    }
    rows
}

fn filters() -> Vec<(&'static str, Filter)> {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    RULES
        .iter()
        .map(|(id, text)| (*id, compiler.compile(text).unwrap()))
        .collect()
}

/// The ids of the rules that match `req`, in rule order.
fn decide(filters: &[(&'static str, Filter)], req: &HttpRequest) -> Vec<&'static str> {
    filters
        .iter()
        .filter(|(_, f)| f.matches(req))
        .map(|(id, _)| *id)
        .collect()
}

fn path(req: &HttpRequest) -> Vec<u8> {
    match req.get_by_name("http.request.uri.path") {
        Some(Val::Bytes(b)) => b.into_owned(),
        other => panic!("no path: {other:?}"),
    }
}

fn target(raw: &[u8]) -> HttpRequest {
    HttpRequest::builder().uri(raw).build().unwrap()
}

/// Runs the CLI with `stdin`; its exit code, stdout and stderr.
fn cli(args: &[&str], stdin: Vec<u8>) -> (i32, String, String) {
    support_cli::run(args, stdin)
}

#[test]
fn the_table_has_the_tricks_it_promises() {
    let rows = rows();
    let caught = rows
        .iter()
        .filter(|r| r.want.starts_with(b"/admin"))
        .count();
    let outside = rows.len() - caught;
    assert!(caught >= 40, "{caught} tricks under /admin");
    assert!(outside >= 10, "{outside} non-bypasses");
    assert!(rows.iter().any(|r| std::str::from_utf8(&r.raw).is_err()));
    assert!(rows.iter().any(|r| r.raw.contains(&0)));
}

/// The builder gives each trick its normalised path, and the rules decide
/// it as they decide that path; `from_json` builds the very same request.
#[test]
fn every_trick_is_decided_as_its_normalised_path() {
    let filters = filters();
    for row in rows() {
        let at = &row.at;
        let trick = target(&row.raw);
        assert_eq!(
            String::from_utf8_lossy(&path(&trick)),
            String::from_utf8_lossy(&row.want),
            "{at}: the path of {:?}",
            String::from_utf8_lossy(&row.raw)
        );
        let canonical = target(&row.want);
        assert_eq!(
            path(&canonical),
            row.want,
            "{at}: the expected path is normal"
        );
        assert_eq!(
            decide(&filters, &trick),
            decide(&filters, &canonical),
            "{at}"
        );
        // JSON carries only UTF-8: the other rows are the builder's alone.
        if let Ok(raw) = std::str::from_utf8(&row.raw) {
            let from_json = HttpRequest::from_json_value(&json!({ "uri": raw })).unwrap();
            assert_eq!(from_json, trick, "{at}: from_json and the builder differ");
        }
    }
}

/// `portcullis run` logs, for each trick, the rules the builder's request
/// matches, and the same rules as for its normalised path.
#[test]
fn the_command_line_decides_every_trick_alike() {
    let filters = filters();
    let dir = std::env::temp_dir().join(format!("portcullis-bypass-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules_path = dir.join("rules.json");
    let rules: Vec<_> = RULES
        .iter()
        .map(|(id, e)| json!({"id": id, "expression": e, "action": "log"}))
        .collect();
    std::fs::write(&rules_path, json!({ "rules": rules }).to_string()).unwrap();
    let rows: Vec<Row> = rows()
        .into_iter()
        .filter(|r| std::str::from_utf8(&r.raw).is_ok())
        .collect();
    let mut stdin = Vec::new();
    for row in &rows {
        for uri in [&row.raw, &row.want] {
            let uri = String::from_utf8(uri.clone()).unwrap();
            writeln!(stdin, "{}", json!({"method": "GET", "uri": uri})).unwrap();
        }
    }
    let (code, out, err) = cli(
        &[
            "run",
            "--rules",
            rules_path.to_str().unwrap(),
            "--requests",
            "-",
        ],
        stdin,
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2 * rows.len(), "{out}");
    for (row, pair) in rows.iter().zip(lines.chunks(2)) {
        let want: Vec<serde_json::Value> = decide(&filters, &target(&row.raw))
            .into_iter()
            .map(|id| json!(id))
            .collect();
        assert_eq!(pair[0]["logged"], json!(want), "{}: the trick", row.at);
        assert_eq!(pair[1]["logged"], json!(want), "{}: its path", row.at);
    }
}

/// Targets built from the pieces path tricks are made of, in every form.
fn tricky_target() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "/", "\\", ".", "..", "%2e", "%2E", "%252e", "%41", "%2f", "%", "%zz", "a", "admin",
        ".php", ";", "?", "&", "=", "#", " ", "\u{0}", "\u{e9}", "+", "x=%41", "*", ":1",
    ]);
    let prefix = prop::sample::select(vec!["", "/", "https://h.example", "http://u@h:8080"]);
    (prefix, prop::collection::vec(piece, 0..16)).prop_map(|(p, v)| format!("{p}{}", v.concat()))
}

/// The fields a target and headers derive, compared across the three ways in.
const COMPARED: &[&str] = &[
    "ssl",
    "http.host",
    "http.request.full_uri",
    "http.request.uri",
    "http.request.uri.path",
    "http.request.uri.path.extension",
    "http.request.uri.query",
    "http.request.uri.args.names",
    "http.request.uri.args.values",
    "http.request.headers.names",
    "http.request.headers.values",
    "raw.http.request.full_uri",
    "raw.http.request.uri",
    "raw.http.request.uri.path",
    "raw.http.request.uri.path.extension",
    "raw.http.request.uri.query",
    "raw.http.request.uri.args.names",
    "raw.http.request.uri.args.values",
];

/// A string literal of the language for any bytes.
fn literal(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        if c.is_ascii_alphanumeric() || c == b'/' {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s.push('"');
    s
}

/// An expression that is true exactly when field `name` is `value`.
fn equals(name: &str, value: &Val<'_>) -> String {
    match value {
        Val::Missing => format!("not len({name}) >= 0"),
        Val::Bool(true) => name.to_string(),
        Val::Bool(false) => format!("not {name}"),
        Val::Bytes(b) => format!("{name} == {}", literal(b)),
        Val::Array(Seq::Values(items)) => {
            let mut tests = vec![format!("len({name}) == {}", items.len())];
            for (k, item) in items.iter().enumerate() {
                match item.as_val() {
                    Val::Bytes(b) => tests.push(format!("{name}[{k}] == {}", literal(&b))),
                    other => panic!("{name}[{k}]: {other:?}"),
                }
            }
            format!("({})", tests.join(" and "))
        }
        other => panic!("{name}: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For random targets (with header names in mixed case), the builder,
    /// `HttpRequest::from_json` and the CLI's request JSON derive the same
    /// fields.
    #[test]
    fn the_three_ways_in_derive_the_same_fields(targets in prop::collection::vec(tricky_target(), 16)) {
        let mut batch = Vec::new();
        for t in &targets {
            let built = HttpRequest::builder()
                .method("GET")
                .scheme("https")
                .uri(t)
                .header("X-Mixed-Case", "1")
                .header("host", "Host.Example")
                .build()
                .unwrap();
            let request = json!({
                "method": "GET",
                "scheme": "https",
                "uri": t,
                "headers": [["X-Mixed-Case", "1"], ["host", "Host.Example"]],
            });
            let from_json = HttpRequest::from_json_value(&request).unwrap();
            prop_assert_eq!(&from_json, &built, "{:?}", t);
            let expr: Vec<String> = COMPARED
                .iter()
                .map(|name| equals(name, &built.get_by_name(name).unwrap()))
                .collect();
            writeln!(batch, "{}", json!({"expr": expr.join(" and "), "request": request})).unwrap();
        }
        let (code, out, err) = cli(&["eval", "--batch", "-", "--max-length", "1000000"], batch);
        prop_assert_eq!(code, 0, "{}", err);
        let results: Vec<&str> = out.lines().collect();
        prop_assert_eq!(results.len(), targets.len());
        for (t, line) in targets.iter().zip(results) {
            prop_assert_eq!(line, r#"{"result":true}"#, "{:?}", t);
        }
    }
}
