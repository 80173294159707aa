//! The provider: roots, handle table, map cache and write-behind queues.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::SeqCst,
};
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use memmap2::Mmap;

use crate::bytes::{MappedSlice, ReadBytes};
use crate::cache::{FileKey, MapCache, Stamp};
use crate::error::{ErrorCode, FsError, FsResult};
use crate::preallocate::Preallocation;
use crate::replace::Replacement;
use crate::sandbox::{self, Root, Sandbox};
use crate::stats::{Counters, Stats};
use crate::sys;
use crate::types::{OpenFlags, ProviderConfig, RootInfo};
use crate::virtual_paths::VirtualNames;
use crate::write_behind::{At, Gate, Services, Spawner, WriteQueue};

/// Fallback name recorded when a map fails and plain `pread` is used instead.
pub const FALLBACK_MMAP: &str = "mmap-failed:plain-read";
/// Fallback name recorded when `openat2` is unavailable and the component walk is used.
pub const FALLBACK_RESOLVER: &str = "openat2-unavailable:component-walk";

/// What is known about one file (by device and inode) across all handles: the write-behind
/// queues writing to it, so a read can wait for the writes accepted before it.
#[derive(Default)]
pub(crate) struct InodeState {
    writers: Mutex<Vec<Arc<WriteQueue>>>,
    count: AtomicUsize,
    /// Bumped whenever the file changes through the provider (a write lands, a truncating
    /// open): a handle's remembered map is stale once this moved.
    generation: Arc<AtomicU64>,
    /// Extents reserved ahead of the writers, given back when the last one closes.
    prealloc: Arc<Preallocation>,
}

impl InodeState {
    /// Waits until every write accepted so far for this file, on any handle, is on disk.
    pub(crate) fn wait_writes(&self) {
        if self.count.load(Relaxed) == 0 {
            return;
        }
        let queues = self
            .writers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for q in queues {
            q.wait_accepted();
        }
    }

    /// Highest end offset of the writes to this file not yet on disk.
    fn pending_end(&self) -> u64 {
        if self.count.load(Relaxed) == 0 {
            return 0;
        }
        let queues = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        queues.iter().map(|q| q.pending_end()).max().unwrap_or(0)
    }

    fn add_writer(&self, q: &Arc<WriteQueue>) {
        self.writers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(q));
        self.count.fetch_add(1, Relaxed);
    }

    /// Forgets a closing handle's queue; the last writer to go gives back the extents
    /// reserved past the file's end.
    fn remove_writer(&self, q: &Arc<WriteQueue>, file: &File) {
        let mut w = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = w.iter().position(|x| Arc::ptr_eq(x, q)) {
            w.swap_remove(i);
            self.count.fetch_sub(1, Relaxed);
        }
        if w.is_empty() {
            self.prealloc.trim(file);
        }
    }
}

/// One open handle.
pub(crate) struct Handle {
    pub path: String,
    pub file: Arc<File>,
    pub key: FileKey,
    pub readable: bool,
    pub append: bool,
    pub queue: Option<Arc<WriteQueue>>,
    pub inode: Arc<InodeState>,
    /// Served from the map cache (read-only handle on a regular file, maps not failing).
    pub cacheable: AtomicBool,
    /// The map this handle last used, with the generation and time it was checked at.
    pub recent: Mutex<Option<RecentMap>>,
    /// A handle from `open_replacement`: the temporary file it writes and where it goes.
    replacement: Mutex<Option<Replacement>>,
}

