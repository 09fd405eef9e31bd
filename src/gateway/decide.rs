//! Decision mode: "would this request pass?", for other proxies.
//!
//! - `/auth` (any method): nginx's `auth_request` contract. The original
//!   request comes as headers (`X-Original-Method`, `X-Original-URI`,
//!   `X-Original-Remote-Addr`, ... and nginx's client-certificate variables
//!   as `X-SSL-Client-*`), the rest of the headers are the client's; the
//!   answer is 200, or `deny_status` for a terminating verdict, with the
//!   verdict in `x-portcullis-*` headers.
//! - `POST /v1/decide`: a request as the command line's request JSON
//!   ([`HttpRequest::from_json_value`]: raw parts and fields by name) →
//!   the verdict JSON; `POST /v1/decide/batch`: an array of them → an
//!   array of verdicts.
//!
//! Only peers in `trusted_peers` are answered; any other gets 403 and no
//! verdict, so a header nobody vouches for never decides anything.

use super::config::{DecisionConfig, LimitsConfig, ms};
use super::headers::remove_hop_by_hop;
use super::listen::{Body, Conn, Handler, error_json, respond};
use super::log::{self, Line};
use super::metrics::Mode;
use super::{Decided, Shared};
use crate::context::{ClientCert, ConnectionInfo, HttpRequest, TlsInfo};
use crate::error::Error;
use crate::integrations::Decision;
use crate::integrations::tls::ClientAuth;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The decision endpoint's handler.
pub(crate) struct Decide {
    shared: Arc<Shared>,
    trusted_peers: Vec<ipnet::IpNet>,
    auth: Option<ClientAuth>,
    deny_status: StatusCode,
    max_batch: usize,
    max_json: usize,
    body_timeout: Duration,
}

impl Decide {
    pub(crate) fn new(
        d: &DecisionConfig,
        limits: &LimitsConfig,
        shared: Arc<Shared>,
    ) -> Result<Decide, Error> {
        Ok(Decide {
            shared,
            trusted_peers: d.trusted_peers.clone(),
            auth: super::tls::client_auth(d.client_ca.as_ref(), &d.crl)?,
            deny_status: StatusCode::from_u16(d.deny_status)
                .map_err(|_| Error::config("decision.deny_status is not a status"))?,
            max_batch: d.max_batch,
            max_json: limits.max_json_bytes,
            body_timeout: ms(limits.body_read_timeout_ms),
        })
    }

    pub(crate) fn handler(self: Arc<Self>) -> Handler {
        Arc::new(move |request, conn| {
            let decide = self.clone();
            Box::pin(async move { decide.handle(request, conn).await })
        })
    }

    async fn handle(
        &self,
        request: http::Request<Incoming>,
        conn: Arc<Conn>,
    ) -> http::Response<Body> {
        let peer = conn
            .info
            .client_addr
            .map(|a| crate::types::canonical_ip(a.ip()));
        if !peer.is_some_and(|p| self.trusted_peers.iter().any(|n| n.contains(&p))) {
            self.shared.metrics.untrusted_peer();
            tracing::warn!(peer = ?peer, path = request.uri().path(), "decision asked by a peer that is not trusted: refused");
            return error_json(
                StatusCode::FORBIDDEN,
                "this peer is not trusted to ask for decisions",
            );
        }
        let path = request.uri().path().to_string();
        match (request.method(), path.as_str()) {
            (_, "/auth") => self.auth_request(request).await,
            (&http::Method::POST, "/v1/decide") => self.json(request, false).await,
            (&http::Method::POST, "/v1/decide/batch") => self.json(request, true).await,
            (_, "/v1/decide" | "/v1/decide/batch") => {
                error_json(StatusCode::METHOD_NOT_ALLOWED, "use POST")
            }
            _ => error_json(
                StatusCode::NOT_FOUND,
                "no such endpoint: /auth, /v1/decide, /v1/decide/batch",
            ),
        }
    }

