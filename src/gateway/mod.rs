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
    if let Some(g) = &config.gateway {
        let (acceptor, auth) = tls::acceptor(g)?;
        let proxy = Arc::new(proxy::Proxy::new(g, &config.limits, shared.clone())?);
        listeners.push(Listener {
            name: "gateway",
            tcp: bind(g.listen).await?,
            tls: Some((acceptor, auth)),
            handler: proxy.handler(),
        });
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
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tracker = Tracker::default();
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
    let grace = config::ms(config.limits.shutdown_grace_ms);
    match tokio::time::timeout(grace, tracker.drained()).await {
        Ok(()) => tracing::info!("drained; stopped"),
        Err(_) => tracing::warn!(
            open = tracker.open(),
            "shutdown grace elapsed; closing the connections still open"
        ),
    }
    Ok(())
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

impl Shared {
    /// Builds the request from `builder` and decides it with `set`.
    fn decide_http(
        &self,
        mode: Mode,
        builder: HttpRequestBuilder,
        set: &CompiledRuleSet,
    ) -> Result<Decided, Error> {
        let start = Instant::now();
        let request = builder.build()?;
        let build = start.elapsed();
        Ok(self.decide(mode, &request, set, build))
    }

    /// Decides `request` with `set`, counting it.
    fn decide<R: Request + ?Sized>(
        &self,
        mode: Mode,
        request: &R,
        set: &CompiledRuleSet,
        build: Duration,
    ) -> Decided {
        let start = Instant::now();
        let verdict = set.evaluate(request);
        let eval = start.elapsed();
        self.metrics
            .decided(mode, verdict.action, verdict.rule, build, eval);
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
