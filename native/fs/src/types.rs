//! Plain data types of the public API: configuration, open flags, metadata, directory entries.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Default byte budget of the map cache: 512 MiB.
pub const DEFAULT_CACHE_BUDGET: u64 = 512 << 20;
/// Default per-handle write-behind bound: 16 MiB.
pub const DEFAULT_WRITE_BEHIND: usize = 16 << 20;
/// Default limit on open handles.
pub const DEFAULT_MAX_OPEN_HANDLES: usize = 1024;
/// Default for [`ProviderConfig::cache_revalidate_after`]: 5 ms.
///
/// Checking a cached map against the file (`fstat`) costs about 0.5 µs here, 15% of a whole 4 KiB
/// read from JS (~3.3 µs), so a handle trusts its last check for this long. Writes through the
/// provider invalidate at once whatever this is; only changes made by other programs can go
/// unnoticed for up to this long.
pub const DEFAULT_CACHE_REVALIDATE_AFTER: Duration = Duration::from_millis(5);

/// One workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootConfig {
    /// Host directory; must exist.
    pub path: PathBuf,
    /// Refuse every modification beneath this root (READ_ONLY).
    pub read_only: bool,
    /// Display name; defaults to the directory's name.
    pub name: Option<String>,
}

impl RootConfig {
    /// A writable root at `path`.
    pub fn new(path: impl Into<PathBuf>) -> RootConfig {
        RootConfig {
            path: path.into(),
            read_only: false,
            name: None,
        }
    }

    /// Sets whether the root is read-only.
    pub fn read_only(mut self, read_only: bool) -> RootConfig {
        self.read_only = read_only;
        self
    }

    /// Sets the display name.
    pub fn named(mut self, name: impl Into<String>) -> RootConfig {
        self.name = Some(name.into());
        self
    }
}

/// How a [`crate::Provider`] is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// At least one root; relative paths resolve against the first.
    pub roots: Vec<RootConfig>,
    /// Byte budget of the map cache (default [`DEFAULT_CACHE_BUDGET`]); 0 disables caching.
    pub cache_budget_bytes: u64,
    /// Per-handle write-behind bound (default [`DEFAULT_WRITE_BEHIND`]).
    pub write_behind_bytes: usize,
    /// Limit on open handles (default [`DEFAULT_MAX_OPEN_HANDLES`]).
    pub max_open_handles: usize,
    /// How long a handle trusts its last size/mtime check of a cached map before checking the
    /// file again (default [`DEFAULT_CACHE_REVALIDATE_AFTER`]; zero checks on every read).
    pub cache_revalidate_after: Duration,
    /// Paths are virtual (see the crate docs): `/` is the first root and every other root is a
    /// top-level folder named by its name, which must then be usable and distinct.
    pub virtual_paths: bool,
    /// Use the component-by-component fallback resolver even where `openat2` works (tests).
    #[doc(hidden)]
    pub force_fallback_resolver: bool,
}

impl ProviderConfig {
    /// A configuration with the given roots and default limits.
    pub fn new(roots: Vec<RootConfig>) -> ProviderConfig {
        ProviderConfig {
            roots,
            cache_budget_bytes: DEFAULT_CACHE_BUDGET,
            write_behind_bytes: DEFAULT_WRITE_BEHIND,
            max_open_handles: DEFAULT_MAX_OPEN_HANDLES,
            cache_revalidate_after: DEFAULT_CACHE_REVALIDATE_AFTER,
            virtual_paths: false,
            force_fallback_resolver: false,
        }
    }
}

/// The six RunMat open flags, with `std::fs::OpenOptions` semantics: `create`, `create_new` and
/// `truncate` need `write` (or `append`, except `truncate`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenFlags {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// Every write goes to the end of the file (offsets passed to `write_at` are ignored).
    pub append: bool,
    /// Truncate to zero length on open.
    pub truncate: bool,
    /// Create the file if missing.
    pub create: bool,
    /// Create the file; fail with ALREADY_EXISTS if it exists.
    pub create_new: bool,
}

impl OpenFlags {
    /// Read only.
    pub fn read() -> OpenFlags {
        OpenFlags {
            read: true,
            ..OpenFlags::default()
        }
    }

    /// Write only, to an existing file, nothing truncated.
    pub fn write() -> OpenFlags {
        OpenFlags {
            write: true,
            ..OpenFlags::default()
        }
    }

    /// Write, create, truncate (like `File::create`).
    pub fn create() -> OpenFlags {
        OpenFlags {
            write: true,
            create: true,
            truncate: true,
            ..OpenFlags::default()
        }
    }

    /// Does this open modify the file system or the file?
    pub fn writes(&self) -> bool {
        self.write || self.append || self.truncate || self.create || self.create_new
    }
}

/// Kind of a file system entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link (only from `symlink_metadata` and `read_dir`).
    Symlink,
    /// Anything else (fifo, socket, device).
    Other,
}

impl FileType {
    /// `"file"`, `"dir"`, `"symlink"` or `"other"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::File => "file",
            FileType::Dir => "dir",
            FileType::Symlink => "symlink",
            FileType::Other => "other",
        }
    }

    pub(crate) fn from_mode(mode: u32) -> FileType {
        match mode & libc::S_IFMT {
            libc::S_IFREG => FileType::File,
            libc::S_IFDIR => FileType::Dir,
            libc::S_IFLNK => FileType::Symlink,
            _ => FileType::Other,
        }
    }

    pub(crate) fn from_dtype(d: u8) -> Option<FileType> {
        match d {
            libc::DT_REG => Some(FileType::File),
            libc::DT_DIR => Some(FileType::Dir),
            libc::DT_LNK => Some(FileType::Symlink),
            libc::DT_UNKNOWN => None,
            _ => Some(FileType::Other),
        }
    }
}

/// Metadata of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Kind of entry.
    pub file_type: FileType,
    /// Size in bytes.
    pub len: u64,
    /// Last modification time.
    pub modified: Option<SystemTime>,
    /// No write permission bit is set, or the entry is in a read-only root.
    pub readonly: bool,
}

impl Metadata {
    /// The metadata `st` describes, for an entry in a root that is read-only or not.
    pub(crate) fn from_stat(st: &libc::stat, in_read_only_root: bool) -> Metadata {
        let modified = if st.st_mtime >= 0 {
            Some(
                SystemTime::UNIX_EPOCH + Duration::new(st.st_mtime as u64, st.st_mtime_nsec as u32),
            )
        } else {
            SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(st.st_mtime.unsigned_abs()))
        };
        Metadata {
            file_type: FileType::from_mode(st.st_mode),
            len: st.st_size as u64,
            modified,
            readonly: in_read_only_root || st.st_mode & 0o222 == 0,
        }
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Absolute path of the entry (virtual when the provider's paths are).
    pub path: PathBuf,
    /// The entry's name (lossy UTF-8).
    pub file_name: String,
    /// Kind of entry (symlinks are not followed).
    pub file_type: FileType,
}

/// A root as the provider resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootInfo {
    /// Canonical host path.
    pub path: PathBuf,
    /// Read-only root.
    pub read_only: bool,
    /// Display name (and, with virtual paths, the folder name of every root after the first).
    pub name: String,
    /// With virtual paths: `/` for the first root, `/<name>` for the others.
    pub virtual_path: Option<String>,
}
