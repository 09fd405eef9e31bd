//! Evaluation without transform functions performs zero heap allocations:
//! a counting global allocator watches `Filter::matches` on both request kinds.

use portcullis::ClientCert;
use portcullis::{Compiler, Context, HttpRequest, Schema, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Allocations made by this thread (tests run on several threads at once).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn bump() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: defers to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Expressions without transform functions: comparisons, sets, regexes,
/// wildcards, lists, indexing, `[*]` under any/all, predicates like `len`.
const EXPRESSIONS: &[&str] = &[
    r#"http.host == "api.example.com""#,
    r#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and not cf.tls_client_auth.cert_verified)"#,
    r#"ip.src in {10.0.0.0/8 192.0.2.0/24} and tcp.dstport in {80 443 8000..8999}"#,
    r#"http.user_agent contains "curl" or http.request.uri.path matches "^/admin" or http.request.method eq "POST""#,
    r#"http.host wildcard "*.EXAMPLE.com" xor http.host strict wildcard "api.*""#,
    r#"http.request.headers["accept"][0] contains "json" and any(http.request.headers.names[*] == "accept")"#,
    r#"all(http.request.headers.names[*] != "x") and len(http.request.headers["accept"]) >= 1"#,
    r#"ip.src in $blocked or not ssl or starts_with(http.host, "api")"#,
    r#"http.host == http.referer or tcp.dstport & 0x3 or cf.bot_management.score lt 30"#,
];

/// Allocations in 100 evaluations, after a warm-up (the regex engine builds
/// its per-thread cache on first use).
fn count<F: FnMut() -> bool>(mut f: F) -> (usize, bool) {
    f();
    let before = allocations();
    let mut r = false;
    for _ in 0..100 {
        r ^= f();
    }
    (allocations() - before, r)
}

#[test]
fn evaluation_does_not_allocate() {
    let schema = Schema::default_http().with_list("blocked", portcullis::Type::Ip);
    let compiler = Compiler::new(&schema);
    compiler
        .lists()
        .set_json("blocked", &[serde_json::json!("203.0.113.0/24")])
        .unwrap();
    let http = HttpRequest::builder()
        .method("GET")
        .scheme("https")
        .uri("/v1/users/42?x=1")
        .header("Host", "api.example.com")
        .header("Accept", "application/json")
        .header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)")
        .client_ip("192.0.2.55".parse().unwrap())
        .client_cert(&ClientCert::default())
        .field("tcp.dstport", Value::Int(443))
        .build()
        .unwrap();
    let mut cx = Context::new(&schema);
    cx.set("http.host", Value::Bytes(b"api.example.com".to_vec()))
        .unwrap();
    cx.set("ip.src", Value::Ip("10.1.2.3".parse().unwrap()))
        .unwrap();
    for text in EXPRESSIONS {
        let filter = compiler.compile(text).unwrap();
        let (n, _) = count(|| filter.matches(&http));
        assert_eq!(
            n, 0,
            "`{text}` allocated {n} times in 100 evaluations of an HttpRequest"
        );
        let (n, _) = count(|| filter.matches(&cx));
        assert_eq!(
            n, 0,
            "`{text}` allocated {n} times in 100 evaluations of a Context"
        );
    }
    // The counter itself works: a transform function allocates.
    let transform = compiler
        .compile(r#"upper(http.host) == "API.EXAMPLE.COM""#)
        .unwrap();
    assert!(transform.matches(&http));
    let (n, _) = count(|| transform.matches(&http));
    assert!(
        n >= 100,
        "the counting allocator must see the transform's allocations, saw {n}"
    );
}

#[test]
fn rule_set_evaluation_does_not_allocate() {
    use portcullis::RuleSet;
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let mut rules = Vec::new();
    for k in 0..300 {
        let expr = match k % 6 {
            0 => format!("http.host == \"h{k}.example.com\""),
            1 => format!("http.user_agent contains \"scanner{k}\""),
            2 => format!("http.request.uri.path matches \"^/api/v{k}/(a|b)\""),
            3 => format!("ip.src in {{10.{}.0.0/16}}", k % 256),
            4 => format!(
                "http.request.method == \"POST\" and http.request.uri.path == \"/login{k}\""
            ),
            _ => format!("cf.bot_management.score lt {}", k % 3),
        };
        rules.push(
            serde_json::json!({"id": format!("r{k}"), "expression": expr, "action": "block"}),
        );
    }
    let text = serde_json::json!({ "rules": rules }).to_string();
    let set = RuleSet::from_json(&text)
        .unwrap()
        .compile(&compiler)
        .unwrap();
    let requests: Vec<HttpRequest> = ["h6.example.com", "www.example.com"]
        .iter()
        .map(|host| {
            HttpRequest::builder()
                .method("POST")
                .uri("/api/v2/a")
                .header("Host", host)
                .header("User-Agent", "scanner7 and more")
                .client_ip("10.3.2.1".parse().unwrap())
                .bot_score(50)
                .build()
                .unwrap()
        })
        .collect();
    for r in &requests {
        let (n, _) = count(|| set.evaluate(r).action.is_some());
        assert_eq!(
            n, 0,
            "rule-set evaluation allocated {n} times in 100 evaluations"
        );
    }
}

#[path = "workload/mod.rs"]
mod workload;

#[test]
fn the_benchmark_cases_do_not_allocate() {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let request = workload::Req::bench_request().portcullis();
    for (name, text) in workload::cases() {
        let filter = compiler.compile(&text).unwrap();
        let (n, _) = count(|| filter.matches(&request));
        assert_eq!(n, 0, "{name} allocated {n} times in 100 evaluations");
    }
    // R1000 over its 1,000 requests: the index, shared tests and verdicts
    // of blocking rules (which list nothing) stay on the stack.
    let set = workload::rule_set(&workload::r1000())
        .compile(&compiler)
        .unwrap();
    let requests: Vec<HttpRequest> = workload::r1000_requests()
        .iter()
        .map(workload::Req::portcullis)
        .collect();
    let mut blocked = 0;
    let (n, _) = count(|| {
        blocked = requests
            .iter()
            .filter(|r| set.evaluate(*r).action.is_some())
            .count();
        blocked > 0
    });
    assert_eq!(n, 0, "R1000 allocated {n} times in 100 x 1,000 evaluations");
    assert!(
        blocked > 100 && blocked < 900,
        "a realistic share is blocked: {blocked}"
    );
    // The same requests computing their fields on demand: read through the
    // set's per-request memo, which lives on the stack, with the same verdicts.
    let (n, _) = count(|| {
        let on_demand = requests
            .iter()
            .filter(|r| set.evaluate(&workload::OnDemand(r)).action.is_some())
            .count();
        assert_eq!(on_demand, blocked);
        true
    });
    assert_eq!(n, 0, "R1000 on demand allocated {n} times");
}

/// A `RequestView` over the values R1000 reads, borrowed from each request:
/// building it and evaluating the set allocate nothing, and every verdict
/// is the request's own.
#[test]
fn a_borrowing_view_decides_as_the_request_without_allocating() {
    use portcullis::{Request, RequestView};
    let schema = Schema::default_http();
    let set = workload::rule_set(&workload::r1000())
        .compile(&Compiler::new(&schema))
        .unwrap();
    let requests: Vec<HttpRequest> = workload::r1000_requests()
        .iter()
        .map(workload::Req::portcullis)
        .collect();
    let fields = set.fields().to_vec();
    let mut agreed = 0;
    let (n, _) = count(|| {
        for r in &requests {
            let mut view = RequestView::new(&schema);
            for &id in &fields {
                view.set(id, r.get(id)).unwrap();
            }
            let (a, b) = (set.evaluate(&view), set.evaluate(r));
            agreed += usize::from(a.action == b.action && a.rule == b.rule);
        }
        true
    });
    assert_eq!(n, 0, "views allocated {n} times");
    assert_eq!(
        agreed,
        101 * requests.len(),
        "every verdict the request's own"
    );
}
