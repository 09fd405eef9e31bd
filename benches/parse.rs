//! Front-end cost: parsing, and parse + check + compile, of typical rules.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use portcullis::{Compiler, Schema};

const RULES: &[(&str, &str)] = &[
    (
        "seed",
        r#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and not cf.tls_client_auth.cert_verified)"#,
    ),
    (
        "network",
        r#"ip.src in {10.0.0.0/8 192.0.2.0/24} and tcp.dstport in {80 443 8000..8999}"#,
    ),
    (
        "mixed",
        r#"http.user_agent contains "curl" or http.request.uri.path matches "^/admin" or http.request.method eq "POST""#,
    ),
    (
        "functions",
        r#"any(lower(http.request.headers.names[*])[*] == "x-debug") and len(http.request.uri.args["id"]) > 0"#,
    ),
];

fn bench(c: &mut Criterion) {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let mut g = c.benchmark_group("front_end");
    for (name, text) in RULES {
        g.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| portcullis::parse(black_box(text)).map(|e| black_box(e).span()))
        });
        g.bench_function(format!("compile/{name}"), |b| {
            b.iter(|| compiler.compile(black_box(text)).map(|f| f.fields().len()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