    /// nginx's `auth_request`.
    async fn auth_request(&self, request: http::Request<Incoming>) -> http::Response<Body> {
        let started = Instant::now();
        let request_id = self.shared.ids.next();
        let (parts, _) = request.into_parts();
        let sets = self.shared.sets();
        let original = match original_request(&parts.headers, self.auth.as_ref()) {
            Ok(o) => o,
            Err(message) => {
                self.shared.metrics.bad_request();
                tracing::warn!(request_id, error = %message, "auth_request without the contract's headers");
                return error_json(StatusCode::BAD_REQUEST, &message);
            }
        };
        let builder = HttpRequest::builder()
            .only(&sets.fields())
            .http_parts(&original.parts)
            .connection(&original.info);
        let decided = match self
            .shared
            .decide_http(Mode::AuthRequest, builder, &sets, &request_id)
        {
            Ok(d) => d,
            Err(e) => {
                self.shared.metrics.bad_request();
                return error_json(StatusCode::BAD_REQUEST, &e.to_string());
            }
        };
        let d = &decided.decision;
        let denied = d
            .action
            .is_some_and(|a| a.terminates() && a != crate::rules::Action::Allow);
        let status = if denied {
            self.deny_status
        } else {
            StatusCode::OK
        };
        let mut response = respond(status, "application/json", verdict_json(d).to_string());
        verdict_headers(response.headers_mut(), d, &request_id);
        self.log(
            &decided,
            Mode::AuthRequest,
            &request_id,
            &original,
            status,
            started,
        );
        response
    }

    fn log(
        &self,
        decided: &Decided,
        mode: Mode,
        request_id: &str,
        original: &Original,
        status: StatusCode,
        started: Instant,
    ) {
        if !self.shared.log_decisions {
            return;
        }
        let host = original
            .parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        log::decision(
            &Line {
                mode,
                request_id,
                method: original.parts.method.as_str(),
                host,
                path: original.parts.uri.path(),
                client_ip: original.info.client_addr.map(|a| a.ip()),
                status: status.as_u16(),
                build: decided.build,
                eval: decided.eval,
                total: started.elapsed(),
            },
            &decided.decision,
        );
    }

    /// `POST /v1/decide` (one request) and `/v1/decide/batch` (an array).
    async fn json(&self, request: http::Request<Incoming>, batch: bool) -> http::Response<Body> {
        let limited = http_body_util::Limited::new(request.into_body(), self.max_json);
        let bytes = match tokio::time::timeout(self.body_timeout, limited.collect()).await {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(e)) => {
                self.shared.metrics.bad_request();
                let too_large = e
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some();
                return if too_large {
                    error_json(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!(
                            "the body is over limits.max_json_bytes ({} bytes)",
                            self.max_json
                        ),
                    )
                } else {
                    error_json(StatusCode::BAD_REQUEST, "the body could not be read")
                };
            }
            Err(_) => {
                self.shared.metrics.bad_request();
                return error_json(StatusCode::REQUEST_TIMEOUT, "the body came too slowly");
            }
        };
        let json: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(j) => j,
            Err(e) => {
                self.shared.metrics.bad_request();
                return error_json(StatusCode::BAD_REQUEST, &format!("not valid JSON: {e}"));
            }
        };
        let sets = self.shared.sets();
        let one = |req: &serde_json::Value| -> Result<Decided, Error> {
            let start = Instant::now();
            let request = HttpRequest::from_json_value(req)?;
            Ok(self
                .shared
                .decide(Mode::Api, &request, &sets, start.elapsed(), ""))
        };
        let answer = |r: Result<Decided, Error>| match r {
            Ok(d) => verdict_json(&d.decision),
            Err(e) => serde_json::json!({"error": {"stage": "request", "message": e.message()}}),
        };
        if !batch {
            return match one(&json) {
                Ok(d) => {
                    let mut r = respond(
                        StatusCode::OK,
                        "application/json",
                        verdict_json(&d.decision).to_string(),
                    );
                    verdict_headers(r.headers_mut(), &d.decision, &self.shared.ids.next());
                    r
                }
                Err(e) => {
                    self.shared.metrics.bad_request();
                    respond(
                        StatusCode::BAD_REQUEST,
                        "application/json",
                        answer(Err(e)).to_string(),
                    )
                }
            };
        }
        let serde_json::Value::Array(requests) = json else {
            self.shared.metrics.bad_request();
            return error_json(
                StatusCode::BAD_REQUEST,
                "a batch is a JSON array of requests",
            );
        };
        if requests.len() > self.max_batch {
            self.shared.metrics.bad_request();
            return error_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "a batch holds at most {} requests (decision.max_batch)",
                    self.max_batch
                ),
            );
        }
        let out: Vec<serde_json::Value> = requests.iter().map(|r| answer(one(r))).collect();
        respond(
            StatusCode::OK,
            "application/json",
            serde_json::Value::Array(out).to_string(),
        )
    }
}

