//! Bytes returned by reads: owned, or a slice of a cached memory map.

use std::ops::{Deref, Range};
use std::sync::Arc;

use memmap2::Mmap;

/// A range of a shared read-only memory map. Holding it keeps the map alive, so it can be handed
/// to another runtime (e.g. as an external JS buffer) without copying.
///
/// The map is read-only (`PROT_READ`): the bytes must never be written through this slice. If
/// the file is truncated by someone else while the slice is alive, touching the vanished pages
/// raises `SIGBUS`; the provider checks size and mtime before every read, but cannot prevent an
/// outside truncation afterwards.
#[derive(Clone)]
pub struct MappedSlice {
    map: Arc<Mmap>,
    range: Range<usize>,
}

impl MappedSlice {
    pub(crate) fn new(map: Arc<Mmap>, range: Range<usize>) -> MappedSlice {
        debug_assert!(range.end <= map.len());
        MappedSlice { map, range }
    }

    /// The map this slice belongs to.
    pub fn map(&self) -> &Arc<Mmap> {
        &self.map
    }

    /// The byte range within the map.
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }
}

impl Deref for MappedSlice {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map[self.range.clone()]
    }
}

impl std::fmt::Debug for MappedSlice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MappedSlice({:?})", self.range)
    }
}

/// The result of a read: owned bytes, or a zero-copy slice of a cached map.
#[derive(Debug, Clone)]
pub enum ReadBytes {
    /// Bytes read with `pread`.
    Owned(Vec<u8>),
    /// Bytes served from a cached map.
    Mapped(MappedSlice),
}

impl ReadBytes {
    /// Owned bytes (copies a mapped slice).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            ReadBytes::Owned(v) => v,
            ReadBytes::Mapped(m) => m.to_vec(),
        }
    }

    /// Was this served from a cached map?
    pub fn is_mapped(&self) -> bool {
        matches!(self, ReadBytes::Mapped(_))
    }
}

impl Deref for ReadBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ReadBytes::Owned(v) => v,
            ReadBytes::Mapped(m) => m,
        }
    }
}

impl AsRef<[u8]> for ReadBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}
