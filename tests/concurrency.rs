//! Evaluation from several threads over shared compiled filters and rule
//! sets while named lists and whole rule sets are swapped: every result must
//! be one of the results a single thread gets with the old or the new state,
//! never a mix, and nothing may fail.

use portcullis::{Compiler, Context, Schema, Type, Value};
use portcullis::{RuleSet, RuleSetHandle};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const RULES_A: &str = r#"{"rules": [
  {"id": "deny", "expression": "ip.src in $blocked", "action": "block"},
  {"id": "api", "expression": "http.host == \"api.example.com\"", "action": "log"}
]}"#;

const RULES_B: &str = r#"{"rules": [
  {"id": "api", "expression": "http.host == \"api.example.com\"", "action": "challenge"},
  {"id": "deny", "expression": "ip.src in $blocked", "action": "block"}
]}"#;

fn requests(schema: &Schema) -> Vec<Context<'_>> {
    let mut out = Vec::new();
    for (host, ip) in [
        ("api.example.com", "10.0.0.1"),
        ("api.example.com", "192.0.2.9"),
        ("www.example.com", "10.0.0.1"),
        ("www.example.com", "198.51.100.1"),
    ] {
        let mut cx = Context::new(schema);
        cx.set("http.host", Value::Bytes(host.as_bytes().to_vec()))
            .unwrap();
        cx.set("ip.src", Value::Ip(ip.parse().unwrap())).unwrap();
        out.push(cx);
    }
    out
}

#[test]
fn swaps_during_evaluation_never_mix_states() {
    let schema = Schema::default_http().with_list("blocked", Type::Ip);
    let compiler = Compiler::new(&schema);
    let lists = compiler.lists().clone();
    let list_a = [serde_json::json!("10.0.0.0/8")];
    let list_b = [
        serde_json::json!("192.0.2.0/24"),
        serde_json::json!("198.51.100.0/24"),
    ];
    lists.set_json("blocked", &list_a).unwrap();
    let filter = compiler
        .compile("ip.src in $blocked and http.host != \"x\"")
        .unwrap();
    let set_a = RuleSet::from_json(RULES_A)
        .unwrap()
        .compile(&compiler)
        .unwrap();
    let set_b = RuleSet::from_json(RULES_B)
        .unwrap()
        .compile(&compiler)
        .unwrap();
    let reqs = requests(&schema);

    // What a single thread sees in each of the four states.
    let mut allowed: Vec<Vec<(bool, String)>> = vec![Vec::new(); reqs.len()];
    for list in [&list_a[..], &list_b[..]] {
        lists.set_json("blocked", list).unwrap();
        for set in [&set_a, &set_b] {
            for (k, r) in reqs.iter().enumerate() {
                allowed[k].push((filter.matches(r), set.evaluate(r).to_json().to_string()));
            }
        }
    }
    lists.set_json("blocked", &list_a).unwrap();

    let handle = RuleSetHandle::new(set_a.clone());
    let stop = AtomicBool::new(false);
    let checked = AtomicUsize::new(0);
    let filter = Arc::new(filter);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (handle, filter, reqs, allowed, stop, checked) =
                (&handle, &filter, &reqs, &allowed, &stop, &checked);
            s.spawn(move || {
                let mut k = t;
                while !stop.load(Ordering::Relaxed) {
                    let i = k % reqs.len();
                    let set = handle.load();
                    let got_filter = filter.matches(&reqs[i]);
                    let got_verdict = set.evaluate(&reqs[i]).to_json().to_string();
                    assert!(allowed[i].iter().any(|(f, _)| *f == got_filter), "filter result {got_filter} for request {i} is not one of the single-thread results");
                    assert!(allowed[i].iter().any(|(_, v)| *v == got_verdict), "verdict {got_verdict} for request {i} is not one of the single-thread results");
                    checked.fetch_add(1, Ordering::Relaxed);
                    k += 1;
                }
            });
        }
        let started = Instant::now();
        let mut flip = false;
        while started.elapsed() < Duration::from_secs(2) {
            flip = !flip;
            lists
                .set_json("blocked", if flip { &list_b[..] } else { &list_a[..] })
                .unwrap();
            handle.store(if flip { set_b.clone() } else { set_a.clone() });
            std::thread::sleep(Duration::from_micros(200));
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(
        checked.load(Ordering::Relaxed) > 1000,
        "too few evaluations: {}",
        checked.load(Ordering::Relaxed)
    );
}

