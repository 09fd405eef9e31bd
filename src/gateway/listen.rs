//! Accepting connections: TLS (or plain) on a listener, hyper's HTTP/1.1
//! and HTTP/2 on each, with every bound the config sets (connections,
//! handshake time, header size and time, idle time) and a graceful end.

use super::config::{LimitsConfig, ms};
use super::metrics::Metrics;
use crate::context::ConnectionInfo;
use crate::integrations::tls::{ClientAuth, tls_info};
use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// An error of a body the gateway forwards.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every response body: a local answer or a streamed upstream body.
pub(crate) type Body = UnsyncBoxBody<Bytes, BoxError>;

/// A whole body from bytes.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A response with `status`, a content type and a body.
pub(crate) fn respond(
    status: http::StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> http::Response<Body> {
    let mut r = http::Response::new(full(body));
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

/// A JSON error answer: `{"error": message}`.
pub(crate) fn error_json(status: http::StatusCode, message: &str) -> http::Response<Body> {
    respond(
        status,
        "application/json",
        serde_json::json!({ "error": message }).to_string(),
    )
}

/// What a handler knows of the connection a request came on.
#[derive(Debug)]
pub(crate) struct Conn {
    /// Addresses, TLS and the client certificate.
    pub info: ConnectionInfo,
    /// Headers every request of this connection carries upstream (the
    /// certificate's), made once by the first request that needs them.
    pub forward: std::sync::OnceLock<Vec<(http::HeaderName, http::HeaderValue)>>,
    /// Requests of this connection being answered now.
    in_flight: AtomicUsize,
    /// When bytes last moved, in milliseconds since `epoch`.
    last_active: AtomicU64,
    epoch: Instant,
}

impl Conn {
    fn new(info: ConnectionInfo) -> Self {
        Conn {
            info,
            forward: std::sync::OnceLock::new(),
            in_flight: AtomicUsize::new(0),
            last_active: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn touch(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.last_active.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_active.load(Ordering::Relaxed)))
    }
}

/// A request handler: the request and its connection in, a response out.
pub(crate) type Handler = Arc<
    dyn Fn(
            http::Request<Incoming>,
            Arc<Conn>,
        ) -> Pin<Box<dyn Future<Output = http::Response<Body>> + Send>>
        + Send
        + Sync,
>;

/// A bound listener and what to run on its connections.
pub(crate) struct Listener {
    /// `gateway`, `decision` or `admin` (for logs and metrics).
    pub name: &'static str,
    pub tcp: TcpListener,
    /// TLS, and the client-certificate verifier when client certificates are asked for.
    pub tls: Option<(tokio_rustls::TlsAcceptor, Option<ClientAuth>)>,
    pub handler: Handler,
}

/// Counts open connections so that shutdown can wait for them.
#[derive(Clone, Default)]
pub(crate) struct Tracker {
    open: Arc<AtomicUsize>,
    changed: Arc<tokio::sync::Notify>,
}

struct Tracked(Tracker);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_waiters();
    }
}

impl Tracker {
    fn enter(&self) -> Tracked {
        self.open.fetch_add(1, Ordering::AcqRel);
        Tracked(self.clone())
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Waits until no connection is open.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.changed.notified();
            if self.open() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The connection permits of one listener (`limits.max_connections`),
/// shared by every socket and thread it serves on.
pub(crate) fn permits(limits: &LimitsConfig) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(limits.max_connections))
}

