//! Direct attach: a runmat-core session hosted on a dedicated thread, with the deskless file
//! provider installed as RunMat's process-wide filesystem. Knows nothing about Node.

mod console;
mod diagnostics;
mod report;
mod session;
mod workspace_fs;

pub use deskless_confine::{ConfineMode, Confinement};
pub use report::{ExecutionReport, ScriptError, StreamEntry, StreamKind, VariableSummary};
pub use runmat_core::CompatMode;
pub use session::{
    EngineError, EngineOptions, EngineSession, ScriptSource, SessionJob, FALLBACK_NO_LANDLOCK,
    FALLBACK_NO_NETWORK_RULE,
};
pub use workspace_fs::{LostWrites, WorkspaceFs};
