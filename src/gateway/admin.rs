//! The operational endpoints, on their own listener: `GET /healthz`
//! (200 while serving, 503 once draining) and `GET /metrics`
//! (Prometheus's text format).

use super::Shared;
use super::listen::{Handler, error_json, respond};
use http::StatusCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub(crate) fn handler(shared: Arc<Shared>) -> Handler {
    Arc::new(move |request, _conn| {
        let shared = shared.clone();
        Box::pin(async move {
            match (request.method(), request.uri().path()) {
                (&http::Method::GET, "/healthz") => {
                    let draining = shared.draining.load(Ordering::Acquire);
                    let rules = shared.rules.handle.load().len();
                    let (status, word) = if draining {
                        (StatusCode::SERVICE_UNAVAILABLE, "draining")
                    } else {
                        (StatusCode::OK, "ok")
                    };
                    respond(
                        status,
                        "application/json",
                        serde_json::json!({"status": word, "rules": rules}).to_string(),
                    )
                }
                (&http::Method::GET, "/metrics") => respond(
                    StatusCode::OK,
                    "text/plain; version=0.0.4",
                    shared.metrics.render(),
                ),
                _ => error_json(
                    StatusCode::NOT_FOUND,
                    "no such endpoint: /healthz, /metrics",
                ),
            }
        })
    })
}
