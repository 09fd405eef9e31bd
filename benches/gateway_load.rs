//! Load through `portcullis serve` (gateway mode, the 1,000-rule R1000 set
//! loaded) beside nginx as a TLS-terminating reverse proxy (`proxy_pass`)
//! to the same upstream, with the same certificates, the same cipher
//! (TLS 1.3, AES-256-GCM, X25519), the same client certificate and the same
//! load client, on this machine.
//!
//! `cargo bench --bench gateway_load` starts the upstream, the gateway and
//! nginx (when installed) itself and prints, for each: requests per second,
//! p50 and p99 latency; then the gateway's CPU time per request and the
//! share of it spent evaluating rules (from its `/metrics`).
//!
//! Knobs (environment): `LOAD_SECS` (per target and round, default 10),
//! `LOAD_CONNS` (keep-alive connections, default 32), `LOAD_ROUNDS`
//! (alternating rounds, default 2).

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../tests/workload/mod.rs"]
mod workload;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::Pki;
use support::gateway::{Gateway, metric, tempdir};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The upstream: 200 with a small body, keep-alive, on its own runtime thread.
fn upstream(rt: &tokio::runtime::Runtime) -> SocketAddr {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_r: http::Request<Incoming>| async {
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                        b"{\"ok\":true,\"items\":[1,2,3]}",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// The client's TLS: the test CA, the valid client certificate, and one
/// cipher suite, so both servers use the same.
fn client_tls(pki: &Pki) -> Arc<rustls::ClientConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites = vec![rustls::crypto::ring::cipher_suite::TLS13_AES_256_GCM_SHA384];
    provider.kx_groups = vec![rustls::crypto::ring::kx_group::X25519];
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![pki.valid.der()], pki.valid.key_der())
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

struct Report {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
    requests: usize,
    /// With the warm-up's.
    sent: usize,
}

/// `conns` keep-alive HTTP/1.1 connections sending GETs for `secs`
/// (after a one-second warm-up that is not counted).
fn load(
    rt: &tokio::runtime::Runtime,
    pki: &Pki,
    addr: SocketAddr,
    conns: usize,
    secs: u64,
) -> Report {
    let tls = client_tls(pki);
    rt.block_on(async move {
        let warm_until = Instant::now() + Duration::from_secs(1);
        let end = warm_until + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for _ in 0..conns {
            let tls = tls.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat: Vec<u32> = Vec::with_capacity(100_000);
                let mut errors = 0;
                let mut sent = 0;
                let connector = tokio_rustls::TlsConnector::from(tls);
                // A server may close a keep-alive connection (nginx after
                // keepalive_requests): then connect again, counting no error.
                'connection: while Instant::now() < end {
                    let Ok(tcp) = tokio::net::TcpStream::connect(addr).await else {
                        errors += 1;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let _ = tcp.set_nodelay(true);
                    let name = ServerName::try_from("api.orangeclouded.com").unwrap();
                    let Ok(stream) = connector.connect(name, tcp).await else {
                        errors += 1;
                        continue;
                    };
                    let Ok((mut sender, conn)) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
                    else {
                        errors += 1;
                        continue;
                    };
                    tokio::spawn(conn);
                    loop {
                        let now = Instant::now();
                        if now >= end {
                            break 'connection;
                        }
                        let request = http::Request::builder()
                            .uri("/index.html?page=2")
                            .header("host", "www.example.org")
                            .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64)")
                            .header("accept", "text/html")
                            .header("referer", "https://www.example.com/")
                            .body(Empty::<Bytes>::new())
                            .unwrap();
                        if sender.ready().await.is_err() {
                            continue 'connection;
                        }
                        match sender.send_request(request).await {
                            Ok(r) if r.status() == 200 => {
                                let _ = r.into_body().collect().await;
                                sent += 1;
                                if now >= warm_until {
                                    lat.push(now.elapsed().as_micros().min(u32::MAX as u128) as u32);
                                }
                            }
                            Ok(_) => errors += 1,
                            Err(e) if e.is_canceled() || e.is_closed() => continue 'connection,
                            Err(_) => errors += 1,
                        }
                    }
                }
                (lat, errors, sent)
            }));
        }
        let mut all = Vec::new();
        let (mut errors, mut sent) = (0, 0);
        for t in tasks {
            let (lat, e, n) = t.await.unwrap();
            all.extend(lat);
            errors += e;
            sent += n;
        }
        all.sort_unstable();
        let pick = |q: f64| {
            let k = ((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1));
            Duration::from_micros(u64::from(all.get(k).copied().unwrap_or(0)))
        };
        Report {
            rps: all.len() as f64 / secs as f64,
            p50: pick(0.50),
            p99: pick(0.99),
            errors,
            requests: all.len(),
            sent,
        }
    })
}

