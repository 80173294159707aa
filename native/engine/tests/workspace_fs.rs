//! `WorkspaceFs`, RunMat's `FsProvider` over the core provider, driven the way RunMat drives it:
//! files through the buffered cursor, whole-path operations, confinement to the roots, and a
//! write that fails at close.

use std::ffi::{CString, OsStr};
use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use deskless_engine::WorkspaceFs;
use deskless_fs::{ErrorCode, FsError, Provider, ProviderConfig, RootConfig};
use futures::executor::block_on;
use runmat_filesystem::{FsFileType, FsProvider, OpenFlags};

/// The size of a file's write buffer and read-ahead (`BUFFER_BYTES` in workspace_fs.rs).
const MIB: usize = 1 << 20;

const SECRET: &[u8] = b"outside the workspace";

/// A new directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "deskless-engine-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        fs::create_dir(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A workspace root `ws` inside a temporary directory, with `secret.txt` beside it.
struct Workspace {
    dir: TempDir,
    root: PathBuf,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = TempDir::new();
        // Canonical, so the host paths the provider reports compare equal.
        let root = dir.path().canonicalize().unwrap().join("ws");
        fs::create_dir(&root).unwrap();
        fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
        Workspace { dir, root }
    }

    fn fs(&self) -> WorkspaceFs {
        fs_over(RootConfig::new(&self.root), self.root.clone())
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn secret(&self) -> PathBuf {
        self.dir.path().join("secret.txt")
    }
}

fn fs_over(root: RootConfig, cwd: PathBuf) -> WorkspaceFs {
    let provider = Provider::new(ProviderConfig::new(vec![root])).unwrap();
    WorkspaceFs::new(Arc::new(provider), cwd)
}

/// The flags RunMat's `fopen` passes for a permission ("r", "w+", "a", ...).
fn mode(permission: &str) -> OpenFlags {
    let plus = permission.ends_with('+');
    let mut flags = OpenFlags {
        read: plus,
        write: plus,
        ..OpenFlags::default()
    };
    match &permission[..1] {
        "r" => flags.read = true,
        "w" => {
            flags.write = true;
            flags.create = true;
            flags.truncate = true;
        }
        "a" => {
            flags.write = true;
            flags.create = true;
            flags.append = true;
        }
        other => panic!("no fopen permission {other:?}"),
    }
    flags
}

/// The core's code inside an `io::Error` from the provider.
#[track_caller]
fn code_of(err: &io::Error) -> ErrorCode {
    match err.get_ref().and_then(|e| e.downcast_ref::<FsError>()) {
        Some(fs_err) => fs_err.code(),
        None => panic!("no FsError inside {err:?}"),
    }
}

/// Asserts `result` failed with the core's `code` and returns the error.
#[track_caller]
fn assert_code<T>(result: io::Result<T>, code: ErrorCode) -> io::Error {
    match result {
        Ok(_) => panic!("expected {code}, got Ok"),
        Err(err) => {
            assert_eq!(code_of(&err), code, "{err}");
            err
        }
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32) as u8)
        .collect()
}

#[test]
fn small_writes_across_the_write_buffer_land_on_disk_after_drop() {
    let ws = Workspace::new();
    let wfs = ws.fs();
    let data = pattern(3 * MIB + 1234, 7);
    let mut file = wfs.open(&ws.path("out.bin"), &mode("w")).unwrap();
    // 333 bytes a piece, as fwrite hands them over: the buffer fills and drains several times.
    for piece in data.chunks(333) {
        file.write_all(piece).unwrap();
    }
    drop(file);
    assert_eq!(fs::read(ws.path("out.bin")).unwrap(), data);
    assert!(wfs.lost_writes().take().is_empty());
}

#[test]
fn flush_puts_buffered_bytes_on_disk_while_the_file_stays_open() {
    let ws = Workspace::new();
    let wfs = ws.fs();
    let path = ws.path("log.txt");
    let mut file = wfs.open(&path, &mode("w")).unwrap();
    file.write_all(b"first line\n").unwrap();
    file.flush().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"first line\n");
    assert_eq!(block_on(wfs.metadata(&path)).unwrap().len(), 11);
    assert_eq!(block_on(file.metadata_async()).unwrap().len(), 11);
}

