//! Write errors surface for real: the root is a 1 MiB tmpfs that fills up.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_code, pattern, Tmpfs};
use deskless_fs::{ErrorCode, OpenFlags, Provider, ProviderConfig, RootConfig};

fn provider(root: &Path) -> Provider {
    Provider::new(ProviderConfig::new(vec![RootConfig::new(root)])).unwrap()
}

#[test]
fn a_failed_write_surfaces_at_flush_fails_the_next_op_and_close() {
    let fs = Tmpfs::mount("1m");
    let p = provider(fs.path());
    let h = p
        .open(
            "full.bin",
            OpenFlags {
                read: true,
                write: true,
                create: true,
                ..OpenFlags::default()
            },
        )
        .unwrap();
    // 2 MiB into a 1 MiB file system. The disk is held until all of it is queued, so every
    // write is accepted (the buffer holds 16 MiB) and the failure comes from the drain.
    p.pause_write_behind(true);
    for i in 0..32u64 {
        p.write_at(h, i * 65536, &pattern(65536, i as u8)).unwrap();
    }
    p.pause_write_behind(false);
    let err = p.flush(h).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WriteFailed);
    assert!(err.message().contains("full.bin"), "{err}");
    assert!(err.message().contains("No space left on device"), "{err}");
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
    // Every later operation on the handle fails with the stored error.
    assert_code(p.write_at(h, 0, b"more"), ErrorCode::WriteFailed);
    assert_code(p.append(h, b"more"), ErrorCode::WriteFailed);
    assert_code(p.read(h, 0, 10), ErrorCode::WriteFailed);
    assert_code(p.len(h), ErrorCode::WriteFailed);
    assert_code(p.flush(h), ErrorCode::WriteFailed);
    // Close reports it too, and the handle is gone afterwards.
    assert_code(p.close(h), ErrorCode::WriteFailed);
    assert_code(p.close(h), ErrorCode::BadHandle);
    let s = p.stats();
    assert!(s.bytes_written < 2 << 20);
    assert_eq!(s.open_handles, 0);
}

#[test]
fn a_failed_write_surfaces_at_close_without_flush() {
    let fs = Tmpfs::mount("1m");
    let p = provider(fs.path());
    let h = p.open("f.bin", OpenFlags::create()).unwrap();
    p.write_at(h, 0, &pattern(3 << 20, 1)).unwrap_err_or_ok();
    let err = p.close(h).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WriteFailed, "{err}");
    assert!(err.message().contains("f.bin"), "{err}");
}

#[test]
fn a_failed_large_write_is_returned_by_the_write_itself_and_sticks() {
    let fs = Tmpfs::mount("1m");
    let p = provider(fs.path());
    let h = p.open("direct.bin", OpenFlags::create()).unwrap();
    // 2 MiB into an empty queue goes straight to the kernel, so the caller gets the error.
    let err = p.write_at(h, 0, &pattern(2 << 20, 4)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WriteFailed, "{err}");
    assert!(err.message().contains("No space left on device"), "{err}");
    assert_code(p.write_at(h, 0, b"more"), ErrorCode::WriteFailed);
    assert_code(p.flush(h), ErrorCode::WriteFailed);
    assert_code(p.close(h), ErrorCode::WriteFailed);
}

#[test]
fn a_failed_write_file_keeps_the_old_file() {
    let fs = Tmpfs::mount("1m");
    let p = provider(fs.path());
    p.write_file("keep.txt", b"the old contents").unwrap();
    let err = p.write_file("keep.txt", &pattern(2 << 20, 2)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NoSpace, "{err}");
    assert!(err.message().contains("keep.txt"), "{err}");
    assert_eq!(&*p.read_file("keep.txt").unwrap(), b"the old contents");
    let names: Vec<PathBuf> = std::fs::read_dir(fs.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        names,
        [fs.path().join("keep.txt")],
        "no temporary file left behind"
    );
}

/// A write larger than the free space may fail while queueing (the drain already failed) or
/// later; either way close must report it.
trait OkOrErr {
    fn unwrap_err_or_ok(self);
}

impl<T, E: std::fmt::Display> OkOrErr for Result<T, E> {
    fn unwrap_err_or_ok(self) {
        if let Err(e) = self {
            assert!(e.to_string().contains("No space left"), "{e}");
        }
    }
}
