//! [`HttpRequest`]: a request for the default HTTP catalogue.
//!
//! It is the same dense table as a [`Context`](super::Context), over
//! [`Schema::default_http`], plus a builder: the builder takes what a proxy
//! knows (method, request target, headers, client address, TLS
//! client-certificate facts...) and derives the rest once (the normalised
//! path, query, arguments, header names and values, cookies, `full_uri`), so
//! that evaluation only borrows: no per-request copy into a map. The
//! request JSON of the command line goes through the same builder
//! ([`HttpRequest::from_json`]), so both derive the same fields.
//!
//! The builder writes the table by field id, each id named by its catalogue
//! name and computed at compile time ([`catalogue`]), so a
//! misspelled field name does not compile.
//!
//! Filters read it by field id, so use it with filters compiled against
//! [`Schema::default_http`] (the ids are the catalogue's order).

use super::{ClientCert, Request, Table, canonical, check_value, url};
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
    pub(super) table: Table,
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

/// [`Schema::default_http`], built once.
pub(super) fn default_schema() -> &'static Schema {
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

/// Field `name` of `schema` with `value`, its type checked (`missing` says
/// why a name that is not there is wrong).
fn typed(
    schema: &Schema,
    name: &str,
    value: Value,
    missing: &str,
) -> Result<(FieldId, Value), Error> {
    let error = |message: String| Error::Request {
        field: name.to_string(),
        message,
    };
    let id = schema
        .field_id(name)
        .ok_or_else(|| error(missing.to_string()))?;
    let ty = schema.field(id).map(|f| f.ty.clone()).unwrap_or(Type::Bool);
    check_value(&ty, &value).map_err(error)?;
    Ok((id, canonical(value)))
}

/// How much of a request body the body fields see by default: 128 KiB, the
/// public edge's default inspection limit ([`HttpRequestBuilder::body_limit`]).
pub const DEFAULT_BODY_LIMIT: usize = 128 * 1024;

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

/// Builds an [`HttpRequest`] from raw request parts, deriving every
/// dependent field in [`build`](Self::build).
///
/// The request target, host, scheme, headers and body are kept as given
/// and derived from once, when the request is built, so the order of the
/// calls does not matter: `docs/language.md` ("Request fields and
/// normalisation") says what each field is. What [`field`](Self::field)
/// sets wins over anything derived.
///
/// The builder is one pointer wide (its parts are boxed), so that passing
/// it by value from call to call copies a word, not the parts.
#[derive(Debug, Clone, Default)]
pub struct HttpRequestBuilder(Box<Parts>);

/// What an [`HttpRequestBuilder`] holds.
#[derive(Debug, Clone)]
struct Parts {
    req: Table,
    scheme: Option<String>,
    host: Option<Vec<u8>>,
    target: Option<Vec<u8>>,
    headers: Headers,
    body: Option<(Vec<u8>, String)>,
    /// The whole body's length, when known (the kept part is at most
    /// `body_limit`).
    body_size: Option<usize>,
    body_limit: usize,
    /// Fields set by name (of the catalogue or of an extension of it).
    fields: Vec<(FieldId, Value)>,
    error: Option<Error>,
}

impl Default for Parts {
    fn default() -> Self {
        Parts {
            // Grown as fields are set: as long as the last one needs.
            req: Table::new(0),
            scheme: None,
            host: None,
            target: None,
            headers: Headers::default(),
            body: None,
            body_size: None,
            body_limit: DEFAULT_BODY_LIMIT,
            fields: Vec::new(),
            error: None,
        }
    }
}

impl HttpRequestBuilder {
    /// `http.request.method`.
    pub fn method(mut self, m: &str) -> Self {
        self.0.req.set_with(id!("http.request.method"), || bytes(m));
        self
    }

    /// `https` or `http` (sets `ssl` and completes `full_uri`); wins over
    /// the scheme of an absolute-form [`uri`](Self::uri).
    pub fn scheme(mut self, s: &str) -> Self {
        self.0.scheme = Some(s.to_ascii_lowercase());
        self
    }

    /// `http.host`; wins over the authority of an absolute-form
    /// [`uri`](Self::uri), which wins over a `Host` header.
    pub fn host(mut self, h: &str) -> Self {
        self.0.host = Some(h.as_bytes().to_vec());
        self
    }

    /// The request target as received: origin form (`/a/b.php?x=1&y=2`),
    /// absolute form (`https://host:8443/a?x`, as HTTP/2 carries it), `*`
    /// or `host:port`. The path is normalised into `http.request.uri.path`
    /// (and `uri`, `full_uri`, `uri.path.extension`); `raw.http.request.*`
    /// keep the bytes as received.
    pub fn uri(mut self, target: impl AsRef<[u8]>) -> Self {
        self.0.target = Some(target.as_ref().to_vec());
        self
    }

