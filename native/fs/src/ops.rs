//! Whole-path operations of the provider.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::bytes::{MappedSlice, ReadBytes};
use crate::cache::Stamp;
use crate::error::{ErrorCode, FsError, FsResult};
use crate::provider::Provider;
use crate::sandbox::{self, split_final, Target};
use crate::stats::Counters;
use crate::sys;
use crate::types::{DirEntry, FileType, Metadata};
use crate::virtual_paths::normalise_virtual;

fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

impl Provider {
    /// Reads a whole file into a `Vec`; waits for writes to it still queued on open handles.
    pub fn read_file(&self, path: &str) -> FsResult<Vec<u8>> {
        self.read_file_bytes(path).map(ReadBytes::into_vec)
    }

    /// Reads a whole file. A file that fits the cache budget is served from the map cache
    /// (zero-copy); waits for writes to it still queued on open handles.
    pub fn read_file_bytes(&self, path: &str) -> FsResult<ReadBytes> {
        let _active = self.enter()?;
        let t = self.sandbox.locate(path)?;
        let fd = self
            .sandbox
            .open(&t, libc::O_RDONLY | libc::O_NONBLOCK, 0, "read")?;
        let mut st = sys::fstat(fd.as_fd()).map_err(|e| FsError::os(e, "read", path))?;
        if is_dir(&st) {
            return Err(FsError::os(libc::EISDIR, "read", path));
        }
        let key = (st.st_dev, st.st_ino);
        if let Some(inode) = self.inode_if_any(key) {
            inode.wait_writes();
            st = sys::fstat(fd.as_fd()).map_err(|e| FsError::os(e, "read", path))?;
        }
        let file = File::from(fd);
        let stamp = Stamp::of(&st);
        let regular = st.st_mode & libc::S_IFMT == libc::S_IFREG;
        if regular && self.cache.fits(stamp.size) {
            if let Some(map) = self.map_file(&file, key, stamp) {
                let n = map.len();
                Counters::add(&self.counters.bytes_read, n as u64);
                return Ok(ReadBytes::Mapped(MappedSlice::new(map, 0..n)));
            }
        }
        let mut v = Vec::with_capacity(stamp.size as usize);
        (&file)
            .read_to_end(&mut v)
            .map_err(|e| FsError::io(&e, "read", path))?;
        Counters::add(&self.counters.bytes_read, v.len() as u64);
        Ok(ReadBytes::Owned(v))
    }

    /// Metadata of the entry, following symlinks (within the root). The length includes writes
    /// still queued on open handles.
    pub fn metadata(&self, path: &str) -> FsResult<Metadata> {
        let _active = self.enter()?;
        let t = self.sandbox.locate(path)?;
        let fd = self.sandbox.open(&t, libc::O_PATH, 0, "stat")?;
        let mut st = sys::fstat(fd.as_fd()).map_err(|e| FsError::os(e, "stat", path))?;
        if let Some(inode) = self.inode_if_any((st.st_dev, st.st_ino)) {
            inode.wait_writes();
            st = sys::fstat(fd.as_fd()).map_err(|e| FsError::os(e, "stat", path))?;
        }
        Ok(Metadata::from_stat(&st, t.root.read_only))
    }

    /// Metadata of the entry itself (a final symlink is not followed).
    pub fn symlink_metadata(&self, path: &str) -> FsResult<Metadata> {
        let _active = self.enter()?;
        let t = self.sandbox.locate(path)?;
        let st = match self.sandbox.open_parent(&t, "lstat")? {
            Some((dir, name)) => sys::lstatat(dir.as_fd(), &name),
            None => {
                let fd = self.sandbox.open(&t, libc::O_PATH, 0, "lstat")?;
                sys::fstat(fd.as_fd())
            }
        }
        .map_err(|e| FsError::os(e, "lstat", path))?;
        Ok(Metadata::from_stat(&st, t.root.read_only))
    }

