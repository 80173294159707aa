//! The workspace sandbox. Every case runs with both resolvers (openat2 and the component walk)
//! and asserts that nothing outside the root was read, written or created.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{assert_code, Fixture, SENTINEL};
use deskless_fs::{ErrorCode, OpenFlags, Provider, RootConfig, FALLBACK_RESOLVER};

const OUT: ErrorCode = ErrorCode::OutsideWorkspace;

/// Both resolvers over the same fixture.
fn providers(fx: &Fixture) -> Vec<Provider> {
    let native = fx.provider();
    assert!(native.uses_openat2(), "this kernel has openat2");
    assert!(native.stats().fallbacks.is_empty());
    let mut cfg = fx.config();
    cfg.force_fallback_resolver = true;
    let walk = Provider::new(cfg).unwrap();
    assert!(!walk.uses_openat2());
    assert_eq!(walk.stats().fallbacks, [FALLBACK_RESOLVER]);
    vec![native, walk]
}

fn write_flags() -> OpenFlags {
    OpenFlags {
        write: true,
        create: true,
        ..OpenFlags::default()
    }
}

/// Every operation on `path` is refused as outside the workspace.
#[track_caller]
fn refused_everywhere(p: &Provider, path: &str) {
    assert_code(p.open(path, OpenFlags::read()), OUT);
    assert_code(p.open(path, write_flags()), OUT);
    assert_code(p.open(path, OpenFlags::create()), OUT);
    assert_code(p.read_file(path), OUT);
    assert_code(p.write_file(path, b"pwned"), OUT);
    assert_code(p.metadata(path), OUT);
    assert_code(p.canonicalize(path), OUT);
    assert_code(p.set_readonly(path, true), OUT);
    assert_code(p.set_readonly(path, false), OUT);
}

#[test]
fn dotdot_escapes_are_refused() {
    let fx = Fixture::new();
    fs::create_dir(fx.root.join("a")).unwrap();
    for p in providers(&fx) {
        for path in [
            "../secret.txt",
            "a/../../secret.txt",
            "a/../a/../../secret.txt",
            "./../secret.txt",
        ] {
            refused_everywhere(&p, path);
            assert_code(p.symlink_metadata(path), OUT);
            assert_code(p.remove_file(path), OUT);
            assert_code(p.rename(path, "stolen"), OUT);
        }
        assert_code(p.read_dir(".."), OUT);
        assert_code(p.read_dir("a/../.."), OUT);
        assert_code(p.create_dir("../made", false), OUT);
        assert_code(p.create_dir("a/../../made/deeper", true), OUT);
        assert_code(p.write_file("../new.txt", b"x"), OUT);
        assert_code(p.open("../new.txt", OpenFlags::create()), OUT);
        assert_code(p.remove_dir("../ws", true), OUT);
        fs::write(fx.root.join("inside.txt"), b"in").unwrap();
        assert_code(p.rename("inside.txt", "../moved.txt"), OUT);
        // `..` that stays inside is fine.
        assert_eq!(&*p.read_file("a/../inside.txt").unwrap(), b"in");
        fx.assert_outside_untouched();
        fs::remove_file(fx.root.join("inside.txt")).unwrap();
    }
    fx.assert_outside_untouched();
}

#[test]
fn a_final_dotdot_that_leaves_the_root_is_outside() {
    let fx = Fixture::new();
    fs::create_dir(fx.root.join("a")).unwrap();
    fs::write(fx.root.join("inside.txt"), b"in").unwrap();
    for p in providers(&fx) {
        for path in ["..", "./..", "a/../..", "../../../..", "../"] {
            refused_everywhere(&p, path);
            assert_code(p.write_file(path, b"pwned"), OUT);
            assert_code(p.remove_file(path), OUT);
            assert_code(p.remove_dir(path, false), OUT);
            assert_code(p.remove_dir(path, true), OUT);
            assert_code(p.rename(path, "stolen"), OUT);
            assert_code(p.rename("inside.txt", path), OUT);
            assert_code(p.create_dir(path, false), OUT);
            assert_code(p.create_dir(path, true), OUT);
            assert_code(p.symlink_metadata(path), OUT);
            assert_code(p.read_dir(path), OUT);
        }
        // Paths that resolve to the root itself name no entry of their own: INVALID_ARGUMENT.
        for path in [".", "a/..", "./"] {
            assert_code(p.remove_file(path), ErrorCode::InvalidArgument);
            assert_code(p.remove_dir(path, true), ErrorCode::InvalidArgument);
            assert_code(p.write_file(path, b"x"), ErrorCode::InvalidArgument);
            assert_code(p.rename("inside.txt", path), ErrorCode::InvalidArgument);
            assert_code(p.create_dir(path, false), ErrorCode::AlreadyExists);
            p.create_dir(path, true).unwrap();
        }
        assert_eq!(fs::read(fx.root.join("inside.txt")).unwrap(), b"in");
        fx.assert_outside_untouched();
    }
    fx.assert_outside_untouched();
}

