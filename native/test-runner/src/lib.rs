//! `deskless test`: RunMat's own test domain (discovery, plans, identities: `runmat-test`) and
//! coordinator (scheduling, timeouts, reporters: `runmat-test-runner`), run on deskless worker
//! processes. Each worker holds one confined direct engine session, because RunMat's filesystem
//! provider is process-wide; the pool reuses a worker across fixture groups. Knows nothing about
//! Node.

mod cancel;
mod frames;
mod labels;
mod live;
mod locate;
mod plan;
mod pool;
mod render;
mod run;
mod sources;
mod timer;
mod unreadable;
mod worker;

pub use live::{LiveEvent, LiveSink};
pub use plan::{prepare, ListedTest, PrepareError, Prepared, Selection};
pub use pool::{StartFailure, WorkerLaunch, EXIT_CONFINEMENT_UNAVAILABLE};
pub use render::{Report, ReportFormat};
pub use run::{run_tests, CoverageFormat, RunError, RunHandle, RunOptions, RunOutcome};
pub use sources::{project_test_roots, TestSource};
pub use worker::{serve_worker, take_protocol_stdio, Served};
