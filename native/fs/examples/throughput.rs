//! Quick cargo-level throughput check of the provider against plain std I/O on the same files:
//! `cargo run --release -p deskless-fs --example throughput [MiB] [chunk KiB]`.
//! (The full benchmark against Node's fs is `npm run bench:fs`.)

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use deskless_fs::{OpenFlags, Provider, ProviderConfig, RootConfig};

fn gbps(bytes: usize, secs: f64) -> String {
    format!("{:.2} GB/s", bytes as f64 / secs / 1e9)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().map_or(1024, |a| a.parse().expect("MiB"));
    let chunk: usize = args.next().map_or(1024, |a| a.parse().expect("chunk KiB")) * 1024;
    let size = mib << 20;
    let dir = tempfile::tempdir_in(std::env::temp_dir()).expect("tempdir");
    let mut cfg = ProviderConfig::new(vec![RootConfig::new(dir.path())]);
    cfg.cache_budget_bytes = 2 * size as u64;
    let p = Provider::new(cfg).expect("provider");
    let data = vec![0x5au8; chunk];

    for round in 0..3 {
        let t = Instant::now();
        let f = File::create(dir.path().join("std.bin")).unwrap();
        for off in (0..size).step_by(chunk) {
            f.write_all_at(&data, off as u64).unwrap();
        }
        drop(f);
        let std_w = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let h = p.open("ours.bin", OpenFlags::create()).unwrap();
        for off in (0..size).step_by(chunk) {
            p.write_at(h, off as u64, &data).unwrap();
        }
        p.close(h).unwrap();
        let ours_w = t.elapsed().as_secs_f64();

        let mut buf = vec![0u8; chunk];
        let t = Instant::now();
        let f = File::open(dir.path().join("std.bin")).unwrap();
        for off in (0..size).step_by(chunk) {
            f.read_exact_at(&mut buf, off as u64).unwrap();
        }
        let std_r = t.elapsed().as_secs_f64();

        let h = p.open("std.bin", OpenFlags::read()).unwrap();
        let t = Instant::now();
        for off in (0..size).step_by(chunk) {
            p.read_at(h, off as u64, &mut buf).unwrap();
        }
        let ours_r = t.elapsed().as_secs_f64();
        p.close(h).unwrap();

        println!(
            "round {round}: write std {} ours {} ({:.2}x) | read std {} ours(mmap) {} ({:.2}x) | waits {}",
            gbps(size, std_w),
            gbps(size, ours_w),
            std_w / ours_w,
            gbps(size, std_r),
            gbps(size, ours_r),
            std_r / ours_r,
            p.stats().write_behind_waits
        );
    }
}
