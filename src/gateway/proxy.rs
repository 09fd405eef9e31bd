//! Gateway mode: decide each request, answer terminating actions, proxy
//! the rest to the upstream (hyper's pooled client, HTTP/1.1 or h2c), the
//! body streaming through.

use super::Shared;
use super::config::{GatewayConfig, LimitsConfig, ResponseConfig, UpstreamProtocol, ms};
use super::headers;
use super::listen::{Body, BoxError, Conn, Handler, error_json};
use super::log::{self, Line};
use super::metrics::Mode;
use crate::context::{HttpRequest, HttpRequestBuilder};
use crate::error::Error;
use crate::integrations::ActionResponse;
use crate::rules::Action;
use crate::types::Value;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The gateway's request handler.
pub(crate) struct Proxy {
    shared: Arc<Shared>,
    client: Client<HttpConnector, ForwardBody>,
    upstream: http::uri::Authority,
    protocol: UpstreamProtocol,
    upstream_timeout: Duration,
    trusted_proxies: Vec<ipnet::IpNet>,
    block: ActionResponse,
    challenge: ActionResponse,
    max_body: usize,
    body_timeout: Duration,
}

fn action_response(r: &ResponseConfig) -> Result<ActionResponse, Error> {
    Ok(ActionResponse {
        status: StatusCode::from_u16(r.status)
            .map_err(|_| Error::config(format!("status {} is not valid", r.status)))?,
        content_type: r.content_type.clone(),
        body: r.body.clone(),
    })
}

impl Proxy {
    pub(crate) fn new(
        g: &GatewayConfig,
        limits: &LimitsConfig,
        shared: Arc<Shared>,
    ) -> Result<Proxy, Error> {
        let uri: http::Uri = g
            .upstream
            .parse()
            .map_err(|e| Error::config(format!("gateway.upstream: {e}")))?;
        let upstream = uri
            .authority()
            .cloned()
            .ok_or_else(|| Error::config("gateway.upstream has no host"))?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(ms(g.connect_timeout_ms)));
        connector.set_nodelay(true);
        connector.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(g.pool_max_idle)
            .http2_only(g.upstream_protocol == UpstreamProtocol::Http2)
            .retry_canceled_requests(false)
            .build(connector);
        Ok(Proxy {
            shared,
            client,
            upstream,
            protocol: g.upstream_protocol,
            upstream_timeout: ms(g.upstream_timeout_ms),
            trusted_proxies: g.trusted_proxies.clone(),
            block: action_response(&g.block)?,
            challenge: action_response(&g.challenge)?,
            max_body: limits.max_body_bytes,
            body_timeout: ms(limits.body_read_timeout_ms),
        })
    }

    pub(crate) fn handler(self: Arc<Self>) -> Handler {
        Arc::new(move |request, conn| {
            let proxy = self.clone();
            Box::pin(async move { proxy.handle(request, conn).await })
        })
    }

    async fn handle(
        &self,
        request: http::Request<Incoming>,
        conn: Arc<Conn>,
    ) -> http::Response<Body> {
        let started = Instant::now();
        let request_id = self.shared.ids.next();
        let (mut parts, mut body) = request.into_parts();
        headers::remove_hop_by_hop(&mut parts.headers);
        let client_ip = headers::client_ip(
            conn.info.client_addr.map(|a| a.ip()),
            &parts.headers,
            &self.trusted_proxies,
        );
        // One version decides this request: the sets loaded here.
        let sets = self.shared.sets();
        let mut prefix = None;
        // Only the fields the sets read are built.
        let mut builder = HttpRequest::builder()
            .only(&sets.fields())
            .http_parts(&parts)
            .connection(&conn.info);
        if let Some(ip) = client_ip {
            builder = builder.client_ip(ip);
        }
        if sets.reads_body() {
            match tokio::time::timeout(self.body_timeout, read_prefix(&mut body, self.max_body))
                .await
            {
                Ok(Ok(read)) => {
                    builder = body_fields(builder, &parts.headers, &read, self.max_body);
                    prefix = Some(read);
                }
                Ok(Err(_)) => {
                    self.shared.metrics.bad_request();
                    return error_json(
                        StatusCode::BAD_REQUEST,
                        "the request body could not be read",
                    );
                }
                Err(_) => {
                    self.shared.metrics.bad_request();
                    return error_json(
                        StatusCode::REQUEST_TIMEOUT,
                        "the request body came too slowly",
                    );
                }
            }
        }
        let decided = match self
            .shared
            .decide_http(Mode::Gateway, builder, &sets, &request_id)
        {
            Ok(d) => d,
            Err(e) => {
                self.shared.metrics.bad_request();
                return error_json(StatusCode::BAD_REQUEST, &e.to_string());
            }
        };
        drop(sets);
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()));
        let answer = match (decided.decision.action, decided.decision.rule.as_deref()) {
            (Some(Action::Block), Some(rule)) => {
                Some(self.block.render::<String>(Action::Block, rule))
            }
            (
                Some(a @ (Action::Challenge | Action::JsChallenge | Action::ManagedChallenge)),
                Some(rule),
            ) => Some(self.challenge.render::<String>(a, rule)),
            _ => None,
        };
        let (method, path) = if self.shared.log_decisions {
            (parts.method.to_string(), parts.uri.path().to_string())
        } else {
            (String::new(), String::new())
        };
        let response = match answer {
            Some(r) => r.map(super::listen::full),
            None => {
                self.forward(parts, body, prefix, &conn, host.as_deref(), &request_id)
                    .await
            }
        };
        if self.shared.log_decisions {
            log::decision(
                &Line {
                    mode: Mode::Gateway,
                    request_id: &request_id,
                    method: &method,
                    host: host.as_deref().unwrap_or(""),
                    path: &path,
                    client_ip,
                    status: response.status().as_u16(),
                    build: decided.build,
                    eval: decided.eval,
                    total: started.elapsed(),
                },
                &decided.decision,
            );
        }
        response
    }

    /// Sends the request upstream and streams its response back.
    async fn forward(
        &self,
        mut parts: http::request::Parts,
        body: Incoming,
        prefix: Option<Prefix>,
        conn: &Conn,
        host: Option<&str>,
        request_id: &str,
    ) -> http::Response<Body> {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let uri = http::Uri::builder()
            .scheme("http")
            .authority(self.upstream.clone())
            .path_and_query(path)
            .build();
        let Ok(uri) = uri else {
            return error_json(
                StatusCode::BAD_REQUEST,
                "the request target cannot be forwarded",
            );
        };
        let h = &mut parts.headers;
        headers::remove_owned(h);
        if !h.contains_key(http::header::HOST) {
            if let Some(v) = host.and_then(|v| http::HeaderValue::from_str(v).ok()) {
                h.insert(http::header::HOST, v);
            }
        }
        headers::add_forwarded(h, &conn.info, host);
        let cert = conn
            .forward
            .get_or_init(|| headers::cert_headers(&conn.info.client_cert));
        for (name, value) in cert {
            h.insert(name.clone(), value.clone());
        }
        if let Ok(v) = http::HeaderValue::from_str(request_id) {
            h.insert("x-request-id", v);
        }
        parts.uri = uri;
        parts.version = match self.protocol {
            UpstreamProtocol::Http1 => http::Version::HTTP_11,
            UpstreamProtocol::Http2 => http::Version::HTTP_2,
        };
        parts.extensions = http::Extensions::new();
        let body = ForwardBody::new(prefix, body);
        let sent = self.client.request(http::Request::from_parts(parts, body));
        let response = match tokio::time::timeout(self.upstream_timeout, sent).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.shared.metrics.upstream_error(false);
                tracing::warn!(request_id, error = %e, "upstream request failed");
                return error_json(StatusCode::BAD_GATEWAY, "the upstream could not be reached");
            }
            Err(_) => {
                self.shared.metrics.upstream_error(true);
                tracing::warn!(request_id, "upstream did not answer in time");
                return error_json(
                    StatusCode::GATEWAY_TIMEOUT,
                    "the upstream did not answer in time",
                );
            }
        };
        let (mut rp, rb) = response.into_parts();
        headers::remove_hop_by_hop(&mut rp.headers);
        http::Response::from_parts(rp, rb.map_err(BoxError::from).boxed_unsync())
    }
}

