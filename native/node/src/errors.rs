//! Errors thrown to JS: `Error`s whose `code` is the provider's stable code.

use deskless_fs::{ErrorCode, FsError, FsResult};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

/// Declares the JS enum of the provider's error codes from the core's one list (its names and
/// strings), and the conversion from the core's codes.
macro_rules! declare_js_error_codes {
    ($($(#[doc = $doc:tt])* $code:ident = $text:tt,)*) => {
        /// The stable `code` of every error the file provider throws (docs/native-api.md).
        #[napi(string_enum)]
        pub enum FsErrorCode {
            $(#[napi(value = $text)] $code,)*
        }

        impl From<ErrorCode> for FsErrorCode {
            fn from(code: ErrorCode) -> FsErrorCode {
                match code {
                    $(ErrorCode::$code => FsErrorCode::$code,)*
                }
            }
        }
    };
}

deskless_fs::for_each_error_code!(declare_js_error_codes);

/// Every code the file provider's errors can carry, as the core lists them.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn fs_error_codes() -> Vec<FsErrorCode> {
    ErrorCode::ALL
        .iter()
        .copied()
        .map(FsErrorCode::from)
        .collect()
}

/// The normalised form of a virtual path, without touching the file system: `a/./b/../c` is
/// `/a/c`; a `..` above `/` throws OUTSIDE_WORKSPACE.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn normalise_virtual_path(path: String) -> Result<String, String> {
    deskless_fs::normalise_virtual(&path).map_err(to_js)
}

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

/// An INVALID_ARGUMENT error as thrown to JS (for the engine addon's own arguments).
#[allow(dead_code)]
pub(crate) fn invalid_js(message: impl Into<String>) -> Error<String> {
    to_js(invalid(message))
}

/// A JS number argument that must be a non-negative integer (offsets, lengths, sizes).
pub(crate) fn non_negative(name: &str, value: i64) -> FsResult<u64> {
    u64::try_from(value).map_err(|_| {
        invalid(format!(
            "{name} must be a non-negative integer, got {value}"
        ))
    })
}

/// A handle argument (a JS bigint), read with one napi call and no allocation. Anything that is
/// not a bigint holding a u64 is kept as `None` and reported as BAD_HANDLE by the operation.
pub struct HandleArg(Option<u64>);

impl TypeName for HandleArg {
    fn type_name() -> &'static str {
        "bigint"
    }

    fn value_type() -> ValueType {
        ValueType::BigInt
    }
}

impl FromNapiValue for HandleArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let (mut id, mut lossless) = (0u64, false);
        // SAFETY: env and value come from the call; the out pointers are valid.
        let status =
            unsafe { sys::napi_get_value_bigint_uint64(env, value, &mut id, &mut lossless) };
        Ok(HandleArg(
            (status == sys::Status::napi_ok && lossless).then_some(id),
        ))
    }
}

/// The handle's id, or BAD_HANDLE.
pub(crate) fn handle_id(handle: &HandleArg) -> FsResult<u64> {
    handle.0.ok_or_else(|| {
        FsError::new(
            ErrorCode::BadHandle,
            "handle is not an open handle (expected a non-negative 64-bit bigint)",
        )
    })
}

/// Builds a JS `Error` with the stable `code` and wraps it so a promise rejects with exactly
/// that object.
pub(crate) fn rejection(env: sys::napi_env, e: FsError) -> Error {
    coded_rejection(env, to_js(e))
}

/// Wraps a JS error whose `code` is a stable code so a promise rejects with exactly that object
/// (a task's `Err` would otherwise reach JS with a napi status as its code).
pub(crate) fn coded_rejection(env: sys::napi_env, error: Error<String>) -> Error {
    // SAFETY: called on the JS thread with its env (a task's resolve step).
    let value = unsafe { JsError::from(error).into_value(env) };
    // SAFETY: `value` was just created in this env.
    Error::from(unsafe { Unknown::from_raw_unchecked(env, value) })
}
