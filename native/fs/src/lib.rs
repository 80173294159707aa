//! deskless-fs: a workspace-confined file provider, in pure Rust.
//!
//! A [`Provider`] is created from a [`ProviderConfig`] listing one or more workspace roots. It
//! offers a handle table with positional I/O ([`Provider::open`], [`Provider::read_at`],
//! [`Provider::write_at`], ...; [`Provider::open_replacement`] streams a file's new contents to
//! be renamed into place), whole-path operations ([`Provider::read_file`],
//! [`Provider::write_file`], [`Provider::metadata`], ...), an LRU cache of memory maps for
//! read-only handles, a bounded write-behind queue per writable handle, and a sandbox that
//! resolves every path beneath a root with `openat2(RESOLVE_BENEATH)`. Every failure is an
//! [`FsError`] with a stable [`ErrorCode`].

mod bytes;
mod cache;
mod error;
mod ops;
mod preallocate;
mod provider;
mod replace;
mod sandbox;
mod stats;
mod sys;
mod types;
mod virtual_paths;
mod write_behind;

pub use bytes::{MappedSlice, ReadBytes};
pub use error::{ErrorCode, FsError, FsResult};
pub use memmap2::Mmap;
pub use provider::{Provider, FALLBACK_MMAP, FALLBACK_RESOLVER};
pub use stats::Stats;
pub use types::{
    DirEntry, FileType, Metadata, OpenFlags, ProviderConfig, RootConfig, RootInfo,
    DEFAULT_CACHE_BUDGET, DEFAULT_CACHE_REVALIDATE_AFTER, DEFAULT_MAX_OPEN_HANDLES,
    DEFAULT_WRITE_BEHIND,
};
pub use virtual_paths::normalise_virtual;
pub use write_behind::FALLBACK_PREALLOCATE;
