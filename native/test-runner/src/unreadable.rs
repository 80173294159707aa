//! A file that does not parse has no tests to run; it is reported as a failed test of its own,
//! named after the file, at the line of the error.

use runmat_test::descriptor::{SourceDescriptor, SourceSpan};
use runmat_test::identity::{TestId, TestIdentityInput};
use runmat_test::lifecycle::ExecutionPhase;
use runmat_test::result::{
    AttemptResult, Diagnostic, DiagnosticSeverity, ResultState, TerminalDisposition,
};

use crate::plan::UnreadableFile;
use crate::sources::owner_identity;

pub fn unreadable_id(unreadable: &UnreadableFile) -> TestId {
    TestId::derive(&TestIdentityInput {
        owner_identity: &owner_identity(&unreadable.root),
        relative_source_identity: &unreadable.relative_path,
        semantic_scheme: "deskless-unreadable-file",
        semantic_item_path: "",
        parameter_identity: "",
        fixture_identity: "",
    })
}

pub fn unreadable_attempt(unreadable: &UnreadableFile) -> AttemptResult {
    AttemptResult {
        test_id: unreadable_id(unreadable),
        attempt: 1,
        state: ResultState {
            failed: true,
            incomplete: true,
            disposition: TerminalDisposition::Failed,
        },
        diagnostics: vec![Diagnostic {
            identifier: unreadable.code.clone(),
            message: unreadable.message.clone(),
            severity: DiagnosticSeverity::Error,
            phase: ExecutionPhase::SuiteSetup,
            source: Some(SourceDescriptor {
                owner_identity: owner_identity(&unreadable.root),
                relative_path: unreadable.relative_path.clone(),
                semantic_path: unreadable.relative_path.clone(),
                span: SourceSpan {
                    start_byte: 0,
                    end_byte: 0,
                    start_line: unreadable.line,
                    start_column: 1,
                    end_line: unreadable.line,
                    end_column: 1,
                },
            }),
            details: Vec::new(),
        }],
        artifacts: Vec::new(),
        output: String::new(),
        abort_run: false,
    }
}