    /// Adds a request header. Names are kept as given in
    /// `http.request.headers.names` and lowercased as keys of
    /// `http.request.headers`; repeated headers keep their order.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.add_header(name.as_bytes(), value.as_ref());
        self
    }

    /// [`header`](Self::header) in place, for the crate's conversions.
    pub(crate) fn add_header(&mut self, name: &[u8], value: &[u8]) {
        self.0.headers.push(name, value);
    }

    /// Room for `count` more headers of `bytes` bytes in all.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn reserve_headers(&mut self, count: usize, bytes: usize) {
        self.0.headers.ends.reserve(count);
        self.0.headers.bytes.reserve(bytes);
    }

    /// Builds only `fields` (what a rule set or filter reads: their
    /// `fields()`), leaving the others missing, and derives nothing that
    /// they do not need. Evaluating a rule set or filter on the result
    /// decides exactly as on the whole request. Call it first: values set
    /// before it are computed, then dropped.
    pub fn only(mut self, fields: &[FieldId]) -> Self {
        let top = fields.iter().map(|f| f.index() + 1).max().unwrap_or(0);
        let words = catalogue::FIELDS.len().max(top).div_ceil(64);
        let mut bits = vec![0u64; words].into_boxed_slice();
        for f in fields {
            if let Some(w) = bits.get_mut(f.index() / 64) {
                *w |= 1 << (f.index() % 64);
            }
        }
        self.0.req.only = Some(bits);
        // No field past `top` is kept: the table never grows past it.
        self.0
            .req
            .values
            .reserve_exact(top.saturating_sub(self.0.req.values.len()));
        self
    }

    /// Sets field `id` to `value`, which has its type: for the crate's own
    /// derivations, which name fields by id.
    pub(crate) fn put(mut self, id: FieldId, value: Value) -> Self {
        self.set_field(id, value);
        self
    }

    /// [`put`](Self::put) in place.
    pub(crate) fn set_field(&mut self, id: FieldId, value: Value) {
        self.0.req.set(id, value);
    }

    /// `ip.src`, the client address (IPv4-mapped IPv6 becomes IPv4).
    pub fn client_ip(mut self, ip: IpAddr) -> Self {
        self.0.req.set(id!("ip.src"), Value::Ip(canonical_ip(ip)));
        self
    }

    /// `ip.src.country` (and its alias `ip.geoip.country`).
    pub fn country(mut self, c: &str) -> Self {
        self.0.req.set_with(id!("ip.src.country"), || bytes(c));
        self
    }

    /// `ip.src.asnum`.
    pub fn asnum(mut self, n: i64) -> Self {
        self.0.req.set(id!("ip.src.asnum"), Value::Int(n));
        self
    }

    /// `cf.bot_management.score`.
    pub fn bot_score(mut self, n: i64) -> Self {
        self.0
            .req
            .set(id!("cf.bot_management.score"), Value::Int(n));
        self
    }

    /// `cf.waf.score`.
    pub fn waf_score(mut self, n: i64) -> Self {
        self.0.req.set(id!("cf.waf.score"), Value::Int(n));
        self
    }

    /// `cf.tls_version` and `cf.tls_cipher`.
    pub fn tls(mut self, version: &str, cipher: &str) -> Self {
        self.0
            .req
            .set_with(id!("cf.tls_version"), || bytes(version));
        self.0.req.set_with(id!("cf.tls_cipher"), || bytes(cipher));
        self
    }

    /// The `cf.tls_client_auth.*` facts (see [`ClientCert`] for each
    /// field's format). A connection without a certificate is
    /// `ClientCert::default()` (every Bool false, every string empty).
    pub fn client_cert(mut self, c: &ClientCert) -> Self {
        c.write(&mut self.0.req);
        self
    }

    /// The request body (`http.request.body.raw`, `.size`, `.mime`; form fields
    /// for `application/x-www-form-urlencoded`). An empty `mime` is taken
    /// from the `Content-Type` header (its media type, without parameters).
    pub fn body(mut self, body: &[u8], mime: &str) -> Self {
        let kept = &body[..body.len().min(self.0.body_limit)];
        self.0.body = Some((kept.to_vec(), mime.to_string()));
        self.0.body_size = Some(body.len());
        self
    }

    /// How much of a body the body fields see ([`DEFAULT_BODY_LIMIT`] unless
    /// set; call it before [`body`](Self::body)): `http.request.body.raw`
    /// and the form fields hold at most this many bytes,
    /// `http.request.body.size` is the whole body's length, and
    /// `http.request.body.truncated` says whether they differ.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.0.body_limit = bytes;
        self
    }

    /// A body of which only `prefix` was read (a proxy streaming it on),
    /// `size` bytes in all (`None`: not known, and more than the prefix;
    /// `http.request.body.size` is then missing and `.truncated` true).
    pub fn body_prefix(mut self, prefix: &[u8], size: Option<usize>, mime: &str) -> Self {
        let kept = &prefix[..prefix.len().min(self.0.body_limit)];
        self.0.body = Some((kept.to_vec(), mime.to_string()));
        self.0.body_size = size.map(|n| n.max(prefix.len()));
        self
    }

    /// Sets any default-catalogue field by name (or alias), checking its
    /// type. The value wins over whatever the other methods derive, and
    /// sets that field only. The first error is reported by
    /// [`build`](Self::build).
    pub fn field(mut self, name: &str, value: Value) -> Self {
        match typed(
            default_schema(),
            name,
            value,
            "not a field of the default catalogue",
        ) {
            Ok(set) => self.0.fields.push(set),
            Err(e) => self.keep_first(e),
        }
        self
    }

    /// Sets field `name` of `schema`, an extension of the default catalogue
    /// ([`SchemaBuilder::default_http`](crate::SchemaBuilder::default_http)
    /// plus fields of one's own), checking its type: for the fields the
    /// catalogue does not have. The first error is reported by
    /// [`build`](Self::build); a schema whose first fields are not the
    /// catalogue's is an error too (its ids would not be the request's).
    pub fn extra_field(mut self, schema: &Schema, name: &str, value: Value) -> Self {
        let catalogue = catalogue::FIELDS;
        let fits = schema.len() >= catalogue.len()
            && catalogue.iter().enumerate().all(|(k, (n, _))| {
                schema
                    .field(FieldId(k as u32))
                    .is_some_and(|f| f.name == *n)
            });
        let result = if fits {
            typed(schema, name, value, "not a field of the schema")
        } else {
            Err(Error::Request {
                field: name.to_string(),
                message: "the schema does not extend the default catalogue (build it from SchemaBuilder::default_http)".to_string(),
            })
        };
        match result {
            Ok(set) => self.0.fields.push(set),
            Err(e) => self.keep_first(e),
        }
        self
    }

    /// Records `e` unless an error is already recorded ([`build`](Self::build)
    /// reports the first).
    fn keep_first(&mut self, e: Error) {
        self.0.error.get_or_insert(e);
    }

    /// Fields set by name, already checked (from [`HttpRequest::from_json`]).
    pub(super) fn checked_fields(
        mut self,
        fields: impl IntoIterator<Item = (FieldId, Value)>,
    ) -> Self {
        self.0.fields.extend(fields);
        self
    }

    /// Derives the dependent fields and returns the request.
    pub fn build(self) -> Result<HttpRequest, Error> {
        let Parts {
            mut req,
            scheme,
            host,
            target,
            headers,
            body,
            body_size,
            body_limit: _,
            fields,
            error,
        } = *self.0;
        if let Some(e) = error {
            return Err(e);
        }
        if req.only.is_none() {
            // The whole catalogue is derived: one allocation, not a growth
            // per field.
            let n = catalogue::FIELDS.len();
            if req.values.len() < n {
                req.values.resize(n, None);
            }
        }
        let r = &mut req;
        let from_headers = derive_headers(r, &headers);
        let target = target.as_deref().map(|t| (t, url::split_target(t)));
        let scheme = scheme.or_else(|| {
            let (_, t) = target.as_ref()?;
            t.scheme
                .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        });
        if let Some(s) = &scheme {
            r.set(id!("ssl"), Value::Bool(s == "https"));
        }
        let need_host = [
            id!("http.host"),
            id!("http.request.full_uri"),
            id!("raw.http.request.full_uri"),
        ]
        .iter()
        .any(|&id| r.wants(id));
        let host = host
            .as_deref()
            .or_else(|| target.as_ref()?.1.authority.filter(|a| !a.is_empty()))
            .or(from_headers.host)
            .filter(|_| need_host);
        let host = host.map(url::normalize_host);
        if let Some((h, _)) = &host {
            r.set_with(id!("http.host"), || bytes(h));
        }
        if let Some((raw, t)) = &target {
            let origin = scheme
                .as_deref()
                .zip(host.as_ref().map(|(_, a)| a.as_slice()));
            derive_target(r, raw, t, origin);
        }
        if let Some(cookie) = &from_headers.cookie {
            r.set_with(id!("http.request.cookies"), || {
                Value::Map(parse_cookies(cookie))
            });
        }
        if let Some((body, mime)) = &body {
            let mime = match (mime.is_empty(), from_headers.content_type) {
                (true, Some(ct)) => media_type(ct),
                _ => mime.as_bytes(),
            };
            derive_body(r, body, body_size, mime);
        }
        for (id, value) in fields {
            r.set(id, value);
        }
        req.only = None;
        Ok(HttpRequest { table: req })
    }
}

