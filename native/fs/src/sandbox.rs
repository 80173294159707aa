//! Workspace roots and race-free path resolution beneath them.
//!
//! Every root is opened once (`O_PATH | O_DIRECTORY`) and kept for the provider's life. A path is
//! split into (root, relative rest) and the rest is opened with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS)` relative to the root's descriptor, so the kernel refuses `..` escapes,
//! absolute symlinks and symlinks leading outside, atomically with the open. Operations on a final
//! component (mkdir, unlink, rename, lstat) open its parent that way and use the `*at` calls, which
//! never follow the final component. Without `openat2` (ENOSYS) a component-by-component
//! `O_NOFOLLOW` walk gives the same guarantees.

use std::collections::VecDeque;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use crate::error::{ErrorCode, FsError, FsResult};
use crate::sys;
use crate::virtual_paths::VirtualNames;

/// How many symlinks one resolution may follow in the fallback walk (the kernel's limit).
const MAX_SYMLINKS: usize = 40;

/// One workspace root.
pub(crate) struct Root {
    /// Canonical host path.
    pub path: PathBuf,
    /// The path as configured (matched too, so `/tmp/x` works when `/tmp` is a symlink).
    pub given: PathBuf,
    pub read_only: bool,
    pub name: String,
    fd: OwnedFd,
}

/// A path located in a root: the root and the rest relative to it ("" for the root itself).
pub(crate) struct Target<'a> {
    pub root: &'a Root,
    pub rel: String,
    pub display: &'a str,
}

impl Target<'_> {
    /// Does the target name its workspace root itself?
    pub(crate) fn is_root(&self) -> bool {
        self.rel.split('/').all(|c| c.is_empty() || c == ".")
    }
}

/// Why a resolution failed.
enum Refusal {
    Outside,
    Os(i32),
}

/// The roots, the resolver, and the virtual path space when the provider uses one.
pub(crate) struct Sandbox {
    roots: Vec<Root>,
    use_openat2: bool,
    virtual_names: Option<VirtualNames>,
}

