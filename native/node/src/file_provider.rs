//! The `FileProvider` class: the napi face of `deskless_fs::Provider`. Converts types, moves the
//! Promise forms off the JS thread and maps errors to their stable codes; no file-system policy
//! lives here.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use deskless_fs::{FsResult, Provider, ProviderConfig, RootConfig};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use crate::errors::{handle_id, invalid, non_negative, to_js, HandleArg, JsResult};
use crate::js_bytes::{JsBytes, JsMapped};
use crate::task::{plain, raw_parts, slice_mut, spawn, spawn_keeping, Op};

#[napi(object)]
pub struct WorkspaceRootOptions {
    pub path: String,
    pub read_only: Option<bool>,
    pub name: Option<String>,
}

#[napi(object)]
pub struct ProviderOptions {
    /// At least one; each must exist and be a directory.
    pub roots: Vec<WorkspaceRootOptions>,
    /// mmap LRU budget, default 512 MiB.
    pub cache_budget_bytes: Option<i64>,
    /// Per-handle write-behind bound, default 16 MiB.
    pub write_behind_bytes: Option<i64>,
    /// Default 1024.
    pub max_open_handles: Option<i64>,
    /// Paths are virtual (the wasm runtime's view): "/" is the first root and every other root
    /// is a top-level folder named by its `name`, which must then be usable and distinct.
    pub virtual_paths: Option<bool>,
}

#[napi(object)]
#[derive(Clone, Copy)]
pub struct OpenFlags {
    pub read: Option<bool>,
    pub write: Option<bool>,
    pub append: Option<bool>,
    pub truncate: Option<bool>,
    pub create: Option<bool>,
    pub create_new: Option<bool>,
}

#[napi(object)]
pub struct Metadata {
    #[napi(ts_type = "\"file\" | \"dir\" | \"symlink\" | \"other\"")]
    pub file_type: String,
    pub len: i64,
    /// Milliseconds since the epoch.
    pub modified: Option<f64>,
    pub readonly: bool,
}

#[napi(object)]
pub struct DirEntry {
    /// Absolute path: the host's, or the virtual one when the provider's paths are virtual.
    pub path: String,
    pub file_name: String,
    #[napi(ts_type = "\"file\" | \"dir\" | \"symlink\" | \"other\"")]
    pub file_type: String,
}

#[napi(object)]
pub struct ProviderStats {
    pub opens: i64,
    pub closes: i64,
    pub open_handles: i64,
    pub bytes_read: i64,
    pub bytes_written: i64,
    pub cache_hits: i64,
    pub cache_misses: i64,
    pub cache_evictions: i64,
    pub cache_bytes: i64,
    /// Times a writer waited at the write-behind bound.
    pub write_behind_waits: i64,
    /// Names of slower paths taken, e.g. "mmap-failed:plain-read".
    pub fallbacks: Vec<String>,
}

#[napi(object)]
pub struct WorkspaceRoot {
    pub path: String,
    pub read_only: bool,
    pub name: String,
    /// With virtual paths: "/" for the first root, "/<name>" for the others.
    pub virtual_path: Option<String>,
}

impl From<OpenFlags> for deskless_fs::OpenFlags {
    fn from(f: OpenFlags) -> Self {
        deskless_fs::OpenFlags {
            read: f.read.unwrap_or(false),
            write: f.write.unwrap_or(false),
            append: f.append.unwrap_or(false),
            truncate: f.truncate.unwrap_or(false),
            create: f.create.unwrap_or(false),
            create_new: f.create_new.unwrap_or(false),
        }
    }
}

fn metadata(m: deskless_fs::Metadata) -> Metadata {
    Metadata {
        file_type: m.file_type.as_str().to_string(),
        len: m.len as i64,
        modified: m.modified.map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs_f64() * 1000.0,
            Err(e) => -(e.duration().as_secs_f64() * 1000.0),
        }),
        readonly: m.readonly,
    }
}

fn dir_entries(entries: Vec<deskless_fs::DirEntry>) -> Vec<DirEntry> {
    entries
        .into_iter()
        .map(|e| DirEntry {
            path: e.path.to_string_lossy().into_owned(),
            file_name: e.file_name,
            file_type: e.file_type.as_str().to_string(),
        })
        .collect()
}

