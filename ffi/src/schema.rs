//! `PortcullisSchema`: the fields, aliases and lists filters are compiled
//! against and requests are built for.

use crate::error::{ErrorOut, Fail, PortcullisError, PortcullisStatus, run, run_status};
use crate::object::{Kind, Out, borrow, free, text};
use portcullis::{Schema, Type};
use std::ffi::c_char;
use std::sync::{Arc, OnceLock};

/// A schema (opaque). Immutable: any number of threads may use one at once.
/// Filters, rule sets, lists and requests made from it keep what they need,
/// so it may be freed before them (once no call using it is in flight).
pub struct PortcullisSchema {
    _opaque: [u8; 0],
}

/// What a `PortcullisSchema` holds.
pub(crate) struct SchemaObject {
    pub(crate) schema: Arc<Schema>,
    /// The default catalogue (perhaps with lists added): requests are
    /// `HttpRequest`s, built from raw HTTP parts.
    pub(crate) http: bool,
}

impl Kind for SchemaObject {
    const TAG: u64 = 0x7063_5f73_6368_656d; // "pc_schem"
    const NAME: &'static str = "PortcullisSchema";
}

/// Whether objects of schemas `a` and `b` fit together: the same field
/// table (the same schema, or one derived from it by adding lists), hence
/// the same field ids.
pub(crate) fn same_fields(a: &Schema, b: &Schema) -> bool {
    Arc::ptr_eq(a.names(), b.names())
}

/// The error for objects of two schemas used together.
pub(crate) fn mismatch(what: &str) -> Fail {
    Fail::new(
        PortcullisStatus::SchemaMismatch,
        format!("{what} were made for schemas with different fields"),
    )
}

/// The default catalogue, built once and shared, so that every default
/// schema object has the same field table.
fn default_schema() -> &'static Schema {
    static DEFAULT: OnceLock<Schema> = OnceLock::new();
    DEFAULT.get_or_init(Schema::default_http)
}

/// The default HTTP catalogue (`portcullis fields` lists it). Requests for
/// it are built from raw HTTP parts (or request JSON with parts or fields).
///
/// # Safety
/// `out_schema` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_schema_default(
    out_schema: *mut *mut PortcullisSchema,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `out_schema`.
    let out = unsafe { Out::object(out_schema, "out_schema") };
    run_status(|| {
        out.set_object(SchemaObject {
            schema: Arc::new(default_schema().clone()),
            http: true,
        })
    })
}

/// A schema from JSON:
/// `{"fields": {"device.id": "Bytes"}, "aliases": {..}, "lists": {"quarantined": "Ip"}}`.
/// Requests for it are built from fields by name.
///
/// # Safety
/// `json` points at `json_len` readable bytes (or is NULL with 0);
/// `out_schema` and `error` are NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_schema_from_json(
    json: *const c_char,
    json_len: usize,
    out_schema: *mut *mut PortcullisSchema,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promises about `out_schema` and `error`.
    let (out, error) = unsafe { (Out::object(out_schema, "out_schema"), ErrorOut::new(error)) };
    run(error, || {
        out.check()?;
        // SAFETY: the caller's promise about `json`.
        let json = unsafe { text(json, json_len, "json") }?;
        let schema = Schema::from_json(json).map_err(|e| Fail::engine(&e, ""))?;
        out.set_object(SchemaObject {
            schema: Arc::new(schema),
            http: false,
        })
    })
}

/// A copy of `schema` that also declares list `$name` with elements of
/// type `type_` (`"Ip"`, `"Bytes"`, `"Int"`). The copy has the same
/// fields, so requests of either work with filters of both.
///
/// # Safety
/// `schema` is NULL or a live schema; `name` and `type_` point at their
/// lengths of readable bytes (or are NULL with 0); `out_schema` and `error`
/// are NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_schema_with_list(
    schema: *const PortcullisSchema,
    name: *const c_char,
    name_len: usize,
    type_: *const c_char,
    type_len: usize,
    out_schema: *mut *mut PortcullisSchema,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promises about `out_schema` and `error`.
    let (out, error) = unsafe { (Out::object(out_schema, "out_schema"), ErrorOut::new(error)) };
    run(error, || {
        out.check()?;
        // SAFETY: the caller's promises about each argument.
        let (s, name, ty) = unsafe {
            (
                borrow::<SchemaObject, _>(schema, "schema")?,
                text(name, name_len, "name")?,
                text(type_, type_len, "type_")?,
            )
        };
        if name.is_empty() {
            return Err(Fail::new(
                PortcullisStatus::InvalidArgument,
                "`name` is empty",
            ));
        }
        let ty = Type::parse(ty).map_err(|e| Fail::engine(&e, ""))?;
        out.set_object(SchemaObject {
            schema: Arc::new(s.schema.with_list(name, ty)),
            http: s.http,
        })
    })
}

/// Frees a schema (NULL is a no-op).
///
/// # Safety
/// `schema` is NULL or a live schema that no call in flight uses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_schema_free(schema: *mut PortcullisSchema) {
    // SAFETY: the caller's promise.
    unsafe { free::<SchemaObject, _>(schema) }
}
