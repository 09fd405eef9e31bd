//! Scale: how compile time, heap and per-request time grow with the size
//! of a rule set, and how named lists of up to 1,000,000 entries load, swap
//! and answer. Plain timings (no criterion: one 100,000-rule compile is the
//! measurement), printed as Markdown tables.
//!
//! `cargo bench --bench scale` prints:
//! - rule sets of 1,000 / 10,000 / 100,000 rules of R1000's mix (the nine
//!   templates of `tests/workload`, numbers below twice the size): compile
//!   time, heap held per rule, per-request time over 1,000 varied requests
//!   (the median of 7 passes), and its growth from the size before;
//! - named lists of 10,000 / 100,000 / 1,000,000 addresses and host names:
//!   load time, heap held, swap time (median of 5), and lookup time before
//!   and after the swaps.
//!
//! `SCALE_MAX=10000` stops at that many rules (a quicker run).

#[path = "../tests/workload/mod.rs"]
mod workload;

use portcullis::{Compiler, HttpRequest, Schema, Type};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use workload::{COUNTRIES, Lcg, Req};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

// SAFETY: defers every call to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|l| l.set(l.get() + layout.size() as isize));
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
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What `f` returns, the heap it left held, and how long it took.
fn measured<T>(f: impl FnOnce() -> T) -> (T, isize, Duration) {
    let before = LIVE.with(Cell::get);
    let t = Instant::now();
    let v = f();
    let took = t.elapsed();
    (v, LIVE.with(Cell::get) - before, took)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The median of `reps` timings of `f`.
fn median(reps: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// R1000's requests, with numbers below `below` (so that requests keep
/// hitting rules of a larger set as often).
fn requests(count: usize, below: u64) -> Vec<Req> {
    let mut rng = Lcg(11);
    (0..count)
        .map(|_| {
            let n = rng.below(below);
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
            r.method = if rng.below(3) == 0 { "POST" } else { "GET" }.into();
            r.ip = Ipv4Addr::new(
                if rng.below(2) == 0 { 10 } else { 203 },
                rng.below(256) as u8,
                rng.below(256) as u8,
                7,
            );
            r.country = COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize].into();
            r.ua = if rng.below(8) == 0 {
                format!("scanner{}", rng.below(below))
            } else {
                "Mozilla/5.0".into()
            };
            r.referer = if rng.below(8) == 0 {
                format!("https://spam{}.example/", rng.below(below))
            } else {
                "https://www.example.com/".into()
            };
            r.verified = rng.below(2) == 0;
            r.bot_score = rng.below(100) as i64;
            r
        })
        .collect()
}

fn main() {
    let max: usize = std::env::var("SCALE_MAX")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    rule_sets(max);
    lists();
}

fn rule_sets(max: usize) {
    let schema = Schema::default_http();
    // The catalogue's name table and the regex cache's statics, built once.
    drop(Compiler::new(&schema).compile("http.host == \"warm-up\""));
    println!("## Rule sets (R1000's mix)\n");
    println!(
        "| rules | compile | heap | heap per rule | per request | growth per 10x rules | blocked |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut before: Option<f64> = None;
    for size in [1_000usize, 10_000, 100_000] {
        if size > max {
            break;
        }
        let mut rng = Lcg(7);
        let below = 2 * size as u64;
        let exprs: Vec<String> = (0..size)
            .map(|k| workload::rule_expr(k, rng.below(below) as usize))
            .collect();
        let set = workload::rule_set(&exprs);
        let compiler = Compiler::new(&schema);
        let (compiled, bytes, took) = measured(|| set.compile(&compiler).expect("compiles"));
        let reqs: Vec<HttpRequest> = requests(1000, below).iter().map(Req::portcullis).collect();
        let blocked = reqs
            .iter()
            .filter(|r| compiled.evaluate(*r).action.is_some())
            .count();
        let pass = median(7, || {
            for r in &reqs {
                black_box(compiled.evaluate(black_box(r)));
            }
        });
        let per = pass.as_secs_f64() * 1e9 / reqs.len() as f64;
        let growth = before.map_or("".to_string(), |b| format!("{:.2}x", per / b));
        before = Some(per);
        println!(
            "| {size} | {:.0} ms | {:.1} MiB | {:.0} B | {:.0} ns | {growth} | {blocked} of 1000 |",
            ms(took),
            bytes as f64 / (1024.0 * 1024.0),
            bytes as f64 / size as f64,
            per
        );
    }
    println!();
}

fn lists() {
    let schema = Schema::default_http()
        .with_list("ips", Type::Ip)
        .with_list("hosts", Type::Bytes);
    let compiler = Compiler::new(&schema);
    let by_ip = compiler.compile("ip.src in $ips").unwrap();
    let by_host = compiler.compile("http.host in $hosts").unwrap();
    println!("## Named lists\n");
    println!(
        "| list | entries | load | heap | swap (median of 5) | lookup hit / miss before | after the swaps |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for size in [10_000u32, 100_000, 1_000_000] {
        // Addresses four apart (none merge); the next version drops the
        // first and adds one past the end.
        let ips = |from: u32| -> Vec<serde_json::Value> {
            (from..from + size)
                .map(|k| serde_json::json!(Ipv4Addr::from(0x0b00_0001 + 4 * k).to_string()))
                .collect()
        };
        let hosts = |from: u32| -> Vec<serde_json::Value> {
            (from..from + size)
                .map(|k| serde_json::json!(format!("h{k}.example")))
                .collect()
        };
        let ip_of = |k: u32| {
            let mut r = Req::bench_request();
            r.ip = Ipv4Addr::from(0x0b00_0001 + 4 * k);
            r.host = format!("h{k}.example");
            r.portcullis()
        };
        let (hit, miss) = (ip_of(size / 2), {
            let mut r = Req::bench_request();
            r.ip = Ipv4Addr::new(192, 0, 2, 1);
            r.host = "nowhere.example".into();
            r.portcullis()
        });
        for (name, filter, versions) in [
            ("addresses", &by_ip, [ips(0), ips(1)]),
            ("host names", &by_host, [hosts(0), hosts(1)]),
        ] {
            let list = if name == "addresses" { "ips" } else { "hosts" };
            let ((), bytes, load) =
                measured(|| compiler.lists().set_json(list, &versions[0]).unwrap());
            let lookup = |r: &HttpRequest| {
                let n = 200_000;
                let t = median(5, || {
                    for _ in 0..n {
                        black_box(filter.matches(black_box(r)));
                    }
                });
                t.as_secs_f64() * 1e9 / n as f64
            };
            assert!(filter.matches(&hit) && !filter.matches(&miss));
            let (h0, m0) = (lookup(&hit), lookup(&miss));
            let mut k = 0;
            let swap = median(5, || {
                k += 1;
                compiler.lists().set_json(list, &versions[k % 2]).unwrap();
            });
            assert!(filter.matches(&hit) && !filter.matches(&miss));
            let (h1, m1) = (lookup(&hit), lookup(&miss));
            println!(
                "| {name} | {size} | {:.0} ms | {:.1} MiB | {:.0} ms | {h0:.0} / {m0:.0} ns | {h1:.0} / {m1:.0} ns |",
                ms(load),
                bytes as f64 / (1024.0 * 1024.0),
                ms(swap)
            );
        }
    }
    println!();
    println!(
        "Swap time includes building the new contents from JSON values (parsing, sorting, hashing) and freeing the old ones, on the writer's thread."
    );
}