impl Handle {
    fn is_replacement(&self) -> bool {
        self.replacement
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn take_replacement(&self) -> Option<Replacement> {
        self.replacement
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

/// A map a handle may use again without checking the file, until `revalidate_after` passes or
/// the file's generation moves.
pub(crate) struct RecentMap {
    /// `None`: the file was too large (or empty) to cache when checked. Weak, so a handle never
    /// keeps a map alive past its eviction from the cache.
    map: Option<Weak<Mmap>>,
    generation: u64,
    checked: Instant,
}

/// A workspace-confined file provider. Create it once and share it as `Arc<Provider>`; every
/// method takes `&self` and may be called from many threads at once.
pub struct Provider {
    pub(crate) sandbox: Sandbox,
    handles: RwLock<HashMap<u64, Arc<Handle>>>,
    next_handle: AtomicU64,
    max_open: usize,
    write_behind: usize,
    revalidate_after: Duration,
    pub(crate) cache: Arc<MapCache>,
    pub(crate) counters: Arc<Counters>,
    inodes: Mutex<HashMap<FileKey, Weak<InodeState>>>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    pub(crate) spawner: Box<Spawner>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) tmp_counter: AtomicU64,
    /// Set by `dispose`: every operation that starts afterwards fails with DISPOSED.
    disposed: AtomicBool,
    /// Operations running now (see [`Provider::enter`]); `dispose` waits for them to finish.
    active: AtomicUsize,
    idle: (Mutex<()>, Condvar),
}

/// One running operation, counted in `Provider::active` until dropped.
pub(crate) struct Active<'a>(&'a Provider);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        let p = self.0;
        if p.active.fetch_sub(1, SeqCst) == 1 && p.disposed.load(SeqCst) {
            let _g = p.idle.0.lock().unwrap_or_else(|e| e.into_inner());
            p.idle.1.notify_all();
        }
    }
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("roots", &self.roots())
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// Opens the roots (each must exist and be a directory) and starts the write-behind runtime.
    pub fn new(config: ProviderConfig) -> FsResult<Provider> {
        if config.roots.is_empty() {
            return Err(FsError::new(
                ErrorCode::InvalidArgument,
                "a provider needs at least one workspace root",
            ));
        }
        if config.max_open_handles == 0 {
            return Err(FsError::new(
                ErrorCode::InvalidArgument,
                "maxOpenHandles must be at least 1",
            ));
        }
        let mut roots = Vec::with_capacity(config.roots.len());
        for r in &config.roots {
            let root = Root::open(&r.path, r.read_only, r.name.clone())?;
            let st = sys::fstat(root.fd())
                .map_err(|e| FsError::os(e, "root", &r.path.to_string_lossy()))?;
            if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                return Err(FsError::os(
                    libc::ENOTDIR,
                    "root",
                    &r.path.to_string_lossy(),
                ));
            }
            roots.push(root);
        }
        let counters = Arc::new(Counters::default());
        let use_openat2 =
            !config.force_fallback_resolver && sandbox::openat2_available(roots[0].fd());
        if !use_openat2 {
            counters.fallback(FALLBACK_RESOLVER);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(64)
            .thread_name("deskless-fs")
            .build()
            .map_err(|e| {
                FsError::new(
                    ErrorCode::Io,
                    format!("cannot start the write-behind runtime: {e}"),
                )
            })?;
        let rt = runtime.handle().clone();
        let spawner: Box<Spawner> = Box::new(move |job| {
            rt.spawn_blocking(job);
        });
        let virtual_names = match config.virtual_paths {
            true => Some(VirtualNames::new(&roots)?),
            false => None,
        };
        Ok(Provider {
            sandbox: Sandbox::new(roots, use_openat2, virtual_names),
            handles: RwLock::new(HashMap::new()),
            next_handle: AtomicU64::new(1),
            max_open: config.max_open_handles,
            write_behind: config.write_behind_bytes.max(1),
            revalidate_after: config.cache_revalidate_after,
            cache: Arc::new(MapCache::new(config.cache_budget_bytes)),
            counters,
            inodes: Mutex::new(HashMap::new()),
            runtime: Mutex::new(Some(runtime)),
            spawner,
            gate: Arc::new(Gate::default()),
            tmp_counter: AtomicU64::new(0),
            disposed: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            idle: (Mutex::new(()), Condvar::new()),
        })
    }

    /// Marks the start of an operation; DISPOSED once `dispose` has begun. The count (with the
    /// flag, both sequentially consistent) lets `dispose` wait until no operation uses the roots
    /// or the handle table before it lets them go.
    pub(crate) fn enter(&self) -> FsResult<Active<'_>> {
        self.active.fetch_add(1, SeqCst);
        let active = Active(self);
        if self.disposed.load(SeqCst) {
            return Err(FsError::disposed());
        }
        Ok(active)
    }

    /// Has `dispose` been called?
    pub fn is_disposed(&self) -> bool {
        self.disposed.load(SeqCst)
    }

    /// Releases everything the provider holds, at once rather than when the last reference goes:
    /// waits for operations already running, flushes and closes every open handle (reporting the
    /// first write error, like [`Provider::close`]; every handle is closed whatever happens),
    /// drops the cached maps, lets go of the root directories and stops the write-behind runtime.
    /// Every later operation, from any holder of the provider, fails with DISPOSED; `roots`,
    /// `stats` and a second `dispose` (which does nothing) still work. Buffers handed out as
    /// views of cached maps keep their map (and its file) alive until they are collected.
    pub fn dispose(&self) -> FsResult<()> {
        if self.disposed.swap(true, SeqCst) {
            return Ok(());
        }
        // A paused drain would hold back the writers and the flushes below.
        self.gate.set(false);
        {
            let mut g = self.idle.0.lock().unwrap_or_else(|e| e.into_inner());
            while self.active.load(SeqCst) > 0 {
                g = self
                    .idle
                    .1
                    .wait_timeout(g, Duration::from_millis(5))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
        let handles = self.take_all_handles();
        let mut first_error = None;
        for handle in handles {
            Counters::add(&self.counters.closes, 1);
            if let Some(q) = &handle.queue {
                if let Err(e) = q.flush() {
                    first_error.get_or_insert(e);
                }
            }
            self.discard(handle);
        }
        self.cache.clear();
        self.sandbox.release_roots();
        let runtime = self
            .runtime
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(rt) = runtime {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Blocking is not allowed inside a runtime: let the threads end on their own.
                rt.shutdown_background();
            } else {
                // Every queue is drained, so the drain tasks are ending; waiting for them makes
                // sure the files they hold are closed when dispose returns.
                rt.shutdown_timeout(Duration::from_secs(10));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Removes every handle from the table (for dispose and drop).
    fn take_all_handles(&self) -> Vec<Arc<Handle>> {
        self.handles
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, h)| h)
            .collect()
    }

    /// The roots, in configuration order.
    pub fn roots(&self) -> Vec<RootInfo> {
        let names = self.sandbox.virtual_names();
        self.sandbox
            .roots()
            .iter()
            .enumerate()
            .map(|(i, r)| RootInfo {
                path: r.path.clone(),
                read_only: r.read_only,
                name: r.name.clone(),
                virtual_path: names.map(|n| n.root_path(i)),
            })
            .collect()
    }

    /// The host path a path stands for (no file system access: the sandbox still checks it on
    /// use). With host paths, a relative path is joined to the first root.
    pub fn host_path(&self, path: &str) -> FsResult<PathBuf> {
        let t = self.sandbox.locate(path)?;
        Ok(match t.rel.as_str() {
            "" => t.root.path.clone(),
            rel => t.root.path.join(rel),
        })
    }

    /// The virtual path of a host path; `None` outside every root, or when paths are not virtual.
    pub fn virtual_path(&self, host: &Path) -> Option<String> {
        let names = self.sandbox.virtual_names()?;
        names.virtual_of(self.sandbox.roots(), host)
    }

    /// Records that a layer above the provider took a slower or weaker path (listed in `stats`).
    pub fn record_fallback(&self, name: &str) {
        self.counters.fallback(name);
    }

    /// Does path resolution use `openat2` (rather than the component-walk fallback)?
    pub fn uses_openat2(&self) -> bool {
        self.sandbox.uses_openat2()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let open = self.handles.read().unwrap_or_else(|e| e.into_inner()).len() as u64;
        self.counters.snapshot(open, self.cache.bytes())
    }

    pub(crate) fn inode_for(&self, key: FileKey) -> Arc<InodeState> {
        let mut map = self.inodes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get(&key).and_then(Weak::upgrade) {
            return s;
        }
        let s = Arc::new(InodeState::default());
        map.insert(key, Arc::downgrade(&s));
        s
    }

    pub(crate) fn inode_if_any(&self, key: FileKey) -> Option<Arc<InodeState>> {
        let map = self.inodes.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&key).and_then(Weak::upgrade)
    }

    fn release_inode(&self, key: FileKey, state: Arc<InodeState>) {
        let mut map = self.inodes.lock().unwrap_or_else(|e| e.into_inner());
        // Only the registry's Weak and our Arc remain: nobody else uses this file.
        if Arc::strong_count(&state) == 1 {
            map.remove(&key);
        }
    }

    /// Opens `path` and returns a new handle (never reused while the provider lives).
    ///
    /// A handle opened only for reading on a regular file is served from the map cache.
    /// Directories cannot be opened (IS_A_DIRECTORY).
    pub fn open(&self, path: &str, flags: OpenFlags) -> FsResult<u64> {
        let _active = self.enter()?;
        let writes = flags.write || flags.append;
        if !flags.read && !writes {
            return Err(FsError::new(
                ErrorCode::InvalidArgument,
                format!("open {path:?}: the flags need read, write or append"),
            ));
        }
        if (flags.truncate && !flags.write) || ((flags.create || flags.create_new) && !writes) {
            return Err(FsError::new(
                ErrorCode::InvalidArgument,
                format!("open {path:?}: create and truncate need write access"),
            ));
        }
        let t = if flags.writes() {
            self.sandbox.locate_writable(path)?
        } else {
            self.sandbox.locate(path)?
        };
        self.check_limit(path)?;
        let mut oflags = match (flags.read, writes) {
            (true, true) => libc::O_RDWR,
            (false, true) => libc::O_WRONLY,
            _ => libc::O_RDONLY,
        };
        if flags.create_new {
            oflags |= libc::O_CREAT | libc::O_EXCL;
        } else if flags.create {
            oflags |= libc::O_CREAT;
        }
        if flags.truncate {
            oflags |= libc::O_TRUNC;
        }
        // O_APPEND is not passed: Linux pwrite ignores the offset on O_APPEND descriptors, and
        // appends are positioned by the write-behind queue instead. O_NONBLOCK keeps a FIFO in
        // the workspace from hanging the open (it changes nothing for regular files).
        oflags |= libc::O_NONBLOCK;
        let fd = self.sandbox.open(&t, oflags, 0o666, "open")?;
        self.add_handle(path, File::from(fd), flags, None)
    }

    /// Puts an open file into the handle table (TOO_MANY_HANDLES when it is full).
    pub(crate) fn add_handle(
        &self,
        path: &str,
        file: File,
        flags: OpenFlags,
        replacement: Option<Replacement>,
    ) -> FsResult<u64> {
        let writes = flags.write || flags.append;
        let st = sys::fstat(file.as_fd()).map_err(|e| FsError::os(e, "open", path))?;
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            return Err(FsError::os(libc::EISDIR, "open", path));
        }
        let key = (st.st_dev, st.st_ino);
        let file = Arc::new(file);
        let inode = self.inode_for(key);
        if flags.truncate {
            self.cache.invalidate(key);
            inode.generation.fetch_add(1, Relaxed);
        }
        let queue = writes.then(|| {
            let q = Arc::new(WriteQueue::new(
                Arc::clone(&file),
                path.to_string(),
                key,
                self.write_behind,
                Arc::clone(&inode.generation),
                Arc::clone(&inode.prealloc),
                Services {
                    cache: Arc::clone(&self.cache),
                    counters: Arc::clone(&self.counters),
                    gate: Arc::clone(&self.gate),
                },
            ));
            inode.add_writer(&q);
            q
        });
        let regular = st.st_mode & libc::S_IFMT == libc::S_IFREG;
        let handle = Arc::new(Handle {
            path: path.to_string(),
            file,
            key,
            readable: flags.read,
            append: flags.append,
            queue,
            inode,
            cacheable: AtomicBool::new(!writes && regular && self.cache.enabled()),
            recent: Mutex::new(None),
            replacement: Mutex::new(replacement),
        });
        let mut table = self.handles.write().unwrap_or_else(|e| e.into_inner());
        if table.len() >= self.max_open {
            drop(table);
            self.discard(handle);
            return Err(self.too_many(path));
        }
        let id = self.next_handle.fetch_add(1, Relaxed);
        table.insert(id, handle);
        Counters::add(&self.counters.opens, 1);
        Ok(id)
    }

    fn too_many(&self, path: &str) -> FsError {
        FsError::new(
            ErrorCode::TooManyHandles,
            format!(
                "open {path:?}: too many open handles (limit {})",
                self.max_open
            ),
        )
    }

    pub(crate) fn check_limit(&self, path: &str) -> FsResult<()> {
        if self.handles.read().unwrap_or_else(|e| e.into_inner()).len() >= self.max_open {
            return Err(self.too_many(path));
        }
        Ok(())
    }

    /// Unregisters a handle that leaves the table. A replacement still held is abandoned: its
    /// temporary file goes now, not when the last operation still using the handle ends.
    fn discard(&self, handle: Arc<Handle>) {
        if let Some(q) = &handle.queue {
            handle.inode.remove_writer(q, &handle.file);
        }
        drop(handle.take_replacement());
        let key = handle.key;
        let inode = Arc::clone(&handle.inode);
        drop(handle);
        self.release_inode(key, inode);
    }

    fn handle(&self, h: u64) -> FsResult<Arc<Handle>> {
        self.handles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&h)
            .cloned()
            .ok_or_else(|| FsError::bad_handle(h))
    }

    /// Closes a handle: waits for its write-behind queue to drain and reports a write error
    /// that happened on it. The handle is closed whatever the result.
    pub fn close(&self, h: u64) -> FsResult<()> {
        let _active = self.enter()?;
        let handle = self
            .handles
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&h)
            .ok_or_else(|| FsError::bad_handle(h))?;
        Counters::add(&self.counters.closes, 1);
        let result = match &handle.queue {
            Some(q) => q.flush(),
            None => Ok(()),
        };
        self.discard(handle);
        result
    }

    /// Closes a handle from `open_replacement` like [`Provider::close`] and hands back its
    /// replacement, ready to be renamed into place; a write error is returned instead (and the
    /// temporary file removed). Anything but a replacement handle is INVALID_ARGUMENT and stays
    /// open.
    pub(crate) fn close_replacement(&self, h: u64) -> FsResult<Replacement> {
        let handle = {
            let mut table = self.handles.write().unwrap_or_else(|e| e.into_inner());
            let found = table.get(&h).ok_or_else(|| FsError::bad_handle(h))?;
            if !found.is_replacement() {
                return Err(FsError::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "commit {:?}: the handle was not opened as a replacement",
                        found.path
                    ),
                ));
            }
            table.remove(&h).expect("found above")
        };
        Counters::add(&self.counters.closes, 1);
        let written = match &handle.queue {
            Some(q) => q.flush(),
            None => Ok(()),
        };
        // Only a handle out of the table is taken from, so this one is still there.
        let replacement = handle.take_replacement().expect("checked above");
        self.discard(handle);
        written.map(|()| replacement)
    }

    /// Checks a handle before a read: readable, no stored write error, and every write accepted
    /// for its file (through any handle) on disk.
    fn before_read(&self, h: u64) -> FsResult<Arc<Handle>> {
        let hd = self.handle(h)?;
        if !hd.readable {
            return Err(FsError::new(
                ErrorCode::PermissionDenied,
                format!("read {:?}: the handle is not open for reading", hd.path),
            ));
        }
        if let Some(q) = &hd.queue {
            q.check()?;
        }
        hd.inode.wait_writes();
        if let Some(q) = &hd.queue {
            q.check()?;
        }
        Ok(hd)
    }

    /// The cached map of a cacheable handle's file, mapping it on a miss. `None` when the file
    /// is not cacheable or the map fails (recorded once as a fallback; the handle then reads
    /// with `pread`).
    fn mapped(&self, hd: &Handle) -> Option<Arc<Mmap>> {
        if !hd.cacheable.load(Relaxed) {
            return None;
        }
        let generation = hd.inode.generation.load(Acquire);
        let mut recent = hd.recent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = recent.as_ref() {
            if r.generation == generation && r.checked.elapsed() < self.revalidate_after {
                match &r.map {
                    None => return None,
                    Some(weak) => {
                        if let Some(map) = weak.upgrade() {
                            Counters::add(&self.counters.cache_hits, 1);
                            return Some(map);
                        }
                    }
                }
            }
        }
        *recent = None;
        let checked = Instant::now();
        let st = sys::fstat(hd.file.as_fd()).ok()?;
        let stamp = Stamp::of(&st);
        if !self.cache.fits(stamp.size) {
            *recent = Some(RecentMap {
                map: None,
                generation,
                checked,
            });
            return None;
        }
        match self.map_file(&hd.file, hd.key, stamp) {
            Some(map) => {
                *recent = Some(RecentMap {
                    map: Some(Arc::downgrade(&map)),
                    generation,
                    checked,
                });
                Some(map)
            }
            None => {
                hd.cacheable.store(false, Relaxed);
                None
            }
        }
    }

    /// Looks `key` up in the cache, mapping `file` on a miss.
    pub(crate) fn map_file(&self, file: &File, key: FileKey, stamp: Stamp) -> Option<Arc<Mmap>> {
        if let Some(m) = self.cache.get(key, stamp) {
            Counters::add(&self.counters.cache_hits, 1);
            return Some(m);
        }
        Counters::add(&self.counters.cache_misses, 1);
        // SAFETY: the map is read-only; outside modification of the file is the documented
        // hazard of a map cache (size and mtime are checked before each use).
        match unsafe { Mmap::map(file) } {
            Ok(m) => {
                let m = Arc::new(m);
                let evicted = self.cache.insert(key, stamp, Arc::clone(&m));
                Counters::add(&self.counters.cache_evictions, evicted);
                Some(m)
            }
            Err(_) => {
                self.counters.fallback(FALLBACK_MMAP);
                None
            }
        }
    }

    /// Reads into `buf` at `offset`; returns the bytes read, short only at end of file.
    pub fn read_at(&self, h: u64, offset: u64, buf: &mut [u8]) -> FsResult<usize> {
        let _active = self.enter()?;
        let hd = self.before_read(h)?;
        let n = if let Some(map) = self.mapped(&hd) {
            let start = (offset.min(map.len() as u64)) as usize;
            let n = buf.len().min(map.len() - start);
            buf[..n].copy_from_slice(&map[start..start + n]);
            n
        } else {
            pread_full(&hd.file, offset, buf).map_err(|e| FsError::io(&e, "read", &hd.path))?
        };
        Counters::add(&self.counters.bytes_read, n as u64);
        Ok(n)
    }

    /// Reads up to `len` bytes at `offset`: a zero-copy slice of the cached map when the file
    /// is cached, owned bytes otherwise. Short only at end of file.
    pub fn read(&self, h: u64, offset: u64, len: usize) -> FsResult<ReadBytes> {
        let _active = self.enter()?;
        let hd = self.before_read(h)?;
        let out = if let Some(map) = self.mapped(&hd) {
            let start = (offset.min(map.len() as u64)) as usize;
            let n = len.min(map.len() - start);
            ReadBytes::Mapped(MappedSlice::new(map, start..start + n))
        } else {
            // A large `len` is clamped to what the file holds, so it allocates no more.
            let want = if len <= 1 << 20 {
                len
            } else {
                let size = sys::fstat(hd.file.as_fd())
                    .map_err(|e| FsError::os(e, "read", &hd.path))?
                    .st_size as u64;
                (len as u64).min(size.saturating_sub(offset)) as usize
            };
            let mut v = vec![0u8; want];
            let n = pread_full(&hd.file, offset, &mut v)
                .map_err(|e| FsError::io(&e, "read", &hd.path))?;
            v.truncate(n);
            ReadBytes::Owned(v)
        };
        Counters::add(&self.counters.bytes_read, out.len() as u64);
        Ok(out)
    }

    fn writer(&self, h: u64, op: &str) -> FsResult<(Arc<Handle>, Arc<WriteQueue>)> {
        let hd = self.handle(h)?;
        match hd.queue.clone() {
            Some(q) => Ok((hd, q)),
            None => Err(FsError::new(
                ErrorCode::ReadOnly,
                format!("{op} {:?}: the handle is read-only", hd.path),
            )),
        }
    }

    /// Queues `data` for writing at `offset` (at the end on an append handle) and returns
    /// `data.len()` once the bytes are in the handle's write-behind buffer. Waits while the
    /// buffer is full. Fails with WRITE_FAILED once an earlier write on the handle failed.
    pub fn write_at(&self, h: u64, offset: u64, data: &[u8]) -> FsResult<usize> {
        let _active = self.enter()?;
        let (hd, q) = self.writer(h, "write")?;
        let at = if hd.append {
            At::End
        } else {
            At::Offset(offset)
        };
        q.enqueue(at, data, &*self.spawner)?;
        Ok(data.len())
    }

    /// Queues `data` at the end of the file (including writes still queued) and returns the
    /// offset it goes to.
    pub fn append(&self, h: u64, data: &[u8]) -> FsResult<u64> {
        let _active = self.enter()?;
        let (_hd, q) = self.writer(h, "append")?;
        q.enqueue(At::End, data, &*self.spawner)
    }

    /// Waits until every write queued on the handle is written; reports a write error.
    /// (Written means handed to the kernel with `pwrite`, not `fsync`ed.)
    pub fn flush(&self, h: u64) -> FsResult<()> {
        let _active = self.enter()?;
        let hd = self.handle(h)?;
        match &hd.queue {
            Some(q) => q.flush(),
            None => Ok(()),
        }
    }

    /// Length of the handle's file, including writes still queued on any handle.
    pub fn len(&self, h: u64) -> FsResult<u64> {
        let _active = self.enter()?;
        let hd = self.handle(h)?;
        if let Some(q) = &hd.queue {
            q.check()?;
        }
        // Pending first: once it reads 0 every queued write has landed, so the fstat after it
        // sees them; read the other way round, a drain finishing in between hides its bytes.
        let pending = hd.inode.pending_end();
        let size = sys::fstat(hd.file.as_fd())
            .map_err(|e| FsError::os(e, "length", &hd.path))?
            .st_size as u64;
        Ok(size.max(pending))
    }
}