/// What the headers give the fields derived after them.
struct FromHeaders<'h> {
    /// The first `Host` header.
    host: Option<&'h [u8]>,
    /// Every `Cookie` header, joined by `; ` (as HTTP/2 splits them).
    cookie: Option<Vec<u8>>,
    /// The first `Content-Type` header.
    content_type: Option<&'h [u8]>,
}

/// The headers as given: every name and value in one buffer.
#[derive(Debug, Clone, Default)]
struct Headers {
    bytes: Vec<u8>,
    /// Where each header's name ends and its value ends, in `bytes`.
    ends: Vec<(usize, usize)>,
}

impl Headers {
    fn push(&mut self, name: &[u8], value: &[u8]) {
        self.bytes.extend_from_slice(name);
        let name_end = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.ends.push((name_end, self.bytes.len()));
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// `(name, value)`, in order.
    fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, end)| {
            let name = self.bytes.get(start..name_end).unwrap_or_default();
            let value = self.bytes.get(name_end..end).unwrap_or_default();
            start = end;
            (name, value)
        })
    }
}

/// The header fields: the map (lowercased keys), names as given and values
/// in order, and the fields of the headers the catalogue names, matched
/// whatever their case. Only what the table wants is built.
fn derive_headers<'h>(r: &mut Table, headers: &'h Headers) -> FromHeaders<'h> {
    let mut found = FromHeaders {
        host: None,
        cookie: None,
        content_type: None,
    };
    if headers.len() == 0 {
        return found;
    }
    let want_map = r.wants(id!("http.request.headers"));
    let want_names = r.wants(id!("http.request.headers.names"));
    let want_values = r.wants(id!("http.request.headers.values"));
    let want_languages = r.wants(id!("http.request.accepted_languages"));
    let want_cookie = r.wants(id!("http.cookie")) || r.wants(id!("http.request.cookies"));
    let want_forwarded = r.wants(id!("http.x_forwarded_for"));
    let mut map: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
    let capacity = |want: bool| if want { headers.len() } else { 0 };
    let mut names = Vec::with_capacity(capacity(want_names));
    let mut values = Vec::with_capacity(capacity(want_values));
    let mut languages: Option<Vec<Value>> = None;
    let mut forwarded: Option<Vec<u8>> = None;
    let (mut user_agent, mut referer) = (None, None);
    for (name, value) in headers.iter() {
        if want_names {
            names.push(bytes(name));
        }
        if want_values {
            values.push(bytes(value));
        }
        let is = |known: &str| name.eq_ignore_ascii_case(known.as_bytes());
        if is("host") {
            found.host.get_or_insert(value);
        } else if is("content-type") {
            found.content_type.get_or_insert(value);
        } else if is("user-agent") {
            user_agent.get_or_insert(value);
        } else if is("referer") {
            referer.get_or_insert(value);
        } else if is("cookie") {
            if want_cookie {
                join(&mut found.cookie, b"; ", value);
            }
        } else if is("x-forwarded-for") {
            if want_forwarded {
                join(&mut forwarded, b", ", value);
            }
        } else if is("accept-language") && want_languages {
            languages.get_or_insert_default().extend(
                value
                    .split(|&c| c == b',')
                    .map(|l| l.split(|&c| c == b';').next().unwrap_or(b"").trim_ascii())
                    .filter(|l| !l.is_empty())
                    .map(bytes),
            );
        }
        if want_map {
            if let Value::Array(a) = map
                .entry(name.to_ascii_lowercase())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                a.push(bytes(value));
            }
        }
    }
    for (id, value) in [
        (id!("http.user_agent"), user_agent),
        (id!("http.referer"), referer),
        (id!("http.cookie"), found.cookie.as_deref()),
        (id!("http.x_forwarded_for"), forwarded.as_deref()),
    ] {
        if let Some(v) = value {
            r.set_with(id, || bytes(v));
        }
    }
    if let Some(languages) = languages {
        r.set(
            id!("http.request.accepted_languages"),
            Value::Array(languages),
        );
    }
    if want_map {
        r.set(id!("http.request.headers"), Value::Map(map));
    }
    if want_names {
        r.set(id!("http.request.headers.names"), Value::Array(names));
    }
    if want_values {
        r.set(id!("http.request.headers.values"), Value::Array(values));
    }
    r.set(id!("http.request.headers.truncated"), Value::Bool(false));
    found
}

