//! The LRU cache of read-only memory maps, keyed by (device, inode) and bounded by a byte budget.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use memmap2::Mmap;

/// (st_dev, st_ino) of a file.
pub(crate) type FileKey = (u64, u64);

/// What a cached map was made from; a different stamp on disk means the map is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub size: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
}

impl Stamp {
    pub(crate) fn of(st: &libc::stat) -> Stamp {
        Stamp {
            size: st.st_size as u64,
            mtime_sec: st.st_mtime,
            mtime_nsec: st.st_mtime_nsec,
        }
    }
}

struct Entry {
    map: Arc<Mmap>,
    stamp: Stamp,
    tick: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<FileKey, Entry>,
    /// Last-use tick -> key, oldest first.
    order: BTreeMap<u64, FileKey>,
    tick: u64,
    bytes: u64,
}

/// The cache. Maps handed out stay valid while anyone holds their `Arc`, evicted or not; the
/// budget bounds only what the cache itself keeps alive.
pub(crate) struct MapCache {
    budget: u64,
    inner: Mutex<Inner>,
}

impl MapCache {
    pub(crate) fn new(budget: u64) -> MapCache {
        MapCache {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Is there a budget at all?
    pub(crate) fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// Can a file of this size be cached at all?
    pub(crate) fn fits(&self, size: u64) -> bool {
        size > 0 && size <= self.budget
    }

    /// The cached map of `key` if it was made from `stamp`; a stale entry is dropped.
    pub(crate) fn get(&self, key: FileKey, stamp: Stamp) -> Option<Arc<Mmap>> {
        let mut g = self.lock();
        let inner = &mut *g;
        let entry = inner.entries.get_mut(&key)?;
        if entry.stamp != stamp {
            let old = entry.tick;
            inner.order.remove(&old);
            let e = inner.entries.remove(&key).expect("entry present");
            inner.bytes -= e.map.len() as u64;
            return None;
        }
        inner.tick += 1;
        inner.order.remove(&entry.tick);
        entry.tick = inner.tick;
        inner.order.insert(inner.tick, key);
        Some(entry.map.clone())
    }

    /// Caches `map` for `key`, evicting least recently used maps to stay within the budget.
    /// Returns how many were evicted.
    pub(crate) fn insert(&self, key: FileKey, stamp: Stamp, map: Arc<Mmap>) -> u64 {
        let size = map.len() as u64;
        if !self.fits(size) {
            return 0;
        }
        let mut g = self.lock();
        let inner = &mut *g;
        if let Some(old) = inner.entries.remove(&key) {
            inner.order.remove(&old.tick);
            inner.bytes -= old.map.len() as u64;
        }
        let mut evicted = 0;
        while inner.bytes + size > self.budget {
            let Some((_, victim)) = inner.order.pop_first() else {
                break;
            };
            if let Some(e) = inner.entries.remove(&victim) {
                inner.bytes -= e.map.len() as u64;
                evicted += 1;
            }
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.order.insert(tick, key);
        inner.entries.insert(key, Entry { map, stamp, tick });
        inner.bytes += size;
        evicted
    }

    /// Drops the entry of `key`, if any (the file was written through the table).
    pub(crate) fn invalidate(&self, key: FileKey) {
        let mut g = self.lock();
        let inner = &mut *g;
        if let Some(e) = inner.entries.remove(&key) {
            inner.order.remove(&e.tick);
            inner.bytes -= e.map.len() as u64;
        }
    }

    /// Drops every entry (maps still referenced elsewhere stay valid).
    pub(crate) fn clear(&self) {
        let mut g = self.lock();
        g.entries.clear();
        g.order.clear();
        g.bytes = 0;
    }

    /// Bytes held by cached maps.
    pub(crate) fn bytes(&self) -> u64 {
        self.lock().bytes
    }
}
