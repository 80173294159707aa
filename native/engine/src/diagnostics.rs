//! Turns RunMat's frontend errors and runtime diagnostics into a `ScriptError` with a line and
//! column computed from the source text (RunMat reports byte offsets).

use runmat_core::abi::{DiagnosticSeverity, ExecutionOutcome};
use runmat_core::RunError;

use crate::report::ScriptError;

pub fn line_column(source: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line as u32, column as u32)
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn located(
    mut error: ScriptError,
    offset: Option<usize>,
    file: &str,
    source: Option<&str>,
) -> ScriptError {
    error.file = Some(file.to_string());
    if let (Some(offset), Some(source)) = (offset, source) {
        let (line, column) = line_column(source, offset);
        error.line = Some(line);
        error.column = Some(column);
    }
    error
}

pub fn from_run_error(error: &RunError, file: &str, source: Option<&str>) -> ScriptError {
    let (kind, identifier, message, offset) = match error {
        RunError::Syntax(e) => (
            "syntax",
            Some("RunMat:SyntaxError".to_string()),
            e.to_string(),
            Some(e.position),
        ),
        RunError::Semantic(e) => (
            "semantic",
            e.identifier.clone(),
            e.message.clone(),
            e.span.as_ref().map(|s| s.start),
        ),
        RunError::Compile(e) => (
            "compile",
            e.identifier.clone(),
            e.message.clone(),
            e.span.as_ref().map(|s| s.start),
        ),
        RunError::Runtime(e) => (
            "runtime",
            e.identifier.clone(),
            e.message.clone(),
            e.span.as_ref().map(|s| s.offset()),
        ),
    };
    let error = ScriptError {
        identifier,
        message,
        kind: kind.to_string(),
        ..ScriptError::default()
    };
    located(error, offset, file, source)
}

pub fn from_outcome(
    outcome: &ExecutionOutcome,
    file: &str,
    source: Option<&str>,
) -> Option<ScriptError> {
    let diagnostic = outcome
        .diagnostics
        .iter()
        .find(|d| d.severity == DiagnosticSeverity::Error)?;
    let error = ScriptError {
        identifier: Some(diagnostic.code.clone()).filter(|c| !c.is_empty()),
        message: diagnostic.message.clone(),
        kind: "runtime".to_string(),
        ..ScriptError::default()
    };
    Some(located(
        error,
        diagnostic.span.as_ref().map(|s| s.start),
        file,
        source,
    ))
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn offsets_map_to_one_based_lines_and_columns() {
        let source = "a = 1;\nb = [1 2\nc";
        assert_eq!(line_column(source, 0), (1, 1));
        assert_eq!(line_column(source, 7), (2, 1));
        assert_eq!(line_column(source, 11), (2, 5));
        assert_eq!(line_column(source, 999), (3, 2));
    }
}
