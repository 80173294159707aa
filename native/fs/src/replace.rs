//! Replacing a file through a temporary sibling: the new bytes go to a fresh file in the target's
//! directory, which is renamed over the target only once every byte is written, so a failed or
//! abandoned write leaves the old file as it was and nothing behind.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::error::{ErrorCode, FsError, FsResult};
use crate::preallocate::{self, Outcome};
use crate::provider::Provider;
use crate::sandbox::{self, Target};
use crate::stats::Counters;
use crate::sys;
use crate::types::OpenFlags;
use crate::write_behind::FALLBACK_PREALLOCATE;

/// Old files at least this large are released off the caller's path when a replacement goes
/// over them (below, the extra `open` costs more than it saves).
const DEFER_RELEASE_MIN: u64 = 1 << 20;

fn file_type(st: &libc::stat) -> libc::mode_t {
    st.st_mode & libc::S_IFMT
}

/// Where a replacement of a path goes: the parent directory, the final name in it, and what is
/// there now (never a directory).
struct Destination {
    dir: OwnedFd,
    name: CString,
    existing: Option<libc::stat>,
}

/// A temporary file beside its destination, not yet renamed into place. Dropping it removes the
/// temporary file: every way a replacement can fail or be abandoned ends there.
pub(crate) struct Replacement {
    dir: OwnedFd,
    name: CString,
    temp: CString,
    /// The destination as the caller named it, for messages.
    path: String,
    installed: bool,
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if !self.installed {
            let _ = sys::unlinkat(self.dir.as_fd(), &self.temp, false);
        }
    }
}

impl Provider {
    /// Replaces a file's contents atomically: the bytes go to a temporary file in the same
    /// directory, which is then renamed over the target, so a failed write leaves the old file
    /// as it was. An existing file's permission bits are kept. A symlink at the path is written
    /// through (its target is replaced, if it stays inside the root; a dangling link is
    /// replaced itself).
    pub fn write_file(&self, path: &str, data: &[u8]) -> FsResult<()> {
        let _active = self.enter()?;
        let (replacement, mut file) = self.create_replacement(path, "write")?;
        if let Outcome::Failed = preallocate::reserve_whole(&file, data.len() as u64) {
            self.counters.fallback(FALLBACK_PREALLOCATE);
        }
        file.write_all(data)
            .map_err(|e| FsError::io(&e, "write", path))?;
        drop(file);
        self.install(replacement, true, "write")?;
        Counters::add(&self.counters.bytes_written, data.len() as u64);
        Ok(())
    }

    /// Opens a write-only handle on a new temporary file that will replace `path` (resolved as
    /// by [`Provider::write_file`]), with the mode bits of the file there now. Its writes go
    /// through the write-behind queue like any handle's; [`Provider::commit_replacement`] puts
    /// the file in place, and [`Provider::close`] (or `dispose`) abandons it, removing the
    /// temporary file and leaving `path` as it was.
    pub fn open_replacement(&self, path: &str) -> FsResult<u64> {
        let _active = self.enter()?;
        self.check_limit(path)?;
        let (replacement, file) = self.create_replacement(path, "open")?;
        let flags = OpenFlags::write();
        self.add_handle(path, file, flags, Some(replacement))
    }

    /// Closes a handle from [`Provider::open_replacement`] (waiting for its writes) and renames
    /// its file over the destination; with `replace` false it fails with ALREADY_EXISTS when the
    /// destination exists, decided by the kernel in the same step. On any failure (a write
    /// error, the rename) the temporary file is removed and the destination is as it was; the
    /// handle is closed either way (a handle not opened as a replacement is INVALID_ARGUMENT and
    /// stays open).
    pub fn commit_replacement(&self, h: u64, replace: bool) -> FsResult<()> {
        let _active = self.enter()?;
        let replacement = self.close_replacement(h)?;
        self.install(replacement, replace, "rename")
    }

