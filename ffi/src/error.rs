//! Statuses, the error struct C receives, and [`run`], the wrapper every
//! exported function's body runs in: it catches panics and turns what went
//! wrong into a status and, when asked, a [`PortcullisError`].

use crate::object::Out;
use crate::out_string;
use portcullis::{Error, ErrorKind, line_col};
use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

/// What a call did: `PORTCULLIS_STATUS_OK` (0), or why it failed. The
/// engine's error kinds (10 and up) are those of `portcullis::ErrorKind`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortcullisStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A pointer to an object of another kind (a filter where a request was expected).
    WrongObject = 2,
    /// Text that is not UTF-8.
    InvalidUtf8 = 3,
    /// Another invalid argument (an unknown format, an address that does not parse...).
    InvalidArgument = 4,
    /// Objects built for different schemas (a request of one schema evaluated by a filter of another).
    SchemaMismatch = 5,
    /// Not a well-formed expression (`http.host == "abc`).
    Syntax = 10,
    /// A field the schema does not have (`http.hots`).
    UnknownField = 11,
    /// A function nobody defined (`lowr(http.host)`).
    UnknownFunction = 12,
    /// A named list the schema does not declare (`$nope`).
    UnknownList = 13,
    /// Types that do not fit (`tcp.dstport == "a"`).
    Type = 14,
    /// A regex that does not parse or is too large.
    InvalidRegex = 15,
    /// A checked expression that cannot be compiled.
    Compile = 16,
    /// A configured limit was exceeded (expression length, nesting depth...).
    Limit = 17,
    /// Request data that does not fit the schema.
    Request = 18,
    /// A malformed schema, list or rule set.
    Config = 19,
    /// The library panicked (a bug): the call had no effect that can be relied on.
    Panic = 100,
}

/// An error, for people and programs. Allocated by the library and freed
/// with `portcullis_error_free` (which frees the whole `next` chain); its
/// strings belong to it. Any thread may read or free it.
#[repr(C)]
pub struct PortcullisError {
    /// What kind of problem (never `PORTCULLIS_STATUS_OK`).
    pub status: PortcullisStatus,
    /// One line: what is wrong, with a suggestion where one helps (NUL-terminated).
    pub message: *mut c_char,
    /// The diagnostic for people: the message, `line:column`, the source line
    /// and carets under the span (the message alone when there is no span).
    pub rendered: *mut c_char,
    /// The id of the rule the problem is in (a rule set), else NULL.
    pub rule_id: *mut c_char,
    /// 1-based line of the span's start in the expression; 0 when there is no span.
    pub line: u32,
    /// 1-based column (in characters) of the span's start; 0 when there is no span.
    pub column: u32,
    /// The span in bytes of the expression (`start == end == 0` without one).
    pub span_start: usize,
    /// The span's end (exclusive).
    pub span_end: usize,
    /// The next problem (a rule set reports every bad rule), or NULL.
    pub next: *mut PortcullisError,
}

/// Frees an error and every error after it in its `next` chain (NULL is a no-op).
///
/// # Safety
/// `error` is NULL or an error returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn portcullis_error_free(error: *mut PortcullisError) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut next = error;
        while !next.is_null() {
            // SAFETY: every error is made by `Fail::into_raw` with
            // `Box::into_raw`, and the caller gives up this chain, whose
            // links each error owns; each is retaken once.
            let e = unsafe { Box::from_raw(next) };
            next = e.next;
            for s in [e.message, e.rendered, e.rule_id] {
                // SAFETY: the strings were made by `out_string` (or are NULL)
                // and belong to the error being freed.
                unsafe { crate::portcullis_string_free(s) };
            }
        }
    }));
}

