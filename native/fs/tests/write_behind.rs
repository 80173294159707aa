//! Write-behind: order, coalescing, the bound, and visibility of queued writes.

mod common;

use std::sync::mpsc;
use std::sync::Arc;

use common::{pattern, Fixture};
use deskless_fs::{OpenFlags, Provider};

fn provider(fx: &Fixture, bound: usize) -> Arc<Provider> {
    let mut cfg = fx.config();
    cfg.write_behind_bytes = bound;
    Arc::new(Provider::new(cfg).unwrap())
}

#[test]
fn queued_writes_land_in_order() {
    let fx = Fixture::new();
    let p = provider(&fx, 1 << 20);
    let h = p.open("o", OpenFlags::create()).unwrap();
    p.pause_write_behind(true);
    // Overlapping writes: the last accepted one wins.
    for i in 0..200u8 {
        p.write_at(h, (i as u64 % 7) * 3, &[i; 10]).unwrap();
    }
    // Contiguous writes are coalesced into one chunk.
    for i in 0..100u64 {
        p.write_at(h, 1000 + i * 10, &[b'a' + (i % 26) as u8; 10])
            .unwrap();
    }
    assert!(p.pending_bytes(h).unwrap() > 0);
    assert_eq!(p.len(h).unwrap(), 2000, "len includes queued writes");
    assert_eq!(
        std::fs::metadata(fx.root.join("o")).unwrap().len(),
        0,
        "nothing written yet"
    );
    p.pause_write_behind(false);
    p.flush(h).unwrap();
    assert_eq!(p.pending_bytes(h).unwrap(), 0);

    let mut expect = vec![0u8; 2000];
    for i in 0..200u8 {
        let off = (i as usize % 7) * 3;
        expect[off..off + 10].fill(i);
    }
    for i in 0..100usize {
        expect[1000 + i * 10..1010 + i * 10].fill(b'a' + (i % 26) as u8);
    }
    assert_eq!(std::fs::read(fx.root.join("o")).unwrap(), expect);
    p.close(h).unwrap();
}

#[test]
fn a_writer_faster_than_the_disk_waits_at_the_bound() {
    const BOUND: usize = 64 * 1024;
    let fx = Fixture::new();
    let p = provider(&fx, BOUND);
    let h = p.open("b", OpenFlags::create()).unwrap();
    p.pause_write_behind(true);
    // Fill the buffer exactly: no wait yet.
    for i in 0..16u64 {
        p.write_at(h, i * 4096, &pattern(4096, i as u8)).unwrap();
    }
    assert_eq!(p.pending_bytes(h).unwrap(), BOUND);
    assert_eq!(p.stats().write_behind_waits, 0);

    // One more write must wait for the disk.
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::scope(|s| {
        let p2 = Arc::clone(&p);
        s.spawn(move || {
            p2.write_at(h, 16 * 4096, &pattern(4096, 16)).unwrap();
            done_tx.send(()).unwrap();
        });
        // Spin (no sleep) until the writer is counted as waiting.
        while p.stats().write_behind_waits == 0 {
            std::thread::yield_now();
        }
        assert!(
            done_rx.try_recv().is_err(),
            "the writer returned while the buffer was full"
        );
        assert_eq!(
            p.pending_bytes(h).unwrap(),
            BOUND,
            "memory stays at the bound"
        );
        p.pause_write_behind(false);
        done_rx.recv().unwrap();
    });
    p.close(h).unwrap();
    assert_eq!(p.stats().write_behind_waits, 1);
    let got = std::fs::read(fx.root.join("b")).unwrap();
    assert_eq!(got.len(), 17 * 4096);
    for i in 0..17usize {
        assert_eq!(&got[i * 4096..(i + 1) * 4096], &pattern(4096, i as u8)[..]);
    }
}

#[test]
fn a_write_larger_than_the_bound_is_split_and_bounded() {
    const BOUND: usize = 16 * 1024;
    let fx = Fixture::new();
    let p = provider(&fx, BOUND);
    let h = p.open("big", OpenFlags::create()).unwrap();
    let data = pattern(1 << 20, 3);
    p.write_at(h, 0, &data).unwrap();
    assert!(p.pending_bytes(h).unwrap() <= BOUND);
    p.close(h).unwrap();
    assert_eq!(std::fs::read(fx.root.join("big")).unwrap(), data);
}

