//! The map cache: hits, invalidation (through the table and on disk), LRU eviction, budget.

mod common;

use std::fs;
use std::time::{Duration, SystemTime};

use common::{pattern, Fixture};
use deskless_fs::{OpenFlags, Provider};

fn provider_with_budget(fx: &Fixture, budget: u64) -> Provider {
    let mut cfg = fx.config();
    cfg.cache_budget_bytes = budget;
    cfg.cache_revalidate_after = Duration::ZERO;
    Provider::new(cfg).unwrap()
}

/// A provider whose handles check the file on every read (or trust a check for `after`).
fn provider_revalidating(fx: &Fixture, after: Duration) -> Provider {
    let mut cfg = fx.config();
    cfg.cache_revalidate_after = after;
    Provider::new(cfg).unwrap()
}

#[test]
fn read_only_handle_is_served_from_the_map() {
    let fx = Fixture::new();
    let data = pattern(100_000, 1);
    fs::write(fx.root.join("a"), &data).unwrap();
    let p = fx.provider();
    let h = p.open("a", OpenFlags::read()).unwrap();
    let first = p.read(h, 10, 1000).unwrap();
    assert!(first.is_mapped());
    assert_eq!(&*first, &data[10..1010]);
    let second = p.read(h, 50_000, 100_000).unwrap();
    assert!(second.is_mapped());
    assert_eq!(&*second, &data[50_000..]);
    let s = p.stats();
    assert_eq!((s.cache_misses, s.cache_hits), (1, 1));
    assert_eq!(s.cache_bytes, 100_000);

    // A second handle on the same file shares the entry (keyed by device and inode).
    let h2 = p.open("a", OpenFlags::read()).unwrap();
    p.read(h2, 0, 10).unwrap();
    assert_eq!(p.stats().cache_hits, 2);

    // Writable handles never use the cache.
    let rw = p
        .open(
            "a",
            OpenFlags {
                read: true,
                write: true,
                ..OpenFlags::default()
            },
        )
        .unwrap();
    assert!(!p.read(rw, 0, 10).unwrap().is_mapped());
    assert_eq!(p.stats().cache_hits, 2);
}

#[test]
fn write_through_the_table_invalidates() {
    let fx = Fixture::new();
    fs::write(fx.root.join("a"), pattern(8192, 1)).unwrap();
    // Even a handle that would trust its last check for an hour sees writes through the table.
    let p = provider_revalidating(&fx, Duration::from_secs(3600));
    let r = p.open("a", OpenFlags::read()).unwrap();
    assert_eq!(p.read(r, 0, 4).unwrap()[..], pattern(4, 1)[..]);
    let w = p.open("a", OpenFlags::write()).unwrap();
    p.write_at(w, 8190, b"WXYZ").unwrap(); // grows the file
    p.write_at(w, 0, b"abcd").unwrap(); // same size region
                                        // The reader waits for the accepted writes and sees both.
    assert_eq!(&*p.read(r, 0, 4).unwrap(), b"abcd");
    assert_eq!(&*p.read(r, 8190, 10).unwrap(), b"WXYZ");
    assert_eq!(p.len(r).unwrap(), 8194);
    let s = p.stats();
    assert!(s.cache_misses >= 2, "the entry was rebuilt: {s:?}");
    p.close(w).unwrap();
}

#[test]
fn change_on_disk_invalidates() {
    let fx = Fixture::new();
    let path = fx.root.join("a");
    fs::write(&path, b"0123456789").unwrap();
    let p = provider_revalidating(&fx, Duration::ZERO);
    let h = p.open("a", OpenFlags::read()).unwrap();
    assert_eq!(&*p.read(h, 0, 100).unwrap(), b"0123456789");
    // Grown by someone else: the size differs, the map is rebuilt.
    {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"abc").unwrap();
    }
    assert_eq!(&*p.read(h, 0, 100).unwrap(), b"0123456789abc");
    assert_eq!(p.stats().cache_misses, 2);
    // Same size, new mtime: rebuilt too.
    let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(3600))
        .unwrap();
    assert_eq!(&*p.read(h, 0, 100).unwrap(), b"0123456789abc");
    assert_eq!(p.stats().cache_misses, 3);
    assert_eq!(p.stats().cache_bytes, 13);
}