/// The name of a status (`"ok"`, `"syntax"`, `"null argument"`...): a
/// static NUL-terminated string, never freed; `"unknown"` for a value that
/// is no status.
#[unsafe(no_mangle)]
pub extern "C" fn portcullis_status_name(status: u32) -> *const c_char {
    let name = match status {
        0 => c"ok",
        1 => c"null argument",
        2 => c"wrong object",
        3 => c"invalid utf-8",
        4 => c"invalid argument",
        5 => c"schema mismatch",
        10 => c"syntax",
        11 => c"unknown field",
        12 => c"unknown function",
        13 => c"unknown list",
        14 => c"type",
        15 => c"invalid regex",
        16 => c"compile",
        17 => c"limit",
        18 => c"request",
        19 => c"config",
        100 => c"panic",
        _ => c"unknown",
    };
    name.as_ptr()
}

/// The status of an engine error.
pub(crate) fn status_of(kind: ErrorKind) -> PortcullisStatus {
    match kind {
        ErrorKind::Syntax => PortcullisStatus::Syntax,
        ErrorKind::UnknownField => PortcullisStatus::UnknownField,
        ErrorKind::UnknownFunction => PortcullisStatus::UnknownFunction,
        ErrorKind::UnknownList => PortcullisStatus::UnknownList,
        ErrorKind::Type => PortcullisStatus::Type,
        ErrorKind::InvalidRegex => PortcullisStatus::InvalidRegex,
        ErrorKind::Compile => PortcullisStatus::Compile,
        ErrorKind::Limit => PortcullisStatus::Limit,
        ErrorKind::Request => PortcullisStatus::Request,
        // `Config`, and any kind a later engine adds.
        _ => PortcullisStatus::Config,
    }
}

/// One problem, before it becomes a [`PortcullisError`].
#[derive(Debug)]
pub(crate) struct Problem {
    status: PortcullisStatus,
    message: String,
    rendered: String,
    rule_id: Option<String>,
    /// `(line, column, start, end)` of the span in its source.
    position: Option<(u32, u32, usize, usize)>,
}

/// Why a call failed: one problem, or several (a rule set's bad rules).
#[derive(Debug)]
pub(crate) struct Fail(Vec<Problem>);

impl Fail {
    /// A problem of the call's arguments.
    pub(crate) fn new(status: PortcullisStatus, message: impl Into<String>) -> Fail {
        let message = message.into();
        Fail(vec![Problem {
            status,
            rendered: format!("error: {message}\n"),
            message,
            rule_id: None,
            position: None,
        }])
    }

    /// Argument `arg` was NULL.
    pub(crate) fn null(arg: &str) -> Fail {
        Fail::new(PortcullisStatus::NullArgument, format!("`{arg}` is NULL"))
    }

    /// Argument `arg` is an object of another kind.
    pub(crate) fn wrong_object(arg: &str, kind: &str) -> Fail {
        Fail::new(
            PortcullisStatus::WrongObject,
            format!("`{arg}` is not a {kind}"),
        )
    }

    /// An engine error about `source` (the expression text it spans, or "").
    pub(crate) fn engine(error: &Error, source: &str) -> Fail {
        Fail(vec![Problem::of(error, source, None)])
    }

    /// Every problem of a rule set: `(rule id or "", error, the text its
    /// span is in)`.
    pub(crate) fn rules<'a>(
        problems: impl IntoIterator<Item = (&'a str, &'a Error, &'a str)>,
    ) -> Fail {
        Fail(
            problems
                .into_iter()
                .map(|(id, e, source)| {
                    Problem::of(e, source, (!id.is_empty()).then(|| id.to_string()))
                })
                .collect(),
        )
    }

    /// The status of the call: its first problem's.
    pub(crate) fn status(&self) -> PortcullisStatus {
        self.0.first().map_or(PortcullisStatus::Panic, |p| p.status)
    }

    /// The problems as a chain of C errors (NULL when there are none).
    fn into_raw(self) -> *mut PortcullisError {
        let mut next = ptr::null_mut();
        for p in self.0.into_iter().rev() {
            let (line, column, span_start, span_end) = p.position.unwrap_or_default();
            next = Box::into_raw(Box::new(PortcullisError {
                status: p.status,
                message: out_string(p.message),
                rendered: out_string(p.rendered),
                rule_id: p.rule_id.map_or(ptr::null_mut(), out_string),
                line,
                column,
                span_start,
                span_end,
                next,
            }));
        }
        next
    }
}

