//! Embedder-registered functions are checked and evaluated like built-ins.

use portcullis::UserFunction;
use portcullis::{Compiler, Context, Schema, Type, Val, Value};
use std::borrow::Cow;

fn schema() -> Schema {
    let is_internal = UserFunction::new(
        "is_internal",
        vec![Type::Ip],
        Type::Bool,
        |args| match args.first() {
            Some(Val::Ip(ip)) => Val::Bool(match ip {
                std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_loopback(),
                std::net::IpAddr::V6(v6) => v6.is_loopback(),
            }),
            _ => Val::Missing,
        },
    );
    // `head(s [, n])`: the first n bytes (default 3), borrowed from the input.
    let head = UserFunction::new("head", vec![Type::Bytes, Type::Int], Type::Bytes, |args| {
        let n = match args.get(1) {
            Some(Val::Int(n)) => (*n).max(0) as usize,
            _ => 3,
        };
        match args.first() {
            Some(Val::Bytes(Cow::Borrowed(b))) => Val::Bytes(Cow::Borrowed(&b[..n.min(b.len())])),
            Some(Val::Bytes(b)) => Val::Bytes(Cow::Owned(b[..n.min(b.len())].to_vec())),
            _ => Val::Missing,
        }
    })
    .with_optional(1);
    let mut b = Schema::builder();
    for (name, def) in Schema::default_http().fields() {
        let _ = name;
        b = b.field(&def.name, def.ty.clone());
    }
    b.function(is_internal).function(head).build().unwrap()
}

#[test]
fn user_functions_evaluate_like_built_ins() {
    let schema = schema();
    let compiler = Compiler::new(&schema);
    let mut cx = Context::new(&schema);
    cx.set("ip.src", Value::Ip("10.1.2.3".parse().unwrap()))
        .unwrap();
    cx.set("http.host", Value::Bytes(b"api.example.com".to_vec()))
        .unwrap();
    cx.set(
        "http.request.headers.names",
        Value::Array(vec![
            Value::Bytes(b"x-abc".to_vec()),
            Value::Bytes(b"accept".to_vec()),
        ]),
    )
    .unwrap();
    let cases: &[(&str, bool)] = &[
        ("is_internal(ip.src)", true),
        ("not is_internal(ip.src)", false),
        ("is_internal(ip.dst)", false), // missing argument: missing result
        ("not is_internal(ip.dst)", true),
        (r#"head(http.host) == "api""#, true),
        (r#"head(http.host, 5) == "api.e""#, true),
        (r#"head(http.referer) == """#, false),
        (
            r#"any(head(http.request.headers.names[*], 2)[*] == "x-")"#,
            true,
        ),
        (
            r#"is_internal(192.168.1.1) and head("abcdef", 1) == "a""#,
            true,
        ),
    ];
    for (text, want) in cases {
        let filter = compiler
            .compile(text)
            .unwrap_or_else(|e| panic!("`{text}`: {e}"));
        assert_eq!(filter.matches(&cx), *want, "`{text}`");
        let checked = compiler.check(text).unwrap();
        assert_eq!(
            portcullis::test_support::reference_matches(&checked, &cx, compiler.lists()),
            *want,
            "reference: `{text}`"
        );
    }
}

#[test]
fn user_function_signatures_are_checked() {
    let schema = schema();
    let compiler = Compiler::new(&schema);
    let cases: &[(&str, &str)] = &[
        (
            "is_internal(http.host)",
            "argument 1 of `is_internal` must be an Ip",
        ),
        (
            "is_internal()",
            "`is_internal` takes 1 argument, but 0 were given",
        ),
        (
            "head(http.host, 1, 2) == \"a\"",
            "`head` takes 1 to 2 arguments",
        ),
        (
            "head(http.host) == 3",
            "is a String, but integer `3` is not",
        ),
        ("is_intrenal(ip.src)", "unknown function `is_intrenal`"),
    ];
    for (text, fragment) in cases {
        let e = compiler
            .compile(text)
            .err()
            .unwrap_or_else(|| panic!("`{text}` was accepted"));
        assert!(e.to_string().contains(fragment), "`{text}`: {e}");
    }
}

#[test]
fn a_user_function_cannot_hide_a_built_in() {
    let f = UserFunction::new("lower", vec![Type::Bytes], Type::Bytes, |_| Val::Missing);
    let e = Schema::builder().function(f).build().unwrap_err();
    assert!(e.to_string().contains("would hide the built-in"), "{e}");
}

#[test]
fn a_pattern_used_by_many_rules_is_compiled_once() {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let mut rules = Vec::new();
    for k in 0..50 {
        rules.push(serde_json::json!({"id": format!("r{k}"), "expression": format!("http.request.uri.path matches \"^/v[0-9]+/\" and tcp.dstport == {k}"), "action": "log"}));
        rules.push(serde_json::json!({"id": format!("s{k}"), "expression": "regex_replace(http.host, \"^www[.]\", \"\") == \"a.com\"", "action": "log"}));
    }
    let text = serde_json::json!({ "rules": rules }).to_string();
    let set = portcullis::RuleSet::from_json(&text)
        .unwrap()
        .compile(&compiler)
        .unwrap();
    assert_eq!(set.len(), 100);
    assert_eq!(
        compiler.regex_count(),
        2,
        "two distinct patterns, each compiled once"
    );
}