#[test]
fn seeking_back_overwrites_in_place() {
    let ws = Workspace::new();
    let wfs = ws.fs();
    let mut file = wfs.open(&ws.path("greeting.txt"), &mode("w")).unwrap();
    file.write_all(b"hello world").unwrap();
    assert_eq!(file.seek(SeekFrom::Start(6)).unwrap(), 6);
    file.write_all(b"WORLD").unwrap();
    assert_eq!(file.seek(SeekFrom::Current(-11)).unwrap(), 0);
    file.write_all(b"J").unwrap();
    drop(file);
    assert_eq!(fs::read(ws.path("greeting.txt")).unwrap(), b"Jello WORLD");
}

#[test]
fn seek_from_end_counts_the_bytes_still_in_the_write_buffer() {
    let ws = Workspace::new();
    let wfs = ws.fs();
    let mut file = wfs.open(&ws.path("end.txt"), &mode("w")).unwrap();
    file.write_all(&[b'a'; 100]).unwrap();
    assert_eq!(file.seek(SeekFrom::End(0)).unwrap(), 100);
    file.write_all(b"tail").unwrap();
    assert_eq!(file.seek(SeekFrom::End(-2)).unwrap(), 102);
    file.write_all(b"TT").unwrap();
    // A seek before the start fails and leaves the cursor where it was.
    let err = file.seek(SeekFrom::End(-1000)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(file.stream_position().unwrap(), 104);
    drop(file);
    let mut expected = vec![b'a'; 100];
    expected.extend_from_slice(b"taTT");
    assert_eq!(fs::read(ws.path("end.txt")).unwrap(), expected);
}

#[test]
fn reads_on_the_same_handle_see_its_writes() {
    let ws = Workspace::new();
    let wfs = ws.fs();
    let path = ws.path("digits.txt");
    fs::write(&path, b"0123456789").unwrap();
    let mut file = wfs.open(&path, &mode("r+")).unwrap();
    let mut two = [0u8; 2];
    file.read_exact(&mut two).unwrap();
    assert_eq!(&two, b"01");
    // Overwrite bytes the first read already read ahead.
    file.seek(SeekFrom::Start(3)).unwrap();
    file.write_all(b"ab").unwrap();
    file.read_exact(&mut two).unwrap();
    assert_eq!(&two, b"56");
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut all = Vec::new();
    file.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"012ab56789");
    // At the end now: a write extends the file and a read from before it sees the new bytes.
    file.write_all(b"XYZ").unwrap();
    file.seek(SeekFrom::Start(8)).unwrap();
    let mut tail = String::new();
    file.read_to_string(&mut tail).unwrap();
    assert_eq!(tail, "89XYZ");
    drop(file);
    assert_eq!(fs::read(&path).unwrap(), b"012ab56789XYZ");
    assert!(wfs.lost_writes().take().is_empty());
}

#[test]
fn append_mode_writes_at_the_end_wherever_the_cursor_is() {
    let ws = Workspace::new();
    let wfs = ws.fs();
    let path = ws.path("log.txt");
    fs::write(&path, b"start\n").unwrap();
    let mut file = wfs.open(&path, &mode("a")).unwrap();
    file.write_all(b"one\n").unwrap();
    assert_eq!(file.stream_position().unwrap(), 10);
    file.seek(SeekFrom::Start(0)).unwrap();
    file.write_all(b"two\n").unwrap();
    drop(file);
    assert_eq!(fs::read(&path).unwrap(), b"start\none\ntwo\n");

    let mut file = wfs.open(&path, &mode("a+")).unwrap();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    assert_eq!(text, "start\none\ntwo\n");
    file.seek(SeekFrom::Start(2)).unwrap();
    file.write_all(b"three\n").unwrap();
    // As with O_APPEND, the write leaves the cursor at the new end.
    assert_eq!(file.read(&mut [0u8; 8]).unwrap(), 0);
    file.seek(SeekFrom::Start(10)).unwrap();
    text.clear();
    file.read_to_string(&mut text).unwrap();
    assert_eq!(text, "two\nthree\n");
    drop(file);
    assert_eq!(fs::read(&path).unwrap(), b"start\none\ntwo\nthree\n");
}

