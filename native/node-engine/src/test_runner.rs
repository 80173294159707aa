//! napi face of `deskless test`: converts types; discovery, the coordinator, the worker pool and
//! the reports live in the deskless-test-runner crate.

use std::path::PathBuf;
use std::sync::Arc;

use deskless_test_runner::{
    prepare, CoverageFormat, ListedTest, LiveEvent, LiveSink, PrepareError, Prepared, ReportFormat,
    RunError, RunHandle, RunOptions, RunOutcome, Selection, TestSource, WorkerLaunch,
};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::engine::{compat_mode, engine_error, engine_options, EngineSessionOptions};
use crate::errors::{invalid_js, JsResult};
use crate::file_provider::FileProvider;

#[napi(object)]
pub struct TestSourceFile {
    pub root: String,
    /// The path beneath `root`, with `/`
    pub relative_path: String,
    pub content: String,
}

#[napi(object)]
pub struct TestSelectionOptions {
    /// Substrings of test names (any matches)
    pub names: Option<Vec<String>>,
    /// Tags a test must all have
    pub tags: Option<Vec<String>>,
    pub exclude_tags: Option<Vec<String>>,
    pub shard_index: Option<u32>,
    pub shard_count: Option<u32>,
    /// "matlab" (default), "runmat" or "strict"
    pub compat: Option<String>,
}

#[napi(object)]
pub struct TestListing {
    pub id: String,
    pub name: String,
    pub suite: String,
    pub root: String,
    pub relative_path: String,
    pub line: u32,
    pub tags: Vec<String>,
}

#[napi(object)]
pub struct UnreadableTestFile {
    pub code: String,
    pub message: String,
    pub root: String,
    pub relative_path: String,
    pub line: u32,
}

#[napi(object)]
pub struct TestRunOptions {
    pub jobs: u32,
    pub timeout_ms: Option<f64>,
    pub fail_fast: Option<bool>,
    /// Any of "junit", "tap", "json", "human"
    pub reports: Vec<String>,
    /// Any of "lcov", "cobertura"
    pub coverage: Option<Vec<String>>,
    /// The worker process: its executable and arguments
    pub worker_executable: String,
    pub worker_arguments: Vec<String>,
    /// The folder report paths are relative to (default: the roots' own paths)
    pub display_base: Option<String>,
}

#[napi(object)]
#[derive(Clone)]
pub struct TestLiveEvent {
    /// "started" or "finished"
    pub kind: String,
    pub test_id: String,
    pub attempt: u32,
    pub disposition: Option<String>,
    pub duration_ms: Option<f64>,
}

#[napi(object)]
pub struct TestOutcomeJs {
    pub id: String,
    pub name: String,
    /// passed, failed, timed_out, cancelled or crashed
    pub disposition: String,
    pub duration_ms: f64,
    pub identifier: Option<String>,
    pub message: Option<String>,
    pub root: String,
    pub relative_path: String,
    pub line: u32,
    pub output: String,
}

#[napi(object)]
pub struct RenderedTestReport {
    pub name: String,
    pub bytes: Buffer,
}

/// No worker could start, so nothing ran.
#[napi(object)]
pub struct TestRunFailure {
    /// "CONFINEMENT_UNAVAILABLE" (`--confine require` and the kernel cannot confine) or
    /// "TEST_WORKER_FAILED"
    pub code: String,
    pub message: String,
}

#[napi(object)]
pub struct TestRunResult {
    pub tests: Vec<TestOutcomeJs>,
    pub reports: Vec<RenderedTestReport>,
    pub workers: u32,
    pub cancelled: Option<String>,
    pub failure: Option<TestRunFailure>,
    /// The confinement rules the workers' kernel cannot enforce
    pub not_enforced: Vec<String>,
}

fn listing(test: &ListedTest) -> TestListing {
    TestListing {
        id: test.id.clone(),
        name: test.name.clone(),
        suite: test.suite.clone(),
        root: test.root.clone(),
        relative_path: test.relative_path.clone(),
        line: test.line,
        tags: test.tags.clone(),
    }
}

fn report_format(name: &str) -> JsResult<ReportFormat> {
    match name {
        "junit" => Ok(ReportFormat::Junit),
        "tap" => Ok(ReportFormat::Tap),
        "json" => Ok(ReportFormat::Json),
        "human" => Ok(ReportFormat::Human),
        other => Err(invalid_js(format!(
            "a report is junit, tap, json or human, not \"{other}\""
        ))),
    }
}

