//! `gateway.toml`: every setting of `portcullis serve`, with its default.
//!
//! Each table denies unknown keys, and the error names the closest known
//! key (`max_body_byte` → `max_body_bytes`): a misspelled setting must never
//! fall back to a default silently. `docs/gateway.md` documents every field.

use crate::error::Error;
use ipnet::IpNet;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The rule set and its lists, and how they reload.
    pub rules: RulesConfig,
    /// Gateway mode: terminate TLS and proxy to an upstream.
    #[serde(default)]
    pub gateway: Option<GatewayConfig>,
    /// Decision mode: answer "would this request pass?" for other proxies.
    #[serde(default)]
    pub decision: Option<DecisionConfig>,
    /// The operational endpoints (`/healthz`, `/metrics`).
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    /// Limits on what clients may make the gateway hold or wait for.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
}

/// `[rules]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// The rule set, JSON or TOML (by extension), as `portcullis run --rules` reads it.
    pub file: PathBuf,
    /// Named lists JSON (`{"name": [items...]}`), as `portcullis run --lists` reads it.
    #[serde(default)]
    pub lists: Option<PathBuf>,
    /// A candidate rule set evaluated beside `file` on every request, with
    /// the same lists: it never decides; where its verdict differs, a
    /// `shadow verdict differs` log line and the
    /// `portcullis_shadow_changes_total` counter say so. It reloads with the rules.
    #[serde(default)]
    pub shadow: Option<PathBuf>,
    /// How often the files are checked for changes, in milliseconds; 0 turns
    /// watching off (SIGHUP still reloads).
    #[serde(default = "default_watch_ms")]
    pub watch_interval_ms: u64,
}

/// A terminating action's response: status, content type and body
/// (`{rule}` and `{action}` are filled in).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseConfig {
    /// The status code.
    #[serde(default = "default_status")]
    pub status: u16,
    /// The `content-type`.
    #[serde(default = "default_content_type")]
    pub content_type: String,
    /// The body template.
    #[serde(default = "default_body")]
    pub body: String,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        ResponseConfig {
            status: default_status(),
            content_type: default_content_type(),
            body: default_body(),
        }
    }
}

/// The protocol spoken to the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamProtocol {
    /// HTTP/1.1 with keep-alive.
    #[default]
    Http1,
    /// HTTP/2 over cleartext, with prior knowledge (h2c).
    Http2,
}

/// `[gateway]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Where clients connect (TLS).
    pub listen: SocketAddr,
    /// The server's certificate chain, PEM (leaf first).
    pub cert: PathBuf,
    /// The server's private key, PEM.
    pub key: PathBuf,
    /// Trusted CAs for client certificates, PEM. Without it no client
    /// certificate is asked for and every `cf.tls_client_auth.*` field is false/empty.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// CRLs of those CAs, PEM files.
    #[serde(default)]
    pub crl: Vec<PathBuf>,
    /// The upstream's base URL, `http://host:port` (no path).
    pub upstream: String,
    /// `http1` (default) or `http2` (cleartext, prior knowledge).
    #[serde(default)]
    pub upstream_protocol: UpstreamProtocol,
    /// Most time to connect to the upstream, in milliseconds.
    #[serde(default = "default_connect_ms")]
    pub connect_timeout_ms: u64,
    /// Most time from sending a request upstream to its response's head,
    /// in milliseconds (then 504).
    #[serde(default = "default_upstream_ms")]
    pub upstream_timeout_ms: u64,
    /// Idle upstream connections kept per host.
    #[serde(default = "default_pool")]
    pub pool_max_idle: usize,
    /// Peers (CIDRs) whose `X-Forwarded-For` is believed: for a request
    /// from one, `ip.src` is the rightmost address of that header that is
    /// not itself a trusted proxy. Empty (default): `ip.src` is always the
    /// TCP peer.
    #[serde(default)]
    pub trusted_proxies: Vec<IpNet>,
    /// The response to `block`.
    #[serde(default)]
    pub block: ResponseConfig,
    /// The response to `challenge`, `js_challenge` and `managed_challenge`.
    #[serde(default)]
    pub challenge: ResponseConfig,
}

