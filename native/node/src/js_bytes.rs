//! Read results as Node `Buffer`s.
//!
//! [`JsBytes`] (the plain `read`/`readFile` forms) is always an ordinary, writable Buffer: large
//! owned bytes move into it, bytes from a cached map are copied out with one `memcpy` into a
//! Buffer from Node's own allocator (`napi_create_buffer`), small results are copied. For
//! 1-4 MiB chunks of a hot file a `memcpy` out of the map was as fast as a `pread` into a fresh
//! buffer or faster, and copying into a Rust `Vec` handed over as an external Buffer was 3-10x
//! slower than a Node Buffer (fresh pages and finalizers), so the Promise forms also copy on the
//! JS thread when they resolve.
//!
//! [`JsMapped`] (the `readMapped`/`readFileMapped` forms) makes a large slice of a cached map an
//! external Buffer over the map: zero-copy, but the memory is read-only, so writing into that
//! Buffer is a fatal SIGSEGV. The Buffer keeps the map alive until collected.

use std::ffi::c_void;
use std::ptr;

use deskless_fs::{MappedSlice, ReadBytes};
use napi::bindgen_prelude::*;
use napi::sys;

/// Reads at least this large from a cached map become zero-copy views; smaller ones are copied
/// (a copy of a few KiB costs less than an external buffer and its finalizer).
pub(crate) const ZERO_COPY_MIN: usize = 64 << 10;

/// A read result on its way to JS as an ordinary, writable Buffer.
pub struct JsBytes(pub ReadBytes);

/// A read result on its way to JS as a zero-copy, read-only view of the map where it was served
/// from one (and is large enough), an ordinary Buffer otherwise.
pub struct JsMapped(pub ReadBytes);

impl TypeName for JsBytes {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl TypeName for JsMapped {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for JsBytes {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        match val.0 {
            ReadBytes::Owned(v) if v.len() >= ZERO_COPY_MIN => unsafe {
                Buffer::to_napi_value(env, Buffer::from(v))
            },
            // A mapped slice or small owned bytes: one copy into a new Buffer.
            other => unsafe { copy(env, &other) },
        }
    }
}

impl ToNapiValue for JsMapped {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        match val.0 {
            ReadBytes::Mapped(m) if m.len() >= ZERO_COPY_MIN => unsafe { external(env, m) },
            other => unsafe { JsBytes::to_napi_value(env, JsBytes(other)) },
        }
    }
}

/// Copies at least this large may have their Buffer's pages populated in one `madvise` before
/// the copy (see `copy`); below it a page fault or two costs less than the check.
const POPULATE_MIN: usize = 256 << 10;

/// Is the page at `addr` (page-aligned) in memory? (`mincore` works on anonymous memory.)
fn resident(addr: usize) -> bool {
    let mut vec = 0u8;
    // SAFETY: one page-aligned page inside a live allocation, a one-byte out vector.
    let rc = unsafe { libc::mincore(addr as *mut c_void, 1, &mut vec) };
    rc != 0 || vec & 1 == 1
}

/// A Buffer from Node's own allocator (so V8 accounts for it as usual) holding a copy of
/// `bytes`. When the Buffer's memory is fresh (its first page not yet in memory), the kernel
/// supplies all its pages in one pass (`MADV_POPULATE_WRITE`) before the copy instead of one page
/// fault per 4 KiB during it: that made a 256 MiB copy about twice as fast here. Memory the
/// allocator reuses is already there, and populating it again only costs (about 80 us per MiB).
/// Where the kernel lacks the advice, the copy simply faults the pages in.
unsafe fn copy(env: sys::napi_env, bytes: &[u8]) -> Result<sys::napi_value> {
    let len = bytes.len();
    let mut out = ptr::null_mut();
    let mut data = ptr::null_mut();
    // SAFETY: napi allocates len bytes and returns their address.
    let status = unsafe { sys::napi_create_buffer(env, len, &mut data, &mut out) };
    if status != sys::Status::napi_ok {
        return Err(Error::new(Status::from(status), "cannot create a Buffer"));
    }
    let page = 4096usize;
    let start = (data as usize).next_multiple_of(page);
    let end = (data as usize + len) & !(page - 1);
    if len >= POPULATE_MIN && end > start && !resident(start) {
        // SAFETY: whole pages inside the Buffer's allocation; populating does not change them.
        unsafe { libc::madvise(start as *mut c_void, end - start, libc::MADV_POPULATE_WRITE) };
    }
    // SAFETY: the Buffer is len bytes and does not overlap `bytes`.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), data.cast::<u8>(), len) };
    Ok(out)
}

/// Finalizer of an external Buffer: drops the boxed slice and with it the map's `Arc`.
unsafe extern "C" fn drop_slice(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the Box leaked in `external`, finalized exactly once.
    drop(unsafe { Box::from_raw(hint.cast::<MappedSlice>()) });
}

/// An external Buffer over the mapped bytes; where the runtime forbids external buffers (e.g.
/// Electron's sandbox), a copy.
unsafe fn external(env: sys::napi_env, slice: MappedSlice) -> Result<sys::napi_value> {
    let len = slice.len();
    let data = slice.as_ptr().cast_mut().cast::<c_void>();
    let hint = Box::into_raw(Box::new(slice));
    let mut out = ptr::null_mut();
    // SAFETY: data is valid for len bytes for as long as the boxed slice (the hint) lives.
    let status = unsafe {
        sys::napi_create_external_buffer(env, len, data, Some(drop_slice), hint.cast(), &mut out)
    };
    if status == sys::Status::napi_ok {
        return Ok(out);
    }
    let result = if status == sys::Status::napi_no_external_buffers_allowed {
        // SAFETY: the boxed slice (and its map) is only dropped below.
        unsafe { copy(env, &*hint) }
    } else {
        Err(Error::new(
            Status::from(status),
            "cannot create an external Buffer",
        ))
    };
    // SAFETY: the finalizer was not registered, so the box is still ours.
    drop(unsafe { Box::from_raw(hint) });
    result
}
