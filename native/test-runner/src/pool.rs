//! A RunMat `WorkerBackend` over a pool of deskless worker processes.
//!
//! RunMat's coordinator asks for a fresh session per fixture group (a test file) and shuts it
//! down after the group. Starting a worker (Node, the addon, a confined engine) costs far more
//! than a small test file, so `shutdown` returns the worker to the pool and the next `spawn`
//! installs the next group's plan into it. A worker that crashed, timed out past its grace or was
//! terminated is never reused. The runner-native crate's process backend is not used: it starts
//! one process per fixture group and its worker builds a bare RunMat session, without deskless's
//! file provider and confinement.

use std::collections::VecDeque;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::channel::mpsc;
use futures::StreamExt;
use runmat_test::event::TestEvent;
use runmat_test::protocol::{
    ProtocolHandshake, ProtocolLimits, WorkerCapability, WorkerRequest, WorkerResponse,
};
use runmat_test_runner::host::{HostCapabilities, IsolationMode};
use runmat_test_runner::worker::{
    validate_handshake, BackendCapabilities, BackendError, BackendErrorKind, BackendFuture,
    CancelRequest, ExecutionRequest, SpawnRequest, WorkerBackend, WorkerExecution,
};

use crate::frames::{read_response, write_request, FrameError};
use crate::live::{LiveEvent, LiveSink};

/// How to start one worker process.
#[derive(Clone, Debug)]
pub struct WorkerLaunch {
    pub executable: PathBuf,
    pub arguments: Vec<String>,
}

/// The prefix of a worker's custom capability naming a confinement rule its kernel cannot enforce.
pub const NOT_ENFORCED: &str = "deskless.not-enforced:";

/// A worker's exit status when its engine cannot be confined as `--confine require` asks
/// (the CLI's exit code for that, which the worker entry exits with).
pub const EXIT_CONFINEMENT_UNAVAILABLE: i32 = 9;

/// Why no worker could start: the run cannot go on.
#[derive(Debug)]
pub struct StartFailure {
    /// The worker exited with EXIT_CONFINEMENT_UNAVAILABLE.
    pub confinement: bool,
    pub message: String,
}

/// The last bytes a worker wrote to stderr, kept for the message of a crash.
const STDERR_TAIL_BYTES: usize = 16 * 1024;

pub fn capabilities() -> Vec<WorkerCapability> {
    vec![
        WorkerCapability::StrongIsolation,
        WorkerCapability::CapturedOutput,
        WorkerCapability::Coverage,
    ]
}

type Inbound = Result<WorkerResponse, FrameError>;

struct InFlight {
    test_id: String,
    attempt: u32,
    started: Instant,
}

