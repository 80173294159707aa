//! Errors thrown to JS: `Error`s whose `code` is the provider's stable code.

use deskless_fs::{ErrorCode, FsError, FsResult};
use napi::bindgen_prelude::*;
use napi::sys;

/// Result of a binding method: the error's status string becomes the JS `code`.
pub(crate) type JsResult<T> = std::result::Result<T, Error<String>>;

/// The JS-facing form of a provider error.
pub(crate) fn to_js(e: FsError) -> Error<String> {
    Error::new(e.code().as_str().to_string(), e.message())
}

/// An INVALID_ARGUMENT error.
pub(crate) fn invalid(message: impl Into<String>) -> FsError {
    FsError::new(ErrorCode::InvalidArgument, message)
}

/// A JS number argument that must be a non-negative integer (offsets, lengths, sizes).
pub(crate) fn non_negative(name: &str, value: i64) -> FsResult<u64> {
    u64::try_from(value).map_err(|_| {
        invalid(format!(
            "{name} must be a non-negative integer, got {value}"
        ))
    })
}

/// A handle passed from JS (a bigint): anything that is not a u64 is not an open handle.
pub(crate) fn handle_id(handle: &BigInt) -> FsResult<u64> {
    match handle.get_u64() {
        (false, id, true) => Ok(id),
        _ => Err(FsError::new(
            ErrorCode::BadHandle,
            "handle is not an open handle (expected a non-negative 64-bit bigint)",
        )),
    }
}

/// Builds a JS `Error` with the stable `code` and wraps it so a promise rejects with exactly
/// that object.
pub(crate) fn rejection(env: sys::napi_env, e: FsError) -> Error {
    // SAFETY: called on the JS thread with its env (a task's resolve step).
    let value = unsafe { JsError::from(to_js(e)).into_value(env) };
    // SAFETY: `value` was just created in this env.
    Error::from(unsafe { Unknown::from_raw_unchecked(env, value) })
}
