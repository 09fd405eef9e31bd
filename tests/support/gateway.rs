//! `portcullis serve` as a real process for the gateway tests: the test
//! PKI written to PEM files, an upstream echo server (hyper, HTTP/1.1 and
//! h2c), the built binary started on a config, its JSON log read back, and
//! clients over TLS (hyper, and raw bytes for requests hyper would not send).
#![allow(dead_code)]

use super::{Issued, Pki};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A fresh folder under the system temp dir.
pub fn tempdir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "portcullis-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names the PKI's client certificates are written under.
pub const IDENTITIES: [&str; 4] = ["valid", "expired", "wrong-ca", "revoked"];

impl Pki {
    /// The identity named `name` (one of [`IDENTITIES`]).
    pub fn identity(&self, name: &str) -> &Issued {
        match name {
            "valid" => &self.valid,
            "expired" => &self.expired,
            "wrong-ca" => &self.wrong_ca,
            "revoked" => &self.revoked,
            other => panic!("no identity {other}"),
        }
    }

    /// Writes `ca.pem`, `crl.pem`, `server.pem` (chain), `server.key`,
    /// and `NAME.pem` / `NAME.key` for each client identity into `dir`.
    pub fn write_pem(&self, dir: &Path) {
        let w = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
        w("ca.pem", self.ca.cert.pem());
        w("crl.pem", self.crl_pem.clone());
        w(
            "server.pem",
            format!("{}{}", self.server.cert.pem(), self.ca.cert.pem()),
        );
        w("server.key", self.server.key.serialize_pem());
        for name in IDENTITIES {
            let id = self.identity(name);
            w(&format!("{name}.pem"), id.cert.pem());
            w(&format!("{name}.key"), id.key.serialize_pem());
        }
    }
}

/// What the upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body_len: usize,
}

impl Seen {
    /// Every value of header `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of header `name`, if any (panics on repeats).
    pub fn one(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(all.len() <= 1, "{name} repeated: {all:?}");
        all.first().copied()
    }
}

/// An upstream on loopback that answers 200 with what it saw, as JSON,
/// after reading the whole body; `/slow/MS` waits MS milliseconds first.
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let log = log.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |r: http::Request<Incoming>| {
                        let log = log.clone();
                        async move { Ok::<_, Infallible>(echo(r, log).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Upstream { addr, seen }
    }

    /// The requests seen whose path starts with `prefix`.
    pub fn seen(&self, prefix: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.uri.starts_with(prefix))
            .cloned()
            .collect()
    }
}

