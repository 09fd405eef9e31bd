//! `PortcullisRequest` and its builder: request data for the default
//! catalogue (from raw HTTP parts, as `HttpRequestBuilder` derives them) or
//! for any schema (fields by name).

use crate::error::{ErrorOut, Fail, PortcullisError, PortcullisStatus, run};
use crate::object::{Kind, Out, borrow, borrow_mut, bytes, free, take, text};
use crate::schema::{PortcullisSchema, SchemaObject};
use portcullis::{
    ClientCert, CompiledRuleSet, Context, FieldId, Filter, HttpRequest, HttpRequestBuilder,
    Request, Scalar, Schema, Val, Value, Verdict,
};
use std::ffi::c_char;
use std::net::IpAddr;
use std::sync::Arc;

/// A request (opaque), built once and evaluated by any number of filters
/// and rule sets. Immutable: any number of threads may evaluate it at once.
/// Free it once no call using it is in flight.
pub struct PortcullisRequest {
    _opaque: [u8; 0],
}

/// A request being built (opaque). Not thread-safe: one thread at a time
/// calls its functions. `portcullis_request_builder_build` consumes it;
/// `portcullis_request_builder_free` discards it.
pub struct PortcullisRequestBuilder {
    _opaque: [u8; 0],
}

/// What a `PortcullisRequest` holds.
pub(crate) enum RequestObject {
    /// Over the default catalogue.
    Http(HttpRequest, Arc<Schema>),
    /// Over another schema.
    Fields(FieldTable, Arc<Schema>),
}

impl Kind for RequestObject {
    const TAG: u64 = 0x7063_5f72_6571_7374; // "pc_reqst"
    const NAME: &'static str = "PortcullisRequest";
}

impl RequestObject {
    /// The schema the request was built for.
    pub(crate) fn schema(&self) -> &Arc<Schema> {
        match self {
            RequestObject::Http(_, s) | RequestObject::Fields(_, s) => s,
        }
    }

    /// Whether `filter` matches.
    pub(crate) fn matches(&self, filter: &Filter) -> bool {
        match self {
            RequestObject::Http(r, _) => filter.matches(r),
            RequestObject::Fields(r, _) => filter.matches(r),
        }
    }

    /// `set`'s verdict.
    pub(crate) fn evaluate<'r>(&self, set: &'r CompiledRuleSet) -> Verdict<'r> {
        match self {
            RequestObject::Http(r, _) => set.evaluate(r),
            RequestObject::Fields(r, _) => set.evaluate(r),
        }
    }
}

/// A request of any schema: every field's value by id, owned (a
/// [`Context`] borrows its schema; C objects cannot).
/// The values are kept by position: field `id` at `id.0 - base`, so an id
/// of another schema (another tag, `FieldId`) is missing.
pub(crate) struct FieldTable {
    base: u32,
    values: Vec<Option<Value>>,
}

impl FieldTable {
    /// The values `cx` holds, by field position.
    fn of(schema: &Schema, cx: &Context<'_>) -> FieldTable {
        FieldTable {
            base: schema.fields().next().map_or(0, |(id, _)| id.0),
            values: schema
                .fields()
                .map(|(id, _)| cx.get(id).to_value())
                .collect(),
        }
    }

    fn at(&self, id: FieldId) -> Option<&Value> {
        self.values
            .get(id.0.wrapping_sub(self.base) as usize)?
            .as_ref()
    }
}

impl Request for FieldTable {
    #[inline]
    fn get(&self, id: FieldId) -> Val<'_> {
        self.at(id).map_or(Val::Missing, Value::as_val)
    }

    #[inline]
    fn scalar(&self, id: FieldId) -> Scalar<'_> {
        self.at(id).map_or(Scalar::Missing, Value::scalar)
    }

    #[inline]
    fn precomputed(&self) -> bool {
        true
    }
}

/// What a `PortcullisRequestBuilder` holds.
pub(crate) struct BuilderObject {
    schema: Arc<Schema>,
    parts: Parts,
}

enum Parts {
    /// The default catalogue: raw parts, derived from at build time.
    Http(HttpRequestBuilder),
    /// Another schema: the fields set so far, by id.
    Fields(Vec<Option<Value>>),
}

impl Kind for BuilderObject {
    const TAG: u64 = 0x7063_5f62_6c64_7272; // "pc_bldrr"
    const NAME: &'static str = "PortcullisRequestBuilder";
}

