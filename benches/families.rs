//! The families `benches/peers.rs` does not look at, each measured in one
//! run against hand-written Rust over the same data (the practical floor)
//! and, where it has the feature, `wirefilter-engine` 0.6.1: arrays and
//! maps, transform functions, named lists of 10,000 and 1,000,000 entries
//! (and lookups while one is swapped), request building, and rule sets of
//! 1,000 rules of other shapes than R1000.
//!
//! wirefilter 0.6.1 has no arrays, maps, functions or named lists: for
//! lists it evaluates the same entries written as a set literal
//! (`ip.src in {...}`); arrays, maps and functions have no peer.
//!
//! `cargo bench --bench families` ends with one line per case:
//! `CASE portcullis_ns=… wirefilter_ns=… native_ns=… ratio_wf=… ratio_native=…`
//! (ratios of criterion's medians; `n/a` where there is no peer), then the
//! `alloc`, `memory` and `swap` lines.

#[path = "../tests/workload/mod.rs"]
mod workload;

#[path = "support/wirefilter_peer.rs"]
mod wirefilter_peer;
use wirefilter_peer::wf_context;

use criterion::{Criterion, black_box};
use portcullis::{
    Action, ActionParameters, ClientCert, CompiledRuleSet, Compiler, Context, Filter, HttpRequest,
    Rule, RuleSet, Schema, Type, Val, Value,
};
use regex::bytes::Regex;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use workload::{COUNTRIES, Lcg, Req};

// ---- a counting allocator: heap held, and allocations made -----------------

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers every call to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|l| l.set(l.get() + layout.size() as isize));
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|l| l.set(l.get() - layout.size() as isize));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = LIVE.try_with(|l| l.set(l.get() + new_size as isize - layout.size() as isize));
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes still held after `f` returns, and the value it built.
fn held<T>(f: impl FnOnce() -> T) -> (T, isize) {
    let before = LIVE.with(Cell::get);
    let v = f();
    (v, LIVE.with(Cell::get) - before)
}

/// How many allocations `f` makes (what it returns dropped outside).
fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = COUNT.with(Cell::get);
    let v = f();
    (v, COUNT.with(Cell::get) - before)
}

// ---- the request of the families ------------------------------------------

/// A request with the headers, query and body a browser's API call has.
#[derive(Clone)]
struct Raw {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
    ip: IpAddr,
    country: String,
    bot_score: i64,
}

