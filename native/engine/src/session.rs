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
}

#[derive(Debug)]
pub enum EngineError {
    /// Only one session may own RunMat's process-wide filesystem at a time.
    Busy,
    Closed,
    Start(String),
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

pub struct EngineSession {
    commands: Mutex<Option<mpsc::Sender<Execute>>>,
    interrupt: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl EngineSession {
    /// Starts the session thread, installs the workspace provider and waits until RunMat is ready.
    pub fn start(provider: Arc<Provider>, options: EngineOptions) -> Result<Self, EngineError> {
        if ACTIVE.swap(true, Ordering::SeqCst) {
            return Err(EngineError::Busy);
        }
        let (commands, inbox) = mpsc::channel::<Execute>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<Arc<AtomicBool>, String>>();
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
            Ok(Ok(interrupt)) => Ok(Self {
                commands: Mutex::new(Some(commands)),
                interrupt,
                thread: Mutex::new(Some(thread)),
            }),
            Ok(Err(message)) => {
                let _ = thread.join();
                Err(EngineError::Start(message))
            }
            Err(_) => {
                let _ = thread.join();
                Err(EngineError::Start(
                    "the engine thread exited during start-up".into(),
                ))
            }
        }
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
            .send(Execute {
                source,
                sink,
                reply,
            })
            .map_err(|_| EngineError::Closed)?;
        answer.recv().map_err(|_| EngineError::Closed)
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
    inbox: mpsc::Receiver<Execute>,
    ready: mpsc::Sender<Result<Arc<AtomicBool>, String>>,
) {
    let _release = ReleaseOnExit;
    let (mut session, lost_writes) = match prepare(provider, &options) {
        Ok(prepared) => prepared,
        Err(message) => {
            let _ = ready.send(Err(message));
            return;
        }
    };
    if ready.send(Ok(session.interrupt_handle())).is_err() {
        return;
    }
    while let Ok(command) = inbox.recv() {
        let _output = console::route_output(command.sink);
        let report = execute(&mut session, command.source, &lost_writes);
        let _ = command.reply.send(report);
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
