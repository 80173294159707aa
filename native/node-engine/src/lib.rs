//! The engine addon: runmat-core sessions (`EngineSession`) and, compiled in a second time from
//! `native/node`, the core addon's `FileProvider`. A session takes a provider of its own addon:
//! two `.node` files cannot share a Rust object, so the engine addon carries the provider too.
//! Keeping the engine out of the core addon keeps `deskless fs` and `deskless daemon` free of the
//! engine's 118 MB.

mod engine;
#[path = "../../node/src/errors.rs"]
mod errors;
#[path = "../../node/src/file_provider.rs"]
mod file_provider;
#[path = "../../node/src/js_bytes.rs"]
mod js_bytes;
#[path = "../../node/src/task.rs"]
mod task;
mod test_runner;
#[path = "../../node/src/version.rs"]
mod version;