impl Raw {
    fn typical() -> Raw {
        Raw::numbered(42, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36".into())
    }

    /// The typical request with `n` in its tenant, query, body and custom header.
    fn numbered(n: u64, ua: String) -> Raw {
        Raw {
            method: "GET".into(),
            target: format!(
                "/v1/users/{n}?q=%3Cb%3Ehello%20world%3C%2Fb%3E&page=2&p{n}=v{n}-x&sort=name"
            ),
            headers: vec![
                ("Host".into(), "api.example.com".into()),
                ("User-Agent".into(), ua),
                (
                    "Accept".into(),
                    "text/html,application/xhtml+xml,application/xml;q=0.9".into(),
                ),
                ("Accept-Language".into(), "en-US,en;q=0.9".into()),
                ("Accept-Encoding".into(), "gzip, deflate, br".into()),
                (
                    "Cookie".into(),
                    "sid=3f2a9c; theme=dark; debug=0; consent=yes".into(),
                ),
                ("Referer".into(), "https://www.example.com/app".into()),
                ("X-Forwarded-For".into(), "198.51.100.7".into()),
                ("X-Tenant".into(), format!("t{n}")),
                (format!("X-H{n}"), "1".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: format!(
                r#"{{"user":{{"id":"u{n}","name":"ann","role":"viewer"}},"items":[{{"sku":"a1","qty":3}},{{"sku":"b2","qty":1}}],"note":"{}"}}"#,
                "x".repeat(40)
            ),
            ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, (n % 250) as u8)),
            country: "US".into(),
            bot_score: 80,
        }
    }

    fn portcullis(&self) -> HttpRequest {
        let mut b = HttpRequest::builder()
            .method(&self.method)
            .uri(&self.target)
            .client_ip(self.ip)
            .country(&self.country)
            .bot_score(self.bot_score);
        for (name, value) in &self.headers {
            b = b.header(name, value);
        }
        b.body(self.body.as_bytes(), "").build().expect("request")
    }
}

/// What the hand-written code reads: plain members, filled from the
/// portcullis request so both see the same derived data.
#[derive(Default)]
struct Native {
    host: Vec<u8>,
    ua: Vec<u8>,
    referer: Vec<u8>,
    method: Vec<u8>,
    path: Vec<u8>,
    query: Vec<u8>,
    cookie: Vec<u8>,
    body: Vec<u8>,
    country: Vec<u8>,
    ip: u32,
    names: Vec<Vec<u8>>,
    values: Vec<Vec<u8>>,
    headers: BTreeMap<Vec<u8>, Vec<Vec<u8>>>,
    args: BTreeMap<Vec<u8>, Vec<Vec<u8>>>,
    arg_values: Vec<Vec<u8>>,
    languages: Vec<Vec<u8>>,
}

fn strings(v: Val<'_>) -> Vec<Vec<u8>> {
    match v {
        Val::Array(s) => (0..s.len())
            .filter_map(|k| s.get(k).as_bytes().map(<[u8]>::to_vec))
            .collect(),
        _ => Vec::new(),
    }
}

fn string_map(v: Val<'_>) -> BTreeMap<Vec<u8>, Vec<Vec<u8>>> {
    match v {
        Val::Map(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), strings(v.as_val())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

impl Native {
    fn of(r: &HttpRequest) -> Native {
        let get = |name: &str| r.get_by_name(name).expect("a catalogue field");
        let b = |name: &str| get(name).as_bytes().map(<[u8]>::to_vec).unwrap_or_default();
        Native {
            host: b("http.host"),
            ua: b("http.user_agent"),
            referer: b("http.referer"),
            method: b("http.request.method"),
            path: b("http.request.uri.path"),
            query: b("http.request.uri.query"),
            cookie: b("http.cookie"),
            body: b("http.request.body.raw"),
            country: b("ip.src.country"),
            ip: match get("ip.src") {
                Val::Ip(IpAddr::V4(a)) => u32::from(a),
                _ => 0,
            },
            names: strings(get("http.request.headers.names")),
            values: strings(get("http.request.headers.values")),
            headers: string_map(get("http.request.headers")),
            args: string_map(get("http.request.uri.args")),
            arg_values: strings(get("http.request.uri.args.values")),
            languages: strings(get("http.request.accepted_languages")),
        }
    }
}

type NativeFn = Box<dyn Fn(&Native) -> bool>;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// `%XX` decoding, as a hand-written filter would do it.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut k = 0;
    while k < s.len() {
        if s[k] == b'%'
            && let (Some(h), Some(l)) = (
                s.get(k + 1).copied().and_then(hex),
                s.get(k + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            k += 3;
            continue;
        }
        out.push(s[k]);
        k += 1;
    }
    out
}

fn json_string<'j>(doc: &'j serde_json::Value, path: &[&str]) -> Option<&'j str> {
    path.iter()
        .try_fold(doc, |v, k| v.get(k))
        .and_then(serde_json::Value::as_str)
}

/// The single-expression cases: name, expression, its hand-written twin.
fn eval_cases() -> Vec<(&'static str, &'static str, NativeFn)> {
    let re_version = Regex::new("/v[0-9]+/").unwrap();
    vec![
        // Arrays and maps.
        (
            "A-any-miss",
            r#"any(http.request.headers.names[*] == "X-Debug")"#,
            Box::new(|r: &Native| r.names.iter().any(|n| n == b"X-Debug")),
        ),
        (
            "A-any-hit",
            r#"any(http.request.headers.names[*] == "Referer")"#,
            Box::new(|r: &Native| r.names.iter().any(|n| n == b"Referer")),
        ),
        (
            "A-all",
            r#"all(http.request.headers.names[*] != "X-Debug")"#,
            Box::new(|r: &Native| r.names.iter().all(|n| n != b"X-Debug")),
        ),
        (
            "A-any-starts",
            r#"any(starts_with(http.request.headers.values[*], "curl/"))"#,
            Box::new(|r: &Native| r.values.iter().any(|v| v.starts_with(b"curl/"))),
        ),
        (
            "A-any-lower",
            r#"any(lower(http.request.headers.names[*])[*] == "x-debug")"#,
            Box::new(|r: &Native| r.names.iter().any(|n| n.eq_ignore_ascii_case(b"x-debug"))),
        ),
        (
            "A-index",
            r#"http.request.headers.names[0] == "Host""#,
            Box::new(|r: &Native| r.names.first().is_some_and(|n| n == b"Host")),
        ),
        (
            "A-len",
            r#"len(http.request.headers.names) > 20"#,
            Box::new(|r: &Native| r.names.len() > 20),
        ),
        (
            "A-has-key",
            r#"has_key(http.request.headers, "authorization")"#,
            Box::new(|r: &Native| r.headers.contains_key(&b"authorization"[..])),
        ),
        (
            "A-map-lookup",
            r#"http.request.headers["x-tenant"][0] == "t42""#,
            Box::new(|r: &Native| {
                r.headers
                    .get(&b"x-tenant"[..])
                    .and_then(|v| v.first())
                    .is_some_and(|v| v == b"t42")
            }),
        ),
        // Transform functions.
        (
            "F-lower",
            r#"lower(http.host) == "api.example.com" and not http.user_agent contains "bot""#,
            Box::new(|r: &Native| {
                r.host.eq_ignore_ascii_case(b"api.example.com") && !contains(&r.ua, b"bot")
            }),
        ),
        (
            "F-lower-contains",
            r#"lower(http.user_agent) contains "headless""#,
            Box::new(|r: &Native| contains(&r.ua.to_ascii_lowercase(), b"headless")),
        ),
        (
            "F-url-decode",
            r#"url_decode(http.request.uri.query) contains "<script""#,
            Box::new(|r: &Native| contains(&percent_decode(&r.query), b"<script")),
        ),
        (
            "F-json",
            r#"lookup_json_string(http.request.body.raw, "user", "role") == "admin""#,
            Box::new(|r: &Native| {
                serde_json::from_slice::<serde_json::Value>(&r.body)
                    .ok()
                    .is_some_and(|d| json_string(&d, &["user", "role"]) == Some("admin"))
            }),
        ),
        (
            "F-regex-replace",
            r#"regex_replace(http.request.uri.path, "/v[0-9]+/", "/") == "/users/7""#,
            Box::new(move |r: &Native| {
                re_version.replace_all(&r.path, &b"/"[..]) == &b"/users/7"[..]
            }),
        ),
        (
            "F-concat",
            r#"concat(http.host, http.request.uri.path) == "api.example.com/v1/users/42""#,
            Box::new(|r: &Native| {
                let want = b"api.example.com/v1/users/42";
                want.len() == r.host.len() + r.path.len()
                    && want.starts_with(&r.host)
                    && want[r.host.len()..] == r.path[..]
            }),
        ),
        (
            "F-split",
            r#"any(split(http.cookie, "; ")[*] == "debug=1")"#,
            Box::new(|r: &Native| {
                let mut from = 0;
                let c = &r.cookie;
                loop {
                    let end = memchr::memmem::find(&c[from..], b"; ").map_or(c.len(), |e| from + e);
                    if &c[from..end] == b"debug=1" {
                        return true;
                    }
                    if end == c.len() {
                        return false;
                    }
                    from = end + 2;
                }
            }),
        ),
        (
            "F-join",
            r#"join(http.request.accepted_languages, ",") == "de,fr""#,
            Box::new(|r: &Native| r.languages.join(&b","[..]) == b"de,fr"),
        ),
    ]
}

// ---- wirefilter -----------------------------------------------------------

/// The scheme, for the whole run: wirefilter's filters and contexts
/// borrow it (and a context the values it holds) for one lifetime.
fn wf_scheme() -> &'static wirefilter::Scheme {
    leak(wirefilter_peer::wf_scheme())
}

/// `t` for the rest of the run (what wirefilter's contexts borrow).
fn leak<T>(t: T) -> &'static T {
    Box::leak(Box::new(t))
}

// ---- named lists ----------------------------------------------------------