impl BuilderObject {
    /// The HTTP builder, or an error naming `what` for other schemas.
    fn http(&mut self, what: &str) -> Result<&mut HttpRequestBuilder, Fail> {
        match &mut self.parts {
            Parts::Http(b) => Ok(b),
            Parts::Fields(_) => Err(Fail::new(
                PortcullisStatus::InvalidArgument,
                format!(
                    "{what} is a raw HTTP part, for the default schema only; set fields by name for this schema"
                ),
            )),
        }
    }

    /// Applies `f` to the HTTP builder.
    fn with_http(
        &mut self,
        what: &str,
        f: impl FnOnce(HttpRequestBuilder) -> HttpRequestBuilder,
    ) -> Result<(), Fail> {
        let b = self.http(what)?;
        *b = f(std::mem::take(b));
        Ok(())
    }

    /// Sets field `name` to `value`, type-checked now (a mistake is
    /// reported by the call that makes it).
    fn set(&mut self, name: &str, value: Value) -> Result<(), Fail> {
        let schema = self.schema.clone();
        let mut cx = Context::new(&schema);
        cx.set(name, value).map_err(|e| Fail::engine(&e, ""))?;
        self.set_checked(&cx)
    }

    /// Sets field `name` from its JSON value (arrays, maps, any type).
    fn set_json(&mut self, name: &str, json: &str) -> Result<(), Fail> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
            Fail::new(
                PortcullisStatus::Request,
                format!("field `{name}`: the value is not JSON: {e}"),
            )
        })?;
        let object = serde_json::Value::Object([(name.to_string(), value)].into_iter().collect());
        let schema = self.schema.clone();
        let cx = Context::from_json_value(&schema, &object).map_err(|e| Fail::engine(&e, ""))?;
        self.set_checked(&cx)
    }

    /// Copies the fields set in `cx`, where they were checked (the field
    /// named, and any its JSON derives, as a map's `.names`).
    fn set_checked(&mut self, cx: &Context<'_>) -> Result<(), Fail> {
        let table = FieldTable::of(&self.schema, cx);
        match &mut self.parts {
            Parts::Fields(values) => {
                for (slot, v) in values.iter_mut().zip(table.values) {
                    if v.is_some() {
                        *slot = v;
                    }
                }
            }
            Parts::Http(b) => {
                let names = self.schema.names().clone();
                let mut builder = std::mem::take(b);
                for (k, v) in table.values.into_iter().enumerate() {
                    if let (Some(v), Some(n)) = (v, names.get(k)) {
                        builder = builder.field(n, v);
                    }
                }
                *b = builder;
            }
        }
        Ok(())
    }
}

/// Starts a request for `schema`. For the default schema, raw HTTP parts
/// (method, URI, headers, body, client address, TLS facts) derive every
/// dependent field when it is built; for any schema, fields may be set by
/// name, and win over derived values.
///
/// # Safety
/// `schema` is NULL or live; `out_builder` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_new(
    schema: *const PortcullisSchema,
    out_builder: *mut *mut PortcullisRequestBuilder,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `out_builder`.
    let out = unsafe { Out::object(out_builder, "out_builder") };
    crate::error::run_status(|| {
        out.check()?;
        // SAFETY: the caller's promise about `schema`.
        let s = unsafe { borrow::<SchemaObject, _>(schema, "schema") }?;
        let parts = if s.http {
            Parts::Http(HttpRequest::builder())
        } else {
            Parts::Fields(vec![None; s.schema.len()])
        };
        out.set_object(BuilderObject {
            schema: s.schema.clone(),
            parts,
        })
    })
}

/// The request method (`GET`); default schema only.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `method` points at `method_len` readable bytes (or is NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_method(
    builder: *mut PortcullisRequestBuilder,
    method: *const c_char,
    method_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, method) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                text(method, method_len, "method")?,
            )
        };
        b.with_http("the method", |h| h.method(method))
    })
}

/// The scheme (`https` sets `ssl`); default schema only. Without it, an
/// absolute-form URI's scheme is used.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `scheme` points at `scheme_len` readable bytes (or is NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_scheme(
    builder: *mut PortcullisRequestBuilder,
    scheme: *const c_char,
    scheme_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, scheme) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                text(scheme, scheme_len, "scheme")?,
            )
        };
        b.with_http("the scheme", |h| h.scheme(scheme))
    })
}

/// The request target as received (`/a/../b?x=1`, or absolute-form); the
/// path is normalised as the public edge does. Default schema only.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `uri` points at `uri_len` readable bytes (or is NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_uri(
    builder: *mut PortcullisRequestBuilder,
    uri: *const c_char,
    uri_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, uri) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                bytes(uri, uri_len, "uri")?,
            )
        };
        b.with_http("the URI", |h| h.uri(uri))
    })
}