struct Worker {
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    responses: futures::lock::Mutex<mpsc::UnboundedReceiver<Inbound>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    limits: Mutex<ProtocolLimits>,
    dead: AtomicBool,
    exit_code: Mutex<Option<i32>>,
    /// The confinement rules the worker's kernel cannot enforce (from its handshake).
    not_enforced: Mutex<Vec<String>>,
    in_flight: Mutex<Option<InFlight>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Worker {
    fn launch(launch: &WorkerLaunch) -> Result<Self, BackendError> {
        let mut child = Command::new(&launch.executable)
            .args(&launch.arguments)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| {
                BackendError::new(
                    BackendErrorKind::Unavailable,
                    format!(
                        "cannot start a test worker ({}): {error}",
                        launch.executable.display()
                    ),
                )
            })?;
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
        let (sender, responses) = mpsc::unbounded();
        let limits = ProtocolLimits::default();
        std::thread::Builder::new()
            .name("deskless-test-reader".into())
            .spawn(move || loop {
                let response = read_response(&mut stdout, limits);
                let stop = response.is_err();
                if sender.unbounded_send(response).is_err() || stop {
                    return;
                }
            })
            .map_err(|error| BackendError::new(BackendErrorKind::Unavailable, error.to_string()))?;
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr);
        std::thread::Builder::new()
            .name("deskless-test-stderr".into())
            .spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(read) = stderr_pipe.read(&mut buffer) {
                    if read == 0 {
                        return;
                    }
                    let mut tail = lock(&tail);
                    tail.extend(&buffer[..read]);
                    let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
                    tail.drain(..excess);
                }
            })
            .map_err(|error| BackendError::new(BackendErrorKind::Unavailable, error.to_string()))?;
        Ok(Self {
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            responses: futures::lock::Mutex::new(responses),
            stderr,
            limits: Mutex::new(limits),
            dead: AtomicBool::new(false),
            exit_code: Mutex::new(None),
            not_enforced: Mutex::new(Vec::new()),
            in_flight: Mutex::new(None),
        })
    }

    fn send(&self, request: &WorkerRequest) -> Result<(), BackendError> {
        let limits = *lock(&self.limits);
        let mut stdin = lock(&self.stdin);
        let Some(stdin) = stdin.as_mut() else {
            return Err(self.lost("the worker's input is closed"));
        };
        write_request(stdin, request, limits).map_err(|error| self.lost(&error))
    }

    async fn receive(&self) -> Result<WorkerResponse, BackendError> {
        let next = self.responses.lock().await.next().await;
        match next {
            Some(Ok(response)) => Ok(response),
            Some(Err(FrameError::Invalid(message))) => {
                self.dead.store(true, Ordering::SeqCst);
                Err(BackendError::new(
                    BackendErrorKind::MalformedProtocol,
                    self.with_stderr(format!("the test worker sent an invalid frame: {message}")),
                ))
            }
            Some(Err(FrameError::Closed)) | None => Err(self.lost("the test worker exited")),
        }
    }

    /// The worker is gone: its exit status and the end of its stderr explain why.
    fn lost(&self, what: &str) -> BackendError {
        self.dead.store(true, Ordering::SeqCst);
        let status = match lock(&self.child).wait() {
            Ok(status) => {
                *lock(&self.exit_code) = status.code();
                format!(" ({status})")
            }
            Err(_) => String::new(),
        };
        BackendError::new(
            BackendErrorKind::Crashed,
            self.with_stderr(format!("{what}{status}")),
        )
    }

    fn with_stderr(&self, message: String) -> String {
        let tail = lock(&self.stderr);
        let text = String::from_utf8_lossy(&tail.iter().copied().collect::<Vec<_>>()).to_string();
        let text = text.trim();
        if text.is_empty() {
            message
        } else {
            format!("{message}; its stderr ends: {text}")
        }
    }

    async fn handshake(&self) -> Result<(), BackendError> {
        let local = ProtocolHandshake::current("deskless-test-coordinator", capabilities());
        self.send(&WorkerRequest::Handshake(local.clone()))?;
        match self.receive().await? {
            WorkerResponse::Handshake(remote) => {
                let limits = validate_handshake(&local, &remote).map_err(|error| {
                    BackendError::new(BackendErrorKind::MalformedProtocol, error.to_string())
                })?;
                *lock(&self.limits) = limits;
                *lock(&self.not_enforced) = remote
                    .capabilities
                    .iter()
                    .filter_map(|capability| match capability {
                        WorkerCapability::Custom(name) => {
                            name.strip_prefix(NOT_ENFORCED).map(str::to_string)
                        }
                        _ => None,
                    })
                    .collect();
                Ok(())
            }
            other => Err(BackendError::new(
                BackendErrorKind::MalformedProtocol,
                format!("the test worker answered the handshake with {other:?}"),
            )),
        }
    }

    fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
        let mut child = lock(&self.child);
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Ends an idle worker: Shutdown, then end of input; waits for it to exit.
    fn close(&self) {
        if !self.dead.load(Ordering::SeqCst) {
            let _ = self.send(&WorkerRequest::Shutdown);
        }
        lock(&self.stdin).take();
        let _ = lock(&self.child).wait();
    }
}

#[derive(Clone)]
pub struct PoolSession {
    id: u64,
    worker: Arc<Worker>,
}

impl fmt::Debug for PoolSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolSession").field("id", &self.id).finish()
    }
}

