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
