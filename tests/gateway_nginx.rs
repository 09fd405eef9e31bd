//! Decision mode with nginx as a real peer: nginx terminates TLS and asks
//! `portcullis serve`'s `/auth` with the `auth_request` configuration of
//! `docs/gateway.md`, and gives the same verdicts as the gateway mode of
//! the same process on the same requests (every test certificate, the
//! path tricks, spoofed headers). Without nginx the test says SKIPPED and
//! returns. Also: a peer the decision listener does not trust gets no
//! verdict (this part needs no nginx).

mod support;

use http_body_util::Full;
use hyper::body::Bytes;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Pki;
use support::gateway::{Gateway, Upstream, config, plain, send, tempdir};

/// The `auth_request` part of the nginx configuration, as `docs/gateway.md`
/// gives it (`DECISION` is the decision listener's address).
pub const SNIPPET: &str = include_str!("../examples/gateway/nginx-auth-request.conf");

struct Nginx {
    child: Child,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx in front of `upstream`, asking `decision`; `None` (said loudly)
/// when nginx is not installed.
fn nginx(dir: &Path, upstream: SocketAddr, decision: SocketAddr) -> Option<Nginx> {
    if let Err(e) = Command::new("nginx").arg("-v").output() {
        eprintln!(
            "SKIPPED: nginx is not installed ({e}); the nginx auth_request test did not run (.ci/run installs it)"
        );
        return None;
    }
    std::fs::create_dir_all(dir.join("nginx-tmp")).unwrap();
    let port = free_port();
    let d = dir.display();
    std::fs::write(
        dir.join("portcullis.conf"),
        SNIPPET.replace("127.0.0.1:9000", &decision.to_string()),
    )
    .unwrap();
    let conf = format!(
        r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/nginx-tmp/body;
    proxy_temp_path {d}/nginx-tmp/proxy;
    fastcgi_temp_path {d}/nginx-tmp/fastcgi;
    uwsgi_temp_path {d}/nginx-tmp/uwsgi;
    scgi_temp_path {d}/nginx-tmp/scgi;
    upstream app {{ server {upstream}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        ssl_client_certificate {d}/ca.pem;
        ssl_verify_client optional_no_ca;
        include {d}/portcullis.conf;
        location / {{
            auth_request /_portcullis;
            include {d}/portcullis-verdict.conf;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_pass http://app;
        }}
        location @portcullis_cert_error {{
            auth_request /_portcullis;
            include {d}/portcullis-verdict.conf;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_pass http://app;
        }}
    }}
}}
"#
    );
    std::fs::write(
        dir.join("portcullis-verdict.conf"),
        "auth_request_set $portcullis_action $upstream_http_x_portcullis_action;\n\
         auth_request_set $portcullis_rule $upstream_http_x_portcullis_rule;\n\
         add_header X-Portcullis-Action $portcullis_action always;\n\
         add_header X-Portcullis-Rule $portcullis_rule always;\n",
    )
    .unwrap();
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stderr(Stdio::inherit())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIPPED: nginx would not start ({e})");
            return None;
        }
    };
    let mut n = Nginx { child, port };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = n.child.try_wait() {
            let log = std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default();
            panic!("nginx exited ({status}): {log}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nginx never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(n)
}

/// A verdict as a client sees it: allowed, or blocked by a rule.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Allowed,
    Denied(String),
}

fn gateway_verdict(r: &support::gateway::Response) -> Seen {
    match r.status {
        200 => Seen::Allowed,
        403 => Seen::Denied(r.json()["rule"].as_str().unwrap_or("?").to_string()),
        // The test config answers challenges with 429 and the rule id.
        429 => Seen::Denied(r.body.trim_start_matches("challenged by ").to_string()),
        other => panic!("the gateway answered {other}: {}", r.body),
    }
}

fn nginx_verdict(r: &support::gateway::Response) -> Seen {
    match r.status {
        200 => Seen::Allowed,
        403 => Seen::Denied(
            r.headers
                .get("x-portcullis-rule")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?")
                .to_string(),
        ),
        other => panic!("nginx answered {other}: {}", r.body),
    }
}

