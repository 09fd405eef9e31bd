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
    ("http.request.body.multipart", "Map<Array<Bytes>>"),
    ("http.request.body.multipart.names", "Array<Array<Bytes>>"),
    ("http.request.body.multipart.values", "Array<Bytes>"),
    (
        "http.request.body.multipart.content_types",
        "Array<Array<Bytes>>",
    ),
    (
        "http.request.body.multipart.content_dispositions",
        "Array<Array<Bytes>>",
    ),
    (
        "http.request.body.multipart.content_transfer_encodings",
        "Array<Array<Bytes>>",
    ),
    (
        "http.request.body.multipart.filenames",
        "Array<Array<Bytes>>",
    ),
    ("http.request.jwt.claims", "Map<Array<Bytes>>"),
    ("http.request.jwt.claims.aud", "Map<Array<Bytes>>"),
    ("http.request.jwt.claims.aud.names", "Array<Bytes>"),
    ("http.request.jwt.claims.aud.values", "Array<Bytes>"),
    ("http.request.jwt.claims.iss", "Map<Array<Bytes>>"),
    ("http.request.jwt.claims.iss.names", "Array<Bytes>"),
    ("http.request.jwt.claims.iss.values", "Array<Bytes>"),
    ("http.request.jwt.claims.jti", "Map<Array<Bytes>>"),
    ("http.request.jwt.claims.jti.names", "Array<Bytes>"),
    ("http.request.jwt.claims.jti.values", "Array<Bytes>"),
    ("http.request.jwt.claims.sub", "Map<Array<Bytes>>"),
    ("http.request.jwt.claims.sub.names", "Array<Bytes>"),
    ("http.request.jwt.claims.sub.values", "Array<Bytes>"),
    ("http.request.jwt.claims.iat.sec", "Map<Array<Int>>"),
    ("http.request.jwt.claims.iat.sec.names", "Array<Bytes>"),
    ("http.request.jwt.claims.iat.sec.values", "Array<Int>"),
    ("http.request.jwt.claims.nbf.sec", "Map<Array<Int>>"),
    ("http.request.jwt.claims.nbf.sec.names", "Array<Bytes>"),
    ("http.request.jwt.claims.nbf.sec.values", "Array<Int>"),
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
    ("ip.src.lat", "Bytes"),
    ("ip.src.lon", "Bytes"),
    ("ip.src.metro_code", "Bytes"),
    ("ip.src.subdivision_1_iso_code", "Bytes"),
    ("ip.src.subdivision_2_iso_code", "Bytes"),
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
    ("cf.bot_management.js_detection.passed", "Bool"),
    ("cf.bot_management.corporate_proxy", "Bool"),
    ("cf.verified_bot_category", "Bytes"),
    ("cf.waf.score", "Int"),
    ("cf.waf.score.sqli", "Int"),
    ("cf.waf.score.xss", "Int"),
    ("cf.waf.score.rce", "Int"),
    ("cf.waf.score.class", "Bytes"),
    ("cf.waf.auth_detected", "Bool"),
    ("cf.waf.credential_check.password_leaked", "Bool"),
    (
        "cf.waf.credential_check.username_and_password_leaked",
        "Bool",
    ),
    ("cf.waf.credential_check.username_leaked", "Bool"),
    ("cf.waf.credential_check.username_password_similar", "Bool"),
    ("cf.api_gateway.auth_id_present", "Bool"),
    ("cf.api_gateway.fallthrough_detected", "Bool"),
    ("cf.api_gateway.request_violates_schema", "Bool"),
    ("cf.response.1xxx_code", "Int"),
    ("cf.tls_version", "Bytes"),
    ("cf.tls_cipher", "Bytes"),
    ("cf.tls_ciphers_sha1", "Bytes"),
    ("cf.tls_client_extensions_sha1", "Bytes"),
    ("cf.tls_client_extensions_sha1_le", "Bytes"),
    ("cf.tls_client_hello_length", "Int"),
    ("cf.tls_client_random", "Bytes"),
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

/// The managed lists of the default schema, `(name, type)`: declared, with
/// contents the embedder supplies (empty until set).
pub const LISTS: &[(&str, &str)] = &[
    ("cf.open_proxies", "Ip"),
    ("cf.anonymizer", "Ip"),
    ("cf.vpn", "Ip"),
    ("cf.malware", "Ip"),
    ("cf.botnetcc", "Ip"),
];