    /// Lists a directory (sorted by name; symlinks are reported, not followed).
    pub fn read_dir(&self, path: &str) -> FsResult<Vec<DirEntry>> {
        let _active = self.enter()?;
        let t = self.sandbox.locate(path)?;
        let fd = self
            .sandbox
            .open(&t, libc::O_RDONLY | libc::O_DIRECTORY, 0, "readdir")?;
        let real = sandbox::host_path(fd.as_fd(), t.root, path)?;
        let virtual_base = match self.sandbox.virtual_names() {
            Some(_) => Some(normalise_virtual(path)?),
            None => None,
        };
        let base = virtual_base.as_ref().map_or(real, PathBuf::from);
        let probe = sys::dup(fd.as_fd()).map_err(|e| FsError::os(e, "readdir", path))?;
        let raw = sys::list_dir(fd).map_err(|e| FsError::os(e, "readdir", path))?;
        let mut out = Vec::with_capacity(raw.len());
        for e in raw {
            let file_type = match FileType::from_dtype(e.d_type) {
                Some(ft) => ft,
                None => match sys::lstatat(probe.as_fd(), &e.name) {
                    Ok(st) => FileType::from_mode(st.st_mode),
                    Err(libc::ENOENT) => continue,
                    Err(err) => return Err(FsError::os(err, "readdir", path)),
                },
            };
            let file_name = sys::name_string(&e.name);
            out.push(DirEntry {
                path: base.join(std::ffi::OsStr::from_bytes(e.name.to_bytes())),
                file_name,
                file_type,
            });
        }
        if let (Some(names), Some("/")) = (self.sandbox.virtual_names(), virtual_base.as_deref()) {
            // At "/", each named root stands where an entry of the first root with its name was.
            out.retain(|e| names.named().all(|(_, name)| name != e.file_name));
            out.extend(names.named().map(|(i, name)| DirEntry {
                path: PathBuf::from(names.root_path(i)),
                file_name: name.to_string(),
                file_type: FileType::Dir,
            }));
        }
        out.sort_by(|a, b| a.file_name.cmp(&b.file_name));
        Ok(out)
    }

    /// Creates a directory; with `recursive`, its missing parents too (and an existing
    /// directory is fine).
    pub fn create_dir(&self, path: &str, recursive: bool) -> FsResult<()> {
        let _active = self.enter()?;
        let t = self.sandbox.locate_writable(path)?;
        if !recursive {
            return match self.sandbox.open_parent(&t, "mkdir")? {
                Some((dir, name)) => sys::mkdirat(dir.as_fd(), &name, 0o777)
                    .map_err(|e| FsError::os(e, "mkdir", path)),
                None => match self.sandbox.no_entry(&t, "mkdir") {
                    e if e.code() == ErrorCode::InvalidArgument => {
                        Err(FsError::os(libc::EEXIST, "mkdir", path))
                    }
                    e => Err(e),
                },
            };
        }
        let comps: Vec<&str> = t.rel.split('/').filter(|c| !c.is_empty()).collect();
        for i in 0..comps.len() {
            let sub = Target {
                root: t.root,
                rel: comps[..=i].join("/"),
                display: path,
            };
            if split_final(&sub.rel).is_none() {
                continue;
            }
            let (dir, name) = self.sandbox.require_parent(&sub, "mkdir")?;
            match sys::mkdirat(dir.as_fd(), &name, 0o777) {
                Ok(()) => {}
                Err(libc::EEXIST) => {
                    // Must be a directory (or a symlink to one inside the root).
                    self.sandbox
                        .open(&sub, libc::O_PATH | libc::O_DIRECTORY, 0, "mkdir")?;
                }
                Err(e) => return Err(FsError::os(e, "mkdir", path)),
            }
        }
        if split_final(&t.rel).is_none() {
            // The root, `.` or a final `..`: fine when it is a directory inside the root.
            return match self.sandbox.no_entry(&t, "mkdir") {
                e if e.code() == ErrorCode::InvalidArgument => Ok(()),
                e => Err(e),
            };
        }
        Ok(())
    }

    /// Removes a file or symlink (never a directory: IS_A_DIRECTORY).
    pub fn remove_file(&self, path: &str) -> FsResult<()> {
        let _active = self.enter()?;
        let t = self.sandbox.locate_writable(path)?;
        let (dir, name) = self.sandbox.require_parent(&t, "unlink")?;
        let st = sys::lstatat(dir.as_fd(), &name).map_err(|e| FsError::os(e, "unlink", path))?;
        if is_dir(&st) {
            return Err(FsError::os(libc::EISDIR, "unlink", path));
        }
        sys::unlinkat(dir.as_fd(), &name, false).map_err(|e| FsError::os(e, "unlink", path))?;
        self.cache.invalidate((st.st_dev, st.st_ino));
        Ok(())
    }

    /// Removes a directory; with `recursive`, everything in it first (symlinks inside are
    /// removed, never followed). A workspace root itself cannot be removed.
    pub fn remove_dir(&self, path: &str, recursive: bool) -> FsResult<()> {
        let _active = self.enter()?;
        let t = self.sandbox.locate_writable(path)?;
        let (dir, name) = self.sandbox.require_parent(&t, "rmdir")?;
        if recursive {
            let st = sys::lstatat(dir.as_fd(), &name).map_err(|e| FsError::os(e, "rmdir", path))?;
            if !is_dir(&st) {
                return Err(FsError::os(libc::ENOTDIR, "rmdir", path));
            }
            let sub = sys::openat(
                dir.as_fd(),
                &name,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                0,
            )
            .map_err(|e| FsError::os(e, "rmdir", path))?;
            self.remove_tree(sub, path)?;
        }
        sys::unlinkat(dir.as_fd(), &name, true).map_err(|e| FsError::os(e, "rmdir", path))
    }

