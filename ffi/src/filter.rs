//! `PortcullisFilter`: one compiled expression.

use crate::error::{ErrorOut, Fail, PortcullisError, PortcullisStatus, run, run_status};
use crate::lists::{ListsObject, PortcullisLists};
use crate::object::{Kind, Out, borrow, free, text};
use crate::out_string;
use crate::request::{PortcullisRequest, RequestObject};
use crate::schema::{PortcullisSchema, SchemaObject, mismatch, same_fields};
use portcullis::{Compiler, Filter, Schema};
use std::ffi::c_char;
use std::sync::Arc;

/// A compiled expression (opaque). Immutable: any number of threads may
/// evaluate one at once. Free it once no call using it is in flight.
pub struct PortcullisFilter {
    _opaque: [u8; 0],
}

/// What a `PortcullisFilter` holds.
pub(crate) struct FilterObject {
    pub(crate) filter: Filter,
    pub(crate) schema: Arc<Schema>,
}

impl Kind for FilterObject {
    const TAG: u64 = 0x7063_5f66_696c_7472; // "pc_filtr"
    const NAME: &'static str = "PortcullisFilter";
}

/// A compiler for `schema`, reading `lists` (NULL: empty lists no one can
/// change), checked to be of the same schema.
///
/// # Safety
/// `schema` and `lists` are NULL or live objects.
pub(crate) unsafe fn compiler<'s>(
    schema: *const PortcullisSchema,
    lists: *const PortcullisLists,
) -> Result<(Compiler<'s>, &'s Arc<Schema>), Fail> {
    // SAFETY: the caller's promise about `schema`.
    let s = unsafe { borrow::<SchemaObject, _>(schema, "schema") }?;
    let mut compiler = Compiler::new(&s.schema);
    if !lists.is_null() {
        // SAFETY: the caller's promise about `lists`.
        let l = unsafe { borrow::<ListsObject, _>(lists, "lists") }?;
        if !same_fields(&l.schema, &s.schema) || l.schema.lists().ne(s.schema.lists()) {
            return Err(mismatch("the schema and the lists"));
        }
        compiler = compiler.with_lists(&l.lists);
    }
    Ok((compiler, &s.schema))
}

/// Compiles expression `text` against `schema`, reading `lists` (or NULL
/// when the expression uses no named list). On failure the error has the
/// message, the line and column, and the caret rendering.
///
/// # Safety
/// `schema` and `lists` are NULL or live; `text` points at `text_len`
/// readable bytes (or is NULL with 0); `out_filter` and `error` are NULL
/// or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_filter_compile(
    schema: *const PortcullisSchema,
    lists: *const PortcullisLists,
    text_: *const c_char,
    text_len: usize,
    out_filter: *mut *mut PortcullisFilter,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promises about `out_filter` and `error`.
    let (out, error) = unsafe { (Out::object(out_filter, "out_filter"), ErrorOut::new(error)) };
    run(error, || {
        out.check()?;
        // SAFETY: the caller's promises about each argument.
        let ((compiler, schema), source) =
            unsafe { (compiler(schema, lists)?, text(text_, text_len, "text")?) };
        let filter = compiler
            .compile(source)
            .map_err(|e| Fail::engine(&e, source))?;
        out.set_object(FilterObject {
            filter,
            schema: schema.clone(),
        })
    })
}

/// Whether `request` matches `filter`, in `*out_matches`. Evaluation does
/// not allocate (unless the expression transforms values) and never fails
/// on the request's contents; the statuses are for bad arguments only.
///
/// # Safety
/// `filter` and `request` are NULL or live; `out_matches` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_filter_matches(
    filter: *const PortcullisFilter,
    request: *const PortcullisRequest,
    out_matches: *mut bool,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `out_matches`.
    let out = unsafe { Out::new(out_matches, "out_matches") };
    run_status(|| {
        // SAFETY: the caller's promises about `filter` and `request`.
        let (f, r) = unsafe {
            (
                borrow::<FilterObject, _>(filter, "filter")?,
                borrow::<RequestObject, _>(request, "request")?,
            )
        };
        if !same_fields(&f.schema, r.schema()) {
            return Err(mismatch("the filter and the request"));
        }
        out.set(r.matches(&f.filter))
    })
}

/// The program listing of `filter` (what `portcullis disasm` prints), in
/// `*out_text`, freed with `portcullis_string_free`.
///
/// # Safety
/// `filter` is NULL or live; `out_text` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_filter_disassemble(
    filter: *const PortcullisFilter,
    out_text: *mut *mut c_char,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `out_text`.
    let out = unsafe { Out::object(out_text, "out_text") };
    run_status(|| {
        out.check()?;
        // SAFETY: the caller's promise about `filter`.
        let f = unsafe { borrow::<FilterObject, _>(filter, "filter") }?;
        out.set(out_string(f.filter.disassemble()))
    })
}

/// Frees a filter (NULL is a no-op).
///
/// # Safety
/// `filter` is NULL or live, and no call in flight uses it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_filter_free(filter: *mut PortcullisFilter) {
    // SAFETY: the caller's promise.
    unsafe { free::<FilterObject, _>(filter) }
}