/// `n` addresses of `base`'s /8, four apart (so none merge), as list items
/// and as the hand-written sorted table.
fn addresses(base: u32, n: u32) -> Vec<u32> {
    (0..n).map(|k| base + k * 4 + 1).collect()
}

fn ip_text(a: u32) -> String {
    Ipv4Addr::from(a).to_string()
}

/// The 100 CIDR blocks beside the addresses: `172.16.0.0/16` and on.
fn cidrs() -> Vec<(u32, u32)> {
    (0..100u32)
        .map(|k| {
            let lo = u32::from(Ipv4Addr::new(172, 16 + k as u8, 0, 0));
            (lo, lo | 0xffff)
        })
        .collect()
}

/// The hand-written list: sorted, merged ranges, found by binary search.
struct NativeIps(Vec<(u32, u32)>);

impl NativeIps {
    fn new(addrs: &[u32], blocks: &[(u32, u32)]) -> NativeIps {
        let mut r: Vec<(u32, u32)> = addrs.iter().map(|&a| (a, a)).collect();
        r.extend_from_slice(blocks);
        r.sort();
        NativeIps(r)
    }
    fn contains(&self, a: u32) -> bool {
        let k = self.0.partition_point(|&(_, hi)| hi < a);
        self.0.get(k).is_some_and(|&(lo, _)| lo <= a)
    }
}

fn host_name(k: u32, tag: &str) -> String {
    format!("h{k}.{tag}.example")
}

// ---- rule sets ------------------------------------------------------------

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
                extra: Default::default(),
            })
            .collect(),
    }
}

