mod errors;
mod file_provider;
mod js_bytes;
mod task;
mod version;