/// Extra request headers.
type Headers = Vec<(&'static str, String)>;

fn request(
    host: &str,
    path: &str,
    headers: &[(&str, String)],
    h2: bool,
) -> http::Request<Full<Bytes>> {
    let mut b = if h2 {
        http::Request::builder().uri(format!("https://{host}{path}"))
    } else {
        http::Request::builder().uri(path).header("host", host)
    };
    for (n, v) in headers {
        b = b.header(*n, v.as_str());
    }
    b.body(Full::new(Bytes::new())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_gives_the_gateways_verdicts() {
    let pki = Pki::new();
    let dir = tempdir("nginx");
    pki.write_pem(&dir);
    let upstream = Upstream::start().await;
    let gw = Gateway::start(&dir, &config(&dir, upstream.addr, ""));
    let Some(nginx) = nginx(&dir, upstream.addr, gw.addr("decision")) else {
        return;
    };
    let nginx_addr: SocketAddr = ([127, 0, 0, 1], nginx.port).into();
    // A valid certificate, PEM-escaped as nginx's $ssl_client_escaped_cert.
    let escaped: String = pki
        .valid
        .cert
        .pem()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let spoofed: Headers = vec![
        ("x-ssl-client-verify", "SUCCESS".to_string()),
        ("x-ssl-client-escaped-cert", escaped),
        ("x-ssl-client-s-dn", "CN=admin".to_string()),
        ("x-original-remote-addr", "10.0.0.1".to_string()),
        ("x-original-uri", "/public".to_string()),
        ("x-forwarded-for", "10.0.0.1".to_string()),
    ];
    let ua: Headers = vec![("user-agent", "evilbot/2".to_string())];
    let none: Headers = Vec::new();
    let requests: Vec<(&str, &str, &Headers)> = vec![
        ("api.orangeclouded.com", "/v1/x", &none),
        ("www.example.com", "/", &none),
        ("www.example.com", "/admin/x", &none),
        ("www.example.com", "/public/../admin", &none),
        ("www.example.com", "//admin", &none),
        ("www.example.com", "/%2e%2e/admin", &none),
        ("www.example.com", "/public/x", &ua),
        ("api.orangeclouded.com", "/v1/x", &spoofed),
        ("www.example.com", "/admin", &spoofed),
    ];
    let mut compared = 0;
    let mut denied = 0;
    let mut refused = 0;
    for identity in ["none", "valid", "expired", "wrong-ca", "revoked"] {
        let id = (identity != "none").then(|| pki.identity(identity));
        for (host, path, headers) in &requests {
            for h2 in [false, true] {
                let via_gateway = send(
                    &pki,
                    gw.addr("gateway"),
                    id,
                    h2,
                    request(host, path, headers, h2),
                )
                .await;
                let via_nginx =
                    send(&pki, nginx_addr, id, h2, request(host, path, headers, h2)).await;
                if via_nginx.status == 400 {
                    // nginx refuses some path tricks itself (`/%2e%2e/admin`
                    // climbs above the root): the gateway must not let them through either.
                    assert_ne!(gateway_verdict(&via_gateway), Seen::Allowed, "{host}{path}");
                    refused += 1;
                    continue;
                }
                let (g, n) = (gateway_verdict(&via_gateway), nginx_verdict(&via_nginx));
                assert_eq!(
                    g, n,
                    "{identity} {host}{path} h2={h2} {headers:?}: gateway {via_gateway:?} nginx {via_nginx:?}"
                );
                compared += 1;
                if g != Seen::Allowed {
                    denied += 1;
                }
            }
        }
    }
    eprintln!(
        "{compared} requests, {denied} denied, the same verdicts through nginx and the gateway; {refused} refused by nginx itself"
    );
    assert!(refused <= 10, "{refused}");
    assert!(
        denied >= compared / 3 && denied < compared,
        "{denied} of {compared}"
    );
    // nginx asked as the contract says: every /auth line has the original request.
    let mut gw = gw;
    gw.wait_log(Duration::from_secs(10), |l| {
        l.iter().filter(|v| v["mode"] == "auth_request").count() >= compared
    });
    let auth_lines: Vec<_> = gw
        .decisions()
        .into_iter()
        .filter(|l| l["mode"] == "auth_request")
        .collect();
    assert_eq!(auth_lines.len(), compared);
    assert!(auth_lines.iter().all(|l| l["client_ip"] == "127.0.0.1"));
    drop(nginx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_decision_endpoint_answers_only_trusted_peers() {
    let pki = Pki::new();
    let dir = tempdir("untrusted");
    pki.write_pem(&dir);
    let upstream = Upstream::start().await;
    let text = config(&dir, upstream.addr, "").replace(
        "[decision]\nlisten = \"127.0.0.1:0\"",
        "[decision]\nlisten = \"127.0.0.1:0\"\ntrusted_peers = [\"192.0.2.0/24\"]",
    );
    let gw = Gateway::start(&dir, &text);
    let ask = |uri: &str, body: &str| {
        http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("host", "localhost")
            .header("x-original-method", "GET")
            .header("x-original-uri", "/")
            .header("x-ssl-client-verify", "SUCCESS")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    for (uri, body) in [
        ("/auth", ""),
        ("/v1/decide", "{}"),
        ("/v1/decide/batch", "[{}]"),
    ] {
        let r = plain(gw.addr("decision"), ask(uri, body)).await;
        assert_eq!(r.status, 403, "{uri}: {}", r.body);
        assert!(
            r.headers.get("x-portcullis-action").is_none(),
            "{uri}: a verdict for an untrusted peer"
        );
        assert!(r.body.contains("not trusted"), "{}", r.body);
    }
    // The log is read by another thread, after the response: wait for it.
    let refused = |log: &[serde_json::Value]| {
        log.iter()
            .filter(|l| {
                l["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("not trusted"))
            })
            .count()
    };
    let mut gw = gw;
    gw.wait_log(std::time::Duration::from_secs(10), |log| refused(log) >= 3);
    assert_eq!(refused(&gw.log()), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_api_decides_as_portcullis_run() {
    let pki = Pki::new();
    let dir = tempdir("api");
    pki.write_pem(&dir);
    let upstream = Upstream::start().await;
    let gw = Gateway::start(&dir, &config(&dir, upstream.addr, ""));
    let requests = [
        r#"{"method": "GET", "uri": "/v1/x", "headers": {"Host": "api.orangeclouded.com"}}"#,
        r#"{"uri": "/public/../admin", "host": "www.example.com", "client_ip": "203.0.113.1"}"#,
        r#"{"uri": "/admin", "host": "www.example.com", "client_ip": "10.1.1.1"}"#,
        r#"{"uri": "/", "host": "api.orangeclouded.com", "client_cert": {"presented": true, "verified": true}}"#,
    ];
    std::fs::write(dir.join("requests.jsonl"), requests.join("\n")).unwrap();
    let cli = Command::new(support::gateway::binary())
        .args(["run", "--rules"])
        .arg(dir.join("rules.json"))
        .arg("--lists")
        .arg(dir.join("lists.json"))
        .arg("--requests")
        .arg(dir.join("requests.jsonl"))
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let cli: Vec<serde_json::Value> = String::from_utf8(cli.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let post = |uri: &str, body: String| {
        http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("host", "localhost")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    let decision = gw.addr("decision");
    for (k, r) in requests.iter().enumerate() {
        let one = plain(decision, post("/v1/decide", r.to_string())).await;
        assert_eq!(one.status, 200, "{}", one.body);
        assert_eq!(one.json(), cli[k], "{r}");
    }
    let batch = plain(
        decision,
        post("/v1/decide/batch", format!("[{}]", requests.join(","))),
    )
    .await;
    assert_eq!(batch.json(), serde_json::Value::Array(cli.clone()));
    // Errors: per element in a batch, a 4xx for one.
    let bad = plain(decision, post("/v1/decide", r#"{"uri": 7}"#.into())).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["stage"], "request");
    let mixed = plain(
        decision,
        post("/v1/decide/batch", r#"[{"uri": "/"}, {"nope": 1}]"#.into()),
    )
    .await;
    assert_eq!(mixed.status, 200);
    assert!(mixed.json()[1]["error"]["message"].as_str().is_some());
    assert_eq!(
        plain(decision, post("/v1/decide", "not json".into()))
            .await
            .status,
        400
    );
    let huge = format!("[{}]", vec!["{}"; 1001].join(","));
    assert_eq!(
        plain(decision, post("/v1/decide/batch", huge)).await.status,
        413
    );
}
