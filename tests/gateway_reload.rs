//! Reload under load: clients keep sending, through the gateway and the
//! decision API, while the rule file is rewritten 100 times, valid and
//! invalid alternately (and SIGHUP is sent after each write). No request
//! fails, and every response's rule ids belong to one valid version.

mod support;

use http_body_util::Full;
use hyper::body::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::Pki;
use support::gateway::{Gateway, Upstream, config, connect, metric, plain_get, tempdir};

/// Version `k` of the rules: a log rule and a block rule, both named for `k`.
fn version(k: usize) -> String {
    format!(
        r#"{{"rules": [
  {{"id": "v{k}-log", "action": "log", "expression": "http.request.uri.path ne \"\""}},
  {{"id": "v{k}-block", "action": "block", "expression": "starts_with(http.request.uri.path, \"/blocked\")"}}
]}}"#
    )
}

/// A broken file: it must be rejected, and version `k - 1` keep serving.
fn broken(k: usize) -> String {
    match k % 4 {
        1 => format!(
            r#"{{"rules": [{{"id": "v{k}-block", "action": "block", "expression": "http.host =="}}]}}"#
        ),
        _ => {
            format!(r#"{{"rules": [{{"id": "v{k}-block", "action": "blok", "expression": "ssl"}}"#)
        }
    }
}

/// The version a rule id names (`v12-block` → 12).
fn version_of(id: &str) -> usize {
    id.strip_prefix('v')
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a versioned rule id: {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_under_load_lose_nothing_and_mix_no_versions() {
    let pki = Arc::new(Pki::new());
    let dir = tempdir("reload");
    pki.write_pem(&dir);
    std::fs::write(dir.join("rules.json"), version(0)).unwrap();
    let upstream = Upstream::start().await;
    let mut gw = Gateway::start(&dir, &config(&dir, upstream.addr, ""));
    let (gateway, decision) = (gw.addr("gateway"), gw.addr("decision"));
    let stop = Arc::new(AtomicBool::new(false));

    // Gateway clients: keep-alive HTTP/1.1 connections, each request blocked
    // by some version's block rule.
    let mut clients = Vec::new();
    for c in 0..3 {
        let (pki, stop) = (pki.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let tls = connect(&pki, gateway, None, b"http/1.1").await;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                    .await
                    .unwrap();
            tokio::spawn(conn);
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let request = http::Request::builder()
                    .uri(format!("/blocked/{c}"))
                    .header("host", "www.example.com")
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                sender.ready().await.expect("the connection failed");
                let r = sender
                    .send_request(request)
                    .await
                    .expect("a request failed");
                assert_eq!(r.status(), 403);
                let body = http_body_util::BodyExt::collect(r.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                seen.push(version_of(v["rule"].as_str().unwrap()));
            }
            seen
        }));
    }
    // Decision API clients: the whole verdict, so the log and block rules
    // of one response can be compared.
    for _ in 0..2 {
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            let tcp = tokio::net::TcpStream::connect(decision).await.unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                    .await
                    .unwrap();
            tokio::spawn(conn);
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let request = http::Request::builder()
                    .method("POST")
                    .uri("/v1/decide")
                    .header("host", "localhost")
                    .body(Full::new(Bytes::from(r#"{"uri": "/blocked/api"}"#)))
                    .unwrap();
                sender.ready().await.expect("the connection failed");
                let r = sender
                    .send_request(request)
                    .await
                    .expect("a request failed");
                assert_eq!(r.status(), 200);
                let body = http_body_util::BodyExt::collect(r.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let rule = version_of(v["rule"].as_str().unwrap());
                let logged: Vec<usize> = v["logged"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| version_of(l.as_str().unwrap()))
                    .collect();
                assert_eq!(logged, [rule], "one verdict mixes versions: {v}");
                seen.push(rule);
            }
            seen
        }));
    }

    // 100 rewrites: odd ones broken, even ones a new version.
    let start = Instant::now();
    for k in 1..=100 {
        let text = if k % 2 == 0 { version(k) } else { broken(k) };
        let tmp = dir.join("rules.json.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, dir.join("rules.json")).unwrap();
        gw.signal("HUP");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // The last version takes effect.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = plain_get(gw.addr("admin"), "/metrics").await;
        let failed = metric(&r.body, "portcullis_reloads_total{result=\"failed\"}").unwrap();
        let ok = metric(&r.body, "portcullis_reloads_total{result=\"ok\"}").unwrap();
        let last = gw
            .log()
            .iter()
            .rev()
            .find(|l| l["message"] == "reloaded")
            .cloned();
        if failed >= 1.0 && ok >= 1.0 && last.is_some() {
            let api = support::gateway::plain(
                decision,
                http::Request::builder()
                    .method("POST")
                    .uri("/v1/decide")
                    .header("host", "localhost")
                    .body(Full::new(Bytes::from(r#"{"uri": "/blocked"}"#)))
                    .unwrap(),
            )
            .await;
            if api.json()["rule"] == "v100-block" {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "v100 never took effect: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for c in clients {
        let seen = c.await.expect("a client failed");
        assert!(!seen.is_empty());
        for v in &seen {
            assert!(v % 2 == 0, "a response from broken version {v}");
        }
        total += seen.len();
    }
    eprintln!("{total} requests over {:?} of reloads", start.elapsed());
    assert!(total >= 100, "only {total} requests were sent");
    // Every broken file was reported with its error, and nothing crashed.
    let log = gw.log();
    let rejected = log
        .iter()
        .filter(|l| l["message"] == "reload rejected")
        .count();
    assert!(rejected >= 1, "no rejection logged");
    assert!(
        log.iter()
            .filter(|l| l["message"] == "reload rejected")
            .all(|l| l["error"]
                .as_str()
                .is_some_and(|e| e.contains("rules.json"))),
        "a rejection without its file and error"
    );
    assert!(gw.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lists_change_alone_swaps_the_lists_and_a_bad_one_keeps_them() {
    let pki = Pki::new();
    let dir = tempdir("reload-lists");
    pki.write_pem(&dir);
    let upstream = Upstream::start().await;
    let mut gw = Gateway::start(&dir, &config(&dir, upstream.addr, ""));
    let decision = gw.addr("decision");
    let decide = |ip: &'static str| async move {
        support::gateway::plain(
            decision,
            http::Request::builder()
                .method("POST")
                .uri("/v1/decide")
                .header("host", "localhost")
                .body(Full::new(Bytes::from(format!(
                    r#"{{"uri": "/admin", "host": "www.example.com", "client_ip": "{ip}"}}"#
                ))))
                .unwrap(),
        )
        .await
        .json()
    };
    assert_eq!(decide("10.9.9.9").await["action"], serde_json::Value::Null);
    assert_eq!(decide("198.51.100.7").await["rule"], "admin-from-office");
    // The office moves; the rules file stays.
    std::fs::write(dir.join("lists.json"), r#"{"office": ["198.51.100.0/24"]}"#).unwrap();
    gw.signal("HUP");
    gw.wait_log(Duration::from_secs(10), |l| {
        l.iter()
            .any(|v| v["message"] == "reloaded" && v["what"] == "lists")
    });
    assert_eq!(decide("10.9.9.9").await["rule"], "admin-from-office");
    assert_eq!(
        decide("198.51.100.7").await["action"],
        serde_json::Value::Null
    );
    // A list item that is not an address is rejected; the lists in force stay.
    std::fs::write(dir.join("lists.json"), r#"{"office": ["not an address"]}"#).unwrap();
    gw.signal("HUP");
    gw.wait_log(Duration::from_secs(10), |l| {
        l.iter().any(|v| {
            v["message"] == "reload rejected"
                && v["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("not an address"))
        })
    });
    assert_eq!(
        decide("198.51.100.7").await["action"],
        serde_json::Value::Null
    );
}

/// `portcullis serve` that cannot start says why, all of it, and exits:
/// 2 for a config it cannot read, 1 for rules that do not compile.
#[test]
fn a_bad_start_exits_with_every_error() {
    use std::process::Command;
    let pki = Pki::new();
    let dir = tempdir("bad-start");
    pki.write_pem(&dir);
    let serve = |config: &str| {
        std::fs::write(dir.join("gateway.toml"), config).unwrap();
        let out = Command::new(support::gateway::binary())
            .args(["serve", "--config"])
            .arg(dir.join("gateway.toml"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let upstream: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let good = config(&dir, upstream, "");
    let (code, err) = serve(&good.replace("[limits]", "").replace("[admin]", "[admn]"));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("unknown field `admn`") && err.contains("did you mean `admin`?"),
        "{err}"
    );
    std::fs::write(
        dir.join("rules.json"),
        r#"{"rules": [
          {"id": "one", "action": "block", "expression": "http.hots == \"a\""},
          {"id": "two", "action": "block", "expression": "tcp.dstport == \"x\""}
        ]}"#,
    )
    .unwrap();
    let (code, err) = serve(&good);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("rule `one`") && err.contains("did you mean `http.host`?"),
        "{err}"
    );
    assert!(err.contains("rule `two`"), "{err}");
}
