//! A map that fails falls back to plain `pread` and records the fallback once. The failure is
//! real: a child process (this test binary, re-run) lowers its address-space limit so that
//! mapping a 256 MiB file fails with ENOMEM while `pread` still works.

use std::process::Command;

use deskless_fs::{OpenFlags, Provider, ProviderConfig, RootConfig, FALLBACK_MMAP};

const CHILD: &str = "DESKLESS_FS_MMAP_FALLBACK_CHILD";

#[test]
fn a_failed_map_falls_back_to_pread() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_failed_map_falls_back_to_pread",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child checked the fallback"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn vm_size() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

fn child() {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    f.set_len(256 << 20).unwrap(); // sparse
    f.write_all_at_end(b"tail");
    drop(f);
    let p = Provider::new(ProviderConfig::new(vec![RootConfig::new(dir.path())])).unwrap();
    // Get the provider's runtime threads running first: a thread that starts while the limit
    // is low cannot allocate its signal stack and aborts the process.
    let w = p.open("warm-up", OpenFlags::create()).unwrap();
    p.write_at(w, 0, b"x").unwrap();
    p.flush(w).unwrap();
    p.close(w).unwrap();
    let h = p.open("big.bin", OpenFlags::read()).unwrap();
    // From here on, no room for a 256 MiB map (only the soft limit, restored afterwards).
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut old) }, 0);
    let low = libc::rlimit {
        rlim_cur: vm_size() + (64 << 20),
        rlim_max: old.rlim_max,
    };
    // SAFETY: valid rlimits.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &low) }, 0);
    let reads: Vec<_> = (0..3).map(|_| p.read(h, (256 << 20) - 4, 100)).collect();
    // SAFETY: valid rlimits.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &old) }, 0);
    for b in reads {
        let b = b.unwrap();
        assert!(!b.is_mapped());
        assert_eq!(&*b, b"tail");
    }
    let s = p.stats();
    assert_eq!(s.fallbacks, [FALLBACK_MMAP]);
    assert_eq!(
        s.cache_misses, 1,
        "the handle stops trying after the first failure"
    );
    println!("child checked the fallback");
}

trait WriteAtEnd {
    fn write_all_at_end(&self, data: &[u8]);
}

impl WriteAtEnd for std::fs::File {
    fn write_all_at_end(&self, data: &[u8]) {
        use std::os::unix::fs::FileExt;
        let len = self.metadata().unwrap().len();
        self.write_all_at(data, len - data.len() as u64).unwrap();
    }
}
