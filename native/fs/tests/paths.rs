//! Whole-path operations.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

use common::{assert_code, Fixture};
use deskless_fs::{ErrorCode, FileType};

#[test]
fn write_read_metadata() {
    let fx = Fixture::new();
    let p = fx.provider();
    p.write_file("a.txt", b"hello").unwrap();
    fs::set_permissions(fx.root.join("a.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    p.write_file("a.txt", b"hello again").unwrap();
    assert_eq!(&*p.read_file("a.txt").unwrap(), b"hello again");
    let mode = fs::metadata(fx.root.join("a.txt"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "write_file keeps the mode");
    let m = p.metadata("a.txt").unwrap();
    assert_eq!(m.file_type, FileType::File);
    assert_eq!(m.len, 11);
    assert!(!m.readonly);
    assert!(m.modified.is_some());
    assert_eq!(p.metadata(".").unwrap().file_type, FileType::Dir);
    assert_code(p.metadata("nope"), ErrorCode::NotFound);
    assert_code(p.read_file("nope"), ErrorCode::NotFound);
    assert_code(p.read_file("."), ErrorCode::IsADirectory);
    assert_code(p.read_file(""), ErrorCode::InvalidArgument);
    let err = p.read_file("dir/nope").unwrap_err();
    assert_eq!(
        err.message(),
        "read \"dir/nope\": No such file or directory (os error 2)"
    );
    assert_code(p.write_file("missing/a.txt", b""), ErrorCode::NotFound);
    fs::create_dir(fx.root.join("d")).unwrap();
    assert_code(p.write_file("d", b""), ErrorCode::IsADirectory);

    // Through an inside symlink, the target is written and the link kept.
    symlink("a.txt", fx.root.join("link")).unwrap();
    p.write_file("link", b"via link").unwrap();
    assert_eq!(fs::read(fx.root.join("a.txt")).unwrap(), b"via link");
    assert_eq!(
        p.symlink_metadata("link").unwrap().file_type,
        FileType::Symlink
    );
    assert_eq!(p.metadata("link").unwrap().file_type, FileType::File);
}

#[test]
fn directories() {
    let fx = Fixture::new();
    let p = fx.provider();
    p.create_dir("d", false).unwrap();
    assert_code(p.create_dir("d", false), ErrorCode::AlreadyExists);
    assert_code(p.create_dir("x/y", false), ErrorCode::NotFound);
    p.create_dir("x/y/z", true).unwrap();
    p.create_dir("x/y/z", true).unwrap();
    p.write_file("x/file", b"f").unwrap();
    assert_code(p.create_dir("x/file/sub", true), ErrorCode::NotADirectory);
    symlink("y", fx.root.join("x/ylink")).unwrap();
    let entries = p.read_dir("x").unwrap();
    let summary: Vec<(&str, FileType)> = entries
        .iter()
        .map(|e| (e.file_name.as_str(), e.file_type))
        .collect();
    assert_eq!(
        summary,
        [
            ("file", FileType::File),
            ("y", FileType::Dir),
            ("ylink", FileType::Symlink)
        ]
    );
    let canon_root = fs::canonicalize(&fx.root).unwrap();
    assert_eq!(entries[0].path, canon_root.join("x/file"));
    assert_code(p.read_dir("x/file"), ErrorCode::NotADirectory);

    assert_code(p.remove_dir("x", false), ErrorCode::DirectoryNotEmpty);
    assert_code(p.remove_file("x"), ErrorCode::IsADirectory);
    assert_code(p.remove_dir("x/file", false), ErrorCode::NotADirectory);
    assert_code(p.remove_dir(".", true), ErrorCode::InvalidArgument);
    p.remove_file("x/ylink").unwrap();
    assert!(
        fx.root.join("x/y").is_dir(),
        "removing a link keeps its target"
    );
    p.remove_dir("x", true).unwrap();
    assert!(!fx.root.join("x").exists());
    p.remove_dir("d", false).unwrap();
    assert_code(p.remove_dir("d", false), ErrorCode::NotFound);
    assert!(p.read_dir(".").unwrap().is_empty());
    fx.assert_outside_untouched();
}

#[test]
fn rename_no_replace_refuses_an_existing_target_and_keeps_both() {
    let fx = Fixture::new();
    let p = fx.provider();
    p.write_file("new", b"new").unwrap();
    p.write_file("kept", b"kept").unwrap();
    assert_code(p.rename_no_replace("new", "kept"), ErrorCode::AlreadyExists);
    assert_eq!(&*p.read_file("kept").unwrap(), b"kept");
    assert_eq!(&*p.read_file("new").unwrap(), b"new");
    p.rename_no_replace("new", "moved").unwrap();
    assert_eq!(&*p.read_file("moved").unwrap(), b"new");
    assert_code(p.rename_no_replace("new", "again"), ErrorCode::NotFound);
    assert_code(
        p.rename_no_replace("moved", "../outside"),
        ErrorCode::OutsideWorkspace,
    );
}

#[test]
fn rename_readonly_canonicalize() {
    let fx = Fixture::new();
    let p = fx.provider();
    p.write_file("a", b"1").unwrap();
    p.create_dir("d", false).unwrap();
    p.rename("a", "d/b").unwrap();
    assert_eq!(&*p.read_file("d/b").unwrap(), b"1");
    assert_code(p.rename("a", "c"), ErrorCode::NotFound);

    p.set_readonly("d/b", true).unwrap();
    assert!(p.metadata("d/b").unwrap().readonly);
    let mode = fs::metadata(fx.root.join("d/b"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o222, 0);
    p.set_readonly("d/b", false).unwrap();
    assert!(!p.metadata("d/b").unwrap().readonly);

    let canon_root = fs::canonicalize(&fx.root).unwrap();
    assert_eq!(p.canonicalize("d/../d/b").unwrap(), canon_root.join("d/b"));
    assert_eq!(p.canonicalize(".").unwrap(), canon_root);
    assert_code(p.canonicalize("nope"), ErrorCode::NotFound);
}

#[test]
fn errors_convert_to_io_errors() {
    let fx = Fixture::new();
    let p = fx.provider();
    let e: std::io::Error = p.read_file("nope").unwrap_err().into();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    let e: std::io::Error = p.read_file("../secret.txt").unwrap_err().into();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
    let inner = e
        .get_ref()
        .unwrap()
        .downcast_ref::<deskless_fs::FsError>()
        .unwrap();
    assert_eq!(inner.code().as_str(), "OUTSIDE_WORKSPACE");
    p.write_file("f", b"x").unwrap();
    let e: std::io::Error = p.write_file("f/g", b"x").unwrap_err().into();
    assert_eq!(e.kind(), std::io::ErrorKind::NotADirectory);
}

#[test]
fn error_codes_are_the_documented_strings() {
    use ErrorCode::*;
    let codes: Vec<&str> = [
        OutsideWorkspace,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ReadOnly,
        IsADirectory,
        NotADirectory,
        DirectoryNotEmpty,
        BadHandle,
        TooManyHandles,
        InvalidArgument,
        NoSpace,
        WriteFailed,
        Io,
        Disposed,
    ]
    .iter()
    .map(|c| c.as_str())
    .collect();
    let doc = include_str!("../../../docs/native-api.md");
    for code in &codes {
        assert!(
            doc.contains(&format!("`{code}`")),
            "{code} is not in docs/native-api.md"
        );
    }
    assert_eq!(codes.len(), 15);
}

/// Descriptors of this process whose target is `path` after it was unlinked or replaced.
fn held_deleted(path: &std::path::Path) -> usize {
    let want = format!(
        "{} (deleted)",
        fs::canonicalize(path.parent().unwrap())
            .unwrap()
            .join(path.file_name().unwrap())
            .display()
    );
    fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter(|e| fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy() == want))
        .count()
}

#[test]
fn write_file_releases_a_replaced_large_file_off_the_callers_path() {
    let fx = Fixture::new();
    let p = fx.provider();
    let target = fx.root.join("big.bin");
    let old = common::pattern(4 << 20, 1);
    let new = common::pattern(4 << 20, 2);
    p.write_file("big.bin", &old).unwrap();
    // Held back, the release of the replaced file is still pending when write_file returns: the
    // rename did not free the old file's pages and blocks inline.
    p.pause_write_behind(true);
    p.write_file("big.bin", &new).unwrap();
    assert_eq!(fs::read(&target).unwrap(), new);
    assert_eq!(
        held_deleted(&target),
        1,
        "the replaced file is released in the background"
    );
    // Small files are replaced plainly.
    p.write_file("small.bin", b"one").unwrap();
    p.write_file("small.bin", b"two").unwrap();
    assert_eq!(held_deleted(&fx.root.join("small.bin")), 0);
    // Released once the background may run (dispose waits for it).
    p.pause_write_behind(false);
    p.dispose().unwrap();
    assert_eq!(held_deleted(&target), 0);
    assert_eq!(fs::read(&target).unwrap(), new);
    let names: Vec<String> = fs::read_dir(&fx.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    fx.assert_outside_untouched();
}