/// The start of a body, read for the rules.
pub(crate) struct Prefix {
    bytes: Bytes,
    /// Trailers, when the body ended within the prefix with some.
    trailers: Option<HeaderMap>,
    /// The body ended within the prefix.
    ended: bool,
}

/// Reads frames until more than `max` bytes are held or the body ends.
async fn read_prefix(body: &mut Incoming, max: usize) -> Result<Prefix, hyper::Error> {
    let mut buf = Vec::new();
    while buf.len() <= max {
        match body.frame().await {
            None => {
                return Ok(Prefix {
                    bytes: buf.into(),
                    trailers: None,
                    ended: true,
                });
            }
            Some(frame) => match frame?.into_data() {
                Ok(data) => buf.extend_from_slice(&data),
                Err(frame) => {
                    return Ok(Prefix {
                        bytes: buf.into(),
                        trailers: frame.into_trailers().ok(),
                        ended: true,
                    });
                }
            },
        }
    }
    Ok(Prefix {
        bytes: buf.into(),
        trailers: None,
        ended: false,
    })
}

/// The `http.request.body.*` fields from a prefix: at most `max` bytes,
/// `truncated` when the body is longer.
fn body_fields(
    builder: HttpRequestBuilder,
    headers: &HeaderMap,
    prefix: &Prefix,
    max: usize,
) -> HttpRequestBuilder {
    let mime = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let seen = &prefix.bytes[..prefix.bytes.len().min(max)];
    let truncated = prefix.bytes.len() > max;
    let size = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(prefix.bytes.len() as i64);
    builder
        .body(seen, &mime)
        .field("http.request.body.truncated", Value::Bool(truncated))
        .field("http.request.body.size", Value::Int(size))
}

/// The body sent upstream: the prefix the rules read, then the rest of
/// the client's body as it arrives.
pub(crate) struct ForwardBody {
    prefix: Option<Bytes>,
    trailers: Option<HeaderMap>,
    rest: Option<Incoming>,
}

impl ForwardBody {
    fn new(prefix: Option<Prefix>, body: Incoming) -> Self {
        match prefix {
            None => ForwardBody {
                prefix: None,
                trailers: None,
                rest: Some(body),
            },
            Some(p) => ForwardBody {
                prefix: Some(p.bytes).filter(|b| !b.is_empty()),
                trailers: p.trailers,
                rest: if p.ended { None } else { Some(body) },
            },
        }
    }
}

impl hyper::body::Body for ForwardBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some(p) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(p))));
        }
        match &mut this.rest {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none()
            && self.trailers.is_none()
            && self.rest.as_ref().is_none_or(|r| r.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let p = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let mut hint = match &self.rest {
            Some(r) => r.size_hint(),
            None => SizeHint::with_exact(0),
        };
        // The upper bound first: a lower bound above it would panic.
        if let Some(u) = hint.upper() {
            hint.set_upper(u.saturating_add(p));
        }
        hint.set_lower(hint.lower().saturating_add(p));
        hint
    }
}
