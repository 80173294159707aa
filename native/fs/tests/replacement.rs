//! Replacement handles: a file streamed through the write-behind queue into a temporary sibling
//! and renamed over its destination only by `commit_replacement`; every other ending (a write
//! error, a refused rename, `close`, `dispose`, dropping the provider) leaves the destination as
//! it was and no temporary file behind.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{assert_code, names, pattern, Fixture, Tmpfs};
use deskless_fs::{ErrorCode, OpenFlags, Provider, ProviderConfig, RootConfig};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Writes `data` through the handle in 64 KiB pieces (each one queued behind the last).
fn write_all(p: &Provider, h: u64, data: &[u8]) {
    for (i, piece) in data.chunks(64 << 10).enumerate() {
        p.write_at(h, (i * (64 << 10)) as u64, piece).unwrap();
    }
}

#[test]
fn commit_replaces_the_file_and_keeps_its_mode_bits() {
    let fx = Fixture::new();
    let dest = fx.root.join("data.bin");
    fs::write(&dest, b"the old contents").unwrap();
    fs::set_permissions(&dest, fs::Permissions::from_mode(0o640)).unwrap();
    let p = fx.provider();
    let new = pattern(3 << 20, 9);
    let h = p.open_replacement("data.bin").unwrap();
    write_all(&p, h, &new);
    // Until the commit the destination is the old file, and the bytes sit in a temporary file
    // beside it.
    assert_eq!(fs::read(&dest).unwrap(), b"the old contents");
    let during = names(&fx.root);
    assert_eq!(during.len(), 2, "{during:?}");
    assert!(
        during[0].starts_with(".data.bin.deskless-") && during[0].ends_with(".tmp"),
        "{during:?}"
    );

    p.commit_replacement(h, true).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), new);
    assert_eq!(mode(&dest), 0o640);
    assert_eq!(names(&fx.root), ["data.bin"]);
    assert_code(p.close(h), ErrorCode::BadHandle);
    let s = p.stats();
    assert_eq!((s.opens, s.closes, s.open_handles), (1, 1, 0));
    fx.assert_outside_untouched();
}

#[test]
fn commit_creates_a_missing_file_either_way() {
    let fx = Fixture::new();
    let p = fx.provider();
    fs::create_dir(fx.root.join("sub")).unwrap();
    for (name, replace) in [("sub/a.txt", true), ("sub/b.txt", false)] {
        let h = p.open_replacement(name).unwrap();
        p.write_at(h, 0, name.as_bytes()).unwrap();
        p.commit_replacement(h, replace).unwrap();
        assert_eq!(fs::read(fx.root.join(name)).unwrap(), name.as_bytes());
    }
    assert_eq!(names(&fx.root.join("sub")), ["a.txt", "b.txt"]);
}

#[test]
fn no_replace_refuses_an_existing_file_and_leaves_both_as_they_were() {
    let fx = Fixture::new();
    let p = fx.provider();
    fs::write(fx.root.join("kept.txt"), b"kept").unwrap();
    let h = p.open_replacement("kept.txt").unwrap();
    p.write_at(h, 0, b"new").unwrap();
    let e = p.commit_replacement(h, false).unwrap_err();
    assert_eq!(e.code(), ErrorCode::AlreadyExists, "{e}");
    assert!(e.message().contains("kept.txt"), "{e}");
    assert_eq!(fs::read(fx.root.join("kept.txt")).unwrap(), b"kept");
    assert_eq!(names(&fx.root), ["kept.txt"]);
    // The handle is closed by the failed commit.
    assert_code(p.close(h), ErrorCode::BadHandle);
    assert_eq!(p.stats().open_handles, 0);
}

#[test]
fn no_replace_refuses_a_file_that_appeared_after_the_open() {
    let fx = Fixture::new();
    let p = fx.provider();
    let h = p.open_replacement("late.txt").unwrap();
    p.write_at(h, 0, b"ours").unwrap();
    fs::write(fx.root.join("late.txt"), b"theirs").unwrap();
    assert_code(p.commit_replacement(h, false), ErrorCode::AlreadyExists);
    assert_eq!(fs::read(fx.root.join("late.txt")).unwrap(), b"theirs");
    assert_eq!(names(&fx.root), ["late.txt"]);
}

#[test]
fn close_without_commit_leaves_neither_temp_nor_destination() {
    let fx = Fixture::new();
    let p = fx.provider();
    fs::write(fx.root.join("old.txt"), b"old").unwrap();
    for name in ["new.txt", "old.txt"] {
        let h = p.open_replacement(name).unwrap();
        write_all(&p, h, &pattern(200_000, 3));
        p.close(h).unwrap();
        assert_code(p.commit_replacement(h, true), ErrorCode::BadHandle);
    }
    assert_eq!(names(&fx.root), ["old.txt"]);
    assert_eq!(fs::read(fx.root.join("old.txt")).unwrap(), b"old");
}

#[test]
fn dispose_and_drop_discard_an_uncommitted_replacement() {
    let fx = Fixture::new();
    let p = fx.provider();
    let h = p.open_replacement("disposed.txt").unwrap();
    p.write_at(h, 0, b"never placed").unwrap();
    p.dispose().unwrap();
    assert_code(p.commit_replacement(h, true), ErrorCode::Disposed);
    assert_eq!(names(&fx.root), Vec::<String>::new());

    let p = fx.provider();
    let h = p.open_replacement("dropped.txt").unwrap();
    p.write_at(h, 0, b"never placed").unwrap();
    drop(p);
    assert_eq!(names(&fx.root), Vec::<String>::new());
}

