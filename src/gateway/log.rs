//! Logs: JSON lines on stdout through `tracing`. Operational events
//! (listening, reloads, errors) and, when `[log] decisions` is on, one
//! `decision` line per decided request (target `portcullis::decision`).

use super::config::LogConfig;
use super::metrics::Mode;
use crate::integrations::Decision;
use std::time::Duration;
use tracing_subscriber::filter::LevelFilter;

/// The least level logged: `RUST_LOG` when it names a level, else the
/// config's, else `info`.
fn level(config: &LogConfig) -> LevelFilter {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| config.level.trim().parse().ok())
        .unwrap_or(LevelFilter::INFO)
}

/// Installs the JSON subscriber (once per process; later calls keep the first).
pub(crate) fn init(config: &LogConfig) {
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_max_level(level(config))
        .with_writer(std::io::stdout)
        .try_init();
}

/// What one decision log line says besides the verdict.
pub(crate) struct Line<'a> {
    pub mode: Mode,
    pub request_id: &'a str,
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub client_ip: Option<std::net::IpAddr>,
    pub status: u16,
    pub build: Duration,
    pub eval: Duration,
    pub total: Duration,
}

/// Writes the decision line.
pub(crate) fn decision(line: &Line<'_>, d: &Decision) {
    tracing::info!(
        target: "portcullis::decision",
        mode = line.mode.name(),
        request_id = line.request_id,
        method = line.method,
        host = line.host,
        path = line.path,
        client_ip = line.client_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        action = d.action.map_or("none", |a| a.name()),
        rule = d.rule.as_deref().unwrap_or(""),
        logged = d.logged.join(","),
        skipped = d.skipped.join(","),
        status = line.status,
        build_us = line.build.as_secs_f64() * 1e6,
        eval_us = line.eval.as_secs_f64() * 1e6,
        duration_ms = line.total.as_secs_f64() * 1e3,
        "decision"
    );
}
