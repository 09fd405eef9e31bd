//! portcullis side by side with `wirefilter-engine` 0.6.1 (the reference peer)
//! and with hand-written Rust closures over a plain struct of the same request
//! data (the practical lower bound), measured in the same run.
//!
//! `cargo bench --bench peers` ends with one line per case:
//! `CASE portcullis_ns=… wirefilter_ns=… native_ns=… ratio=…` (ratio =
//! portcullis / wirefilter, from criterion's median of each), then the heap
//! held by each compiled case.

#[path = "../tests/workload/mod.rs"]
mod workload;

#[path = "support/wirefilter_peer.rs"]
mod wirefilter_peer;
use wirefilter_peer::{wf_context, wf_scheme};

use criterion::{Criterion, black_box};
use portcullis::CompiledRuleSet;
use portcullis::{Compiler, HttpRequest, Schema, Val};
use regex::bytes::Regex;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::IpAddr;
use workload::{COUNTRIES, OnDemand, Req};

// ---- a counting allocator, for the memory report -------------------------

struct Counting;

// Per thread, without atomics: the allocator's own cost then stays small for
// both engines (criterion runs every benchmark on the main thread, where the
// memory report is taken too). Bytes freed on another thread than the one
// that allocated them skew only that thread's count.
thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

// SAFETY: defers every call to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|live| {
            let now = live.get() + layout.size() as isize;
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|live| live.set(live.get() - layout.size() as isize));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes still held after `f` returns, and the value it built.
fn held<T>(f: impl FnOnce() -> T) -> (T, isize) {
    let before = live();
    let v = f();
    (v, live() - before)
}

// ---- the cases ----------------------------------------------------------

// ---- the hand-written baseline ------------------------------------------

/// What the hand-written closures read: a plain struct, one member per field
/// they test, read by direct member access. It is filled from the portcullis
/// request, so both see the same derived data (decoded path, host from the
/// `Host` header...).
struct NativeReq {
    http_host: Option<Vec<u8>>,
    http_user_agent: Option<Vec<u8>>,
    http_referer: Option<Vec<u8>>,
    http_request_method: Option<Vec<u8>>,
    http_request_uri_path: Option<Vec<u8>>,
    ip_src: Option<IpAddr>,
    ip_src_country: Option<Vec<u8>>,
    tcp_dstport: Option<i64>,
    cf_tls_client_auth_cert_verified: Option<bool>,
    cf_bot_management_score: Option<i64>,
    cf_bot_management_verified_bot: Option<bool>,
}

impl NativeReq {
    fn of(r: &HttpRequest) -> NativeReq {
        let get = |name: &str| r.get_by_name(name).expect("a catalogue field");
        let bytes = |name: &str| match get(name) {
            Val::Bytes(b) => Some(b.into_owned()),
            _ => None,
        };
        let int = |name: &str| match get(name) {
            Val::Int(n) => Some(n),
            _ => None,
        };
        let flag = |name: &str| match get(name) {
            Val::Bool(b) => Some(b),
            _ => None,
        };
        NativeReq {
            http_host: bytes("http.host"),
            http_user_agent: bytes("http.user_agent"),
            http_referer: bytes("http.referer"),
            http_request_method: bytes("http.request.method"),
            http_request_uri_path: bytes("http.request.uri.path"),
            ip_src: match get("ip.src") {
                Val::Ip(ip) => Some(ip),
                _ => None,
            },
            ip_src_country: bytes("ip.src.country"),
            tcp_dstport: int("tcp.dstport"),
            cf_tls_client_auth_cert_verified: flag("cf.tls_client_auth.cert_verified"),
            cf_bot_management_score: int("cf.bot_management.score"),
            cf_bot_management_verified_bot: flag("cf.bot_management.verified_bot"),
        }
    }
}

type Native = Box<dyn Fn(&NativeReq) -> bool>;

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
        "E1" => Box::new(|r: &NativeReq| bytes_eq(&r.http_host, b"api.example.com")),
        "E2" => Box::new(|r: &NativeReq| {
            (bytes_eq(&r.http_host, b"orangeclouded.com")
                || bytes_eq(&r.http_host, b"api.orangeclouded.com"))
                && r.cf_tls_client_auth_cert_verified == Some(false)
        }),
        "E3" => Box::new(|r: &NativeReq| {
            (in_v4(r.ip_src, 0x0a00_0000, 8) || in_v4(r.ip_src, 0xc000_0200, 24))
                && matches!(r.tcp_dstport, Some(80 | 443 | 8000..=8999))
        }),
        "E4" => {
            let curl = memchr::memmem::Finder::new(b"curl").into_owned();
            let admin = Regex::new("^/admin").unwrap();
            Box::new(move |r: &NativeReq| {
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
            Box::new(move |r: &NativeReq| hosts.iter().any(|h| bytes_eq(&r.http_host, h)))
        }
    }
}

// ---- R1000: a realistic rule set ----------------------------------------

