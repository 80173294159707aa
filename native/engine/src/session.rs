//! One RunMat session on its own thread. RunMat sessions are not `Send` and capture output per
//! thread, so every execution of a session runs on the thread that created it; callers talk to
//! it through a channel and may block on the reply from any thread.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use deskless_fs::Provider;
use runmat_core::abi::{ExecutionRequest, HostExecutionPolicy, RuntimeFlow, SourceInput};
use runmat_core::{CompatMode, InputRequest, InputResponse, RunMatSession};

use crate::console::{self, OutputSink};
use crate::diagnostics;
use crate::report::{ExecutionReport, ScriptError, StreamEntry, StreamKind, VariableSummary};
use crate::workspace_fs::{LostWrites, WorkspaceFs};
use deskless_confine::{
    confine_current_thread, refusal_hint, ConfineError, ConfineMode, Confinement, ConfinementPolicy,
};

pub enum ScriptSource {
    /// A script file, read through the workspace provider.
    File(PathBuf),
    Text {
        name: String,
        text: String,
    },
}

#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    pub enable_jit: bool,
    pub telemetry: bool,
    /// Folders put on the MATLAB path before the session starts.
    pub search_path: Vec<String>,
    /// The starting cwd; defaults to the first workspace root.
    pub cwd: Option<PathBuf>,
    /// Language compatibility: MATLAB (the default), RunMat extensions, or strict.
    pub compat: CompatMode,
    /// Kernel confinement of the session thread beneath the provider's roots.
    pub confine: ConfineMode,
    /// Lift the confinement's TCP connect and bind rule.
    pub allow_net: bool,
    /// Test hook: confine as if the kernel offered at most this Landlock ABI (0: none).
    pub landlock_abi_limit: Option<u32>,
}

/// Recorded in the provider's fallbacks when the kernel cannot confine the engine at all.
pub const FALLBACK_NO_LANDLOCK: &str = "landlock-unavailable:provider-rules-only";
/// Recorded when the kernel confines files but cannot refuse TCP (Landlock ABI < 4).
pub const FALLBACK_NO_NETWORK_RULE: &str = "landlock-network-unavailable:network-open";

#[derive(Debug)]
pub enum EngineError {
    /// Only one session may own RunMat's process-wide filesystem at a time.
    Busy,
    Closed,
    Start(String),
    Confinement(ConfineError),
}

