//! Read results as Node `Buffer`s: owned bytes move into the Buffer, and a slice of a cached map
//! becomes an external Buffer over the map (zero-copy) that keeps the map alive until collected.

use std::ffi::c_void;
use std::ptr;

use deskless_fs::{MappedSlice, ReadBytes};
use napi::bindgen_prelude::*;
use napi::sys;

/// A read result on its way to JS.
pub struct JsBytes(pub ReadBytes);

impl TypeName for JsBytes {
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
            ReadBytes::Mapped(m) if !m.is_empty() => unsafe { external(env, m) },
            other => unsafe { Buffer::to_napi_value(env, Buffer::from(other.into_vec())) },
        }
    }
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
        let mut copy_data = ptr::null_mut();
        // SAFETY: data is still valid: the slice is only dropped below.
        let s = unsafe { sys::napi_create_buffer_copy(env, len, data, &mut copy_data, &mut out) };
        if s == sys::Status::napi_ok {
            Ok(out)
        } else {
            Err(Error::new(
                Status::from(s),
                "cannot copy a mapped read into a Buffer",
            ))
        }
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
