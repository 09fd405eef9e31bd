//! [`HttpRequest`]: a request for the default HTTP catalogue.
//!
//! It is the same dense table as a [`Context`](super::Context), over
//! [`Schema::default_http`], plus a builder: the builder takes what a proxy
//! knows (method, URI, headers, client address, TLS client-certificate
//! facts...) and derives the rest once (path, query, arguments, header names
//! and values, cookies, `full_uri`), so that evaluation only borrows: no
//! per-request copy into a map.
//!
//! The builder writes the table by field id, each id named by its catalogue
//! name and computed at compile time ([`catalogue`]), so a
//! misspelled field name does not compile.
//!
//! Filters read it by field id, so use it with filters compiled against
//! [`Schema::default_http`] (the ids are the catalogue's order).

use super::{ClientCert, Request, Table, canonical, check_value};
use crate::catalogue;
use crate::error::Error;
use crate::functions::eval::url_decode_bytes;
use crate::schema::Schema;
use crate::types::{FieldId, Scalar, Type, Val, Value, canonical_ip};
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

fn default_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(Schema::default_http)
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

/// The id of default-catalogue field `$name`, computed at compile time: a
/// name that is not in `src/catalogue.rs` does not compile.
macro_rules! id {
    ($name:literal) => {
        const { catalogue::id($name) }
    };
}

/// A byte-string value.
fn bytes(b: impl AsRef<[u8]>) -> Value {
    Value::Bytes(b.as_ref().to_vec())
}

/// Builds an [`HttpRequest`], deriving dependent fields in [`build`](Self::build).
///
/// It writes the request's table directly, by field id.
#[derive(Debug, Clone)]
pub struct HttpRequestBuilder {
    req: Table,
    scheme: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    error: Option<Error>,
}

impl Default for HttpRequestBuilder {
    fn default() -> Self {
        HttpRequestBuilder {
            req: Table::new(catalogue::FIELDS.len()),
            scheme: None,
            headers: Vec::new(),
            error: None,
        }
    }
}

impl HttpRequestBuilder {
    /// `http.request.method`.
    pub fn method(mut self, m: &str) -> Self {
        self.req.set(id!("http.request.method"), bytes(m));
        self
    }

    /// `https` or `http` (sets `ssl` and completes `full_uri`).
    pub fn scheme(mut self, s: &str) -> Self {
        self.req
            .set(id!("ssl"), Value::Bool(s.eq_ignore_ascii_case("https")));
        self.scheme = Some(s.to_ascii_lowercase());
        self
    }

    /// `http.host` (also taken from a `Host` header).
    pub fn host(mut self, h: &str) -> Self {
        self.req.set(id!("http.host"), bytes(h));
        self
    }

