//! RunMat's reports place a failure at its diagnostic's source, by the path beneath the folder
//! the file was found in, and many diagnostics (a failed `verifyEqual`, an uncaught error) carry
//! no source at all. For CI readers (a JUnit `file`/`line`), the reports get every failure placed:
//! at its own source, else at its test's declaration, the path relative to the run's folder.

use std::collections::HashMap;
use std::path::Path;

use runmat_test::descriptor::{SourceDescriptor, SourceSpan};
use runmat_test::event::{TestEvent, TestEventPayload};
use runmat_test::result::{AttemptResult, RunResult};

use crate::plan::ListedTest;
use crate::sources::{owner_identity, root_of_owner};

pub struct Locator<'a> {
    tests: HashMap<&'a str, &'a ListedTest>,
    base: Option<&'a Path>,
}

impl<'a> Locator<'a> {
    pub fn new(listed: &'a [ListedTest], base: Option<&'a Path>) -> Self {
        Self {
            tests: listed.iter().map(|test| (test.id.as_str(), test)).collect(),
            base,
        }
    }

    /// `relative` beneath `root`, named from the run's folder when it lies inside it.
    fn display(&self, root: &str, relative: &str) -> String {
        let path = Path::new(root).join(relative);
        let shown = self
            .base
            .and_then(|base| path.strip_prefix(base).ok())
            .unwrap_or(&path);
        shown.to_string_lossy().replace('\\', "/")
    }

    fn attempt(&self, attempt: &mut AttemptResult) {
        let test = self.tests.get(attempt.test_id.as_str());
        for diagnostic in &mut attempt.diagnostics {
            match &mut diagnostic.source {
                Some(source) => {
                    source.relative_path =
                        self.display(root_of_owner(&source.owner_identity), &source.relative_path);
                }
                None => {
                    if let Some(test) = test {
                        diagnostic.source = Some(SourceDescriptor {
                            owner_identity: owner_identity(&test.root),
                            relative_path: self.display(&test.root, &test.relative_path),
                            semantic_path: test.name.clone(),
                            span: SourceSpan {
                                start_byte: 0,
                                end_byte: 0,
                                start_line: test.line,
                                start_column: 1,
                                end_line: test.line,
                                end_column: 1,
                            },
                        });
                    }
                }
            }
        }
    }

    pub fn result(&self, result: &RunResult) -> RunResult {
        let mut result = result.clone();
        for test in &mut result.tests {
            test.attempts
                .iter_mut()
                .for_each(|attempt| self.attempt(attempt));
        }
        result
    }

    pub fn events(&self, events: &[TestEvent]) -> Vec<TestEvent> {
        events
            .iter()
            .cloned()
            .map(|mut event| {
                match &mut event.payload {
                    TestEventPayload::TestFinished { result } => self.attempt(result),
                    TestEventPayload::RunFinished { result } => *result = self.result(result),
                    _ => {}
                }
                event
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runmat_test::lifecycle::ExecutionPhase;
    use runmat_test::result::{Diagnostic, DiagnosticSeverity, ResultState};

    fn diagnostic(source: Option<SourceDescriptor>) -> Diagnostic {
        Diagnostic {
            identifier: "RunMat:Test:VerificationFailed".into(),
            message: "verifyEqual failed".into(),
            severity: DiagnosticSeverity::Error,
            phase: ExecutionPhase::TestBody,
            source,
            details: Vec::new(),
        }
    }

    #[test]
    fn failures_are_placed_from_the_run_folder() {
        let listed = vec![ListedTest {
            id: "v1:sha256:t".into(),
            name: "mathTest/testAdd".into(),
            suite: "mathTest".into(),
            root: "/repo/tests".into(),
            relative_path: "unit/mathTest.m".into(),
            line: 12,
            tags: Vec::new(),
        }];
        let elsewhere = SourceDescriptor {
            owner_identity: owner_identity("/opt/lib"),
            relative_path: "helper.m".into(),
            semantic_path: "helper".into(),
            span: SourceSpan {
                start_byte: 0,
                end_byte: 0,
                start_line: 3,
                start_column: 1,
                end_line: 3,
                end_column: 1,
            },
        };
        let mut attempt = AttemptResult {
            test_id: serde_json::from_value(serde_json::json!("v1:sha256:t")).unwrap(),
            attempt: 1,
            state: ResultState::PASSED,
            diagnostics: vec![diagnostic(None), diagnostic(Some(elsewhere))],
            artifacts: Vec::new(),
            output: String::new(),
            abort_run: false,
        };
        Locator::new(&listed, Some(Path::new("/repo"))).attempt(&mut attempt);
        let placed = attempt.diagnostics[0].source.as_ref().unwrap();
        assert_eq!(placed.relative_path, "tests/unit/mathTest.m");
        assert_eq!(placed.span.start_line, 12);
        // A source outside the run's folder keeps its whole path.
        let kept = attempt.diagnostics[1].source.as_ref().unwrap();
        assert_eq!(kept.relative_path, "/opt/lib/helper.m");
        assert_eq!(kept.span.start_line, 3);
    }
}
