//! The header contract with the upstream: what is removed from a client's
//! request (hop-by-hop headers, and every header the gateway itself sets,
//! so none can be spoofed), and what is added (the certificate's facts,
//! `X-Forwarded-*`, `Forwarded`, the request id).

use crate::context::{ClientCert, ConnectionInfo};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use std::net::IpAddr;

/// Hop-by-hop headers (RFC 9110 §7.6.1, and the old ones proxies still see).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether a client's header named `name` (lowercase) is one the gateway
/// owns: every `cf-cert-*`, RFC 9440's `client-cert` and
/// `client-cert-chain`, and `x-portcullis-*`. These are removed from every
/// request before anything is added, whatever their value.
pub(crate) fn is_owned(name: &str) -> bool {
    name.starts_with("cf-cert-")
        || name == "client-cert"
        || name == "client-cert-chain"
        || name.starts_with("x-portcullis-")
}

/// Removes hop-by-hop headers, and those the `Connection` header names.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in HOP_BY_HOP {
        headers.remove(n);
    }
}

/// Removes every header [`is_owned`] names.
pub(crate) fn remove_owned(headers: &mut HeaderMap) {
    let owned: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_owned(n.as_str()))
        .cloned()
        .collect();
    for n in owned {
        headers.remove(n);
    }
}

/// The certificate's headers (see [`add_cert`]), to add to every request of
/// a connection.
pub(crate) fn cert_headers(c: &ClientCert) -> Vec<(HeaderName, HeaderValue)> {
    let mut h = HeaderMap::new();
    add_cert(&mut h, c);
    h.into_iter()
        .filter_map(|(n, v)| n.map(|n| (n, v)))
        .collect()
}

fn put(headers: &mut HeaderMap, name: &'static str, value: &str) {
    // A value that is not a valid header value (a control character in
    // a DN) is left out rather than sent mangled.
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// Adds the certificate's facts. `cf-cert-presented`, `-verified` and
/// `-revoked` are always there (`true`/`false`); the others only for a
/// presented certificate, and `client-cert-chain` only when the client
/// sent intermediates.
pub(crate) fn add_cert(headers: &mut HeaderMap, c: &ClientCert) {
    let b = |v: bool| if v { "true" } else { "false" };
    put(headers, "cf-cert-presented", b(c.presented));
    put(headers, "cf-cert-verified", b(c.verified));
    put(headers, "cf-cert-revoked", b(c.revoked));
    if !c.presented {
        return;
    }
    for (name, value) in [
        ("cf-cert-failure", &c.failure),
        ("cf-cert-subject-dn", &c.subject_dn),
        ("cf-cert-issuer-dn", &c.issuer_dn),
        ("cf-cert-serial", &c.serial),
        ("cf-cert-fingerprint-sha256", &c.fingerprint_sha256),
        ("cf-cert-not-before", &c.not_before),
        ("cf-cert-not-after", &c.not_after),
        ("client-cert", &c.rfc9440),
        ("client-cert-chain", &c.chain_rfc9440),
    ] {
        if !value.is_empty() {
            put(headers, name, value);
        }
    }
}

/// Appends the TCP peer to `X-Forwarded-For` (a client's own entries stay,
/// before it: only the last entry is the gateway's word), sets
/// `X-Forwarded-Proto` and `X-Forwarded-Host`, and appends an RFC 7239
/// `Forwarded` element.
pub(crate) fn add_forwarded(headers: &mut HeaderMap, info: &ConnectionInfo, host: Option<&str>) {
    let proto = if info.tls.is_some() { "https" } else { "http" };
    let Some(peer) = info.client_addr.map(|a| crate::types::canonical_ip(a.ip())) else {
        put(headers, "x-forwarded-proto", proto);
        return;
    };
    let mut xff: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    xff.push(peer.to_string());
    put(headers, "x-forwarded-for", &xff.join(", "));
    put(headers, "x-forwarded-proto", proto);
    if let Some(h) = host {
        put(headers, "x-forwarded-host", h);
    }
    let node = match peer {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("\"[{v6}]\""),
    };
    let mut element = format!("for={node};proto={proto}");
    if let Some(h) = host.filter(|h| h.bytes().all(|c| c.is_ascii_graphic() && c != b'"')) {
        element.push_str(&format!(";host=\"{h}\""));
    }
    let mut forwarded: Vec<String> = headers
        .get_all(http::header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    forwarded.push(element);
    put(headers, "forwarded", &forwarded.join(", "));
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy;
/// then the rightmost `X-Forwarded-For` address that is not a trusted
/// proxy (the first one a trusted proxy vouches for). Entries that are
/// not addresses end the walk at the last good one.
pub(crate) fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let peer = crate::types::canonical_ip(peer?);
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut ip = peer;
    let values: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    for value in values.iter().rev() {
        for part in value.rsplit(',') {
            let Ok(next) = part.trim().parse::<IpAddr>() else {
                return Some(ip);
            };
            ip = crate::types::canonical_ip(next);
            if !is_trusted(&ip) {
                return Some(ip);
            }
        }
    }
    Some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let mut h = map(&[
            ("connection", "keep-alive, x-secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("x-kept", "1"),
        ]);
        remove_hop_by_hop(&mut h);
        assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-kept"]);
    }

    #[test]
    fn trusted_proxies_decide_whose_forwarded_for_counts() {
        let h = map(&[("x-forwarded-for", "203.0.113.9, 10.0.0.2")]);
        let peer = Some("10.0.0.1".parse().unwrap());
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // (peer, trusted, expected)
        for (peer, trusted, expected) in [
            (peer, &[][..], "10.0.0.1"),
            (peer, &trusted[..], "203.0.113.9"),
            (
                Some("198.51.100.1".parse().unwrap()),
                &trusted[..],
                "198.51.100.1",
            ),
        ] {
            assert_eq!(
                client_ip(peer, &h, trusted),
                Some(expected.parse().unwrap())
            );
        }
        let garbage = map(&[("x-forwarded-for", "nonsense, 10.0.0.3")]);
        assert_eq!(
            client_ip(peer, &garbage, &trusted),
            Some("10.0.0.3".parse().unwrap())
        );
    }

    #[test]
    fn forwarded_headers_append() {
        let mut h = map(&[
            ("x-forwarded-for", "192.0.2.1"),
            ("forwarded", "for=192.0.2.1"),
        ]);
        let info = ConnectionInfo {
            client_addr: Some("[2001:db8::1]:5000".parse().unwrap()),
            tls: Some(Default::default()),
            ..Default::default()
        };
        add_forwarded(&mut h, &info, Some("api.example.com"));
        assert_eq!(h["x-forwarded-for"], "192.0.2.1, 2001:db8::1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(
            h["forwarded"],
            "for=192.0.2.1, for=\"[2001:db8::1]\";proto=https;host=\"api.example.com\""
        );
    }
}
