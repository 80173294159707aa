//! One `deskless test` run: RunMat's coordinator over the worker pool, then RunMat's reporters
//! over the run's events, with the files that did not parse reported against themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use runmat_test::coverage::CoverageFilter;
use runmat_test::event::{TestEvent, TestEventPayload};
use runmat_test::result::{aggregate_run_state, merge_attempts, RunResult, TestResult};
use runmat_test_runner::coverage::{render_coverage_reports, CoverageReportFormat};
use runmat_test_runner::host::IsolationMode;
use runmat_test_runner::reporter::ReporterFanout;
use runmat_test_runner::telemetry::NoopTelemetry;
use runmat_test_runner::worker::RunSubmission;
use runmat_test_runner::{Coordinator, CoordinatorConfig};

use crate::cancel::RunCancellation;
use crate::labels::labels;
use crate::live::{LiveEvent, LiveSink};
use crate::locate::Locator;
use crate::plan::{ListedTest, Prepared};
use crate::pool::{PoolBackend, StartFailure, WorkerLaunch};
use crate::render::{render, Report, ReportFormat};
use crate::sources::root_of_owner;
use crate::unreadable::{unreadable_attempt, unreadable_id};

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum CoverageFormat {
    Lcov,
    Cobertura,
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub jobs: usize,
    pub timeout_ms: Option<u64>,
    pub fail_fast: bool,
    pub reports: Vec<ReportFormat>,
    pub coverage: Vec<CoverageFormat>,
    pub shard_index: Option<u32>,
    pub shard_count: Option<u32>,
    pub launch: WorkerLaunch,
    /// The folder the reports name files from (the run's folder).
    pub display_base: Option<std::path::PathBuf>,
}

/// Cancels a run from another thread (Ctrl-C); the run still returns its results and reports.
#[derive(Clone, Default)]
pub struct RunHandle {
    cancellation: RunCancellation,
}

impl RunHandle {
    pub fn cancel(&self, reason: &str) {
        self.cancellation.cancel(reason);
    }
}

#[derive(Clone, Debug)]
pub struct TestOutcome {
    pub id: String,
    pub name: String,
    /// RunMat's terminal disposition: passed, failed, timed_out, cancelled, crashed.
    pub disposition: String,
    pub duration_ms: f64,
    pub identifier: Option<String>,
    pub message: Option<String>,
    /// Where the failure is, else where the test is: the root and the path beneath it.
    pub root: String,
    pub relative_path: String,
    pub line: u32,
    pub output: String,
}

#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub tests: Vec<TestOutcome>,
    pub reports: Vec<Report>,
    /// Worker processes started.
    pub workers: usize,
    pub cancelled: Option<String>,
    /// The confinement rules the workers' kernel cannot enforce.
    pub not_enforced: Vec<String>,
}

/// Records durations and stops the run after the first failure when asked to.
struct Recorder {
    inner: Arc<dyn LiveSink>,
    durations: Mutex<HashMap<String, f64>>,
    fail_fast: Option<RunCancellation>,
}

const FAIL_FAST_REASON: &str = "--fail-fast: an earlier test did not pass";

impl LiveSink for Recorder {
    fn event(&self, event: LiveEvent) {
        if let LiveEvent::Finished {
            test_id,
            disposition,
            duration_ms,
            ..
        } = &event
        {
            self.durations
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(test_id.clone(), *duration_ms);
            if let Some(cancellation) = &self.fail_fast {
                if disposition != "passed" && disposition != "cancelled" {
                    cancellation.cancel(FAIL_FAST_REASON);
                }
            }
        }
        self.inner.event(event);
    }
}

/// Why a run could not produce results.
#[derive(Debug)]
pub enum RunError {
    /// No worker could start.
    Workers(StartFailure),
    Failed(String),
}

impl From<String> for RunError {
    fn from(message: String) -> Self {
        RunError::Failed(message)
    }
}