#[test]
fn absolute_paths_elsewhere_are_refused() {
    let fx = Fixture::new();
    // A sibling whose name starts with the root's name: a string prefix check would let it in.
    let sibling = fx.outside().join("ws2");
    fs::create_dir(&sibling).unwrap();
    fs::write(sibling.join("f"), b"sibling").unwrap();
    for p in providers(&fx) {
        refused_everywhere(&p, fx.sentinel.to_str().unwrap());
        refused_everywhere(&p, sibling.join("f").to_str().unwrap());
        refused_everywhere(&p, "/etc/passwd");
        let sneaky = format!("{}/../secret.txt", fx.root.display());
        refused_everywhere(&p, &sneaky);
        // Absolute paths inside the root work.
        let inside = fx.root.join("abs.txt");
        p.write_file(inside.to_str().unwrap(), b"ok").unwrap();
        assert_eq!(&*p.read_file(inside.to_str().unwrap()).unwrap(), b"ok");
        assert_eq!(
            p.canonicalize("abs.txt").unwrap(),
            fs::canonicalize(&inside).unwrap()
        );
    }
    assert_eq!(fs::read(sibling.join("f")).unwrap(), b"sibling");
    fs::remove_dir_all(&sibling).unwrap();
    fx.assert_outside_untouched();
}

#[test]
fn nul_bytes_are_refused() {
    let fx = Fixture::new();
    fs::write(fx.root.join("f"), b"x").unwrap();
    for p in providers(&fx) {
        refused_everywhere(&p, "f\0../../secret.txt");
        let err = p.read_file("f\0").unwrap_err();
        assert_eq!(err.code(), OUT);
        assert!(
            err.message().contains("outside the workspace roots"),
            "{err}"
        );
    }
    fx.assert_outside_untouched();
}

#[test]
fn symlinks_leading_outside_are_refused() {
    let fx = Fixture::new();
    symlink("../secret.txt", fx.root.join("rel")).unwrap();
    symlink(&fx.sentinel, fx.root.join("abs")).unwrap();
    symlink("..", fx.root.join("up")).unwrap();
    symlink(fx.outside(), fx.root.join("updir")).unwrap();
    fs::create_dir(fx.root.join("sub")).unwrap();
    symlink("../../secret.txt", fx.root.join("sub/deep")).unwrap();
    for p in providers(&fx) {
        for path in [
            "rel",
            "abs",
            "up/secret.txt",
            "updir/secret.txt",
            "sub/deep",
            "sub/../rel",
        ] {
            refused_everywhere(&p, path);
        }
        for dir in ["up", "updir"] {
            assert_code(p.read_dir(dir), OUT);
            assert_code(p.create_dir(&format!("{dir}/made"), false), OUT);
            assert_code(p.create_dir(&format!("{dir}/made/deeper"), true), OUT);
            assert_code(p.write_file(&format!("{dir}/new.txt"), b"x"), OUT);
            assert_code(p.remove_file(&format!("{dir}/secret.txt")), OUT);
            assert_code(p.rename(&format!("{dir}/secret.txt"), "stolen"), OUT);
            // Removing the link itself is fine and does not follow it... but keep it for the
            // next provider: a recursive removal of the link is refused as not a directory.
            assert_code(p.remove_dir(dir, true), ErrorCode::NotADirectory);
        }
        // The links themselves are inside: lstat works and reports a symlink.
        let m = p.symlink_metadata("rel").unwrap();
        assert_eq!(m.file_type, deskless_fs::FileType::Symlink);
        fx.assert_outside_untouched();
    }
    // Removing a link removes the link, not its target.
    let p = fx.provider();
    p.remove_file("rel").unwrap();
    p.remove_file("updir").unwrap();
    fx.assert_outside_untouched();
}

#[test]
fn symlinks_that_stay_inside_are_followed() {
    let fx = Fixture::new();
    fs::create_dir_all(fx.root.join("d/e")).unwrap();
    fs::write(fx.root.join("d/e/f.txt"), b"inside").unwrap();
    symlink("d/e/f.txt", fx.root.join("link")).unwrap();
    symlink("e", fx.root.join("d/e2")).unwrap();
    symlink("d", fx.root.join("dl")).unwrap();
    for p in providers(&fx) {
        assert_eq!(&*p.read_file("link").unwrap(), b"inside");
        assert_eq!(&*p.read_file("dl/e2/f.txt").unwrap(), b"inside");
        assert_eq!(p.metadata("link").unwrap().len, 6);
        let h = p.open("dl/e/f.txt", OpenFlags::read()).unwrap();
        assert_eq!(&*p.read(h, 0, 6).unwrap(), b"inside");
        p.close(h).unwrap();
        assert_eq!(
            p.canonicalize("dl/e2/f.txt").unwrap(),
            fs::canonicalize(fx.root.join("d/e/f.txt")).unwrap()
        );
        p.create_dir("dl/new/deeper", true).unwrap();
        assert!(fx.root.join("d/new/deeper").is_dir());
        fs::remove_dir_all(fx.root.join("d/new")).unwrap();
    }
    fx.assert_outside_untouched();
}

