//! Discovery and selection, both RunMat's: core discovers against the frozen snapshot, the
//! runmat-test selector filters by name and tag, and the runner's shard rule picks a shard.

use runmat_core::{CompatMode, RunMatSession};
use runmat_test::descriptor::{TestDescriptor, TestSelector};
use runmat_test::discovery::{DiscoveryDiagnosticSeverity, FrozenTestRunSnapshot};
use runmat_test::plan::TestPlan;
use runmat_test_runner::schedule::selected_for_shard;

use crate::sources::{freeze, root_of_owner, TestSource};

#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub names: Vec<String>,
    pub tags: Vec<String>,
    pub exclude_tags: Vec<String>,
    pub shard_index: Option<u32>,
    pub shard_count: Option<u32>,
}

/// One selected test as a user sees it.
#[derive(Clone, Debug)]
pub struct ListedTest {
    pub id: String,
    pub name: String,
    pub suite: String,
    pub root: String,
    pub relative_path: String,
    pub line: u32,
    pub tags: Vec<String>,
}

/// A file that could not be read as tests (it does not parse or lower), reported against itself.
#[derive(Clone, Debug)]
pub struct UnreadableFile {
    pub code: String,
    pub message: String,
    pub root: String,
    pub relative_path: String,
    pub line: u32,
}

#[derive(Debug)]
pub enum PrepareError {
    /// Shard numbers out of range, or sources RunMat cannot freeze.
    Invalid(String),
    Discovery(String),
}

impl std::fmt::Display for PrepareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrepareError::Invalid(message) | PrepareError::Discovery(message) => {
                f.write_str(message)
            }
        }
    }
}

pub struct Prepared {
    pub snapshot: FrozenTestRunSnapshot,
    /// The name and tag selection; shards are applied by the coordinator's queue.
    pub plan: TestPlan,
    /// The tests that run: the plan's, in plan order, restricted to the shard.
    pub listed: Vec<ListedTest>,
    pub unreadable: Vec<UnreadableFile>,
}

pub fn prepare(
    sources: &[TestSource],
    selection: &Selection,
    compat: CompatMode,
) -> Result<Prepared, PrepareError> {
    let snapshot = freeze(sources, compat).map_err(PrepareError::Invalid)?;
    let mut session = RunMatSession::with_options(false, false)
        .map_err(|error| PrepareError::Discovery(error.to_string()))?;
    session.set_compat_mode(compat);
    let selector = TestSelector {
        names: selection.names.clone(),
        tags: selection.tags.clone(),
        excluded_tags: selection.exclude_tags.clone(),
        source_prefixes: Vec::new(),
    };
    let prepared = session
        .prepare_tests(&snapshot, &selector)
        .map_err(|error| PrepareError::Discovery(error.to_string()))?;
    let unreadable = prepared
        .discovery
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == DiscoveryDiagnosticSeverity::Error)
        .map(|diagnostic| {
            let source = diagnostic.source.as_ref();
            UnreadableFile {
                code: diagnostic.code.clone(),
                message: diagnostic.message.clone(),
                root: source
                    .map(|s| root_of_owner(&s.owner_identity).to_string())
                    .unwrap_or_default(),
                relative_path: source.map(|s| s.relative_path.clone()).unwrap_or_default(),
                line: source.map(|s| s.span.start_line).unwrap_or(1),
            }
        })
        .collect();
    let mut listed = Vec::new();
    for suite in &prepared.plan.suites {
        for group in &suite.fixture_groups {
            for test in &group.tests {
                let chosen =
                    selected_for_shard(&test.id, selection.shard_index, selection.shard_count)
                        .map_err(|error| PrepareError::Invalid(error.to_string()))?;
                if chosen {
                    listed.push(listed_test(test, &suite.display_name));
                }
            }
        }
    }
    Ok(Prepared {
        snapshot: prepared.snapshot,
        plan: prepared.plan,
        listed,
        unreadable,
    })
}

fn listed_test(test: &TestDescriptor, suite: &str) -> ListedTest {
    let source = &test.procedure.source;
    ListedTest {
        id: test.id.as_str().to_string(),
        name: test.display_name.clone(),
        suite: suite.to_string(),
        root: root_of_owner(&source.owner_identity).to_string(),
        relative_path: source.relative_path.clone(),
        line: source.span.start_line,
        tags: test.tags.clone(),
    }
}
