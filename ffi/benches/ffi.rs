//! The C ABI's per-call overhead: the seed (mTLS) rule and the mTLS rule set
//! evaluated on a prepared request, through the Rust API and through the
//! exported `extern "C"` functions (called through a function pointer the
//! optimiser cannot see through, as a C caller would). Ends with one line
//! per case: `CASE rust_ns=… c_abi_ns=… overhead_ns=…` (criterion's medians).
//!
//! `cargo bench -p portcullis-ffi`

use criterion::{Criterion, black_box};
use portcullis::{Compiler, HttpRequest, RuleSet, Schema};
use portcullis_ffi::*;
use std::ptr;

const SEED: &str = r#"(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and (not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked))"#;
const REQUEST: &str = include_str!("../../examples/mtls/blocked-no-cert.json");
const RULES: &str = include_str!("../../examples/mtls/rules.json");

type Matches = unsafe extern "C" fn(
    *const PortcullisFilter,
    *const PortcullisRequest,
    *mut bool,
) -> PortcullisStatus;
type Evaluate = unsafe extern "C" fn(
    *const PortcullisRuleSet,
    *const PortcullisRequest,
    *mut PortcullisVerdict,
) -> PortcullisStatus;

fn ok(s: PortcullisStatus) {
    assert_eq!(s, PortcullisStatus::Ok);
}

fn main() {
    let mut c = Criterion::default().configure_from_args();

    // The Rust API.
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let filter = compiler.compile(SEED).expect("seed rule");
    let set = RuleSet::from_json(RULES)
        .expect("rules")
        .compile(&compiler)
        .expect("compiled");
    let request = HttpRequest::from_json(REQUEST).expect("request");
    assert!(filter.matches(&request));

    // The same through the C ABI.
    let (mut s, mut f, mut rs, mut r) = (
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::null_mut(),
    );
    // SAFETY: every pointer passed is a local out argument or an object the
    // calls above made; the strings are (pointer, length) of live `&str`s.
    unsafe {
        ok(portcullis_schema_default(&mut s));
        ok(portcullis_filter_compile(
            s,
            ptr::null(),
            SEED.as_ptr().cast(),
            SEED.len(),
            &mut f,
            ptr::null_mut(),
        ));
        ok(portcullis_ruleset_compile(
            s,
            ptr::null(),
            RULES.as_ptr().cast(),
            RULES.len(),
            PORTCULLIS_RULESET_JSON,
            &mut rs,
            ptr::null_mut(),
        ));
        ok(portcullis_request_from_json(
            s,
            REQUEST.as_ptr().cast(),
            REQUEST.len(),
            &mut r,
            ptr::null_mut(),
        ));
    }
    let matches: Matches = black_box(portcullis_filter_matches);
    let evaluate: Evaluate = black_box(portcullis_ruleset_evaluate);

    let mut g = c.benchmark_group("ffi_seed");
    g.bench_function("rust", |b| {
        b.iter(|| black_box(&filter).matches(black_box(&request)))
    });
    g.bench_function("c_abi", |b| {
        let mut m = false;
        b.iter(|| {
            // SAFETY: `f` and `r` are live objects; `m` is a local bool.
            unsafe { matches(black_box(f), black_box(r), &mut m) };
            m
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ffi_ruleset");
    g.bench_function("rust", |b| {
        b.iter(|| black_box(&set).evaluate(black_box(&request)).action)
    });
    g.bench_function("c_abi", |b| {
        let mut v = PortcullisVerdict {
            action: PortcullisAction::None,
            rule: ptr::null(),
            rule_len: 0,
            logged: 0,
            skipped: 0,
        };
        b.iter(|| {
            // SAFETY: `rs` and `r` are live objects; `v` is a local verdict.
            unsafe { evaluate(black_box(rs), black_box(r), &mut v) };
            v.action
        })
    });
    g.finish();

    // SAFETY: each object is freed once, after its last use.
    unsafe {
        portcullis_request_free(r);
        portcullis_ruleset_free(rs);
        portcullis_filter_free(f);
        portcullis_schema_free(s);
    }

    c.final_summary();
    summary();
}

/// Reads criterion's medians back and prints one line per case.
fn summary() {
    let dir = std::env::var("CRITERION_HOME").ok().unwrap_or_else(|| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "../target".into());
        format!("{target}/criterion")
    });
    let median = |group: &str, f: &str| -> Option<f64> {
        let text = std::fs::read_to_string(format!("{dir}/{group}/{f}/new/estimates.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["median"]["point_estimate"].as_f64()
    };
    for (case, group) in [("seed", "ffi_seed"), ("mtls_ruleset", "ffi_ruleset")] {
        match (median(group, "rust"), median(group, "c_abi")) {
            (Some(rust), Some(c)) => println!(
                "{case} rust_ns={rust:.2} c_abi_ns={c:.2} overhead_ns={:.2}",
                c - rust
            ),
            _ => println!("{case}: no estimates in {dir} (run the whole bench)"),
        }
    }
}
