//! The embedder's surface: what is at the crate root, and how its types
//! convert, display and serialize.

use portcullis::{
    Action, Compiler, Context, ErrorKind, HttpRequest, RuleSet, RuleSetHandle, Schema, Stage,
    Value, Verdict,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[test]
fn values_come_from_the_natural_rust_types() {
    let cases: Vec<(Value, Value)> = vec![
        ("a.com".into(), Value::Bytes(b"a.com".to_vec())),
        (String::from("a").into(), Value::Bytes(b"a".to_vec())),
        (b"\x00\xff"[..].into(), Value::Bytes(vec![0, 255])),
        (vec![1u8, 2].into(), Value::Bytes(vec![1, 2])),
        (443i64.into(), Value::Int(443)),
        (8080u16.into(), Value::Int(8080)),
        (true.into(), Value::Bool(true)),
        (
            IpAddr::from([192, 0, 2, 1]).into(),
            Value::Ip(IpAddr::from([192, 0, 2, 1])),
        ),
        (
            Ipv4Addr::new(10, 0, 0, 1).into(),
            Value::Ip(IpAddr::from([10, 0, 0, 1])),
        ),
        // IPv4-mapped IPv6 is the IPv4 address, as everywhere else.
        (
            "::ffff:192.0.2.1".parse::<Ipv6Addr>().unwrap().into(),
            Value::Ip(IpAddr::from([192, 0, 2, 1])),
        ),
        (
            vec!["a", "b"].into(),
            Value::Array(vec![
                Value::Bytes(b"a".to_vec()),
                Value::Bytes(b"b".to_vec()),
            ]),
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    // They go straight into a request.
    let schema = Schema::default_http();
    let mut cx = Context::new(&schema);
    cx.set("http.host", "a.com".into()).unwrap();
    cx.set("tcp.dstport", 443u16.into()).unwrap();
    cx.set("ssl", true.into()).unwrap();
    let f = Compiler::new(&schema)
        .compile(r#"http.host == "a.com" and tcp.dstport == 443 and ssl"#)
        .unwrap();
    assert!(f.matches(&cx));
}

#[test]
fn actions_and_verdicts_display_and_serialize_as_rule_files_name_them() {
    for (action, name) in [
        (Action::Block, "block"),
        (Action::JsChallenge, "js_challenge"),
        (Action::ManagedChallenge, "managed_challenge"),
        (Action::Skip, "skip"),
    ] {
        assert_eq!(action.to_string(), name);
        assert_eq!(
            serde_json::to_value(action).unwrap(),
            serde_json::json!(name)
        );
    }
    let set = RuleSet::from_json(
        r#"{"rules": [
            {"id": "log-api", "expression": "http.host == \"api.a.com\"", "action": "log"},
            {"id": "no-cert", "expression": "not cf.tls_client_auth.cert_verified", "action": "block"}
        ]}"#,
    )
    .unwrap();
    let schema = Schema::default_http();
    let handle = RuleSetHandle::new(set.compile(&Compiler::new(&schema)).unwrap());
    let req = HttpRequest::builder()
        .header("Host", "api.a.com")
        .build()
        .unwrap();
    let rules = handle.load();
    let verdict: Verdict<'_> = rules.evaluate(&req);
    let line = r#"{"action":"block","rule":"no-cert","logged":["log-api"],"skipped":[]}"#;
    assert_eq!(verdict.to_string(), line);
    assert_eq!(serde_json::to_string(&verdict).unwrap(), line);
    assert_eq!(
        verdict.to_json(),
        serde_json::from_str::<serde_json::Value>(line).unwrap()
    );
    let none = Verdict::default();
    assert_eq!(
        none.to_string(),
        r#"{"action":null,"rule":null,"logged":[],"skipped":[]}"#
    );
}

#[test]
fn errors_have_kinds_to_match_on() {
    let schema = Schema::default_http().with_list("office", portcullis::Type::Ip);
    let compiler = Compiler::new(&schema);
    for (text, kind, stage) in [
        (r#"http.host == "a"#, ErrorKind::Syntax, Stage::Parse),
        (r#"http.hots == "a""#, ErrorKind::UnknownField, Stage::Check),
        (
            r#"lowr(http.host) == "a""#,
            ErrorKind::UnknownFunction,
            Stage::Check,
        ),
        ("ip.src in $offce", ErrorKind::UnknownList, Stage::Check),
        (r#"tcp.dstport == "a""#, ErrorKind::Type, Stage::Check),
        (
            r#"http.host matches "(a""#,
            ErrorKind::InvalidRegex,
            Stage::Compile,
        ),
    ] {
        let e = compiler.compile(text).unwrap_err();
        assert_eq!((e.kind(), e.stage()), (kind, stage), "`{text}`: {e}");
        assert!(e.span().is_some(), "`{text}`");
    }
    let deep = "(".repeat(100_000) + "ssl" + &")".repeat(100_000);
    assert_eq!(
        compiler.compile(&deep).unwrap_err().kind(),
        ErrorKind::Limit
    );
    assert_eq!(
        portcullis::Type::parse("Strng").unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[test]
fn nested_types_are_read_without_recursion_and_bounded() {
    use portcullis::{MAX_TYPE_DEPTH, Type};
    let nested = |n: usize| "Array<".repeat(n) + "Int" + &">".repeat(n);
    assert_eq!(
        Type::parse(&nested(2)).unwrap(),
        Type::array(Type::array(Type::Int))
    );
    assert!(Type::parse(&nested(MAX_TYPE_DEPTH)).is_ok());
    let e = Type::parse(&nested(MAX_TYPE_DEPTH + 1)).unwrap_err();
    assert!(e.to_string().contains("nests more than"), "{e}");
    // A million levels on a small stack: an error, not an overflow.
    let huge = nested(1_000_000);
    let on_small_stack = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || Type::parse(&huge).map(|_| ()).map_err(|e| e.kind()))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(on_small_stack, Err(ErrorKind::Config));
    let schema = format!(r#"{{"fields": {{"x": "{}"}}}}"#, nested(1_000_000));
    let on_small_stack = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || Schema::from_json(&schema).map(|_| ()).map_err(|e| e.kind()))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(on_small_stack, Err(ErrorKind::Config));
}

#[test]
fn minus_zero_in_json_is_the_integer_zero() {
    let schema = Schema::default_http().with_list("ports", portcullis::Type::Int);
    let compiler = Compiler::new(&schema);
    let cx = Context::from_json(
        &schema,
        r#"{"tcp.dstport": -0, "http.request.body.raw": "{\"a\": -0}"}"#,
    )
    .unwrap();
    compiler
        .lists()
        .load_json(r#"{"ports": [-0, 80]}"#)
        .unwrap();
    for text in [
        "tcp.dstport == 0",
        "tcp.dstport in $ports",
        r#"lookup_json_integer(http.request.body.raw, "a") == 0"#,
    ] {
        assert!(compiler.compile(text).unwrap().matches(&cx), "{text}");
    }
    assert!(Context::from_json(&schema, r#"{"tcp.dstport": 0.5}"#).is_err());
}

/// The default catalogue extended with a field, a list and a function of
/// one's own: requests from `HttpRequestBuilder` fit it, and the extra field
/// is set with `extra_field` (also when built only for what rules read).
#[test]
fn the_default_catalogue_extends_and_http_requests_fit_it() {
    use portcullis::{
        Compiler, HttpRequest, RuleSet, SchemaBuilder, Type, UserFunction, Val, Value,
    };
    let schema = SchemaBuilder::default_http()
        .field("my.tenant", Type::Bytes)
        .function(UserFunction::new(
            "is_staff",
            vec![Type::Bytes],
            Type::Bool,
            |args| Val::Bool(matches!(args.first(), Some(Val::Bytes(b)) if b.ends_with(b"@corp"))),
        ))
        .build()
        .unwrap();
    let compiler = Compiler::new(&schema);
    let filter = compiler
        .compile(r#"my.tenant == "acme" and http.host == "api.example.com" and not is_staff(http.user_agent)"#)
        .unwrap();
    let build = |tenant: &str| {
        HttpRequest::builder()
            .header("Host", "api.example.com")
            .header("User-Agent", "curl")
            .extra_field(&schema, "my.tenant", Value::from(tenant))
            .build()
            .unwrap()
    };
    assert!(filter.matches(&build("acme")));
    assert!(!filter.matches(&build("other")));
    let set = RuleSet::from_json(
        r#"{"rules": [{"id": "t", "expression": "my.tenant == \"acme\"", "action": "block"}]}"#,
    )
    .unwrap()
    .compile(&compiler)
    .unwrap();
    let only = HttpRequest::builder()
        .only(set.fields())
        .extra_field(&schema, "my.tenant", Value::from("acme"))
        .build()
        .unwrap();
    assert_eq!(set.evaluate(&only).rule, Some("t"));
    // A type mismatch, an unknown field, a schema that is not an extension.
    let e = HttpRequest::builder()
        .extra_field(&schema, "my.tenant", Value::Int(3))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("my.tenant"), "{e}");
    assert!(
        HttpRequest::builder()
            .extra_field(&schema, "my.nope", Value::Int(3))
            .build()
            .is_err()
    );
    let other = portcullis::Schema::builder()
        .field("my.tenant", Type::Bytes)
        .build()
        .unwrap();
    let e = HttpRequest::builder()
        .extra_field(&other, "my.tenant", Value::from("acme"))
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("does not extend the default catalogue"),
        "{e}"
    );
}

/// A request JSON with more values than any real request is refused with
/// an error (through the raw-parts reader and the custom-schema one), and
/// one just under the limit is read.
#[test]
fn a_request_json_with_too_many_values_is_an_error() {
    let many = |n: usize| {
        let headers: Vec<serde_json::Value> = (0..n)
            .map(|k| serde_json::json!([format!("X-{k}"), "v"]))
            .collect();
        serde_json::json!({ "headers": headers })
    };
    // Each header is an array of two strings: three values.
    let limit = portcullis::MAX_REQUEST_ELEMENTS;
    let under = many(limit / 3 - 1);
    assert!(portcullis::HttpRequest::from_json_value(&under).is_ok());
    let over = many(limit / 3 + 1);
    let err = portcullis::HttpRequest::from_json_value(&over).unwrap_err();
    assert!(err.message().contains("more than 100000 values"), "{err}");
    let schema = portcullis::Schema::default_http();
    let names: Vec<String> = (0..limit + 1).map(|k| format!("n{k}")).collect();
    let fields = serde_json::json!({ "http.request.headers.names": names });
    assert!(portcullis::Context::from_json_value(&schema, &fields).is_err());
}

/// A filter run on a request of another schema reads missing values, never
/// another field that happens to have the same position; the same schema
/// built twice fits either way.
#[test]
fn a_filter_never_reads_another_schemas_field() {
    use portcullis::{Compiler, Context, HttpRequest, Schema, Type, Value};
    let custom = || {
        Schema::builder()
            .field("device.name", Type::Bytes)
            .field("device.port", Type::Int)
            .build()
            .unwrap()
    };
    let (a, a_again) = (custom(), custom());
    let other = Schema::builder()
        .field("user.name", Type::Bytes)
        .field("user.port", Type::Int)
        .build()
        .unwrap();
    let http = Schema::default_http();
    // Position 0 of the catalogue is http.host: a custom filter on field 0
    // must not read it.
    let on_custom = Compiler::new(&a).compile(r#"device.name eq "x""#).unwrap();
    let negated = Compiler::new(&a).compile(r#"not device.name eq "x""#).unwrap();
    let host = HttpRequest::builder().header("Host", "x").build().unwrap();
    assert_eq!(http.field_id("http.host").map(|id| id.index()), Some(0));
    assert!(!on_custom.matches(&host), "reads http.host as device.name");
    assert!(negated.matches(&host), "missing, so `not` is true");
    let mut cx = Context::new(&other);
    cx.set("user.name", Value::from("x")).unwrap();
    assert!(!on_custom.matches(&cx), "reads user.name as device.name");
    // The catalogue's filter on a custom request.
    let on_http = Compiler::new(&http).compile(r#"http.host eq "x""#).unwrap();
    let mut device = Context::new(&a);
    device.set("device.name", Value::from("x")).unwrap();
    assert!(!on_http.matches(&device), "reads device.name as http.host");
    // The same fields, built twice: one fits the other.
    let mut again = Context::new(&a_again);
    again.set("device.name", Value::from("x")).unwrap();
    assert!(on_custom.matches(&again));
    assert!(on_custom.matches(&device));
}