async fn echo(
    r: http::Request<Incoming>,
    log: Arc<Mutex<Vec<Seen>>>,
) -> http::Response<Full<Bytes>> {
    let (parts, body) = r.into_parts();
    let path = parts.uri.path().to_string();
    if let Some(ms) = path
        .strip_prefix("/slow/")
        .and_then(|m| m.parse::<u64>().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let body_len = match body.collect().await {
        Ok(b) => b.to_bytes().len(),
        Err(_) => usize::MAX,
    };
    let seen = Seen {
        method: parts.method.to_string(),
        // The origin form, as HTTP/2 carries it in the absolute form.
        uri: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.to_string(), |p| p.to_string()),
        version: format!("{:?}", parts.version),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body_len,
    };
    let json = serde_json::json!({
        "method": seen.method, "uri": seen.uri, "version": seen.version,
        "headers": seen.headers, "body_len": body_len,
    });
    log.lock().unwrap().push(seen);
    let mut response = http::Response::new(Full::from(json.to_string()));
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

/// A running `portcullis serve` and its log.
pub struct Gateway {
    pub child: Child,
    pub dir: PathBuf,
    pub addrs: BTreeMap<String, SocketAddr>,
    log: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The built binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_portcullis")
}

impl Gateway {
    /// Starts `portcullis serve --config DIR/gateway.toml` with `config`
    /// written there, and waits until each of its listeners listens.
    pub fn start(dir: &Path, config: &str) -> Gateway {
        std::fs::write(dir.join("gateway.toml"), config).unwrap();
        let mut child = Command::new(binary())
            .args(["serve", "--config"])
            .arg(dir.join("gateway.toml"))
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(v) => sink.lock().unwrap().push(v),
                    Err(_) => panic!("a log line that is not JSON: {line}"),
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("portcullis stderr: {line}");
            }
        });
        let mut gateway = Gateway {
            child,
            dir: dir.to_path_buf(),
            addrs: BTreeMap::new(),
            log,
        };
        let wanted = ["[gateway]", "[decision]", "[admin]"]
            .iter()
            .filter(|t| config.contains(*t))
            .count();
        gateway.wait_log(Duration::from_secs(30), |l| {
            let n = l.iter().filter(|v| v["message"] == "listening").count();
            n >= wanted && l.iter().any(|v| v["message"] == "serving")
        });
        for v in gateway.log() {
            if v["message"] == "listening" {
                gateway.addrs.insert(
                    v["listener"].as_str().unwrap().to_string(),
                    v["addr"].as_str().unwrap().parse().unwrap(),
                );
            }
        }
        gateway
    }

    pub fn addr(&self, listener: &str) -> SocketAddr {
        self.addrs[listener]
    }

    /// Every log line so far.
    pub fn log(&self) -> Vec<serde_json::Value> {
        self.log.lock().unwrap().clone()
    }

    /// The decision lines so far.
    pub fn decisions(&self) -> Vec<serde_json::Value> {
        self.log()
            .into_iter()
            .filter(|v| v["message"] == "decision")
            .collect()
    }

    /// Waits until `done(log)` holds; panics with the log after `limit`.
    pub fn wait_log(&mut self, limit: Duration, done: impl Fn(&[serde_json::Value]) -> bool) {
        let start = Instant::now();
        loop {
            if done(&self.log()) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Its last lines may still be on their way.
                std::thread::sleep(Duration::from_millis(300));
                if done(&self.log()) {
                    return;
                }
                panic!("portcullis exited ({status}); log: {:#?}", self.log());
            }
            if start.elapsed() > limit {
                panic!("timed out waiting; log: {:#?}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (`HUP`, `TERM`...) to the process.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal}");
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A TLS client config trusting the test CA, presenting `identity`.
pub fn client_config(
    pki: &Pki,
    identity: Option<&Issued>,
    alpn: &[u8],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(portcullis::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(vec![id.der()], id.key_der())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// A TLS connection to `addr` (SNI `api.orangeclouded.com`).
pub async fn connect(
    pki: &Pki,
    addr: SocketAddr,
    identity: Option<&Issued>,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let connector = tokio_rustls::TlsConnector::from(client_config(pki, identity, alpn));
    let tcp = TcpStream::connect(addr).await.unwrap();
    connector
        .connect(ServerName::try_from("api.orangeclouded.com").unwrap(), tcp)
        .await
        .unwrap()
}

/// A response as a client saw it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One request over a new TLS connection (HTTP/2 when `h2`), with hyper.
pub async fn send(
    pki: &Pki,
    addr: SocketAddr,
    identity: Option<&Issued>,
    h2: bool,
    request: http::Request<Full<Bytes>>,
) -> Response {
    let tls = connect(pki, addr, identity, if h2 { b"h2" } else { b"http/1.1" }).await;
    let io = TokioIo::new(tls);
    let response = if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        sender.send_request(request).await.unwrap()
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        sender.send_request(request).await.unwrap()
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A GET of `path` on `host`: for HTTP/2 in absolute form (`:authority`),
/// for HTTP/1.1 with a `Host` header.
pub fn get(host: &str, path: &str, h2: bool) -> http::Request<Full<Bytes>> {
    let b = http::Request::builder();
    let b = if h2 {
        b.uri(format!("https://{host}{path}"))
    } else {
        b.uri(path).header("host", host)
    };
    b.body(Full::new(Bytes::new())).unwrap()
}

/// Raw bytes over TLS, then everything the server sends until it closes
/// (send `Connection: close`): the status code and the whole response text.
pub async fn raw(
    pki: &Pki,
    addr: SocketAddr,
    identity: Option<&Issued>,
    request: &[u8],
) -> (u16, String) {
    let mut tls = connect(pki, addr, identity, b"http/1.1").await;
    tls.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// A plain-HTTP request to a decision or admin listener.
pub async fn plain(addr: SocketAddr, request: http::Request<Full<Bytes>>) -> Response {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// `GET path` on a plain listener.
pub async fn plain_get(addr: SocketAddr, path: &str) -> Response {
    plain(
        addr,
        http::Request::builder()
            .uri(path)
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await
}

/// The value of an unlabelled or labelled sample in a metrics text.
pub fn metric(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// The test rules: mTLS on the API hosts, an admin area for the office
/// network only, and a log rule for every presented certificate.
pub const RULES: &str = r#"{"rules": [
  {"id": "allow-health-checks", "action": "allow",
   "expression": "http.request.uri.path eq \"/healthz\" and ip.src in $office"},
  {"id": "log-presented", "action": "log", "expression": "cf.tls_client_auth.cert_presented"},
  {"id": "mtls-required", "action": "block",
   "expression": "(http.host in {\"orangeclouded.com\" \"api.orangeclouded.com\"} and (not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked))"},
  {"id": "admin-from-office", "action": "block",
   "expression": "starts_with(http.request.uri.path, \"/admin\") and not ip.src in $office"},
  {"id": "challenge-bots", "action": "managed_challenge",
   "expression": "http.user_agent contains \"evilbot\""}
]}"#;

/// The office network of the test lists.
pub const LISTS: &str = r#"{"office": ["10.0.0.0/8", "192.0.2.0/24"]}"#;

/// A config: the PKI in `dir`, the rules and lists there, a gateway to
/// `upstream`, decision and admin listeners, on free ports; `extra` is
/// appended (more tables, or keys of `[limits]` after a `[limits]` line).
pub fn config(dir: &Path, upstream: SocketAddr, extra: &str) -> String {
    if !dir.join("rules.json").exists() {
        std::fs::write(dir.join("rules.json"), RULES).unwrap();
    }
    std::fs::write(dir.join("lists.json"), LISTS).unwrap();
    format!(
        r#"[rules]
file = "rules.json"
lists = "lists.json"
watch_interval_ms = 100

[gateway]
listen = "127.0.0.1:0"
cert = "server.pem"
key = "server.key"
client_ca = "ca.pem"
crl = ["crl.pem"]
upstream = "http://{upstream}"
upstream_timeout_ms = 2000
connect_timeout_ms = 1000

[gateway.challenge]
status = 429
content_type = "text/plain"
body = "challenged by {{rule}}"

[decision]
listen = "127.0.0.1:0"
client_ca = "ca.pem"
crl = ["crl.pem"]

[admin]
listen = "127.0.0.1:0"
{extra}
"#
    )
}
