//! `PortcullisLists`: the contents of a schema's named lists, shared by
//! every filter and rule set compiled with them and replaceable at run time.

use crate::error::{ErrorOut, Fail, PortcullisError, PortcullisStatus, run, run_status};
use crate::object::{Kind, Out, borrow, free, text};
use crate::schema::{PortcullisSchema, SchemaObject};
use portcullis::{Lists, Schema};
use std::ffi::c_char;
use std::sync::Arc;

/// The named lists of a schema (opaque), each empty at first. Filters and
/// rule sets compiled with them read their current contents. Thread-safe:
/// `portcullis_lists_set` and `portcullis_lists_load` may run on any thread
/// while others evaluate; an evaluation sees a list's old contents or its
/// new ones, never a mix, and one version of every list throughout. Free
/// it once no call using it is in flight; what was compiled with it keeps
/// the lists alive.
pub struct PortcullisLists {
    _opaque: [u8; 0],
}

/// What a `PortcullisLists` holds.
pub(crate) struct ListsObject {
    pub(crate) lists: Lists,
    pub(crate) schema: Arc<Schema>,
}

impl Kind for ListsObject {
    const TAG: u64 = 0x7063_5f6c_6973_7473; // "pc_lists"
    const NAME: &'static str = "PortcullisLists";
}

/// Empty lists for every list `schema` declares.
///
/// # Safety
/// `schema` is NULL or a live schema; `out_lists` is NULL or writable for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_lists_new(
    schema: *const PortcullisSchema,
    out_lists: *mut *mut PortcullisLists,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `out_lists`.
    let out = unsafe { Out::object(out_lists, "out_lists") };
    run_status(|| {
        out.check()?;
        // SAFETY: the caller's promise about `schema`.
        let s = unsafe { borrow::<SchemaObject, _>(schema, "schema") }?;
        out.set_object(ListsObject {
            lists: Lists::for_schema(&s.schema),
            schema: s.schema.clone(),
        })
    })
}

/// Replaces the contents of list `name` with a JSON array of its element
/// type (`["10.0.0.0/8", "192.0.2.1"]` for an `Ip` list, strings for
/// `Bytes`, numbers for `Int`), for every filter compiled with `lists`.
///
/// # Safety
/// `lists` is NULL or live; `name` and `json` point at their lengths of
/// readable bytes (or are NULL with 0); `error` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_lists_set(
    lists: *const PortcullisLists,
    name: *const c_char,
    name_len: usize,
    json: *const c_char,
    json_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about each argument.
        let (l, name, json) = unsafe {
            (
                borrow::<ListsObject, _>(lists, "lists")?,
                text(name, name_len, "name")?,
                text(json, json_len, "json")?,
            )
        };
        let items: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|e| {
            Fail::new(
                PortcullisStatus::Config,
                format!("list `{name}` is not a JSON array: {e}"),
            )
        })?;
        l.lists
            .set_json(name, &items)
            .map_err(|e| Fail::engine(&e, ""))
    })
}

/// Replaces several lists at once from a JSON object
/// (`{"office": ["10.0.0.0/8"], "blocked": ["198.51.100.7"]}`): an
/// evaluation sees all of them old or all of them new. Lists it does not
/// name keep their contents.
///
/// # Safety
/// As `portcullis_lists_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_lists_load(
    lists: *const PortcullisLists,
    json: *const c_char,
    json_len: usize,
    error: *mut *mut PortcullisError,
) -> PortcullisStatus {
    // SAFETY: the caller's promise about `error`.
    let error = unsafe { ErrorOut::new(error) };
    run(error, || {
        // SAFETY: the caller's promises about each argument.
        let (l, json) = unsafe {
            (
                borrow::<ListsObject, _>(lists, "lists")?,
                text(json, json_len, "json")?,
            )
        };
        l.lists.load_json(json).map_err(|e| Fail::engine(&e, ""))
    })
}

/// Frees lists (NULL is a no-op). Filters compiled with them keep reading
/// their last contents.
///
/// # Safety
/// `lists` is NULL or live, and no call in flight uses it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_lists_free(lists: *mut PortcullisLists) {
    // SAFETY: the caller's promise.
    unsafe { free::<ListsObject, _>(lists) }
}