/// `[decision]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionConfig {
    /// Where proxies ask (plain HTTP: keep it on loopback or a private network).
    pub listen: SocketAddr,
    /// Peers (CIDRs) allowed to ask; any other peer gets 403 and no verdict.
    #[serde(default = "default_trusted_peers")]
    pub trusted_peers: Vec<IpNet>,
    /// Trusted CAs, PEM: when set, a certificate passed in
    /// `X-SSL-Client-Escaped-Cert` is verified here (with `crl`), and
    /// `X-SSL-Client-Verify` is not used.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// CRLs for `client_ca`.
    #[serde(default)]
    pub crl: Vec<PathBuf>,
    /// The status of a terminating verdict on the `auth_request` endpoint.
    #[serde(default = "default_status")]
    pub deny_status: u16,
    /// Most requests in one `POST /v1/decide/batch`.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
}

/// `[admin]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Where `/healthz` and `/metrics` are served (plain HTTP).
    pub listen: SocketAddr,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most bytes of a request head (request line and headers); more is
    /// answered 431. At least 8,192 (hyper's smallest buffer).
    #[serde(default = "default_header_bytes")]
    pub max_header_bytes: usize,
    /// Most header fields in a request; more is answered 431.
    #[serde(default = "default_headers")]
    pub max_headers: usize,
    /// Most bytes of a body read for the `http.request.body.*` fields
    /// (only when a rule reads one); the body still streams whole to the upstream.
    #[serde(default = "default_body_bytes")]
    pub max_body_bytes: usize,
    /// Most bytes of a JSON body on the decision API.
    #[serde(default = "default_json_bytes")]
    pub max_json_bytes: usize,
    /// Most connections open at once, per listener; one more is closed at once.
    #[serde(default = "default_connections")]
    pub max_connections: usize,
    /// Most time for a client to send a request head, in milliseconds.
    #[serde(default = "default_header_ms")]
    pub header_read_timeout_ms: u64,
    /// Most time a TLS handshake may take, in milliseconds.
    #[serde(default = "default_handshake_ms")]
    pub tls_handshake_timeout_ms: u64,
    /// Most time to read the body prefix the rules need, in milliseconds (then 408).
    #[serde(default = "default_body_ms")]
    pub body_read_timeout_ms: u64,
    /// A connection with no request in flight and no bytes moving for this
    /// long is closed, in milliseconds.
    #[serde(default = "default_idle_ms")]
    pub idle_timeout_ms: u64,
    /// On SIGTERM/SIGINT, most time to let requests in flight finish, in milliseconds.
    #[serde(default = "default_grace_ms")]
    pub shutdown_grace_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_header_bytes: default_header_bytes(),
            max_headers: default_headers(),
            max_body_bytes: default_body_bytes(),
            max_json_bytes: default_json_bytes(),
            max_connections: default_connections(),
            header_read_timeout_ms: default_header_ms(),
            tls_handshake_timeout_ms: default_handshake_ms(),
            body_read_timeout_ms: default_body_ms(),
            idle_timeout_ms: default_idle_ms(),
            shutdown_grace_ms: default_grace_ms(),
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// One JSON line per decided request on stdout.
    #[serde(default = "default_true")]
    pub decisions: bool,
    /// The least level logged (`error`, `warn`, `info`, `debug`, `trace`);
    /// `RUST_LOG`, when it is one of those, overrides it.
    #[serde(default = "default_level")]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            decisions: true,
            level: default_level(),
        }
    }
}

fn default_watch_ms() -> u64 {
    1000
}
fn default_status() -> u16 {
    403
}
fn default_content_type() -> String {
    "application/json".into()
}
fn default_body() -> String {
    r#"{"action":"{action}","rule":"{rule}"}"#.into()
}
fn default_connect_ms() -> u64 {
    5_000
}
fn default_upstream_ms() -> u64 {
    30_000
}
fn default_pool() -> usize {
    64
}
fn default_trusted_peers() -> Vec<IpNet> {
    vec![
        IpNet::V4(ipnet::Ipv4Net::new_assert(std::net::Ipv4Addr::LOCALHOST, 8).trunc()),
        IpNet::V6(ipnet::Ipv6Net::new_assert(
            std::net::Ipv6Addr::LOCALHOST,
            128,
        )),
    ]
}
fn default_max_batch() -> usize {
    1_000
}
fn default_header_bytes() -> usize {
    16 * 1024
}
fn default_headers() -> usize {
    100
}
fn default_body_bytes() -> usize {
    64 * 1024
}
fn default_json_bytes() -> usize {
    1024 * 1024
}
fn default_connections() -> usize {
    1024
}
fn default_header_ms() -> u64 {
    10_000
}
fn default_handshake_ms() -> u64 {
    10_000
}
fn default_body_ms() -> u64 {
    10_000
}
fn default_idle_ms() -> u64 {
    60_000
}
fn default_grace_ms() -> u64 {
    30_000
}
fn default_true() -> bool {
    true
}
fn default_level() -> String {
    "info".into()
}