impl Problem {
    fn of(error: &Error, source: &str, rule_id: Option<String>) -> Problem {
        let position = error.span().map(|span| {
            let at = line_col(source, span.start);
            let u = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            (u(at.line), u(at.column), span.start, span.end)
        });
        Problem {
            status: status_of(error.kind()),
            message: error.message(),
            rendered: error.render(source),
            rule_id,
            position,
        }
    }
}

/// Where a call writes its error: NULL (the caller wants none) or a
/// pointer it may write.
pub(crate) struct ErrorOut(Out<*mut PortcullisError>);

impl ErrorOut {
    /// Wraps a `PortcullisError **error` argument.
    ///
    /// # Safety
    /// `error` is NULL or points at memory writable for a pointer for as
    /// long as the call runs.
    pub(crate) unsafe fn new(error: *mut *mut PortcullisError) -> Self {
        // SAFETY: the caller's promise.
        ErrorOut(unsafe { Out::new(error, "error") })
    }

    /// The argument of a function that reports no error struct.
    pub(crate) fn none() -> Self {
        // SAFETY: NULL is never written.
        ErrorOut(unsafe { Out::new(ptr::null_mut(), "error") })
    }
}

/// Runs the body of an exported function: no panic escapes, and a failure
/// is a status and, when `error` is not NULL, a [`PortcullisError`] written
/// there (NULL on success).
pub(crate) fn run(error: ErrorOut, body: impl FnOnce() -> Result<(), Fail>) -> PortcullisStatus {
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Fail::new(
            PortcullisStatus::Panic,
            format!("the library panicked (a bug, please report it): {what}"),
        ))
    });
    // Building the error allocates; a panic there must not escape either.
    catch_unwind(AssertUnwindSafe(|| match result {
        Ok(()) => {
            if error.0.usable() {
                let _ = error.0.set(ptr::null_mut());
            }
            PortcullisStatus::Ok
        }
        Err(fail) => {
            let status = fail.status();
            if error.0.usable() {
                let _ = error.0.set(fail.into_raw());
            }
            status
        }
    }))
    .unwrap_or(PortcullisStatus::Panic)
}

/// [`run`] for functions that report no error struct (status only).
pub(crate) fn run_status(body: impl FnOnce() -> Result<(), Fail>) -> PortcullisStatus {
    run(ErrorOut::none(), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_a_status_with_its_message() {
        let mut error: *mut PortcullisError = ptr::null_mut();
        // SAFETY: `error` is a local, writable pointer.
        let out = unsafe { ErrorOut::new(&mut error) };
        let status = run(out, || panic!("boom"));
        assert_eq!(status, PortcullisStatus::Panic);
        assert!(!error.is_null());
        // SAFETY: `run` wrote an error made by `Fail::into_raw`; it is read,
        // then freed once.
        unsafe {
            let message = std::ffi::CStr::from_ptr((*error).message).to_str().unwrap();
            assert!(
                message.contains("panicked") && message.contains("boom"),
                "{message}"
            );
            assert_eq!((*error).status, PortcullisStatus::Panic);
            portcullis_error_free(error);
        }
    }

    #[test]
    fn success_clears_the_error() {
        let mut error = std::ptr::dangling_mut::<PortcullisError>();
        // SAFETY: `error` is a local, writable pointer.
        let out = unsafe { ErrorOut::new(&mut error) };
        assert_eq!(run(out, || Ok(())), PortcullisStatus::Ok);
        assert!(error.is_null());
    }

    #[test]
    fn every_status_has_a_name() {
        for s in [
            0u32, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 100,
        ] {
            // SAFETY: names are static NUL-terminated strings.
            let name = unsafe { std::ffi::CStr::from_ptr(portcullis_status_name(s)) };
            assert_ne!(name.to_str().unwrap(), "unknown", "status {s}");
        }
    }
}
