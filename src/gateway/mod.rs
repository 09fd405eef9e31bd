//! `portcullis serve`: an mTLS gateway and a decision service.
//!
//! - **Gateway mode** (`[gateway]`): terminates TLS (rustls), records the
//!   client certificate ([`tls::ClientAuth`](crate::tls::ClientAuth)),
//!   decides every request with the rule set, answers `block` and the
//!   challenges itself, and proxies the rest to an upstream, with the
//!   certificate's facts in `cf-cert-*` and RFC 9440 headers (a client's
//!   own copies are removed first).
//! - **Decision mode** (`[decision]`): nginx's `auth_request` contract
//!   (`/auth`) and a JSON API (`POST /v1/decide`, `/v1/decide/batch`),
//!   for trusted peers only.
//! - **Operations** (`[admin]`): `/healthz` and Prometheus `/metrics` on
//!   their own address; JSON logs; reload on SIGHUP and on file change;
//!   graceful shutdown on SIGTERM/SIGINT.
//!
//! `docs/gateway.md` documents every setting and the header contract.
//!
//! ```no_run
//! # fn main() -> Result<(), portcullis::Error> {
//! let config = portcullis::gateway::Config::load("gateway.toml".as_ref())?;
//! portcullis::gateway::run(config)
//! # }
//! ```

mod admin;
mod config;
mod decide;
mod headers;
mod listen;
mod log;
mod metrics;
mod proxy;
mod reload;
mod tls;

pub use config::{
    AdminConfig, Config, DecisionConfig, GatewayConfig, LimitsConfig, LogConfig, ResponseConfig,
    RulesConfig, UpstreamProtocol,
};

use crate::context::{HttpRequestBuilder, Request};
use crate::error::Error;
use crate::integrations::Decision;
use crate::rules::CompiledRuleSet;
use listen::{Listener, Tracker};
use metrics::{Metrics, Mode};
use reload::Rules;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Runs the configured listeners until SIGTERM or SIGINT, then drains:
/// requests in flight finish (for at most `limits.shutdown_grace_ms`).
/// Logs go to stdout as JSON lines.
pub fn run(config: Config) -> Result<(), Error> {
    log::init(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::config(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(config, stop_signal()))
}

/// Resolves on the first SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (term, int) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: draining"),
                _ = int.recv() => tracing::info!("SIGINT: draining"),
            }
        }
        _ => {
            tracing::warn!("cannot listen for SIGTERM/SIGINT; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// [`run`] on the current runtime, until `stop` resolves. Installs no log
/// subscriber.
pub async fn serve(config: Config, stop: impl Future<Output = ()>) -> Result<(), Error> {
    let metrics = Arc::new(Metrics::default());
    let rules = Arc::new(Rules::load(&config.rules, metrics.clone())?);
    let limits = Arc::new(config.limits.clone());
    let shared = Arc::new(Shared {
        rules: rules.clone(),
        metrics: metrics.clone(),
        log_decisions: config.log.decisions,
        ids: RequestIds::new(),
        draining: AtomicBool::new(false),
    });
    let mut listeners = Vec::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tracker = Tracker::default();
    let grace = config::ms(config.limits.shutdown_grace_ms);
    // The gateway runs one single-threaded runtime per core, each with its
    // own listening socket on the address (SO_REUSEPORT) and its own
    // upstream pool: a request never changes threads between the client's
    // connection and the upstream's.
    let mut gateway_threads = Vec::new();
    if let Some(g) = &config.gateway {
        let (acceptor, auth) = tls::acceptor(g)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let permits = listen::permits(&config.limits);
        let mut addr = g.listen;
        for k in 0..cores {
            let std_listener = bind_shared(addr)?;
            if k == 0 {
                addr = std_listener
                    .local_addr()
                    .map_err(|e| Error::config(format!("{addr}: {e}")))?;
                tracing::info!(listener = "gateway", addr = %addr, threads = cores, "listening");
            }
            let proxy = Arc::new(proxy::Proxy::new(g, &config.limits, shared.clone())?);
            let (acceptor, auth) = (acceptor.clone(), auth.clone());
            let (permits, limits, metrics, tracker, stop) = (
                permits.clone(),
                limits.clone(),
                metrics.clone(),
                tracker.clone(),
                stop_rx.clone(),
            );
            let thread = std::thread::Builder::new()
                .name(format!("gateway-{k}"))
                .spawn(move || {
                    let runtime = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot start a gateway thread");
                            return;
                        }
                    };
                    runtime.block_on(async move {
                        let tcp = match tokio::net::TcpListener::from_std(std_listener) {
                            Ok(t) => t,
                            Err(e) => {
                                tracing::error!(error = %e, "cannot listen in a gateway thread");
                                return;
                            }
                        };
                        let listener = Listener {
                            name: "gateway",
                            tcp,
                            tls: Some((acceptor, auth)),
                            handler: proxy.handler(),
                        };
                        listen::serve(listener, permits, limits, metrics, tracker.clone(), stop)
                            .await;
                        // This runtime's connections end with it: let them finish first.
                        let _ = tokio::time::timeout(grace, tracker.drained()).await;
                    });
                })
                .map_err(|e| Error::config(format!("cannot start a gateway thread: {e}")))?;
            gateway_threads.push(thread);
        }
    }
    if let Some(d) = &config.decision {
        let decide = Arc::new(decide::Decide::new(d, &config.limits, shared.clone())?);
        listeners.push(Listener {
            name: "decision",
            tcp: bind(d.listen).await?,
            tls: None,
            handler: decide.handler(),
        });
    }
    if let Some(a) = &config.admin {
        listeners.push(Listener {
            name: "admin",
            tcp: bind(a.listen).await?,
            tls: None,
            handler: admin::handler(shared.clone()),
        });
    }
    let mut tasks = Vec::new();
    for l in listeners {
        let addr = l
            .tcp
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::info!(listener = l.name, addr = %addr, "listening");
        tasks.push(tokio::spawn(listen::serve(
            l,
            listen::permits(&limits),
            limits.clone(),
            metrics.clone(),
            tracker.clone(),
            stop_rx.clone(),
        )));
    }
    tasks.push(tokio::spawn(reload::watch(
        rules,
        config.rules.watch_interval_ms,
        stop_rx.clone(),
    )));
    tracing::info!(rules = shared.rules.handle.load().len(), "serving");
    stop.await;
    shared.draining.store(true, Ordering::Release);
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let _ = tokio::task::spawn_blocking(move || {
        for t in gateway_threads {
            let _ = t.join();
        }
    })
    .await;
    match tokio::time::timeout(grace, tracker.drained()).await {
        Ok(()) => tracing::info!("drained; stopped"),
        Err(_) => tracing::warn!(
            open = tracker.open(),
            "shutdown grace elapsed; closing the connections still open"
        ),
    }
    Ok(())
}