    /// The request target, path and query (`/a/b.php?x=1&y=2`).
    pub fn uri(mut self, uri: &str) -> Self {
        let (path, query) = match uri.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (uri, None),
        };
        let query = query.unwrap_or("");
        let r = &mut self.req;
        r.set(id!("raw.http.request.uri"), bytes(uri));
        r.set(id!("raw.http.request.uri.path"), bytes(path));
        r.set(id!("raw.http.request.uri.query"), bytes(query));
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
        r.set(id!("http.request.uri.path.extension"), Value::Bytes(ext));
        r.set(id!("http.request.uri.path"), Value::Bytes(decoded_path));
        r.set(id!("http.request.uri.query"), bytes(query));
        r.set(id!("http.request.uri"), bytes(uri));
        let (args, names, values) = parse_args(query, true);
        let (raw_args, raw_names, raw_values) = parse_args(query, false);
        r.set(id!("http.request.uri.args"), Value::Map(args));
        r.set(id!("http.request.uri.args.names"), Value::Array(names));
        r.set(id!("http.request.uri.args.values"), Value::Array(values));
        r.set(id!("raw.http.request.uri.args"), Value::Map(raw_args));
        r.set(
            id!("raw.http.request.uri.args.names"),
            Value::Array(raw_names),
        );
        r.set(
            id!("raw.http.request.uri.args.values"),
            Value::Array(raw_values),
        );
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
        self.req.set(id!("ip.src"), Value::Ip(canonical_ip(ip)));
        self
    }

    /// `ip.src.country` (and its alias `ip.geoip.country`).
    pub fn country(mut self, c: &str) -> Self {
        self.req.set(id!("ip.src.country"), bytes(c));
        self
    }

    /// `ip.src.asnum`.
    pub fn asnum(mut self, n: i64) -> Self {
        self.req.set(id!("ip.src.asnum"), Value::Int(n));
        self
    }

    /// `cf.bot_management.score`.
    pub fn bot_score(mut self, n: i64) -> Self {
        self.req.set(id!("cf.bot_management.score"), Value::Int(n));
        self
    }

    /// `cf.waf.score`.
    pub fn waf_score(mut self, n: i64) -> Self {
        self.req.set(id!("cf.waf.score"), Value::Int(n));
        self
    }

    /// `cf.tls_version` and `cf.tls_cipher`.
    pub fn tls(mut self, version: &str, cipher: &str) -> Self {
        self.req.set(id!("cf.tls_version"), bytes(version));
        self.req.set(id!("cf.tls_cipher"), bytes(cipher));
        self
    }

    /// The `cf.tls_client_auth.*` facts (see [`ClientCert`] for each
    /// field's format). A connection without a certificate is
    /// `ClientCert::default()` (every Bool false, every string empty).
    pub fn client_cert(mut self, c: &ClientCert) -> Self {
        c.write(&mut self.req);
        self
    }

    /// The request body (`http.request.body.raw`, `.size`, `.mime`; form fields
    /// for `application/x-www-form-urlencoded`).
    pub fn body(mut self, body: &[u8], mime: &str) -> Self {
        let r = &mut self.req;
        r.set(id!("http.request.body.raw"), bytes(body));
        r.set(id!("http.request.body.size"), Value::Int(body.len() as i64));
        r.set(id!("http.request.body.truncated"), Value::Bool(false));
        r.set(id!("http.request.body.mime"), bytes(mime));
        if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            let (form, names, values) = parse_args(&String::from_utf8_lossy(body), true);
            r.set(id!("http.request.body.form"), Value::Map(form));
            r.set(id!("http.request.body.form.names"), Value::Array(names));
            r.set(id!("http.request.body.form.values"), Value::Array(values));
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
                        self.req.set(id, canonical(value));
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
    pub fn build(mut self) -> Result<HttpRequest, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let r = &mut self.req;
        if !self.headers.is_empty() {
            let mut map: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
            let mut names = Vec::with_capacity(self.headers.len());
            let mut values = Vec::with_capacity(self.headers.len());
            for (name, value) in &self.headers {
                names.push(bytes(name));
                values.push(bytes(value));
                if let Value::Array(a) = map
                    .entry(name.as_bytes().to_vec())
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    a.push(bytes(value));
                }
                // The first such header fills its field, unless already set.
                let mut first = |id: FieldId| {
                    if r.value(id).is_none() {
                        r.set(id, bytes(value));
                    }
                };
                match name.as_str() {
                    "host" => first(id!("http.host")),
                    "user-agent" => first(id!("http.user_agent")),
                    "referer" => first(id!("http.referer")),
                    "cookie" => first(id!("http.cookie")),
                    "x-forwarded-for" => first(id!("http.x_forwarded_for")),
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
                        r.set(id!("http.request.accepted_languages"), Value::Array(langs));
                    }
                    _ => {}
                }
            }
            r.set(id!("http.request.headers"), Value::Map(map));
            r.set(id!("http.request.headers.names"), Value::Array(names));
            r.set(id!("http.request.headers.values"), Value::Array(values));
            r.set(id!("http.request.headers.truncated"), Value::Bool(false));
        }
        if let Some(Value::Bytes(cookie)) = r.value(id!("http.cookie")) {
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
                    a.push(bytes(v));
                }
            }
            r.set(id!("http.request.cookies"), Value::Map(jar));
        }
        if let (Some(scheme), Some(Value::Bytes(host)), Some(Value::Bytes(uri))) = (
            &self.scheme,
            r.value(id!("http.host")),
            r.value(id!("http.request.uri")),
        ) {
            let mut full = format!("{scheme}://").into_bytes();
            full.extend_from_slice(host);
            full.extend_from_slice(uri);
            r.set(id!("raw.http.request.full_uri"), Value::Bytes(full.clone()));
            r.set(id!("http.request.full_uri"), Value::Bytes(full));
        }
        Ok(HttpRequest { table: self.req })
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
    use crate::types::Seq;
    use std::borrow::Cow;

    #[test]
    fn every_default_field_round_trips() {
        // Every catalogue field, set through `.field(name, value)`, reads
        // back by its catalogue id with the value (and so the type) it was given.
        for (name, ty) in catalogue::FIELDS {
            let id = catalogue::id(name);
            let ty = Type::parse(ty).unwrap();
            let value = match &ty {
                Type::Bool => Value::Bool(true),
                Type::Int => Value::Int(id.0 as i64 + 7),
                Type::Bytes => Value::Bytes(name.as_bytes().to_vec()),
                Type::Ip => Value::Ip("192.0.2.7".parse().unwrap()),
                Type::Array(_) => Value::Array(vec![Value::Bytes(b"x".to_vec())]),
                Type::Map(_) => Value::Map(BTreeMap::from([(
                    b"k".to_vec(),
                    Value::Array(vec![Value::Bytes(b"v".to_vec())]),
                )])),
            };
            let value = match (&ty, value) {
                (Type::Array(t), _) if **t == Type::Int => Value::Array(vec![Value::Int(3)]),
                (_, v) => v,
            };
            check_value(&ty, &value).unwrap();
            let req = HttpRequest::builder()
                .field(name, value.clone())
                .build()
                .unwrap();
            assert_eq!(req.get(id), value.as_val(), "{name}");
            assert_eq!(req.get_by_name(name), Some(value.as_val()), "{name}");
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