/// Serves `listener` until `shutdown` turns true, each connection holding
/// one of `permits`; then asks every open connection to finish its
/// requests in flight and close.
pub(crate) async fn serve(
    listener: Listener,
    permits: Arc<Semaphore>,
    limits: Arc<LimitsConfig>,
    metrics: Arc<Metrics>,
    tracker: Tracker,
    mut shutdown: watch::Receiver<bool>,
) {
    let local = listener.tcp.local_addr().ok();
    let builder = Arc::new(http_builder(&limits));
    let listener = Arc::new(listener);
    loop {
        let accepted = tokio::select! {
            a = listener.tcp.accept() => a,
            _ = shutdown.changed() => return,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: wait, do not spin.
                tracing::warn!(listener = listener.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Past max_connections a connection is closed at once (as nginx
        // does past worker_connections): waiting for a permit before
        // accepting would strand connections in the backlog of a socket
        // whose thread holds none.
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.refused();
            tracing::debug!(listener = listener.name, peer = %peer, "max_connections reached: closed");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let guard = tracker.enter();
        let (listener, limits, metrics, builder, shutdown) = (
            listener.clone(),
            limits.clone(),
            metrics.clone(),
            builder.clone(),
            shutdown.clone(),
        );
        tokio::spawn(async move {
            let _permit = permit;
            let _guard = guard;
            metrics.connection(listener.name, 1);
            connection(
                &listener, tcp, peer, local, &limits, &builder, shutdown, &metrics,
            )
            .await;
            metrics.connection(listener.name, -1);
        });
    }
}

fn http_builder(limits: &LimitsConfig) -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
    let mut b = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(ms(limits.header_read_timeout_ms))
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20));
    b
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    listener: &Listener,
    tcp: TcpStream,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    limits: &LimitsConfig,
    builder: &hyper_util::server::conn::auto::Builder<TokioExecutor>,
    shutdown: watch::Receiver<bool>,
    metrics: &Metrics,
) {
    let plain = ConnectionInfo {
        client_addr: Some(peer),
        server_addr: local,
        ..ConnectionInfo::default()
    };
    match &listener.tls {
        None => {
            let conn = Arc::new(Conn::new(plain));
            drive(
                listener,
                Active::new(tcp, conn.clone()),
                conn,
                limits,
                builder,
                shutdown,
            )
            .await
        }
        Some((acceptor, auth)) => {
            let handshake = ms(limits.tls_handshake_timeout_ms);
            let tls = match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    metrics.tls_failure();
                    tracing::debug!(listener = listener.name, peer = %peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    metrics.tls_failure();
                    tracing::debug!(listener = listener.name, peer = %peer, "TLS handshake timed out");
                    return;
                }
            };
            let session = tls.get_ref().1;
            let info = match auth {
                Some(auth) => auth.connection_info(session, Some(peer), local),
                None => ConnectionInfo {
                    tls: Some(tls_info(session)),
                    ..plain
                },
            };
            let conn = Arc::new(Conn::new(info));
            drive(
                listener,
                Active::new(tls, conn.clone()),
                conn,
                limits,
                builder,
                shutdown,
            )
            .await
        }
    }
}

/// Runs hyper on one connection until it ends, it idles too long, or
/// shutdown asks it to finish (then its requests in flight complete).
async fn drive<I>(
    listener: &Listener,
    io: Active<I>,
    conn: Arc<Conn>,
    limits: &LimitsConfig,
    builder: &hyper_util::server::conn::auto::Builder<TokioExecutor>,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handler = listener.handler.clone();
    let service_conn = conn.clone();
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let handler = handler.clone();
        let conn = service_conn.clone();
        async move {
            conn.in_flight.fetch_add(1, Ordering::AcqRel);
            let response = handler(request, conn.clone()).await;
            conn.in_flight.fetch_sub(1, Ordering::AcqRel);
            conn.touch();
            Ok::<_, Infallible>(response)
        }
    });
    let served = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(served);
    let idle = ms(limits.idle_timeout_ms);
    let check = (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut closing = false;
    if *shutdown.borrow() {
        served.as_mut().graceful_shutdown();
        closing = true;
    }
    loop {
        tokio::select! {
            _ = served.as_mut() => return,
            changed = shutdown.changed(), if !closing => {
                if changed.is_err() || *shutdown.borrow() {
                    served.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            _ = tokio::time::sleep(check), if !closing => {
                if conn.in_flight.load(Ordering::Acquire) == 0 && conn.idle_for() >= idle {
                    served.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// An I/O stream that records when bytes last moved on it.
struct Active<I> {
    inner: I,
    conn: Arc<Conn>,
}

impl<I> Active<I> {
    fn new(inner: I, conn: Arc<Conn>) -> Self {
        conn.touch();
        Active { inner, conn }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Active<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.conn.touch();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Active<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.conn.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.conn.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