/// Appends `value` to `to`, after `sep` when `to` already holds one.
fn join(to: &mut Option<Vec<u8>>, sep: &[u8], value: &[u8]) {
    match to {
        Some(v) => {
            v.extend_from_slice(sep);
            v.extend_from_slice(value);
        }
        None => *to = Some(value.to_vec()),
    }
}

/// The fields of the request target: the normalised path and what is
/// derived from it, the query and its arguments, and their raw forms.
/// `origin` is the scheme and host, when both are known, for `full_uri`.
fn derive_target(r: &mut Table, raw: &[u8], t: &url::Target<'_>, origin: Option<(&str, &[u8])>) {
    let query = t.query.unwrap_or_default();
    let with_query = |path: &[u8]| {
        let mut uri = path.to_vec();
        if let Some(q) = t.query {
            uri.push(b'?');
            uri.extend_from_slice(q);
        }
        uri
    };
    let full_form = matches!(t.form, url::Form::Origin | url::Form::Absolute);
    let origin = origin.filter(|_| full_form);
    let normalised = [
        id!("http.request.uri.path"),
        id!("http.request.uri"),
        id!("http.request.full_uri"),
        id!("http.request.uri.path.extension"),
    ];
    if normalised.iter().any(|&id| r.wants(id)) {
        let path = url::target_path(t);
        if let Some((scheme, host)) = origin {
            r.set_with(id!("http.request.full_uri"), || {
                Value::Bytes([scheme.as_bytes(), b"://", host, &with_query(&path)].concat())
            });
        }
        r.set_with(id!("http.request.uri.path.extension"), || {
            Value::Bytes(url::extension(&path).to_ascii_lowercase())
        });
        r.set_with(id!("http.request.uri"), || Value::Bytes(with_query(&path)));
        r.set(id!("http.request.uri.path"), Value::Bytes(path));
    }
    if let Some((scheme, host)) = origin {
        r.set_with(id!("raw.http.request.full_uri"), || match t.form {
            url::Form::Absolute => bytes(raw),
            _ => Value::Bytes([scheme.as_bytes(), b"://", host, &with_query(t.path)].concat()),
        });
    }
    r.set_with(id!("raw.http.request.uri.path.extension"), || {
        bytes(url::extension(t.path))
    });
    r.set_with(id!("raw.http.request.uri.path"), || bytes(t.path));
    r.set_with(id!("raw.http.request.uri"), || {
        Value::Bytes(with_query(t.path))
    });
    r.set_with(id!("http.request.uri.query"), || bytes(query));
    r.set_with(id!("raw.http.request.uri.query"), || bytes(query));
    for (decode, [map, names, values]) in [
        (
            true,
            [
                id!("http.request.uri.args"),
                id!("http.request.uri.args.names"),
                id!("http.request.uri.args.values"),
            ],
        ),
        (
            false,
            [
                id!("raw.http.request.uri.args"),
                id!("raw.http.request.uri.args.names"),
                id!("raw.http.request.uri.args.values"),
            ],
        ),
    ] {
        if [map, names, values].iter().any(|&id| r.wants(id)) {
            let (m, n, v) = parse_args(query, decode);
            r.set(map, Value::Map(m));
            r.set(names, Value::Array(n));
            r.set(values, Value::Array(v));
        }
    }
}

