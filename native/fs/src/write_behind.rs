//! The per-handle write-behind queue.
//!
//! A write copies its bytes into the queue and returns; contiguous writes are coalesced into
//! chunks of up to [`CHUNK_MAX`] bytes. (A write of a whole chunk or more that finds the queue
//! empty skips the copy and goes to the kernel at once; see `write_through`.) One drain task at
//! a time (on the provider's tokio runtime, as a blocking task) writes the chunks in order with
//! `pwrite`. The queue holds at most `bound` bytes (including the chunk being written): a writer
//! that would exceed it is held back (counted as a write-behind wait) and, instead of sleeping,
//! writes its own bytes with `pwrite` when they overlap nothing still queued (saving the copy),
//! else waits for space. Memory never grows past the bound either way. The first failed write is
//! stored; every later operation on the handle fails with WRITE_FAILED and the queued bytes
//! behind it are dropped (writing them would leave holes).

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::cache::{FileKey, MapCache};
use crate::error::{ErrorCode, FsError, FsResult};
use crate::preallocate::{Outcome, Preallocation};
use crate::stats::Counters;
use crate::sys;

/// Recorded when reserving extents ahead of the writers failed and they go on without.
pub const FALLBACK_PREALLOCATE: &str = "preallocate-failed:delayed-allocation";

/// Largest coalesced chunk handed to one `pwrite`.
pub(crate) const CHUNK_MAX: usize = 1 << 20;

/// Recycled chunk buffers kept per queue.
const POOL_MAX: usize = 8;

/// Writes up to this size are copied under the queue lock and merged into the tail chunk;
/// larger ones are copied outside the lock into a chunk of their own.
const MERGE_MAX: usize = 64 << 10;

/// Most bytes and chunks one `pwritev` takes.
const BATCH_MAX: usize = 2 << 20;
const BATCH_CHUNKS: usize = 64;

struct Chunk {
    offset: u64,
    data: Vec<u8>,
    /// Sequence number of the last write merged into this chunk.
    seq: u64,
}

#[derive(Default)]
struct State {
    chunks: VecDeque<Chunk>,
    /// Bytes queued or being written.
    queued: usize,
    /// Sequence number of the last accepted write.
    accepted: u64,
    /// Every write up to this sequence number is on disk (or was dropped after an error).
    completed: u64,
    error: Option<FsError>,
    draining: bool,
    /// Byte range the drain is writing now.
    in_flight: Option<(u64, u64)>,
    /// Writes in the middle of being queued (they may wait at the bound).
    enqueuing: usize,
    /// Highest end offset of the writes not yet on disk (0 when none).
    pending_end: u64,
    /// Recycled chunk buffers (at most `POOL_MAX`, holding at most `bound` bytes of capacity),
    /// so a steady writer allocates nothing.
    pool: Vec<Vec<u8>>,
    pool_bytes: usize,
}

/// Holds drain tasks before their next `pwrite` (and `write_file`'s deferred release of a replaced
/// file) while paused (a test hook that makes "the disk
/// is slower than the writer" deterministic).
#[derive(Default)]
pub(crate) struct Gate {
    paused: Mutex<bool>,
    resumed: Condvar,
}

impl Gate {
    pub(crate) fn set(&self, paused: bool) {
        *self.paused.lock().unwrap_or_else(|e| e.into_inner()) = paused;
        if !paused {
            self.resumed.notify_all();
        }
    }