/// Appends a header (repeats are kept in order; `Host` sets `http.host`,
/// `Cookie` the cookies...). The name is text, the value any bytes.
/// Default schema only.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `name` and `value` point at their lengths of readable bytes (or are NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_header(
    builder: *mut PortcullisRequestBuilder,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, name, value) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                text(name, name_len, "name")?,
                bytes(value, value_len, "value")?,
            )
        };
        b.with_http("a header", |h| h.header(name, value))
    })
}

/// The body (any bytes) and its media type (empty: from `Content-Type`).
/// Default schema only.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `body` and `mime` point at their lengths of readable bytes (or are NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_body(
    builder: *mut PortcullisRequestBuilder,
    body: *const c_char,
    body_len: usize,
    mime: *const c_char,
    mime_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, body, mime) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                bytes(body, body_len, "body")?,
                text(mime, mime_len, "mime")?,
            )
        };
        b.with_http("the body", |h| h.body(body, mime))
    })
}

/// The client address (`ip.src`), as text (`192.0.2.1`, `2001:db8::1`).
/// Default schema only.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `ip` points at `ip_len` readable bytes (or is NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_client_ip(
    builder: *mut PortcullisRequestBuilder,
    ip: *const c_char,
    ip_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, ip) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                text(ip, ip_len, "ip")?,
            )
        };
        let ip: IpAddr = ip.parse().map_err(|_| {
            Fail::new(
                PortcullisStatus::InvalidArgument,
                format!("`{ip}` is not an IP address"),
            )
        })?;
        b.with_http("the client address", |h| h.client_ip(ip))
    })
}

/// The TLS version and cipher (`cf.tls_version`, `cf.tls_cipher`).
/// Default schema only.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `version` and `cipher` point at their lengths of readable bytes (or are NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_tls(
    builder: *mut PortcullisRequestBuilder,
    version: *const c_char,
    version_len: usize,
    cipher: *const c_char,
    cipher_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, version, cipher) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                text(version, version_len, "version")?,
                text(cipher, cipher_len, "cipher")?,
            )
        };
        b.with_http("TLS", |h| h.tls(version, cipher))
    })
}

/// The client-certificate facts: whether one was presented, verified
/// (also true for a revoked one, as at the public edge) and revoked; every
/// other `cf.tls_client_auth.*` string is empty unless set by name.
/// Default schema only.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; the flags are C `bool`s;
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_client_cert(
    builder: *mut PortcullisRequestBuilder,
    presented: bool,
    verified: bool,
    revoked: bool,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let b = unsafe { borrow_mut::<BuilderObject, _>(builder, "builder")? };
        let cert = ClientCert {
            presented,
            verified,
            revoked,
            ..ClientCert::default()
        };
        b.with_http("the client certificate", |h| h.client_cert(&cert))
    })
}

/// Sets a `Bytes` field by name (or alias) to any bytes.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `name` and `value` point at their lengths of readable bytes (or are NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_set_bytes(
    builder: *mut PortcullisRequestBuilder,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, name, value) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                text(name, name_len, "name")?,
                bytes(value, value_len, "value")?,
            )
        };
        b.set(name, Value::Bytes(value.to_vec()))
    })
}

/// Sets an `Int` field by name (or alias).
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `name` points at `name_len` readable bytes (or is NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_set_int(
    builder: *mut PortcullisRequestBuilder,
    name: *const c_char,
    name_len: usize,
    value: i64,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, name) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                text(name, name_len, "name")?,
            )
        };
        b.set(name, Value::Int(value))
    })
}

/// Sets a `Bool` field by name (or alias).
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `name` points at `name_len` readable bytes (or is NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_set_bool(
    builder: *mut PortcullisRequestBuilder,
    name: *const c_char,
    name_len: usize,
    value: bool,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, name) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                text(name, name_len, "name")?,
            )
        };
        b.set(name, Value::Bool(value))
    })
}

/// Sets an `Ip` field by name (or alias) from its text.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `name` and `ip` point at their lengths of readable bytes (or are NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_set_ip(
    builder: *mut PortcullisRequestBuilder,
    name: *const c_char,
    name_len: usize,
    ip: *const c_char,
    ip_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, name, ip) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                text(name, name_len, "name")?,
                text(ip, ip_len, "ip")?,
            )
        };
        let ip: IpAddr = ip.parse().map_err(|_| {
            Fail::new(
                PortcullisStatus::InvalidArgument,
                format!("`{ip}` is not an IP address"),
            )
        })?;
        b.set(name, Value::Ip(ip))
    })
}