#[test]
fn least_recently_used_maps_are_evicted_within_the_budget() {
    let fx = Fixture::new();
    for name in ["a", "b", "c", "d"] {
        fs::write(fx.root.join(name), pattern(1000, name.as_bytes()[0])).unwrap();
    }
    fs::write(fx.root.join("big"), pattern(5000, 9)).unwrap();
    let p = provider_with_budget(&fx, 3000);
    let h: Vec<u64> = ["a", "b", "c", "d", "big"]
        .iter()
        .map(|n| p.open(n, OpenFlags::read()).unwrap())
        .collect();
    for &x in &h[..3] {
        p.read(x, 0, 1).unwrap();
    }
    assert_eq!(p.stats().cache_bytes, 3000);
    p.read(h[0], 0, 1).unwrap(); // a is now the most recently used; b the least
    p.read(h[3], 0, 1).unwrap(); // d evicts b
    let s = p.stats();
    assert_eq!(s.cache_evictions, 1);
    assert_eq!(s.cache_bytes, 3000);
    let before = p.stats();
    p.read(h[0], 0, 1).unwrap(); // a: hit
    p.read(h[2], 0, 1).unwrap(); // c: hit
    assert_eq!(p.stats().cache_hits, before.cache_hits + 2);
    p.read(h[1], 0, 1).unwrap(); // b: miss (it was evicted)
    assert_eq!(p.stats().cache_misses, before.cache_misses + 1);

    // Larger than the budget: never cached, served by pread.
    let r = p.read(h[4], 0, 5000).unwrap();
    assert!(!r.is_mapped());
    assert_eq!(&*r, &pattern(5000, 9)[..]);
    assert!(p.stats().cache_bytes <= 3000);
}

#[test]
fn zero_budget_disables_the_cache() {
    let fx = Fixture::new();
    fs::write(fx.root.join("a"), b"abc").unwrap();
    let p = provider_with_budget(&fx, 0);
    let h = p.open("a", OpenFlags::read()).unwrap();
    assert!(!p.read(h, 0, 3).unwrap().is_mapped());
    assert!(!p.read_file_bytes("a").unwrap().is_mapped());
    let s = p.stats();
    assert_eq!((s.cache_hits, s.cache_misses, s.cache_bytes), (0, 0, 0));
}

#[test]
fn read_file_uses_the_cache_and_sees_queued_writes() {
    let fx = Fixture::new();
    fs::write(fx.root.join("a"), b"old").unwrap();
    let p = fx.provider();
    let first = p.read_file_bytes("a").unwrap();
    assert!(first.is_mapped());
    assert_eq!(&*first, b"old");
    let w = p.open("a", OpenFlags::write()).unwrap();
    // Hold the disk: the write stays queued while the reader starts, so a reader that did not
    // wait for it would see "old".
    p.pause_write_behind(true);
    p.write_at(w, 3, b"-new").unwrap();
    assert_eq!(p.pending_bytes(w).unwrap(), 4);
    std::thread::scope(|s| {
        let reader = s.spawn(|| (p.read_file("a").unwrap(), p.metadata("a").unwrap().len));
        p.pause_write_behind(false);
        let (bytes, len) = reader.join().unwrap();
        assert_eq!(bytes, b"old-new");
        assert_eq!(len, 7);
    });
    p.close(w).unwrap();
}

#[test]
fn a_handle_trusts_its_last_check_briefly() {
    let fx = Fixture::new();
    fs::write(fx.root.join("a"), b"0123456789").unwrap();
    let p = provider_revalidating(&fx, Duration::from_secs(3600));
    let h = p.open("a", OpenFlags::read()).unwrap();
    assert_eq!(&*p.read(h, 0, 4).unwrap(), b"0123");
    // Grown behind the provider's back: within the revalidation interval the handle keeps its
    // map (the old length), a new handle checks and sees the new length.
    {
        use std::io::Write;
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(fx.root.join("a"))
            .unwrap();
        f.write_all(b"abc").unwrap();
    }
    assert_eq!(&*p.read(h, 0, 100).unwrap(), b"0123456789");
    let h2 = p.open("a", OpenFlags::read()).unwrap();
    assert_eq!(&*p.read(h2, 0, 100).unwrap(), b"0123456789abc");
    let s = p.stats();
    assert_eq!((s.cache_hits, s.cache_misses), (1, 2));
}

#[test]
fn a_handle_does_not_keep_an_evicted_map_alive() {
    let fx = Fixture::new();
    fs::write(fx.root.join("a"), pattern(1000, 1)).unwrap();
    fs::write(fx.root.join("b"), pattern(1000, 2)).unwrap();
    let mut cfg = fx.config();
    cfg.cache_budget_bytes = 1000;
    cfg.cache_revalidate_after = Duration::from_secs(3600);
    let p = Provider::new(cfg).unwrap();
    let (ha, hb) = (
        p.open("a", OpenFlags::read()).unwrap(),
        p.open("b", OpenFlags::read()).unwrap(),
    );
    drop(p.read(ha, 0, 1).unwrap());
    drop(p.read(hb, 0, 1).unwrap()); // evicts a
    assert_eq!(p.stats().cache_evictions, 1);
    // a's map is gone, although ha trusted its last check for an hour: a miss, not a hit.
    let before = p.stats();
    assert_eq!(&*p.read(ha, 0, 4).unwrap(), &pattern(4, 1)[..]);
    assert_eq!(p.stats().cache_misses, before.cache_misses + 1);
    assert_eq!(p.stats().cache_bytes, 1000);
}