impl EngineError {
    /// A stable code for each kind of failure, for the host's error type.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Busy => "ENGINE_BUSY",
            EngineError::Closed => "ENGINE_CLOSED",
            EngineError::Start(_) => "ENGINE_START_FAILED",
            EngineError::Confinement(ConfineError::Unavailable(_)) => "CONFINEMENT_UNAVAILABLE",
            EngineError::Confinement(ConfineError::Failed(_)) => "CONFINEMENT_FAILED",
        }
    }
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Busy => write!(
                f,
                "another direct-attach session is active in this process; close it first"
            ),
            EngineError::Closed => write!(f, "the engine session is closed"),
            EngineError::Start(message) => {
                write!(f, "the RunMat engine failed to start: {message}")
            }
            EngineError::Confinement(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for EngineError {}

static ACTIVE: AtomicBool = AtomicBool::new(false);

struct Execute {
    source: ScriptSource,
    sink: OutputSink,
    reply: mpsc::Sender<ExecutionReport>,
}

/// Work run on the session thread with its RunMat session, such as one planned test. It gets
/// the session's lost writes too, so that a write lost on close fails the work that lost it.
pub type SessionJob = Box<dyn FnOnce(&mut RunMatSession, &LostWrites) + Send>;

enum Command {
    Execute(Execute),
    Job(SessionJob),
}

struct Ready {
    interrupt: Arc<AtomicBool>,
    confinement: Confinement,
}

pub struct EngineSession {
    commands: Mutex<Option<mpsc::Sender<Command>>>,
    interrupt: Arc<AtomicBool>,
    confinement: Confinement,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl EngineSession {
    /// Starts a fresh session thread, confines it beneath the provider's roots, installs the
    /// provider and waits until RunMat is ready.
    pub fn start(provider: Arc<Provider>, options: EngineOptions) -> Result<Self, EngineError> {
        if ACTIVE.swap(true, Ordering::SeqCst) {
            return Err(EngineError::Busy);
        }
        let (commands, inbox) = mpsc::channel::<Command>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<Ready, EngineError>>();
        let spawned = std::thread::Builder::new()
            .name("deskless-engine".into())
            // Deeply recursive MATLAB code needs more than the default 2 MiB.
            .stack_size(64 << 20)
            .spawn(move || session_thread(provider, options, inbox, ready_tx));
        let thread = match spawned {
            Ok(thread) => thread,
            Err(error) => {
                ACTIVE.store(false, Ordering::SeqCst);
                return Err(EngineError::Start(error.to_string()));
            }
        };
        match ready_rx.recv() {
            Ok(Ok(ready)) => Ok(Self {
                commands: Mutex::new(Some(commands)),
                interrupt: ready.interrupt,
                confinement: ready.confinement,
                thread: Mutex::new(Some(thread)),
            }),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(EngineError::Start(
                    "the engine thread exited during start-up".into(),
                ))
            }
        }
    }

    /// The kernel confinement in force on the session thread.
    pub fn confinement(&self) -> &Confinement {
        &self.confinement
    }

    /// Runs `source` to completion, streaming output to `sink` as it is produced. Blocks.
    pub fn execute(
        &self,
        source: ScriptSource,
        sink: OutputSink,
    ) -> Result<ExecutionReport, EngineError> {
        let commands = lock(&self.commands).clone().ok_or(EngineError::Closed)?;
        let (reply, answer) = mpsc::channel();
        commands
            .send(Command::Execute(Execute {
                source,
                sink,
                reply,
            }))
            .map_err(|_| EngineError::Closed)?;
        answer.recv().map_err(|_| EngineError::Closed)
    }

    /// Queues `job` to run on the session thread after the work queued before it; returns at
    /// once. The job reports its own result (through a channel it captured).
    pub fn submit(&self, job: SessionJob) -> Result<(), EngineError> {
        let commands = lock(&self.commands).clone().ok_or(EngineError::Closed)?;
        commands
            .send(Command::Job(job))
            .map_err(|_| EngineError::Closed)
    }

    /// Interrupts the running execution (cooperative: RunMat checks the flag between steps).
    pub fn cancel(&self) {
        self.interrupt.store(true, Ordering::SeqCst);
    }

    /// Stops the session thread after the current execution and releases the filesystem.
    pub fn close(&self) {
        lock(&self.commands).take();
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for EngineSession {
    fn drop(&mut self) {
        self.close();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn session_thread(
    provider: Arc<Provider>,
    options: EngineOptions,
    inbox: mpsc::Receiver<Command>,
    ready: mpsc::Sender<Result<Ready, EngineError>>,
) {
    let _release = ReleaseOnExit;
    // Before RunMat starts, so every thread it starts is confined too.
    let confinement = match confine(&provider, &options) {
        Ok(confinement) => confinement,
        Err(error) => {
            let _ = ready.send(Err(EngineError::Confinement(error)));
            return;
        }
    };
    let roots: Vec<PathBuf> = provider.roots().into_iter().map(|root| root.path).collect();
    let (mut session, lost_writes) = match prepare(provider, &options) {
        Ok(prepared) => prepared,
        Err(message) => {
            let _ = ready.send(Err(EngineError::Start(message)));
            return;
        }
    };
    let interrupt = session.interrupt_handle();
    if ready
        .send(Ok(Ready {
            interrupt,
            confinement: confinement.clone(),
        }))
        .is_err()
    {
        return;
    }
    while let Ok(command) = inbox.recv() {
        match command {
            Command::Execute(command) => {
                let _output = console::route_output(command.sink);
                let mut report = execute(&mut session, command.source, &lost_writes);
                explain_refusal(&mut report, &confinement, &roots);
                let _ = command.reply.send(report);
            }
            // No sink: a job's output stays in RunMat's per-thread buffer, where it collects it.
            Command::Job(job) => job(&mut session, &lost_writes),
        }
    }
}

fn confine(provider: &Provider, options: &EngineOptions) -> Result<Confinement, ConfineError> {
    let (read_only, read_write): (Vec<_>, Vec<_>) = provider
        .roots()
        .into_iter()
        .partition(|root| root.read_only);
    let policy = ConfinementPolicy {
        mode: options.confine,
        read_write: read_write.into_iter().map(|root| root.path).collect(),
        read_only: read_only.into_iter().map(|root| root.path).collect(),
        allow_net: options.allow_net,
        abi_limit: options.landlock_abi_limit,
    };
    let confinement = confine_current_thread(&policy)?;
    if confinement.mode != ConfineMode::Off {
        if !confinement.filesystem {
            provider.record_fallback(FALLBACK_NO_LANDLOCK);
        } else if !confinement.allow_net && !confinement.network {
            provider.record_fallback(FALLBACK_NO_NETWORK_RULE);
        }
    }
    Ok(confinement)
}

/// An uncaught error the confinement caused names the rule and the way out.
fn explain_refusal(report: &mut ExecutionReport, confinement: &Confinement, roots: &[PathBuf]) {
    let Some(error) = report.error.as_mut() else {
        return;
    };
    // libhdf5 resolves relative paths against the process's directory, not RunMat's.
    let cwd = std::env::current_dir().unwrap_or_default();
    if let Some(hint) = refusal_hint(&error.message, confinement, roots, &cwd) {
        error.message = format!("{}; {hint}", error.message);
    }
}

struct ReleaseOnExit;

impl Drop for ReleaseOnExit {
    fn drop(&mut self) {
        ACTIVE.store(false, Ordering::SeqCst);
    }
}

fn prepare(
    provider: Arc<Provider>,
    options: &EngineOptions,
) -> Result<(RunMatSession, Arc<LostWrites>), String> {
    let cwd = match &options.cwd {
        Some(cwd) => cwd.clone(),
        None => provider
            .roots()
            .first()
            .map(|root| root.path.clone())
            .ok_or("the provider has no workspace root")?,
    };
    runmat_accelerate::initialize_acceleration_provider_with(
        &runmat_accelerate::AccelerateInitOptions {
            enabled: false,
            allow_inprocess_fallback: true,
            ..Default::default()
        },
    );
    let workspace_fs = WorkspaceFs::new(provider, cwd.clone());
    let lost_writes = workspace_fs.lost_writes();
    runmat_filesystem::set_provider(Arc::new(workspace_fs));
    // set_provider keeps an earlier virtual cwd; start every session at its own.
    runmat_filesystem::set_current_dir(&cwd).map_err(|e| format!("{}: {e}", cwd.display()))?;
    runmat_runtime::builtins::common::path_state::set_path_string(&options.search_path.join(":"));

    let mut session =
        RunMatSession::with_options(options.enable_jit, false).map_err(|e| e.to_string())?;
    session.set_telemetry_consent(options.telemetry);
    session.set_compat_mode(options.compat);
    session.install_async_input_handler(|request: InputRequest| async move { read_input(request) });
    Ok((session, lost_writes))
}

/// `input()` reads a line from the process's standard input (a terminal or a pipe).
fn read_input(request: InputRequest) -> Result<InputResponse, String> {
    if !request.prompt.is_empty() {
        console::emit(StreamEntry {
            stream: StreamKind::Stdout,
            text: request.prompt.clone(),
            timestamp_ms: now_ms(),
        });
    }
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) => Err("input: standard input is closed, so there is no answer to read".into()),
        Ok(_) => {
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            Ok(InputResponse::Line(line))
        }
        Err(error) => Err(format!("input: cannot read standard input: {error}")),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn execute(
    session: &mut RunMatSession,
    source: ScriptSource,
    lost_writes: &LostWrites,
) -> ExecutionReport {
    let (input, file) = match source {
        ScriptSource::File(path) => {
            let name = path.to_string_lossy().to_string();
            (SourceInput::Path(name.clone()), name)
        }
        ScriptSource::Text { name, text } => (
            SourceInput::Text {
                name: name.clone(),
                text,
            },
            name,
        ),
    };
    let request = ExecutionRequest::for_source(
        input,
        session.compat_mode(),
        HostExecutionPolicy::default(),
        session.workspace_handle(),
    );
    let interrupt = session.interrupt_handle();
    let started = Instant::now();
    let response = futures::executor::block_on(session.execute_request(request));
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let source_text = response.source_context.text.as_deref();
    let mut report = ExecutionReport {
        duration_ms,
        interrupted: interrupt.swap(false, Ordering::SeqCst),
        ..ExecutionReport::default()
    };
    match &response.result {
        Ok(outcome) => {
            report.streams = outcome
                .streams
                .iter()
                .map(|entry| StreamEntry {
                    stream: console::stream_kind_of(entry.stream),
                    text: entry.text.clone(),
                    timestamp_ms: entry.timestamp_ms,
                })
                .collect();
            report.error = diagnostics::from_outcome(outcome, &file, source_text);
            if let RuntimeFlow::Single(value) = &outcome.flow {
                report.value_text = Some(value.to_string());
            }
        }
        Err(error) => report.error = Some(diagnostics::from_run_error(error, &file, source_text)),
    }
    let lost = lost_writes.take();
    if report.error.is_none() && !lost.is_empty() {
        report.error = Some(ScriptError {
            identifier: Some("deskless:lostWrite".into()),
            message: format!(
                "a write was lost when a file was closed: {}",
                lost.join("; ")
            ),
            kind: "io".into(),
            file: Some(file),
            ..ScriptError::default()
        });
    }
    report.workspace = session
        .workspace_snapshot()
        .values
        .into_iter()
        .map(|entry| VariableSummary {
            name: entry.name,
            class_name: entry.class_name,
            size: entry.shape,
        })
        .collect();
    report
}
