//! Memory over compile/drop churn (issue #17): a long-lived `Compiler`
//! compiles 1,000,000 filters with unique regexes, and 100,000 small rule
//! sets, each dropped at once; the heap it holds must stay flat (its regex
//! cache keeps only what live filters use). Prints the resident memory and
//! the cache's size at checkpoints:
//! `CHURN cycles=… resident_bytes=… regexes=…`, then the growth from the
//! first checkpoint to the last.
//!
//! `cargo bench --bench churn` (about a minute); `-- 100000` for fewer cycles.

use portcullis::{Compiler, RuleSet, Schema};

/// The process's resident memory, in bytes (Linux; 0 elsewhere): what an
/// operator watching the service sees.
fn resident_bytes() -> isize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<isize>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn main() {
    // `cargo bench` passes `--bench`; a number is the cycle count.
    let cycles: usize = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(1_000_000);
    let schema = Schema::default_http();
    let compiler = Compiler::new(&schema);
    let checkpoints = 5;
    let mut first = None;
    let mut last = 0;
    let started = std::time::Instant::now();
    for k in 0..cycles {
        let f = compiler
            .compile(&format!(
                r#"http.request.uri.path matches "^/u{k}/[a-z]+$" and http.host eq "h{k}.example""#
            ))
            .expect("compiles");
        drop(f);
        if k % 10 == 0 {
            let text = format!(
                r#"{{"rules": [{{"id": "a", "expression": "http.user_agent matches \"bot{k}[0-9]\"", "action": "block"}},
                              {{"id": "b", "expression": "starts_with(http.request.uri.path, \"/p{k}\")", "action": "log"}}]}}"#
            );
            let set = RuleSet::from_json(&text)
                .expect("rules")
                .compile(&compiler)
                .expect("compiles");
            drop(set);
        }
        if (k + 1) % (cycles / checkpoints).max(1) == 0 {
            let live = resident_bytes();
            first.get_or_insert(live);
            last = live;
            println!(
                "CHURN cycles={} resident_bytes={live} regexes={}",
                k + 1,
                compiler.regex_count()
            );
        }
    }
    println!(
        "CHURN resident_growth_bytes={} over {cycles} cycles in {:.1} s",
        last - first.unwrap_or(last),
        started.elapsed().as_secs_f64()
    );
}