fn coverage_format(name: &str) -> JsResult<CoverageFormat> {
    match name {
        "lcov" => Ok(CoverageFormat::Lcov),
        "cobertura" => Ok(CoverageFormat::Cobertura),
        other => Err(invalid_js(format!(
            "coverage is lcov or cobertura, not \"{other}\""
        ))),
    }
}

type LiveCallback = ThreadsafeFunction<TestLiveEvent, (), TestLiveEvent, Status, false>;

struct JsLiveSink(Option<Arc<LiveCallback>>);

impl LiveSink for JsLiveSink {
    fn event(&self, event: LiveEvent) {
        let Some(callback) = &self.0 else { return };
        let event = match event {
            LiveEvent::Started { test_id, attempt } => TestLiveEvent {
                kind: "started".into(),
                test_id,
                attempt,
                disposition: None,
                duration_ms: None,
            },
            LiveEvent::Finished {
                test_id,
                attempt,
                disposition,
                duration_ms,
            } => TestLiveEvent {
                kind: "finished".into(),
                test_id,
                attempt,
                disposition: Some(disposition),
                duration_ms: Some(duration_ms),
            },
        };
        callback.call(event, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

pub struct RunTask {
    prepared: Arc<Prepared>,
    options: RunOptions,
    live: Option<Arc<LiveCallback>>,
    handle: RunHandle,
}

impl Task for RunTask {
    type Output = std::result::Result<RunOutcome, TestRunFailure>;
    type JsValue = TestRunResult;

    fn compute(&mut self) -> Result<Self::Output> {
        let live = Arc::new(JsLiveSink(self.live.take()));
        match deskless_test_runner::run_tests(&self.prepared, &self.options, live, &self.handle) {
            Ok(outcome) => Ok(Ok(outcome)),
            Err(RunError::Workers(failure)) => Ok(Err(TestRunFailure {
                code: if failure.confinement {
                    "CONFINEMENT_UNAVAILABLE"
                } else {
                    "TEST_WORKER_FAILED"
                }
                .into(),
                message: failure.message,
            })),
            Err(RunError::Failed(message)) => Err(Error::new(Status::GenericFailure, message)),
        }
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        let output = match output {
            Ok(output) => output,
            Err(failure) => {
                return Ok(TestRunResult {
                    tests: Vec::new(),
                    reports: Vec::new(),
                    workers: 0,
                    cancelled: None,
                    failure: Some(failure),
                    not_enforced: Vec::new(),
                })
            }
        };
        Ok(TestRunResult {
            tests: output
                .tests
                .into_iter()
                .map(|test| TestOutcomeJs {
                    id: test.id,
                    name: test.name,
                    disposition: test.disposition,
                    duration_ms: test.duration_ms,
                    identifier: test.identifier,
                    message: test.message,
                    root: test.root,
                    relative_path: test.relative_path,
                    line: test.line,
                    output: test.output,
                })
                .collect(),
            reports: output
                .reports
                .into_iter()
                .map(|report| RenderedTestReport {
                    name: report.name,
                    bytes: report.bytes.into(),
                })
                .collect(),
            workers: output.workers as u32,
            cancelled: output.cancelled,
            failure: None,
            not_enforced: output.not_enforced,
        })
    }
}

/// A discovered, selected set of tests, frozen from the given sources; run it once or list it.
#[napi]
pub struct TestRun {
    prepared: Arc<Prepared>,
    shard_index: Option<u32>,
    shard_count: Option<u32>,
    handle: RunHandle,
}

#[napi]
impl TestRun {
    /// Discovers the tests in `sources` with RunMat's rules and applies the selection.
    #[napi(factory)]
    pub fn prepare(
        sources: Vec<TestSourceFile>,
        selection: TestSelectionOptions,
    ) -> Result<Self, String> {
        let compat = compat_mode(selection.compat.as_deref())?;
        let sources: Vec<TestSource> = sources
            .into_iter()
            .map(|source| TestSource {
                root: source.root,
                relative_path: source.relative_path,
                content: source.content,
            })
            .collect();
        let chosen = Selection {
            names: selection.names.unwrap_or_default(),
            tags: selection.tags.unwrap_or_default(),
            exclude_tags: selection.exclude_tags.unwrap_or_default(),
            shard_index: selection.shard_index,
            shard_count: selection.shard_count,
        };
        let prepared = prepare(&sources, &chosen, compat).map_err(|error| match error {
            PrepareError::Invalid(message) => invalid_js(message),
            PrepareError::Discovery(message) => {
                Error::new("TEST_DISCOVERY_FAILED".to_string(), message)
            }
        })?;
        Ok(Self {
            prepared: Arc::new(prepared),
            shard_index: selection.shard_index,
            shard_count: selection.shard_count,
            handle: RunHandle::default(),
        })
    }

    /// The selected tests, in plan order.
    #[napi(getter)]
    pub fn tests(&self) -> Vec<TestListing> {
        self.prepared.listed.iter().map(listing).collect()
    }

    /// Files that do not parse: each is reported as a failed test of its own.
    #[napi(getter)]
    pub fn unreadable(&self) -> Vec<UnreadableTestFile> {
        self.prepared
            .unreadable
            .iter()
            .map(|file| UnreadableTestFile {
                code: file.code.clone(),
                message: file.message.clone(),
                root: file.root.clone(),
                relative_path: file.relative_path.clone(),
                line: file.line,
            })
            .collect()
    }

    /// Runs the tests on worker processes; `onEvent` hears each test start and finish.
    #[napi(ts_return_type = "Promise<TestRunResult>")]
    pub fn run(
        &self,
        options: TestRunOptions,
        #[napi(ts_arg_type = "((event: TestLiveEvent) => void) | undefined | null")]
        on_event: Option<LiveCallback>,
    ) -> Result<AsyncTask<RunTask>, String> {
        if options.jobs == 0 {
            return Err(invalid_js("jobs must be at least 1"));
        }
        let reports = options
            .reports
            .iter()
            .map(|name| report_format(name))
            .collect::<JsResult<Vec<_>>>()?;
        let coverage = options
            .coverage
            .unwrap_or_default()
            .iter()
            .map(|name| coverage_format(name))
            .collect::<JsResult<Vec<_>>>()?;
        let run_options = RunOptions {
            jobs: options.jobs as usize,
            timeout_ms: options.timeout_ms.map(|ms| ms.max(1.0) as u64),
            fail_fast: options.fail_fast.unwrap_or(false),
            reports,
            coverage,
            shard_index: self.shard_index,
            shard_count: self.shard_count,
            launch: WorkerLaunch {
                executable: PathBuf::from(options.worker_executable),
                arguments: options.worker_arguments,
            },
            display_base: options.display_base.map(PathBuf::from),
        };
        Ok(AsyncTask::new(RunTask {
            prepared: Arc::clone(&self.prepared),
            options: run_options,
            live: on_event.map(Arc::new),
            handle: self.handle.clone(),
        }))
    }

    /// Stops the run: running tests are cancelled, the rest recorded as cancelled.
    #[napi]
    pub fn cancel(&self, reason: String) {
        self.handle.cancel(&reason);
    }
}

/// The test roots of the RunMat project `dir` is in (`runmat.toml` `[test] roots`), or null.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn project_test_roots(dir: String) -> Result<Option<Vec<String>>, String> {
    deskless_test_runner::project_test_roots(std::path::Path::new(&dir))
        .map(|roots| {
            roots.map(|roots| {
                roots
                    .into_iter()
                    .map(|root| root.to_string_lossy().into_owned())
                    .collect()
            })
        })
        .map_err(invalid_js)
}

/// In a worker process: starts the confined engine over `provider`, then serves RunMat's worker
/// protocol on the process's stdin/stdout until the coordinator shuts it down. Blocks.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn serve_test_worker(
    provider: &FileProvider,
    options: Option<EngineSessionOptions>,
) -> std::result::Result<(), Error<String>> {
    let options = engine_options(options)?;
    let failed = |message: String| Error::new("TEST_WORKER_FAILED".to_string(), message);
    let (input, output) =
        deskless_test_runner::take_protocol_stdio().map_err(|e| failed(e.to_string()))?;
    let engine =
        deskless_engine::EngineSession::start(provider.inner(), options).map_err(engine_error)?;
    let served = deskless_test_runner::serve_worker(input, output, &engine);
    match served {
        Ok(deskless_test_runner::Served::Done) => engine.close(),
        // A test may still be running and nobody waits for it: do not join the engine thread;
        // the caller exits the process.
        _ => std::mem::forget(engine),
    }
    served.map(|_| ()).map_err(failed)
}