#[test]
fn concurrent_appends_never_overlap() {
    let fx = Fixture::new();
    let p = provider(&fx, 8 * 1024);
    let h = p
        .open(
            "log",
            OpenFlags {
                read: true,
                append: true,
                create: true,
                ..OpenFlags::default()
            },
        )
        .unwrap();
    let offsets: Vec<Vec<u64>> = std::thread::scope(|s| {
        let joins: Vec<_> = (0..4u8)
            .map(|t| {
                let p = Arc::clone(&p);
                s.spawn(move || {
                    (0..200)
                        .map(|_| p.append(h, &[b'a' + t; 100]).unwrap())
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        joins.into_iter().map(|j| j.join().unwrap()).collect()
    });
    p.flush(h).unwrap();
    let mut all: Vec<(u64, u8)> = offsets
        .iter()
        .enumerate()
        .flat_map(|(t, v)| v.iter().map(move |&o| (o, b'a' + t as u8)))
        .collect();
    all.sort();
    for (i, (off, _)) in all.iter().enumerate() {
        assert_eq!(*off, i as u64 * 100, "appends are contiguous and disjoint");
    }
    let file = p.read(h, 0, 80_000).unwrap();
    assert_eq!(file.len(), 80_000);
    for (off, byte) in all {
        assert!(file[off as usize..off as usize + 100]
            .iter()
            .all(|&b| b == byte));
    }
    p.close(h).unwrap();
}

#[test]
fn a_reader_on_another_handle_sees_accepted_writes() {
    let fx = Fixture::new();
    std::fs::write(fx.root.join("f"), vec![0u8; 4096]).unwrap();
    let p = provider(&fx, 1 << 20);
    let r = p.open("f", OpenFlags::read()).unwrap();
    assert_eq!(p.read(r, 0, 4).unwrap()[..], [0, 0, 0, 0]);
    let w = p.open("f", OpenFlags::write()).unwrap();
    p.pause_write_behind(true);
    p.write_at(w, 0, b"1234").unwrap();
    std::thread::scope(|s| {
        let reader = s.spawn(|| p.read(r, 0, 4).unwrap().into_vec());
        p.pause_write_behind(false);
        assert_eq!(reader.join().unwrap(), b"1234");
    });
    p.close(w).unwrap();
}

#[test]
fn dropping_the_provider_drains_open_handles() {
    let fx = Fixture::new();
    let p = provider(&fx, 1 << 20);
    let h = p.open("d", OpenFlags::create()).unwrap();
    p.write_at(h, 0, b"drained on drop").unwrap();
    drop(p);
    assert_eq!(
        std::fs::read(fx.root.join("d")).unwrap(),
        b"drained on drop"
    );
}

#[test]
fn at_the_bound_an_overlapping_write_waits_for_the_queued_one() {
    const BOUND: usize = 64 * 1024;
    let fx = Fixture::new();
    let p = provider(&fx, BOUND);
    let h = p.open("ov", OpenFlags::create()).unwrap();
    p.pause_write_behind(true);
    for i in 0..16u64 {
        p.write_at(h, i * 4096, &[b'a'; 4096]).unwrap();
    }
    assert_eq!(p.pending_bytes(h).unwrap(), BOUND);
    std::thread::scope(|s| {
        let p2 = Arc::clone(&p);
        // Overlaps queued bytes: must not overtake them, so it waits for space.
        let w = s.spawn(move || p2.write_at(h, 4096, &[b'b'; 8192]).unwrap());
        while p.stats().write_behind_waits == 0 {
            std::thread::yield_now();
        }
        p.pause_write_behind(false);
        w.join().unwrap();
    });
    p.close(h).unwrap();
    let got = std::fs::read(fx.root.join("ov")).unwrap();
    assert_eq!(got.len(), 16 * 4096);
    assert!(got[..4096].iter().all(|&b| b == b'a'));
    assert!(
        got[4096..3 * 4096].iter().all(|&b| b == b'b'),
        "the later write lands last"
    );
    assert!(got[3 * 4096..].iter().all(|&b| b == b'a'));
}

#[test]
fn a_large_write_into_an_empty_queue_lands_before_it_returns() {
    let fx = Fixture::new();
    let p = provider(&fx, 16 << 20);
    let h = p.open("through", OpenFlags::create()).unwrap();
    let big = pattern(2 << 20, 5);
    p.write_at(h, 0, &big).unwrap();
    assert_eq!(p.pending_bytes(h).unwrap(), 0, "nothing was queued");
    assert_eq!(std::fs::read(fx.root.join("through")).unwrap(), big);
    assert_eq!(p.stats().bytes_written, big.len() as u64);
    p.close(h).unwrap();
}

#[test]
fn a_large_write_behind_queued_ones_is_queued_in_order() {
    let fx = Fixture::new();
    let p = provider(&fx, 16 << 20);
    let h = p.open("ordered", OpenFlags::create()).unwrap();
    p.pause_write_behind(true);
    p.write_at(h, 0, &[b'a'; 4096]).unwrap();
    // Overlaps the queued write and must land after it.
    let big = pattern(2 << 20, 6);
    p.write_at(h, 0, &big).unwrap();
    assert_eq!(p.pending_bytes(h).unwrap(), 4096 + big.len());
    p.pause_write_behind(false);
    p.close(h).unwrap();
    assert_eq!(std::fs::read(fx.root.join("ordered")).unwrap(), big);
}
