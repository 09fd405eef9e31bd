//! Opaque objects and the arguments C passes: every object is a
//! [`Tagged`] box whose first word names its kind, so a pointer to an object
//! of another kind is an error rather than a misread; string and out
//! arguments are checked for NULL before use.

use crate::error::{Fail, PortcullisStatus};
use std::ffi::c_char;

/// An object handed to C: its kind's tag, then the value. `repr(C)` puts
/// the tag first whatever `T` is, so any object's tag can be read through a
/// pointer to any other kind.
#[repr(C)]
pub(crate) struct Tagged<T> {
    tag: u64,
    value: T,
}

/// A kind of object C holds, with the tag that marks it.
pub(crate) trait Kind: Sized {
    /// Distinct for every kind (and never 0, the tag of a freed object).
    const TAG: u64;
    /// What the C API calls it, for messages.
    const NAME: &'static str;
}

/// Boxes `value` for C, as a pointer to its opaque C type `P`.
pub(crate) fn into_raw<T: Kind, P>(value: T) -> *mut P {
    Box::into_raw(Box::new(Tagged { tag: T::TAG, value })).cast()
}

/// Whether `ptr`, not NULL, points at an object of kind `T`.
///
/// # Safety
/// `ptr` points at an object this library made and has not freed (of any kind).
unsafe fn is_kind<T: Kind, P>(ptr: *const P) -> bool {
    if (ptr as usize) % align_of::<u64>() != 0 {
        return false;
    }
    // SAFETY: every object is a `Tagged<_>` (repr(C), the `u64` tag first),
    // live by the caller's promise, and the pointer is aligned for a u64:
    // reading its first word reads the tag of whatever kind it is.
    let tag = unsafe { ptr.cast::<u64>().read() };
    tag == T::TAG
}

/// The object `ptr` points at, checked to be of kind `T`.
///
/// # Safety
/// `ptr` is NULL or points at an object this library made and has not
/// freed, which no other thread frees or mutates while the borrow lives.
pub(crate) unsafe fn borrow<'a, T: Kind, P>(ptr: *const P, arg: &str) -> Result<&'a T, Fail> {
    if ptr.is_null() {
        return Err(Fail::null(arg));
    }
    // SAFETY: not NULL, and live by the caller's promise.
    if !unsafe { is_kind::<T, P>(ptr) } {
        return Err(Fail::wrong_object(arg, T::NAME));
    }
    // SAFETY: the tag says `into_raw::<T, _>` made this pointer from a
    // `Box<Tagged<T>>`, so it is aligned and valid for `Tagged<T>`; it lives
    // and is not mutated for 'a by the caller's promise.
    Ok(unsafe { &(*ptr.cast::<Tagged<T>>()).value })
}

/// The object `ptr` points at, to change.
///
/// # Safety
/// As [`borrow`], and no other reference to the object exists while the
/// borrow lives (the C API says which objects one thread uses at a time).
pub(crate) unsafe fn borrow_mut<'a, T: Kind, P>(ptr: *mut P, arg: &str) -> Result<&'a mut T, Fail> {
    if ptr.is_null() {
        return Err(Fail::null(arg));
    }
    // SAFETY: not NULL, and live by the caller's promise.
    if !unsafe { is_kind::<T, P>(ptr) } {
        return Err(Fail::wrong_object(arg, T::NAME));
    }
    // SAFETY: as in `borrow`; the caller promises exclusive use for 'a.
    Ok(unsafe { &mut (*ptr.cast::<Tagged<T>>()).value })
}

/// Takes back ownership of the object `ptr` points at (`None` for NULL),
/// to drop or consume it.
///
/// # Safety
/// `ptr` is NULL or points at an object this library made and has not
/// freed, which nothing uses any more.
pub(crate) unsafe fn take<T: Kind, P>(ptr: *mut P, arg: &str) -> Result<Option<T>, Fail> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL, and live by the caller's promise.
    if !unsafe { is_kind::<T, P>(ptr) } {
        return Err(Fail::wrong_object(arg, T::NAME));
    }
    // SAFETY: the tag says `into_raw::<T, _>` made this pointer with
    // `Box::into_raw`, and the caller gives it up: rebuilding the box once
    // is sound. The tag is cleared first, so that a use after this free that
    // happens to find the memory unchanged fails the kind check.
    let mut boxed = unsafe { Box::from_raw(ptr.cast::<Tagged<T>>()) };
    boxed.tag = 0;
    Ok(Some(boxed.value))
}

