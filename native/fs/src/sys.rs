//! Thin, safe wrappers over the Linux system calls the provider needs. Every function returns the
//! raw `errno` on failure; callers turn it into an [`crate::FsError`] that names the path.

use std::ffi::{CStr, CString, OsStr};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

pub(crate) type SysResult<T> = Result<T, i32>;

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// A path component or relative path as a C string; callers have already refused NUL bytes.
pub(crate) fn c(s: &str) -> CString {
    CString::new(s).expect("NUL bytes are refused before reaching a system call")
}

fn retry<T: Copy + PartialEq + From<i8>>(mut f: impl FnMut() -> T) -> SysResult<T> {
    loop {
        let r = f();
        if r != T::from(-1) {
            return Ok(r);
        }
        let e = errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

/// `openat2(2)` with the given resolve flags. `EAGAIN` (a concurrent rename raced a `..` lookup)
/// is retried a few times before it is reported.
pub(crate) fn openat2(
    dir: BorrowedFd<'_>,
    path: &CStr,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> SysResult<OwnedFd> {
    // SAFETY: open_how is plain old data; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
        mode as u64
    } else {
        0
    };
    how.resolve = resolve;
    let mut attempts = 0;
    loop {
        // SAFETY: valid fd, NUL-terminated path, and a correctly sized open_how.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if r >= 0 {
            // SAFETY: the kernel returned a fresh descriptor that we now own.
            return Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) });
        }
        let e = errno();
        match e {
            libc::EINTR => continue,
            libc::EAGAIN if attempts < 16 => attempts += 1,
            _ => return Err(e),
        }
    }
}

