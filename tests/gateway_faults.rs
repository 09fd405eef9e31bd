//! Faults around `portcullis serve`: an upstream that is down or slow,
//! clients that disconnect mid-body, send their headers slowly, send too
//! many or too large headers, idle, or do not speak TLS; and a graceful
//! shutdown. None of them crashes the gateway, and its connection count
//! comes back down (nothing leaks).

mod support;

use http_body_util::Full;
use hyper::body::Bytes;
use std::time::{Duration, Instant};
use support::Pki;
use support::gateway::{
    Gateway, Upstream, config, connect, get, metric, plain_get, raw, send, tempdir,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMITS: &str = "[limits]
header_read_timeout_ms = 500
tls_handshake_timeout_ms = 500
body_read_timeout_ms = 500
idle_timeout_ms = 800
max_header_bytes = 8192
max_headers = 50
shutdown_grace_ms = 5000
";

async fn launch(tag: &str, upstream: std::net::SocketAddr, rules: Option<&str>) -> (Pki, Gateway) {
    let pki = Pki::new();
    let dir = tempdir(tag);
    pki.write_pem(&dir);
    if let Some(r) = rules {
        std::fs::write(dir.join("rules.json"), r).unwrap();
    }
    let gw = Gateway::start(&dir, &config(&dir, upstream, LIMITS));
    (pki, gw)
}

/// Reads until the server closes, or `limit`: whether it closed, and what it sent.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
    limit: Duration,
) -> (bool, String) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    while start.elapsed() < limit {
        match tokio::time::timeout(limit - start.elapsed(), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (true, String::from_utf8_lossy(&out).into_owned()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    (false, String::from_utf8_lossy(&out).into_owned())
}

/// The gateway's open connections, by its metrics.
async fn open_connections(gw: &Gateway) -> f64 {
    let m = plain_get(gw.addr("admin"), "/metrics").await.body;
    metric(&m, "portcullis_connections{listener=\"gateway\"}").unwrap()
}

async fn wait_connections(gw: &Gateway, want: f64) {
    let start = Instant::now();
    while open_connections(gw).await != want {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "connections stay at {} (want {want})",
            open_connections(gw).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_is_down_or_slow_is_502_or_504_in_time() {
    // A port nobody listens on.
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (pki, mut gw) = launch("faults-down", down, None).await;
    let start = Instant::now();
    let r = send(
        &pki,
        gw.addr("gateway"),
        None,
        false,
        get("www.example.com", "/", false),
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(gw.alive());

    let upstream = Upstream::start().await;
    let (pki, mut gw) = launch("faults-slow", upstream.addr, None).await;
    let start = Instant::now();
    // upstream_timeout_ms is 2000: a 5 s upstream is cut at 2 s.
    let r = send(
        &pki,
        gw.addr("gateway"),
        None,
        false,
        get("www.example.com", "/slow/5000", false),
    )
    .await;
    assert_eq!(r.status, 504, "{}", r.body);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let r = send(
        &pki,
        gw.addr("gateway"),
        None,
        true,
        get("www.example.com", "/slow/10", true),
    )
    .await;
    assert_eq!(r.status, 200);
    let m = plain_get(gw.addr("admin"), "/metrics").await.body;
    assert_eq!(
        metric(&m, "portcullis_upstream_errors_total{kind=\"timeout\"}"),
        Some(1.0)
    );
    assert!(gw.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_misbehave_are_bounded_and_leave_nothing_behind() {
    let upstream = Upstream::start().await;
    let (pki, mut gw) = launch("faults-clients", upstream.addr, None).await;
    let addr = gw.addr("gateway");

    // Disconnects mid-body.
    for _ in 0..5 {
        let mut tls = connect(&pki, addr, None, b"http/1.1").await;
        tls.write_all(
            b"POST /upload HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 1000000\r\n\r\n",
        )
        .await
        .unwrap();
        tls.write_all(&[b'x'; 10_000]).await.unwrap();
        drop(tls);
    }

    // Slow headers: cut at header_read_timeout_ms.
    let mut tls = connect(&pki, addr, None, b"http/1.1").await;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: www.exa")
        .await
        .unwrap();
    let start = Instant::now();
    let (closed, _) = closed_within(&mut tls, Duration::from_secs(5)).await;
    assert!(closed, "a slow-header client was never cut off");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );

    // No TLS handshake at all: cut at tls_handshake_timeout_ms.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    let (closed, _) = closed_within(&mut tcp, Duration::from_secs(5)).await;
    assert!(closed && start.elapsed() < Duration::from_secs(3));

    // Not TLS: garbage and plain HTTP get a closed connection, nothing else.
    for junk in [
        &b"\x16\x03\x01\x00\x05hello"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &[0xff; 3000],
    ] {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let _ = tcp.write_all(junk).await;
        let (closed, _) = closed_within(&mut tcp, Duration::from_secs(5)).await;
        assert!(closed);
    }

    // Oversized headers and too many headers: 431.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(20_000)
    );
    let (status, _) = raw(&pki, addr, None, big.as_bytes()).await;
    assert_eq!(status, 431);
    let many: String = (0..60).map(|k| format!("X-H{k}: v\r\n")).collect();
    let many =
        format!("GET / HTTP/1.1\r\nHost: www.example.com\r\n{many}Connection: close\r\n\r\n");
    let (status, _) = raw(&pki, addr, None, many.as_bytes()).await;
    assert_eq!(status, 431);
    // Over HTTP/2 too (the header list is bounded by max_header_bytes).
    let request = http::Request::builder()
        .uri("https://www.example.com/")
        .header("x-big", "a".repeat(20_000))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let tls = connect(&pki, addr, None, b"h2").await;
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    match sender.send_request(request).await {
        Ok(r) => assert_eq!(r.status(), 431),
        Err(e) => eprintln!("HTTP/2 oversized headers: the stream was refused ({e})"),
    }
    drop(sender);

    // An idle HTTP/1.1 keep-alive connection is closed by the first of
    // header_read_timeout_ms (500, hyper waits for the next head that long)
    // and idle_timeout_ms (800).
    let mut tls = connect(&pki, addr, None, b"http/1.1").await;
    tls.write_all(b"GET /idle HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let (closed, text) = closed_within(&mut tls, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(closed, "an idle connection stayed open");
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "{:?}",
        start.elapsed()
    );
    // An idle HTTP/2 connection, at idle_timeout_ms.
    let tls = connect(&pki, addr, None, b"h2").await;
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let r = sender
        .send_request(get("www.example.com", "/idle2", true))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let start = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(5), conn).await;
    assert!(ended.is_ok(), "an idle HTTP/2 connection stayed open");
    let idle = start.elapsed();
    assert!(
        idle >= Duration::from_millis(700) && idle < Duration::from_secs(3),
        "{idle:?}"
    );
    drop(sender);

    // Still serving, and every one of those connections is gone.
    let r = send(
        &pki,
        addr,
        Some(&pki.valid),
        false,
        get("api.orangeclouded.com", "/", false),
    )
    .await;
    assert_eq!(r.status, 200);
    wait_connections(&gw, 0.0).await;
    assert!(gw.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_is_waited_for_only_when_a_rule_reads_it() {
    let upstream = Upstream::start().await;
    let slow_body = b"POST /slow-body HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 10\r\nConnection: close\r\n\r\n12345";
    for (rules, status) in [
        (
            r#"{"rules": [{"id": "b", "action": "block", "expression": "http.request.body.raw contains \"x\""}]}"#,
            408,
        ),
        (
            r#"{"rules": [{"id": "h", "action": "block", "expression": "http.host eq \"blocked.example\""}]}"#,
            200,
        ),
    ] {
        let (pki, gw) = launch("faults-body", upstream.addr, Some(rules)).await;
        let mut tls = connect(&pki, gw.addr("gateway"), None, b"http/1.1").await;
        tls.write_all(slow_body).await.unwrap();
        // The rest of the body comes after body_read_timeout_ms (500).
        tokio::time::sleep(Duration::from_millis(900)).await;
        let _ = tls.write_all(b"67890").await;
        let (_, text) = closed_within(&mut tls, Duration::from_secs(5)).await;
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status}")),
            "{rules}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_requests_in_flight() {
    let upstream = Upstream::start().await;
    let (pki, mut gw) = launch("faults-drain", upstream.addr, None).await;
    let addr = gw.addr("gateway");
    let pki = std::sync::Arc::new(pki);
    let p = pki.clone();
    let in_flight = tokio::spawn(async move {
        send(
            &p,
            addr,
            None,
            false,
            get("www.example.com", "/slow/1000", false),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.signal("TERM");
    let r = in_flight.await.unwrap();
    assert_eq!(r.status, 200, "the request in flight was cut: {}", r.body);
    let start = Instant::now();
    while gw.alive() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "still running after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gw.child.wait().unwrap().success());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
    gw.wait_log(Duration::from_secs(5), |l| {
        l.iter().any(|v| v["message"] == "drained; stopped")
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_max_connections_are_closed_until_one_is_free() {
    let upstream = Upstream::start().await;
    let pki = Pki::new();
    let dir = tempdir("faults-conns");
    pki.write_pem(&dir);
    let gw = Gateway::start(
        &dir,
        &config(&dir, upstream.addr, "[limits]\nmax_connections = 2\n"),
    );
    let addr = gw.addr("gateway");
    let first = connect(&pki, addr, None, b"http/1.1").await;
    let second = connect(&pki, addr, None, b"http/1.1").await;
    // A third is closed at once, its handshake unanswered.
    let mut third = TcpStream::connect(addr).await.unwrap();
    let (closed, sent) = closed_within(&mut third, Duration::from_secs(5)).await;
    assert!(
        closed && sent.is_empty(),
        "a third connection was served past max_connections = 2"
    );
    // Once one of the two is gone (the gateway sees it close), there is room.
    drop(first);
    wait_connections(&gw, 1.0).await;
    let r = send(
        &pki,
        addr,
        None,
        false,
        get("www.example.com", "/again", false),
    )
    .await;
    assert_eq!(r.status, 200);
    let m = plain_get(gw.addr("admin"), "/metrics").await.body;
    assert!(metric(&m, "portcullis_connections_refused_total").unwrap() >= 1.0);
    drop(second);
}