/// Frees the object `ptr` points at; NULL and objects of another kind are
/// left alone (a free has no status to report a mistake with).
///
/// # Safety
/// As [`take`].
pub(crate) unsafe fn free<T: Kind, P>(ptr: *mut P) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the caller's promise is `take`'s.
        drop(unsafe { take::<T, P>(ptr, "object") });
    }));
}

/// The bytes of a `(ptr, len)` argument (`NULL, 0` is empty).
///
/// # Safety
/// When `ptr` is not NULL it points at `len` readable bytes that stay
/// unchanged while the borrow lives.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const c_char,
    len: usize,
    arg: &str,
) -> Result<&'a [u8], Fail> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Fail::null(arg))
        };
    }
    if len > isize::MAX as usize {
        return Err(Fail::new(
            PortcullisStatus::InvalidArgument,
            format!("`{arg}`: a length of {len} bytes is not a length"),
        ));
    }
    // SAFETY: `ptr` is not NULL and, by the caller's promise, points at
    // `len` (≤ isize::MAX) readable bytes unchanged for 'a; u8 has no
    // alignment requirement (nor has c_char, of which these are the bytes).
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// The UTF-8 text of a `(ptr, len)` argument.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, len: usize, arg: &str) -> Result<&'a str, Fail> {
    // SAFETY: the caller's promise is `bytes`'s.
    let b = unsafe { bytes(ptr, len, arg) }?;
    std::str::from_utf8(b).map_err(|e| {
        Fail::new(
            PortcullisStatus::InvalidUtf8,
            format!("`{arg}` is not UTF-8: {e}"),
        )
    })
}

/// An out argument: where a call writes what it returns. Made from the
/// caller's pointer with the promise that it may be written; NULL and a
/// misaligned pointer are errors when the call writes.
pub(crate) struct Out<T> {
    ptr: *mut T,
    arg: &'static str,
}

impl<T> Out<T> {
    /// Wraps argument `arg`.
    ///
    /// # Safety
    /// `ptr` is NULL or points at memory writable for a `T` for as long as
    /// the call runs.
    pub(crate) unsafe fn new(ptr: *mut T, arg: &'static str) -> Self {
        Out { ptr, arg }
    }

    /// Whether the argument can be written (not NULL, aligned): no
    /// allocation, for the paths every call takes.
    pub(crate) fn usable(&self) -> bool {
        !self.ptr.is_null() && (self.ptr as usize) % align_of::<T>() == 0
    }

    /// An error unless the argument can be written.
    pub(crate) fn check(&self) -> Result<(), Fail> {
        if self.ptr.is_null() {
            return Err(Fail::null(self.arg));
        }
        if (self.ptr as usize) % align_of::<T>() != 0 {
            return Err(Fail::new(
                PortcullisStatus::InvalidArgument,
                format!("`{}` is not aligned for what it receives", self.arg),
            ));
        }
        Ok(())
    }

    /// Writes `value` (C owns what was there: it is not dropped).
    pub(crate) fn set(&self, value: T) -> Result<(), Fail> {
        self.check()?;
        // SAFETY: not NULL and aligned (checked above), writable by the
        // promise `new` was given; `write` does not drop the old contents,
        // which may be uninitialised.
        unsafe { self.ptr.write(value) };
        Ok(())
    }
}

impl<P> Out<*mut P> {
    /// Wraps an object out argument and sets it to NULL at once (when it
    /// can be written), so that a failed call leaves no stale pointer.
    ///
    /// # Safety
    /// As [`Out::new`].
    pub(crate) unsafe fn object(ptr: *mut *mut P, arg: &'static str) -> Self {
        // SAFETY: the caller's promise is `new`'s.
        let out = unsafe { Out::new(ptr, arg) };
        if out.usable() {
            let _ = out.set(std::ptr::null_mut());
        }
        out
    }

    /// Hands `value` to C as the object this argument receives.
    pub(crate) fn set_object<T: Kind>(&self, value: T) -> Result<(), Fail> {
        self.check()?;
        self.set(into_raw(value))
    }
}