/// FA1000: rules dominated by functions, `[*]` and map lookups. Rule `k`
/// with its random number `n`, and its hand-written twin.
fn fa_rule(k: usize, n: u64) -> (String, NativeFn) {
    match k % 8 {
        0 => {
            let h = format!("X-H{n}").into_bytes();
            (
                format!(r#"any(http.request.headers.names[*] == "X-H{n}")"#),
                Box::new(move |r: &Native| r.names.contains(&h)),
            )
        }
        1 => {
            let s = format!("scanner{n}").into_bytes();
            (
                format!(r#"lower(http.user_agent) contains "scanner{n}""#),
                Box::new(move |r: &Native| contains(&r.ua.to_ascii_lowercase(), &s)),
            )
        }
        2 => {
            let t = format!("t{n}").into_bytes();
            (
                format!(
                    r#"http.request.headers["x-tenant"][0] == "t{n}" and http.request.method == "POST""#
                ),
                Box::new(move |r: &Native| {
                    r.headers
                        .get(&b"x-tenant"[..])
                        .and_then(|v| v.first())
                        .is_some_and(|v| *v == t)
                        && r.method == b"POST"
                }),
            )
        }
        3 => {
            let p = format!("p{n}").into_bytes();
            (
                format!(
                    r#"has_key(http.request.uri.args, "p{n}") and ip.src.country == "{}""#,
                    COUNTRIES[n as usize % COUNTRIES.len()]
                ),
                {
                    let c = COUNTRIES[n as usize % COUNTRIES.len()].as_bytes().to_vec();
                    Box::new(move |r: &Native| r.args.contains_key(&p) && r.country == c)
                },
            )
        }
        4 => {
            let q = format!("q{n}=").into_bytes();
            (
                format!(r#"url_decode(http.request.uri.query) contains "q{n}=""#),
                Box::new(move |r: &Native| contains(&percent_decode(&r.query), &q)),
            )
        }
        5 => {
            let v = format!("v{n}-").into_bytes();
            (
                format!(
                    r#"any(starts_with(http.request.uri.args.values[*], "v{n}-")) and http.request.method == "PUT""#
                ),
                Box::new(move |r: &Native| {
                    r.arg_values.iter().any(|x| x.starts_with(&v)) && r.method == b"PUT"
                }),
            )
        }
        6 => {
            let h = format!("h{n}.example.com").into_bytes();
            (
                format!(r#"ends_with(lower(http.host), "h{n}.example.com")"#),
                Box::new(move |r: &Native| r.host.to_ascii_lowercase().ends_with(&h)),
            )
        }
        _ => {
            let u = format!("u{n}");
            (
                format!(
                    r#"lookup_json_string(http.request.body.raw, "user", "id") == "u{n}" and http.request.uri.path == "/admin""#
                ),
                Box::new(move |r: &Native| {
                    r.path == b"/admin"
                        && serde_json::from_slice::<serde_json::Value>(&r.body)
                            .ok()
                            .is_some_and(|d| json_string(&d, &["user", "id"]) == Some(u.as_str()))
                }),
            )
        }
    }
}

/// FA1000's requests: the typical request with random numbers, a scanner
/// user agent, POST, PUT or an admin path now and then.
fn fa_requests(count: usize) -> Vec<Raw> {
    let mut rng = Lcg(23);
    (0..count)
        .map(|_| {
            let n = rng.below(4000);
            let ua = if rng.below(10) == 0 {
                format!("Mozilla/5.0 Scanner{}", rng.below(2000))
            } else {
                Raw::typical().headers[1].1.clone()
            };
            let mut r = Raw::numbered(n, ua);
            r.method = ["GET", "GET", "POST", "PUT"][rng.below(4) as usize].into();
            if rng.below(8) == 0 {
                r.target = format!("/admin?p{n}=1");
            }
            r.country = COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize].into();
            r.headers[0].1 = format!("h{}.example.com", rng.below(4000));
            r
        })
        .collect()
}

/// SH1000: every rule anchored on the same host, so every request to it
/// evaluates most rules. Rule `k` with its random number `n`.
fn sh_rule(k: usize, n: u64) -> (String, NativeFn) {
    const HOST: &[u8] = b"shop.example.com";
    let host = |r: &Native| r.host == HOST;
    match k % 5 {
        0 => {
            let p = format!("/p/{n}").into_bytes();
            (
                format!(r#"http.host == "shop.example.com" and http.request.uri.path == "/p/{n}""#),
                Box::new(move |r: &Native| host(r) && r.path == p),
            )
        }
        1 => {
            let b = format!("bot{n}").into_bytes();
            (
                format!(
                    r#"http.host == "shop.example.com" and http.request.method == "POST" and http.user_agent contains "bot{n}""#
                ),
                Box::new(move |r: &Native| host(r) && r.method == b"POST" && contains(&r.ua, &b)),
            )
        }
        2 => {
            let net = u32::from(Ipv4Addr::new(10, (n % 256) as u8, (n / 256 % 256) as u8, 0));
            (
                format!(
                    r#"http.host == "shop.example.com" and ip.src in {{10.{}.{}.0/24}}"#,
                    n % 256,
                    n / 256 % 256
                ),
                Box::new(move |r: &Native| host(r) && r.ip >> 8 == net >> 8),
            )
        }
        3 => {
            let re = Regex::new(&format!("^/api/v[0-9]+/o{n}$")).unwrap();
            (
                format!(
                    r#"http.host == "shop.example.com" and http.request.uri.path matches "^/api/v[0-9]+/o{n}$""#
                ),
                Box::new(move |r: &Native| host(r) && re.is_match(&r.path)),
            )
        }
        _ => {
            let f = format!("ref{n}.example").into_bytes();
            let c = COUNTRIES[n as usize % COUNTRIES.len()].as_bytes().to_vec();
            (
                format!(
                    r#"http.host == "shop.example.com" and ip.src.country == "{}" and http.referer contains "ref{n}.example""#,
                    COUNTRIES[n as usize % COUNTRIES.len()]
                ),
                Box::new(move |r: &Native| host(r) && r.country == c && contains(&r.referer, &f)),
            )
        }
    }
}

/// SH1000's requests: nine in ten to the shared host, few matching a rule.
fn sh_requests(count: usize) -> Vec<Req> {
    let mut rng = Lcg(31);
    (0..count)
        .map(|_| {
            let n = rng.below(20_000);
            let mut r = Req::bench_request();
            if rng.below(10) != 0 {
                r.host = "shop.example.com".into();
            }
            r.path = match rng.below(3) {
                0 => format!("/p/{n}"),
                1 => format!("/api/v2/o{n}"),
                _ => "/cart".into(),
            };
            r.method = if rng.below(3) == 0 { "POST" } else { "GET" }.into();
            r.ua = format!("Mozilla/5.0 bot{}", rng.below(20_000));
            r.referer = format!("https://ref{}.example/", rng.below(20_000));
            r.ip = Ipv4Addr::new(10, rng.below(256) as u8, rng.below(256) as u8, 9);
            r.country = COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize].into();
            r
        })
        .collect()
}

/// Rule numbers: `count` numbers below `below`.
fn numbers(seed: u64, count: usize, below: u64) -> Vec<u64> {
    let mut rng = Lcg(seed);
    (0..count).map(|_| rng.below(below)).collect()
}

// ---- the run --------------------------------------------------------------

/// The per-case lines the summary prints, collected as the run goes.
struct Report {
    /// `(case, divisor)`: the groups whose medians the summary reads, and
    /// what one iteration's time is divided by (1 for one evaluation, the
    /// number of requests for a rule set).
    groups: Vec<(String, f64)>,
    lines: Vec<String>,
}

fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(700))
        .configure_from_args()
}

fn main() {
    let mut c = criterion();
    let mut report = Report {
        groups: Vec::new(),
        lines: Vec::new(),
    };
    let schema = Schema::default_http()
        .with_list("ips10k", Type::Ip)
        .with_list("ips1m", Type::Ip)
        .with_list("hosts10k", Type::Bytes)
        .with_list("hosts1m", Type::Bytes);
    let compiler = Compiler::new(&schema);
    drop(compiler.compile("http.host == \"warm-up\""));

    evaluations(&mut c, &mut report, &compiler);
    lists(&mut c, &mut report, &compiler);
    building(&mut c, &mut report, &schema);
    rule_sets(&mut c, &mut report, &schema, &compiler);

    c.final_summary();
    summary(&report);
}

/// Arrays, maps and functions over the typical request.
fn evaluations(c: &mut Criterion, report: &mut Report, compiler: &Compiler<'_>) {
    let pc = Raw::typical().portcullis();
    let nat = Native::of(&pc);
    for (name, text, native) in eval_cases() {
        let (filter, bytes) = held(|| compiler.compile(text).expect(text));
        assert_eq!(
            filter.matches(&pc),
            native(&nat),
            "{name}: baseline disagrees"
        );
        let (_, allocs) = allocations(|| filter.matches(&pc));
        report.lines.push(format!(
            "alloc {name} per_evaluation={allocs} compiled_bytes={bytes}"
        ));
        let mut g = c.benchmark_group(name);
        g.bench_function("portcullis", |b| b.iter(|| filter.matches(black_box(&pc))));
        g.bench_function("native", |b| b.iter(|| native(black_box(&nat))));
        g.finish();
        report.groups.push((name.to_string(), 1.0));
    }
}

/// Membership in lists of 10,000 and 1,000,000 entries, and lookups while
/// the million-entry list is replaced.
fn lists(c: &mut Criterion, report: &mut Report, compiler: &Compiler<'_>) {
    let scheme = wf_scheme();
    let blocks = cidrs();
    let json_ips = |addrs: &[u32]| -> Vec<serde_json::Value> {
        addrs
            .iter()
            .map(|&a| serde_json::json!(ip_text(a)))
            .chain(
                blocks
                    .iter()
                    .map(|&(lo, _)| serde_json::json!(format!("{}/16", ip_text(lo)))),
            )
            .collect()
    };
    let a10k = addresses(u32::from(Ipv4Addr::new(11, 0, 0, 0)), 10_000);
    let a1m = addresses(u32::from(Ipv4Addr::new(12, 0, 0, 0)), 1_000_000);
    let ((), b10k) = held(|| {
        compiler
            .lists()
            .set_json("ips10k", &json_ips(&a10k))
            .unwrap()
    });
    let t = Instant::now();
    let ((), b1m) = held(|| compiler.lists().set_json("ips1m", &json_ips(&a1m)).unwrap());
    let load_ips = t.elapsed();
    let h10k: Vec<String> = (0..10_000).map(|k| host_name(k, "a")).collect();
    let h1m: Vec<String> = (0..1_000_000).map(|k| host_name(k, "a")).collect();
    let js = |v: &[String]| -> Vec<serde_json::Value> {
        v.iter().map(|s| serde_json::json!(s)).collect()
    };
    let ((), bh10k) = held(|| compiler.lists().set_json("hosts10k", &js(&h10k)).unwrap());
    let hosts_a = js(&h1m);
    let t = Instant::now();
    let ((), bh1m) = held(|| compiler.lists().set_json("hosts1m", &hosts_a).unwrap());
    let load_hosts = t.elapsed();
    report.lines.push(format!(
        "memory lists ips10k_bytes={b10k} ips1m_bytes={b1m} hosts10k_bytes={bh10k} hosts1m_bytes={bh1m}"
    ));

    let nat10k = NativeIps::new(&a10k, &blocks);
    let nat1m = NativeIps::new(&a1m, &blocks);
    let nh10k: rustc_hash::FxHashSet<Vec<u8>> =
        h10k.iter().map(|s| s.clone().into_bytes()).collect();
    let nh1m: rustc_hash::FxHashSet<Vec<u8>> = h1m.iter().map(|s| s.clone().into_bytes()).collect();

    // wirefilter: the 10,000-entry lists as set literals.
    let wf_ips = format!(
        "ip.src in {{{}}}",
        a10k.iter()
            .map(|&a| ip_text(a))
            .chain(blocks.iter().map(|&(lo, _)| format!("{}/16", ip_text(lo))))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let wf_hosts = format!(
        "http.host in {{{}}}",
        h10k.iter()
            .map(|h| format!("\"{h}\""))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (wf_ips, wf_ips_bytes) =
        held(|| scheme.parse(&wf_ips).expect("wirefilter parses").compile());
    let (wf_hosts, wf_hosts_bytes) = held(|| {
        scheme
            .parse(&wf_hosts)
            .expect("wirefilter parses")
            .compile()
    });
    report.lines.push(format!(
        "memory wirefilter ips10k_set_bytes={wf_ips_bytes} hosts10k_set_bytes={wf_hosts_bytes}"
    ));

    let ip_req = |a: u32, host: &str| -> &'static Req {
        let mut r = Req::bench_request();
        r.ip = Ipv4Addr::from(a);
        r.host = host.to_string();
        leak(r)
    };
    #[allow(clippy::type_complexity)]
    let cases: Vec<(
        &str,
        &str,
        &'static Req,
        Box<dyn Fn(&Native) -> bool + '_>,
        Option<&wirefilter::Filter<'static>>,
    )> = vec![
        (
            "L-ip10k-hit",
            "ip.src in $ips10k",
            ip_req(a10k[7777], "x"),
            Box::new(|r: &Native| nat10k.contains(r.ip)),
            Some(&wf_ips),
        ),
        (
            "L-ip10k-cidr",
            "ip.src in $ips10k",
            ip_req(blocks[60].0 + 300, "x"),
            Box::new(|r: &Native| nat10k.contains(r.ip)),
            Some(&wf_ips),
        ),
        (
            "L-ip10k-miss",
            "ip.src in $ips10k",
            ip_req(u32::from(Ipv4Addr::new(192, 0, 2, 1)), "x"),
            Box::new(|r: &Native| nat10k.contains(r.ip)),
            Some(&wf_ips),
        ),
        (
            "L-ip1m-hit",
            "ip.src in $ips1m",
            ip_req(a1m[777_777], "x"),
            Box::new(|r: &Native| nat1m.contains(r.ip)),
            None,
        ),
        (
            "L-ip1m-miss",
            "ip.src in $ips1m",
            ip_req(a1m[777_777] + 1, "x"),
            Box::new(|r: &Native| nat1m.contains(r.ip)),
            None,
        ),
        (
            "L-host10k-hit",
            "http.host in $hosts10k",
            ip_req(0, "h7777.a.example"),
            Box::new(|r: &Native| nh10k.contains(&r.host)),
            Some(&wf_hosts),
        ),
        (
            "L-host10k-miss",
            "http.host in $hosts10k",
            ip_req(0, "h7777.b.example"),
            Box::new(|r: &Native| nh10k.contains(&r.host)),
            Some(&wf_hosts),
        ),
        (
            "L-host1m-hit",
            "http.host in $hosts1m",
            ip_req(0, "h777777.a.example"),
            Box::new(|r: &Native| nh1m.contains(&r.host)),
            None,
        ),
        (
            "L-host1m-miss",
            "http.host in $hosts1m",
            ip_req(0, "h777777.b.example"),
            Box::new(|r: &Native| nh1m.contains(&r.host)),
            None,
        ),
    ];
    for (name, text, req, native, wf) in &cases {
        let filter = compiler.compile(text).unwrap();
        let pc = req.portcullis();
        let nat = Native::of(&pc);
        let wcx = wf_context(req, scheme);
        assert_eq!(
            filter.matches(&pc),
            native(&nat),
            "{name}: baseline disagrees"
        );
        let mut g = c.benchmark_group(*name);
        g.bench_function("portcullis", |b| b.iter(|| filter.matches(black_box(&pc))));
        if let Some(wf) = wf {
            assert_eq!(
                filter.matches(&pc),
                wf.execute(&wcx).unwrap(),
                "{name}: engines disagree"
            );
            g.bench_function("wirefilter", |b| {
                b.iter(|| wf.execute(black_box(&wcx)).unwrap())
            });
        }
        g.bench_function("native", |b| b.iter(|| native(black_box(&nat))));
        g.finish();
        report.groups.push((name.to_string(), 1.0));
    }

    // Lookups while the million-host list is replaced: latency of one
    // evaluation, timed one by one, without and then during swaps.
    // The next version: a million hosts again, one dropped and one added,
    // the one looked up in both.
    let hosts_b = js(&(1..=1_000_000)
        .map(|k| host_name(k, "a"))
        .collect::<Vec<_>>());
    let filter = compiler.compile("http.host in $hosts1m").unwrap();
    let pc = ip_req(0, "h77.a.example").portcullis();
    let quiet = timed_lookups(&filter, &pc, Duration::from_millis(300), || false);
    let lists = compiler.lists().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut swaps = Vec::new();
            for k in 0..6 {
                let t = Instant::now();
                lists
                    .set_json("hosts1m", if k % 2 == 0 { &hosts_b } else { &hosts_a })
                    .unwrap();
                swaps.push(t.elapsed());
            }
            stop.store(true, Ordering::Relaxed);
            swaps
        })
    };
    let busy = timed_lookups(&filter, &pc, Duration::from_secs(60), || {
        stop.load(Ordering::Relaxed)
    });
    let mut swaps = writer.join().unwrap();
    swaps.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    report.lines.push(format!(
        "swap hosts1m load_ms={:.0} ips1m_load_ms={:.0} swap_ms_median={:.0} swap_ms_max={:.0}",
        ms(load_hosts),
        ms(load_ips),
        ms(swaps[swaps.len() / 2]),
        ms(swaps[swaps.len() - 1])
    ));
    report.lines.push(format!(
        "swap hosts1m lookup_quiet p50_ns={:.0} p99_ns={:.0} | lookup_during_swaps p50_ns={:.0} p99_ns={:.0} p99.9_ns={:.0} max_us={:.0} evaluations={} (the verdict held throughout)",
        quiet.0, quiet.1, busy.0, busy.1, busy.2, busy.3 / 1e3, busy.4
    ));
}