#[test]
fn reads_across_the_read_ahead_boundary_return_the_right_bytes() {
    let ws = Workspace::new();
    let wfs = ws.fs();
    let path = ws.path("big.bin");
    let data = pattern(3 * MIB + 123, 5);
    fs::write(&path, &data).unwrap();
    let mut file = wfs.open(&path, &mode("r")).unwrap();

    // Small reads that straddle each read-ahead refill.
    let mut got = Vec::with_capacity(data.len());
    let mut piece = [0u8; 4093];
    loop {
        let n = file.read(&mut piece).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&piece[..n]);
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the bytes read differ from the file");

    let mut small = [0u8; 20];
    file.seek(SeekFrom::Start(MIB as u64 - 10)).unwrap();
    file.read_exact(&mut small).unwrap();
    assert_eq!(small, data[MIB - 10..MIB + 10]);
    // Back into the window just read ahead.
    file.seek(SeekFrom::Current(-15)).unwrap();
    file.read_exact(&mut small[..5]).unwrap();
    assert_eq!(small[..5], data[MIB - 5..MIB]);

    // A read as large as the buffer, from an offset that is no multiple of anything.
    let mut large = vec![0u8; 2 * MIB];
    file.seek(SeekFrom::Start(7)).unwrap();
    file.read_exact(&mut large).unwrap();
    assert!(large == data[7..7 + 2 * MIB], "the large read differs");

    assert_eq!(file.seek(SeekFrom::End(0)).unwrap(), data.len() as u64);
    assert_eq!(file.read(&mut small).unwrap(), 0);
}

