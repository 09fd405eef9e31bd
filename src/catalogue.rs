//! The default field catalogue (`FIELDS.md`): names and types of the built-in HTTP schema.
//!
//! This is the one source of the catalogue: [`Schema::default_http`](crate::Schema::default_http)
//! is built from [`FIELDS`] (a field's id is its position), and
//! [`HttpRequest`](crate::HttpRequest) names the ids it fills with the crate-private `id` at
//! compile time. Adding a field is one line here.

use crate::types::FieldId;

/// Every field of the default schema with its type, as written in `FIELDS.md`.
pub const FIELDS: &[(&str, &str)] = &[
    ("http.host", "Bytes"),
    ("http.cookie", "Bytes"),
    ("http.referer", "Bytes"),
    ("http.user_agent", "Bytes"),
    ("http.x_forwarded_for", "Bytes"),
    ("http.request.method", "Bytes"),
    ("http.request.version", "Bytes"),
    ("http.request.full_uri", "Bytes"),
    ("http.request.uri", "Bytes"),
    ("http.request.uri.path", "Bytes"),
    ("http.request.uri.path.extension", "Bytes"),
    ("http.request.uri.query", "Bytes"),
    ("http.request.uri.args", "Map<Array<Bytes>>"),
    ("http.request.uri.args.names", "Array<Bytes>"),
    ("http.request.uri.args.values", "Array<Bytes>"),
    ("http.request.cookies", "Map<Array<Bytes>>"),
    ("http.request.headers", "Map<Array<Bytes>>"),
    ("http.request.headers.names", "Array<Bytes>"),
    ("http.request.headers.values", "Array<Bytes>"),
    ("http.request.headers.truncated", "Bool"),
    ("http.request.accepted_languages", "Array<Bytes>"),
    ("http.request.timestamp.sec", "Int"),
    ("http.request.timestamp.msec", "Int"),
    ("http.request.body.raw", "Bytes"),
    ("http.request.body.size", "Int"),
    ("http.request.body.truncated", "Bool"),
    ("http.request.body.mime", "Bytes"),
    ("http.request.body.form", "Map<Array<Bytes>>"),
    ("http.request.body.form.names", "Array<Bytes>"),
    ("http.request.body.form.values", "Array<Bytes>"),
    ("http.request.jwt.claims", "Map<Array<Bytes>>"),
    ("raw.http.request.uri.path.extension", "Bytes"),
    ("raw.http.request.full_uri", "Bytes"),
    ("raw.http.request.uri", "Bytes"),
    ("raw.http.request.uri.path", "Bytes"),
    ("raw.http.request.uri.query", "Bytes"),
    ("raw.http.request.uri.args", "Map<Array<Bytes>>"),
    ("raw.http.request.uri.args.names", "Array<Bytes>"),
    ("raw.http.request.uri.args.values", "Array<Bytes>"),
    ("http.response.code", "Int"),
    ("http.response.headers", "Map<Array<Bytes>>"),
    ("http.response.headers.names", "Array<Bytes>"),
    ("http.response.headers.values", "Array<Bytes>"),
    ("ssl", "Bool"),
    ("ip.src", "Ip"),
    ("ip.src.asnum", "Int"),
    ("ip.src.country", "Bytes"),
    ("ip.src.continent", "Bytes"),
    ("ip.src.city", "Bytes"),
    ("ip.src.region", "Bytes"),
    ("ip.src.region_code", "Bytes"),
    ("ip.src.postal_code", "Bytes"),
    ("ip.src.timezone.name", "Bytes"),
    ("ip.src.is_in_european_union", "Bool"),
    ("cf.edge.server_ip", "Ip"),
    ("cf.edge.server_port", "Int"),
    ("cf.ray_id", "Bytes"),
    ("cf.random_seed", "Bytes"),
    ("cf.threat_score", "Int"),
    ("cf.client.bot", "Bool"),
    ("cf.bot_management.score", "Int"),
    ("cf.bot_management.verified_bot", "Bool"),
    ("cf.bot_management.static_resource", "Bool"),
    ("cf.bot_management.ja3_hash", "Bytes"),
    ("cf.bot_management.ja4", "Bytes"),
    ("cf.bot_management.detection_ids", "Array<Int>"),
    ("cf.verified_bot_category", "Bytes"),
    ("cf.waf.score", "Int"),
    ("cf.waf.score.sqli", "Int"),
    ("cf.waf.score.xss", "Int"),
    ("cf.waf.score.rce", "Int"),
    ("cf.waf.score.class", "Bytes"),
    ("cf.tls_version", "Bytes"),
    ("cf.tls_cipher", "Bytes"),
    ("cf.tls_client_auth.cert_presented", "Bool"),
    ("cf.tls_client_auth.cert_verified", "Bool"),
    ("cf.tls_client_auth.cert_revoked", "Bool"),
    ("cf.tls_client_auth.cert_issuer_dn", "Bytes"),
    ("cf.tls_client_auth.cert_subject_dn", "Bytes"),
    ("cf.tls_client_auth.cert_issuer_dn_rfc2253", "Bytes"),
    ("cf.tls_client_auth.cert_subject_dn_rfc2253", "Bytes"),
    ("cf.tls_client_auth.cert_serial", "Bytes"),
    ("cf.tls_client_auth.cert_issuer_serial", "Bytes"),
    ("cf.tls_client_auth.cert_fingerprint_sha256", "Bytes"),
    ("cf.tls_client_auth.cert_fingerprint_sha1", "Bytes"),
    ("cf.tls_client_auth.cert_not_before", "Bytes"),
    ("cf.tls_client_auth.cert_not_after", "Bytes"),
    ("cf.tls_client_auth.cert_ski", "Bytes"),
    ("cf.tls_client_auth.cert_issuer_ski", "Bytes"),
    ("cf.tls_client_auth.cert_subject_dn_legacy", "Bytes"),
    ("cf.tls_client_auth.cert_issuer_dn_legacy", "Bytes"),
    ("cf.tls_client_auth.cert_rfc9440", "Bytes"),
    ("cf.tls_client_auth.cert_rfc9440_too_large", "Bool"),
    ("cf.tls_client_auth.cert_chain_rfc9440", "Bytes"),
    ("cf.tls_client_auth.cert_chain_rfc9440_too_large", "Bool"),
    ("ip.dst", "Ip"),
    ("ip.proto", "Bytes"),
    ("ip.len", "Int"),
    ("ip.ttl", "Int"),
    ("tcp.srcport", "Int"),
    ("tcp.dstport", "Int"),
    ("tcp.flags", "Int"),
    ("tcp.flags.syn", "Bool"),
    ("tcp.flags.ack", "Bool"),
    ("tcp.flags.fin", "Bool"),
    ("tcp.flags.reset", "Bool"),
    ("udp.srcport", "Int"),
    ("udp.dstport", "Int"),
    ("icmp.type", "Int"),
    ("icmp.code", "Int"),
];