    pub(crate) fn pass(&self) {
        let mut p = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        while *p {
            p = self.resumed.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Spawns a drain task; the provider passes its runtime's `spawn_blocking`.
pub(crate) type Spawner = dyn Fn(Box<dyn FnOnce() + Send>) + Send + Sync;

/// One handle's queue.
pub(crate) struct WriteQueue {
    file: Arc<File>,
    path: String,
    key: FileKey,
    bound: usize,
    chunk_max: usize,
    state: Mutex<State>,
    /// Signalled when queued bytes leave the queue.
    space: Condvar,
    /// Signalled when `completed` advances.
    progress: Condvar,
    services: Services,
    /// The file's write generation (see `InodeState`), bumped after every write lands.
    generation: Arc<AtomicU64>,
    /// The file's extent reservation, shared with its other handles.
    prealloc: Arc<Preallocation>,
}

/// What every queue of a provider shares.
#[derive(Clone)]
pub(crate) struct Services {
    pub cache: Arc<MapCache>,
    pub counters: Arc<Counters>,
    pub gate: Arc<Gate>,
}

/// Where a write goes.
#[derive(Clone, Copy)]
pub(crate) enum At {
    Offset(u64),
    End,
}

impl WriteQueue {
    pub(crate) fn new(
        file: Arc<File>,
        path: String,
        key: FileKey,
        bound: usize,
        generation: Arc<AtomicU64>,
        prealloc: Arc<Preallocation>,
        services: Services,
    ) -> WriteQueue {
        let bound = bound.max(1);
        WriteQueue {
            file,
            path,
            key,
            bound,
            chunk_max: bound.min(CHUNK_MAX),
            state: Mutex::new(State::default()),
            space: Condvar::new(),
            progress: Condvar::new(),
            services,
            generation,
            prealloc,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stored write error, if any.
    pub(crate) fn check(&self) -> FsResult<()> {
        match &self.lock().error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Queues `data` at `at`; returns the offset it goes to once all of it is queued.
    pub(crate) fn enqueue(self: &Arc<Self>, at: At, data: &[u8], spawn: &Spawner) -> FsResult<u64> {
        let mut st = self.lock();
        if let Some(e) = &st.error {
            return Err(e.clone());
        }
        let start = match at {
            At::Offset(o) => o,
            At::End => {
                let size = sys::fstat(self.file.as_fd())
                    .map_err(|e| FsError::os(e, "append", &self.path))?
                    .st_size as u64;
                size.max(st.pending_end)
            }
        };
        let end = start.checked_add(data.len() as u64).ok_or_else(|| {
            FsError::new(ErrorCode::InvalidArgument, "write past the largest offset")
        })?;
        if data.is_empty() {
            return Ok(start);
        }
        // Reserve the range now so a concurrent append cannot take it while this one waits.
        st.pending_end = st.pending_end.max(end);
        st.enqueuing += 1;
        if data.len() >= self.chunk_max && st.queued == 0 && st.error.is_none() {
            return self.write_through(st, start, data);
        }
        let mut waited = false;
        let mut offset = start;
        let mut result = Ok(start);
        for piece in data.chunks(self.chunk_max) {
            let mut direct = false;
            while st.queued > 0 && st.queued + piece.len() > self.bound && st.error.is_none() {
                if !waited {
                    waited = true;
                    Counters::add(&self.services.counters.write_behind_waits, 1);
                }
                // The buffer is full: rather than sleep, write these bytes ourselves, unless they
                // overlap bytes still queued (those must land first).
                if !overlaps(&st, offset, piece.len()) {
                    (st, direct) = self.write_direct(st, offset, piece);
                    break;
                }
                st = self.space.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            if let Some(e) = &st.error {
                result = Err(e.clone());
                break;
            }
            if direct {
                offset += piece.len() as u64;
                continue;
            }
            // Reserve the space, then copy: small writes under the lock (merged into the tail
            // chunk when contiguous), large ones outside it so the drain never waits for a copy.
            st.queued += piece.len();
            let merge = piece.len() <= MERGE_MAX
                && st.chunks.back().is_some_and(|c| {
                    c.offset + c.data.len() as u64 == offset
                        && c.data.len() + piece.len() <= self.chunk_max
                });
            if merge {
                st.accepted += 1;
                let seq = st.accepted;
                let tail = st.chunks.back_mut().expect("checked above");
                tail.data.extend_from_slice(piece);
                tail.seq = seq;
            } else {
                let mut buf = st.pool.pop().unwrap_or_default();
                st.pool_bytes -= buf.capacity();
                buf.clear();
                if piece.len() <= MERGE_MAX {
                    buf.reserve(self.chunk_max.min(MERGE_MAX * 16));
                    buf.extend_from_slice(piece);
                } else {
                    drop(st);
                    buf.extend_from_slice(piece);
                    st = self.lock();
                    if let Some(e) = &st.error {
                        result = Err(e.clone());
                        st.queued -= piece.len();
                        break;
                    }
                }
                st.accepted += 1;
                let seq = st.accepted;
                st.chunks.push_back(Chunk {
                    offset,
                    data: buf,
                    seq,
                });
            }
            offset += piece.len() as u64;
            if !st.draining {
                st.draining = true;
                let me = Arc::clone(self);
                spawn(Box::new(move || me.drain()));
            }
        }
        st.enqueuing -= 1;
        self.settle(&mut st);
        result
    }

    /// A write that fills a chunk on its own and finds nothing queued goes to the kernel straight
    /// from the caller's memory: nothing is waiting ahead of it, and copying it into the queue
    /// first costs about as much as the page-cache write itself (bench:fs measured 0.7-0.9x of
    /// `fs.writeSync` with the copy, parity without it). The page cache then holds it behind the
    /// caller exactly as it does for `fs.writeSync`.
    fn write_through(&self, st: MutexGuard<'_, State>, start: u64, data: &[u8]) -> FsResult<u64> {
        let (mut st, _) = self.write_direct(st, start, data);
        st.enqueuing -= 1;
        self.settle(&mut st);
        match &st.error {
            Some(e) => Err(e.clone()),
            None => Ok(start),
        }
    }

    /// Writes `bytes` at `offset` from the caller's thread, without the queue's lock, then
    /// takes the lock back: counts the bytes, or stores the error. True when the write landed.
    fn write_direct<'a>(
        &'a self,
        st: MutexGuard<'a, State>,
        offset: u64,
        bytes: &[u8],
    ) -> (MutexGuard<'a, State>, bool) {
        drop(st);
        let res = self.write_landing(offset, bytes.len(), || {
            self.file.write_all_at(bytes, offset)
        });
        let mut st = self.lock();
        match res {
            Ok(()) => {
                Counters::add(&self.services.counters.bytes_written, bytes.len() as u64);
                (st, true)
            }
            Err(e) => {
                self.fail(&mut st, &e);
                (st, false)
            }
        }
    }

    /// Runs one write of `[start, start + len)` (once the test gate lets it) in the file's write
    /// turn, reserving extents ahead of it where that pays (see `preallocate`); then the file's
    /// cached map is stale and its write generation moves on, whatever the write's result.
    fn write_landing(
        &self,
        start: u64,
        len: usize,
        write: impl FnOnce() -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.services.gate.pass();
        let end = start.saturating_add(len as u64);
        let (turn, outcome) = self.prealloc.turn(&self.file, start, end);
        if let Outcome::Failed = outcome {
            self.services.counters.fallback(FALLBACK_PREALLOCATE);
        }
        let res = write();
        drop(turn);
        self.services.cache.invalidate(self.key);
        self.generation.fetch_add(1, Ordering::Release);
        res
    }

    /// Clears `pending_end` once nothing is queued, in flight or being queued.
    fn settle(&self, st: &mut State) {
        if st.chunks.is_empty() && st.queued == 0 && st.enqueuing == 0 {
            st.pending_end = 0;
        }
    }

    /// The drain task: writes chunks in order until the queue is empty; runs of contiguous
    /// chunks go to the kernel in one `pwritev`.
    fn drain(&self) {
        let mut batch: Vec<Chunk> = Vec::new();
        loop {
            let end = {
                let mut st = self.lock();
                let Some(first) = st.chunks.pop_front() else {
                    st.draining = false;
                    self.settle(&mut st);
                    self.progress.notify_all();
                    return;
                };
                let mut end = first.offset + first.data.len() as u64;
                let mut bytes = first.data.len();
                batch.push(first);
                while let Some(next) = st.chunks.front() {
                    if next.offset != end || bytes >= BATCH_MAX || batch.len() >= BATCH_CHUNKS {
                        break;
                    }
                    let next = st.chunks.pop_front().expect("front exists");
                    end += next.data.len() as u64;
                    bytes += next.data.len();
                    batch.push(next);
                }
                st.in_flight = Some((batch[0].offset, end));
                end
            };
            let (start, len) = (batch[0].offset, (end - batch[0].offset) as usize);
            let res = self.write_landing(start, len, || write_all_vectored_at(&self.file, &batch));
            let len: usize = batch.iter().map(|c| c.data.len()).sum();
            let last_seq = batch.last().map_or(0, |c| c.seq);
            let mut st = self.lock();
            st.queued -= len;
            st.in_flight = None;
            match res {
                Ok(()) => {
                    Counters::add(&self.services.counters.bytes_written, len as u64);
                    st.completed = last_seq;
                    for c in batch.drain(..) {
                        let cap = c.data.capacity();
                        if st.pool.len() < POOL_MAX && st.pool_bytes + cap <= self.bound {
                            st.pool_bytes += cap;
                            st.pool.push(c.data);
                        }
                    }
                }
                Err(e) => {
                    batch.clear();
                    self.fail(&mut st, &e);
                }
            }
            self.settle(&mut st);
            self.space.notify_all();
            self.progress.notify_all();
        }
    }

    /// Stores the first write error and drops the queued bytes behind it (writing them would
    /// leave holes); every later operation on the handle fails with it.
    fn fail(&self, st: &mut State, e: &std::io::Error) {
        if st.error.is_none() {
            let cause = FsError::io(e, "write", &self.path);
            st.error = Some(
                FsError::new(
                    ErrorCode::WriteFailed,
                    format!("write-behind to {:?} failed: {e}", self.path),
                )
                .with_errno(cause.raw_os_error()),
            );
        }
        let dropped: usize = st.chunks.drain(..).map(|c| c.data.len()).sum();
        st.queued -= dropped;
        st.completed = st.accepted;
        self.space.notify_all();
        self.progress.notify_all();
    }

    /// Waits until every write accepted so far is on disk (or dropped after an error).
    pub(crate) fn wait_accepted(&self) {
        let mut st = self.lock();
        let target = st.accepted;
        while st.completed < target {
            st = self.progress.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Waits for the drain, then reports the stored error, if any.
    pub(crate) fn flush(&self) -> FsResult<()> {
        self.wait_accepted();
        self.check()
    }

    /// Highest end offset of the writes not yet on disk (0 when none).
    pub(crate) fn pending_end(&self) -> u64 {
        self.lock().pending_end
    }

    /// Bytes queued or being written.
    pub(crate) fn queued(&self) -> usize {
        self.lock().queued
    }
}

/// Does `[offset, offset + len)` overlap a queued chunk or the range being written?
fn overlaps(st: &State, offset: u64, len: usize) -> bool {
    let end = offset + len as u64;
    let hit = |(a, b): (u64, u64)| a < end && offset < b;
    st.in_flight.is_some_and(hit)
        || st
            .chunks
            .iter()
            .any(|c| hit((c.offset, c.offset + c.data.len() as u64)))
}

/// `pwritev` of the chunks (contiguous, starting at the first one's offset) until all is written.
fn write_all_vectored_at(file: &File, chunks: &[Chunk]) -> std::io::Result<()> {
    if let [one] = chunks {
        return file.write_all_at(&one.data, one.offset);
    }
    let mut iov: Vec<libc::iovec> = chunks
        .iter()
        .filter(|c| !c.data.is_empty())
        .map(|c| libc::iovec {
            iov_base: c.data.as_ptr().cast_mut().cast(),
            iov_len: c.data.len(),
        })
        .collect();
    let mut offset = chunks[0].offset;
    let mut first = 0;
    while first < iov.len() {
        let count = (iov.len() - first).min(1024) as libc::c_int;
        // SAFETY: the iovecs point into chunk buffers that outlive the call.
        let n = unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                iov[first..].as_ptr(),
                count,
                offset as libc::off_t,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let mut n = n as usize;
        offset += n as u64;
        while n > 0 {
            let v = &mut iov[first];
            if n >= v.iov_len {
                n -= v.iov_len;
                first += 1;
            } else {
                v.iov_base = v.iov_base.cast::<u8>().wrapping_add(n).cast();
                v.iov_len -= n;
                n = 0;
            }
        }
    }
    Ok(())
}