/// Test hooks (not part of the stable API).
impl Provider {
    /// Holds every write-behind drain before its next `pwrite`, and the deferred release of files
    /// `write_file` replaced, while `paused` (tests use it to make the disk deterministically
    /// slower than the writer).
    #[doc(hidden)]
    pub fn pause_write_behind(&self, paused: bool) {
        self.gate.set(paused);
    }

    /// Bytes queued or being written on the handle.
    #[doc(hidden)]
    pub fn pending_bytes(&self, h: u64) -> FsResult<usize> {
        Ok(self.handle(h)?.queue.as_ref().map_or(0, |q| q.queued()))
    }
}

impl Drop for Provider {
    /// Drains every open handle's queue (errors can no longer be reported) and stops the runtime
    /// without blocking, so dropping the last `Arc` is safe from any thread.
    fn drop(&mut self) {
        let handles = self.take_all_handles();
        self.gate.set(false);
        for h in handles {
            if let Some(q) = &h.queue {
                q.wait_accepted();
            }
        }
        let runtime = self
            .runtime
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(rt) = runtime {
            rt.shutdown_background();
        }
    }
}

/// `pread` until `buf` is full or end of file.
pub(crate) fn pread_full(
    file: &File,
    mut offset: u64,
    mut buf: &mut [u8],
) -> std::io::Result<usize> {
    let mut total = 0;
    while !buf.is_empty() {
        match file.read_at(buf, offset) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                offset += n as u64;
                buf = &mut buf[n..];
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}