/// Aliases of the default schema: `(alias, field)`.
pub const ALIASES: &[(&str, &str)] = &[
    ("ip.geoip.asnum", "ip.src.asnum"),
    ("ip.geoip.country", "ip.src.country"),
    ("ip.geoip.continent", "ip.src.continent"),
    (
        "ip.geoip.is_in_european_union",
        "ip.src.is_in_european_union",
    ),
    (
        "ip.geoip.subdivision_1_iso_code",
        "ip.src.subdivision_1_iso_code",
    ),
    (
        "ip.geoip.subdivision_2_iso_code",
        "ip.src.subdivision_2_iso_code",
    ),
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
        "http.cookie",
        "the Cookie headers' values, joined by \"; \"",
    ),
    ("http.referer", "the first Referer header"),
    ("http.user_agent", "the first User-Agent header"),
    (
        "http.x_forwarded_for",
        "every X-Forwarded-For header's value, joined by \", \" (as sent: a client may forge it)",
    ),
    ("http.request.method", "the method as sent, e.g. GET"),
    (
        "http.request.full_uri",
        "scheme://host (lower-cased, with port) and http.request.uri",
    ),
    (
        "http.request.uri",
        "the normalised path, then ? and the query as sent (when there was a ?)",
    ),
    (
        "http.request.uri.path",
        "the path normalised as the public edge does: unreserved escapes decoded, dot segments removed, // merged, \\ as / (docs/language.md)",
    ),
    (
        "http.request.uri.path.extension",
        "what follows the last . of the normalised path's last segment, lower-cased (\"\" without one)",
    ),
    ("http.request.uri.query", "the query as sent, without the ?"),
    (
        "http.request.uri.args",
        "the query's arguments by name, url-decoded, values in order",
    ),
    (
        "http.request.uri.args.names",
        "the query's argument names, url-decoded, in order",
    ),
    (
        "http.request.uri.args.values",
        "the query's argument values, url-decoded, in order",
    ),
    (
        "http.request.cookies",
        "the cookies by name, values in order",
    ),
    (
        "http.request.headers",
        "the headers by lower-cased name, values in order",
    ),
    (
        "http.request.headers.names",
        "the header names as received, in order",
    ),
    (
        "http.request.headers.values",
        "the header values, in the order of .names",
    ),
    (
        "http.request.headers.truncated",
        "more headers came than were kept",
    ),
    (
        "http.request.accepted_languages",
        "the language tags of Accept-Language, in order, without q",
    ),
    ("http.request.body.raw", "the body, up to the body limit"),
    ("http.request.body.size", "the body's length in bytes"),
    (
        "http.request.body.truncated",
        "the body was longer than the body limit, so body fields see a prefix",
    ),
    (
        "http.request.body.mime",
        "the media type, from Content-Type without parameters unless given",
    ),
    (
        "http.request.body.form",
        "the fields of an application/x-www-form-urlencoded body, url-decoded",
    ),
    (
        "raw.http.request.uri.path",
        "the path as received (not normalised)",
    ),
    ("raw.http.request.uri", "the path and query as received"),
    (
        "raw.http.request.full_uri",
        "the request target as received (absolute form), or scheme://host and the raw uri",
    ),
    (
        "raw.http.request.uri.path.extension",
        "the extension of the raw path, as received (not lower-cased)",
    ),
    (
        "raw.http.request.uri.args",
        "the query's arguments by name, not decoded",
    ),
    ("ssl", "the request came over TLS (https)"),
    (
        "ip.src",
        "the client's address (an IPv4-mapped IPv6 address as IPv4); not X-Forwarded-For",
    ),
    (
        "ip.src.country",
        "ISO 3166-1 alpha-2 country code, supplied by the embedder's geolocation",
    ),
    (
        "cf.edge.server_ip",
        "the address the request was accepted on",
    ),
    (
        "cf.edge.server_port",
        "the port the request was accepted on",
    ),
    (
        "cf.bot_management.score",
        "1 (bot) to 99 (human), supplied by the embedder",
    ),
    (
        "cf.waf.score",
        "1 (attack) to 99 (clean), supplied by the embedder",
    ),
    (
        "http.response.code",
        "the response status (response-phase rules)",
    ),
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

/// How a default field's text is written, where a literal written another
/// way can never match it (the lints warn about such literals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Upper-case hex digits, no separators (`3A2F9C01`).
    UpperHex,
    /// Lower-case hex digits, no separators.
    LowerHex,
    /// Lower-cased text.
    LowerCase,
    /// Upper-cased text (no default field: what `upper(...)` gives).
    UpperCase,
    /// A map whose keys are lower-cased.
    LowerKeys,
}

/// The fields of [`FIELDS`] with a [`Form`] (their [`DOCS`] say so).
const FORMS: &[(&str, Form)] = &[
    ("http.host", Form::LowerCase),
    ("http.request.uri.path.extension", Form::LowerCase),
    ("http.request.headers", Form::LowerKeys),
    ("cf.tls_client_auth.cert_serial", Form::UpperHex),
    ("cf.tls_client_auth.cert_issuer_serial", Form::UpperHex),
    ("cf.tls_client_auth.cert_ski", Form::UpperHex),
    ("cf.tls_client_auth.cert_issuer_ski", Form::UpperHex),
    ("cf.tls_client_auth.cert_fingerprint_sha256", Form::LowerHex),
    ("cf.tls_client_auth.cert_fingerprint_sha1", Form::LowerHex),
];

/// How many hex digits default field `name` always has, for the digests.
pub(crate) fn hex_digits(name: &str) -> Option<usize> {
    match name {
        "cf.tls_client_auth.cert_fingerprint_sha256" => Some(64),
        "cf.tls_client_auth.cert_fingerprint_sha1" => Some(40),
        _ => None,
    }
}

/// The form of default field `name` (canonical, not an alias), if it has one.
pub(crate) fn form(name: &str) -> Option<Form> {
    FORMS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

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

    /// Every form is a catalogue field's, and agrees with what its doc says.
    #[test]
    fn forms_agree_with_the_docs() {
        for (name, form) in FORMS {
            let doc = doc(name);
            let says = match form {
                Form::UpperHex => "upper-case hex",
                Form::LowerHex => "lower-case hex",
                Form::LowerCase | Form::LowerKeys => "lower-cased",
                Form::UpperCase => "upper-cased",
            };
            assert!(FIELDS.iter().any(|(n, _)| n == name), "{name}");
            assert!(doc.contains(says), "{name}: {doc}");
            if let Some(n) = hex_digits(name) {
                assert!(doc.contains(&format!("({n} digits)")), "{name}: {doc}");
            }
        }
    }
}
