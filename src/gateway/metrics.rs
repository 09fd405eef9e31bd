//! The counters behind `/metrics`, in Prometheus's text format: requests
//! by mode and action, terminating rules by id, the evaluation latency
//! histogram, reloads, upstream errors, TLS failures and open connections.
//!
//! The per-request path touches atomics only; a rule id's counter (a map)
//! is locked only when a terminating rule fired.

use crate::rules::Action;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Where a decision was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A request through the gateway.
    Gateway,
    /// nginx's `auth_request` contract.
    AuthRequest,
    /// `POST /v1/decide` (and each element of a batch).
    Api,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Gateway, Mode::AuthRequest, Mode::Api];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Gateway => "gateway",
            Mode::AuthRequest => "auth_request",
            Mode::Api => "api",
        }
    }
}

/// The verdict's action, or `none`.
const ACTIONS: [Option<Action>; 6] = [
    None,
    Some(Action::Block),
    Some(Action::Challenge),
    Some(Action::JsChallenge),
    Some(Action::ManagedChallenge),
    Some(Action::Allow),
];

fn action_index(a: Option<Action>) -> usize {
    ACTIONS.iter().position(|x| *x == a).unwrap_or(0)
}

/// Upper bounds of the evaluation histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 1e-2,
];

/// Every counter.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: [[AtomicU64; ACTIONS.len()]; 3],
    rules: Mutex<BTreeMap<(String, &'static str), u64>>,
    eval_buckets: [AtomicU64; BUCKETS.len()],
    eval_count: AtomicU64,
    eval_sum_ns: AtomicU64,
    build_sum_ns: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    /// Requests whose shadow verdict differed from the live one.
    shadow_changes: AtomicU64,
    rules_loaded: AtomicU64,
    upstream_connect: AtomicU64,
    upstream_timeout: AtomicU64,
    untrusted_peers: AtomicU64,
    bad_requests: AtomicU64,
    tls_failures: AtomicU64,
    refused: AtomicU64,
    connections: [AtomicI64; 3],
}

