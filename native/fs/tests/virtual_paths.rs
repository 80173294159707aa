//! Virtual paths (the wasm runtime's view): `/` is the first root, other roots are named
//! top-level folders, `..` is resolved lexically and never climbs above `/`.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::{assert_code, Fixture};
use deskless_fs::{normalise_virtual, ErrorCode, FileType, Provider, ProviderConfig, RootConfig};
use tempfile::TempDir;

/// The fixture's root as "/", with `a.txt`, `sub/b.txt` and a folder `data` of its own, and a
/// second root named `data` (read-only when asked) holding `x.csv`, in a folder of its own so the
/// fixture's outside check stays exact.
fn two_roots(data_read_only: bool) -> (Fixture, TempDir, PathBuf, Provider) {
    let fx = Fixture::new();
    fs::write(fx.root.join("a.txt"), b"first").unwrap();
    fs::create_dir(fx.root.join("sub")).unwrap();
    fs::write(fx.root.join("sub/b.txt"), b"bee").unwrap();
    fs::create_dir(fx.root.join("data")).unwrap();
    fs::write(fx.root.join("data/hidden.txt"), b"hidden").unwrap();
    let beside = tempfile::tempdir().unwrap();
    let data = beside.path().join("data-root");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("x.csv"), b"1,2").unwrap();
    let mut config = ProviderConfig::new(vec![
        RootConfig::new(&fx.root),
        RootConfig::new(&data)
            .named("data")
            .read_only(data_read_only),
    ]);
    config.virtual_paths = true;
    let p = Provider::new(config).unwrap();
    (fx, beside, data, p)
}

#[test]
fn slash_is_the_first_root_and_named_roots_are_top_level_folders() {
    let (_fx, _beside, _data, p) = two_roots(false);
    assert_eq!(p.read_file("/a.txt").unwrap(), b"first");
    assert_eq!(p.read_file("a.txt").unwrap(), b"first");
    assert_eq!(p.read_file("/sub/./b.txt").unwrap(), b"bee");
    assert_eq!(p.read_file("/sub/../a.txt").unwrap(), b"first");
    assert_eq!(p.read_file("/data/x.csv").unwrap(), b"1,2");
    // The named root hides the first root's own `data` folder.
    assert_code(p.read_file("/data/hidden.txt"), ErrorCode::NotFound);
    let names: Vec<(String, String, FileType)> = p
        .read_dir("/")
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.file_name,
                e.path.to_string_lossy().into_owned(),
                e.file_type,
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("a.txt".into(), "/a.txt".into(), FileType::File),
            ("data".into(), "/data".into(), FileType::Dir),
            ("sub".into(), "/sub".into(), FileType::Dir),
        ]
    );
    let listed: Vec<String> = p
        .read_dir("/data")
        .unwrap()
        .into_iter()
        .map(|e| e.path.to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, ["/data/x.csv"]);
}

#[test]
fn dot_dot_above_the_virtual_root_is_outside() {
    let (fx, _beside, _data, p) = two_roots(false);
    for path in ["/..", "../a.txt", "/sub/../../a.txt", "/data/../../x"] {
        assert_code(p.read_file(path), ErrorCode::OutsideWorkspace);
        assert_code(p.write_file(path, b"x"), ErrorCode::OutsideWorkspace);
    }
    // A host path means nothing special: it is a path beneath "/".
    let host = fx.root.join("a.txt");
    assert_code(p.read_file(host.to_str().unwrap()), ErrorCode::NotFound);
    fx.assert_outside_untouched();
}

#[test]
fn symlinks_still_cannot_lead_out() {
    let (fx, _beside, _data, p) = two_roots(false);
    symlink(&fx.sentinel, fx.root.join("abs-link")).unwrap();
    symlink("../secret.txt", fx.root.join("rel-link")).unwrap();
    for path in ["/abs-link", "/rel-link"] {
        assert_code(p.read_file(path), ErrorCode::OutsideWorkspace);
        assert_code(p.write_file(path, b"x"), ErrorCode::OutsideWorkspace);
    }
    fx.assert_outside_untouched();
}