#[test]
fn a_write_error_fails_the_commit_and_leaves_the_destination() {
    let fs_ = Tmpfs::mount("1m");
    let p = Provider::new(ProviderConfig::new(vec![RootConfig::new(fs_.path())])).unwrap();
    p.write_file("keep.txt", b"the old contents").unwrap();
    let h = p.open_replacement("keep.txt").unwrap();
    // 2 MiB into a 1 MiB file system; the disk is held until all of it is queued, so the
    // failure comes from the drain and is first reported by the commit.
    p.pause_write_behind(true);
    write_all(&p, h, &pattern(2 << 20, 5));
    p.pause_write_behind(false);
    let e = p.commit_replacement(h, true).unwrap_err();
    assert_eq!(e.code(), ErrorCode::WriteFailed, "{e}");
    assert!(e.message().contains("keep.txt"), "{e}");
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
    assert_eq!(&*p.read_file("keep.txt").unwrap(), b"the old contents");
    assert_eq!(names(fs_.path()), ["keep.txt"]);
    assert_code(p.close(h), ErrorCode::BadHandle);
}

#[test]
fn refused_targets_create_nothing() {
    let fx = Fixture::new();
    fs::create_dir(fx.root.join("d")).unwrap();
    let p = fx.provider();
    let outside = fx.outside().join("planted.txt");
    assert_code(
        p.open_replacement("../planted.txt"),
        ErrorCode::OutsideWorkspace,
    );
    assert_code(
        p.open_replacement(outside.to_str().unwrap()),
        ErrorCode::OutsideWorkspace,
    );
    assert_code(p.open_replacement("d"), ErrorCode::IsADirectory);
    assert_code(p.open_replacement("."), ErrorCode::InvalidArgument);
    assert_code(p.open_replacement("missing/f"), ErrorCode::NotFound);
    assert_eq!(names(&fx.root), ["d"]);
    assert_eq!(names(&fx.root.join("d")), Vec::<String>::new());
    assert_eq!(p.stats().open_handles, 0);
    fx.assert_outside_untouched();

    let ro = Provider::new(ProviderConfig::new(vec![
        RootConfig::new(&fx.root).read_only(true)
    ]))
    .unwrap();
    assert_code(ro.open_replacement("new.txt"), ErrorCode::ReadOnly);
    assert_eq!(names(&fx.root), ["d"]);
}

#[test]
fn commit_refuses_an_ordinary_handle_and_leaves_it_open() {
    let fx = Fixture::new();
    let p = fx.provider();
    let h = p.open("plain.txt", OpenFlags::create()).unwrap();
    assert_code(p.commit_replacement(h, true), ErrorCode::InvalidArgument);
    p.write_at(h, 0, b"still open").unwrap();
    p.close(h).unwrap();
    assert_eq!(fs::read(fx.root.join("plain.txt")).unwrap(), b"still open");
    assert_code(p.commit_replacement(h, true), ErrorCode::BadHandle);
}

#[test]
fn replacement_handles_count_against_the_handle_limit() {
    let fx = Fixture::new();
    let mut config = fx.config();
    config.max_open_handles = 2;
    let p = Provider::new(config).unwrap();
    let a = p.open("a.txt", OpenFlags::create()).unwrap();
    let b = p.open_replacement("b.txt").unwrap();
    assert_code(p.open_replacement("c.txt"), ErrorCode::TooManyHandles);
    assert_code(
        p.open("c.txt", OpenFlags::create()),
        ErrorCode::TooManyHandles,
    );
    p.commit_replacement(b, true).unwrap();
    let c = p.open_replacement("c.txt").unwrap();
    p.commit_replacement(c, true).unwrap();
    p.close(a).unwrap();
    assert_eq!(names(&fx.root), ["a.txt", "b.txt", "c.txt"]);
}

#[test]
fn a_symlink_is_replaced_through_like_write_file() {
    let fx = Fixture::new();
    fs::write(fx.root.join("target.txt"), b"old").unwrap();
    std::os::unix::fs::symlink("target.txt", fx.root.join("link")).unwrap();
    let p = fx.provider();
    let h = p.open_replacement("link").unwrap();
    p.write_at(h, 0, b"new").unwrap();
    p.commit_replacement(h, true).unwrap();
    assert!(fs::symlink_metadata(fx.root.join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(fx.root.join("target.txt")).unwrap(), b"new");
    assert_eq!(names(&fx.root), ["link", "target.txt"]);
}

#[test]
fn commit_drops_the_replaced_file_from_the_cache() {
    let fx = Fixture::new();
    fs::write(fx.root.join("c.bin"), pattern(100_000, 1)).unwrap();
    let p = fx.provider();
    drop(p.read_file_bytes("c.bin").unwrap());
    assert_eq!(p.stats().cache_bytes, 100_000);
    let h = p.open_replacement("c.bin").unwrap();
    p.write_at(h, 0, b"short").unwrap();
    p.commit_replacement(h, true).unwrap();
    assert_eq!(p.stats().cache_bytes, 0);
    assert_eq!(&*p.read_file("c.bin").unwrap(), b"short");
}