/// `openat(2)`.
pub(crate) fn openat(
    dir: BorrowedFd<'_>,
    path: &CStr,
    flags: i32,
    mode: u32,
) -> SysResult<OwnedFd> {
    // SAFETY: valid fd and NUL-terminated path.
    let fd = retry(|| unsafe {
        libc::openat(
            dir.as_raw_fd(),
            path.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    // SAFETY: the kernel returned a fresh descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `open(2)` of an absolute host path (used only to open the workspace roots).
pub(crate) fn open_dir_path(path: &CStr) -> SysResult<OwnedFd> {
    // SAFETY: NUL-terminated path.
    let fd = retry(|| unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstat(2)`.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> SysResult<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: st is a valid out pointer.
    retry(|| unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded and filled st.
    Ok(unsafe { st.assume_init() })
}

/// `fstatat(2)` with `AT_SYMLINK_NOFOLLOW`.
pub(crate) fn lstatat(dir: BorrowedFd<'_>, name: &CStr) -> SysResult<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid fd, NUL-terminated name, valid out pointer.
    retry(|| unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: fstatat succeeded and filled st.
    Ok(unsafe { st.assume_init() })
}

/// `mkdirat(2)`.
pub(crate) fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> SysResult<()> {
    // SAFETY: valid fd and NUL-terminated name.
    retry(|| unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t) })
        .map(drop)
}

/// `unlinkat(2)`; `dir_flag` removes a directory.
pub(crate) fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, remove_dir: bool) -> SysResult<()> {
    let flags = if remove_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: valid fd and NUL-terminated name.
    retry(|| unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

/// `renameat(2)`.
pub(crate) fn renameat(
    from_dir: BorrowedFd<'_>,
    from: &CStr,
    to_dir: BorrowedFd<'_>,
    to: &CStr,
) -> SysResult<()> {
    // SAFETY: valid fds and NUL-terminated names.
    retry(|| unsafe {
        libc::renameat(
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
        )
    })
    .map(drop)
}

/// `renameat2(2)` with `RENAME_NOREPLACE`: fails with EEXIST, atomically, when `to` exists.
/// File systems without it (EINVAL) get `linkat` + `unlinkat`, which refuses an existing `to` as
/// atomically (files only, which is what it is used for).
pub(crate) fn renameat_no_replace(
    from_dir: BorrowedFd<'_>,
    from: &CStr,
    to_dir: BorrowedFd<'_>,
    to: &CStr,
) -> SysResult<()> {
    // SAFETY: valid fds and NUL-terminated names.
    let renamed = retry(|| unsafe {
        libc::renameat2(
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    });
    match renamed {
        Err(libc::EINVAL) | Err(libc::ENOSYS) => {
            // SAFETY: as above.
            retry(|| unsafe {
                libc::linkat(
                    from_dir.as_raw_fd(),
                    from.as_ptr(),
                    to_dir.as_raw_fd(),
                    to.as_ptr(),
                    0,
                )
            })?;
            // SAFETY: as above.
            retry(|| unsafe { libc::unlinkat(from_dir.as_raw_fd(), from.as_ptr(), 0) }).map(drop)
        }
        other => other.map(drop),
    }
}

/// `readlinkat(2)`.
pub(crate) fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> SysResult<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = retry(|| unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        })? as usize;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// The host path the kernel records for an open descriptor (`/proc/self/fd/N`).
pub(crate) fn fd_path(fd: BorrowedFd<'_>) -> SysResult<PathBuf> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    std::fs::read_link(link).map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

/// `chmod` of exactly the file behind `fd` (an `O_PATH` descriptor), through its `/proc` link.
pub(crate) fn fchmod_path_fd(fd: BorrowedFd<'_>, mode: u32) -> SysResult<()> {
    let link = c(&format!("/proc/self/fd/{}", fd.as_raw_fd()));
    // SAFETY: NUL-terminated path.
    retry(|| unsafe { libc::chmod(link.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// Points descriptor `target` at a fresh anonymous memory file (`memfd_create` + `dup3`), which
/// drops what `target` referred to while the number stays open and owned: nothing can reuse it,
/// and a path resolved relative to it fails with `ENOTDIR`.
pub(crate) fn retire_fd(target: BorrowedFd<'_>) -> SysResult<()> {
    let name = c("deskless-disposed");
    // SAFETY: NUL-terminated name; the result is a fresh descriptor or -1.
    let memfd = retry(|| unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) })?;
    // SAFETY: memfd is ours.
    let memfd = unsafe { OwnedFd::from_raw_fd(memfd) };
    // SAFETY: both descriptors are valid; dup3 atomically replaces `target`.
    retry(|| unsafe { libc::dup3(memfd.as_raw_fd(), target.as_raw_fd(), libc::O_CLOEXEC) })
        .map(drop)
}

/// `dup(2)` with close-on-exec.
pub(crate) fn dup(fd: BorrowedFd<'_>) -> SysResult<OwnedFd> {
    fd.try_clone_to_owned()
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

/// One entry of a directory listing.
pub(crate) struct RawDirEntry {
    pub name: CString,
    /// `DT_*` value; `DT_UNKNOWN` when the file system does not say.
    pub d_type: u8,
}

/// Lists a directory opened for reading (`O_RDONLY | O_DIRECTORY`), without `.` and `..`.
pub(crate) fn list_dir(fd: OwnedFd) -> SysResult<Vec<RawDirEntry>> {
    use std::os::fd::IntoRawFd;
    let raw = fd.into_raw_fd();
    // SAFETY: raw is an owned directory descriptor; fdopendir takes ownership on success.
    let dir = unsafe { libc::fdopendir(raw) };
    if dir.is_null() {
        let e = errno();
        // SAFETY: fdopendir failed, so we still own raw.
        unsafe { libc::close(raw) };
        return Err(e);
    }
    let mut out = Vec::new();
    let result = loop {
        // SAFETY: readdir resets errno only on error; set it to 0 to tell end from failure.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: dir is a valid DIR*.
        let ent = unsafe { libc::readdir64(dir) };
        if ent.is_null() {
            let e = errno();
            break if e == 0 { Ok(()) } else { Err(e) };
        }
        // SAFETY: readdir64 returned a valid entry whose d_name is NUL-terminated.
        let (name, d_type) = unsafe { (CStr::from_ptr((*ent).d_name.as_ptr()), (*ent).d_type) };
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        out.push(RawDirEntry {
            name: name.to_owned(),
            d_type,
        });
    };
    // SAFETY: dir is valid and closed exactly once.
    unsafe { libc::closedir(dir) };
    result.map(|()| out)
}

/// A `CString` file name as a lossy UTF-8 `String`.
pub(crate) fn name_string(name: &CStr) -> String {
    OsStr::from_bytes(name.to_bytes())
        .to_string_lossy()
        .into_owned()
}