/// Runs `probe` on this thread while another thread alternates `swaps`
/// (each a list load) as fast as it can, for `rounds` probes; returns how
/// many probes saw a state no single version gives.
fn probe_under_swaps(
    lists: &portcullis::Lists,
    swaps: [&'static str; 2],
    rounds: usize,
    probe: impl Fn() -> bool,
) -> usize {
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (lists, stop) = (lists.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut k = 0;
            while !stop.load(Ordering::Relaxed) {
                lists.load_json(swaps[k % 2]).unwrap();
                k += 1;
            }
            k
        })
    };
    let mixed = (0..rounds).filter(|_| probe()).count();
    stop.store(true, Ordering::Relaxed);
    let swapped = writer.join().unwrap();
    assert!(swapped > 10, "the writer swapped only {swapped} times");
    mixed
}

/// One evaluation sees one version of a list, however often it reads it:
/// `host in $l and referer in $l` is false under either version here, and
/// only a lookup of each under a different version could make it true.
#[test]
fn an_evaluation_reads_one_version_of_a_list() {
    let schema = Schema::default_http().with_list("l", Type::Bytes);
    let compiler = Compiler::new(&schema);
    let lists = compiler.lists().clone();
    let filter = compiler
        .compile("http.host in $l and http.referer in $l")
        .unwrap();
    let mut cx = Context::new(&schema);
    cx.set("http.host", "a".into()).unwrap();
    cx.set("http.referer", "b".into()).unwrap();
    let versions = [r#"{"l": ["a"]}"#, r#"{"l": ["b"]}"#];
    let mixed = probe_under_swaps(&lists, versions, 200_000, || filter.matches(&cx));
    assert_eq!(mixed, 0, "{mixed} evaluations mixed two versions");
    // The same for a whole rule set: both rules logged needs two versions.
    let set = RuleSet::from_json(
        r#"{"rules": [
            {"id": "host", "expression": "http.host in $l", "action": "log"},
            {"id": "referer", "expression": "http.referer in $l", "action": "log"}
        ]}"#,
    )
    .unwrap()
    .compile(&compiler)
    .unwrap();
    let mixed = probe_under_swaps(&lists, versions, 100_000, || {
        set.evaluate(&cx).logged.len() == 2
    });
    assert_eq!(mixed, 0, "{mixed} rule-set evaluations mixed two versions");
}

/// Loading several lists replaces them all at once.
#[test]
fn a_multi_list_load_is_atomic() {
    let schema = Schema::default_http()
        .with_list("x", Type::Bytes)
        .with_list("y", Type::Bytes);
    let compiler = Compiler::new(&schema);
    let lists = compiler.lists().clone();
    // Both lookups true only with `x` of one load and `y` of the other.
    let filter = compiler
        .compile("http.host in $x and http.referer in $y")
        .unwrap();
    let mut cx = Context::new(&schema);
    cx.set("http.host", "a".into()).unwrap();
    cx.set("http.referer", "b".into()).unwrap();
    let loads = [r#"{"x": ["a"], "y": []}"#, r#"{"x": [], "y": ["b"]}"#];
    let mixed = probe_under_swaps(&lists, loads, 200_000, || filter.matches(&cx));
    assert_eq!(mixed, 0, "{mixed} evaluations saw half a load");
    // A bad list in a load changes nothing.
    lists.load_json(loads[0]).unwrap();
    assert!(
        lists
            .load_json(r#"{"x": ["a"], "y": ["b"], "nope": []}"#)
            .is_err()
    );
    cx.set("http.host", "a".into()).unwrap();
    let both = compiler
        .compile("http.host in $x and not http.referer in $y")
        .unwrap();
    assert!(
        both.matches(&cx),
        "the bad load left the first load in place"
    );
}