fn config(options: ProviderOptions) -> FsResult<ProviderConfig> {
    let roots = options
        .roots
        .into_iter()
        .map(|r| RootConfig {
            path: r.path.into(),
            read_only: r.read_only.unwrap_or(false),
            name: r.name,
        })
        .collect();
    let mut cfg = ProviderConfig::new(roots);
    cfg.virtual_paths = options.virtual_paths.unwrap_or(false);
    if let Some(v) = options.cache_budget_bytes {
        cfg.cache_budget_bytes = non_negative("cacheBudgetBytes", v)?;
    }
    if let Some(v) = options.write_behind_bytes {
        let v = non_negative("writeBehindBytes", v)?;
        if v == 0 {
            return Err(invalid("writeBehindBytes must be at least 1"));
        }
        cfg.write_behind_bytes = v as usize;
    }
    if let Some(v) = options.max_open_handles {
        cfg.max_open_handles = non_negative("maxOpenHandles", v)? as usize;
    }
    Ok(cfg)
}

fn number(v: u64) -> i64 {
    v as i64
}

fn js<T>(r: FsResult<T>) -> JsResult<T> {
    r.map_err(to_js)
}

/// Converters for the Promise forms.
fn unit(env: sys::napi_env, _: ()) -> Result<sys::napi_value> {
    plain(env, ())
}
fn bigint(env: sys::napi_env, v: u64) -> Result<sys::napi_value> {
    plain(env, BigInt::from(v))
}
fn num(env: sys::napi_env, v: u64) -> Result<sys::napi_value> {
    plain(env, number(v))
}
fn bytes(env: sys::napi_env, v: deskless_fs::ReadBytes) -> Result<sys::napi_value> {
    plain(env, JsBytes(v))
}
fn mapped(env: sys::napi_env, v: deskless_fs::ReadBytes) -> Result<sys::napi_value> {
    plain(env, JsMapped(v))
}
fn meta(env: sys::napi_env, v: deskless_fs::Metadata) -> Result<sys::napi_value> {
    plain(env, metadata(v))
}
fn entries(env: sys::napi_env, v: Vec<deskless_fs::DirEntry>) -> Result<sys::napi_value> {
    plain(env, dir_entries(v))
}
fn string(env: sys::napi_env, v: String) -> Result<sys::napi_value> {
    plain(env, v)
}

/// A workspace-confined file provider: handle table, mmap cache, write-behind, sandbox.
#[napi]
pub struct FileProvider {
    inner: Arc<Provider>,
}

impl FileProvider {
    /// The shared provider, for the engine addon's sessions (it compiles this file too); the
    /// core addon has no caller.
    #[allow(dead_code)]
    pub(crate) fn inner(&self) -> Arc<Provider> {
        Arc::clone(&self.inner)
    }

    fn p(&self) -> Arc<Provider> {
        Arc::clone(&self.inner)
    }

    /// A positional read on the JS thread.
    fn read_now(
        &self,
        handle: &HandleArg,
        offset: i64,
        length: i64,
    ) -> FsResult<deskless_fs::ReadBytes> {
        let (h, off, len) = (
            handle_id(handle)?,
            non_negative("offset", offset)?,
            non_negative("length", length)?,
        );
        self.inner.read(h, off, len as usize)
    }

    /// A positional read to run off the JS thread (arguments checked now, errors reported then).
    fn read_job(
        &self,
        handle: &HandleArg,
        offset: i64,
        length: i64,
    ) -> impl FnOnce() -> FsResult<deskless_fs::ReadBytes> + Send + 'static {
        let p = self.p();
        let args = (
            handle_id(handle),
            non_negative("offset", offset),
            non_negative("length", length),
        );
        move || {
            let (h, off, len) = (args.0?, args.1?, args.2?);
            p.read(h, off, len as usize)
        }
    }
}

#[napi]
impl FileProvider {
    #[napi(constructor)]
    pub fn new(options: ProviderOptions) -> Result<Self, String> {
        let cfg = js(config(options))?;
        let inner = js(Provider::new(cfg))?;
        Ok(FileProvider {
            inner: Arc::new(inner),
        })
    }