#[test]
fn canonical_and_host_paths_map_both_ways() {
    let (fx, _beside, data, p) = two_roots(false);
    symlink("sub/b.txt", fx.root.join("to-b")).unwrap();
    assert_eq!(p.canonicalize("/to-b").unwrap(), Path::new("/sub/b.txt"));
    assert_eq!(p.canonicalize("/data").unwrap(), Path::new("/data"));
    assert_eq!(p.canonicalize("/").unwrap(), Path::new("/"));
    assert_eq!(
        p.host_path("/data/x.csv").unwrap(),
        data.canonicalize().unwrap().join("x.csv")
    );
    assert_eq!(p.host_path("/").unwrap(), fx.root.canonicalize().unwrap());
    let root = fx.root.canonicalize().unwrap();
    assert_eq!(
        p.virtual_path(&root.join("sub/b.txt")).as_deref(),
        Some("/sub/b.txt")
    );
    assert_eq!(p.virtual_path(&root).as_deref(), Some("/"));
    assert_eq!(
        p.virtual_path(&data.join("x.csv")).as_deref(),
        Some("/data/x.csv")
    );
    // Hidden behind the named root, and outside every root: no virtual path.
    assert_eq!(p.virtual_path(&root.join("data/hidden.txt")), None);
    assert_eq!(p.virtual_path(fx.outside()), None);
    // A symlink in the first root to its hidden folder has no virtual path to resolve to.
    symlink("data", fx.root.join("to-hidden")).unwrap();
    assert_code(p.canonicalize("/to-hidden"), ErrorCode::OutsideWorkspace);
    let roots: Vec<Option<String>> = p.roots().into_iter().map(|r| r.virtual_path).collect();
    assert_eq!(roots, [Some("/".to_string()), Some("/data".to_string())]);
}

#[test]
fn a_workspace_root_cannot_be_removed_or_renamed() {
    let (fx, _beside, data, p) = two_roots(false);
    fs::write(fx.root.join("f"), b"f").unwrap();
    for path in ["/", "/data", "/sub/.."] {
        let refused = p.remove_dir(path, true).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::InvalidArgument, "{path}");
        assert!(
            refused.message().contains("workspace root"),
            "{}",
            refused.message()
        );
        assert_code(p.remove_file(path), ErrorCode::InvalidArgument);
        assert_code(p.rename(path, "/moved"), ErrorCode::InvalidArgument);
    }
    assert_code(p.rename("/f", "/data"), ErrorCode::InvalidArgument);
    // Read-only bits on a root are the folder's own and may be set.
    p.set_readonly("/data", true).unwrap();
    assert!(p.metadata("/data").unwrap().readonly);
    p.set_readonly("/data", false).unwrap();
    assert!(data.join("x.csv").exists() && fx.root.join("f").exists());
}

#[test]
fn a_read_only_named_root_refuses_changes_and_says_so_in_metadata() {
    let (_fx, _beside, data, p) = two_roots(true);
    assert_code(p.write_file("/data/x.csv", b"9"), ErrorCode::ReadOnly);
    assert_code(p.remove_file("/data/x.csv"), ErrorCode::ReadOnly);
    assert_code(p.create_dir("/data/new", false), ErrorCode::ReadOnly);
    assert!(p.metadata("/data/x.csv").unwrap().readonly);
    assert!(p.symlink_metadata("/data").unwrap().readonly);
    assert!(!p.metadata("/a.txt").unwrap().readonly);
    assert_eq!(fs::read(data.join("x.csv")).unwrap(), b"1,2");
}

#[test]
fn root_names_must_be_usable_and_distinct() {
    let fx = Fixture::new();
    let other = fx.outside().join("other");
    fs::create_dir(&other).unwrap();
    let provider = |second: RootConfig, third: Option<RootConfig>| {
        let mut roots = vec![RootConfig::new(&fx.root), second];
        roots.extend(third);
        let mut config = ProviderConfig::new(roots);
        config.virtual_paths = true;
        Provider::new(config)
    };
    for name in ["", "..", ".", "a/b", "a\\b"] {
        assert_code(
            provider(RootConfig::new(&other).named(name), None),
            ErrorCode::InvalidArgument,
        );
    }
    let twice = provider(RootConfig::new(&other), Some(RootConfig::new(&other))).unwrap_err();
    assert_eq!(twice.code(), ErrorCode::InvalidArgument);
    assert!(
        twice.message().contains("already taken"),
        "{}",
        twice.message()
    );
    // Names default to the folder's; only virtual paths need them distinct.
    assert_eq!(
        provider(RootConfig::new(&other), None).unwrap().roots()[1].name,
        "other"
    );
    let host = Provider::new(ProviderConfig::new(vec![
        RootConfig::new(&fx.root),
        RootConfig::new(&other),
        RootConfig::new(&other),
    ]));
    assert!(host.is_ok());
}

#[test]
fn normalising_needs_no_file_system() {
    assert_eq!(normalise_virtual("a/./b/../c").unwrap(), "/a/c");
    assert_eq!(normalise_virtual("").unwrap(), "/");
    assert_eq!(normalise_virtual("//x//").unwrap(), "/x");
    assert_code(normalise_virtual("/a/../.."), ErrorCode::OutsideWorkspace);
    assert_code(normalise_virtual("a\0b"), ErrorCode::InvalidArgument);
}
