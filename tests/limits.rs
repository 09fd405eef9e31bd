//! Limits and hostile inputs: deep nesting, long chains, long expressions.
//! Every case must end with a result or a clear error, never a crash.

use portcullis::{Compiler, Context, Error, Limits, Schema};

fn raised() -> Limits {
    Limits {
        max_length: 10_000_000,
        max_depth: 100_000,
        ..Limits::default()
    }
}

fn compile(text: &str, limits: Limits) -> Result<portcullis::Filter, Error> {
    let schema = Schema::default_http();
    Compiler::new(&schema).with_limits(limits).compile(text)
}

#[test]
fn hundred_thousand_deep_parentheses_end_in_a_limit_error() {
    let n = 100_000;
    let text = format!("{}ssl{}", "(".repeat(n), ")".repeat(n));
    let e = compile(&text, raised()).unwrap_err();
    assert!(matches!(e, Error::Limit { .. }), "{e}");
    assert!(e.to_string().contains("caps `max_depth` at 256"), "{e}");
}

#[test]
fn hundred_thousand_nots_and_calls_end_in_a_limit_error() {
    let n = 100_000;
    for text in [
        format!("{}ssl", "not ".repeat(n)),
        format!("{}ssl", "!".repeat(n)),
        format!("{}http.host{} == \"a\"", "lower(".repeat(n), ")".repeat(n)),
    ] {
        let e = compile(&text, raised()).unwrap_err();
        assert!(matches!(e, Error::Limit { .. }), "{e}");
    }
}

#[test]
fn nesting_at_the_hard_cap_compiles_and_evaluates() {
    // 255 parentheses plus the comparison: within the cap of 256, on a test
    // thread's stack, in a debug build.
    let n = 255;
    let text = format!("{}http.host == \"a\"{}", "(".repeat(n), ")".repeat(n));
    let schema = Schema::default_http();
    let filter = Compiler::new(&schema)
        .with_limits(raised())
        .compile(&text)
        .unwrap();
    let mut cx = Context::new(&schema);
    cx.set("http.host", portcullis::Value::Bytes(b"a".to_vec()))
        .unwrap();
    assert!(filter.matches(&cx));
    let ast = portcullis::parse_with(&text, &raised()).unwrap();
    let printed = ast.to_string();
    assert!(
        portcullis::parse_with(&printed, &raised())
            .unwrap()
            .same_shape(&ast)
    );
    let json = serde_json::to_string(&ast).unwrap();
    assert!(!json.is_empty());
}

#[test]
fn default_depth_limit_is_128() {
    let ok = format!("{}ssl{}", "(".repeat(127), ")".repeat(127));
    assert!(compile(&ok, Limits::default()).is_ok());
    let deep = format!("{}ssl{}", "(".repeat(129), ")".repeat(129));
    let e = compile(&deep, Limits::default()).unwrap_err();
    assert!(e.to_string().contains("nesting deeper than 128"), "{e}");
}

#[test]
fn hundred_thousand_or_terms_are_a_flat_chain() {
    let n = 100_000;
    let text = (0..n)
        .map(|k| format!("tcp.dstport == {k}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let limits = Limits {
        max_instructions: 1_000_000,
        ..raised()
    };
    let ast = portcullis::parse_with(&text, &limits).unwrap();
    match &ast {
        portcullis::Expr::Logical { terms, .. } => assert_eq!(terms.len(), n),
        other => panic!("not a chain: {other:?}"),
    }
    let printed = ast.to_string();
    assert!(printed.starts_with("tcp.dstport eq 0 or tcp.dstport eq 1"));
    let filter = compile(&text, limits).unwrap();
    let schema = Schema::default_http();
    let mut cx = Context::new(&schema);
    cx.set("tcp.dstport", portcullis::Value::Int(99_999))
        .unwrap();
    assert!(filter.matches(&cx));
    drop(ast);
}

#[test]
fn length_limit_is_enforced_with_a_clear_message() {
    let text = format!("http.host == \"{}\"", "a".repeat(5000));
    let e = compile(&text, Limits::default()).unwrap_err();
    assert!(e.to_string().contains("the limit is 4096 bytes"), "{e}");
    assert!(compile(&text, raised()).is_ok());
}

#[test]
fn instruction_cap_is_enforced() {
    // Order comparisons are not merged into a set by the optimizer.
    let text = (0..100)
        .map(|k| format!("tcp.dstport > {k}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let limits = Limits {
        max_instructions: 50,
        ..Limits::default()
    };
    let e = compile(&text, limits).unwrap_err();
    assert!(e.to_string().contains("more than 50 instructions"), "{e}");
}

#[test]
fn regex_count_and_size_limits_are_enforced() {
    let many = (0..65)
        .map(|k| format!("http.host matches \"a{k}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let e = compile(&many, Limits::default()).unwrap_err();
    assert!(e.to_string().contains("more than 64 regexes"), "{e}");
    let big = "http.host matches \"(\\w{100}){100}\"";
    let limits = Limits {
        max_regex_size: 100_000,
        ..Limits::default()
    };
    let e = compile(big, limits).unwrap_err();
    assert!(matches!(e, Error::Limit { .. }), "{e}");
}

#[test]
fn caret_rendering_survives_columns_past_65535() {
    let text = format!("http.host == \"{}\" and NOPE", "a".repeat(70_000));
    let e = compile(&text, raised()).unwrap_err();
    let shown = e.render(&text);
    assert!(shown.contains("1:70021"), "{shown}");
    assert!(
        shown.lines().all(|l| l.chars().count() < 200),
        "window keeps lines short"
    );
    assert!(shown.contains('^'));
}

#[test]
fn instruction_cap_holds_alike_whether_instructions_are_kept_or_not() {
    // Rules the compiler lowers straight to branches (the first five) count
    // the instructions they would have emitted; the cap sits exactly there.
    let schema = Schema::default_http();
    for text in [
        "tcp.dstport > 1",
        r#"not (ssl or tcp.dstport > 1) and http.host contains "a""#,
        r#"http.request.uri.path matches "^/(a|b/)" or http.host != "x""#,
        r#"http.host in {"a" "b"} and (ip.src in {10.0.0.0/8} or not ssl)"#,
        "true",
        "ssl xor tcp.dstport == 80",
    ] {
        let full = Compiler::new(&schema).keep_instructions(true);
        let n = portcullis::test_support::instruction_count(&full.compile(text).unwrap());
        for cap in [n - 1, n] {
            let limits = Limits {
                max_instructions: cap,
                ..Limits::default()
            };
            let kept = full.clone().with_limits(limits.clone()).compile(text);
            let lean = Compiler::new(&schema).with_limits(limits).compile(text);
            assert_eq!(kept.is_ok(), cap == n, "`{text}` with cap {cap}");
            assert_eq!(lean.is_ok(), kept.is_ok(), "`{text}` with cap {cap}");
        }
    }
}