/// Aliases of the default schema: `(alias, field)`.
pub const ALIASES: &[(&str, &str)] = &[
    ("ip.geoip.asnum", "ip.src.asnum"),
    ("ip.geoip.country", "ip.src.country"),
    ("ip.geoip.continent", "ip.src.continent"),
];

/// The id of catalogue field `name` in [`Schema::default_http`](crate::Schema::default_http):
/// its position in [`FIELDS`]. Use it in a const context
/// (`const HOST: FieldId = id("http.host");`), where a name the catalogue
/// lacks fails compilation; aliases are not names here.
pub(crate) const fn id(name: &str) -> FieldId {
    let name = name.as_bytes();
    let mut k = 0;
    while k < FIELDS.len() {
        if bytes_eq(FIELDS[k].0.as_bytes(), name) {
            return FieldId(k as u32);
        }
        k += 1;
    }
    panic!("not a field of the default catalogue (src/catalogue.rs)")
}

/// `a == b`, in a const context.
const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut k = 0;
    while k < a.len() {
        if a[k] != b[k] {
            return false;
        }
        k += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schema;

    #[test]
    fn ids_are_the_default_schema_ids() {
        let schema = Schema::default_http();
        assert_eq!(schema.len(), FIELDS.len());
        for (name, _) in FIELDS {
            assert_eq!(schema.field_id(name), Some(id(name)), "{name}");
        }
        const HOST: FieldId = id("http.host");
        const LAST: FieldId = id("icmp.code");
        assert_eq!(HOST, FieldId(0));
        assert_eq!(LAST.index(), FIELDS.len() - 1);
    }
}