impl Metrics {
    /// One decided request: its mode, action, terminating rule, and how
    /// long building the request and evaluating the rules took.
    pub(crate) fn decided(
        &self,
        mode: Mode,
        action: Option<Action>,
        rule: Option<&str>,
        build: Duration,
        eval: Duration,
    ) {
        let m = Mode::ALL.iter().position(|x| *x == mode).unwrap_or(0);
        self.requests[m][action_index(action)].fetch_add(1, Ordering::Relaxed);
        if let (Some(a), Some(rule)) = (action, rule) {
            if let Ok(mut map) = self.rules.lock() {
                *map.entry((rule.to_string(), a.name())).or_insert(0) += 1;
            }
        }
        let secs = eval.as_secs_f64();
        for (k, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.eval_buckets[k].fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        self.eval_count.fetch_add(1, Ordering::Relaxed);
        self.eval_sum_ns
            .fetch_add(eval.as_nanos() as u64, Ordering::Relaxed);
        self.build_sum_ns
            .fetch_add(build.as_nanos() as u64, Ordering::Relaxed);
    }

    /// A reload that took effect (`ok`) or was rejected.
    pub(crate) fn reloaded(&self, ok: bool, rules: usize) {
        if ok {
            self.reloads_ok.fetch_add(1, Ordering::Relaxed);
            self.rules_loaded.store(rules as u64, Ordering::Relaxed);
        } else {
            self.reloads_failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A request the shadow set would have decided otherwise.
    pub(crate) fn shadow_changed(&self) {
        self.shadow_changes.fetch_add(1, Ordering::Relaxed);
    }

    /// The rule set in force has `n` rules.
    pub(crate) fn loaded(&self, n: usize) {
        self.rules_loaded.store(n as u64, Ordering::Relaxed);
    }

    /// The upstream could not be reached (`timeout` false) or did not answer in time.
    pub(crate) fn upstream_error(&self, timeout: bool) {
        let c = if timeout {
            &self.upstream_timeout
        } else {
            &self.upstream_connect
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// A decision asked by a peer that is not trusted.
    pub(crate) fn untrusted_peer(&self) {
        self.untrusted_peers.fetch_add(1, Ordering::Relaxed);
    }

    /// A request that could not be decided (malformed input).
    pub(crate) fn bad_request(&self) {
        self.bad_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A TLS handshake that failed or timed out.
    pub(crate) fn tls_failure(&self) {
        self.tls_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection closed at once: `max_connections` were open.
    pub(crate) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection opened (+1) or closed (-1) on `listener`.
    pub(crate) fn connection(&self, listener: &str, delta: i64) {
        let k = match listener {
            "gateway" => 0,
            "decision" => 1,
            _ => 2,
        };
        self.connections[k].fetch_add(delta, Ordering::Relaxed);
    }

    /// Everything, in Prometheus's text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP portcullis_requests_total Requests decided, by mode and verdict action (none: no terminating rule matched).\n# TYPE portcullis_requests_total counter"
        );
        for (m, mode) in Mode::ALL.iter().enumerate() {
            for (a, action) in ACTIONS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "portcullis_requests_total{{mode=\"{}\",action=\"{}\"}} {}",
                    mode.name(),
                    action.map_or("none", Action::name),
                    load(&self.requests[m][a])
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP portcullis_rule_matches_total Requests a terminating rule decided, by rule id and action.\n# TYPE portcullis_rule_matches_total counter"
        );
        if let Ok(map) = self.rules.lock() {
            for ((rule, action), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "portcullis_rule_matches_total{{rule=\"{}\",action=\"{action}\"}} {n}",
                    escape_label(rule)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP portcullis_evaluation_seconds Time to evaluate the rule set for one request.\n# TYPE portcullis_evaluation_seconds histogram"
        );
        let mut cumulative = 0;
        for (k, bound) in BUCKETS.iter().enumerate() {
            cumulative += load(&self.eval_buckets[k]);
            let _ = writeln!(
                out,
                "portcullis_evaluation_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = load(&self.eval_count);
        let _ = writeln!(
            out,
            "portcullis_evaluation_seconds_bucket{{le=\"+Inf\"}} {count}\nportcullis_evaluation_seconds_sum {}\nportcullis_evaluation_seconds_count {count}",
            load(&self.eval_sum_ns) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_request_build_seconds_total Time spent building rule requests from HTTP requests.\n# TYPE portcullis_request_build_seconds_total counter\nportcullis_request_build_seconds_total {}",
            load(&self.build_sum_ns) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_reloads_total Rule and list reloads, by result.\n# TYPE portcullis_reloads_total counter\nportcullis_reloads_total{{result=\"ok\"}} {}\nportcullis_reloads_total{{result=\"failed\"}} {}",
            load(&self.reloads_ok),
            load(&self.reloads_failed)
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_shadow_changes_total Requests the shadow rule set would have decided otherwise (action or rule).\n# TYPE portcullis_shadow_changes_total counter\nportcullis_shadow_changes_total {}",
            load(&self.shadow_changes)
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_rules Rules in the set in force.\n# TYPE portcullis_rules gauge\nportcullis_rules {}",
            load(&self.rules_loaded)
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_upstream_errors_total Upstream requests that failed, by kind (502 connect, 504 timeout).\n# TYPE portcullis_upstream_errors_total counter\nportcullis_upstream_errors_total{{kind=\"connect\"}} {}\nportcullis_upstream_errors_total{{kind=\"timeout\"}} {}",
            load(&self.upstream_connect),
            load(&self.upstream_timeout)
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_untrusted_peers_total Decision requests refused because the peer is not trusted.\n# TYPE portcullis_untrusted_peers_total counter\nportcullis_untrusted_peers_total {}",
            load(&self.untrusted_peers)
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_bad_requests_total Requests answered 4xx before any rule ran (malformed input).\n# TYPE portcullis_bad_requests_total counter\nportcullis_bad_requests_total {}",
            load(&self.bad_requests)
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_tls_handshake_failures_total TLS handshakes that failed or timed out.\n# TYPE portcullis_tls_handshake_failures_total counter\nportcullis_tls_handshake_failures_total {}",
            load(&self.tls_failures)
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_connections_refused_total Connections closed at once because max_connections were open.\n# TYPE portcullis_connections_refused_total counter\nportcullis_connections_refused_total {}",
            load(&self.refused)
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_connections Connections open now, by listener.\n# TYPE portcullis_connections gauge"
        );
        for (k, name) in ["gateway", "decision", "admin"].iter().enumerate() {
            let _ = writeln!(
                out,
                "portcullis_connections{{listener=\"{name}\"}} {}",
                self.connections[k].load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_what_happened() {
        let m = Metrics::default();
        m.decided(
            Mode::Gateway,
            Some(Action::Block),
            Some("r\"1"),
            Duration::from_micros(1),
            Duration::from_micros(3),
        );
        m.decided(
            Mode::Api,
            None,
            None,
            Duration::ZERO,
            Duration::from_secs(1),
        );
        m.reloaded(false, 0);
        let text = m.render();
        for line in [
            "portcullis_requests_total{mode=\"gateway\",action=\"block\"} 1",
            "portcullis_requests_total{mode=\"api\",action=\"none\"} 1",
            "portcullis_rule_matches_total{rule=\"r\\\"1\",action=\"block\"} 1",
            "portcullis_evaluation_seconds_bucket{le=\"0.000005\"} 1",
            "portcullis_evaluation_seconds_bucket{le=\"+Inf\"} 2",
            "portcullis_evaluation_seconds_count 2",
            "portcullis_reloads_total{result=\"failed\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
