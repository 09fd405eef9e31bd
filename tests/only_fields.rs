//! A request built for the fields a filter or rule set reads
//! (`HttpRequestBuilder::only`) is decided exactly as the whole request:
//! for expressions over every derived field, on random requests.

use portcullis::{
    ActionParameters, ClientCert, Compiler, HttpRequest, HttpRequestBuilder, Rule, RuleSet, Schema,
    Value,
};
use proptest::prelude::*;

const EXPRESSIONS: &[&str] = &[
    r#"http.host == "api.example.com""#,
    r#"http.host in {"api.example.com" "example.com"} and (not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked)"#,
    r#"starts_with(http.request.uri.path, "/admin")"#,
    r#"http.request.uri.path.extension eq "php""#,
    r#"raw.http.request.uri.path.extension eq "PHP""#,
    r#"http.request.uri contains "?x=""#,
    r#"http.request.full_uri contains "https://api.example.com:8443/""#,
    r#"raw.http.request.full_uri contains "%2e""#,
    r#"raw.http.request.uri.path contains "..""#,
    r#"http.request.uri.query contains "id=""#,
    r#"any(http.request.uri.args["id"][*] == "7")"#,
    r#"any(http.request.uri.args.names[*] == "debug")"#,
    r#"any(raw.http.request.uri.args.values[*] contains "%")"#,
    r#"http.request.headers["x-debug"][0] == "1""#,
    r#"any(http.request.headers.names[*] == "X-Debug")"#,
    r#"any(http.request.headers.values[*] contains "json")"#,
    r#"http.user_agent contains "curl""#,
    r#"http.referer contains "evil""#,
    r#"http.cookie contains "sid""#,
    r#"http.request.cookies["sid"][0] == "abc""#,
    r#"http.x_forwarded_for contains "203.0.113""#,
    r#"any(http.request.accepted_languages[*] == "fr")"#,
    r#"http.request.body.raw contains "admin""#,
    r#"http.request.body.size > 10"#,
    r#"http.request.body.mime == "application/x-www-form-urlencoded""#,
    r#"http.request.body.form["role"][0] == "admin""#,
    r#"lookup_json_string(http.request.body.raw, "role") == "admin""#,
    r#"ssl and http.request.method == "POST""#,
    r#"ip.src in {192.0.2.0/24} or ip.src.country == "FR""#,
    r#"cf.tls_client_auth.cert_subject_dn contains "CN=" and cf.tls_client_auth.cert_presented"#,
    r#"len(http.request.headers.names) > 3 and not http.request.headers.truncated"#,
];

fn target() -> impl Strategy<Value = String> {
    let segment = prop::sample::select(vec![
        "admin", "public", "..", ".", "", "%2e%2e", "a.php", "A.PHP", "x", "%41dmin", "\\admin",
    ]);
    let query = prop::sample::select(vec!["", "?x=1", "?id=7&debug", "?id=%37&x=%2e", "?"]);
    let prefix = prop::sample::select(vec![
        "",
        "https://API.example.com:8443",
        "http://example.com.",
    ]);
    (prefix, prop::collection::vec(segment, 0..5), query)
        .prop_map(|(p, segs, q)| format!("{p}/{}{q}", segs.join("/")))
}

fn headers() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
    let header = prop::sample::select(vec![
        ("Host", "api.example.com"),
        ("host", "Example.com:443"),
        ("X-Debug", "1"),
        ("x-debug", "0"),
        ("User-Agent", "curl/8"),
        ("Referer", "https://evil.example/"),
        ("Cookie", "sid=abc; theme=dark"),
        ("cookie", "sid=def"),
        ("X-Forwarded-For", "203.0.113.9"),
        ("Accept-Language", "fr, en;q=0.8"),
        ("Accept", "application/json"),
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
    ]);
    prop::collection::vec(header, 0..8)
}

fn body() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "role=admin&x=1",
        r#"{"role": "admin"}"#,
        "",
        "plain text about admin",
    ]))
}

/// A builder for the request the parts describe.
fn builder(
    base: HttpRequestBuilder,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    verified: bool,
) -> HttpRequestBuilder {
    let mut b = base
        .method(if body.is_some() { "POST" } else { "GET" })
        .scheme("https")
        .uri(target)
        .client_ip("192.0.2.7".parse().unwrap())
        .country("FR")
        .client_cert(&ClientCert {
            presented: verified,
            verified,
            subject_dn: "CN=x".into(),
            ..ClientCert::default()
        });
    for (n, v) in headers {
        b = b.header(n, v);
    }
    if let Some(body) = body {
        b = b.body(body.as_bytes(), "");
    }
    b.field("http.request.headers.truncated", Value::Bool(false))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_request_built_for_what_is_read_is_decided_alike(
        target in target(),
        headers in headers(),
        body in body(),
        verified in any::<bool>(),
    ) {
        let schema = Schema::default_http();
        let compiler = Compiler::new(&schema);
        let full = builder(HttpRequest::builder(), &target, &headers, body, verified).build().unwrap();
        for text in EXPRESSIONS {
            let filter = compiler.compile(text).unwrap();
            let only = builder(HttpRequest::builder().only(filter.fields()), &target, &headers, body, verified)
                .build()
                .unwrap();
            prop_assert_eq!(filter.matches(&full), filter.matches(&only), "{}", text);
        }
        let set = RuleSet {
            rules: EXPRESSIONS
                .iter()
                .enumerate()
                .map(|(k, e)| Rule {
                    id: format!("r{k}"),
                    description: String::new(),
                    expression: e.to_string(),
                    action: if k % 3 == 0 { portcullis::Action::Block } else { portcullis::Action::Log },
                    action_parameters: ActionParameters::default(),
                    enabled: true,
                    extra: Default::default(),
                })
                .collect(),
        };
        let set = set.compile(&compiler).unwrap();
        let only = builder(HttpRequest::builder().only(set.fields()), &target, &headers, body, verified)
            .build()
            .unwrap();
        prop_assert_eq!(set.evaluate(&full), set.evaluate(&only));
    }
}
