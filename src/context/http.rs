//! [`HttpRequest`]: a typed request for the default HTTP catalogue.
//!
//! The builder takes what a proxy knows (method, URI, headers, client
//! address, TLS client-certificate facts...) and derives the rest once (path,
//! query, arguments, header names and values, cookies, `full_uri`), so that
//! evaluation only borrows: no per-request copy into a map.
//!
//! Filters read it by field id, so use it with filters compiled against
//! [`Schema::default_http`] (the ids are the catalogue's order).

#[path = "http_fields.rs"]
mod fields;

pub use fields::HttpFields;

use super::{Request, Table, check_value};
use crate::error::Error;
use crate::functions::eval::url_decode_bytes;
use crate::schema::{FieldId, Schema, Type};
use crate::value::{Scalar, Seq, Val, Value, canonical_ip};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::OnceLock;

/// A request over the default HTTP catalogue.
///
/// Its values sit in a dense table indexed by field id, so a filter reads a
/// field with one bounds-checked load: the same cost as a [`Context`](super::Context).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpRequest {
    table: Table,
}

impl Request for HttpRequest {
    #[inline]
    fn precomputed(&self) -> bool {
        true
    }

    #[inline]
    fn get(&self, id: FieldId) -> Val<'_> {
        self.table.get(id)
    }

    #[inline]
    fn scalar(&self, id: FieldId) -> Scalar<'_> {
        self.table.scalar(id)
    }
}

impl From<HttpFields> for HttpRequest {
    fn from(fields: HttpFields) -> Self {
        HttpRequest {
            table: Table {
                values: fields.into_values(),
            },
        }
    }
}

fn default_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(Schema::default_http)
}

/// The facts of a TLS client certificate (mutual TLS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCert {
    /// A certificate was presented.
    pub presented: bool,
    /// It chains to a trusted CA and is valid.
    pub verified: bool,
    /// It has been revoked.
    pub revoked: bool,
    /// Subject distinguished name.
    pub subject_dn: String,
    /// Issuer distinguished name.
    pub issuer_dn: String,
    /// Serial number (hex).
    pub serial: String,
    /// SHA-256 fingerprint (hex).
    pub fingerprint_sha256: String,
    /// Start of validity.
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
}

impl HttpRequest {
    /// Starts a request.
    pub fn builder() -> HttpRequestBuilder {
        HttpRequestBuilder::default()
    }

    /// The value of a default-catalogue field by name (or alias), resolved
    /// through [`Schema::default_http`]; `None` when the catalogue has no such
    /// field. Filters read by id ([`Request::get`]); this is for callers
    /// that want one field's typed value.
    pub fn get_by_name(&self, name: &str) -> Option<Val<'_>> {
        default_schema().field_id(name).map(|id| self.table.get(id))
    }
}

/// Builds an [`HttpRequest`], deriving dependent fields in [`build`](Self::build).
#[derive(Debug, Clone, Default)]
pub struct HttpRequestBuilder {
    req: HttpFields,
    scheme: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    error: Option<Error>,
}

impl HttpRequestBuilder {
    /// `http.request.method`.
    pub fn method(mut self, m: &str) -> Self {
        self.req.http_request_method = Some(m.as_bytes().to_vec());
        self
    }

    /// `https` or `http` (sets `ssl` and completes `full_uri`).
    pub fn scheme(mut self, s: &str) -> Self {
        self.req.ssl = Some(s.eq_ignore_ascii_case("https"));
        self.scheme = Some(s.to_ascii_lowercase());
        self
    }

    /// `http.host` (also taken from a `Host` header).
    pub fn host(mut self, h: &str) -> Self {
        self.req.http_host = Some(h.as_bytes().to_vec());
        self
    }

