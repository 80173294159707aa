//! Extents reserved ahead of a file's writers.
//!
//! On ext4 a buffered write that extends a file into unallocated space goes through delayed
//! allocation. On this machine kind that made sequential page-cache writes 2-3x slower than the
//! same writes into extents reserved beforehand with `fallocate(FALLOC_FL_KEEP_SIZE)` (1 GiB in
//! 4 MiB writes: about 600 ms against 180 ms, medians of 8). So a write that reaches past what
//! is reserved first reserves up to [`STEP`] bytes beyond its own end. KEEP_SIZE leaves the
//! file's length alone, so nobody sees the reservation; when the file's last writing handle
//! closes, a same-length `ftruncate` gives back whatever was reserved past the end (punching a
//! hole past the end does nothing on ext4).
//!
//! Every write to the file through the provider holds this state's lock while it runs, so the
//! trim's length check and truncate cannot interleave with a write of ours that extends the
//! file. (The kernel serialises buffered writes to one inode anyway.) A write by another process
//! that extends the file in the instant between the trim's `fstat` and its `ftruncate` would be
//! cut back; deskless does not coordinate with other processes writing the same file.
//!
//! Only ext4 and xfs reserve extents; elsewhere (tmpfs would allocate and zero real pages) the
//! state switches itself off. A failed reservation (no space, quota) also switches it off and
//! the writes go on unreserved.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::{Mutex, MutexGuard};

use crate::sys;

/// How far past a write's end a reservation reaches. (16 MiB steps were as fast on most passes but
/// stalled on more of them: 1 GiB in 4 MiB writes, ten passes each.)
const STEP: u64 = 64 << 20;

/// Smaller whole files are written without reserving (one call costs more than it saves).
const MIN_WHOLE: u64 = 1 << 20;

const EXT4_SUPER_MAGIC: i64 = 0xEF53;
const XFS_SUPER_MAGIC: i64 = 0x5846_5342;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reserve {
    /// Not decided yet: no write has happened.
    Unknown,
    /// Not reserving on this file (another file system, or a reservation failed).
    Off,
    /// Reserved (or written) up to this offset.
    Upto(u64),
}

/// What a reservation attempt did, for the provider's fallback record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Done,
    /// `fallocate` failed: the writes go on without reserving.
    Failed,
}

/// One file's reservation (shared by its handles).
pub(crate) struct Preallocation {
    state: Mutex<Reserve>,
}

impl Default for Preallocation {
    fn default() -> Self {
        Preallocation {
            state: Mutex::new(Reserve::Unknown),
        }
    }
}

/// Held while one write runs (see the module notes).
pub(crate) struct WriteTurn<'a> {
    _guard: MutexGuard<'a, Reserve>,
}

impl Preallocation {
    fn lock(&self) -> MutexGuard<'_, Reserve> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the file's write turn for a write of `[start, end)`, reserving ahead first when the
    /// write reaches past the reservation. Hold the turn until the write is done.
    pub(crate) fn turn(&self, file: &File, start: u64, end: u64) -> (WriteTurn<'_>, Outcome) {
        let mut st = self.lock();
        let outcome = reserve(&mut st, file, start, end);
        (WriteTurn { _guard: st }, outcome)
    }

    /// Gives back what was reserved past the file's end; called when its last writer closes.
    pub(crate) fn trim(&self, file: &File) {
        let mut st = self.lock();
        let Reserve::Upto(reserved) = *st else {
            return;
        };
        *st = Reserve::Unknown;
        give_back(file, reserved);
    }
}

/// Frees the extents reserved past the file's end (up to `reserved`) with a same-length
/// `ftruncate`. Only returns space, so a failure is not reported.
fn give_back(file: &File, reserved: u64) {
    if let Ok(meta) = sys::fstat(file.as_fd()) {
        let len = meta.st_size as u64;
        if reserved > len {
            let _ = file.set_len(len);
        }
    }
}

/// Reserves `len` bytes for a new file about to be written whole (`write_file`'s temp file), on
/// the file systems where that pays. Its length is exact once written, so nothing is trimmed.
pub(crate) fn reserve_whole(file: &File, len: u64) -> Outcome {
    if len < MIN_WHOLE || !reserves_extents(file) {
        return Outcome::Done;
    }
    if keep_size_fallocate(file, 0, len) {
        Outcome::Done
    } else {
        Outcome::Failed
    }
}

fn reserve(st: &mut Reserve, file: &File, start: u64, end: u64) -> Outcome {
    if *st == Reserve::Unknown {
        *st = match sys::fstat(file.as_fd()) {
            Ok(meta) if meta.st_mode & libc::S_IFMT == libc::S_IFREG && reserves_extents(file) => {
                Reserve::Upto(meta.st_size as u64)
            }
            _ => Reserve::Off,
        };
    }
    let Reserve::Upto(reserved) = *st else {
        return Outcome::Done;
    };
    if end <= reserved {
        return Outcome::Done;
    }
    if start > reserved {
        // A jump past the reservation leaves a hole, as it should: first give back what was
        // reserved past the end, or the hole would keep those extents. Reserve from there on.
        give_back(file, reserved);
        *st = Reserve::Upto(end);
        return Outcome::Done;
    }
    let upto = end.saturating_add(STEP);
    if keep_size_fallocate(file, reserved, upto - reserved) {
        *st = Reserve::Upto(upto);
        Outcome::Done
    } else {
        *st = Reserve::Off;
        Outcome::Failed
    }
}

/// `fallocate(FALLOC_FL_KEEP_SIZE)` of `[offset, offset + len)`; false when it failed (offsets
/// past i64 fail with EINVAL).
fn keep_size_fallocate(file: &File, offset: u64, len: u64) -> bool {
    // SAFETY: a valid descriptor; fallocate reads nothing from memory.
    let rc = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_KEEP_SIZE,
            offset as libc::off_t,
            len as libc::off_t,
        )
    };
    rc == 0
}

/// Does the file live on a file system where reserving extents pays (ext4, xfs)?
fn reserves_extents(file: &File) -> bool {
    let mut fs = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: a valid descriptor and out pointer.
    if unsafe { libc::fstatfs(file.as_raw_fd(), fs.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstatfs succeeded and filled it.
    #[allow(clippy::unnecessary_cast)] // f_type is i64 here, a narrower type on other targets
    let kind = unsafe { fs.assume_init() }.f_type as i64;
    kind == EXT4_SUPER_MAGIC || kind == XFS_SUPER_MAGIC
}
