//! `portcullis serve` in gateway mode, end to end with real processes: the
//! built binary on a config, an upstream echo server, and TLS clients with
//! certificates made at test time (valid, none, expired, untrusted CA,
//! revoked by CRL): the verdicts, what the upstream is told of the
//! certificate, spoofed headers stripped, path tricks blocked, bodies, the
//! decision log and the operational endpoints.

mod support;

use http_body_util::Full;
use hyper::body::Bytes;
use portcullis::ClientCert;
use support::Pki;
use support::gateway::{
    Gateway, IDENTITIES, Upstream, config, get, metric, plain_get, raw, send, tempdir,
};

/// A gateway with the test rules in front of a fresh upstream.
async fn start(tag: &str, extra: &str) -> (Pki, Upstream, Gateway) {
    let pki = Pki::new();
    let dir = tempdir(tag);
    pki.write_pem(&dir);
    let upstream = Upstream::start().await;
    let gw = Gateway::start(&dir, &config(&dir, upstream.addr, extra));
    (pki, upstream, gw)
}

/// (identity, presented, verified, revoked, status on the API host)
const CASES: [(&str, bool, bool, bool, u16); 5] = [
    ("valid", true, true, false, 200),
    ("none", false, false, false, 403),
    ("expired", true, false, false, 403),
    ("wrong-ca", true, false, false, 403),
    ("revoked", true, true, true, 403),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_decide_and_reach_the_upstream_as_headers() {
    let (pki, upstream, gw) = start("gw-certs", "").await;
    let addr = gw.addr("gateway");
    assert_eq!(IDENTITIES.len() + 1, CASES.len());
    for (name, presented, verified, revoked, api_status) in CASES {
        let id = (name != "none").then(|| pki.identity(name));
        for h2 in [false, true] {
            let api = send(
                &pki,
                addr,
                id,
                h2,
                get("api.orangeclouded.com", "/v1/x", h2),
            )
            .await;
            assert_eq!(api.status, api_status, "{name} h2={h2}: {}", api.body);
            if api_status == 403 {
                assert_eq!(
                    api.json(),
                    serde_json::json!({"action": "block", "rule": "mtls-required"}),
                    "{name}"
                );
            }
            // Another host passes: the upstream is told what the rules saw.
            let path = format!("/echo/{name}/{h2}");
            let other = send(&pki, addr, id, h2, get("www.example.com", &path, h2)).await;
            assert_eq!(other.status, 200, "{name} h2={h2}: {}", other.body);
            let seen = upstream.seen(&path);
            assert_eq!(seen.len(), 1, "{name}");
            let s = &seen[0];
            let b = |v: bool| if v { "true" } else { "false" };
            assert_eq!(s.one("cf-cert-presented"), Some(b(presented)), "{name}");
            assert_eq!(s.one("cf-cert-verified"), Some(b(verified)), "{name}");
            assert_eq!(s.one("cf-cert-revoked"), Some(b(revoked)), "{name}");
            assert_eq!(s.one("x-forwarded-for"), Some("127.0.0.1"));
            assert_eq!(s.one("x-forwarded-proto"), Some("https"));
            assert_eq!(
                s.one("forwarded"),
                Some("for=127.0.0.1;proto=https;host=\"www.example.com\"")
            );
            assert_eq!(s.one("host"), Some("www.example.com"), "{name} h2={h2}");
            assert!(s.one("x-request-id").is_some_and(|v| !v.is_empty()));
            match id {
                Some(id) => {
                    // The same facts the library derives from the certificate.
                    let facts = ClientCert::from_der_chain(&[id.der()], &[pki.ca.der()]).unwrap();
                    for (header, want) in [
                        ("cf-cert-subject-dn", &facts.subject_dn),
                        ("cf-cert-issuer-dn", &facts.issuer_dn),
                        ("cf-cert-serial", &facts.serial),
                        ("cf-cert-fingerprint-sha256", &facts.fingerprint_sha256),
                        ("cf-cert-not-before", &facts.not_before),
                        ("cf-cert-not-after", &facts.not_after),
                        ("client-cert", &facts.rfc9440),
                    ] {
                        assert_eq!(s.one(header), Some(want.as_str()), "{name}: {header}");
                    }
                    assert!(facts.rfc9440.starts_with(':') && facts.rfc9440.ends_with(':'));
                    assert_eq!(
                        s.one("client-cert-chain"),
                        None,
                        "no intermediates were sent"
                    );
                    assert_eq!(s.one("cf-cert-failure").is_some(), !verified, "{name}");
                }
                None => {
                    for header in ["cf-cert-subject-dn", "cf-cert-serial", "client-cert"] {
                        assert_eq!(s.one(header), None, "{name}: {header}");
                    }
                }
            }
        }
    }
    // One decision line per request, with the verdict and its timing (the
    // log is read by another thread: wait for the last lines).
    let mut gw = gw;
    gw.wait_log(std::time::Duration::from_secs(10), |l| {
        l.iter().filter(|v| v["message"] == "decision").count() >= CASES.len() * 4
    });
    let lines = gw.decisions();
    assert_eq!(lines.len(), CASES.len() * 4, "{lines:#?}");
    let blocked: Vec<_> = lines.iter().filter(|l| l["action"] == "block").collect();
    assert_eq!(blocked.len(), 8);
    for l in &lines {
        assert_eq!(l["target"], "portcullis::decision");
        assert!(l["request_id"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(l["eval_us"].as_f64().is_some_and(|t| t >= 0.0));
        assert!(l["status"].as_u64().is_some());
    }
    assert!(
        blocked
            .iter()
            .all(|l| l["rule"] == "mtls-required" && l["status"] == 403)
    );
    assert!(
        lines
            .iter()
            .filter(|l| l["logged"] == "log-presented")
            .count()
            == 16
    );
}

/// Headers a client must not be able to set for the upstream: every one
/// the gateway owns, whatever its case, and hop-by-hop headers.
const SPOOFED: &[(&str, &str)] = &[
    ("cf-cert-presented", "true"),
    ("CF-Cert-Verified", "true"),
    ("cf-cert-revoked", "true"),
    ("cf-cert-subject-dn", "CN=admin,O=Orange Clouded"),
    ("cf-cert-issuer-dn", "CN=Orange Clouded Test CA"),
    ("cf-cert-serial", "01"),
    ("cf-cert-fingerprint-sha256", "00"),
    ("cf-cert-not-before", "Jan  1 00:00:00 2020 GMT"),
    ("cf-cert-not-after", "Jan  1 00:00:00 2099 GMT"),
    ("cf-cert-anything-else", "x"),
    ("Client-Cert", ":AAAA:"),
    ("client-cert-chain", ":AAAA:"),
    ("x-portcullis-action", "allow"),
    ("keep-alive", "timeout=5"),
    ("x-hop", "named by Connection"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_headers_never_reach_the_upstream_nor_change_verdicts() {
    let (pki, upstream, gw) = start("gw-spoof", "").await;
    let addr = gw.addr("gateway");
    for (name, id) in [("none", None), ("valid", Some(&pki.valid))] {
        let path = format!("/spoof/{name}");
        let mut request = http::Request::builder()
            .uri(&path)
            .header("host", "www.example.com")
            .header("connection", "x-hop")
            .header("x-forwarded-for", "10.1.2.3");
        for (n, v) in SPOOFED {
            request = request.header(*n, *v);
        }
        let r = send(
            &pki,
            addr,
            id,
            false,
            request.body(Full::new(Bytes::new())).unwrap(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let seen = &upstream.seen(&path)[0];
        let presented = if id.is_some() { "true" } else { "false" };
        assert_eq!(seen.all("cf-cert-presented"), [presented]);
        assert_eq!(seen.all("cf-cert-verified"), [presented]);
        assert_eq!(seen.all("cf-cert-revoked"), ["false"]);
        // The three facts are there once, with the gateway's value (above);
        // every other spoofed value is gone.
        for (n, v) in &SPOOFED[3..] {
            let n = n.to_ascii_lowercase();
            assert!(
                !seen.all(&n).contains(v),
                "{name}: the client's {n}: {v} reached the upstream: {seen:?}"
            );
        }
        for n in [
            "cf-cert-anything-else",
            "x-portcullis-action",
            "keep-alive",
            "x-hop",
            "connection",
        ] {
            assert!(seen.all(n).is_empty(), "{name}: {n} reached the upstream");
        }
        // A client's X-Forwarded-For is kept, the peer appended after it.
        assert_eq!(seen.all("x-forwarded-for"), ["10.1.2.3, 127.0.0.1"]);
    }
    // Spoofed certificate headers and X-Forwarded-For decide nothing: no
    // certificate is still no certificate, and 127.0.0.1 is not the office.
    for (host, path, rule) in [
        ("api.orangeclouded.com", "/v1/x", "mtls-required"),
        ("www.example.com", "/admin", "admin-from-office"),
        ("api.orangeclouded.com", "/healthz", "mtls-required"),
    ] {
        let mut request = http::Request::builder()
            .uri(path)
            .header("host", host)
            .header("x-forwarded-for", "10.0.0.1")
            .header("x-real-ip", "10.0.0.1");
        for (n, v) in SPOOFED {
            request = request.header(*n, *v);
        }
        let r = send(
            &pki,
            addr,
            None,
            false,
            request.body(Full::new(Bytes::new())).unwrap(),
        )
        .await;
        assert_eq!(r.status, 403, "{host}{path}: {}", r.body);
        assert_eq!(r.json()["rule"], rule);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_proxies_are_believed_and_only_they() {
    let extra = "";
    let pki = Pki::new();
    let dir = tempdir("gw-xff");
    pki.write_pem(&dir);
    let upstream = Upstream::start().await;
    let text = config(&dir, upstream.addr, extra).replace(
        "upstream_timeout_ms = 2000",
        "upstream_timeout_ms = 2000\ntrusted_proxies = [\"127.0.0.0/8\"]",
    );
    let gw = Gateway::start(&dir, &text);
    let addr = gw.addr("gateway");
    // The peer (127.0.0.1) is trusted: the office address it vouches for is ip.src.
    for (xff, status) in [
        ("10.0.0.1", 200),
        ("203.0.113.5", 403),
        ("203.0.113.5, 10.0.0.1", 200),
    ] {
        let request = http::Request::builder()
            .uri("/admin")
            .header("host", "www.example.com")
            .header("x-forwarded-for", xff)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let r = send(&pki, addr, None, false, request).await;
        assert_eq!(r.status, status, "X-Forwarded-For: {xff}: {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_tricks_do_not_get_past_a_rule_on_the_normalised_path() {
    let (pki, upstream, gw) = start("gw-paths", "").await;
    let addr = gw.addr("gateway");
    let table = include_str!("cases/path_bypass.txt");
    let mut blocked = 0;
    let mut refused = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let Some((target, want)) = line.split_once('\t') else {
            continue;
        };
        // `\xHH` rows carry bytes a client cannot put in a request line as text.
        if target.contains("\\x") || !want.starts_with("/admin") || want.starts_with("/admin.") {
            continue;
        }
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n");
        let (status, text) = raw(&pki, addr, Some(&pki.valid), request.as_bytes()).await;
        match status {
            403 => {
                assert!(
                    text.contains(r#""rule":"admin-from-office""#),
                    "{target}: {text}"
                );
                blocked += 1;
            }
            // hyper refuses some targets (a space, a `#`): not a bypass either.
            400 => refused.push(target.to_string()),
            other => panic!("{target} (the path {want}) got {other}: {text}"),
        }
    }
    eprintln!("blocked {blocked}; refused by the HTTP parser: {refused:?}");
    assert!(blocked >= 40, "only {blocked} tricks reached the rules");
    assert!(refused.len() <= 5, "{refused:?}");
    // None of them reached the upstream; the control does.
    let (status, _) = raw(
        &pki,
        addr,
        Some(&pki.valid),
        b"GET /public/x HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    let seen: Vec<String> = upstream.seen("").into_iter().map(|s| s.uri).collect();
    assert_eq!(seen, ["/public/x"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_stream_whole_and_rules_see_a_bounded_prefix() {
    let pki = Pki::new();
    let dir = tempdir("gw-body");
    pki.write_pem(&dir);
    std::fs::write(
        dir.join("rules.json"),
        r#"{"rules": [
          {"id": "truncated", "action": "log", "expression": "http.request.body.truncated"},
          {"id": "attack", "action": "block", "expression": "http.request.body.raw contains \"attack\""}
        ]}"#,
    )
    .unwrap();
    let upstream = Upstream::start().await;
    let gw = Gateway::start(
        &dir,
        &config(&dir, upstream.addr, "[limits]\nmax_body_bytes = 1024\n"),
    );
    let addr = gw.addr("gateway");
    let post = |path: &str, body: Vec<u8>| {
        http::Request::builder()
            .method("POST")
            .uri(path)
            .header("host", "www.example.com")
            .header("content-type", "application/octet-stream")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    // Within the prefix: seen and blocked.
    let r = send(
        &pki,
        addr,
        None,
        false,
        post("/small", b"an attack".to_vec()),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["rule"], "attack");
    // Past it: not seen by the rules (truncated), and the whole body streams on.
    for h2 in [false, true] {
        let mut big = vec![b'a'; 300_000];
        big.extend_from_slice(b"attack");
        let path = format!("/big/{h2}");
        let request = if h2 {
            let mut r = post(&path, big.clone());
            *r.uri_mut() = format!("https://www.example.com{path}").parse().unwrap();
            r
        } else {
            post(&path, big.clone())
        };
        let r = send(&pki, addr, None, h2, request).await;
        assert_eq!(r.status, 200, "h2={h2}: {}", r.body);
        assert_eq!(upstream.seen(&path)[0].body_len, big.len(), "h2={h2}");
    }
    let mut gw = gw;
    gw.wait_log(std::time::Duration::from_secs(10), |l| {
        l.iter().filter(|v| v["logged"] == "truncated").count() >= 2
    });
    let truncated = gw
        .decisions()
        .iter()
        .filter(|l| l["logged"] == "truncated")
        .count();
    assert_eq!(truncated, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenges_get_the_configured_answer_and_admin_endpoints_stay_off_the_gateway() {
    let (pki, upstream, gw) = start("gw-admin", "").await;
    let addr = gw.addr("gateway");
    let request = http::Request::builder()
        .uri("/")
        .header("host", "www.example.com")
        .header("user-agent", "evilbot/1.0")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = send(&pki, addr, Some(&pki.valid), false, request).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body, "challenged by challenge-bots");
    assert_eq!(r.headers["content-type"], "text/plain");
    // /metrics and /healthz through the gateway are the upstream's paths.
    for path in ["/metrics", "/healthz"] {
        let r = send(
            &pki,
            addr,
            Some(&pki.valid),
            false,
            get("www.example.com", path, false),
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.json()["uri"],
            path,
            "{path} must be proxied, not answered"
        );
    }
    assert_eq!(upstream.seen("/metrics").len(), 1);
    // On the admin listener they are the gateway's.
    let admin = gw.addr("admin");
    let health = plain_get(admin, "/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(
        health.json(),
        serde_json::json!({"status": "ok", "rules": 5})
    );
    let metrics = plain_get(admin, "/metrics").await;
    assert_eq!(metrics.status, 200);
    let text = &metrics.body;
    assert_eq!(
        metric(
            text,
            "portcullis_requests_total{mode=\"gateway\",action=\"managed_challenge\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            text,
            "portcullis_requests_total{mode=\"gateway\",action=\"none\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        metric(
            text,
            "portcullis_rule_matches_total{rule=\"challenge-bots\",action=\"managed_challenge\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(text, "portcullis_evaluation_seconds_count"),
        Some(3.0)
    );
    assert_eq!(metric(text, "portcullis_rules"), Some(5.0));
    assert_eq!(
        metric(text, "portcullis_reloads_total{result=\"failed\"}"),
        Some(0.0)
    );
    assert_eq!(plain_get(admin, "/nope").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_upstream_gets_the_same_requests() {
    let pki = Pki::new();
    let dir = tempdir("gw-h2c");
    pki.write_pem(&dir);
    let upstream = Upstream::start().await;
    let text = config(&dir, upstream.addr, "").replace(
        "upstream_timeout_ms = 2000",
        "upstream_timeout_ms = 2000\nupstream_protocol = \"http2\"",
    );
    let gw = Gateway::start(&dir, &text);
    let addr = gw.addr("gateway");
    for h2 in [false, true] {
        let path = format!("/h2c/{h2}");
        let r = send(
            &pki,
            addr,
            Some(&pki.valid),
            h2,
            get("www.example.com", &path, h2),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let seen = &upstream.seen(&path)[0];
        assert_eq!(seen.version, "HTTP/2.0");
        assert_eq!(seen.one("cf-cert-verified"), Some("true"));
    }
    let r = send(
        &pki,
        addr,
        None,
        false,
        get("api.orangeclouded.com", "/", false),
    )
    .await;
    assert_eq!(r.status, 403);
}

/// `examples/gateway/` as a new user runs it: `make-certs.sh` (openssl),
/// the commented `gateway.toml` (its ports made free ones, its upstream
/// the test's), and curl with the certificates it made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_config_serves_with_the_certificates_its_script_makes() {
    use std::process::Command;
    for tool in ["openssl", "curl"] {
        if Command::new(tool).arg("--version").output().is_err()
            && Command::new(tool).arg("version").output().is_err()
        {
            eprintln!("SKIPPED: `{tool}` is not installed; the examples/gateway test did not run");
            return;
        }
    }
    let dir = tempdir("gw-example");
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gateway");
    for f in ["rules.json", "lists.json", "make-certs.sh"] {
        std::fs::copy(example.join(f), dir.join(f)).unwrap();
    }
    let made = Command::new("sh")
        .arg("make-certs.sh")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let upstream = Upstream::start().await;
    let config = std::fs::read_to_string(example.join("gateway.toml"))
        .unwrap()
        .replace("127.0.0.1:8443", "127.0.0.1:0")
        .replace("127.0.0.1:9000", "127.0.0.1:0")
        .replace("127.0.0.1:9100", "127.0.0.1:0")
        .replace(
            "http://127.0.0.1:8080",
            &format!("http://{}", upstream.addr),
        );
    let gw = Gateway::start(&dir, &config);
    let port = gw.addr("gateway").port();
    let curl = |host: &str, path: &str, identity: Option<&str>| {
        let mut cmd = Command::new("curl");
        cmd.current_dir(&dir)
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
                "ca.pem",
            ])
            .arg("--resolve")
            .arg(format!("{host}:{port}:127.0.0.1"))
            .arg(format!("https://{host}:{port}{path}"));
        if let Some(id) = identity {
            cmd.args([
                "--cert",
                &format!("{id}.pem"),
                "--key",
                &format!("{id}.key"),
            ]);
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let api = "api.orangeclouded.com";
    for (host, path, identity, status) in [
        (api, "/v1/x", Some("client"), "200"),
        (api, "/v1/x", None, "403"),
        (api, "/v1/x", Some("revoked"), "403"),
        (api, "/v1/x", Some("untrusted"), "403"),
        ("www.example.com", "/", None, "200"),
        ("www.example.com", "/public/../admin", Some("client"), "403"),
    ] {
        let got = tokio::task::block_in_place(|| curl(host, path, identity));
        assert_eq!(got, status, "{host}{path} as {identity:?}");
    }
}
