//! The cost of deciding a real service's request: building the request
//! from an `http::Request` (10 headers, a query, the connection's
//! client-certificate facts) and evaluating the mTLS rule set, beside a
//! hand-written handler that reads the same facts directly; and what the
//! tower layer adds to a minimal hyper request over loopback.
//!
//! `cargo bench --features service --bench http`. The summary prints the
//! allocations per operation and the ratios.

use criterion::{Criterion, black_box, criterion_group};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis::{
    ClientCert, Compiler, ConnectionInfo, HttpRequest, RuleSet, RuleSetHandle, RulesLayer, Schema,
    TlsInfo,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tower::Layer;

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn rules() -> portcullis::CompiledRuleSet {
    let text = include_str!("../examples/mtls/rules.json");
    let schema = Schema::default_http();
    RuleSet::from_json(text)
        .unwrap()
        .compile(&Compiler::new(&schema))
        .unwrap()
}

fn connection() -> ConnectionInfo {
    ConnectionInfo {
        client_addr: Some("198.51.100.21:53211".parse().unwrap()),
        server_addr: Some("192.0.2.1:443".parse().unwrap()),
        tls: Some(TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "AEAD-AES256-GCM-SHA384".into(),
            alpn: Some("h2".into()),
            sni: Some("api.orangeclouded.com".into()),
        }),
        client_cert: ClientCert {
            presented: true,
            verified: true,
            subject_dn: "CN=billing-service,O=Billing,C=US".into(),
            issuer_dn: "CN=Example Test CA,O=Orange Clouded,C=US".into(),
            serial: "3A2F9C01".into(),
            fingerprint_sha256: "9f".repeat(32),
            fingerprint_sha1: "ab".repeat(20),
            not_before: "Mar 21 13:35:00 2025 GMT".into(),
            not_after: "Mar 21 13:35:00 2026 GMT".into(),
            ..ClientCert::default()
        },
    }
}

/// A realistic API call: 10 headers, a query, the connection's facts.
fn request() -> http::Request<()> {
    let mut r = http::Request::builder()
        .method("GET")
        .uri("/v1/accounts/42/invoices?limit=20&cursor=abc%3D&expand=lines")
        .header("host", "api.orangeclouded.com")
        .header("user-agent", "billing-client/2.3 (+https://example.com)")
        .header("accept", "application/json")
        .header("accept-encoding", "gzip, br")
        .header("accept-language", "en-US,en;q=0.9")
        .header("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc")
        .header("cookie", "sid=8f2a; theme=dark")
        .header("x-request-id", "7d1c0f2e-1b7a-4c1e-9d0e-3f2a1b7c9d0e")
        .header("x-forwarded-for", "203.0.113.9")
        .header("referer", "https://app.orangeclouded.com/billing")
        .body(())
        .unwrap();
    r.extensions_mut().insert(connection());
    r
}

/// What a handler would write by hand for the same policy.
fn handwritten(r: &http::Request<()>) -> bool {
    let host = r
        .headers()
        .get("host")
        .map(|h| h.as_bytes())
        .unwrap_or_default();
    let api = host == b"orangeclouded.com" || host == b"api.orangeclouded.com";
    let cert = r
        .extensions()
        .get::<ConnectionInfo>()
        .map(|c| &c.client_cert);
    let ok = cert.is_some_and(|c| c.verified && !c.revoked);
    let healthz = r.uri().path() == "/healthz";
    api && !ok && !healthz
}

fn per_request(c: &mut Criterion) {
    let set = rules();
    let req = request();
    let mut g = c.benchmark_group("http/request");
    g.bench_function("handwritten", |b| b.iter(|| handwritten(black_box(&req))));
    g.bench_function("from_http", |b| {
        b.iter(|| HttpRequest::from_http(black_box(&req)).unwrap())
    });
    g.bench_function("from_http+evaluate", |b| {
        b.iter(|| {
            let built = HttpRequest::from_http(black_box(&req)).unwrap();
            set.evaluate(&built).action
        })
    });
    g.bench_function("only+from_http+evaluate", |b| {
        b.iter(|| {
            let built = HttpRequest::builder()
                .only(set.fields())
                .http(black_box(&req))
                .build()
                .unwrap();
            set.evaluate(&built).action
        })
    });
    let built = HttpRequest::from_http(&req).unwrap();
    g.bench_function("evaluate", |b| {
        b.iter(|| set.evaluate(black_box(&built)).action)
    });
    g.finish();
}

async fn ok(_: http::Request<Incoming>) -> Result<http::Response<Full<Bytes>>, Infallible> {
    Ok(http::Response::new(Full::from("ok")))
}

/// A keep-alive HTTP/1.1 server on loopback, with or without the layer.
async fn server(with_rules: bool) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = RuleSetHandle::new(rules());
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let handle = handle.clone();
            tokio::spawn(async move {
                let io = TokioIo::new(tcp);
                let plain = tower::service_fn(ok);
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if with_rules {
                    let svc = RulesLayer::new(handle).layer(plain);
                    let _ = builder
                        .serve_connection(io, hyper_util::service::TowerToHyperService::new(svc))
                        .await;
                } else {
                    let _ = builder
                        .serve_connection(io, hyper_util::service::TowerToHyperService::new(plain))
                        .await;
                }
            });
        }
    });
    addr
}

fn hyper_roundtrip(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("http/hyper_roundtrip");
    g.measurement_time(Duration::from_secs(5));
    for (name, with_rules) in [("plain", false), ("with_rules", true)] {
        let mut sender = rt.block_on(async {
            let addr = server(with_rules).await;
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .unwrap();
            tokio::spawn(conn);
            sender
        });
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let req = http::Request::builder()
                            .uri("/v1/accounts?limit=20")
                            .header("host", "www.orangeclouded.com")
                            .header("user-agent", "bench")
                            .body(Empty::<Bytes>::new())
                            .unwrap();
                        sender.ready().await.unwrap();
                        let res = sender.send_request(req).await.unwrap();
                        let _ = res.into_body().collect().await.unwrap();
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
}

/// Allocations per operation, printed once.
fn allocations(_: &mut Criterion) {
    let set = rules();
    let req = request();
    let count = |f: &dyn Fn()| {
        f();
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..1000 {
            f();
        }
        (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / 1000.0
    };
    let hand = count(&|| {
        black_box(handwritten(black_box(&req)));
    });
    let build = count(&|| {
        black_box(HttpRequest::from_http(black_box(&req)).unwrap());
    });
    let only = count(&|| {
        let built = HttpRequest::builder()
            .only(set.fields())
            .http(black_box(&req))
            .build()
            .unwrap();
        black_box(set.evaluate(&built).action);
    });
    let built = HttpRequest::from_http(&req).unwrap();
    let eval = count(&|| {
        black_box(set.evaluate(black_box(&built)).action);
    });
    println!(
        "allocations per request: handwritten {hand}, from_http {build}, evaluate {eval}, \
         only+from_http+evaluate {only}"
    );
}

criterion_group!(benches, allocations, per_request, hyper_roundtrip);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