    // Handles -------------------------------------------------------------------------------

    #[napi]
    pub fn open_sync(&self, path: String, flags: OpenFlags) -> Result<BigInt, String> {
        js(self.inner.open(&path, flags.into())).map(BigInt::from)
    }

    #[napi(ts_return_type = "Promise<bigint>")]
    pub fn open(&self, path: String, flags: OpenFlags) -> AsyncTask<Op<u64>> {
        let p = self.p();
        spawn(move || p.open(&path, flags.into()), bigint)
    }

    /// Waits for the write-behind drain and reports its error.
    #[napi]
    pub fn close_sync(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
    ) -> Result<(), String> {
        js(handle_id(&handle).and_then(|h| self.inner.close(h)))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self, #[napi(ts_arg_type = "bigint")] handle: HandleArg) -> AsyncTask<Op<()>> {
        let p = self.p();
        let h = handle_id(&handle);
        spawn(move || p.close(h?), unit)
    }

    /// A write-only handle on a temporary file beside `path` that will replace it; see
    /// `commitReplacementSync`. `closeSync` (or `disposeSync`) abandons it: the temporary file is
    /// removed and `path` is left as it was.
    #[napi]
    pub fn open_replacement_sync(&self, path: String) -> Result<BigInt, String> {
        js(self.inner.open_replacement(&path)).map(BigInt::from)
    }

    #[napi(ts_return_type = "Promise<bigint>")]
    pub fn open_replacement(&self, path: String) -> AsyncTask<Op<u64>> {
        let p = self.p();
        spawn(move || p.open_replacement(&path), bigint)
    }

    /// Closes a handle from `openReplacementSync` (reporting a write error) and renames its file
    /// over the destination; with `replace` false, ALREADY_EXISTS when the destination exists,
    /// decided atomically by the kernel. On any failure the temporary file is removed and the
    /// destination is as it was.
    #[napi]
    pub fn commit_replacement_sync(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        replace: bool,
    ) -> Result<(), String> {
        js(handle_id(&handle).and_then(|h| self.inner.commit_replacement(h, replace)))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn commit_replacement(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        replace: bool,
    ) -> AsyncTask<Op<()>> {
        let p = self.p();
        let h = handle_id(&handle);
        spawn(move || p.commit_replacement(h?, replace), unit)
    }

    /// Short only at end of file. Always an ordinary, writable Buffer (bytes from the map cache
    /// are copied out); see `readMappedSync` for the zero-copy form.
    #[napi(ts_return_type = "Buffer")]
    pub fn read_sync(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        offset: i64,
        length: i64,
    ) -> Result<JsBytes, String> {
        js(self.read_now(&handle, offset, length)).map(JsBytes)
    }

    /// Short only at end of file. Always an ordinary, writable Buffer.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn read(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        offset: i64,
        length: i64,
    ) -> AsyncTask<Op<deskless_fs::ReadBytes>> {
        spawn(self.read_job(&handle, offset, length), bytes)
    }

    /// Like `readSync`, but a read of 64 KiB or more from a cached file is a zero-copy view of
    /// the provider's memory map. THE VIEW IS READ-ONLY MEMORY: writing into it kills the process
    /// (SIGSEGV). Copy it (`Buffer.from(buf)`) before modifying it. Smaller or uncached reads
    /// are ordinary copies.
    #[napi(ts_return_type = "Buffer")]
    pub fn read_mapped_sync(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        offset: i64,
        length: i64,
    ) -> Result<JsMapped, String> {
        js(self.read_now(&handle, offset, length)).map(JsMapped)
    }