/// CPU seconds (user + system) process `pid` has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command (which may hold spaces) start after ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |k: usize| f.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds used by `pid` and its children (nginx's workers).
fn tree_cpu_seconds(pid: u32) -> f64 {
    let mut total = cpu_seconds(pid);
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(pid) {
                total += cpu_seconds(child);
            }
        }
    }
    total
}

fn print(name: &str, r: &Report) {
    println!(
        "{name:<34} rps={:>9.0} p50={:>7.3}ms p99={:>7.3}ms requests={} errors={}",
        r.rps,
        r.p50.as_secs_f64() * 1e3,
        r.p99.as_secs_f64() * 1e3,
        r.requests,
        r.errors
    );
}

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers (SIGKILL would orphan them).
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn nginx(dir: &Path, upstream: SocketAddr) -> Option<(Nginx, SocketAddr)> {
    if Command::new("nginx").arg("-v").output().is_err() {
        println!(
            "SKIPPED: nginx is not installed; no nginx baseline (apt-get install nginx-light)"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = dir.display();
    std::fs::create_dir_all(dir.join("nginx-tmp")).unwrap();
    let conf = format!(
        r#"daemon off;
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path {d}/nginx-tmp/body;
    proxy_temp_path {d}/nginx-tmp/proxy;
    fastcgi_temp_path {d}/nginx-tmp/fastcgi;
    uwsgi_temp_path {d}/nginx-tmp/uwsgi;
    scgi_temp_path {d}/nginx-tmp/scgi;
    upstream app {{ server {upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_protocols TLSv1.3;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        ssl_client_certificate {d}/ca.pem;
        ssl_crl {d}/crl.pem;
        ssl_verify_client optional;
        location / {{
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
            proxy_set_header X-SSL-Client-S-DN $ssl_client_s_dn;
            proxy_set_header X-SSL-Client-I-DN $ssl_client_i_dn;
            proxy_set_header X-SSL-Client-Serial $ssl_client_serial;
            proxy_set_header X-SSL-Client-Fingerprint $ssl_client_fingerprint;
            proxy_set_header X-SSL-Client-Escaped-Cert $ssl_client_escaped_cert;
            proxy_pass http://app;
        }}
    }}
}}
"#
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let n = Nginx(child);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let start = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        if start.elapsed() > Duration::from_secs(10) {
            println!("SKIPPED: nginx never listened");
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((n, addr))
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that is not ours skips the run.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"gateway_load".contains(&a))
    {
        return;
    }
    let secs = env("LOAD_SECS", 10);
    let conns = env("LOAD_CONNS", 32) as usize;
    let rounds = env("LOAD_ROUNDS", 2);
    let pki = Pki::new();
    let dir = tempdir("gateway-load");
    pki.write_pem(&dir);
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let up = upstream(&server_rt);
    let rules = serde_json::to_string(&workload::rule_set(&workload::r1000())).unwrap();
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    let config = format!(
        r#"[rules]
file = "rules.json"
watch_interval_ms = 0

[gateway]
listen = "127.0.0.1:0"
cert = "server.pem"
key = "server.key"
client_ca = "ca.pem"
crl = ["crl.pem"]
upstream = "http://{up}"
pool_max_idle = 64

[admin]
listen = "127.0.0.1:0"

[log]
decisions = false
"#
    );
    println!(
        "gateway_load: {conns} keep-alive connections, {secs} s per target after 1 s of warm-up, TLS 1.3 AES-256-GCM, a client certificate; R1000 rules in the gateway"
    );
    let gw = Gateway::start(&dir, &config);
    let gw_addr = gw.addr("gateway");
    let admin = gw.addr("admin");
    let pid = gw.child.id();
    let metrics = |rt: &tokio::runtime::Runtime| {
        rt.block_on(support::gateway::plain_get(admin, "/metrics"))
            .body
    };
    let nginx = nginx(&dir, up);
    // Rounds alternate between the two, so a neighbour's load on the
    // machine falls on both alike.
    let (mut g_all, mut n_all) = (Vec::new(), Vec::new());
    let (mut cpu, mut evals, mut eval_s, mut build_s) = (0.0, 0.0, 0.0, 0.0);
    let (mut nginx_cpu, mut nginx_requests) = (0.0, 0.0);
    for round in 1..=rounds {
        let before_cpu = cpu_seconds(pid);
        let before = metrics(&client_rt);
        let g = load(&client_rt, &pki, gw_addr, conns, secs);
        let after = metrics(&client_rt);
        cpu += cpu_seconds(pid) - before_cpu;
        let delta =
            |name: &str| metric(&after, name).unwrap_or(0.0) - metric(&before, name).unwrap_or(0.0);
        evals += delta("portcullis_evaluation_seconds_count");
        eval_s += delta("portcullis_evaluation_seconds_sum");
        build_s += delta("portcullis_request_build_seconds_total");
        print(&format!("round {round}: portcullis serve (R1000)"), &g);
        g_all.push(g);
        if let Some((proc, addr)) = &nginx {
            let before = tree_cpu_seconds(proc.0.id());
            let n = load(&client_rt, &pki, *addr, conns, secs);
            nginx_cpu += tree_cpu_seconds(proc.0.id()) - before;
            nginx_requests += n.sent as f64;
            print(&format!("round {round}: nginx proxy_pass"), &n);
            n_all.push(n);
        }
    }
    drop(nginx);
    drop(gw);
    let mean = |v: &[Report], f: &dyn Fn(&Report) -> f64| {
        v.iter().map(f).sum::<f64>() / v.len().max(1) as f64
    };
    let rps = |r: &Report| r.rps;
    let p50 = |r: &Report| r.p50.as_secs_f64() * 1e3;
    let p99 = |r: &Report| r.p99.as_secs_f64() * 1e3;
    println!(
        "mean portcullis serve: rps={:.0} p50={:.3}ms p99={:.3}ms",
        mean(&g_all, &rps),
        mean(&g_all, &p50),
        mean(&g_all, &p99)
    );
    if !n_all.is_empty() {
        println!(
            "mean nginx proxy_pass: rps={:.0} p50={:.3}ms p99={:.3}ms",
            mean(&n_all, &rps),
            mean(&n_all, &p50),
            mean(&n_all, &p99)
        );
        println!(
            "ratio: gateway/nginx rps = {:.2} (target >= 0.80); p50 {:.2}x, p99 {:.2}x",
            mean(&g_all, &rps) / mean(&n_all, &rps),
            mean(&g_all, &p50) / mean(&n_all, &p50),
            mean(&g_all, &p99) / mean(&n_all, &p99)
        );
    }
    if evals > 0.0 {
        println!(
            "gateway CPU {:.1} us/request; rule evaluation {:.2} us/request ({:.2}% of the gateway's CPU, target < 2%); building the request {:.2} us ({:.2}%)",
            cpu / evals * 1e6,
            eval_s / evals * 1e6,
            100.0 * eval_s / cpu,
            build_s / evals * 1e6,
            100.0 * build_s / cpu
        );
    }
    if nginx_requests > 0.0 {
        println!(
            "nginx CPU {:.1} us/request (master and workers)",
            nginx_cpu / nginx_requests * 1e6
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