/// The media type of a `Content-Type` value: what precedes its parameters, trimmed.
fn media_type(content_type: &[u8]) -> &[u8] {
    content_type
        .split(|&c| c == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii()
}

/// The body fields; form fields for `application/x-www-form-urlencoded`.
fn derive_body(r: &mut Table, body: &[u8], size: Option<usize>, mime: &[u8]) {
    r.set_with(id!("http.request.body.raw"), || bytes(body));
    if let Some(size) = size {
        r.set(
            id!("http.request.body.size"),
            Value::Int(i64::try_from(size).unwrap_or(i64::MAX)),
        );
    }
    r.set(
        id!("http.request.body.truncated"),
        Value::Bool(size.is_none_or(|n| n > body.len())),
    );
    r.set_with(id!("http.request.body.mime"), || bytes(mime));
    let form = [
        id!("http.request.body.form"),
        id!("http.request.body.form.names"),
        id!("http.request.body.form.values"),
    ];
    if mime.eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
        && form.iter().any(|&id| r.wants(id))
    {
        let (form, names, values) = parse_args(body, true);
        r.set(id!("http.request.body.form"), Value::Map(form));
        r.set(id!("http.request.body.form.names"), Value::Array(names));
        r.set(id!("http.request.body.form.values"), Value::Array(values));
    }
}

/// The cookie jar of a `Cookie` value: `a=1; b=2` by name, in order.
fn parse_cookies(cookie: &[u8]) -> BTreeMap<Vec<u8>, Value> {
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
    jar
}

/// Splits `a=1&b=2&a=3` into a map of arrays, the names and the values, in order.
fn parse_args(query: &[u8], decode: bool) -> (BTreeMap<Vec<u8>, Value>, Vec<Value>, Vec<Value>) {
    let mut map: BTreeMap<Vec<u8>, Value> = BTreeMap::new();
    let mut names = Vec::new();
    let mut values = Vec::new();
    for pair in query.split(|&c| c == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|&c| c == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let (k, v) = if decode {
            (url_decode_bytes(k, false), url_decode_bytes(v, false))
        } else {
            (k.to_vec(), v.to_vec())
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
    use std::borrow::Cow;

    #[test]
    fn every_default_field_round_trips() {
        // Every catalogue field, set through `.field(name, value)`, reads
        // back by its catalogue id with the value (and so the type) it was given.
        for (name, ty) in catalogue::FIELDS {
            let id = catalogue::id(name);
            let ty = Type::parse(ty).unwrap();
            fn sample(ty: &Type, seed: i64, name: &str) -> Value {
                match ty {
                    Type::Bool => Value::Bool(true),
                    Type::Int => Value::Int(seed + 7),
                    Type::Bytes => Value::Bytes(name.as_bytes().to_vec()),
                    Type::Ip => Value::Ip("192.0.2.7".parse().unwrap()),
                    Type::Array(t) => Value::Array(vec![sample(t, seed, "x")]),
                    Type::Map(t) => {
                        Value::Map(BTreeMap::from([(b"k".to_vec(), sample(t, seed, "v"))]))
                    }
                }
            }
            let value = sample(&ty, i64::from(id.0), name);
            check_value(&ty, &value).unwrap();
            let req = HttpRequest::builder()
                .field(name, value.clone())
                .build()
                .unwrap();
            assert_eq!(req.get(id), value.as_val(), "{name}");
            assert_eq!(req.get_by_name(name), Some(value.as_val()), "{name}");
        }
    }

    fn text(s: &str) -> Val<'_> {
        Val::Bytes(Cow::Borrowed(s.as_bytes()))
    }

    fn strings(v: &[&str]) -> Value {
        Value::Array(v.iter().map(bytes).collect())
    }

    #[test]
    fn builder_derives_uri_headers_and_cookies() {
        let req = HttpRequest::builder()
            .method("GET")
            .scheme("https")
            .uri("/a/./B%20c.PH%50?x=1&y=%41&x=2")
            .header("Host", "example.com")
            .header("Cookie", "sid=abc; theme=dark")
            .header("Accept-Language", "en-US,en;q=0.9")
            .build()
            .unwrap();
        let get = |n: &str| req.get_by_name(n).unwrap();
        // The normalised path: `%50` is an unreserved `P`, `%20` stays encoded.
        assert_eq!(get("http.request.uri.path"), text("/a/B%20c.PHP"));
        assert_eq!(get("raw.http.request.uri.path"), text("/a/./B%20c.PH%50"));
        assert_eq!(get("http.request.uri.path.extension"), text("php"));
        assert_eq!(get("raw.http.request.uri.path.extension"), text("PH%50"));
        assert_eq!(get("http.request.uri"), text("/a/B%20c.PHP?x=1&y=%41&x=2"));
        assert_eq!(get("http.request.uri.query"), text("x=1&y=%41&x=2"));
        assert_eq!(
            get("http.request.full_uri"),
            text("https://example.com/a/B%20c.PHP?x=1&y=%41&x=2")
        );
        assert_eq!(
            get("raw.http.request.full_uri"),
            text("https://example.com/a/./B%20c.PH%50?x=1&y=%41&x=2")
        );
        assert_eq!(get("http.host"), text("example.com"));
        assert_eq!(
            get("http.request.uri.args.values"),
            strings(&["1", "A", "2"]).as_val()
        );
        assert_eq!(
            get("raw.http.request.uri.args.values"),
            strings(&["1", "%41", "2"]).as_val()
        );
        assert!(
            matches!(get("http.request.cookies"), Val::Map(m) if m.contains_key(&b"theme"[..]))
        );
        assert_eq!(
            get("http.request.accepted_languages"),
            strings(&["en-US", "en"]).as_val()
        );
        assert_eq!(get("ssl"), Val::Bool(true));
        assert_eq!(get("ip.src"), Val::Missing);
    }

    #[test]
    fn header_names_are_kept_as_received_and_keys_lowercased() {
        let req = HttpRequest::builder()
            .header("HOST", "a.com")
            .header("user-AGENT", "curl")
            .header("X-Trace", "1")
            .header("x-trace", "2")
            .header("cookie", "a=1")
            .header("Cookie", "b=2")
            .header("X-Forwarded-For", "192.0.2.1")
            .header("x-forwarded-for", "192.0.2.2")
            .header("Host", "b.com")
            .build()
            .unwrap();
        let get = |n: &str| req.get_by_name(n).unwrap();
        assert_eq!(
            get("http.request.headers.names"),
            strings(&[
                "HOST",
                "user-AGENT",
                "X-Trace",
                "x-trace",
                "cookie",
                "Cookie",
                "X-Forwarded-For",
                "x-forwarded-for",
                "Host"
            ])
            .as_val()
        );
        assert_eq!(
            get("http.request.headers.values"),
            strings(&[
                "a.com",
                "curl",
                "1",
                "2",
                "a=1",
                "b=2",
                "192.0.2.1",
                "192.0.2.2",
                "b.com"
            ])
            .as_val()
        );
        let Val::Map(map) = get("http.request.headers") else {
            panic!("headers are a map");
        };
        let keys: Vec<&[u8]> = map.keys().map(|k| &k[..]).collect();
        assert_eq!(
            keys,
            [
                &b"cookie"[..],
                b"host",
                b"user-agent",
                b"x-forwarded-for",
                b"x-trace"
            ]
        );
        assert_eq!(map.get(&b"x-trace"[..]), Some(&strings(&["1", "2"])));
        // The catalogue's headers, whatever their case: the first Host,
        // every Cookie and X-Forwarded-For joined as one.
        assert_eq!(get("http.host"), text("a.com"));
        assert_eq!(get("http.user_agent"), text("curl"));
        assert_eq!(get("http.cookie"), text("a=1; b=2"));
        assert_eq!(get("http.x_forwarded_for"), text("192.0.2.1, 192.0.2.2"));
        assert!(matches!(get("http.request.cookies"), Val::Map(m) if m.len() == 2));
    }

    #[test]
    fn an_absolute_form_target_gives_what_the_origin_form_would() {
        let absolute = HttpRequest::builder()
            .uri("HTTPS://user:pw@Api.example:8443/v1/../admin?q=%41")
            .header("Host", "other.example")
            .build()
            .unwrap();
        let origin = HttpRequest::builder()
            .scheme("https")
            .uri("/admin?q=%41")
            .header("Host", "Api.example:8443")
            .build()
            .unwrap();
        for name in [
            "ssl",
            "http.host",
            "http.request.uri",
            "http.request.uri.path",
            "http.request.uri.query",
            "http.request.uri.args",
            "http.request.full_uri",
        ] {
            assert_eq!(
                absolute.get_by_name(name),
                origin.get_by_name(name),
                "{name}"
            );
        }
        assert_eq!(absolute.get_by_name("http.host"), Some(text("api.example")));
        assert_eq!(
            absolute.get_by_name("raw.http.request.full_uri"),
            Some(text("HTTPS://user:pw@Api.example:8443/v1/../admin?q=%41"))
        );
        assert_eq!(
            absolute.get_by_name("raw.http.request.uri"),
            Some(text("/v1/../admin?q=%41"))
        );
        // The builder's own host and scheme win over the target's.
        let explicit = HttpRequest::builder()
            .uri("https://a.example/x")
            .host("b.example")
            .scheme("http")
            .build()
            .unwrap();
        assert_eq!(explicit.get_by_name("http.host"), Some(text("b.example")));
        assert_eq!(explicit.get_by_name("ssl"), Some(Val::Bool(false)));
        assert_eq!(
            explicit.get_by_name("http.request.full_uri"),
            Some(text("http://b.example/x"))
        );
        // An empty authority leaves the host to the Host header; an empty path is `/`.
        let empty = HttpRequest::builder()
            .uri("http://?x")
            .header("Host", "h")
            .build()
            .unwrap();
        assert_eq!(empty.get_by_name("http.host"), Some(text("h")));
        assert_eq!(empty.get_by_name("http.request.uri"), Some(text("/?x")));
    }

    #[test]
    fn asterisk_and_authority_forms_give_no_path_to_bypass() {
        let options = HttpRequest::builder()
            .method("OPTIONS")
            .scheme("https")
            .uri("*")
            .header("Host", "a.com")
            .build()
            .unwrap();
        assert_eq!(
            options.get_by_name("http.request.uri.path"),
            Some(text("*"))
        );
        assert_eq!(options.get_by_name("http.request.uri"), Some(text("*")));
        assert_eq!(
            options.get_by_name("http.request.full_uri"),
            Some(Val::Missing)
        );
        let connect = HttpRequest::builder()
            .method("CONNECT")
            .uri("a.com:443")
            .header("Host", "b.com")
            .build()
            .unwrap();
        assert_eq!(connect.get_by_name("http.host"), Some(text("a.com")));
        assert_eq!(connect.get_by_name("http.request.uri.path"), Some(text("")));
        assert_eq!(connect.get_by_name("raw.http.request.uri"), Some(text("")));
    }

    #[test]
    fn the_order_of_calls_does_not_matter_and_fields_win() {
        let a = HttpRequest::builder()
            .scheme("https")
            .header("Host", "a.com")
            .uri("/x?y")
            .field("http.request.uri.path", bytes("/set"))
            .build()
            .unwrap();
        let b = HttpRequest::builder()
            .field("http.request.uri.path", bytes("/set"))
            .uri("/x?y")
            .header("Host", "a.com")
            .scheme("https")
            .build()
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.get_by_name("http.request.uri.path"), Some(text("/set")));
        assert_eq!(a.get_by_name("http.request.uri"), Some(text("/x?y")));
    }

    #[test]
    fn any_bytes_in_the_target_are_accepted() {
        let req = HttpRequest::builder()
            .uri(b"/a\xff\xc3(/%/%zz/\x00/../b.ph\xe9?q=\xff")
            .build()
            .unwrap();
        assert_eq!(
            req.get_by_name("http.request.uri.path"),
            Some(text("/a%FF%C3(/%25/%25zz/b.ph%E9"))
        );
        assert_eq!(
            req.get_by_name("http.request.uri.path.extension"),
            Some(text("ph%e9"))
        );
        assert_eq!(
            req.get_by_name("raw.http.request.uri.query"),
            Some(Val::Bytes(Cow::Borrowed(b"q=\xff")))
        );
    }

    #[test]
    fn the_body_takes_its_mime_type_from_content_type_when_not_given() {
        let req = HttpRequest::builder()
            .header(
                "content-type",
                " application/x-www-form-urlencoded ; charset=utf-8",
            )
            .body(b"a=1&b=%41", "")
            .build()
            .unwrap();
        assert_eq!(
            req.get_by_name("http.request.body.mime"),
            Some(text("application/x-www-form-urlencoded"))
        );
        assert_eq!(
            req.get_by_name("http.request.body.form.values"),
            Some(strings(&["1", "A"]).as_val())
        );
        let given = HttpRequest::builder()
            .header("Content-Type", "text/plain")
            .body(b"x", "application/json")
            .build()
            .unwrap();
        assert_eq!(
            given.get_by_name("http.request.body.mime"),
            Some(text("application/json"))
        );
    }

    /// The table of `docs/language.md`, "Fields derived from the target".
    #[test]
    fn the_example_of_the_language_doc() {
        let req = HttpRequest::builder()
            .uri("HTTPS://u@a.example:8443/A/./b/../%43.PHP?x=%41&y")
            .build()
            .unwrap();
        let args = |v: &str| {
            Value::Map(BTreeMap::from([
                (b"x".to_vec(), strings(&[v])),
                (b"y".to_vec(), strings(&[""])),
            ]))
        };
        for (name, want) in [
            ("http.request.uri.path", bytes("/A/C.PHP")),
            ("http.request.uri.path.extension", bytes("php")),
            ("http.request.uri.query", bytes("x=%41&y")),
            ("http.request.uri", bytes("/A/C.PHP?x=%41&y")),
            (
                "http.request.full_uri",
                bytes("https://a.example:8443/A/C.PHP?x=%41&y"),
            ),
            ("http.request.uri.args", args("A")),
            ("raw.http.request.uri.path", bytes("/A/./b/../%43.PHP")),
            ("raw.http.request.uri.path.extension", bytes("PHP")),
            ("raw.http.request.uri.query", bytes("x=%41&y")),
            ("raw.http.request.uri", bytes("/A/./b/../%43.PHP?x=%41&y")),
            (
                "raw.http.request.full_uri",
                bytes("HTTPS://u@a.example:8443/A/./b/../%43.PHP?x=%41&y"),
            ),
            ("raw.http.request.uri.args", args("%41")),
            ("http.host", bytes("a.example")),
            ("ssl", Value::Bool(true)),
        ] {
            assert_eq!(req.get_by_name(name), Some(want.as_val()), "{name}");
        }
    }

    #[test]
    fn body_fields_see_at_most_the_body_limit() {
        let text = |r: &HttpRequest, n: &str| r.get_by_name(n).and_then(|v| v.to_value());
        let body = b"role=admin&x=1";
        let whole = HttpRequest::builder()
            .body(body, "application/x-www-form-urlencoded")
            .build()
            .unwrap();
        assert_eq!(
            text(&whole, "http.request.body.truncated"),
            Some(Value::Bool(false))
        );
        let cut = HttpRequest::builder()
            .body_limit(4)
            .body(body, "application/x-www-form-urlencoded")
            .build()
            .unwrap();
        assert_eq!(text(&cut, "http.request.body.raw"), Some(bytes("role")));
        assert_eq!(text(&cut, "http.request.body.size"), Some(Value::Int(14)));
        assert_eq!(
            text(&cut, "http.request.body.truncated"),
            Some(Value::Bool(true))
        );
        let streamed = HttpRequest::builder()
            .body_prefix(b"abc", None, "text/plain")
            .build()
            .unwrap();
        assert_eq!(text(&streamed, "http.request.body.size"), None);
        assert_eq!(
            text(&streamed, "http.request.body.truncated"),
            Some(Value::Bool(true))
        );
    }
}