/// p50, p99, p99.9 and max (ns) of single evaluations timed one by one
/// until `done()` (at least 1,000 of them) or `most` has passed, and how
/// many ran. Every verdict must be `true` (the host is in both versions of
/// the list, so a reader never sees a missing or partial list).
fn timed_lookups(
    filter: &Filter,
    req: &HttpRequest,
    most: Duration,
    done: impl Fn() -> bool,
) -> (f64, f64, f64, f64, usize) {
    let start = Instant::now();
    let mut lat = Vec::new();
    while (lat.len() < 1000 || !done()) && start.elapsed() < most {
        let t = Instant::now();
        let hit = filter.matches(black_box(req));
        lat.push(t.elapsed());
        assert!(hit, "a lookup during a swap missed");
        if lat.len() >= 200_000 && done() {
            break;
        }
        if most < Duration::from_secs(1) && start.elapsed() > most {
            break;
        }
    }
    lat.sort();
    let at = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e9;
    (at(0.5), at(0.99), at(0.999), at(1.0), lat.len())
}

/// Request building: from raw parts, from an `http::Request`, a generic
/// context, and only the fields a rule set reads.
fn building(c: &mut Criterion, report: &mut Report, schema: &Schema) {
    let scheme = wf_scheme();
    let req: &'static Req = leak(Req::bench_request());
    let mut count = |name: &str, allocs: usize| {
        report
            .lines
            .push(format!("alloc {name} per_build={allocs}"));
    };

    // The standard bench request's fields, from raw parts.
    let (_, n) = allocations(|| req.portcullis());
    count("B-builder portcullis", n);
    let (_, n) = allocations(|| wf_context(req, scheme));
    count("B-builder wirefilter", n);
    let (_, n) = allocations(|| native_standard(req));
    count("B-builder native", n);
    let mut g = c.benchmark_group("B-builder");
    g.bench_function("portcullis", |b| b.iter(|| black_box(&req).portcullis()));
    g.bench_function("wirefilter", |b| {
        b.iter(|| wf_context(black_box(req), scheme))
    });
    g.bench_function("native", |b| b.iter(|| native_standard(black_box(req))));
    g.finish();
    report.groups.push(("B-builder".into(), 1.0));

    // The same fields, only those R1000 reads (`only`).
    let r1000 = workload::rule_set(&workload::r1000())
        .compile(&Compiler::new(&Schema::default_http()))
        .unwrap();
    let fields = r1000.fields().to_vec();
    let only = |r: &Req| {
        HttpRequest::builder()
            .only(&fields)
            .method(&r.method)
            .uri(&r.path)
            .header("Host", &r.host)
            .header("User-Agent", &r.ua)
            .header("Referer", &r.referer)
            .header("Cookie", &r.cookie)
            .client_ip(IpAddr::V4(r.ip))
            .country(&r.country)
            .bot_score(r.bot_score)
            .client_cert(&ClientCert {
                presented: r.verified,
                verified: r.verified,
                ..ClientCert::default()
            })
            .field("tcp.dstport", Value::Int(r.port))
            .field(
                "cf.bot_management.verified_bot",
                Value::Bool(r.verified_bot),
            )
            .build()
            .unwrap()
    };
    let (_, n) = allocations(|| only(req));
    count("B-only portcullis", n);
    let mut g = c.benchmark_group("B-only");
    g.bench_function("portcullis", |b| b.iter(|| only(black_box(req))));
    g.bench_function("wirefilter", |b| {
        b.iter(|| wf_context(black_box(req), scheme))
    });
    g.bench_function("native", |b| b.iter(|| native_standard(black_box(req))));
    g.finish();
    report.groups.push(("B-only".into(), 1.0));

    // A generic context over the schema, eight fields set by name.
    let context = |r: &Req| {
        let mut cx = Context::new(schema);
        cx.set("http.host", r.host.as_str().into()).unwrap();
        cx.set("http.request.uri.path", r.path.as_str().into())
            .unwrap();
        cx.set("http.request.method", r.method.as_str().into())
            .unwrap();
        cx.set("http.user_agent", r.ua.as_str().into()).unwrap();
        cx.set("ip.src", IpAddr::V4(r.ip).into()).unwrap();
        cx.set("ip.src.country", r.country.as_str().into()).unwrap();
        cx.set("tcp.dstport", Value::Int(r.port)).unwrap();
        cx.set("cf.bot_management.score", Value::Int(r.bot_score))
            .unwrap();
        cx
    };
    let wf8 = |r: &'static Req| {
        let mut cx = wirefilter::ExecutionContext::new(scheme);
        cx.set_field_value("http.host", r.host.as_str()).unwrap();
        cx.set_field_value("http.request.uri.path", r.path.as_str())
            .unwrap();
        cx.set_field_value("http.request.method", r.method.as_str())
            .unwrap();
        cx.set_field_value("http.user_agent", r.ua.as_str())
            .unwrap();
        cx.set_field_value("ip.src", IpAddr::V4(r.ip)).unwrap();
        cx.set_field_value("ip.src.country", r.country.as_str())
            .unwrap();
        cx.set_field_value("tcp.dstport", r.port as i32).unwrap();
        cx.set_field_value("cf.bot_management.score", r.bot_score as i32)
            .unwrap();
        cx
    };
    let (_, n) = allocations(|| context(req));
    count("B-context portcullis", n);
    let (_, n) = allocations(|| wf8(req));
    count("B-context wirefilter", n);
    let mut g = c.benchmark_group("B-context");
    g.bench_function("portcullis", |b| b.iter(|| context(black_box(req))));
    g.bench_function("wirefilter", |b| b.iter(|| wf8(black_box(req))));
    g.bench_function("native", |b| b.iter(|| native_standard(black_box(req))));
    g.finish();
    report.groups.push(("B-context".into(), 1.0));

    // The same eight fields in a borrowing view, by ids resolved once (as
    // an embedder does): no allocation, nothing copied.
    let ids: Vec<portcullis::FieldId> = [
        "http.host",
        "http.request.uri.path",
        "http.request.method",
        "http.user_agent",
        "ip.src",
        "ip.src.country",
        "tcp.dstport",
        "cf.bot_management.score",
    ]
    .iter()
    .map(|n| schema.field_id(n).expect("a catalogue field"))
    .collect();
    let view = |r: &'static Req| {
        let mut v = portcullis::RequestView::new(schema);
        v.str(ids[0], &r.host).unwrap();
        v.str(ids[1], &r.path).unwrap();
        v.str(ids[2], &r.method).unwrap();
        v.str(ids[3], &r.ua).unwrap();
        v.ip(ids[4], IpAddr::V4(r.ip)).unwrap();
        v.str(ids[5], &r.country).unwrap();
        v.int(ids[6], r.port).unwrap();
        v.int(ids[7], r.bot_score).unwrap();
        v
    };
    let (_, n) = allocations(|| view(req));
    count("B-view portcullis", n);
    let mut g = c.benchmark_group("B-view");
    // The view lives on the caller's stack, as it would in a handler.
    g.bench_function("portcullis", |b| {
        b.iter(|| portcullis::Request::get(&view(black_box(req)), ids[0]).is_missing())
    });
    g.bench_function("wirefilter", |b| b.iter(|| wf8(black_box(req))));
    g.bench_function("native", |b| b.iter(|| native_standard(black_box(req))));
    g.finish();
    report.groups.push(("B-view".into(), 1.0));

    // The families' request (11 headers, a query, a JSON body).
    let raw = Raw::typical();
    let (_, n) = allocations(|| raw.portcullis());
    count("B-full portcullis", n);
    let mut g = c.benchmark_group("B-full");
    g.bench_function("portcullis", |b| b.iter(|| black_box(&raw).portcullis()));
    g.bench_function("native", |b| b.iter(|| native_full(black_box(&raw))));
    g.finish();
    report.groups.push(("B-full".into(), 1.0));

    from_http(c, report, &raw);
}

