use portcullis::{Compiler, HttpRequest, Schema};
fn main() {
    let expr = std::env::args().nth(1).unwrap();
    let n: usize = std::env::args()
        .nth(2)
        .map_or(20_000_000, |s| s.parse().unwrap());
    let schema = Schema::default_http();
    let f = Compiler::new(&schema).compile(&expr).unwrap();
    let mut b = HttpRequest::builder()
        .method("GET")
        .uri("/v1/users/42?q=%3Cb%3E&page=2&p42=v42-x");
    for (k, v) in [
        ("Host", "api.example.com"),
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
        ),
        ("Accept", "text/html"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Accept-Encoding", "gzip"),
        ("Cookie", "sid=3f2a9c; theme=dark; debug=0"),
        ("Referer", "https://www.example.com/app"),
        ("X-Forwarded-For", "198.51.100.7"),
        ("X-Tenant", "t42"),
        ("X-H42", "1"),
        ("Content-Type", "application/json"),
    ] {
        b = b.header(k, v);
    }
    let r = b.build().unwrap();
    let t = std::time::Instant::now();
    let mut c = 0;
    for _ in 0..n {
        c += std::hint::black_box(&f).matches(std::hint::black_box(&r)) as usize;
    }
    eprintln!("{} ns/eval ({c})", t.elapsed().as_nanos() as f64 / n as f64);
}