/// Sets a field of any type by name from its JSON value: a string for
/// `Bytes` and `Ip`, a number, `true`/`false`, an array, an object for a map.
///
/// # Safety
/// `builder` is NULL or a live builder no other thread uses; `name` and `json` point at their lengths of readable bytes (or are NULL with 0);
/// `error` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_set_json(
    builder: *mut PortcullisRequestBuilder,
    name: *const c_char,
    name_len: usize,
    json: *const c_char,
    json_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about `builder` and each argument.
        let (b, name, json) = unsafe {
            (
                borrow_mut::<BuilderObject, _>(builder, "builder")?,
                text(name, name_len, "name")?,
                text(json, json_len, "json")?,
            )
        };
        b.set_json(name, json)
    })
}

/// Builds the request, deriving every dependent field, and frees the
/// builder whatever the outcome (`*builder` is set to NULL).
///
/// # Safety
/// `builder` is NULL or points at a pointer that is NULL or a live builder
/// no other thread uses; `out_request` and `error` are NULL or writable
/// for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_build(
    builder: *mut *mut PortcullisRequestBuilder,
    out_request: *mut *mut PortcullisRequest,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promises about `out_request` and `error`.
    let (out, error) = unsafe {
        (
            Out::object(out_request, "out_request"),
            ErrorOut::new(error),
        )
    };
    run(error, || {
        // SAFETY: the caller's promise about `builder`: NULL, or a pointer to
        // a builder pointer it gives up.
        let taken = unsafe {
            let slot = Out::new(builder, "builder");
            slot.check()?;
            let taken = take::<BuilderObject, _>(builder.read(), "builder")?;
            slot.set(std::ptr::null_mut())?;
            taken
        };
        let b = taken.ok_or_else(|| Fail::null("*builder"))?;
        out.check()?;
        let base = b.schema.fields().next().map_or(0, |(id, _)| id.0);
        let request = match b.parts {
            Parts::Http(h) => {
                RequestObject::Http(h.build().map_err(|e| Fail::engine(&e, ""))?, b.schema)
            }
            Parts::Fields(values) => RequestObject::Fields(FieldTable { base, values }, b.schema),
        };
        out.set_object(request)
    })
}

/// Discards a builder (NULL is a no-op).
///
/// # Safety
/// `builder` is NULL or a live builder that no call in flight uses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_builder_free(builder: *mut PortcullisRequestBuilder) {
    // SAFETY: the caller's promise.
    unsafe { free::<BuilderObject, _>(builder) }
}

/// A request from JSON. For the default schema its keys are raw request
/// parts (`"method"`, `"uri"`, `"headers"`, `"client_ip"`, `"body"`,
/// `"tls"`, `"client_cert"`...) and/or field names, as the command line
/// reads a request; for other schemas, field names
/// (`{"device.id": "a", "mqtt.qos": 1}`).
///
/// # Safety
/// `schema` is NULL or live; `json` points at `json_len` readable bytes (or
/// is NULL with 0); `out_request` and `error` are NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_from_json(
    schema: *const PortcullisSchema,
    json: *const c_char,
    json_len: usize,
    out_request: *mut *mut PortcullisRequest,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promises about `out_request` and `error`.
    let (out, error) = unsafe {
        (
            Out::object(out_request, "out_request"),
            ErrorOut::new(error),
        )
    };
    run(error, || {
        out.check()?;
        // SAFETY: the caller's promises about `schema` and `json`.
        let (s, json) = unsafe {
            (
                borrow::<SchemaObject, _>(schema, "schema")?,
                text(json, json_len, "json")?,
            )
        };
        let request = request_from_json(s, json)?;
        out.set_object(request)
    })
}

/// A request from JSON for schema `s` (shared with the tests and the bench).
pub(crate) fn request_from_json(s: &SchemaObject, json: &str) -> Result<RequestObject, Fail> {
    Ok(if s.http {
        RequestObject::Http(
            HttpRequest::from_json(json).map_err(|e| Fail::engine(&e, ""))?,
            s.schema.clone(),
        )
    } else {
        let cx = Context::from_json(&s.schema, json).map_err(|e| Fail::engine(&e, ""))?;
        RequestObject::Fields(FieldTable::of(&s.schema, &cx), s.schema.clone())
    })
}

/// Frees a request (NULL is a no-op).
///
/// # Safety
/// `request` is NULL or live, and no call in flight uses it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_request_free(request: *mut PortcullisRequest) {
    // SAFETY: the caller's promise.
    unsafe { free::<RequestObject, _>(request) }
}
