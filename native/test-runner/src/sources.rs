//! The files a run reads, frozen once: RunMat plans and executes from this snapshot only, so a
//! file edited during the run cannot change what runs.

use std::path::{Path, PathBuf};

use runmat_core::CompatMode;
use runmat_execution::Digest;
use runmat_test::discovery::{FrozenTestRunSnapshot, SavedRunSource};

/// One `.m` file beneath a root; `relative_path` uses `/`.
#[derive(Clone, Debug)]
pub struct TestSource {
    pub root: String,
    pub relative_path: String,
    pub content: String,
}

/// RunMat names a source's owner; deskless's owners are the roots the files were found in.
pub fn owner_identity(root: &str) -> String {
    format!("path:{root}")
}

pub fn root_of_owner(owner: &str) -> &str {
    owner.strip_prefix("path:").unwrap_or(owner)
}

pub fn freeze(sources: &[TestSource], compat: CompatMode) -> Result<FrozenTestRunSnapshot, String> {
    let saved = sources
        .iter()
        .map(|source| SavedRunSource {
            owner_identity: owner_identity(&source.root),
            relative_path: source.relative_path.clone(),
            content: source.content.clone(),
        })
        .collect();
    // No project graph is installed: the graph digest names deskless's loose-folder host.
    FrozenTestRunSnapshot::freeze(
        Digest::sha256(b"deskless-test-loose-sources").to_string(),
        "deskless-test-sources",
        runmat_core::program_environment(compat),
        Digest::sha256(b"deskless-test-config-v1").to_string(),
        saved,
        Vec::new(),
    )
    .map_err(|error| error.to_string())
}

/// The test roots of the RunMat project (`runmat.toml` `[test] roots`) that `dir` belongs to,
/// or None when `dir` is in no project or the project names none.
pub fn project_test_roots(dir: &Path) -> Result<Option<Vec<PathBuf>>, String> {
    let Some(manifest_path) = runmat_config::project::discover_project_manifest_from(dir) else {
        return Ok(None);
    };
    let manifest = runmat_config::project::load_project_manifest(&manifest_path)
        .map_err(|error| error.to_string())?;
    let project_root = manifest_path.parent().unwrap_or(dir);
    let roots = manifest.test.resolved_roots(project_root);
    Ok((!roots.is_empty()).then_some(roots))
}