    /// Empties the directory `dir` (descriptor-relative, never following symlinks).
    fn remove_tree(&self, dir: OwnedFd, path: &str) -> FsResult<()> {
        let probe = sys::dup(dir.as_fd()).map_err(|e| FsError::os(e, "rmdir", path))?;
        let entries = sys::list_dir(dir).map_err(|e| FsError::os(e, "rmdir", path))?;
        for e in entries {
            let sub_is_dir = match e.d_type {
                libc::DT_DIR => true,
                libc::DT_UNKNOWN => match sys::lstatat(probe.as_fd(), &e.name) {
                    Ok(st) => is_dir(&st),
                    Err(libc::ENOENT) => continue,
                    Err(err) => return Err(FsError::os(err, "rmdir", path)),
                },
                _ => false,
            };
            if sub_is_dir {
                self.remove_subdir(probe.as_fd(), &e.name, path)?;
            } else {
                match sys::unlinkat(probe.as_fd(), &e.name, false) {
                    Ok(()) | Err(libc::ENOENT) => {}
                    Err(err) => return Err(FsError::os(err, "rmdir", path)),
                }
            }
        }
        Ok(())
    }

    fn remove_subdir(&self, parent: BorrowedFd<'_>, name: &CString, path: &str) -> FsResult<()> {
        let sub = sys::openat(
            parent,
            name,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
        )
        .map_err(|e| FsError::os(e, "rmdir", path))?;
        self.remove_tree(sub, path)?;
        match sys::unlinkat(parent, name, true) {
            Ok(()) | Err(libc::ENOENT) => Ok(()),
            Err(err) => Err(FsError::os(err, "rmdir", path)),
        }
    }

    /// Renames `from` to `to` (both inside writable roots), replacing a file at `to`.
    pub fn rename(&self, from: &str, to: &str) -> FsResult<()> {
        self.rename_with(from, to, sys::renameat)
    }

    /// Renames `from` to `to` unless `to` exists (ALREADY_EXISTS), decided by the kernel in the
    /// same step, so no other writer can slip a file in between a check and the rename.
    pub fn rename_no_replace(&self, from: &str, to: &str) -> FsResult<()> {
        self.rename_with(from, to, sys::renameat_no_replace)
    }

    fn rename_with(
        &self,
        from: &str,
        to: &str,
        rename: fn(BorrowedFd<'_>, &CStr, BorrowedFd<'_>, &CStr) -> sys::SysResult<()>,
    ) -> FsResult<()> {
        let _active = self.enter()?;
        let tf = self.sandbox.locate_writable(from)?;
        let tt = self.sandbox.locate_writable(to)?;
        let (fdir, fname) = self.sandbox.require_parent(&tf, "rename")?;
        let (tdir, tname) = self.sandbox.require_parent(&tt, "rename")?;
        rename(fdir.as_fd(), &fname, tdir.as_fd(), &tname).map_err(|e| {
            let which = if e == libc::ENOENT { from } else { to };
            FsError::os(e, "rename", which)
        })
    }

    /// Sets or clears read-only: clears every write bit, or sets the owner's write bit.
    pub fn set_readonly(&self, path: &str, readonly: bool) -> FsResult<()> {
        let _active = self.enter()?;
        let t = self.sandbox.locate_writable(path)?;
        let fd = self.sandbox.open(&t, libc::O_PATH, 0, "chmod")?;
        let st = sys::fstat(fd.as_fd()).map_err(|e| FsError::os(e, "chmod", path))?;
        let mode = st.st_mode & 0o7777;
        let mode = if readonly {
            mode & !0o222
        } else {
            mode | 0o200
        };
        sys::fchmod_path_fd(fd.as_fd(), mode).map_err(|e| FsError::os(e, "chmod", path))
    }

    /// The absolute path the entry resolves to (symlinks resolved, always inside a root): a host
    /// path, or with virtual paths the virtual one (OUTSIDE_WORKSPACE when what it resolves to
    /// has none, such as an entry of the first root hidden behind a named root).
    pub fn canonicalize(&self, path: &str) -> FsResult<PathBuf> {
        let _active = self.enter()?;
        let t = self.sandbox.locate(path)?;
        let fd = self.sandbox.open(&t, libc::O_PATH, 0, "canonicalize")?;
        let real = sandbox::host_path(fd.as_fd(), t.root, path)?;
        match self.sandbox.virtual_names() {
            None => Ok(real),
            Some(names) => match names.virtual_of(self.sandbox.roots(), &real) {
                Some(virtual_path) => Ok(PathBuf::from(virtual_path)),
                None => Err(FsError::new(
                    ErrorCode::OutsideWorkspace,
                    format!("canonicalize {path:?}: resolves to a place outside the workspace's virtual paths"),
                )),
            },
        }
    }
}
