//! Counters of the provider's activity.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// A snapshot of the provider's counters (see [`crate::Provider::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Handles opened.
    pub opens: u64,
    /// Handles closed.
    pub closes: u64,
    /// Handles open now.
    pub open_handles: u64,
    /// Bytes returned by reads (handles and `read_file`).
    pub bytes_read: u64,
    /// Bytes written to disk (write-behind drains and `write_file`).
    pub bytes_written: u64,
    /// Handle reads served from a cached map.
    pub cache_hits: u64,
    /// Handle reads of cacheable files that had to map (or could not).
    pub cache_misses: u64,
    /// Maps dropped to stay within the byte budget.
    pub cache_evictions: u64,
    /// Bytes currently held by cached maps.
    pub cache_bytes: u64,
    /// Times a writer waited because its handle's write-behind buffer was full.
    pub write_behind_waits: u64,
    /// Names of the slower paths taken, each listed once (e.g. `"mmap-failed:plain-read"`).
    pub fallbacks: Vec<String>,
}

/// The live counters.
#[derive(Default)]
pub(crate) struct Counters {
    pub opens: AtomicU64,
    pub closes: AtomicU64,
    pub bytes_read: AtomicU64,
    pub bytes_written: AtomicU64,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub cache_evictions: AtomicU64,
    pub write_behind_waits: AtomicU64,
    fallbacks: Mutex<Vec<String>>,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Records that the named slower path was taken (listed once, however often it is taken).
    pub(crate) fn fallback(&self, name: &str) {
        let mut list = self.fallbacks.lock().unwrap_or_else(|e| e.into_inner());
        if !list.iter().any(|n| n == name) {
            list.push(name.to_string());
        }
    }

    pub(crate) fn snapshot(&self, open_handles: u64, cache_bytes: u64) -> Stats {
        Stats {
            opens: self.opens.load(Relaxed),
            closes: self.closes.load(Relaxed),
            open_handles,
            bytes_read: self.bytes_read.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            cache_hits: self.cache_hits.load(Relaxed),
            cache_misses: self.cache_misses.load(Relaxed),
            cache_evictions: self.cache_evictions.load(Relaxed),
            cache_bytes,
            write_behind_waits: self.write_behind_waits.load(Relaxed),
            fallbacks: self
                .fallbacks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}