    /// The request target, path and query (`/a/b.php?x=1&y=2`).
    pub fn uri(mut self, uri: &str) -> Self {
        let raw = uri.as_bytes().to_vec();
        let (path, query) = match uri.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (uri, None),
        };
        let r = &mut self.req;
        r.raw_http_request_uri = Some(raw.clone());
        r.raw_http_request_uri_path = Some(path.as_bytes().to_vec());
        r.raw_http_request_uri_query = Some(query.unwrap_or("").as_bytes().to_vec());
        let decoded_path = url_decode_bytes(path.as_bytes(), false);
        let ext = decoded_path
            .rsplit(|&c| c == b'/')
            .next()
            .and_then(|last| {
                last.iter()
                    .rposition(|&c| c == b'.')
                    .map(|k| last[k + 1..].to_ascii_lowercase())
            })
            .unwrap_or_default();
        r.http_request_uri_path_extension = Some(ext);
        r.http_request_uri_path = Some(decoded_path);
        r.http_request_uri_query = Some(query.unwrap_or("").as_bytes().to_vec());
        r.http_request_uri = Some(raw);
        let (args, names, values) = parse_args(query.unwrap_or(""), true);
        let (raw_args, raw_names, raw_values) = parse_args(query.unwrap_or(""), false);
        r.http_request_uri_args = Some(args);
        r.http_request_uri_args_names = Some(names);
        r.http_request_uri_args_values = Some(values);
        r.raw_http_request_uri_args = Some(raw_args);
        r.raw_http_request_uri_args_names = Some(raw_names);
        r.raw_http_request_uri_args_values = Some(raw_values);
        self
    }

    /// Adds a request header (names are lowercased; repeated headers keep their order).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.as_ref().to_vec()));
        self
    }

    /// `ip.src`, the client address (IPv4-mapped IPv6 becomes IPv4).
    pub fn client_ip(mut self, ip: IpAddr) -> Self {
        self.req.ip_src = Some(canonical_ip(ip));
        self
    }

    /// `ip.src.country` (and its alias `ip.geoip.country`).
    pub fn country(mut self, c: &str) -> Self {
        self.req.ip_src_country = Some(c.as_bytes().to_vec());
        self
    }

    /// `ip.src.asnum`.
    pub fn asnum(mut self, n: i64) -> Self {
        self.req.ip_src_asnum = Some(n);
        self
    }

    /// `cf.bot_management.score`.
    pub fn bot_score(mut self, n: i64) -> Self {
        self.req.cf_bot_management_score = Some(n);
        self
    }

    /// `cf.waf.score`.
    pub fn waf_score(mut self, n: i64) -> Self {
        self.req.cf_waf_score = Some(n);
        self
    }

    /// `cf.tls_version` and `cf.tls_cipher`.
    pub fn tls(mut self, version: &str, cipher: &str) -> Self {
        self.req.cf_tls_version = Some(version.as_bytes().to_vec());
        self.req.cf_tls_cipher = Some(cipher.as_bytes().to_vec());
        self
    }

    /// The `cf.tls_client_auth.*` facts. A connection without a certificate is
    /// `ClientCert::default()` (every Bool false, every string empty).
    pub fn client_cert(mut self, c: &ClientCert) -> Self {
        let r = &mut self.req;
        let b = |s: &str| Some(s.as_bytes().to_vec());
        r.cf_tls_client_auth_cert_presented = Some(c.presented);
        r.cf_tls_client_auth_cert_verified = Some(c.verified);
        r.cf_tls_client_auth_cert_revoked = Some(c.revoked);
        r.cf_tls_client_auth_cert_subject_dn = b(&c.subject_dn);
        r.cf_tls_client_auth_cert_issuer_dn = b(&c.issuer_dn);
        r.cf_tls_client_auth_cert_subject_dn_rfc2253 = b(&c.subject_dn);
        r.cf_tls_client_auth_cert_issuer_dn_rfc2253 = b(&c.issuer_dn);
        r.cf_tls_client_auth_cert_serial = b(&c.serial);
        r.cf_tls_client_auth_cert_fingerprint_sha256 = b(&c.fingerprint_sha256);
        r.cf_tls_client_auth_cert_fingerprint_sha1 = b("");
        r.cf_tls_client_auth_cert_not_before = b(&c.not_before);
        r.cf_tls_client_auth_cert_not_after = b(&c.not_after);
        r.cf_tls_client_auth_cert_issuer_serial = b("");
        r.cf_tls_client_auth_cert_ski = b("");
        r.cf_tls_client_auth_cert_issuer_ski = b("");
        self
    }

    /// The request body (`http.request.body.raw`, `.size`, `.mime`; form fields
    /// for `application/x-www-form-urlencoded`).
    pub fn body(mut self, body: &[u8], mime: &str) -> Self {
        let r = &mut self.req;
        r.http_request_body_raw = Some(body.to_vec());
        r.http_request_body_size = Some(body.len() as i64);
        r.http_request_body_truncated = Some(false);
        r.http_request_body_mime = Some(mime.as_bytes().to_vec());
        if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            let (form, names, values) = parse_args(&String::from_utf8_lossy(body), true);
            r.http_request_body_form = Some(form);
            r.http_request_body_form_names = Some(names);
            r.http_request_body_form_values = Some(values);
        }
        self
    }

    /// Sets any default-catalogue field by name (or alias), checking its type.
    /// The first error is reported by [`build`](Self::build).
    pub fn field(mut self, name: &str, value: Value) -> Self {
        let schema = default_schema();
        let result = match schema.field_id(name) {
            None => Err(Error::Request {
                field: name.to_string(),
                message: "not a field of the default catalogue".to_string(),
            }),
            Some(id) => {
                let ty = schema.field(id).map(|f| f.ty.clone()).unwrap_or(Type::Bool);
                match check_value(&ty, &value) {
                    Ok(()) => {
                        self.req.set(id, value);
                        Ok(())
                    }
                    Err(m) => Err(Error::Request {
                        field: name.to_string(),
                        message: m,
                    }),
                }
            }
        };
        if let (Err(e), None) = (result, &self.error) {
            self.error = Some(e);
        }
        self
    }

    /// Derives the dependent fields and returns the request.
    pub fn build(self) -> Result<HttpRequest, Error> {
        self.build_fields().map(HttpRequest::from)
    }

    /// Derives the dependent fields and returns them as a typed struct.
    pub fn build_fields(mut self) -> Result<HttpFields, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let r = &mut self.req;
        if !self.headers.is_empty() {
            let mut map: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
            let mut names = Vec::with_capacity(self.headers.len());
            let mut values = Vec::with_capacity(self.headers.len());
            for (name, value) in &self.headers {
                names.push(Value::Bytes(name.as_bytes().to_vec()));
                values.push(Value::Bytes(value.clone()));
                if let Value::Array(a) = map
                    .entry(name.as_bytes().to_vec())
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    a.push(Value::Bytes(value.clone()));
                }
                let first = |slot: &mut Option<Vec<u8>>| {
                    if slot.is_none() {
                        *slot = Some(value.clone());
                    }
                };
                match name.as_str() {
                    "host" => first(&mut r.http_host),
                    "user-agent" => first(&mut r.http_user_agent),
                    "referer" => first(&mut r.http_referer),
                    "cookie" => first(&mut r.http_cookie),
                    "x-forwarded-for" => first(&mut r.http_x_forwarded_for),
                    "accept-language" => {
                        let langs = value
                            .split(|&c| c == b',')
                            .map(|l| {
                                l.split(|&c| c == b';')
                                    .next()
                                    .unwrap_or(b"")
                                    .trim_ascii()
                                    .to_vec()
                            })
                            .filter(|l| !l.is_empty())
                            .map(Value::Bytes)
                            .collect();
                        r.http_request_accepted_languages = Some(langs);
                    }
                    _ => {}
                }
            }
            r.http_request_headers = Some(map);
            r.http_request_headers_names = Some(names);
            r.http_request_headers_values = Some(values);
            r.http_request_headers_truncated = Some(false);
        }
        if let Some(cookie) = &r.http_cookie {
            let mut jar: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
            for pair in cookie.split(|&c| c == b';') {
                let pair = pair.trim_ascii();
                if pair.is_empty() {
                    continue;
                }
                let (k, v) = match pair.iter().position(|&c| c == b'=') {
                    Some(i) => (&pair[..i], &pair[i + 1..]),
                    None => (pair, &b""[..]),
                };
                if let Value::Array(a) = jar
                    .entry(k.to_vec())
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    a.push(Value::Bytes(v.to_vec()));
                }
            }
            r.http_request_cookies = Some(jar);
        }
        if let (Some(scheme), Some(host), Some(uri)) =
            (&self.scheme, &r.http_host, &r.http_request_uri)
        {
            let mut full = format!("{scheme}://").into_bytes();
            full.extend_from_slice(host);
            full.extend_from_slice(uri);
            r.raw_http_request_full_uri = Some(full.clone());
            r.http_request_full_uri = Some(full);
        }
        Ok(self.req)
    }
}