/// From an `http::Request` (the bench requires the `http` feature).
fn from_http(c: &mut Criterion, report: &mut Report, raw: &Raw) {
    let mut b = http::Request::builder()
        .method(raw.method.as_str())
        .uri(raw.target.as_str());
    for (name, value) in &raw.headers {
        b = b.header(name.as_str(), value.as_str());
    }
    let req = b.body(()).unwrap();
    let (_, n) = allocations(|| HttpRequest::from_http(&req).unwrap());
    report
        .lines
        .push(format!("alloc B-http portcullis per_build={n}"));
    let mut g = c.benchmark_group("B-http");
    g.bench_function("portcullis", |b| {
        b.iter(|| HttpRequest::from_http(black_box(&req)).unwrap())
    });
    g.bench_function("native", |b| b.iter(|| native_full(black_box(raw))));
    g.finish();
    report.groups.push(("B-http".into(), 1.0));
}

/// The hand-written request of the standard fields: what the raw parts
/// give, borrowed, with the host lowercased and the path split from the
/// query (the floor of building a request: no owned copies). Only built:
/// the benchmark hands it to `black_box`.
#[allow(dead_code)]
struct NativeStandard<'r> {
    host: std::borrow::Cow<'r, str>,
    path: &'r str,
    query: Option<&'r str>,
    method: &'r str,
    ua: &'r str,
    referer: &'r str,
    cookie: &'r str,
    ip: IpAddr,
    country: &'r str,
    port: i64,
    verified: bool,
    bot_score: i64,
    verified_bot: bool,
}

