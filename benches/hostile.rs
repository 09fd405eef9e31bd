//! Request-controlled work: matchers on large values, where a rule's cost
//! must stay linear in the value (issue #17). Each group runs the same
//! pattern both ways on a 1 MiB body, so the ratio of the two is the claim:
//! a case-insensitive wildcard within 2x of the strict one.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use portcullis::{Compiler, HttpRequest, Schema};

fn bench(c: &mut Criterion) {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    // A long literal segment that almost matches everywhere: the worst case
    // of a naive scan (value length times segment length).
    let segment = "a".repeat(200) + "b";
    let body = "a".repeat(1 << 20);
    let req = HttpRequest::builder()
        .body(body.as_bytes(), "text/plain")
        .build()
        .unwrap();
    let mut g = c.benchmark_group("wildcard-1MiB");
    g.sample_size(20);
    for (name, op) in [
        ("strict", "strict wildcard"),
        ("case-insensitive", "wildcard"),
    ] {
        let f = compiler
            .compile(&format!(r#"http.request.body.raw {op} "*{segment}*""#))
            .unwrap();
        g.bench_function(name, |b| b.iter(|| f.matches(black_box(&req))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
