//! portcullis side by side with `wirefilter-engine` 0.6.1 (the reference peer)
//! and with hand-written Rust closures over the same request struct (the
//! practical lower bound), measured in the same run.
//!
//! `cargo bench --bench peers` ends with one line per case:
//! `CASE portcullis_ns=… wirefilter_ns=… native_ns=… ratio=…` (ratio =
//! portcullis / wirefilter), then the heap held by each compiled case.

use criterion::{BatchSize, Criterion, black_box};
use portcullis::context::http::{ClientCert, HttpFields, HttpRequestBuilder};
use portcullis::rules::{Action, ActionParameters, CompiledRuleSet, Rule, RuleSet};
use portcullis::{Compiler, HttpRequest, Schema, Value};
use regex::bytes::Regex;
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

// ---- a counting allocator, for the memory report -------------------------

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers every call to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now =
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
        PEAK.fetch_max(now, Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes still held after `f` returns, and the value it built.
fn held<T>(f: impl FnOnce() -> T) -> (T, isize) {
    let before = LIVE.load(Ordering::SeqCst);
    let v = f();
    (v, LIVE.load(Ordering::SeqCst) - before)
}

// ---- the cases ----------------------------------------------------------

fn e5() -> String {
    (0..50)
        .map(|k| format!("http.host == \"host{k:02}.example.com\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn cases() -> Vec<(&'static str, String)> {
    vec![
        ("E1", r#"http.host == "api.example.com""#.to_string()),
        ("E2", r#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and not cf.tls_client_auth.cert_verified)"#.to_string()),
        ("E3", r#"ip.src in {10.0.0.0/8 192.0.2.0/24} and tcp.dstport in {80 443 8000..8999}"#.to_string()),
        ("E4", r#"http.user_agent contains "curl" or http.request.uri.path matches "^/admin" or http.request.method eq "POST""#.to_string()),
        ("E5", e5()),
    ]
}

/// The fields the peer needs (wirefilter 0.6.1 has Bytes, Int, Bool, Ip).
const WF_FIELDS: &[(&str, wirefilter::Type)] = &[
    ("http.host", wirefilter::Type::Bytes),
    ("http.request.uri.path", wirefilter::Type::Bytes),
    ("http.request.method", wirefilter::Type::Bytes),
    ("http.user_agent", wirefilter::Type::Bytes),
    ("http.referer", wirefilter::Type::Bytes),
    ("http.cookie", wirefilter::Type::Bytes),
    ("ip.src", wirefilter::Type::Ip),
    ("ip.src.country", wirefilter::Type::Bytes),
    ("tcp.dstport", wirefilter::Type::Int),
    ("cf.tls_client_auth.cert_verified", wirefilter::Type::Bool),
    ("cf.bot_management.score", wirefilter::Type::Int),
    ("cf.bot_management.verified_bot", wirefilter::Type::Bool),
];

fn wf_scheme() -> wirefilter::Scheme {
    let mut s = wirefilter::Scheme::new();
    for (name, ty) in WF_FIELDS {
        s.add_field(name.to_string(), *ty).expect("field");
    }
    s
}

/// One request, in the three shapes the engines read.
struct Req {
    host: String,
    path: String,
    method: String,
    ua: String,
    referer: String,
    cookie: String,
    ip: Ipv4Addr,
    country: String,
    port: i64,
    verified: bool,
    bot_score: i64,
    verified_bot: bool,
}

impl Req {
    fn bench_request() -> Req {
        Req {
            host: "api.example.com".into(),
            path: "/v1/users/42".into(),
            method: "GET".into(),
            ua: "Mozilla/5.0 (X11; Linux x86_64)".into(),
            referer: "https://www.example.com/".into(),
            cookie: "sid=abc".into(),
            ip: Ipv4Addr::new(192, 0, 2, 55),
            country: "US".into(),
            port: 443,
            verified: false,
            bot_score: 80,
            verified_bot: false,
        }
    }

    fn portcullis(&self) -> HttpRequest {
        self.builder().build().expect("request")
    }

    /// The same request as a typed struct, for the hand-written baseline.
    fn fields(&self) -> HttpFields {
        self.builder().build_fields().expect("request")
    }

    fn builder(&self) -> HttpRequestBuilder {
        HttpRequest::builder()
            .method(&self.method)
            .uri(&self.path)
            .header("Host", &self.host)
            .header("User-Agent", &self.ua)
            .header("Referer", &self.referer)
            .header("Cookie", &self.cookie)
            .client_ip(IpAddr::V4(self.ip))
            .country(&self.country)
            .bot_score(self.bot_score)
            .client_cert(&ClientCert {
                presented: self.verified,
                verified: self.verified,
                ..ClientCert::default()
            })
            .field("tcp.dstport", Value::Int(self.port))
            .field(
                "cf.bot_management.verified_bot",
                Value::Bool(self.verified_bot),
            )
    }

    fn wirefilter<'s>(
        &'s self,
        scheme: &'s wirefilter::Scheme,
    ) -> wirefilter::ExecutionContext<'s> {
        let mut cx = wirefilter::ExecutionContext::new(scheme);
        cx.set_field_value("http.host", self.host.as_str()).unwrap();
        cx.set_field_value("http.request.uri.path", self.path.as_str())
            .unwrap();
        cx.set_field_value("http.request.method", self.method.as_str())
            .unwrap();
        cx.set_field_value("http.user_agent", self.ua.as_str())
            .unwrap();
        cx.set_field_value("http.referer", self.referer.as_str())
            .unwrap();
        cx.set_field_value("http.cookie", self.cookie.as_str())
            .unwrap();
        cx.set_field_value("ip.src", IpAddr::V4(self.ip)).unwrap();
        cx.set_field_value("ip.src.country", self.country.as_str())
            .unwrap();
        cx.set_field_value("tcp.dstport", self.port as i32).unwrap();
        cx.set_field_value("cf.tls_client_auth.cert_verified", self.verified)
            .unwrap();
        cx.set_field_value("cf.bot_management.score", self.bot_score as i32)
            .unwrap();
        cx.set_field_value("cf.bot_management.verified_bot", self.verified_bot)
            .unwrap();
        cx
    }
}

// ---- the hand-written baseline ------------------------------------------

type Native = Box<dyn Fn(&HttpFields) -> bool>;

fn bytes_eq(v: &Option<Vec<u8>>, s: &[u8]) -> bool {
    v.as_deref() == Some(s)
}

fn in_v4(ip: Option<IpAddr>, net: u32, bits: u32) -> bool {
    match ip {
        Some(IpAddr::V4(a)) => u32::from(a) >> (32 - bits) == net >> (32 - bits),
        _ => false,
    }
}

fn native(case: &str) -> Native {
    match case {
        "E1" => Box::new(|r: &HttpFields| bytes_eq(&r.http_host, b"api.example.com")),
        "E2" => Box::new(|r: &HttpFields| {
            (bytes_eq(&r.http_host, b"orangeclouded.com")
                || bytes_eq(&r.http_host, b"api.orangeclouded.com"))
                && r.cf_tls_client_auth_cert_verified == Some(false)
        }),
        "E3" => Box::new(|r: &HttpFields| {
            (in_v4(r.ip_src, 0x0a00_0000, 8) || in_v4(r.ip_src, 0xc000_0200, 24))
                && matches!(r.tcp_dstport, Some(80 | 443 | 8000..=8999))
        }),
        "E4" => {
            let curl = memchr::memmem::Finder::new(b"curl").into_owned();
            let admin = Regex::new("^/admin").unwrap();
            Box::new(move |r: &HttpFields| {
                r.http_user_agent
                    .as_deref()
                    .is_some_and(|ua| curl.find(ua).is_some())
                    || r.http_request_uri_path
                        .as_deref()
                        .is_some_and(|p| admin.is_match(p))
                    || bytes_eq(&r.http_request_method, b"POST")
            })
        }
        _ => {
            let hosts: Vec<Vec<u8>> = (0..50)
                .map(|k| format!("host{k:02}.example.com").into_bytes())
                .collect();
            Box::new(move |r: &HttpFields| hosts.iter().any(|h| bytes_eq(&r.http_host, h)))
        }
    }
}

// ---- R1000: a realistic rule set ----------------------------------------

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const COUNTRIES: &[&str] = &[
    "US", "GB", "DE", "FR", "CN", "RU", "BR", "IN", "JP", "KR", "NL", "SE", "PL", "TR", "IR", "KP",
];

/// A rule's expression, and its hand-written twin.
fn rule(k: usize, rng: &mut Lcg) -> (String, Native) {
    let n = rng.below(2000) as usize;
    match k % 9 {
        0 => {
            let host = format!("h{n}.example.com");
            let h = host.clone().into_bytes();
            (
                format!("http.host == \"{host}\""),
                Box::new(move |r: &HttpFields| bytes_eq(&r.http_host, &h)),
            )
        }
        1 => {
            let (a, b) = (format!("api{n}.example.com"), format!("app{n}.example.com"));
            let (ab, bb) = (a.clone().into_bytes(), b.clone().into_bytes());
            (
                format!(
                    "http.host in {{\"{a}\" \"{b}\"}} and not cf.tls_client_auth.cert_verified"
                ),
                Box::new(move |r: &HttpFields| {
                    (bytes_eq(&r.http_host, &ab) || bytes_eq(&r.http_host, &bb))
                        && r.cf_tls_client_auth_cert_verified == Some(false)
                }),
            )
        }
        2 => {
            let re_text = format!("^/api/v{}/item{n}(/|$)", n % 9);
            let re = Regex::new(&re_text).unwrap();
            (
                format!("http.request.uri.path matches \"{re_text}\""),
                Box::new(move |r: &HttpFields| {
                    r.http_request_uri_path
                        .as_deref()
                        .is_some_and(|p| re.is_match(p))
                }),
            )
        }
        3 => {
            let (a, b) = ((n % 256) as u32, (n / 8 % 256) as u32);
            (
                format!("ip.src in {{10.{a}.0.0/16 198.51.{b}.0/24}}"),
                Box::new(move |r: &HttpFields| {
                    in_v4(r.ip_src, 0x0a00_0000 | a << 16, 16)
                        || in_v4(r.ip_src, 0xc633_0000 | b << 8, 24)
                }),
            )
        }
        4 => {
            let (c1, c2) = (
                COUNTRIES[n % COUNTRIES.len()],
                COUNTRIES[(n / 7) % COUNTRIES.len()],
            );
            let path = format!("/geo/{n}");
            let p = path.clone().into_bytes();
            (
                format!(
                    "ip.src.country in {{\"{c1}\" \"{c2}\"}} and http.request.uri.path == \"{path}\""
                ),
                Box::new(move |r: &HttpFields| {
                    (bytes_eq(&r.ip_src_country, c1.as_bytes())
                        || bytes_eq(&r.ip_src_country, c2.as_bytes()))
                        && bytes_eq(&r.http_request_uri_path, &p)
                }),
            )
        }
        5 => {
            let needle = format!("scanner{n}");
            let f = memchr::memmem::Finder::new(needle.as_bytes()).into_owned();
            (
                format!("http.user_agent contains \"{needle}\""),
                Box::new(move |r: &HttpFields| {
                    r.http_user_agent
                        .as_deref()
                        .is_some_and(|ua| f.find(ua).is_some())
                }),
            )
        }
        6 => {
            let score = (n % 30) as i64;
            let host = format!("shop{n}.example.com");
            let h = host.clone().into_bytes();
            (
                format!(
                    "cf.bot_management.score lt {score} and not cf.bot_management.verified_bot and http.host eq \"{host}\""
                ),
                Box::new(move |r: &HttpFields| {
                    r.cf_bot_management_score.is_some_and(|s| s < score)
                        && r.cf_bot_management_verified_bot == Some(false)
                        && bytes_eq(&r.http_host, &h)
                }),
            )
        }
        7 => {
            let needle = format!("spam{n}.example");
            let f = memchr::memmem::Finder::new(needle.as_bytes()).into_owned();
            (
                format!("http.referer contains \"{needle}\""),
                Box::new(move |r: &HttpFields| {
                    r.http_referer
                        .as_deref()
                        .is_some_and(|x| f.find(x).is_some())
                }),
            )
        }
        _ => {
            let path = format!("/login{n}");
            let p = path.clone().into_bytes();
            (
                format!("http.request.method == \"POST\" and http.request.uri.path == \"{path}\""),
                Box::new(move |r: &HttpFields| {
                    bytes_eq(&r.http_request_method, b"POST")
                        && bytes_eq(&r.http_request_uri_path, &p)
                }),
            )
        }
    }
}

fn r1000() -> (Vec<String>, Vec<Native>) {
    let mut rng = Lcg(7);
    (0..1000).map(|k| rule(k, &mut rng)).unzip()
}

fn r1000_requests() -> Vec<Req> {
    let mut rng = Lcg(11);
    (0..1000)
        .map(|_| {
            let n = rng.below(2000);
            let mut r = Req::bench_request();
            r.host = match rng.below(4) {
                0 => format!("h{n}.example.com"),
                1 => format!("api{n}.example.com"),
                2 => format!("shop{n}.example.com"),
                _ => "www.example.org".into(),
            };
            r.path = match rng.below(4) {
                0 => format!("/api/v{}/item{n}", n % 9),
                1 => format!("/login{n}"),
                2 => format!("/geo/{n}"),
                _ => "/index.html".into(),
            };
            r.method = if rng.below(3) == 0 {
                "POST".into()
            } else {
                "GET".into()
            };
            r.ip = Ipv4Addr::new(
                if rng.below(2) == 0 { 10 } else { 203 },
                rng.below(256) as u8,
                rng.below(256) as u8,
                7,
            );
            r.country = COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize].into();
            r.ua = if rng.below(8) == 0 {
                format!("scanner{}", rng.below(2000))
            } else {
                "Mozilla/5.0".into()
            };
            r.referer = if rng.below(8) == 0 {
                format!("https://spam{}.example/", rng.below(2000))
            } else {
                "https://www.example.com/".into()
            };
            r.verified = rng.below(2) == 0;
            r.bot_score = rng.below(100) as i64;
            r
        })
        .collect()
}

fn rule_set(exprs: &[String]) -> RuleSet {
    RuleSet {
        rules: exprs
            .iter()
            .enumerate()
            .map(|(k, e)| Rule {
                id: format!("r{k}"),
                description: String::new(),
                expression: e.clone(),
                action: Action::Block,
                action_parameters: ActionParameters::default(),
                enabled: true,
            })
            .collect(),
    }
}

// ---- the run ------------------------------------------------------------

fn main() {
    let reqs = r1000_requests();
    let mut c = Criterion::default().configure_from_args();
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let scheme = wf_scheme();
    let req = Req::bench_request();
    let pc_req = req.portcullis();
    let nat_req = req.fields();
    let mut cx_req = portcullis::Context::new(&schema);
    for (id, _) in schema.fields() {
        let v = portcullis::Request::get(&pc_req, id);
        if let Some(v) = portcullis::functions::eval::to_value(&v) {
            cx_req.set_by_id(id, v).expect("same schema");
        }
    }
    let wf_req = req.wirefilter(&scheme);
    let mut memory = Vec::new();

    for (name, text) in cases() {
        let (filter, bytes) = held(|| compiler.compile(&text).expect("portcullis compiles"));
        memory.push(format!("{name} compiled_bytes={bytes}"));
        let wf_filter = scheme.parse(&text).expect("wirefilter parses").compile();
        let nat = native(name);
        assert_eq!(
            filter.matches(&pc_req),
            wf_filter.execute(&wf_req).unwrap(),
            "{name}: engines disagree"
        );
        assert_eq!(
            filter.matches(&pc_req),
            nat(&nat_req),
            "{name}: baseline disagrees"
        );
        let mut g = c.benchmark_group(name);
        g.bench_function("portcullis", |b| {
            b.iter(|| filter.matches(black_box(&pc_req)))
        });
        g.bench_function("portcullis-context", |b| {
            b.iter(|| filter.matches(black_box(&cx_req)))
        });
        g.bench_function("wirefilter", |b| {
            b.iter(|| wf_filter.execute(black_box(&wf_req)).unwrap())
        });
        g.bench_function("native", |b| b.iter(|| nat(black_box(&nat_req))));
        g.finish();

        let mut g = c.benchmark_group(format!("{name}-compile"));
        g.bench_function("portcullis", |b| {
            // A fresh compiler each time: nothing (regexes included) is cached across iterations.
            b.iter(|| {
                Compiler::new(&schema)
                    .compile(black_box(&text))
                    .map(|f| f.fields().len())
            })
        });
        g.bench_function("wirefilter", |b| {
            b.iter(|| scheme.parse(black_box(&text)).map(|a| a.compile()))
        });
        g.finish();
    }

    // R1000.
    let (exprs, natives) = r1000();
    let set = rule_set(&exprs);
    let peak_before = LIVE.load(Ordering::SeqCst);
    PEAK.store(peak_before, Ordering::SeqCst);
    let (compiled, set_bytes): (CompiledRuleSet, isize) =
        held(|| set.compile(&compiler).expect("R1000 compiles"));
    let peak = PEAK.load(Ordering::SeqCst) - peak_before;
    memory.push(format!(
        "R1000 compiled_bytes={set_bytes} peak_compile_bytes={peak}"
    ));
    let wf_filters: Vec<_> = exprs
        .iter()
        .map(|e| scheme.parse(e).expect("wirefilter parses").compile())
        .collect();
    let pc_reqs: Vec<HttpRequest> = reqs.iter().map(Req::portcullis).collect();
    let nat_reqs: Vec<HttpFields> = reqs.iter().map(Req::fields).collect();
    let wf_reqs: Vec<_> = reqs.iter().map(|r| r.wirefilter(&scheme)).collect();
    let mut fired = 0;
    for ((p, w), r) in pc_reqs.iter().zip(&wf_reqs).zip(&nat_reqs) {
        let pv = compiled
            .evaluate(p)
            .rule
            .map(|id| id[1..].parse::<usize>().unwrap());
        let wv = wf_filters.iter().position(|f| f.execute(w).unwrap());
        let nv = natives.iter().position(|f| f(r));
        assert_eq!(pv, wv, "R1000: engines disagree");
        assert_eq!(pv, nv, "R1000: baseline disagrees");
        fired += usize::from(pv.is_some());
    }
    eprintln!("R1000: {fired} of 1000 requests blocked");
    let mut g = c.benchmark_group("R1000");
    g.bench_function("portcullis", |b| {
        b.iter(|| {
            pc_reqs
                .iter()
                .filter(|r| compiled.evaluate(*r).action.is_some())
                .count()
        })
    });
    g.bench_function("wirefilter", |b| {
        b.iter(|| {
            wf_reqs
                .iter()
                .filter(|r| wf_filters.iter().any(|f| f.execute(r).unwrap()))
                .count()
        })
    });
    g.bench_function("native", |b| {
        b.iter(|| {
            nat_reqs
                .iter()
                .filter(|r| natives.iter().any(|f| f(r)))
                .count()
        })
    });
    g.finish();
    let mut g = c.benchmark_group("R1000-compile");
    g.sample_size(10);
    g.bench_function("portcullis", |b| {
        b.iter_batched(
            || set.clone(),
            |s| {
                s.compile(&Compiler::new(&schema))
                    .map(|c| c.len())
                    .unwrap_or(0)
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("wirefilter", |b| {
        b.iter(|| {
            exprs
                .iter()
                .map(|e| scheme.parse(e).map(|a| a.compile()))
                .filter(Result::is_ok)
                .count()
        })
    });
    g.finish();

    c.final_summary();
    summary(&memory);
}

/// Reads criterion's estimates back and prints the one-line-per-case summary.
fn summary(memory: &[String]) {
    let dir = std::env::var("CRITERION_HOME").unwrap_or_else(|_| "target/criterion".into());
    let mean = |group: &str, f: &str| -> Option<f64> {
        let text = std::fs::read_to_string(format!("{dir}/{group}/{f}/new/estimates.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    println!();
    for (group, per) in [
        ("E1", 1.0),
        ("E2", 1.0),
        ("E3", 1.0),
        ("E4", 1.0),
        ("E5", 1.0),
        ("R1000", 1000.0),
    ] {
        let (Some(p), Some(w), Some(n)) = (
            mean(group, "portcullis"),
            mean(group, "wirefilter"),
            mean(group, "native"),
        ) else {
            continue;
        };
        println!(
            "{group} portcullis_ns={:.2} wirefilter_ns={:.2} native_ns={:.2} ratio={:.3}",
            p / per,
            w / per,
            n / per,
            p / w
        );
    }
    for group in [
        "E1-compile",
        "E2-compile",
        "E3-compile",
        "E4-compile",
        "E5-compile",
        "R1000-compile",
    ] {
        if let (Some(p), Some(w)) = (mean(group, "portcullis"), mean(group, "wirefilter")) {
            println!(
                "{group} portcullis_ns={p:.0} wirefilter_ns={w:.0} ratio={:.3}",
                p / w
            );
        }
    }
    for m in memory {
        println!("memory {m}");
    }
}
