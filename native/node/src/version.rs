//! The addon's version.

use napi_derive::napi;

/// The version of the native addon (the deskless-node crate).
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
