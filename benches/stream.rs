//! The cost of `portcullis run --requests FILE --summary` and `--shadow`
//! per line, against the floor they are held to: reading and parsing the
//! JSON line itself. Over the R1000 rule set and its 1,000 requests, as
//! request-JSON lines (raw parts and fields).
//!
//! `cargo bench --bench stream` ends with one line per case:
//! `CASE ns_per_line=… ratio_to_parse=…`. `benches/stream.sh` runs the
//! command itself over a 1,000,000-line file (throughput, peak memory).

#[path = "../tests/workload/mod.rs"]
mod workload;

use criterion::{Criterion, black_box};
use portcullis::{Compiler, HttpRequest, Schema};
use std::collections::HashMap;
use std::time::Duration;

fn main() {
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let exprs = workload::r1000();
    let live = workload::rule_set(&exprs)
        .compile(&compiler)
        .expect("R1000");
    // The candidate: the same rules, the first hundred changed to log (so
    // it reads the same fields).
    let mut candidate = workload::rule_set(&exprs);
    for rule in candidate.rules.iter_mut().take(100) {
        rule.action = portcullis::Action::Log;
    }
    let candidate = candidate.compile(&compiler).expect("candidate");
    let lines: Vec<String> = workload::r1000_requests()
        .iter()
        .map(|r| r.json().to_string())
        .collect();

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    let mut g = c.benchmark_group("stream");
    let mut per_line = |name: &str, f: &mut dyn FnMut(&str) -> usize| {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0;
                for line in &lines {
                    n += f(black_box(line));
                }
                n
            })
        });
    };
    per_line("parse_json", &mut |line| {
        serde_json::from_str::<serde_json::Value>(line)
            .map_or(0, |v| v.as_object().map_or(0, |o| o.len()))
    });
    per_line("parse_and_build", &mut |line| {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
            return 0;
        };
        HttpRequest::from_json_value_only(&json, live.fields()).map_or(0, |_| 1)
    });
    let built: Vec<HttpRequest> = lines
        .iter()
        .map(|l| {
            HttpRequest::from_json_value_only(&serde_json::from_str(l).unwrap(), live.fields())
                .unwrap()
        })
        .collect();
    // The evaluation alone, on the same requests built beforehand.
    let mut next = 0;
    per_line("evaluate_prebuilt", &mut |_| {
        next = (next + 1) % built.len();
        usize::from(live.evaluate(&built[next]).action.is_some())
    });
    let mut counts: HashMap<String, u64> = HashMap::new();
    per_line("summary", &mut |line| {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
            return 0;
        };
        let Ok(req) = HttpRequest::from_json_value(&json) else {
            return 0;
        };
        let v = live.evaluate(&req);
        for id in v.rule.iter().chain(&v.logged) {
            match counts.get_mut(*id) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(id.to_string(), 1);
                }
            }
        }
        1
    });
    per_line("summary_and_shadow", &mut |line| {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
            return 0;
        };
        let Ok(req) = HttpRequest::from_json_value(&json) else {
            return 0;
        };
        let v = live.evaluate(&req);
        let s = candidate.evaluate(&req);
        usize::from(!v.same_decision(&s))
    });
    g.finish();
    c.final_summary();

    let median = |name: &str| -> Option<f64> {
        let dir = std::env::var("CRITERION_HOME").unwrap_or_else(|_| "target/criterion".into());
        let path = format!("{dir}/stream/{name}/new/estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["median"]["point_estimate"].as_f64()
    };
    let lines_n = lines.len() as f64;
    if let Some(parse) = median("parse_json") {
        for case in [
            "parse_json",
            "parse_and_build",
            "evaluate_prebuilt",
            "summary",
            "summary_and_shadow",
        ] {
            if let Some(t) = median(case) {
                println!(
                    "{case} ns_per_line={:.0} ratio_to_parse={:.2}",
                    t / lines_n,
                    t / parse
                );
            }
        }
    }
}