fn native_standard(r: &Req) -> NativeStandard<'_> {
    let (path, query) = match r.path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (r.path.as_str(), None),
    };
    let host = if r.host.bytes().any(|c| c.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(r.host.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(r.host.as_str())
    };
    NativeStandard {
        host,
        path,
        query,
        method: &r.method,
        ua: &r.ua,
        referer: &r.referer,
        cookie: &r.cookie,
        ip: IpAddr::V4(r.ip),
        country: &r.country,
        port: r.port,
        verified: r.verified,
        bot_score: r.bot_score,
        verified_bot: r.verified_bot,
    }
}

/// The hand-written request of the families: header names kept, a map of
/// lowercased names to values, the query split into arguments.
/// Names, the map, the arguments and the path.
type NativeFull<'r> = (
    Vec<&'r str>,
    BTreeMap<String, Vec<&'r str>>,
    Vec<(&'r str, &'r str)>,
    &'r str,
);

fn native_full(r: &Raw) -> NativeFull<'_> {
    let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
    let mut map: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (n, v) in &r.headers {
        map.entry(n.to_ascii_lowercase()).or_default().push(v);
    }
    let (path, query) = r.target.split_once('?').unwrap_or((&r.target, ""));
    let args = query
        .split('&')
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .collect();
    (names, map, args, path)
}