    /// Creates the temporary file that will replace `path` (see [`Provider::write_file`] for
    /// how the path is resolved), with the mode bits of the file there now.
    fn create_replacement(&self, path: &str, op: &str) -> FsResult<(Replacement, File)> {
        let d = self.destination(path, op)?;
        let n = self.tmp_counter.fetch_add(1, Relaxed);
        let temp = sys::c(&format!(
            ".{}.deskless-{}-{n}.tmp",
            sandbox::name_str(&d.name),
            std::process::id()
        ));
        let fd = sys::openat(
            d.dir.as_fd(),
            &temp,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
            0o666,
        )
        .map_err(|e| FsError::os(e, op, path))?;
        let file = File::from(fd);
        if let Some(st) = d.existing.filter(|st| file_type(st) == libc::S_IFREG) {
            // Best effort: keep the old file's mode bits.
            let _ = file.set_permissions(PermissionsExt::from_mode(st.st_mode & 0o7777));
        }
        let replacement = Replacement {
            dir: d.dir,
            name: d.name,
            temp,
            path: path.to_string(),
            installed: false,
        };
        Ok((replacement, file))
    }

    /// Renames the replacement over its destination; with `replace` false it fails with
    /// ALREADY_EXISTS when the destination exists, decided by the kernel in the same step.
    fn install(&self, mut r: Replacement, replace: bool, op: &str) -> FsResult<()> {
        let rename: fn(BorrowedFd<'_>, &CStr, BorrowedFd<'_>, &CStr) -> sys::SysResult<()> =
            if replace {
                sys::renameat
            } else {
                sys::renameat_no_replace
            };
        // What the rename replaces (nothing when it may not).
        let old = if replace {
            sys::lstatat(r.dir.as_fd(), &r.name).ok()
        } else {
            None
        };
        // Replacing a large file frees its pages and blocks when its last reference goes, which
        // the rename would otherwise do inline (on ext4 about 20 ms per 64 MiB, a third of a
        // whole write_file). Holding the old file open across the rename and letting go of it
        // on the write-behind runtime moves that off the caller's path.
        let held = old
            .filter(|st| {
                file_type(st) == libc::S_IFREG
                    && st.st_nlink == 1
                    && st.st_size as u64 >= DEFER_RELEASE_MIN
            })
            .and_then(|_| {
                sys::openat(r.dir.as_fd(), &r.name, libc::O_PATH | libc::O_NOFOLLOW, 0).ok()
            });
        rename(r.dir.as_fd(), &r.temp, r.dir.as_fd(), &r.name)
            .map_err(|e| FsError::os(e, op, &r.path))?;
        r.installed = true;
        if let Some(held) = held {
            let gate = Arc::clone(&self.gate);
            (self.spawner)(Box::new(move || {
                gate.pass();
                drop(held);
            }));
        }
        if let Some(st) = old {
            self.cache.invalidate((st.st_dev, st.st_ino));
        }
        Ok(())
    }

    /// Where a replacement of `path` goes. A symlink there is followed to its target when that
    /// stays inside the root; a dangling one is replaced itself.
    fn destination(&self, path: &str, op: &str) -> FsResult<Destination> {
        let t = self.sandbox.locate_writable(path)?;
        let d = self.destination_at(&t, op)?;
        let symlink = d.existing.is_some_and(|st| file_type(&st) == libc::S_IFLNK);
        if !symlink {
            return Ok(d);
        }
        match self.sandbox.open(&t, libc::O_PATH, 0, op) {
            Ok(fd) => {
                // The link's real target, found race-free beneath the root.
                let real = sandbox::host_path(fd.as_fd(), t.root, path)?;
                let rel = real
                    .strip_prefix(&t.root.path)
                    .map_err(|_| FsError::outside(path))?
                    .to_string_lossy()
                    .into_owned();
                let real_t = Target {
                    root: t.root,
                    rel,
                    display: path,
                };
                self.destination_at(&real_t, op)
            }
            Err(e) if e.code() == ErrorCode::NotFound => Ok(d),
            Err(e) => Err(e),
        }
    }

    /// [`Provider::destination`] without following a symlink at the target.
    fn destination_at(&self, t: &Target<'_>, op: &str) -> FsResult<Destination> {
        let (dir, name) = self.sandbox.require_parent(t, op)?;
        let existing = match sys::lstatat(dir.as_fd(), &name) {
            Ok(st) if file_type(&st) == libc::S_IFDIR => {
                return Err(FsError::os(libc::EISDIR, op, t.display))
            }
            Ok(st) => Some(st),
            Err(libc::ENOENT) => None,
            Err(e) => return Err(FsError::os(e, op, t.display)),
        };
        Ok(Destination {
            dir,
            name,
            existing,
        })
    }
}
