//! Plain data the engine hands back to its host: no runmat types leak past this crate.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    Stdout,
    Stderr,
    Clear,
}

impl StreamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Stdout => "stdout",
            StreamKind::Stderr => "stderr",
            StreamKind::Clear => "clear",
        }
    }
}

#[derive(Clone, Debug)]
pub struct StreamEntry {
    pub stream: StreamKind,
    pub text: String,
    pub timestamp_ms: u64,
}

#[derive(Clone, Debug, Default)]
pub struct ScriptError {
    pub identifier: Option<String>,
    pub message: String,
    /// syntax, semantic, compile, runtime, or io (a write the runtime could not report itself).
    pub kind: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct VariableSummary {
    pub name: String,
    pub class_name: String,
    pub size: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct ExecutionReport {
    pub streams: Vec<StreamEntry>,
    pub error: Option<ScriptError>,
    pub duration_ms: f64,
    pub workspace: Vec<VariableSummary>,
    pub value_text: Option<String>,
    pub interrupted: bool,
}
