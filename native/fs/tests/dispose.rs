//! `Provider::dispose`: flushes and closes every handle, lets go of the roots, the cached maps and
//! the runtime at once, and fails every later operation (from any holder of the provider) with
//! DISPOSED.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;

use common::{assert_code, names, pattern, Fixture};
use deskless_fs::{ErrorCode, OpenFlags, Provider};

const GONE: ErrorCode = ErrorCode::Disposed;

/// Descriptors of this process that refer to `dir` or anything beneath it (maps included).
fn held_beneath(dir: &Path) -> Vec<String> {
    let dir = fs::canonicalize(dir).unwrap();
    let mut held = Vec::new();
    for e in fs::read_dir("/proc/self/fd").unwrap().flatten() {
        if let Ok(target) = fs::read_link(e.path()) {
            if target.starts_with(&dir) {
                held.push(format!("fd {:?} -> {}", e.file_name(), target.display()));
            }
        }
    }
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    for line in maps.lines() {
        if line.contains(dir.to_str().unwrap()) {
            held.push(format!("map {line}"));
        }
    }
    held
}

#[test]
fn dispose_flushes_closes_and_releases_everything() {
    let fx = Fixture::new();
    let data = pattern(3 << 20, 7);
    fs::write(fx.root.join("cached.bin"), &data).unwrap();
    let p = Arc::new(fx.provider());
    // An engine session holds the provider like this (FileProvider::inner()).
    let other_holder = Arc::clone(&p);

    let r = p.open("cached.bin", OpenFlags::read()).unwrap();
    assert!(p.read(r, 0, 1 << 20).unwrap().is_mapped());
    drop(p.read_file_bytes("cached.bin").unwrap());
    let w = p
        .open(
            "written.bin",
            OpenFlags {
                write: true,
                create: true,
                ..OpenFlags::default()
            },
        )
        .unwrap();
    // Queued, not yet written: dispose must flush it. (Written in 64 KiB pieces: one write of
    // 1 MiB or more into an empty queue would go straight to the kernel.)
    p.pause_write_behind(true);
    for (i, piece) in data.chunks(64 << 10).enumerate() {
        p.write_at(w, (i * (64 << 10)) as u64, piece).unwrap();
    }
    assert!(p.pending_bytes(w).unwrap() > 0);
    assert!(!held_beneath(&fx.root).is_empty());

    p.dispose().unwrap();

    assert_eq!(fs::read(fx.root.join("written.bin")).unwrap(), data);
    assert_eq!(held_beneath(&fx.root), Vec::<String>::new());
    let stats = p.stats();
    assert_eq!(stats.open_handles, 0);
    assert_eq!(stats.closes, 2);
    assert_eq!(stats.cache_bytes, 0);
    assert_eq!(p.roots().len(), 1);
    assert!(p.is_disposed());
    // A second dispose does nothing.
    p.dispose().unwrap();

    for q in [&p, &other_holder] {
        assert_code(q.read(r, 0, 1), GONE);
        assert_code(q.read_at(r, 0, &mut [0u8; 4]), GONE);
        assert_code(q.write_at(w, 0, b"x"), GONE);
        assert_code(q.append(w, b"x"), GONE);
        assert_code(q.flush(w), GONE);
        assert_code(q.len(w), GONE);
        assert_code(q.close(r), GONE);
        assert_code(q.open("cached.bin", OpenFlags::read()), GONE);
        assert_code(q.read_file("cached.bin"), GONE);
        assert_code(q.read_file_bytes("cached.bin"), GONE);
        assert_code(q.write_file("new.bin", b"x"), GONE);
        assert_code(q.metadata("cached.bin"), GONE);
        assert_code(q.symlink_metadata("cached.bin"), GONE);
        assert_code(q.read_dir("."), GONE);
        assert_code(q.create_dir("d", false), GONE);
        assert_code(q.remove_file("cached.bin"), GONE);
        assert_code(q.remove_dir("d", true), GONE);
        assert_code(q.rename("cached.bin", "moved.bin"), GONE);
        assert_code(q.set_readonly("cached.bin", true), GONE);
        assert_code(q.canonicalize("cached.bin"), GONE);
    }
    assert_eq!(
        names(&fx.root),
        ["cached.bin".to_string(), "written.bin".to_string()]
    );
    let err = p.open("cached.bin", OpenFlags::read()).unwrap_err();
    assert_eq!(err.code().as_str(), "DISPOSED");
    drop(other_holder);
    fx.assert_outside_untouched();
}

#[test]
fn dispose_waits_for_running_operations_on_other_threads() {
    let fx = Fixture::new();
    let p = Arc::new(fx.provider());
    let (first_done, first_written) = std::sync::mpsc::channel();
    let writer = {
        let p = Arc::clone(&p);
        std::thread::spawn(move || {
            let mut written = 0;
            for i in 0..2000 {
                match p.write_file(&format!("f{}", i % 8), &pattern(4096, i as u8)) {
                    Ok(()) => written += 1,
                    Err(e) => {
                        assert_eq!(e.code(), GONE, "{e}");
                        break;
                    }
                }
                if written == 1 {
                    let _ = first_done.send(());
                }
            }
            written
        })
    };
    // Dispose while the writer is mid-stream: after its first write, not after a guessed delay.
    first_written.recv().unwrap();
    p.dispose().unwrap();
    let written = writer.join().unwrap();
    assert!(written > 0);
    assert_eq!(held_beneath(&fx.root), Vec::<String>::new());
    // No temporary file was left behind by a write cut short.
    assert!(names(&fx.root).iter().all(|n| !n.ends_with(".tmp")));
    fx.assert_outside_untouched();
}

#[test]
fn dropping_a_disposed_provider_is_fine() {
    let fx = Fixture::new();
    let p: Provider = fx.provider();
    p.dispose().unwrap();
    drop(p);
}