/// `{"action", "rule", "logged", "skipped"}`, as `portcullis run` prints it.
fn verdict_json(d: &Decision) -> serde_json::Value {
    serde_json::to_value(d).unwrap_or_default()
}

/// The verdict as response headers: `x-portcullis-action` (the action or
/// `none`), `x-portcullis-rule`, `x-portcullis-logged` (comma-separated)
/// and `x-portcullis-request-id`.
fn verdict_headers(h: &mut HeaderMap, d: &Decision, request_id: &str) {
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    put("x-portcullis-action", d.action.map_or("none", |a| a.name()));
    if let Some(rule) = &d.rule {
        put("x-portcullis-rule", rule);
    }
    if !d.logged.is_empty() {
        put("x-portcullis-logged", &d.logged.join(","));
    }
    put("x-portcullis-request-id", request_id);
}

/// The original request an `auth_request` describes.
struct Original {
    parts: http::request::Parts,
    info: ConnectionInfo,
}

/// Whether a header is part of the contract (not one of the client's).
fn is_contract(name: &str) -> bool {
    name.starts_with("x-original-") || name.starts_with("x-ssl-")
}

/// The original request from the contract's headers.
fn original_request(h: &HeaderMap, auth: Option<&ClientAuth>) -> Result<Original, String> {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    let method = get("x-original-method").ok_or("no X-Original-Method header")?;
    let uri = get("x-original-uri").ok_or("no X-Original-URI header")?;
    let version = match get("x-original-proto") {
        Some("HTTP/1.0") => http::Version::HTTP_10,
        Some("HTTP/2.0" | "HTTP/2") => http::Version::HTTP_2,
        Some("HTTP/3.0" | "HTTP/3") => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    };
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .version(version)
        .body(())
        .map_err(|e| format!("X-Original-Method/URI: {e}"))?;
    let headers = request.headers_mut();
    for (name, value) in h {
        if !is_contract(name.as_str()) && name != http::header::CONTENT_LENGTH {
            headers.append(name, value.clone());
        }
    }
    remove_hop_by_hop(headers);
    if let Some(host) = get("x-original-host").and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(http::header::HOST, host);
    }
    let (parts, ()) = request.into_parts();
    let port = |n: &str| get(n).and_then(|p| p.parse::<u16>().ok()).unwrap_or(0);
    let addr = |ip: &str, port_header: &str| -> Option<SocketAddr> {
        get(ip)
            .and_then(|a| a.parse::<IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, port(port_header)))
    };
    let https = get("x-original-scheme").is_some_and(|s| s.eq_ignore_ascii_case("https"));
    let tls = https.then(|| TlsInfo {
        version: get("x-ssl-protocol").unwrap_or_default().to_string(),
        cipher: boringssl_cipher(get("x-ssl-cipher").unwrap_or_default()),
        alpn: None,
        sni: None,
    });
    let client_cert = if https {
        cert(h, auth)?
    } else {
        ClientCert::default()
    };
    Ok(Original {
        parts,
        info: ConnectionInfo {
            client_addr: addr("x-original-remote-addr", "x-original-remote-port"),
            server_addr: addr("x-original-server-addr", "x-original-server-port"),
            tls,
            client_cert,
        },
    })
}

/// TLS 1.3 suites as the public edge (BoringSSL) names them, as the
/// gateway does; OpenSSL names of TLS 1.2 suites are the same in both.
fn boringssl_cipher(openssl: &str) -> String {
    match openssl {
        "TLS_AES_128_GCM_SHA256" => "AEAD-AES128-GCM-SHA256",
        "TLS_AES_256_GCM_SHA384" => "AEAD-AES256-GCM-SHA384",
        "TLS_CHACHA20_POLY1305_SHA256" => "AEAD-CHACHA20-POLY1305-SHA256",
        other => other,
    }
    .to_string()
}