/// A listening socket on `addr` that other sockets may share
/// (SO_REUSEPORT: the kernel spreads connections over them), for a runtime
/// to take over.
fn bind_shared(addr: SocketAddr) -> Result<std::net::TcpListener, Error> {
    let fail = |e: std::io::Error| Error::config(format!("cannot listen on {addr}: {e}"));
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(fail)?;
    socket.set_reuseaddr(true).map_err(fail)?;
    socket.set_reuseport(true).map_err(fail)?;
    socket.bind(addr).map_err(fail)?;
    socket.listen(1024).map_err(fail)?.into_std().map_err(fail)
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::config(format!("cannot listen on {addr}: {e}")))
}

/// What every listener's handlers share.
pub(crate) struct Shared {
    rules: Arc<Rules>,
    metrics: Arc<Metrics>,
    log_decisions: bool,
    ids: RequestIds,
    /// Shutdown has begun (`/healthz` answers 503).
    draining: AtomicBool,
}

/// A decision and what it cost.
pub(crate) struct Decided {
    pub decision: Decision,
    pub build: Duration,
    pub eval: Duration,
}

/// The sets that decide one request, loaded once for it: the live set and
/// the shadow candidate, if one is configured.
pub(crate) struct Sets {
    pub live: Arc<CompiledRuleSet>,
    pub shadow: Option<Arc<CompiledRuleSet>>,
}

impl Sets {
    /// The fields either set reads: what the request is built with.
    pub(crate) fn fields(&self) -> std::borrow::Cow<'_, [crate::types::FieldId]> {
        match &self.shadow {
            None => std::borrow::Cow::Borrowed(self.live.fields()),
            Some(s) => {
                let mut all = self.live.fields().to_vec();
                all.extend_from_slice(s.fields());
                all.sort_unstable();
                all.dedup();
                std::borrow::Cow::Owned(all)
            }
        }
    }

    /// Whether either set reads a body field.
    pub(crate) fn reads_body(&self) -> bool {
        reload::reads_body(&self.live) || self.shadow.as_deref().is_some_and(reload::reads_body)
    }
}

impl Shared {
    /// The sets in force, for one request.
    pub(crate) fn sets(&self) -> Sets {
        Sets {
            live: self.rules.handle.load(),
            shadow: self.rules.handle.load_shadow(),
        }
    }

    /// Builds the request from `builder` and decides it with `sets`.
    fn decide_http(
        &self,
        mode: Mode,
        builder: HttpRequestBuilder,
        sets: &Sets,
        request_id: &str,
    ) -> Result<Decided, Error> {
        let start = Instant::now();
        let request = builder.build()?;
        let build = start.elapsed();
        Ok(self.decide(mode, &request, sets, build, request_id))
    }

    /// Decides `request` with the live set, counting it; with a shadow set,
    /// evaluates it too and logs (and counts) a verdict it would change.
    fn decide<R: Request + ?Sized>(
        &self,
        mode: Mode,
        request: &R,
        sets: &Sets,
        build: Duration,
        request_id: &str,
    ) -> Decided {
        let start = Instant::now();
        let verdict = sets.live.evaluate(request);
        let eval = start.elapsed();
        self.metrics
            .decided(mode, verdict.action, verdict.rule, build, eval);
        if let Some(shadow) = &sets.shadow {
            let other = shadow.evaluate(request);
            if !verdict.same_decision(&other) {
                self.metrics.shadow_changed();
                tracing::info!(
                    request_id,
                    mode = mode.name(),
                    action = verdict.action.map_or("none", crate::Action::name),
                    rule = verdict.rule.unwrap_or(""),
                    shadow_action = other.action.map_or("none", crate::Action::name),
                    shadow_rule = other.rule.unwrap_or(""),
                    "shadow verdict differs"
                );
            }
        }
        Decided {
            decision: Decision::from(&verdict),
            build,
            eval,
        }
    }
}

/// Request ids: unique within a process, distinct across restarts.
pub(crate) struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        RequestIds {
            prefix: (now.as_nanos() as u32) ^ std::process::id().rotate_left(16),
            next: AtomicU64::new(1),
        }
    }

    fn next(&self) -> String {
        format!(
            "{:08x}-{:x}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}