pub fn run_tests(
    prepared: &Prepared,
    options: &RunOptions,
    live: Arc<dyn LiveSink>,
    handle: &RunHandle,
) -> Result<RunOutcome, RunError> {
    let cancellation = handle.cancellation.clone();
    let recorder = Arc::new(Recorder {
        inner: live,
        durations: Mutex::new(HashMap::new()),
        fail_fast: options.fail_fast.then(|| cancellation.clone()),
    });
    let backend = PoolBackend::new(
        options.launch.clone(),
        options.jobs.max(1),
        !options.coverage.is_empty(),
        Arc::clone(&recorder) as Arc<dyn LiveSink>,
    )?;
    let coordinator = Coordinator::new(CoordinatorConfig {
        isolation: IsolationMode::Process,
        jobs: options.jobs.max(1),
        timeout_ms: options.timeout_ms,
        shard_index: options.shard_index,
        shard_count: options.shard_count,
        ..CoordinatorConfig::default()
    })
    .map_err(|error| error.to_string())?;
    let submission = RunSubmission::new(prepared.plan.clone(), prepared.snapshot.clone())
        .map_err(|error| error.to_string())?;
    let not_enforced = if prepared.plan.suites.is_empty() {
        Vec::new()
    } else {
        backend.prestart().map_err(RunError::Workers)?
    };
    let clock = crate::timer::TimerClock::start();
    let mut observers = ReporterFanout::default();
    let run = futures::executor::block_on(coordinator.run(
        submission,
        &backend,
        &clock,
        &cancellation,
        &NoopTelemetry,
        &mut observers,
    ));
    let workers = backend.started();
    backend.close();
    let run = run.map_err(|error| error.to_string())?;

    let mut events = run.events;
    let finished = events.pop();
    let mut tests = run.result.tests;
    for unreadable in &prepared.unreadable {
        let attempt = unreadable_attempt(unreadable);
        events.push(event(TestEventPayload::TestStarted {
            test_id: attempt.test_id.clone(),
            attempt: 1,
        }));
        events.push(event(TestEventPayload::TestFinished {
            result: attempt.clone(),
        }));
        tests.extend(merge_attempts(attempt.test_id.clone(), vec![attempt]));
    }
    let result = RunResult {
        run_id: run.result.run_id,
        state: aggregate_run_state(tests.iter().map(|test| &test.state)),
        tests,
    };
    events.extend(finished.map(|_| {
        event(TestEventPayload::RunFinished {
            result: result.clone(),
        })
    }));
    for (sequence, event) in events.iter_mut().enumerate() {
        event.sequence = sequence as u64;
        event.run_id = result.run_id.clone();
    }

    let mut named = labels(&prepared.listed);
    for unreadable in &prepared.unreadable {
        named.insert(
            unreadable_id(unreadable).as_str().to_string(),
            unreadable.relative_path.clone(),
        );
    }
    let locator = Locator::new(&prepared.listed, options.display_base.as_deref());
    let mut reports = render(
        &options.reports,
        &locator.events(&events),
        &locator.result(&result),
        &named,
    )?;
    let coverage_formats: Vec<_> = options
        .coverage
        .iter()
        .map(|format| match format {
            CoverageFormat::Lcov => CoverageReportFormat::Lcov,
            CoverageFormat::Cobertura => CoverageReportFormat::Cobertura,
        })
        .collect();
    if !coverage_formats.is_empty() {
        let rendered =
            render_coverage_reports(&run.coverage, &CoverageFilter::default(), &coverage_formats)
                .map_err(|error| error.to_string())?;
        reports.extend(rendered.into_iter().map(|report| Report {
            name: report.name,
            bytes: report.bytes,
        }));
    }
    let durations = recorder
        .durations
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let listed: HashMap<&str, &ListedTest> = prepared
        .listed
        .iter()
        .map(|test| (test.id.as_str(), test))
        .collect();
    let outcomes = result
        .tests
        .iter()
        .map(|test| outcome(test, &named, &listed, &durations))
        .collect();
    Ok(RunOutcome {
        tests: outcomes,
        reports,
        workers,
        cancelled: cancellation_reason(&cancellation),
        not_enforced,
    })
}

fn cancellation_reason(cancellation: &RunCancellation) -> Option<String> {
    use runmat_test_runner::host::CancellationPort;
    cancellation.reason()
}

fn event(payload: TestEventPayload) -> TestEvent {
    TestEvent {
        sequence: 0,
        run_id: runmat_test::identity::RunId::derive("", ""),
        payload,
    }
}

fn outcome(
    test: &TestResult,
    named: &HashMap<String, String>,
    listed: &HashMap<&str, &ListedTest>,
    durations: &HashMap<String, f64>,
) -> TestOutcome {
    let id = test.test_id.as_str();
    let attempt = test.attempts.last();
    let diagnostic = attempt.and_then(|attempt| attempt.diagnostics.first());
    let descriptor = listed.get(id);
    let (root, relative_path, line) = match diagnostic.and_then(|d| d.source.as_ref()) {
        Some(source) => (
            root_of_owner(&source.owner_identity).to_string(),
            source.relative_path.clone(),
            source.span.start_line,
        ),
        None => descriptor
            .map(|test| (test.root.clone(), test.relative_path.clone(), test.line))
            .unwrap_or_default(),
    };
    TestOutcome {
        id: id.to_string(),
        name: named.get(id).cloned().unwrap_or_else(|| id.to_string()),
        disposition: serde_json::to_value(test.state.disposition)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_else(|| "failed".into()),
        duration_ms: durations.get(id).copied().unwrap_or(0.0),
        identifier: diagnostic.map(|d| d.identifier.clone()),
        message: diagnostic.map(|d| d.message.clone()),
        root,
        relative_path,
        line,
        output: attempt.map(|a| a.output.clone()).unwrap_or_default(),
    }
}