/// Milliseconds as a duration.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl Config {
    /// Parses `gateway.toml` text. Relative paths stay as written (see
    /// [`Config::load`]).
    pub fn from_toml(text: &str) -> Result<Config, Error> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let lc = crate::error::line_col(text, s.start);
                    format!(" (line {}, column {})", lc.line, lc.column)
                })
                .unwrap_or_default();
            Error::config(format!(
                "gateway config: {}{at}",
                with_suggestion(e.message())
            ))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads `path`; relative paths in it are taken from the file's folder.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
        let mut config = Config::from_toml(&text)
            .map_err(|e| Error::config(format!("{}: {}", path.display(), e.message())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve(base);
        Ok(config)
    }

    /// Makes every relative path relative to `base`.
    fn resolve(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.rules.file);
        if let Some(l) = &mut self.rules.lists {
            fix(l);
        }
        if let Some(l) = &mut self.rules.shadow {
            fix(l);
        }
        if let Some(g) = &mut self.gateway {
            fix(&mut g.cert);
            fix(&mut g.key);
            if let Some(c) = &mut g.client_ca {
                fix(c);
            }
            g.crl.iter_mut().for_each(fix);
        }
        if let Some(d) = &mut self.decision {
            if let Some(c) = &mut d.client_ca {
                fix(c);
            }
            d.crl.iter_mut().for_each(fix);
        }
    }

    fn validate(&self) -> Result<(), Error> {
        if self.gateway.is_none() && self.decision.is_none() {
            return Err(Error::config(
                "gateway config: nothing to serve: add a [gateway] or a [decision] table",
            ));
        }
        if let Some(g) = &self.gateway {
            let uri: http::Uri = g
                .upstream
                .parse()
                .map_err(|e| Error::config(format!("gateway.upstream `{}`: {e}", g.upstream)))?;
            if uri.scheme_str() != Some("http") || uri.authority().is_none() {
                return Err(Error::config(format!(
                    "gateway.upstream `{}`: must be http://host:port (TLS to the upstream is not supported)",
                    g.upstream
                )));
            }
            if uri.path() != "/" && !uri.path().is_empty() {
                return Err(Error::config(format!(
                    "gateway.upstream `{}`: must have no path",
                    g.upstream
                )));
            }
            for r in [&g.block, &g.challenge] {
                http::StatusCode::from_u16(r.status)
                    .map_err(|_| Error::config(format!("status {} is not valid", r.status)))?;
            }
        }
        if let Some(d) = &self.decision {
            match http::StatusCode::from_u16(d.deny_status) {
                Ok(s) if !s.is_success() => {}
                _ => {
                    return Err(Error::config(format!(
                        "decision.deny_status {} must be a valid non-2xx status",
                        d.deny_status
                    )));
                }
            }
        }
        let listens: Vec<SocketAddr> = [
            self.gateway.as_ref().map(|g| g.listen),
            self.decision.as_ref().map(|d| d.listen),
            self.admin.as_ref().map(|a| a.listen),
        ]
        .into_iter()
        .flatten()
        .filter(|a| a.port() != 0)
        .collect();
        for (k, a) in listens.iter().enumerate() {
            if listens[..k].contains(a) {
                return Err(Error::config(format!(
                    "{a} is configured for two listeners: the operational endpoints get their own address"
                )));
            }
        }
        if self
            .log
            .level
            .parse::<tracing_subscriber::filter::LevelFilter>()
            .is_err()
        {
            return Err(Error::config(format!(
                "log.level `{}`: one of error, warn, info, debug, trace, off",
                self.log.level
            )));
        }
        let l = &self.limits;
        let mut waits = vec![
            ("limits.header_read_timeout_ms", l.header_read_timeout_ms),
            (
                "limits.tls_handshake_timeout_ms",
                l.tls_handshake_timeout_ms,
            ),
            ("limits.body_read_timeout_ms", l.body_read_timeout_ms),
            ("limits.idle_timeout_ms", l.idle_timeout_ms),
        ];
        if let Some(g) = &self.gateway {
            waits.push(("gateway.connect_timeout_ms", g.connect_timeout_ms));
            waits.push(("gateway.upstream_timeout_ms", g.upstream_timeout_ms));
        }
        // Every wait is bounded: there is no "0 means forever".
        if let Some((name, _)) = waits.iter().find(|(_, v)| *v == 0) {
            return Err(Error::config(format!("{name} must be at least 1")));
        }
        if self.limits.max_connections == 0 || self.limits.max_headers == 0 {
            return Err(Error::config(
                "limits.max_connections and limits.max_headers must be at least 1",
            ));
        }
        Ok(())
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`" with "did you
/// mean `a`?" added when a known key is close.
fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|k| !k.is_empty())
        .collect();
    match crate::schema::closest(field, known.into_iter()) {
        Some(k) => format!("{message}; did you mean `{k}`?"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    const MINIMAL: &str = r#"
[rules]
file = "rules.json"
[decision]
listen = "127.0.0.1:0"
"#;

    #[test]
    fn defaults_hold_what_the_docs_say() {
        let c = Config::from_toml(MINIMAL).unwrap();
        assert_eq!(c.limits.max_body_bytes, 65_536);
        assert_eq!(c.limits.max_header_bytes, 16_384);
        assert_eq!(c.rules.watch_interval_ms, 1000);
        let d = c.decision.unwrap();
        assert_eq!(d.deny_status, 403);
        assert!(
            d.trusted_peers
                .iter()
                .any(|n| n.contains(&IpAddr::from([127, 0, 0, 9])))
        );
        assert!(
            d.trusted_peers
                .iter()
                .any(|n| n.contains(&"::1".parse::<IpAddr>().unwrap()))
        );
        assert!(
            !d.trusted_peers
                .iter()
                .any(|n| n.contains(&IpAddr::from([10, 0, 0, 1])))
        );
    }

    #[test]
    fn misspelled_keys_are_errors_that_name_the_closest_key() {
        for (text, wrong, right) in [
            (
                "[limits]\nmax_body_byte = 1\n",
                "max_body_byte",
                "max_body_bytes",
            ),
            ("[log]\ndecisons = true\n", "decisons", "decisions"),
            ("[rules2]\n", "rules2", "rules"),
        ] {
            let e = Config::from_toml(&format!("{MINIMAL}{text}")).unwrap_err();
            let m = e.to_string();
            assert!(m.contains(&format!("unknown field `{wrong}`")), "{m}");
            assert!(m.contains(&format!("did you mean `{right}`?")), "{m}");
            assert!(m.contains("line "), "{m}");
        }
    }

    #[test]
    fn bad_values_are_errors() {
        for (text, needle) in [
            ("[rules]\nfile = \"r.json\"\n", "nothing to serve"),
            (
                &format!(
                    "{MINIMAL}[admin]\nlisten = \"127.0.0.1:9\"\n[gateway]\nlisten = \"127.0.0.1:9\"\ncert = \"c\"\nkey = \"k\"\nupstream = \"http://127.0.0.1:1\"\n"
                ),
                "two listeners",
            ),
            (
                &format!(
                    "{MINIMAL}[gateway]\nlisten = \"127.0.0.1:1\"\ncert = \"c\"\nkey = \"k\"\nupstream = \"https://x\"\n"
                ),
                "must be http://",
            ),
            (
                "[rules]\nfile = \"r\"\n[decision]\nlisten = \"127.0.0.1:0\"\ndeny_status = 200\n",
                "non-2xx",
            ),
            (
                &format!("{MINIMAL}[limits]\nidle_timeout_ms = 0\n"),
                "limits.idle_timeout_ms must be at least 1",
            ),
            (&format!("{MINIMAL}[log]\nlevel = \"loud\"\n"), "log.level"),
        ] {
            let e = Config::from_toml(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn the_commented_example_is_valid_and_spells_out_the_defaults() {
        let c = Config::from_toml(include_str!("../../examples/gateway/gateway.toml")).unwrap();
        let d = LimitsConfig::default();
        assert_eq!(c.limits.max_body_bytes, d.max_body_bytes);
        assert_eq!(c.limits.idle_timeout_ms, d.idle_timeout_ms);
        assert_eq!(c.limits.max_connections, d.max_connections);
        assert!(c.gateway.is_some() && c.decision.is_some() && c.admin.is_some());
    }

    #[test]
    fn relative_paths_are_taken_from_the_config_folder() {
        let mut c = Config::from_toml(MINIMAL).unwrap();
        c.resolve(Path::new("/etc/portcullis"));
        assert_eq!(c.rules.file, Path::new("/etc/portcullis/rules.json"));
    }
}
