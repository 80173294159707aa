//! The virtual path space a provider can be given instead of host paths (the RunMat wasm
//! runtime's view of the workspace):
//!
//! - `/` is the first root; `/a/b.txt` is `<first root>/a/b.txt`;
//! - every other root is a top-level folder named by its root's name (`/data/x.csv`), and it
//!   hides an entry of the first root with the same name;
//! - a relative path resolves against `/`;
//! - `.` and `..` are resolved here, lexically, and a `..` above `/` is OUTSIDE_WORKSPACE.
//!
//! Only the split into (root, rest) happens here; the rest is then opened beneath its root by the
//! sandbox like any host path, so symlinks still cannot lead out.

use std::path::{Path, PathBuf};

use crate::error::{ErrorCode, FsError, FsResult};
use crate::sandbox::Root;

/// The names the roots have in the virtual space: "" for the first, the root's name for the rest.
pub(crate) struct VirtualNames {
    names: Vec<String>,
}

/// A virtual path split onto a root: its index and the rest beneath it ("" for the root itself).
pub(crate) struct VirtualTarget {
    pub root: usize,
    pub rel: String,
}

impl VirtualNames {
    /// Checks that every root after the first has a usable, distinct folder name.
    pub(crate) fn new(roots: &[Root]) -> FsResult<VirtualNames> {
        let mut names = vec![String::new()];
        for root in roots.iter().skip(1) {
            let name = &root.name;
            let usable = !name.is_empty()
                && name != "."
                && name != ".."
                && !name.contains(['/', '\\', '\0']);
            let problem = if !usable {
                "is not a usable folder name"
            } else if names.contains(name) {
                "is already taken by another root; pass a distinct name"
            } else {
                names.push(name.clone());
                continue;
            };
            return Err(FsError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "workspace root {}: the name {name:?} {problem}",
                    root.path.display()
                ),
            ));
        }
        Ok(VirtualNames { names })
    }

    /// `/` for the first root, `/<name>` for the others.
    pub(crate) fn root_path(&self, index: usize) -> String {
        format!("/{}", self.names[index])
    }

    /// The named roots' indices and names (every root after the first).
    pub(crate) fn named(&self) -> impl Iterator<Item = (usize, &str)> {
        self.names
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, n)| (i, n.as_str()))
    }

    fn named_index(&self, name: &str) -> Option<usize> {
        self.named().find(|(_, n)| *n == name).map(|(i, _)| i)
    }

    /// Splits a virtual path onto its root.
    pub(crate) fn split(&self, path: &str) -> FsResult<VirtualTarget> {
        let segments = segments(path)?;
        let (root, rest) = match segments.first().and_then(|s| self.named_index(s)) {
            Some(index) => (index, &segments[1..]),
            None => (0, &segments[..]),
        };
        Ok(VirtualTarget {
            root,
            rel: rest.join("/"),
        })
    }

    /// The virtual path of a host path, or `None` when it lies outside every root (or is an
    /// entry of the first root hidden behind a named root).
    pub(crate) fn virtual_of(&self, roots: &[Root], host: &Path) -> Option<String> {
        let mut best: Option<(usize, usize, PathBuf)> = None;
        for (index, root) in roots.iter().enumerate() {
            for prefix in [&root.path, &root.given] {
                if let Ok(rest) = host.strip_prefix(prefix) {
                    let depth = prefix.components().count();
                    if best.as_ref().is_none_or(|(d, _, _)| depth > *d) {
                        best = Some((depth, index, rest.to_path_buf()));
                    }
                }
            }
        }
        let (_, index, rest) = best?;
        let rest = rest.to_str()?;
        if index == 0 {
            let head = rest.split('/').next().unwrap_or("");
            if self.named_index(head).is_some() {
                return None;
            }
        }
        Some(self.join(index, rest))
    }

    /// The virtual path of `rel` beneath root `index`.
    pub(crate) fn join(&self, index: usize, rel: &str) -> String {
        let base = &self.names[index];
        match (base.is_empty(), rel.is_empty()) {
            (_, true) => self.root_path(index),
            (true, false) => format!("/{rel}"),
            (false, false) => format!("/{base}/{rel}"),
        }
    }
}

/// The normalised segments of a virtual path (`.` dropped, `..` applied).
fn segments(path: &str) -> FsResult<Vec<&str>> {
    if path.contains('\0') {
        return Err(FsError::new(
            ErrorCode::InvalidArgument,
            format!("path {path:?} contains a NUL byte"),
        ));
    }
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(FsError::new(
                        ErrorCode::OutsideWorkspace,
                        format!("path {path:?}: \"..\" climbs above the virtual root \"/\""),
                    ));
                }
            }
            _ => out.push(part),
        }
    }
    Ok(out)
}

/// The normalised form of a virtual path (no file system access): `a/./b/../c` is `/a/c`.
pub fn normalise_virtual(path: &str) -> FsResult<String> {
    Ok(format!("/{}", segments(path)?.join("/")))
}