/// The client certificate the headers describe. With a verifier
/// configured, the certificate itself (`X-SSL-Client-Escaped-Cert`) is
/// verified here and nginx's `X-SSL-Client-Verify` is not used; without,
/// that header says whether it verified (`SUCCESS`; `FAILED:certificate
/// revoked` counts as verified and revoked, as at the public edge).
fn cert(h: &HeaderMap, auth: Option<&ClientAuth>) -> Result<ClientCert, String> {
    let get = |n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let verify = get("x-ssl-client-verify").unwrap_or("NONE");
    let der = match get("x-ssl-client-escaped-cert") {
        Some(escaped) => {
            let pem = crate::functions::eval::url_decode_bytes(escaped.as_bytes(), false);
            let der = CertificateDer::pem_slice_iter(&pem)
                .next()
                .ok_or("X-SSL-Client-Escaped-Cert holds no PEM certificate")?
                .map_err(|e| format!("X-SSL-Client-Escaped-Cert: {e}"))?;
            Some(der)
        }
        None => None,
    };
    if verify == "NONE" && der.is_none() {
        return Ok(ClientCert::default());
    }
    if let (Some(auth), Some(der)) = (auth, &der) {
        return Ok(auth.client_cert(Some(std::slice::from_ref(der))));
    }
    let (verified, revoked, failure) = match verify {
        "SUCCESS" => (true, false, String::new()),
        "FAILED:certificate revoked" => (true, true, "certificate revoked".to_string()),
        other => (
            false,
            false,
            other.strip_prefix("FAILED:").unwrap_or(other).to_string(),
        ),
    };
    let mut c = match &der {
        Some(der) => ClientCert::from_der_chain(std::slice::from_ref(der), &[])
            .map_err(|e| format!("X-SSL-Client-Escaped-Cert: {e}"))?,
        None => {
            let s = |n: &str| get(n).unwrap_or_default().to_string();
            ClientCert {
                presented: true,
                subject_dn: s("x-ssl-client-s-dn"),
                issuer_dn: s("x-ssl-client-i-dn"),
                subject_dn_rfc2253: s("x-ssl-client-s-dn"),
                issuer_dn_rfc2253: s("x-ssl-client-i-dn"),
                serial: s("x-ssl-client-serial").to_ascii_uppercase(),
                fingerprint_sha1: s("x-ssl-client-fingerprint").to_ascii_lowercase(),
                not_before: s("x-ssl-client-v-start"),
                not_after: s("x-ssl-client-v-end"),
                ..ClientCert::default()
            }
        }
    };
    c.verified = verified;
    c.revoked = revoked;
    c.failure = failure;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_contract_headers_make_the_original_request() {
        let h = headers(&[
            ("x-original-method", "POST"),
            ("x-original-uri", "/a/b?x=1"),
            ("x-original-remote-addr", "203.0.113.7"),
            ("x-original-scheme", "https"),
            ("x-ssl-protocol", "TLSv1.3"),
            ("x-ssl-cipher", "TLS_AES_256_GCM_SHA384"),
            ("x-ssl-client-verify", "FAILED:certificate revoked"),
            ("x-ssl-client-s-dn", "CN=a"),
            ("host", "api.example.com"),
            ("user-agent", "curl"),
            ("connection", "close"),
        ]);
        let o = original_request(&h, None).unwrap();
        assert_eq!(o.parts.method, "POST");
        assert_eq!(o.parts.uri, "/a/b?x=1");
        let names: Vec<&str> = o.parts.headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["host", "user-agent"]);
        assert_eq!(o.info.client_addr.unwrap().ip().to_string(), "203.0.113.7");
        let tls = o.info.tls.unwrap();
        assert_eq!(tls.cipher, "AEAD-AES256-GCM-SHA384");
        let c = o.info.client_cert;
        assert!(c.presented && c.verified && c.revoked);
        assert_eq!(c.subject_dn, "CN=a");
    }

    #[test]
    fn missing_contract_headers_are_errors_not_verdicts() {
        for h in [
            headers(&[("x-original-uri", "/")]),
            headers(&[("x-original-method", "GET")]),
            headers(&[
                ("x-original-method", "GET"),
                ("x-original-uri", "not a uri at all"),
            ]),
        ] {
            assert!(original_request(&h, None).is_err(), "{h:?}");
        }
    }

    #[test]
    fn no_certificate_is_the_default() {
        for verify in ["NONE", ""] {
            let h = headers(&[("x-ssl-client-verify", verify)]);
            assert_eq!(cert(&h, None).unwrap(), ClientCert::default());
        }
    }
}
