//! Named lists at scale: membership in a 10,000-address list with 100 CIDR
//! blocks, and what a reader sees while a 1,000,000-entry list is replaced
//! (load and swap time, and the latency of evaluations running meanwhile:
//! p50 / p99 / p99.9 / max, printed at the end as `lists …` lines).

use criterion::{Criterion, black_box};
use portcullis::{Compiler, Context, Schema, Type};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let schema = Schema::default_http()
        .with_list("ips", Type::Ip)
        .with_list("hosts", Type::Bytes);
    let compiler = Compiler::new(&schema);
    let mut items: Vec<serde_json::Value> = (0..10_000u32)
        .map(|k| serde_json::json!(format!("10.{}.{}.{}", k >> 16 & 255, k >> 8 & 255, k & 255)))
        .collect();
    items.extend((0..100u32).map(|k| serde_json::json!(format!("172.{}.0.0/16", k + 16))));
    compiler.lists().set_json("ips", &items).unwrap();
    let filter = compiler.compile("ip.src in $ips").unwrap();
    let request = |ip: &str| {
        let mut cx = Context::new(&schema);
        cx.set("ip.src", ip.parse::<std::net::IpAddr>().unwrap().into())
            .unwrap();
        cx
    };
    let (hit, in_cidr, miss) = (
        request("10.0.20.7"),
        request("172.40.1.2"),
        request("192.0.2.1"),
    );
    let mut g = c.benchmark_group("list-10k-ips");
    g.bench_function("hit", |b| b.iter(|| filter.matches(black_box(&hit))));
    g.bench_function("in-cidr", |b| {
        b.iter(|| filter.matches(black_box(&in_cidr)))
    });
    g.bench_function("miss", |b| b.iter(|| filter.matches(black_box(&miss))));
    g.finish();
    c.final_summary();

    // A million hosts, replaced while a reader evaluates.
    let million = |tag: &str| -> Vec<serde_json::Value> {
        (0..1_000_000)
            .map(|k| serde_json::json!(format!("h{k}.{tag}.example")))
            .collect()
    };
    let (a, b) = (million("a"), million("b"));
    let hosts = compiler.compile("http.host in $hosts").unwrap();
    let lists = compiler.lists().clone();
    let t = Instant::now();
    lists.set_json("hosts", &a).unwrap();
    let first_load = t.elapsed();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (lists, stop) = (lists.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut swaps = Vec::new();
            for k in 0..6 {
                let t = Instant::now();
                lists
                    .set_json("hosts", if k % 2 == 0 { &b } else { &a })
                    .unwrap();
                swaps.push(t.elapsed());
            }
            stop.store(true, Ordering::Relaxed);
            swaps
        })
    };
    let mut cx = Context::new(&schema);
    cx.set("http.host", "h77.a.example".into()).unwrap();
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        black_box(hosts.matches(black_box(&cx)));
        latencies.push(t.elapsed());
    }
    let swaps = writer.join().unwrap();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "lists load_1M_ms={:.0} swap_1M_ms_median={:.0} swap_1M_ms_max={:.0}",
        ms(first_load),
        ms({
            let mut s = swaps.clone();
            s.sort();
            s[s.len() / 2]
        }),
        ms(swaps.iter().copied().max().unwrap_or_default())
    );
    println!(
        "lists reader_during_swaps evaluations={} p50_us={:.2} p99_us={:.2} p99.9_us={:.2} max_us={:.0}",
        latencies.len(),
        us(at(0.5)),
        us(at(0.99)),
        us(at(0.999)),
        us(at(1.0))
    );
}