impl PartialEq for PoolSession {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for PoolSession {}

pub struct PoolBackend {
    launch: WorkerLaunch,
    /// Keep the workers' coverage fragments (RunMat 0.6.2 cannot merge those of two script
    /// sections of one file, so they are only collected when a coverage report is asked for).
    coverage: bool,
    capabilities: BackendCapabilities,
    idle: Mutex<Vec<Arc<Worker>>>,
    all: Mutex<Vec<Arc<Worker>>>,
    sequence: AtomicU64,
    live: Arc<dyn LiveSink>,
}

impl PoolBackend {
    pub fn new(
        launch: WorkerLaunch,
        max_workers: usize,
        coverage: bool,
        live: Arc<dyn LiveSink>,
    ) -> Result<Self, String> {
        let host = HostCapabilities::new([IsolationMode::Process], max_workers)
            .map_err(|error| error.to_string())?;
        Ok(Self {
            launch,
            coverage,
            capabilities: BackendCapabilities {
                host,
                handshake: ProtocolHandshake::current("deskless-test-coordinator", capabilities()),
            },
            idle: Mutex::new(Vec::new()),
            all: Mutex::new(Vec::new()),
            sequence: AtomicU64::new(0),
            live,
        })
    }

    /// How many worker processes the run started.
    pub fn started(&self) -> usize {
        lock(&self.all).len()
    }

    /// Ends every worker; the run is over.
    pub fn close(&self) {
        lock(&self.idle).clear();
        for worker in lock(&self.all).drain(..) {
            worker.close();
        }
    }

    /// Starts the first worker before the run, so that a worker that cannot start at all (no
    /// confinement under `--confine require`, no addon) fails the run once, not every test.
    /// Returns the confinement rules its kernel cannot enforce.
    pub fn prestart(&self) -> Result<Vec<String>, StartFailure> {
        let started = futures::executor::block_on(self.fresh_worker());
        match started {
            Ok(worker) => {
                let not_enforced = lock(&worker.not_enforced).clone();
                lock(&self.idle).push(worker);
                Ok(not_enforced)
            }
            Err(error) => {
                let confinement = lock(&self.all)
                    .iter()
                    .any(|worker| *lock(&worker.exit_code) == Some(EXIT_CONFINEMENT_UNAVAILABLE));
                Err(StartFailure {
                    confinement,
                    message: error.message,
                })
            }
        }
    }

    async fn fresh_worker(&self) -> Result<Arc<Worker>, BackendError> {
        let worker = Arc::new(Worker::launch(&self.launch)?);
        lock(&self.all).push(Arc::clone(&worker));
        worker.handshake().await?;
        Ok(worker)
    }

    async fn install(worker: &Worker, request: &SpawnRequest) -> Result<(), BackendError> {
        let run_id = request.submission.plan.run_id.clone();
        worker.send(&WorkerRequest::InstallPlan {
            plan: Box::new(request.submission.plan.clone()),
            snapshot: Box::new(request.submission.snapshot.clone()),
        })?;
        match worker.receive().await? {
            WorkerResponse::Ready { run_id: ready } if ready == run_id => Ok(()),
            WorkerResponse::Rejected { code, message } => Err(BackendError::new(
                BackendErrorKind::Rejected,
                format!("{code}: {message}"),
            )),
            other => Err(BackendError::new(
                BackendErrorKind::MalformedProtocol,
                format!("the test worker answered the plan with {other:?}"),
            )),
        }
    }

    fn finish_live(&self, worker: &Worker, disposition: &str) {
        if let Some(in_flight) = lock(&worker.in_flight).take() {
            self.live.event(LiveEvent::Finished {
                test_id: in_flight.test_id,
                attempt: in_flight.attempt,
                disposition: disposition.to_string(),
                duration_ms: in_flight.started.elapsed().as_secs_f64() * 1000.0,
            });
        }
    }
}

fn disposition_name(execution: &WorkerExecution) -> String {
    serde_json::to_value(execution.result.state.disposition)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_else(|| "failed".into())
}

impl WorkerBackend for PoolBackend {
    type Session = PoolSession;

    fn capabilities(&self) -> BackendCapabilities {
        self.capabilities.clone()
    }