/// The two 1,000-rule sets, per request and compiled, against
/// wirefilter's rules one by one and the hand-written rules.
fn rule_sets(c: &mut Criterion, report: &mut Report, schema: &Schema, compiler: &Compiler<'_>) {
    let scheme = wf_scheme();

    // FA1000: functions and arrays (no wirefilter peer).
    let (exprs, natives): (Vec<String>, Vec<NativeFn>) = numbers(5, 1000, 4000)
        .into_iter()
        .enumerate()
        .map(|(k, n)| fa_rule(k, n))
        .unzip();
    let set = rule_set(&exprs);
    let (compiled, bytes) = held(|| set.compile(compiler).expect("FA1000 compiles"));
    report.lines.push(format!(
        "memory FA1000 compiled_bytes={bytes} per_rule={}",
        bytes / 1000
    ));
    let raws = fa_requests(500);
    let pcs: Vec<HttpRequest> = raws.iter().map(Raw::portcullis).collect();
    let nats: Vec<Native> = pcs.iter().map(Native::of).collect();
    let fired = check_set("FA1000", &compiled, &pcs, &nats, &natives, None);
    report
        .lines
        .push(format!("FA1000: {fired} of {} requests blocked", pcs.len()));
    let mut g = c.benchmark_group("FA1000");
    g.sample_size(10);
    g.bench_function("portcullis", |b| {
        b.iter(|| {
            pcs.iter()
                .filter(|r| compiled.evaluate(*r).action.is_some())
                .count()
        })
    });
    g.bench_function("native", |b| {
        b.iter(|| nats.iter().filter(|r| natives.iter().any(|f| f(r))).count())
    });
    g.finish();
    report.groups.push(("FA1000".into(), pcs.len() as f64));
    let mut g = c.benchmark_group("FA1000-compile");
    g.sample_size(10);
    g.bench_function("portcullis", |b| {
        b.iter(|| {
            set.compile(&Compiler::new(schema))
                .map(|c| c.len())
                .unwrap_or(0)
        })
    });
    g.finish();

    // SH1000: one shared anchor.
    let (exprs, natives): (Vec<String>, Vec<NativeFn>) = numbers(9, 1000, 20_000)
        .into_iter()
        .enumerate()
        .map(|(k, n)| sh_rule(k, n))
        .unzip();
    let set = rule_set(&exprs);
    let (compiled, bytes) = held(|| set.compile(compiler).expect("SH1000 compiles"));
    let (wf_filters, wf_bytes) = held(|| {
        exprs
            .iter()
            .map(|e| scheme.parse(e).expect("wirefilter parses").compile())
            .collect::<Vec<_>>()
    });
    report.lines.push(format!(
        "memory SH1000 compiled_bytes={bytes} per_rule={} wirefilter_bytes={wf_bytes} wirefilter_per_rule={}",
        bytes / 1000,
        wf_bytes / 1000
    ));
    let reqs: &'static [Req] = Vec::leak(sh_requests(500));
    let pcs: Vec<HttpRequest> = reqs.iter().map(Req::portcullis).collect();
    let nats: Vec<Native> = pcs.iter().map(Native::of).collect();
    let wfs: Vec<_> = reqs.iter().map(|r| wf_context(r, scheme)).collect();
    let fired = check_set(
        "SH1000",
        &compiled,
        &pcs,
        &nats,
        &natives,
        Some((&wf_filters, &wfs)),
    );
    report
        .lines
        .push(format!("SH1000: {fired} of {} requests blocked", pcs.len()));
    let mut g = c.benchmark_group("SH1000");
    g.sample_size(10);
    g.bench_function("portcullis", |b| {
        b.iter(|| {
            pcs.iter()
                .filter(|r| compiled.evaluate(*r).action.is_some())
                .count()
        })
    });
    g.bench_function("wirefilter", |b| {
        b.iter(|| {
            wfs.iter()
                .filter(|r| wf_filters.iter().any(|f| f.execute(r).unwrap()))
                .count()
        })
    });
    g.bench_function("native", |b| {
        b.iter(|| nats.iter().filter(|r| natives.iter().any(|f| f(r))).count())
    });
    g.finish();
    report.groups.push(("SH1000".into(), pcs.len() as f64));
    let mut g = c.benchmark_group("SH1000-compile");
    g.sample_size(10);
    g.bench_function("portcullis", |b| {
        b.iter(|| {
            set.compile(&Compiler::new(schema))
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
}

/// Checks that the set decides every request as the hand-written rules
/// (and wirefilter's, one by one) do; the number of requests blocked.
fn check_set(
    name: &str,
    set: &CompiledRuleSet,
    pcs: &[HttpRequest],
    nats: &[Native],
    natives: &[NativeFn],
    wf: Option<(
        &[wirefilter::Filter<'static>],
        &[wirefilter::ExecutionContext<'static>],
    )>,
) -> usize {
    let mut fired = 0;
    for (k, (p, n)) in pcs.iter().zip(nats).enumerate() {
        let pv = set
            .evaluate(p)
            .rule
            .map(|id| id[1..].parse::<usize>().unwrap());
        let nv = natives.iter().position(|f| f(n));
        assert_eq!(pv, nv, "{name}: request {k}: baseline disagrees");
        if let Some((filters, cxs)) = wf {
            let wv = filters.iter().position(|f| f.execute(&cxs[k]).unwrap());
            assert_eq!(pv, wv, "{name}: request {k}: engines disagree");
        }
        fired += usize::from(pv.is_some());
    }
    fired
}

// ---- the summary ----------------------------------------------------------

/// Reads criterion's medians back and prints one line per case.
fn summary(report: &Report) {
    let dir = std::env::var("CRITERION_HOME").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        format!("{target}/criterion")
    });
    let median = |group: &str, f: &str| -> Option<f64> {
        let text = std::fs::read_to_string(format!("{dir}/{group}/{f}/new/estimates.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["median"]["point_estimate"].as_f64()
    };
    let show = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.2}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.3}", a / b),
        _ => "n/a".to_string(),
    };
    println!();
    for (group, per) in &report.groups {
        let p = median(group, "portcullis").map(|v| v / per);
        let w = median(group, "wirefilter").map(|v| v / per);
        let n = median(group, "native").map(|v| v / per);
        println!(
            "{group} portcullis_ns={} wirefilter_ns={} native_ns={} ratio_wf={} ratio_native={}",
            show(p),
            show(w),
            show(n),
            ratio(p, w),
            ratio(p, n)
        );
    }
    for group in ["FA1000-compile", "SH1000-compile"] {
        let p = median(group, "portcullis");
        let w = median(group, "wirefilter");
        println!(
            "{group} portcullis_ms={} wirefilter_ms={} ratio_wf={}",
            show(p.map(|v| v / 1e6)),
            show(w.map(|v| v / 1e6)),
            ratio(p, w)
        );
    }
    for line in &report.lines {
        println!("{line}");
    }
}
