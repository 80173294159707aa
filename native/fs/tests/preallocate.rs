//! Extents reserved ahead of writers: invisible in the length, given back at the last close,
//! never filling a hole. Runs in the temp dir, which is ext4 on this machine kind.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::{pattern, Fixture};
use deskless_fs::{OpenFlags, Provider};

const MIB: u64 = 1 << 20;

fn allocated(path: &Path) -> u64 {
    fs::metadata(path).unwrap().blocks() * 512
}

fn on_ext4_or_xfs(path: &Path) -> bool {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: valid path and out pointer.
    assert_eq!(unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) }, 0);
    // SAFETY: statfs succeeded.
    #[allow(clippy::unnecessary_cast)]
    let kind = unsafe { st.assume_init() }.f_type as i64;
    kind == 0xEF53 || kind == 0x5846_5342
}

fn fixture() -> (Fixture, Provider) {
    let fx = Fixture::new();
    assert!(
        on_ext4_or_xfs(&fx.root),
        "these tests need the temp dir on ext4 or xfs (set TMPDIR)"
    );
    let p = fx.provider();
    (fx, p)
}

#[test]
fn sequential_writes_reserve_ahead_invisibly_and_give_it_back_at_close() {
    let (fx, p) = fixture();
    let path = fx.root.join("seq.bin");
    let h = p.open("seq.bin", OpenFlags::create()).unwrap();
    let chunk = pattern(MIB as usize, 9);
    for i in 0..3 {
        p.write_at(h, i * MIB, &chunk).unwrap();
    }
    p.flush(h).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        3 * MIB,
        "the length is exact"
    );
    assert!(
        allocated(&path) >= 3 * MIB + 32 * MIB,
        "extents reserved past the end: {} bytes allocated",
        allocated(&path)
    );
    p.close(h).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), 3 * MIB);
    assert!(
        allocated(&path) <= 3 * MIB + 64 * 1024,
        "the reservation is given back at close: {} bytes allocated",
        allocated(&path)
    );
    assert_eq!(fs::read(&path).unwrap(), chunk.repeat(3));
    assert!(p.stats().fallbacks.is_empty());
}

#[test]
fn a_write_past_the_end_leaves_a_hole() {
    let (fx, p) = fixture();
    let path = fx.root.join("sparse.bin");
    let h = p.open("sparse.bin", OpenFlags::create()).unwrap();
    p.write_at(h, 0, &pattern(MIB as usize, 1)).unwrap();
    p.write_at(h, 200 * MIB, b"tail").unwrap();
    p.close(h).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), 200 * MIB + 4);
    assert!(
        allocated(&path) <= MIB + 128 * 1024,
        "the gap stays a hole: {} bytes allocated",
        allocated(&path)
    );
}

#[test]
fn the_last_writer_to_close_gives_the_reservation_back() {
    let (fx, p) = fixture();
    let path = fx.root.join("two.bin");
    let a = p.open("two.bin", OpenFlags::create()).unwrap();
    let b = p.open("two.bin", OpenFlags::write()).unwrap();
    p.write_at(a, 0, &pattern(2 * MIB as usize, 2)).unwrap();
    p.write_at(b, 2 * MIB, &pattern(2 * MIB as usize, 3))
        .unwrap();
    p.close(a).unwrap();
    assert!(
        allocated(&path) > 4 * MIB + MIB,
        "still reserved while a writer is open"
    );
    p.write_at(b, 4 * MIB, b"end").unwrap();
    p.close(b).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), 4 * MIB + 3);
    assert!(allocated(&path) <= 4 * MIB + 64 * 1024);
}

#[test]
fn write_file_reserves_exactly_its_length() {
    let (fx, p) = fixture();
    let data = pattern(5 * MIB as usize + 123, 4);
    p.write_file("whole.bin", &data).unwrap();
    let path = fx.root.join("whole.bin");
    assert_eq!(fs::read(&path).unwrap(), data);
    assert!(allocated(&path) <= data.len() as u64 + 64 * 1024);
}
