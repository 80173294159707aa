//! Handle lifecycle, flags, limits and concurrent positional I/O.

mod common;

use std::sync::Arc;

use common::{assert_code, pattern, Fixture};
use deskless_fs::{ErrorCode, OpenFlags, Provider, ProviderConfig};

fn rw_create() -> OpenFlags {
    OpenFlags {
        read: true,
        write: true,
        create: true,
        ..OpenFlags::default()
    }
}

#[test]
fn lifecycle_and_bad_handle() {
    let fx = Fixture::new();
    let p = fx.provider();
    let h = p.open("a.bin", rw_create()).unwrap();
    assert_eq!(p.write_at(h, 0, b"hello world").unwrap(), 11);
    let mut buf = [0u8; 5];
    assert_eq!(p.read_at(h, 6, &mut buf).unwrap(), 5);
    assert_eq!(&buf, b"world");
    assert_eq!(p.len(h).unwrap(), 11);
    p.close(h).unwrap();

    assert_code(p.close(h), ErrorCode::BadHandle);
    assert_code(p.read_at(h, 0, &mut buf), ErrorCode::BadHandle);
    assert_code(p.read(h, 0, 4), ErrorCode::BadHandle);
    assert_code(p.write_at(h, 0, b"x"), ErrorCode::BadHandle);
    assert_code(p.append(h, b"x"), ErrorCode::BadHandle);
    assert_code(p.flush(h), ErrorCode::BadHandle);
    assert_code(p.len(h), ErrorCode::BadHandle);
    assert_code(p.flush(0), ErrorCode::BadHandle);
    assert_code(p.flush(u64::MAX), ErrorCode::BadHandle);

    // Never reused.
    let h2 = p.open("a.bin", OpenFlags::read()).unwrap();
    assert_ne!(h, h2);
    assert!(h2 > h);
    let s = p.stats();
    assert_eq!((s.opens, s.closes, s.open_handles), (2, 1, 1));
    assert_eq!(
        std::fs::read(fx.root.join("a.bin")).unwrap(),
        b"hello world"
    );
}

#[test]
fn flags_follow_open_options() {
    let fx = Fixture::new();
    let p = fx.provider();
    assert_code(p.open("missing", OpenFlags::read()), ErrorCode::NotFound);
    assert_code(
        p.open("x", OpenFlags::default()),
        ErrorCode::InvalidArgument,
    );
    let create_ro = OpenFlags {
        read: true,
        create: true,
        ..OpenFlags::default()
    };
    assert_code(p.open("x", create_ro), ErrorCode::InvalidArgument);

    let h = p.open("f", OpenFlags::create()).unwrap();
    p.write_at(h, 0, b"0123456789").unwrap();
    p.close(h).unwrap();

    let new = OpenFlags {
        write: true,
        create_new: true,
        ..OpenFlags::default()
    };
    assert_code(p.open("f", new), ErrorCode::AlreadyExists);

    // Read-only handle refuses writes; write-only handle refuses reads.
    let r = p.open("f", OpenFlags::read()).unwrap();
    assert_code(p.write_at(r, 0, b"x"), ErrorCode::ReadOnly);
    assert_code(p.append(r, b"x"), ErrorCode::ReadOnly);
    let w = p.open("f", OpenFlags::write()).unwrap();
    assert_code(p.read(w, 0, 1), ErrorCode::PermissionDenied);

    // Append handle: offsets ignored, append returns the offset written at.
    let a = p
        .open(
            "f",
            OpenFlags {
                read: true,
                append: true,
                ..OpenFlags::default()
            },
        )
        .unwrap();
    assert_eq!(p.append(a, b"AB").unwrap(), 10);
    p.write_at(a, 0, b"CD").unwrap();
    assert_eq!(p.append(a, b"EF").unwrap(), 14);
    assert_eq!(p.len(a).unwrap(), 16);
    assert_eq!(&*p.read(a, 0, 100).unwrap(), b"0123456789ABCDEF");

    // Truncate.
    let t = p
        .open(
            "f",
            OpenFlags {
                write: true,
                truncate: true,
                ..OpenFlags::default()
            },
        )
        .unwrap();
    assert_eq!(p.len(t).unwrap(), 0);
    for h in [r, w, a, t] {
        p.close(h).unwrap();
    }

    std::fs::create_dir(fx.root.join("dir")).unwrap();
    assert_code(p.open("dir", OpenFlags::read()), ErrorCode::IsADirectory);
}

