//! [`ConnectionInfo`]: what a server knows about the connection a request
//! arrived on, and how it fills the request's connection fields.

use super::{ClientCert, HttpRequestBuilder};
use crate::catalogue;
use crate::types::{Value, canonical_ip};
use std::net::SocketAddr;

/// The facts of a connection: addresses, TLS and the client certificate.
///
/// A server builds one per connection (after the TLS handshake) and hands
/// it to every request of that connection, e.g. in the request's
/// extensions for [`RulesLayer`](crate::RulesLayer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client's address (`ip.src`).
    pub client_addr: Option<SocketAddr>,
    /// The address the server accepted on (`cf.edge.server_ip`,
    /// `cf.edge.server_port`).
    pub server_addr: Option<SocketAddr>,
    /// The TLS session, `None` for plain HTTP (`ssl` false).
    pub tls: Option<TlsInfo>,
    /// The client certificate (`cf.tls_client_auth.*`); the default when
    /// none was presented or the connection is not TLS.
    pub client_cert: ClientCert,
}

/// The facts of a TLS session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// `cf.tls_version`: `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// `cf.tls_cipher`: the cipher suite's OpenSSL name, as the public edge
    /// gives it (`AEAD-AES128-GCM-SHA256`, `ECDHE-RSA-AES128-GCM-SHA256`).
    pub cipher: String,
    /// The protocol ALPN agreed (`h2`, `http/1.1`), if any.
    pub alpn: Option<String>,
    /// The server name the client asked for (SNI), if any. No rule field
    /// carries it (`http.host` is the request's): it is for logs.
    pub sni: Option<String>,
}

impl HttpRequestBuilder {
    /// The connection's fields: `ip.src`, `cf.edge.server_ip` and
    /// `cf.edge.server_port`, `ssl` (and the scheme), `cf.tls_version`,
    /// `cf.tls_cipher` and every `cf.tls_client_auth.*` field.
    pub fn connection(self, c: &ConnectionInfo) -> Self {
        let mut b = self;
        if let Some(addr) = c.client_addr {
            b = b.client_ip(addr.ip());
        }
        if let Some(addr) = c.server_addr {
            b = b
                .put(
                    const { catalogue::id("cf.edge.server_ip") },
                    Value::Ip(canonical_ip(addr.ip())),
                )
                .put(
                    const { catalogue::id("cf.edge.server_port") },
                    Value::Int(i64::from(addr.port())),
                );
        }
        b = match &c.tls {
            Some(tls) => b.scheme("https").tls(&tls.version, &tls.cipher),
            None => b.scheme("http"),
        };
        b.client_cert(&c.client_cert)
    }
}