    /// Promise form of `readMappedSync`: the Buffer may be a READ-ONLY view of the map (writing
    /// into it kills the process).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn read_mapped(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        offset: i64,
        length: i64,
    ) -> AsyncTask<Op<deskless_fs::ReadBytes>> {
        spawn(self.read_job(&handle, offset, length), mapped)
    }

    /// Fills `target` from `offset`; returns the bytes read (short only at end of file).
    #[napi]
    pub fn read_into_sync(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        offset: i64,
        mut target: Uint8ArraySlice,
    ) -> Result<i64, String> {
        let h = js(handle_id(&handle))?;
        let off = js(non_negative("offset", offset))?;
        // SAFETY: the slice is borrowed for this synchronous call on the JS thread.
        let buf = unsafe { target.as_mut() };
        js(self.inner.read_at(h, off, buf)).map(|n| n as i64)
    }

    #[napi(ts_return_type = "Promise<number>")]
    pub fn read_into(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        offset: i64,
        target: Uint8Array,
    ) -> AsyncTask<Op<u64>> {
        let p = self.p();
        let args = (handle_id(&handle), non_negative("offset", offset));
        let mem = raw_parts(&target);
        spawn_keeping(
            target,
            move || {
                // SAFETY: the task keeps `target` referenced until the promise settles.
                let buf = unsafe { slice_mut(mem) };
                p.read_at(args.0?, args.1?, buf).map(|n| n as u64)
            },
            num,
        )
    }

    /// Returns once the bytes are in the write-behind buffer.
    #[napi]
    pub fn write_sync(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        offset: i64,
        data: Uint8ArraySlice,
    ) -> Result<i64, String> {
        let h = js(handle_id(&handle))?;
        let off = js(non_negative("offset", offset))?;
        js(self.inner.write_at(h, off, &data)).map(|n| n as i64)
    }

    #[napi(ts_return_type = "Promise<number>")]
    pub fn write(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        offset: i64,
        data: Uint8Array,
    ) -> AsyncTask<Op<u64>> {
        let p = self.p();
        let args = (handle_id(&handle), non_negative("offset", offset));
        let mem = raw_parts(&data);
        spawn_keeping(
            data,
            move || {
                // SAFETY: the task keeps `data` referenced until the promise settles.
                let bytes = unsafe { slice_mut(mem) };
                p.write_at(args.0?, args.1?, bytes).map(|n| n as u64)
            },
            num,
        )
    }

    /// Returns the offset written at.
    #[napi]
    pub fn append_sync(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        data: Uint8ArraySlice,
    ) -> Result<i64, String> {
        let h = js(handle_id(&handle))?;
        js(self.inner.append(h, &data)).map(number)
    }

    #[napi(ts_return_type = "Promise<number>")]
    pub fn append(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
        data: Uint8Array,
    ) -> AsyncTask<Op<u64>> {
        let p = self.p();
        let h = handle_id(&handle);
        let mem = raw_parts(&data);
        spawn_keeping(
            data,
            move || {
                // SAFETY: the task keeps `data` referenced until the promise settles.
                let bytes = unsafe { slice_mut(mem) };
                p.append(h?, bytes)
            },
            num,
        )
    }

    #[napi]
    pub fn flush_sync(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
    ) -> Result<(), String> {
        js(handle_id(&handle).and_then(|h| self.inner.flush(h)))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush(&self, #[napi(ts_arg_type = "bigint")] handle: HandleArg) -> AsyncTask<Op<()>> {
        let p = self.p();
        let h = handle_id(&handle);
        spawn(move || p.flush(h?), unit)
    }

    /// Includes pending writes.
    #[napi]
    pub fn length_sync(
        &self,
        #[napi(ts_arg_type = "bigint")] handle: HandleArg,
    ) -> Result<i64, String> {
        js(handle_id(&handle).and_then(|h| self.inner.len(h))).map(number)
    }

    #[napi(ts_return_type = "Promise<number>")]
    pub fn length(&self, #[napi(ts_arg_type = "bigint")] handle: HandleArg) -> AsyncTask<Op<u64>> {
        let p = self.p();
        let h = handle_id(&handle);
        spawn(move || p.len(h?), num)
    }

    // Whole paths -----------------------------------------------------------------------------

    /// Always an ordinary, writable Buffer; see `readFileMappedSync` for the zero-copy form.
    #[napi(ts_return_type = "Buffer")]
    pub fn read_file_sync(&self, path: String) -> Result<JsBytes, String> {
        js(self.inner.read_file_bytes(&path)).map(JsBytes)
    }

    /// Always an ordinary, writable Buffer.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn read_file(&self, path: String) -> AsyncTask<Op<deskless_fs::ReadBytes>> {
        let p = self.p();
        spawn(move || p.read_file_bytes(&path), bytes)
    }

    /// Like `readFileSync`, but a file of 64 KiB or more that fits the cache is a zero-copy view
    /// of the provider's memory map. THE VIEW IS READ-ONLY MEMORY: writing into it kills the
    /// process (SIGSEGV). Copy it (`Buffer.from(buf)`) before modifying it.
    #[napi(ts_return_type = "Buffer")]
    pub fn read_file_mapped_sync(&self, path: String) -> Result<JsMapped, String> {
        js(self.inner.read_file_bytes(&path)).map(JsMapped)
    }

    /// Promise form of `readFileMappedSync`: the Buffer may be a READ-ONLY view of the map
    /// (writing into it kills the process).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn read_file_mapped(&self, path: String) -> AsyncTask<Op<deskless_fs::ReadBytes>> {
        let p = self.p();
        spawn(move || p.read_file_bytes(&path), mapped)
    }

    /// Atomic: temp file + rename.
    #[napi]
    pub fn write_file_sync(&self, path: String, data: Uint8ArraySlice) -> Result<(), String> {
        js(self.inner.write_file(&path, &data))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn write_file(&self, path: String, data: Uint8Array) -> AsyncTask<Op<()>> {
        let p = self.p();
        let mem = raw_parts(&data);
        spawn_keeping(
            data,
            move || {
                // SAFETY: the task keeps `data` referenced until the promise settles.
                let bytes = unsafe { slice_mut(mem) };
                p.write_file(&path, bytes)
            },
            unit,
        )
    }

    #[napi]
    pub fn metadata_sync(&self, path: String) -> Result<Metadata, String> {
        js(self.inner.metadata(&path)).map(metadata)
    }

    #[napi(ts_return_type = "Promise<Metadata>")]
    pub fn metadata(&self, path: String) -> AsyncTask<Op<deskless_fs::Metadata>> {
        let p = self.p();
        spawn(move || p.metadata(&path), meta)
    }

    #[napi]
    pub fn symlink_metadata_sync(&self, path: String) -> Result<Metadata, String> {
        js(self.inner.symlink_metadata(&path)).map(metadata)
    }

    #[napi(ts_return_type = "Promise<Metadata>")]
    pub fn symlink_metadata(&self, path: String) -> AsyncTask<Op<deskless_fs::Metadata>> {
        let p = self.p();
        spawn(move || p.symlink_metadata(&path), meta)
    }

    #[napi]
    pub fn read_dir_sync(&self, path: String) -> Result<Vec<DirEntry>, String> {
        js(self.inner.read_dir(&path)).map(dir_entries)
    }

    #[napi(ts_return_type = "Promise<Array<DirEntry>>")]
    pub fn read_dir(&self, path: String) -> AsyncTask<Op<Vec<deskless_fs::DirEntry>>> {
        let p = self.p();
        spawn(move || p.read_dir(&path), entries)
    }

    #[napi]
    pub fn create_dir_sync(&self, path: String, recursive: bool) -> Result<(), String> {
        js(self.inner.create_dir(&path, recursive))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn create_dir(&self, path: String, recursive: bool) -> AsyncTask<Op<()>> {
        let p = self.p();
        spawn(move || p.create_dir(&path, recursive), unit)
    }

    #[napi]
    pub fn remove_file_sync(&self, path: String) -> Result<(), String> {
        js(self.inner.remove_file(&path))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn remove_file(&self, path: String) -> AsyncTask<Op<()>> {
        let p = self.p();
        spawn(move || p.remove_file(&path), unit)
    }

    #[napi]
    pub fn remove_dir_sync(&self, path: String, recursive: bool) -> Result<(), String> {
        js(self.inner.remove_dir(&path, recursive))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn remove_dir(&self, path: String, recursive: bool) -> AsyncTask<Op<()>> {
        let p = self.p();
        spawn(move || p.remove_dir(&path, recursive), unit)
    }

    #[napi]
    pub fn rename_sync(&self, from: String, to: String) -> Result<(), String> {
        js(self.inner.rename(&from, &to))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn rename(&self, from: String, to: String) -> AsyncTask<Op<()>> {
        let p = self.p();
        spawn(move || p.rename(&from, &to), unit)
    }

    /// Like rename, but ALREADY_EXISTS when `to` exists, decided atomically by the kernel.
    #[napi]
    pub fn rename_no_replace_sync(&self, from: String, to: String) -> Result<(), String> {
        js(self.inner.rename_no_replace(&from, &to))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn rename_no_replace(&self, from: String, to: String) -> AsyncTask<Op<()>> {
        let p = self.p();
        spawn(move || p.rename_no_replace(&from, &to), unit)
    }

    #[napi]
    pub fn set_readonly_sync(&self, path: String, readonly: bool) -> Result<(), String> {
        js(self.inner.set_readonly(&path, readonly))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_readonly(&self, path: String, readonly: bool) -> AsyncTask<Op<()>> {
        let p = self.p();
        spawn(move || p.set_readonly(&path, readonly), unit)
    }

    /// The absolute path inside a root that `path` resolves to (symlinks resolved): a host
    /// path, or the virtual one when the provider's paths are virtual.
    #[napi]
    pub fn canonicalize_sync(&self, path: String) -> Result<String, String> {
        js(self.inner.canonicalize(&path)).map(|p| p.to_string_lossy().into_owned())
    }

    #[napi(ts_return_type = "Promise<string>")]
    pub fn canonicalize(&self, path: String) -> AsyncTask<Op<String>> {
        let p = self.p();
        spawn(
            move || {
                p.canonicalize(&path)
                    .map(|p| p.to_string_lossy().into_owned())
            },
            string,
        )
    }

    // Provider ------------------------------------------------------------------------------

    /// Releases the provider now instead of at garbage collection: waits for running
    /// operations, flushes and closes every open handle (throws the first write error, like
    /// `close`; every handle is closed anyway), drops the map cache, lets go of the root
    /// directories (so their file system can be unmounted) and stops the write-behind threads.
    /// Every later operation fails with code DISPOSED (an engine session sharing this provider
    /// included); `roots()`, `stats()` and a second `disposeSync()` still work. Buffers from the
    /// `Mapped` reads keep their map until they are collected.
    #[napi]
    pub fn dispose_sync(&self) -> Result<(), String> {
        js(self.inner.dispose())
    }

    /// Promise form of `disposeSync` (the flushes run off the JS thread).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn dispose(&self) -> AsyncTask<Op<()>> {
        let p = self.p();
        spawn(move || p.dispose(), unit)
    }

    #[napi]
    pub fn roots(&self) -> Vec<WorkspaceRoot> {
        self.inner
            .roots()
            .into_iter()
            .map(|r| WorkspaceRoot {
                path: r.path.to_string_lossy().into_owned(),
                read_only: r.read_only,
                name: r.name,
                virtual_path: r.virtual_path,
            })
            .collect()
    }

    /// The host path `path` stands for, without touching the file system (every operation still
    /// checks it): with virtual paths, where the virtual path maps; else joined to the first root
    /// when relative.
    #[napi]
    pub fn host_path(&self, path: String) -> Result<String, String> {
        js(self.inner.host_path(&path)).map(|p| p.to_string_lossy().into_owned())
    }

    /// The virtual path of a host path; null outside every root, or when paths are not virtual.
    #[napi]
    pub fn virtual_path(&self, host_path: String) -> Option<String> {
        self.inner.virtual_path(std::path::Path::new(&host_path))
    }

    #[napi]
    pub fn stats(&self) -> ProviderStats {
        let s = self.inner.stats();
        ProviderStats {
            opens: number(s.opens),
            closes: number(s.closes),
            open_handles: number(s.open_handles),
            bytes_read: number(s.bytes_read),
            bytes_written: number(s.bytes_written),
            cache_hits: number(s.cache_hits),
            cache_misses: number(s.cache_misses),
            cache_evictions: number(s.cache_evictions),
            cache_bytes: number(s.cache_bytes),
            write_behind_waits: number(s.write_behind_waits),
            fallbacks: s.fallbacks,
        }
    }
}
