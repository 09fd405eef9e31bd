//! Embedding portcullis in a service: compile the rules once, evaluate them on
//! every request, and reload them (and a named list) while requests are being
//! served, without a single failed evaluation.
//!
//! Run with `cargo run --release --example service`.

use portcullis::ClientCert;
use portcullis::{Compiler, HttpRequest, Schema, Type};
use portcullis::{RuleSet, RuleSetHandle};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const RULES_V1: &str = r#"{"rules": [
  {"id": "deny-list", "expression": "ip.src in $blocked", "action": "block"},
  {"id": "mtls", "expression": "http.host in {\"api.example.com\"} and not cf.tls_client_auth.cert_verified", "action": "block"}
]}"#;

const RULES_V2: &str = r#"{"rules": [
  {"id": "deny-list", "expression": "ip.src in $blocked", "action": "block"},
  {"id": "mtls", "expression": "http.host in {\"api.example.com\" \"admin.example.com\"} and not cf.tls_client_auth.cert_verified", "action": "block"},
  {"id": "audit", "expression": "http.request.method in {\"POST\" \"PUT\" \"DELETE\"}", "action": "log"}
]}"#;

fn request(host: &str, ip: &str, verified: bool) -> HttpRequest {
    HttpRequest::builder()
        .method("POST")
        .scheme("https")
        .uri("/v1/orders")
        .header("Host", host)
        .client_ip(ip.parse().expect("address"))
        .client_cert(&ClientCert {
            presented: verified,
            verified,
            ..ClientCert::default()
        })
        .build()
        .expect("request")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One schema and one set of lists for the life of the service.
    let schema = Schema::default_http().with_list("blocked", Type::Ip);
    let compiler = Compiler::new(&schema);
    compiler
        .lists()
        .set_json("blocked", &[serde_json::json!("203.0.113.0/24")])?;

    let rules = RuleSetHandle::new(RuleSet::from_json(RULES_V1)?.compile(&compiler)?);
    let requests = Arc::new(vec![
        request("api.example.com", "198.51.100.1", false),
        request("api.example.com", "198.51.100.1", true),
        request("admin.example.com", "198.51.100.2", false),
        request("www.example.com", "203.0.113.9", true),
    ]);

    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (rules, requests, stop, served) = (
                rules.clone(),
                requests.clone(),
                stop.clone(),
                served.clone(),
            );
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let current = rules.load();
                    for r in requests.iter() {
                        let _verdict = current.evaluate(r);
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        // Reload: compile the new set first, then swap it in atomically.
        match RuleSet::from_json(RULES_V2).map(|set| set.compile(&compiler)) {
            Ok(Ok(v2)) => rules.store(v2),
            Ok(Err(e)) => eprintln!("keeping the old rules: {e}"),
            Err(e) => eprintln!("keeping the old rules: {e}"),
        }
        // Lists update in place too: every compiled rule sees the new contents.
        if let Err(e) = compiler.lists().set_json(
            "blocked",
            &[
                serde_json::json!("203.0.113.0/24"),
                serde_json::json!("198.51.100.2"),
            ],
        ) {
            eprintln!("keeping the old list: {e}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        stop.store(true, Ordering::Relaxed);
    });

    println!(
        "served {} evaluations while reloading",
        served.load(Ordering::Relaxed)
    );
    let current = rules.load();
    for r in requests.iter() {
        println!("{}", current.evaluate(r).to_json());
    }
    Ok(())
}