impl Root {
    pub(crate) fn open(path: &Path, read_only: bool, name: Option<String>) -> FsResult<Root> {
        let display = path.to_string_lossy().into_owned();
        let canonical =
            std::fs::canonicalize(path).map_err(|e| FsError::io(&e, "root", &display))?;
        let c_path = CString::new(canonical.as_os_str().as_encoded_bytes()).map_err(|_| {
            FsError::new(ErrorCode::InvalidArgument, "root path contains a NUL byte")
        })?;
        let fd = sys::open_dir_path(&c_path).map_err(|e| FsError::os(e, "root", &display))?;
        let name = name.unwrap_or_else(|| {
            canonical
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "/".to_string())
        });
        Ok(Root {
            path: canonical,
            given: path.to_path_buf(),
            read_only,
            name,
            fd,
        })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Sandbox {
    pub(crate) fn new(
        roots: Vec<Root>,
        use_openat2: bool,
        virtual_names: Option<VirtualNames>,
    ) -> Sandbox {
        Sandbox {
            roots,
            use_openat2,
            virtual_names,
        }
    }

    /// The virtual path space, when paths are virtual.
    pub(crate) fn virtual_names(&self) -> Option<&VirtualNames> {
        self.virtual_names.as_ref()
    }

    pub(crate) fn roots(&self) -> &[Root] {
        &self.roots
    }

    pub(crate) fn uses_openat2(&self) -> bool {
        self.use_openat2
    }

    /// Lets go of every root directory (for `Provider::dispose`, once no operation is running):
    /// each root's descriptor is pointed at an anonymous memory file, so the directory (and its
    /// mount) is no longer held, and any resolution against it would fail with `ENOTDIR` rather
    /// than reach a reused descriptor number.
    pub(crate) fn release_roots(&self) {
        for root in &self.roots {
            let _ = sys::retire_fd(root.fd());
        }
    }

    /// Splits `path` into a root and the rest. Virtual paths split as [`VirtualNames`] says.
    /// Host paths: relative ones belong to the first root; absolute ones to the root that is
    /// their longest leading run of components. This only picks the root: containment itself is
    /// enforced by the kernel when the rest is opened.
    pub(crate) fn locate<'a>(&'a self, path: &'a str) -> FsResult<Target<'a>> {
        if let Some(names) = &self.virtual_names {
            let split = names.split(path)?;
            return Ok(Target {
                root: &self.roots[split.root],
                rel: split.rel,
                display: path,
            });
        }
        if path.contains('\0') {
            return Err(FsError::outside(path));
        }
        if path.is_empty() {
            return Err(FsError::new(ErrorCode::InvalidArgument, "empty path"));
        }
        if !path.starts_with('/') {
            return Ok(Target {
                root: &self.roots[0],
                rel: path.to_string(),
                display: path,
            });
        }
        let p = Path::new(path);
        let mut best: Option<(usize, &Root, PathBuf)> = None;
        for root in &self.roots {
            for prefix in [&root.path, &root.given] {
                if let Ok(rest) = p.strip_prefix(prefix) {
                    let depth = prefix.components().count();
                    if best.as_ref().is_none_or(|(d, _, _)| depth > *d) {
                        best = Some((depth, root, rest.to_path_buf()));
                    }
                }
            }
        }
        match best {
            Some((_, root, rest)) => Ok(Target {
                root,
                rel: rest.to_string_lossy().into_owned(),
                display: path,
            }),
            None => Err(FsError::outside(path)),
        }
    }

    /// Locates `path` for a modification: refused with READ_ONLY on a read-only root.
    pub(crate) fn locate_writable<'a>(&'a self, path: &'a str) -> FsResult<Target<'a>> {
        let t = self.locate(path)?;
        if t.root.read_only {
            return Err(FsError::new(
                ErrorCode::ReadOnly,
                format!("path {path:?} is in a read-only workspace root"),
            ));
        }
        Ok(t)
    }

    /// Opens the target, following symlinks only while they stay beneath its root.
    pub(crate) fn open(
        &self,
        t: &Target<'_>,
        flags: i32,
        mode: u32,
        op: &str,
    ) -> FsResult<OwnedFd> {
        self.open_rel(t.root.fd(), &t.rel, flags, mode)
            .map_err(|r| refusal(r, op, t.display))
    }

    /// Opens the parent directory of the target and returns it with the final component's name.
    /// `None` when the target has no final name of its own (the root, `.` or `..`).
    pub(crate) fn open_parent(
        &self,
        t: &Target<'_>,
        op: &str,
    ) -> FsResult<Option<(OwnedFd, CString)>> {
        let Some((parent, name)) = split_final(&t.rel) else {
            return Ok(None);
        };
        let fd = self
            .open_rel(t.root.fd(), parent, libc::O_PATH | libc::O_DIRECTORY, 0)
            .map_err(|r| refusal(r, op, t.display))?;
        Ok(Some((fd, sys::c(name))))
    }

    /// Like [`Sandbox::open_parent`] but refuses targets without a final name (see
    /// [`Sandbox::no_entry`]).
    pub(crate) fn require_parent(&self, t: &Target<'_>, op: &str) -> FsResult<(OwnedFd, CString)> {
        match self.open_parent(t, op)? {
            Some(found) => Ok(found),
            None => Err(self.no_entry(t, op)),
        }
    }

    /// The error for a target that names no entry of its own (the root, `.`, a final `..`) where
    /// an operation needs one. The target is resolved first, so a `..` that climbs out of the
    /// root is OUTSIDE_WORKSPACE (and a missing component NOT_FOUND); only a target that
    /// resolves to a directory inside the root is INVALID_ARGUMENT.
    pub(crate) fn no_entry(&self, t: &Target<'_>, op: &str) -> FsError {
        let what = if t.is_root() {
            "the path names a workspace root itself, not an entry in it"
        } else {
            "the path names no entry of its own"
        };
        match self.open(t, libc::O_PATH | libc::O_DIRECTORY, 0, op) {
            Err(e) => e,
            Ok(_) => FsError::new(
                ErrorCode::InvalidArgument,
                format!("{op} {:?}: {what}", t.display),
            ),
        }
    }

    fn open_rel(
        &self,
        root: BorrowedFd<'_>,
        rel: &str,
        flags: i32,
        mode: u32,
    ) -> Result<OwnedFd, Refusal> {
        let rel_c = if rel.is_empty() {
            sys::c(".")
        } else {
            sys::c(rel)
        };
        if self.use_openat2 {
            let resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
            return sys::openat2(root, &rel_c, flags, mode, resolve).map_err(|e| match e {
                libc::EXDEV => Refusal::Outside,
                e => Refusal::Os(e),
            });
        }
        walk(root, rel, flags, mode)
    }
}

/// The error for a refused or failed resolution.
fn refusal(r: Refusal, op: &str, display: &str) -> FsError {
    match r {
        Refusal::Outside => FsError::outside(display),
        Refusal::Os(e) => FsError::os(e, op, display),
    }
}

/// Splits a relative path into (parent, final name); `None` when the final component is empty,
/// `.` or `..`.
pub(crate) fn split_final(rel: &str) -> Option<(&str, &str)> {
    let trimmed = rel.trim_end_matches('/');
    let (parent, name) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some((parent, name))
}

/// Does `openat2` work on this kernel (and is it not filtered away)?
pub(crate) fn openat2_available(root: BorrowedFd<'_>) -> bool {
    let dot = sys::c(".");
    !matches!(
        sys::openat2(root, &dot, libc::O_PATH, 0, libc::RESOLVE_BENEATH),
        Err(libc::ENOSYS) | Err(libc::EPERM)
    )
}

/// The fallback resolver: walks `rel` one component at a time with `O_NOFOLLOW`, keeping a stack
/// of directory descriptors so `..` can never climb above the root, splicing relative symlink
/// targets into the walk and refusing absolute ones.
fn walk(root: BorrowedFd<'_>, rel: &str, flags: i32, mode: u32) -> Result<OwnedFd, Refusal> {
    let mut stack: Vec<OwnedFd> = vec![sys::dup(root).map_err(Refusal::Os)?];
    let mut pending: VecDeque<String> = components(rel);
    let mut links = 0;
    while let Some(comp) = pending.pop_front() {
        if comp == "." {
            continue;
        }
        if comp == ".." {
            if stack.len() == 1 {
                return Err(Refusal::Outside);
            }
            stack.pop();
            continue;
        }
        let is_last = pending.iter().all(|c| c == ".");
        let cur = stack.last().expect("the root stays on the stack").as_fd();
        let name = sys::c(&comp);
        // The lstat saw a directory or nothing: an ENOTDIR from the open below then means a
        // symlink was swapped in.
        let mut dir_or_missing = true;
        match sys::lstatat(cur, &name) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Refusal::Os(libc::ELOOP));
                }
                let target = match sys::readlinkat(cur, &name) {
                    Ok(t) => t,
                    // No longer a symlink (swapped since the lstat): look at it again.
                    Err(libc::EINVAL) => {
                        pending.push_front(comp);
                        continue;
                    }
                    Err(e) => return Err(Refusal::Os(e)),
                };
                if target.first() == Some(&b'/') {
                    return Err(Refusal::Outside);
                }
                let target = String::from_utf8_lossy(&target).into_owned();
                for c in components(&target).into_iter().rev() {
                    pending.push_front(c);
                }
                continue;
            }
            Ok(st) if !is_last && st.st_mode & libc::S_IFMT != libc::S_IFDIR => {
                return Err(Refusal::Os(libc::ENOTDIR));
            }
            Ok(st) => dir_or_missing = st.st_mode & libc::S_IFMT == libc::S_IFDIR,
            Err(libc::ENOENT) if is_last => {}
            Err(e) => return Err(Refusal::Os(e)),
        }
        if is_last {
            // O_NOFOLLOW: a symlink swapped in since the lstat fails with ELOOP (or, for O_PATH,
            // opens the link itself, caught below). Either way: refused.
            let fd =
                sys::openat(cur, &name, flags | libc::O_NOFOLLOW, mode).map_err(|e| match e {
                    libc::ELOOP => Refusal::Outside,
                    libc::ENOTDIR if dir_or_missing => Refusal::Outside,
                    e => Refusal::Os(e),
                })?;
            let st = sys::fstat(fd.as_fd()).map_err(Refusal::Os)?;
            if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                return Err(Refusal::Outside);
            }
            return Ok(fd);
        }
        let dir = sys::openat(
            cur,
            &name,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
        )
        .map_err(|e| match e {
            // It was a directory at the lstat above: a symlink was swapped in since.
            libc::ELOOP | libc::ENOTDIR => Refusal::Outside,
            e => Refusal::Os(e),
        })?;
        stack.push(dir);
    }
    // Nothing named at the end (the root itself, or a trailing `..`): reopen the current
    // directory with the requested flags.
    let cur = stack.last().expect("the root stays on the stack").as_fd();
    sys::openat(cur, &sys::c("."), flags, mode).map_err(Refusal::Os)
}

fn components(s: &str) -> VecDeque<String> {
    s.split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// Host path of an open descriptor, checked to lie inside `root` (defence in depth).
pub(crate) fn host_path(fd: BorrowedFd<'_>, root: &Root, display: &str) -> FsResult<PathBuf> {
    let p = sys::fd_path(fd).map_err(|e| FsError::os(e, "canonicalize", display))?;
    let inside = p
        .components()
        .zip(root.path.components())
        .take_while(|(a, b)| a == b)
        .count()
        == root.path.components().count();
    if !inside || p.components().any(|c| c == Component::ParentDir) {
        return Err(FsError::outside(display));
    }
    Ok(p)
}

/// The `CStr` of a name, for messages.
pub(crate) fn name_str(name: &CStr) -> String {
    sys::name_string(name)
}
