//! The worker process's side: RunMat's worker protocol served over the process's original
//! stdin/stdout, each test run by core's `execute_planned_test` on the confined engine thread.

use std::fs::File;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use deskless_engine::{EngineSession, SessionJob};
use runmat_core::testing::CoreTestAttempt;
use runmat_test::discovery::FrozenTestRunSnapshot;
use runmat_test::lifecycle::ExecutionPhase;
use runmat_test::plan::TestPlan;
use runmat_test::protocol::{
    negotiate, ProtocolHandshake, WorkerCapability, WorkerRequest, WorkerResponse,
};
use runmat_test::result::{
    AttemptResult, Diagnostic, DiagnosticSeverity, ResultState, TerminalDisposition,
};

use crate::frames::{read_request, write_response, FrameError};
use crate::pool::{capabilities, NOT_ENFORCED};

enum Inbound {
    Request(Result<WorkerRequest, FrameError>),
    Done(Result<CoreTestAttempt, String>),
}

/// Takes the process's stdin and stdout for the protocol and points fd 0 at /dev/null and fd 1
/// at stderr, so nothing a script or library prints can corrupt a frame.
pub fn take_protocol_stdio() -> std::io::Result<(File, File)> {
    // SAFETY: plain descriptor calls on descriptors this process owns; each new descriptor is
    // wrapped in exactly one File.
    unsafe {
        let input = libc::dup(0);
        let output = libc::dup(1);
        if input < 0 || output < 0 {
            return Err(std::io::Error::last_os_error());
        }
        for fd in [input, output] {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::close(null);
        }
        libc::dup2(2, 1);
        Ok((File::from_raw_fd(input), File::from_raw_fd(output)))
    }
}

/// A test whose write was lost when a file was closed (the engine drops that error) fails.
fn fail_on_lost_writes(result: &mut AttemptResult, lost: &[String]) {
    if lost.is_empty() {
        return;
    }
    result.state = ResultState {
        failed: true,
        incomplete: false,
        disposition: TerminalDisposition::Failed,
    };
    result.diagnostics.insert(
        0,
        Diagnostic {
            identifier: "deskless:lostWrite".into(),
            message: format!(
                "a write was lost when a file was closed: {}",
                lost.join("; ")
            ),
            severity: DiagnosticSeverity::Error,
            phase: ExecutionPhase::TestBody,
            source: None,
            details: Vec::new(),
        },
    );
}

struct Installed {
    plan: Arc<TestPlan>,
    snapshot: Arc<FrozenTestRunSnapshot>,
}

/// How serving ended.
#[derive(Debug, Eq, PartialEq)]
pub enum Served {
    /// Shut down, or the input closed between tests: the engine can be closed.
    Done,
    /// The input closed while a test was running (the coordinator is gone): the engine thread
    /// may never return, so the process should exit without waiting for it.
    Orphaned,
}