    fn spawn<'a>(&'a self, request: SpawnRequest) -> BackendFuture<'a, Self::Session> {
        Box::pin(async move {
            let reused = lock(&self.idle).pop();
            let worker = match reused {
                Some(worker) => match Self::install(&worker, &request).await {
                    Ok(()) => worker,
                    Err(_) => {
                        worker.kill();
                        let worker = self.fresh_worker().await?;
                        Self::install(&worker, &request).await?;
                        worker
                    }
                },
                None => {
                    let worker = self.fresh_worker().await?;
                    Self::install(&worker, &request).await?;
                    worker
                }
            };
            Ok(PoolSession {
                id: self.sequence.fetch_add(1, Ordering::Relaxed),
                worker,
            })
        })
    }

    fn execute<'a>(
        &'a self,
        session: &'a Self::Session,
        request: ExecutionRequest,
    ) -> BackendFuture<'a, WorkerExecution> {
        Box::pin(async move {
            let worker = &session.worker;
            let test_id = request.test_id.as_str().to_string();
            self.live.event(LiveEvent::Started {
                test_id: test_id.clone(),
                attempt: request.attempt,
            });
            *lock(&worker.in_flight) = Some(InFlight {
                test_id,
                attempt: request.attempt,
                started: Instant::now(),
            });
            let mut outcome = execute_on(worker, &request).await;
            if let (Ok(execution), false) = (&mut outcome, self.coverage) {
                execution.coverage.clear();
            }
            match &outcome {
                Ok(execution) => self.finish_live(worker, &disposition_name(execution)),
                Err(_) => self.finish_live(worker, "crashed"),
            }
            outcome
        })
    }

    fn cancel<'a>(
        &'a self,
        session: &'a Self::Session,
        request: CancelRequest,
    ) -> BackendFuture<'a, Option<WorkerExecution>> {
        Box::pin(async move {
            // The coordinator's deadline race names its cancellations "deadline elapsed".
            let timed_out = request.reason == "deadline elapsed";
            self.finish_live(
                &session.worker,
                if timed_out { "timed_out" } else { "cancelled" },
            );
            let worker = &session.worker;
            worker.send(&WorkerRequest::Cancel {
                run_id: request.run_id,
                reason: request.reason,
            })?;
            // The worker ignores a Cancel that finds no test running (it already completed),
            // so the only answer to read is that test's completion.
            match completion(worker, "a cancellation").await? {
                Completion::Done(mut execution) => {
                    if !self.coverage {
                        execution.coverage.clear();
                    }
                    Ok(Some(execution))
                }
                Completion::Rejected(_) => Ok(None),
            }
        })
    }

    fn terminate<'a>(&'a self, session: &'a Self::Session) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            self.finish_live(&session.worker, "crashed");
            session.worker.kill();
            Ok(())
        })
    }

    fn shutdown<'a>(&'a self, session: &'a Self::Session) -> BackendFuture<'a, ()> {
        Box::pin(async move {
            if !session.worker.dead.load(Ordering::SeqCst) {
                lock(&self.idle).push(Arc::clone(&session.worker));
            }
            Ok(())
        })
    }
}

/// How a worker answered a test's execution: its completion (with the events before it), or a
/// rejection.
enum Completion {
    Done(WorkerExecution),
    Rejected(String),
}

/// Reads a worker's answers to one execution up to its completion or rejection.
async fn completion(worker: &Worker, what: &str) -> Result<Completion, BackendError> {
    let mut events: Vec<TestEvent> = Vec::new();
    loop {
        match worker.receive().await? {
            WorkerResponse::Event { event } => events.push(event),
            WorkerResponse::Completed { result, coverage } => {
                return Ok(Completion::Done(WorkerExecution {
                    result,
                    events,
                    coverage,
                }))
            }
            WorkerResponse::Rejected { code, message } => {
                return Ok(Completion::Rejected(format!("{code}: {message}")))
            }
            other => {
                return Err(BackendError::new(
                    BackendErrorKind::MalformedProtocol,
                    format!("the test worker answered {what} with {other:?}"),
                ))
            }
        }
    }
}

async fn execute_on(
    worker: &Worker,
    request: &ExecutionRequest,
) -> Result<WorkerExecution, BackendError> {
    worker.send(&WorkerRequest::Execute {
        test_id: request.test_id.clone(),
        attempt: request.attempt,
    })?;
    match completion(worker, "an execution").await? {
        Completion::Done(execution)
            if execution.result.test_id == request.test_id
                && execution.result.attempt == request.attempt =>
        {
            Ok(execution)
        }
        Completion::Done(execution) => Err(BackendError::new(
            BackendErrorKind::MalformedProtocol,
            format!(
                "the test worker completed '{}' attempt {} instead",
                execution.result.test_id.as_str(),
                execution.result.attempt
            ),
        )),
        Completion::Rejected(message) => {
            Err(BackendError::new(BackendErrorKind::Rejected, message))
        }
    }
}
