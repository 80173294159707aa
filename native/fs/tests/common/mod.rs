//! Shared fixtures: a workspace root inside a temporary directory, with a sentinel file beside
//! it (outside the root) whose content and mode must never change.

#![allow(dead_code)]

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use deskless_fs::{ErrorCode, FsResult, Provider, ProviderConfig, RootConfig};

pub const SENTINEL: &[u8] = b"SECRET outside the workspace";

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub sentinel: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("ws");
        fs::create_dir(&root).unwrap();
        let sentinel = dir.path().join("secret.txt");
        fs::write(&sentinel, SENTINEL).unwrap();
        fs::set_permissions(&sentinel, fs::Permissions::from_mode(0o640)).unwrap();
        Fixture {
            dir,
            root,
            sentinel,
        }
    }

    pub fn outside(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> ProviderConfig {
        ProviderConfig::new(vec![RootConfig::new(&self.root)])
    }

    pub fn provider(&self) -> Provider {
        Provider::new(self.config()).expect("provider")
    }

    /// Asserts the sentinel is byte-for-byte and mode-for-mode unchanged, and that the outside
    /// directory holds nothing but the root and the sentinel.
    pub fn assert_outside_untouched(&self) {
        assert_eq!(fs::read(&self.sentinel).unwrap(), SENTINEL);
        let mode = fs::metadata(&self.sentinel).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            names(self.outside()),
            ["secret.txt", "ws"],
            "something was created outside the root"
        );
    }
}

/// Asserts `r` failed with `code`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(r: FsResult<T>, code: ErrorCode) {
    match r {
        Ok(v) => panic!("expected {code}, got Ok({v:?})"),
        Err(e) => assert_eq!(e.code(), code, "unexpected error: {e}"),
    }
}

/// Deterministic test bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32) as u8)
        .collect()
}

/// A small tmpfs mounted on a temporary directory, unmounted on drop.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let c = |s: &str| CString::new(s).unwrap();
        let target = c(dir.path().to_str().unwrap());
        let data = c(&format!("size={size}"));
        // SAFETY: valid NUL-terminated strings.
        let r = unsafe {
            libc::mount(
                c("tmpfs").as_ptr(),
                target.as_ptr(),
                c("tmpfs").as_ptr(),
                0,
                data.as_ptr().cast(),
            )
        };
        assert_eq!(
            r,
            0,
            "mounting a tmpfs needs root: {}",
            std::io::Error::last_os_error()
        );
        Tmpfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = CString::new(self.dir.path().to_str().unwrap()).unwrap();
        // SAFETY: valid NUL-terminated string. MNT_DETACH: never fail on a busy mount.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// The names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