/// Serves the protocol until the coordinator shuts the worker down or closes its input.
pub fn serve_worker(
    input: File,
    mut output: File,
    engine: &EngineSession,
) -> Result<Served, String> {
    let (inbox, inbound) = mpsc::channel::<Inbound>();
    let reader_inbox = inbox.clone();
    // What the kernel could not enforce travels in the handshake, so the coordinator can warn
    // once for the run.
    let mut offered = capabilities();
    offered.extend(
        engine
            .confinement()
            .not_enforced
            .iter()
            .map(|rule| WorkerCapability::Custom(format!("{NOT_ENFORCED}{rule}"))),
    );
    let local = ProtocolHandshake::current("deskless-test-worker", offered);
    let initial_limits = local.limits;
    std::thread::Builder::new()
        .name("deskless-worker-reader".into())
        .spawn(move || {
            let mut input = input;
            loop {
                let request = read_request(&mut input, initial_limits);
                let stop = request.is_err();
                if reader_inbox.send(Inbound::Request(request)).is_err() || stop {
                    return;
                }
            }
        })
        .map_err(|error| error.to_string())?;

    let limits = match inbound.recv() {
        Ok(Inbound::Request(Ok(WorkerRequest::Handshake(remote)))) => {
            let limits = negotiate(&local, &remote).map_err(|error| error.to_string())?;
            write_response(&mut output, &WorkerResponse::Handshake(local), limits)?;
            limits
        }
        Ok(Inbound::Request(Err(FrameError::Closed))) | Err(_) => return Ok(Served::Done),
        Ok(_) => return Err("the coordinator did not start with a handshake".into()),
    };

    let mut installed: Option<Installed> = None;
    let mut running: Option<Arc<AtomicBool>> = None;
    let reject = |output: &mut File, code: &str, message: &str| {
        write_response(
            output,
            &WorkerResponse::Rejected {
                code: code.into(),
                message: message.into(),
            },
            limits,
        )
    };
    while let Ok(message) = inbound.recv() {
        match message {
            Inbound::Request(Err(FrameError::Closed)) => {
                if let Some(flag) = &running {
                    flag.store(true, Ordering::SeqCst);
                    return Ok(Served::Orphaned);
                }
                return Ok(Served::Done);
            }
            Inbound::Request(Err(FrameError::Invalid(message))) => return Err(message),
            Inbound::Request(Ok(request)) => match request {
                WorkerRequest::Handshake(_) => {
                    reject(&mut output, "duplicate_handshake", "the handshake is done")?
                }
                WorkerRequest::InstallPlan { plan, snapshot } => {
                    if running.is_some() {
                        reject(&mut output, "worker_busy", "a test is running")?;
                        continue;
                    }
                    let run_id = plan.run_id.clone();
                    installed = Some(Installed {
                        plan: Arc::from(plan),
                        snapshot: Arc::from(snapshot),
                    });
                    write_response(&mut output, &WorkerResponse::Ready { run_id }, limits)?;
                }
                WorkerRequest::Execute { test_id, attempt } => {
                    let Some(run) = installed.as_ref() else {
                        reject(&mut output, "plan_not_installed", "no plan is installed")?;
                        continue;
                    };
                    if running.is_some() {
                        reject(&mut output, "worker_busy", "a test is running")?;
                        continue;
                    }
                    let cancellation = Arc::new(AtomicBool::new(false));
                    running = Some(Arc::clone(&cancellation));
                    let (plan, snapshot, done) = (
                        Arc::clone(&run.plan),
                        Arc::clone(&run.snapshot),
                        inbox.clone(),
                    );
                    let job: SessionJob = Box::new(move |session, lost_writes| {
                        // A write lost before this test is not this test's.
                        lost_writes.take();
                        let attempt = futures::executor::block_on(session.execute_planned_test(
                            &snapshot,
                            &plan,
                            &test_id,
                            attempt,
                            cancellation,
                        ));
                        let lost = lost_writes.take();
                        let attempt = attempt.map(|mut attempt| {
                            fail_on_lost_writes(&mut attempt.result, &lost);
                            attempt
                        });
                        let _ = done.send(Inbound::Done(attempt.map_err(|e| e.to_string())));
                    });
                    engine.submit(job).map_err(|error| error.to_string())?;
                }
                WorkerRequest::Cancel { run_id, .. } => {
                    // A Cancel that finds no running test raced with its completion: ignored,
                    // so that no stray answer precedes the next request's.
                    let matches = installed
                        .as_ref()
                        .is_some_and(|run| run.plan.run_id == run_id);
                    if let (Some(flag), true) = (&running, matches) {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                WorkerRequest::Shutdown => {
                    write_response(&mut output, &WorkerResponse::ShutdownComplete, limits)?;
                    return Ok(Served::Done);
                }
            },
            Inbound::Done(attempt) => {
                running = None;
                match attempt {
                    Ok(attempt) => {
                        for event in attempt.events {
                            write_response(&mut output, &WorkerResponse::Event { event }, limits)?;
                        }
                        write_response(
                            &mut output,
                            &WorkerResponse::Completed {
                                result: attempt.result,
                                coverage: attempt.coverage,
                            },
                            limits,
                        )?;
                    }
                    Err(message) => reject(&mut output, "execution_failed", &message)?,
                }
            }
        }
    }
    Ok(Served::Done)
}
