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

/// The format of each default field whose format a rule depends on, as
/// `portcullis fields` prints it (`LANGUAGE.md` §10).
const DOCS: &[(&str, &str)] = &[
    (
        "http.host",
        "the request's host (Host header, or the authority of an absolute-form target), lower-cased, without port or trailing dot",
    ),
    (
        "http.request.timestamp.sec",
        "when the request was received: seconds since the Unix epoch",
    ),
    (
        "http.request.timestamp.msec",
        "the millisecond within that second, 0-999",
    ),
    (
        "http.request.version",
        "HTTP/1.0, HTTP/1.1, HTTP/2 or HTTP/3",
    ),
    (
        "cf.tls_version",
        "TLSv1.2 or TLSv1.3 (empty for plain HTTP)",
    ),
    (
        "cf.tls_cipher",
        "the cipher suite's OpenSSL name, e.g. AEAD-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        "cf.tls_client_auth.cert_presented",
        "the client sent a certificate, valid or not",
    ),
    (
        "cf.tls_client_auth.cert_verified",
        "the certificate chains to a trusted CA and is within its validity period; ALSO TRUE WHEN REVOKED: test cert_revoked too",
    ),
    (
        "cf.tls_client_auth.cert_revoked",
        "a verified certificate that a CRL of its CA revokes",
    ),
    (
        "cf.tls_client_auth.cert_subject_dn",
        "subject DN, RFC 2253 form: CN=James Royal,OU=Admins,O=Access,C=US",
    ),
    (
        "cf.tls_client_auth.cert_issuer_dn",
        "issuer DN, RFC 2253 form: CN=Access CA,O=Access,C=US",
    ),
    (
        "cf.tls_client_auth.cert_subject_dn_rfc2253",
        "subject DN per RFC 2253 (last RDN first; ,+\"\\<>; escaped; non-ASCII bytes as \\XX), as openssl -nameopt RFC2253",
    ),
    (
        "cf.tls_client_auth.cert_issuer_dn_rfc2253",
        "issuer DN per RFC 2253, as openssl -nameopt RFC2253",
    ),
    (
        "cf.tls_client_auth.cert_subject_dn_legacy",
        "subject DN, legacy form in certificate order: /C=US/O=Access/CN=James Royal, as openssl -nameopt compat",
    ),
    (
        "cf.tls_client_auth.cert_issuer_dn_legacy",
        "issuer DN, legacy form: /C=US/O=Access/CN=Access CA",
    ),
    (
        "cf.tls_client_auth.cert_serial",
        "serial number, upper-case hex without separators or sign byte: 3A2F9C01",
    ),
    (
        "cf.tls_client_auth.cert_issuer_serial",
        "the issuing CA certificate's serial number, upper-case hex",
    ),
    (
        "cf.tls_client_auth.cert_fingerprint_sha256",
        "SHA-256 of the DER certificate, lower-case hex without separators (64 digits)",
    ),
    (
        "cf.tls_client_auth.cert_fingerprint_sha1",
        "SHA-1 of the DER certificate, lower-case hex without separators (40 digits)",
    ),
    (
        "cf.tls_client_auth.cert_not_before",
        "start of validity, e.g. Mar 21 13:35:00 2022 GMT (day space-padded: Mar  1)",
    ),
    (
        "cf.tls_client_auth.cert_not_after",
        "end of validity, e.g. Mar 21 13:35:00 2023 GMT",
    ),
    (
        "cf.tls_client_auth.cert_ski",
        "Subject Key Identifier, upper-case hex (empty without the extension)",
    ),
    (
        "cf.tls_client_auth.cert_issuer_ski",
        "the issuer's Subject Key Identifier (else the certificate's Authority Key Identifier), upper-case hex",
    ),
    (
        "cf.tls_client_auth.cert_rfc9440",
        "the certificate as an RFC 9440 Client-Cert value, :base64(DER):; empty when over 10 KiB",
    ),
    (
        "cf.tls_client_auth.cert_rfc9440_too_large",
        "the encoded certificate exceeds 10 KiB, so cert_rfc9440 is empty",
    ),
    (
        "cf.tls_client_auth.cert_chain_rfc9440",
        "the intermediates as sent, RFC 9440 Client-Cert-Chain: :b64:, :b64:; empty when over 16 KiB",
    ),
    (
        "cf.tls_client_auth.cert_chain_rfc9440_too_large",
        "the encoded chain exceeds 16 KiB, so cert_chain_rfc9440 is empty",
    ),
];

/// The documented format of default field `name`, or `""`.
pub(crate) fn doc(name: &str) -> &'static str {
    DOCS.iter().find(|(n, _)| *n == name).map_or("", |(_, d)| d)
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