/// Splits `a=1&b=2&a=3` into a map of arrays, the names and the values, in order.
fn parse_args(query: &str, decode: bool) -> (BTreeMap<Vec<u8>, Value>, Vec<Value>, Vec<Value>) {
    let mut map: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
    let mut names = Vec::new();
    let mut values = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = if decode {
            (
                url_decode_bytes(k.as_bytes(), false),
                url_decode_bytes(v.as_bytes(), false),
            )
        } else {
            (k.as_bytes().to_vec(), v.as_bytes().to_vec())
        };
        names.push(Value::Bytes(k.clone()));
        values.push(Value::Bytes(v.clone()));
        if let Value::Array(a) = map.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
            a.push(Value::Bytes(v));
        }
    }
    (map, names, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_field_round_trips() {
        let schema = Schema::default_http();
        for (id, def) in schema.fields() {
            let value = match &def.ty {
                Type::Bool => Value::Bool(true),
                Type::Int => Value::Int(id.0 as i64 + 7),
                Type::Bytes => Value::Bytes(def.name.as_bytes().to_vec()),
                Type::Ip => Value::Ip("192.0.2.7".parse().unwrap()),
                Type::Array(_) => Value::Array(vec![Value::Bytes(b"x".to_vec())]),
                Type::Map(_) => Value::Map(BTreeMap::from([(
                    b"k".to_vec(),
                    Value::Array(vec![Value::Bytes(b"v".to_vec())]),
                )])),
            };
            let value = match (&def.ty, value) {
                (Type::Array(t), _) if **t == Type::Int => Value::Array(vec![Value::Int(3)]),
                (_, v) => v,
            };
            let req = HttpRequest::builder()
                .field(&def.name, value.clone())
                .build()
                .unwrap();
            assert_eq!(req.get(id), value.as_val(), "{}", def.name);
        }
    }

    #[test]
    fn builder_derives_uri_headers_and_cookies() {
        let req = HttpRequest::builder()
            .method("GET")
            .scheme("https")
            .uri("/a/B%20c.PHP?x=1&y=%41&x=2")
            .header("Host", "example.com")
            .header("Cookie", "sid=abc; theme=dark")
            .header("Accept-Language", "en-US,en;q=0.9")
            .build()
            .unwrap();
        let s = Schema::default_http();
        let get = |n: &str| req.get(s.field_id(n).unwrap());
        assert_eq!(
            get("http.request.uri.path"),
            Val::Bytes(Cow::Borrowed(b"/a/B c.PHP"))
        );
        assert_eq!(
            get("http.request.uri.path.extension"),
            Val::Bytes(Cow::Borrowed(b"php"))
        );
        assert_eq!(
            get("http.request.full_uri"),
            Val::Bytes(Cow::Borrowed(
                b"https://example.com/a/B%20c.PHP?x=1&y=%41&x=2"
            ))
        );
        assert_eq!(get("http.host"), Val::Bytes(Cow::Borrowed(b"example.com")));
        assert!(
            matches!(get("http.request.uri.args.names"), Val::Array(Seq::Values(v)) if v.len() == 3)
        );
        assert!(
            matches!(get("http.request.cookies"), Val::Map(m) if m.contains_key(&b"theme"[..]))
        );
        assert!(
            matches!(get("http.request.accepted_languages"), Val::Array(Seq::Values(v)) if v.len() == 2)
        );
        assert_eq!(get("ssl"), Val::Bool(true));
        assert_eq!(get("ip.src"), Val::Missing);
    }
}
