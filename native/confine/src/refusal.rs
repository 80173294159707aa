//! Names the rule behind an error that the kernel confinement caused, and the way out. RunMat's
//! builtins report a refused `connect`, `bind`, `execve` or `open` in their own words (often
//! without the errno), so the rule is recognised by the builtin that raised the error.

use std::path::{Path, PathBuf};

use crate::Confinement;

/// Builtins that open TCP connections or listen: every failure of theirs under the network rule
/// is the rule's doing, since no TCP connection at all can be made.
const NETWORK_BUILTINS: &[&str] = &[
    "webread",
    "webwrite",
    "websave",
    "tcpclient",
    "tcpserver",
    "accept",
];
/// Builtins that start a program.
const PROGRAM_BUILTINS: &[&str] = &["system", "sendmail", "unix", "dos"];
/// Builtins that open host paths through libhdf5 rather than the provider.
const HOST_PATH_BUILTINS: &[&str] = &[
    "h5read",
    "h5write",
    "h5writeatt",
    "h5readatt",
    "h5info",
    "h5disp",
    "h5create",
    "hdf5read",
    "hdf5write",
    "hdf5info",
];
const PERMISSION_DENIED: &str = "Permission denied";
const HDF5_OPEN_FAILED: &str = "unable to open ";

/// The builtin an error message comes from: RunMat starts its messages with `name: `.
fn builtin_of(message: &str) -> Option<&str> {
    let (name, _) = message.split_once(':')?;
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(name)
}

/// The hint to append to an uncaught error, when the confinement in force explains it.
/// `roots` are the workspace roots; `cwd` is where libhdf5 resolves relative paths.
pub fn refusal_hint(
    message: &str,
    confinement: &Confinement,
    roots: &[PathBuf],
    cwd: &Path,
) -> Option<String> {
    let builtin = builtin_of(message)?;
    if confinement.network && NETWORK_BUILTINS.contains(&builtin) {
        return Some("network is off for this script: pass --allow-net".into());
    }
    if confinement.programs
        && PROGRAM_BUILTINS.contains(&builtin)
        && message.contains(PERMISSION_DENIED)
    {
        return Some("starting programs is off for this script".into());
    }
    if confinement.filesystem && HOST_PATH_BUILTINS.contains(&builtin) {
        let (_, path) = message.split_once(HDF5_OPEN_FAILED)?;
        let path = lexically_normal(&cwd.join(path.trim()));
        if !roots.iter().any(|root| path.starts_with(root)) {
            return Some(format!(
                "{} is outside the workspace: pass --workspace to add its folder",
                path.display()
            ));
        }
    }
    None
}

/// `path` with `.` and `..` applied, without touching the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    let mut parts: Vec<_> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::CurDir => {}
            other => parts.push(other),
        }
    }
    parts.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confined() -> Confinement {
        Confinement {
            abi: 6,
            filesystem: true,
            programs: true,
            network: true,
            ..Confinement::default()
        }
    }

    #[test]
    fn names_the_rule_by_the_builtin() {
        let roots = [PathBuf::from("/w")];
        let cwd = Path::new("/w");
        let hint = |m: &str, c: &Confinement| refusal_hint(m, c, &roots, cwd);
        let web = "webread: unable to connect to http://127.0.0.1:1/: error sending request";
        assert_eq!(
            hint(web, &confined()).as_deref(),
            Some("network is off for this script: pass --allow-net")
        );
        let allowed = Confinement {
            network: false,
            allow_net: true,
            ..confined()
        };
        assert_eq!(hint(web, &allowed), None);
        let spawn = "sendmail: unable to spawn /x/mark.sh (Permission denied (os error 13))";
        assert_eq!(
            hint(spawn, &confined()).as_deref(),
            Some("starting programs is off for this script")
        );
        assert_eq!(hint("system: No such file or directory", &confined()), None);
        assert_eq!(
            hint("h5write: unable to open ../out/a.h5", &confined()).as_deref(),
            Some("/out/a.h5 is outside the workspace: pass --workspace to add its folder")
        );
        assert_eq!(
            hint("h5read: unable to open data/missing.h5", &confined()),
            None
        );
        assert_eq!(hint("Undefined function: h5create", &confined()), None);
    }
}