#[test]
fn a_symlink_swapped_in_after_a_check_is_refused() {
    // One thread keeps swapping `ws/x` between a real directory and a symlink to the outside
    // (atomically, with rename); the resolver must never return the outside file.
    let fx = Fixture::new();
    fs::create_dir(fx.root.join("real")).unwrap();
    fs::write(fx.root.join("real/secret.txt"), b"inside").unwrap();
    symlink("..", fx.root.join("evil")).unwrap();
    fs::rename(fx.root.join("real"), fx.root.join("x")).unwrap();
    for p in providers(&fx) {
        let stop = AtomicBool::new(false);
        let (mut inside, mut refused) = (0, 0);
        std::thread::scope(|s| {
            // Stops the swapper even when an assertion below fails (the scope joins it first).
            struct StopOnDrop<'a>(&'a AtomicBool);
            impl Drop for StopOnDrop<'_> {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::Relaxed);
                }
            }
            let _stop = StopOnDrop(&stop);
            s.spawn(|| {
                let (x, real, evil) = (
                    fx.root.join("x"),
                    fx.root.join("real"),
                    fx.root.join("evil"),
                );
                while !stop.load(Ordering::Relaxed) {
                    // x: real dir -> symlink to the outside -> real dir ...
                    fs::rename(&x, &real).unwrap();
                    fs::rename(&evil, &x).unwrap();
                    fs::rename(&x, &evil).unwrap();
                    fs::rename(&real, &x).unwrap();
                }
            });
            let allowed = |e: &deskless_fs::FsError| {
                assert!(
                    matches!(e.code(), ErrorCode::OutsideWorkspace | ErrorCode::NotFound),
                    "{e}"
                );
            };
            for _ in 0..3000 {
                match p.read_file("x/secret.txt") {
                    Ok(b) => {
                        assert_eq!(&*b, b"inside", "read the outside file");
                        inside += 1;
                    }
                    Err(e) => {
                        allowed(&e);
                        refused += 1;
                    }
                }
                match p.write_file("x/secret.txt", b"inside") {
                    Ok(()) => {}
                    Err(e) => allowed(&e),
                }
                assert_eq!(fs::read(&fx.sentinel).unwrap(), SENTINEL);
            }
        });
        assert!(inside + refused == 3000);
        fx.assert_outside_untouched();
    }
}

#[test]
fn read_only_roots_refuse_writes() {
    let fx = Fixture::new();
    fs::write(fx.root.join("f"), b"keep").unwrap();
    fs::create_dir(fx.root.join("d")).unwrap();
    let rw = fx.outside().join("ws").join("d");
    let p = Provider::new(deskless_fs::ProviderConfig::new(vec![RootConfig::new(
        &fx.root,
    )
    .read_only(true)
    .named("docs")]))
    .unwrap();
    let ro = ErrorCode::ReadOnly;
    assert_code(p.open("f", write_flags()), ro);
    assert_code(p.open("f", OpenFlags::create()), ro);
    assert_code(p.write_file("f", b"x"), ro);
    assert_code(p.write_file("new", b"x"), ro);
    assert_code(p.create_dir("d2", false), ro);
    assert_code(p.remove_file("f"), ro);
    assert_code(p.remove_dir("d", true), ro);
    assert_code(p.rename("f", "g"), ro);
    assert_code(p.set_readonly("f", true), ro);
    // Reads work.
    assert_eq!(&*p.read_file("f").unwrap(), b"keep");
    let h = p.open("f", OpenFlags::read()).unwrap();
    assert_eq!(p.len(h).unwrap(), 4);
    assert!(rw.is_dir());
    assert_eq!(fs::read(fx.root.join("f")).unwrap(), b"keep");
    let roots = p.roots();
    assert_eq!(roots.len(), 1);
    assert!(roots[0].read_only);
    assert_eq!(roots[0].name, "docs");
}

#[test]
fn several_roots() {
    let fx = Fixture::new();
    let second = tempfile::tempdir().unwrap();
    fs::write(second.path().join("s.txt"), b"second").unwrap();
    let p = Provider::new(deskless_fs::ProviderConfig::new(vec![
        RootConfig::new(&fx.root),
        RootConfig::new(second.path()).read_only(true),
    ]))
    .unwrap();
    let abs = second.path().join("s.txt");
    assert_eq!(&*p.read_file(abs.to_str().unwrap()).unwrap(), b"second");
    assert_code(
        p.write_file(abs.to_str().unwrap(), b"x"),
        ErrorCode::ReadOnly,
    );
    // Relative paths go to the first root.
    assert_code(p.read_file("s.txt"), ErrorCode::NotFound);
    p.write_file("first.txt", b"1").unwrap();
    assert!(fx.root.join("first.txt").exists());
    let names: Vec<_> = p.roots().into_iter().map(|r| r.name).collect();
    assert_eq!(names[0], "ws");
    assert_eq!(fs::read(&fx.sentinel).unwrap(), SENTINEL);
}