/// The hand-written twin of R1000's rule `k` (see `workload::rule_expr`).
fn native_rule(k: usize, n: usize) -> Native {
    match k % 9 {
        0 => {
            let h = format!("h{n}.example.com").into_bytes();
            Box::new(move |r: &NativeReq| bytes_eq(&r.http_host, &h))
        }
        1 => {
            let ab = format!("api{n}.example.com").into_bytes();
            let bb = format!("app{n}.example.com").into_bytes();
            Box::new(move |r: &NativeReq| {
                (bytes_eq(&r.http_host, &ab) || bytes_eq(&r.http_host, &bb))
                    && r.cf_tls_client_auth_cert_verified == Some(false)
            })
        }
        2 => {
            let re = Regex::new(&format!("^/api/v{}/item{n}(/|$)", n % 9)).unwrap();
            Box::new(move |r: &NativeReq| {
                r.http_request_uri_path
                    .as_deref()
                    .is_some_and(|p| re.is_match(p))
            })
        }
        3 => {
            let (a, b) = ((n % 256) as u32, (n / 8 % 256) as u32);
            Box::new(move |r: &NativeReq| {
                in_v4(r.ip_src, 0x0a00_0000 | a << 16, 16)
                    || in_v4(r.ip_src, 0xc633_0000 | b << 8, 24)
            })
        }
        4 => {
            let c1 = COUNTRIES[n % COUNTRIES.len()];
            let c2 = COUNTRIES[(n / 7) % COUNTRIES.len()];
            let p = format!("/geo/{n}").into_bytes();
            Box::new(move |r: &NativeReq| {
                (bytes_eq(&r.ip_src_country, c1.as_bytes())
                    || bytes_eq(&r.ip_src_country, c2.as_bytes()))
                    && bytes_eq(&r.http_request_uri_path, &p)
            })
        }
        5 => {
            let f = memchr::memmem::Finder::new(format!("scanner{n}").as_bytes()).into_owned();
            Box::new(move |r: &NativeReq| {
                r.http_user_agent
                    .as_deref()
                    .is_some_and(|ua| f.find(ua).is_some())
            })
        }
        6 => {
            let score = (n % 30) as i64;
            let h = format!("shop{n}.example.com").into_bytes();
            Box::new(move |r: &NativeReq| {
                r.cf_bot_management_score.is_some_and(|s| s < score)
                    && r.cf_bot_management_verified_bot == Some(false)
                    && bytes_eq(&r.http_host, &h)
            })
        }
        7 => {
            let f = memchr::memmem::Finder::new(format!("spam{n}.example").as_bytes()).into_owned();
            Box::new(move |r: &NativeReq| {
                r.http_referer
                    .as_deref()
                    .is_some_and(|x| f.find(x).is_some())
            })
        }
        _ => {
            let p = format!("/login{n}").into_bytes();
            Box::new(move |r: &NativeReq| {
                bytes_eq(&r.http_request_method, b"POST") && bytes_eq(&r.http_request_uri_path, &p)
            })
        }
    }
}

// ---- the run ------------------------------------------------------------

fn main() {
    let reqs = workload::r1000_requests();
    let mut c = Criterion::default().configure_from_args();
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let scheme = wf_scheme();
    let req = Req::bench_request();
    let pc_req = req.portcullis();
    let nat_req = NativeReq::of(&pc_req);
    let mut cx_req = portcullis::Context::new(&schema);
    for (id, _) in schema.fields() {
        let v = portcullis::Request::get(&pc_req, id);
        if let Some(v) = v.to_value() {
            cx_req.set_by_id(id, v).expect("same schema");
        }
    }
    let wf_req = wf_context(&req, &scheme);
    let mut memory = Vec::new();
    // Process-wide tables built on first use (the catalogue's name table)
    // belong to no filter: built before anything is measured.
    drop(compiler.compile("http.host == \"warm-up\""));

    for (name, text) in workload::cases() {
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
    let exprs = workload::r1000();
    let natives: Vec<Native> = workload::r1000_numbers()
        .into_iter()
        .enumerate()
        .map(|(k, n)| native_rule(k, n))
        .collect();
    let set = workload::rule_set(&exprs);
    let peak_before = live();
    PEAK.with(|p| p.set(peak_before));
    let (compiled, set_bytes): (CompiledRuleSet, isize) =
        held(|| set.compile(&compiler).expect("R1000 compiles"));
    let peak = PEAK.with(Cell::get) - peak_before;
    memory.push(format!(
        "R1000 compiled_bytes={set_bytes} peak_compile_bytes={peak}"
    ));
    let wf_filters: Vec<_> = exprs
        .iter()
        .map(|e| scheme.parse(e).expect("wirefilter parses").compile())
        .collect();
    let pc_reqs: Vec<HttpRequest> = reqs.iter().map(Req::portcullis).collect();
    let nat_reqs: Vec<NativeReq> = pc_reqs.iter().map(NativeReq::of).collect();
    let wf_reqs: Vec<_> = reqs.iter().map(|r| wf_context(r, &scheme)).collect();
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
    // The same requests computing fields on demand: the set reads them
    // through its per-request memo (each field computed once).
    g.bench_function("portcullis-on-demand", |b| {
        b.iter(|| {
            pc_reqs
                .iter()
                .filter(|r| compiled.evaluate(&OnDemand(r)).action.is_some())
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
        // As for wirefilter: the rule texts stay, what is compiled is dropped
        // inside the measurement.
        b.iter(|| {
            set.compile(&Compiler::new(&schema))
                .map(|c| c.len())
                .unwrap_or(0)
        })
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
    // Where criterion writes: `CRITERION_HOME`, else the target directory's `criterion`.
    let dir = std::env::var("CRITERION_HOME").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        format!("{target}/criterion")
    });
    // The median of the samples: one measurement at a time on a shared
    // machine, a burst of other work lands on a few samples and drags the
    // mean (and the mean only) of whichever engine it hit.
    let median = |group: &str, f: &str| -> Option<f64> {
        let text = std::fs::read_to_string(format!("{dir}/{group}/{f}/new/estimates.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["median"]["point_estimate"].as_f64()
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
            median(group, "portcullis"),
            median(group, "wirefilter"),
            median(group, "native"),
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
        if let (Some(p), Some(w)) = (median(group, "portcullis"), median(group, "wirefilter")) {
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
