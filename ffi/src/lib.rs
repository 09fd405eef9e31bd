//! The C ABI of portcullis: schemas, filters, rule sets, requests and lists
//! behind opaque pointers, with a generated header (`include/portcullis.h`).
//!
//! The conventions every function follows (the header repeats them, and
//! `docs/bindings.md` shows them by example):
//!
//! - Every function returns a [`PortcullisStatus`] (`*_free` functions return
//!   nothing) and none lets a panic cross the boundary: each runs under
//!   [`std::panic::catch_unwind`], and a panic is
//!   [`PortcullisStatus::Panic`]. A NULL or mistyped argument is a status.
//! - Text functions also take a `PortcullisError **error`: NULL on success,
//!   else an error with message, position and caret rendering, freed with
//!   [`portcullis_error_free`].
//! - Strings in are `(const uint8_t *ptr, size_t len)`: no NUL terminator is
//!   needed; `NULL, 0` is the empty string. Strings out are NUL-terminated,
//!   owned by the caller, freed with [`portcullis_string_free`].
//! - Objects are opaque, each freed by its own `*_free` (NULL is a no-op).
//!
//! Everything here is `unsafe` at the boundary only: each `unsafe` block
//! states the caller's promise it relies on (`// SAFETY:`), and the engine
//! itself has no unsafe code.

mod error;
mod filter;
mod lists;
mod object;
mod request;
mod ruleset;
mod schema;

pub use error::{PortcullisError, PortcullisStatus, portcullis_error_free, portcullis_status_name};
pub use filter::{
    PortcullisFilter, portcullis_filter_compile, portcullis_filter_disassemble,
    portcullis_filter_free, portcullis_filter_matches,
};
pub use lists::{
    PortcullisLists, portcullis_lists_free, portcullis_lists_load, portcullis_lists_new,
    portcullis_lists_set,
};
pub use request::{
    PortcullisRequest, PortcullisRequestBuilder, portcullis_request_builder_body,
    portcullis_request_builder_build, portcullis_request_builder_client_cert,
    portcullis_request_builder_client_ip, portcullis_request_builder_free,
    portcullis_request_builder_header, portcullis_request_builder_method,
    portcullis_request_builder_new, portcullis_request_builder_scheme,
    portcullis_request_builder_set_bool, portcullis_request_builder_set_bytes,
    portcullis_request_builder_set_int, portcullis_request_builder_set_ip,
    portcullis_request_builder_set_json, portcullis_request_builder_tls,
    portcullis_request_builder_uri, portcullis_request_free, portcullis_request_from_json,
};
pub use ruleset::{
    PORTCULLIS_RULESET_JSON, PORTCULLIS_RULESET_TOML, PortcullisAction, PortcullisRuleSet,
    PortcullisVerdict, portcullis_ruleset_compile, portcullis_ruleset_evaluate,
    portcullis_ruleset_evaluate_json, portcullis_ruleset_free, portcullis_ruleset_len,
};
pub use schema::{
    PortcullisSchema, portcullis_schema_default, portcullis_schema_free,
    portcullis_schema_from_json, portcullis_schema_with_list,
};

use std::ffi::{CString, c_char};

/// Frees a string the library returned (NULL is a no-op).
///
/// # Safety
/// `s` is NULL or a string returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_string_free(s: *mut c_char) {
    let _ = std::panic::catch_unwind(|| {
        if !s.is_null() {
            // SAFETY: the caller passes a pointer this library made with
            // `CString::into_raw` (every string out is made by `out_string`)
            // and has not freed it, so retaking ownership once is sound.
            drop(unsafe { CString::from_raw(s) });
        }
    });
}

/// The library's version, a static NUL-terminated string (never freed).
#[unsafe(no_mangle)]
pub extern "C" fn portcullis_version() -> *const c_char {
    c"0.1.0".as_ptr()
}

/// A string for C: NUL-terminated (an interior NUL, which only text the
/// caller gave can hold, becomes `?`), owned by the caller.
pub(crate) fn out_string(s: impl Into<Vec<u8>>) -> *mut c_char {
    let mut bytes = s.into();
    for b in bytes.iter_mut().filter(|b| **b == 0) {
        *b = b'?';
    }
    CString::new(bytes).map_or(std::ptr::null_mut(), CString::into_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_the_crate() {
        // SAFETY: the version is a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(portcullis_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn out_strings_replace_interior_nuls() {
        let s = out_string("a\0b");
        // SAFETY: `s` was just made by `out_string` and is freed once below.
        let text = unsafe { std::ffi::CStr::from_ptr(s) }
            .to_str()
            .unwrap()
            .to_string();
        // SAFETY: as above.
        unsafe { portcullis_string_free(s) };
        assert_eq!(text, "a?b");
    }
}
