#[cfg(feature = "engine")]
mod engine;
mod errors;
mod file_provider;
mod js_bytes;
mod task;
#[cfg(feature = "engine")]
mod test_runner;
mod version;