#[test]
fn handle_limit_is_a_clear_error() {
    let fx = Fixture::new();
    std::fs::write(fx.root.join("f"), b"x").unwrap();
    let mut cfg = fx.config();
    cfg.max_open_handles = 3;
    let p = Provider::new(cfg).unwrap();
    let hs: Vec<u64> = (0..3)
        .map(|_| p.open("f", OpenFlags::read()).unwrap())
        .collect();
    let err = p.open("f", OpenFlags::read()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TooManyHandles);
    assert!(err.message().contains("limit 3"), "{err}");
    p.close(hs[0]).unwrap();
    let h = p.open("f", OpenFlags::read()).unwrap();
    assert!(!hs.contains(&h));
    assert_eq!(p.stats().open_handles, 3);
}

#[test]
fn concurrent_positional_reads_and_writes_on_one_handle() {
    const THREADS: usize = 8;
    const BLOCK: usize = 64 * 1024;
    const ROUNDS: usize = 16;
    let fx = Fixture::new();
    let mut cfg = fx.config();
    cfg.write_behind_bytes = 256 * 1024;
    let p = Arc::new(Provider::new(cfg).unwrap());
    let h = p.open("shared.bin", rw_create()).unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let p = Arc::clone(&p);
            s.spawn(move || {
                for r in 0..ROUNDS {
                    let block = r * THREADS + t;
                    let off = (block * BLOCK) as u64;
                    let data = pattern(BLOCK, block as u8);
                    p.write_at(h, off, &data).unwrap();
                    // A read after an accepted write sees it, even with the write still queued.
                    let mut back = vec![0u8; BLOCK];
                    assert_eq!(p.read_at(h, off, &mut back).unwrap(), BLOCK);
                    assert_eq!(back, data, "block {block}");
                }
            });
        }
    });
    p.flush(h).unwrap();
    let total = THREADS * ROUNDS * BLOCK;
    assert_eq!(p.len(h).unwrap(), total as u64);
    let all = p.read(h, 0, total).unwrap();
    for block in 0..THREADS * ROUNDS {
        assert_eq!(
            &all[block * BLOCK..(block + 1) * BLOCK],
            &pattern(BLOCK, block as u8)[..]
        );
    }
    p.close(h).unwrap();
    let s = p.stats();
    assert_eq!(s.bytes_written, total as u64);
}

#[test]
fn concurrent_reads_of_a_cached_file() {
    let fx = Fixture::new();
    let data = pattern(1 << 20, 7);
    std::fs::write(fx.root.join("r.bin"), &data).unwrap();
    let p = Arc::new(fx.provider());
    let h = p.open("r.bin", OpenFlags::read()).unwrap();
    std::thread::scope(|s| {
        for t in 0..4usize {
            let p = Arc::clone(&p);
            let data = &data;
            s.spawn(move || {
                for i in 0..256usize {
                    let off = ((i * 4099 + t * 977) % (data.len() - 4096)) as u64;
                    let mut buf = [0u8; 4096];
                    assert_eq!(p.read_at(h, off, &mut buf).unwrap(), 4096);
                    assert_eq!(&buf[..], &data[off as usize..off as usize + 4096]);
                }
            });
        }
    });
    let s = p.stats();
    assert_eq!(s.cache_hits + s.cache_misses, 1024);
    assert!(s.cache_hits >= 1020, "{s:?}");
}

#[test]
fn reads_are_short_only_at_end_of_file() {
    let fx = Fixture::new();
    std::fs::write(fx.root.join("s"), b"abc").unwrap();
    std::fs::write(fx.root.join("empty"), b"").unwrap();
    let mut cfg = ProviderConfig::new(fx.config().roots);
    cfg.cache_budget_bytes = 0;
    for p in [fx.provider(), Provider::new(cfg).unwrap()] {
        let h = p.open("s", OpenFlags::read()).unwrap();
        assert_eq!(&*p.read(h, 1, 100).unwrap(), b"bc");
        assert_eq!(p.read(h, 3, 100).unwrap().len(), 0);
        assert_eq!(p.read(h, 1000, 100).unwrap().len(), 0);
        let mut buf = [0u8; 8];
        assert_eq!(p.read_at(h, 0, &mut buf).unwrap(), 3);
        let e = p.open("empty", OpenFlags::read()).unwrap();
        assert_eq!(p.read(e, 0, 10).unwrap().len(), 0);
    }
}

#[test]
fn a_fifo_in_the_workspace_never_hangs() {
    let fx = Fixture::new();
    let fifo = std::ffi::CString::new(fx.root.join("pipe").to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let p = fx.provider();
    let h = p.open("pipe", OpenFlags::read()).unwrap();
    // Nothing to read and no writer: an empty read or an error, never a hang.
    if let Ok(b) = p.read(h, 0, 10) {
        assert!(b.is_empty());
    }
    p.close(h).unwrap();
    if let Ok(b) = p.read_file("pipe") {
        assert!(b.is_empty());
    }
}
