//! Against the running kernel: each test confines a fresh thread and checks what it, and the
//! threads it starts, can still reach. Needs Landlock ABI 4 or later (Linux 6.7+).
#![cfg(target_os = "linux")]

use std::fs;
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use deskless_confine::{
    confine_current_thread, ConfineError, ConfineMode, Confinement, ConfinementPolicy,
};

struct Scratch {
    base: PathBuf,
    workspace: PathBuf,
    outside: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let base =
            std::env::temp_dir().join(format!("deskless-confine-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let workspace = base.join("workspace");
        let outside = base.join("outside");
        fs::create_dir_all(&workspace).unwrap();
        fs::create_dir_all(&outside).unwrap();
        Self {
            base,
            workspace,
            outside,
        }
    }

    fn policy(&self) -> ConfinementPolicy {
        ConfinementPolicy {
            read_write: vec![self.workspace.clone()],
            ..ConfinementPolicy::default()
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

/// Runs `work` on a fresh thread confined by `policy`.
fn confined<T: Send + 'static>(
    policy: ConfinementPolicy,
    work: impl FnOnce() -> T + Send + 'static,
) -> (Confinement, T) {
    std::thread::spawn(move || {
        let confinement = confine_current_thread(&policy).expect("confine");
        assert!(
            confinement.abi >= 4,
            "this kernel offers Landlock ABI {}; these tests need 4 or later",
            confinement.abi
        );
        (confinement, work())
    })
    .join()
    .unwrap()
}

fn error_kind<T>(result: std::io::Result<T>) -> Option<ErrorKind> {
    result.err().map(|e| e.kind())
}

#[test]
fn files_are_reachable_beneath_the_roots_only() {
    let s = Scratch::new("files");
    let (inside, outside) = (s.workspace.join("a.txt"), s.outside.join("b.txt"));
    let (i, o) = (inside.clone(), outside.clone());
    let (confinement, (wrote_inside, wrote_outside, read_outside)) =
        confined(s.policy(), move || {
            (
                fs::write(&i, b"in").is_ok(),
                error_kind(fs::write(&o, b"out")),
                error_kind(fs::read_dir(o.parent().unwrap())),
            )
        });
    assert!(confinement.filesystem && confinement.programs && confinement.is_complete());
    assert!(wrote_inside);
    assert_eq!(wrote_outside, Some(ErrorKind::PermissionDenied));
    assert_eq!(read_outside, Some(ErrorKind::PermissionDenied));
    assert!(!outside.exists());
    // The process's other threads are not confined.
    fs::write(&outside, b"main thread").unwrap();
}

#[test]
fn a_thread_started_after_confinement_is_confined_too() {
    let s = Scratch::new("child");
    let target = s.outside.join("from-child.txt");
    let t = target.clone();
    let (_, child_result) = confined(s.policy(), move || {
        std::thread::spawn(move || error_kind(fs::write(&t, b"x")))
            .join()
            .unwrap()
    });
    assert_eq!(child_result, Some(ErrorKind::PermissionDenied));
    assert!(!target.exists());
}

#[test]
fn read_only_roots_can_be_read_and_not_changed() {
    let s = Scratch::new("readonly");
    fs::write(s.outside.join("data.txt"), b"kept").unwrap();
    let mut policy = s.policy();
    policy.read_only = vec![s.outside.clone()];
    let dir = s.outside.clone();
    let (_, (read, write, remove)) = confined(policy, move || {
        (
            fs::read(dir.join("data.txt")).ok(),
            error_kind(fs::write(dir.join("new.txt"), b"x")),
            error_kind(fs::remove_file(dir.join("data.txt"))),
        )
    });
    assert_eq!(read.as_deref(), Some(&b"kept"[..]));
    assert_eq!(write, Some(ErrorKind::PermissionDenied));
    assert_eq!(remove, Some(ErrorKind::PermissionDenied));
    assert!(s.outside.join("data.txt").exists());
}

#[test]
fn no_program_starts_not_even_one_inside_the_workspace() {
    let s = Scratch::new("exec");
    let marker = s.outside.join("ran");
    let script = s.workspace.join("mark.sh");
    fs::write(&script, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    let (_, (system, local)) = confined(s.policy(), move || {
        (
            error_kind(Command::new("/bin/sh").arg("-c").arg("true").status()),
            error_kind(Command::new(&script).status()),
        )
    });
    assert_eq!(system, Some(ErrorKind::PermissionDenied));
    assert_eq!(local, Some(ErrorKind::PermissionDenied));
    assert!(!marker.exists());
}

fn pending_connections(listener: &TcpListener) -> usize {
    listener.set_nonblocking(true).unwrap();
    std::iter::from_fn(|| listener.accept().ok()).count()
}

#[test]
fn tcp_connect_and_bind_are_refused_unless_allowed() {
    let s = Scratch::new("net");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (confinement, (connect, bind)) = confined(s.policy(), move || {
        (
            error_kind(TcpStream::connect(address)),
            error_kind(TcpListener::bind("127.0.0.1:0")),
        )
    });
    assert!(confinement.network && !confinement.allow_net);
    assert_eq!(connect, Some(ErrorKind::PermissionDenied));
    assert_eq!(bind, Some(ErrorKind::PermissionDenied));
    assert_eq!(pending_connections(&listener), 0);

    let mut policy = s.policy();
    policy.allow_net = true;
    let (confinement, connected) = confined(policy, move || TcpStream::connect(address).is_ok());
    assert!(connected && !confinement.network && confinement.allow_net);
    assert_eq!(pending_connections(&listener), 1);
}

#[test]
fn system_paths_the_engine_needs_stay_readable() {
    let s = Scratch::new("system");
    let (_, (localtime, zoneinfo, passwd)) = confined(s.policy(), || {
        (
            fs::read(Path::new("/etc/localtime")).is_ok(),
            fs::read_dir("/usr/share/zoneinfo").is_ok(),
            error_kind(fs::read("/etc/passwd")),
        )
    });
    assert!(localtime && zoneinfo);
    assert_eq!(passwd, Some(ErrorKind::PermissionDenied));
}

#[test]
fn an_older_abi_is_reported_as_not_enforcing_the_network_rule() {
    let s = Scratch::new("abi3");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let mut policy = s.policy();
    policy.abi_limit = Some(3);
    let outside = s.outside.join("x");
    let (confinement, (connected, wrote_outside)) = std::thread::spawn(move || {
        let confinement = confine_current_thread(&policy).unwrap();
        (
            confinement,
            (
                TcpStream::connect(address).is_ok(),
                fs::write(&outside, b"x").is_ok(),
            ),
        )
    })
    .join()
    .unwrap();
    assert_eq!(confinement.abi, 3);
    assert!(confinement.filesystem && !confinement.network);
    assert_eq!(confinement.not_enforced.len(), 1);
    assert!(confinement.not_enforced[0].contains("network"));
    // What is reported as not enforced really is not: the connection went through.
    assert!(connected && !wrote_outside);
    assert_eq!(pending_connections(&listener), 1);
}

#[test]
fn without_landlock_auto_goes_on_and_require_refuses() {
    let s = Scratch::new("none");
    let mut policy = s.policy();
    policy.abi_limit = Some(0);
    let auto = policy.clone();
    let confinement = std::thread::spawn(move || confine_current_thread(&auto).unwrap())
        .join()
        .unwrap();
    assert_eq!(confinement.abi, 0);
    assert!(!confinement.filesystem && !confinement.programs && !confinement.network);
    assert_eq!(confinement.not_enforced.len(), 2);

    policy.mode = ConfineMode::Require;
    let refused = std::thread::spawn(move || confine_current_thread(&policy))
        .join()
        .unwrap();
    match refused {
        Err(ConfineError::Unavailable(what)) => assert!(what.contains("no Landlock"), "{what}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn off_confines_nothing() {
    let s = Scratch::new("off");
    let mut policy = s.policy();
    policy.mode = ConfineMode::Off;
    let outside = s.outside.join("x");
    let o = outside.clone();
    let (confinement, wrote) = std::thread::spawn(move || {
        (
            confine_current_thread(&policy).unwrap(),
            fs::write(&o, b"x").is_ok(),
        )
    })
    .join()
    .unwrap();
    assert_eq!(confinement.mode, ConfineMode::Off);
    assert!(wrote && outside.exists() && confinement.not_enforced.is_empty());
}

#[test]
fn signals_and_abstract_sockets_outside_the_sandbox_are_refused() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};

    let s = Scratch::new("scopes");
    let mut outsider = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = outsider.id() as libc::pid_t;
    let name = format!("deskless-confine-{}", std::process::id());
    let listener =
        UnixListener::bind_addr(&SocketAddr::from_abstract_name(&name).unwrap()).unwrap();
    let (confinement, (signal, socket)) = confined(s.policy(), move || {
        // SAFETY: kill with a valid signal number has no memory effects.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        let address = SocketAddr::from_abstract_name(&name).unwrap();
        (
            (sent == -1)
                .then(std::io::Error::last_os_error)
                .map(|e| e.kind()),
            error_kind(UnixStream::connect_addr(&address)),
        )
    });
    assert!(confinement.scopes);
    assert_eq!(signal, Some(ErrorKind::PermissionDenied));
    assert_eq!(socket, Some(ErrorKind::PermissionDenied));
    // The outsider did not get the signal: it is still running until we end it.
    assert!(outsider.try_wait().unwrap().is_none());
    outsider.kill().unwrap();
    outsider.wait().unwrap();
    drop(listener);
}