#[test]
fn paths_outside_the_root_are_refused_as_outside_workspace() {
    let ws = Workspace::new();
    let wfs = ws.fs();
    fs::write(ws.path("inside.txt"), b"in").unwrap();
    symlink(ws.secret(), ws.path("link")).unwrap();
    symlink(ws.dir.path(), ws.path("out")).unwrap();
    let escapes = [
        PathBuf::from("../secret.txt"),
        ws.path("../secret.txt"),
        ws.secret(),
        ws.path("link"),
        ws.path("out/secret.txt"),
    ];
    for path in &escapes {
        let err = assert_code(wfs.open(path, &mode("r")), ErrorCode::OutsideWorkspace);
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert_code(wfs.open(path, &mode("w")), ErrorCode::OutsideWorkspace);
        assert_code(wfs.open(path, &mode("a")), ErrorCode::OutsideWorkspace);
        assert_code(block_on(wfs.read(path)), ErrorCode::OutsideWorkspace);
        assert_code(block_on(wfs.write(path, b"x")), ErrorCode::OutsideWorkspace);
        assert_code(block_on(wfs.metadata(path)), ErrorCode::OutsideWorkspace);
        assert_code(
            block_on(wfs.set_readonly(path, true)),
            ErrorCode::OutsideWorkspace,
        );
    }
    let targets = [
        PathBuf::from("../moved.txt"),
        ws.path("../moved.txt"),
        ws.dir.path().join("moved.txt"),
        ws.path("out/moved.txt"),
    ];
    for to in &targets {
        assert_code(
            block_on(wfs.rename(&ws.path("inside.txt"), to)),
            ErrorCode::OutsideWorkspace,
        );
    }
    for path in [
        ws.secret(),
        ws.path("../secret.txt"),
        ws.path("out/secret.txt"),
    ] {
        assert_code(
            block_on(wfs.remove_file(&path)),
            ErrorCode::OutsideWorkspace,
        );
    }
    for dir in [ws.path(".."), ws.dir.path().to_path_buf(), ws.path("out")] {
        assert_code(block_on(wfs.read_dir(&dir)), ErrorCode::OutsideWorkspace);
        assert_code(
            block_on(wfs.create_dir(&dir.join("new"))),
            ErrorCode::OutsideWorkspace,
        );
    }

    assert_eq!(fs::read(ws.secret()).unwrap(), SECRET);
    assert_eq!(fs::read(ws.path("inside.txt")).unwrap(), b"in");
    let mut outside: Vec<_> = fs::read_dir(ws.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    outside.sort();
    assert_eq!(outside, ["secret.txt", "ws"]);
}

#[test]
fn a_read_only_root_refuses_writes_and_still_reads() {
    let ws = Workspace::new();
    let path = ws.path("data.txt");
    fs::write(&path, b"kept").unwrap();
    fs::create_dir(ws.path("sub")).unwrap();
    let wfs = fs_over(RootConfig::new(&ws.root).read_only(true), ws.root.clone());

    for permission in ["w", "w+", "a", "a+", "r+"] {
        let err = assert_code(wfs.open(&path, &mode(permission)), ErrorCode::ReadOnly);
        assert_eq!(err.kind(), io::ErrorKind::ReadOnlyFilesystem);
    }
    assert_code(
        wfs.open(&ws.path("new.txt"), &mode("w")),
        ErrorCode::ReadOnly,
    );
    assert_code(block_on(wfs.write(&path, b"changed")), ErrorCode::ReadOnly);
    assert_code(block_on(wfs.remove_file(&path)), ErrorCode::ReadOnly);
    assert_code(
        block_on(wfs.rename(&path, &ws.path("moved.txt"))),
        ErrorCode::ReadOnly,
    );
    assert_code(block_on(wfs.set_readonly(&path, true)), ErrorCode::ReadOnly);
    assert_code(block_on(wfs.create_dir(&ws.path("d"))), ErrorCode::ReadOnly);
    assert_code(
        block_on(wfs.remove_dir(&ws.path("sub"))),
        ErrorCode::ReadOnly,
    );

    let mut text = String::new();
    let mut file = wfs.open(&path, &mode("r")).unwrap();
    file.read_to_string(&mut text).unwrap();
    assert_eq!(text, "kept");
    assert_eq!(block_on(wfs.read(&path)).unwrap(), b"kept");
    assert_eq!(fs::read(&path).unwrap(), b"kept");
    assert!(!ws.path("new.txt").exists() && !ws.path("moved.txt").exists());
    assert!(ws.path("sub").is_dir());
}

#[test]
fn metadata_listing_rename_and_removal_map_onto_runmat_types() {
    let ws = Workspace::new();
    let wfs = ws.fs();
    let d = ws.path("d");
    block_on(wfs.create_dir_all(&ws.path("d/e/f"))).unwrap();
    block_on(wfs.write(&ws.path("d/a.txt"), b"12345")).unwrap();
    symlink("a.txt", ws.path("d/l")).unwrap();

    let meta = block_on(wfs.metadata(&ws.path("d/a.txt"))).unwrap();
    assert_eq!(meta.file_type(), FsFileType::File);
    assert_eq!(meta.len(), 5);
    assert!(!meta.is_readonly());
    assert!(meta.modified().is_some());
    assert_eq!(
        block_on(wfs.metadata(&d)).unwrap().file_type(),
        FsFileType::Directory
    );
    let followed = block_on(wfs.metadata(&ws.path("d/l"))).unwrap();
    assert_eq!(
        (followed.file_type(), followed.len()),
        (FsFileType::File, 5)
    );
    let link = block_on(wfs.symlink_metadata(&ws.path("d/l"))).unwrap();
    assert_eq!(link.file_type(), FsFileType::Symlink);

    let listed: Vec<_> = block_on(wfs.read_dir(&d))
        .unwrap()
        .into_iter()
        .map(|e| (e.file_name().clone(), e.file_type(), e.path().to_path_buf()))
        .collect();
    assert_eq!(
        listed,
        [
            ("a.txt".into(), FsFileType::File, d.join("a.txt")),
            ("e".into(), FsFileType::Directory, d.join("e")),
            ("l".into(), FsFileType::Symlink, d.join("l")),
        ]
    );
    assert_eq!(
        block_on(wfs.canonicalize(&ws.path("d/e/../l"))).unwrap(),
        d.join("a.txt")
    );

    block_on(wfs.rename(&ws.path("d/a.txt"), &ws.path("d/e/b.txt"))).unwrap();
    let err = assert_code(
        block_on(wfs.metadata(&ws.path("d/a.txt"))),
        ErrorCode::NotFound,
    );
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert_eq!(block_on(wfs.read(&ws.path("d/e/b.txt"))).unwrap(), b"12345");

    block_on(wfs.set_readonly(&ws.path("d/e/b.txt"), true)).unwrap();
    assert!(block_on(wfs.metadata(&ws.path("d/e/b.txt")))
        .unwrap()
        .is_readonly());
    let mode_bits = fs::metadata(ws.path("d/e/b.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode_bits & 0o222, 0);
    block_on(wfs.set_readonly(&ws.path("d/e/b.txt"), false)).unwrap();
    assert!(!block_on(wfs.metadata(&ws.path("d/e/b.txt")))
        .unwrap()
        .is_readonly());

    assert_code(block_on(wfs.create_dir(&d)), ErrorCode::AlreadyExists);
    assert_code(
        wfs.open(&ws.path("d/missing"), &mode("r")),
        ErrorCode::NotFound,
    );
    let create_new = OpenFlags {
        write: true,
        create_new: true,
        ..OpenFlags::default()
    };
    assert_code(
        wfs.open(&ws.path("d/e/b.txt"), &create_new),
        ErrorCode::AlreadyExists,
    );
    assert_code(wfs.open(&d, &mode("r")), ErrorCode::IsADirectory);
    let err = assert_code(block_on(wfs.remove_dir(&d)), ErrorCode::DirectoryNotEmpty);
    assert_eq!(err.kind(), io::ErrorKind::DirectoryNotEmpty);

    block_on(wfs.remove_file(&ws.path("d/e/b.txt"))).unwrap();
    assert!(!ws.path("d/e/b.txt").exists());
    block_on(wfs.remove_dir(&ws.path("d/e/f"))).unwrap();
    assert!(!ws.path("d/e/f").exists());
    block_on(wfs.remove_dir_all(&d)).unwrap();
    assert!(!d.exists());

    // RunMat paths are OS strings; the core takes UTF-8 only and says so.
    let bad = ws.root.join(OsStr::from_bytes(b"caf\xe9.txt"));
    let err = block_on(wfs.metadata(&bad)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn current_dir_override_is_the_configured_cwd() {
    let ws = Workspace::new();
    let cwd = ws.path("project/src");
    fs::create_dir_all(&cwd).unwrap();
    let wfs = fs_over(RootConfig::new(&ws.root), cwd.clone());
    assert_eq!(wfs.current_dir_override(), Some(cwd));
}

/// A small tmpfs on a temporary directory (mounting needs root, as the core's tests do),
/// detached on drop.
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = TempDir::new();
        let target = CString::new(dir.path().as_os_str().as_bytes()).unwrap();
        let fstype = CString::new("tmpfs").unwrap();
        let options = CString::new(format!("size={size}")).unwrap();
        // SAFETY: every pointer is a NUL-terminated string that outlives the call.
        let rc = unsafe {
            libc::mount(
                fstype.as_ptr(),
                target.as_ptr(),
                fstype.as_ptr(),
                0,
                options.as_ptr().cast(),
            )
        };
        assert_eq!(rc, 0, "mount tmpfs: {}", io::Error::last_os_error());
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = CString::new(self.dir.path().as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated string. MNT_DETACH, so a busy mount cannot fail the test.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

#[test]
fn a_write_that_fails_at_close_is_recorded_in_lost_writes() {
    let tmpfs = Tmpfs::mount("64k");
    let wfs = fs_over(RootConfig::new(tmpfs.path()), tmpfs.path().to_path_buf());
    let path = tmpfs.path().join("full.bin");
    let mut file = wfs.open(&path, &mode("w")).unwrap();
    // 512 KiB into 64 KiB: all of it fits the file's write buffer, so only the close can fail.
    for piece in pattern(512 << 10, 3).chunks(4096) {
        file.write_all(piece).unwrap();
    }
    assert!(wfs.lost_writes().take().is_empty());
    drop(file);
    let lost = wfs.lost_writes().take();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(lost[0].contains(&path.display().to_string()), "{lost:?}");
    assert!(lost[0].contains("No space left on device"), "{lost:?}");
    // Taken once: the session reports each loss a single time.
    assert!(wfs.lost_writes().take().is_empty());
}
