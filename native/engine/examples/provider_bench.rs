//! Same engine, same script, two filesystems: RunMat's stock native provider and deskless's
//! workspace provider, timing a 64 MiB fwrite + fread round trip. Prints one JSON line.
//! Run by `npm run bench:run`; `cargo run --release -p deskless-engine --example provider_bench`.
//! `PROVIDER_BENCH_RUNS` (default 1) sets the runs per provider; the median is reported. One run
//! on the stock provider takes about a minute: RunMat's `fread` reads one element per `read`
//! call, and the stock provider's file is an unbuffered `std::fs::File`, so 64 MiB of uint8 is
//! 64 Mi system calls.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use deskless_engine::WorkspaceFs;
use deskless_fs::{Provider, ProviderConfig, RootConfig};
use runmat_core::abi::{ExecutionRequest, HostExecutionPolicy, SourceInput};
use runmat_core::RunMatSession;
use runmat_filesystem::{FsProvider, NativeFsProvider};

const MIB: f64 = 1024.0 * 1024.0;
const SCRIPT: &str = "data = zeros(1, 64*1024*1024, 'uint8');
fid = fopen('blob.bin', 'w'); fwrite(fid, data, 'uint8'); fclose(fid);
fid = fopen('blob.bin', 'r'); back = fread(fid, Inf, 'uint8=>uint8'); fclose(fid);
assert(numel(back) == numel(data));";

fn run_once(session: &mut RunMatSession) -> f64 {
    let request = ExecutionRequest::for_source(
        SourceInput::Text {
            name: "bench".into(),
            text: SCRIPT.into(),
        },
        session.compat_mode(),
        HostExecutionPolicy::default(),
        session.workspace_handle(),
    );
    let started = Instant::now();
    let response = futures::executor::block_on(session.execute_request(request));
    let elapsed = started.elapsed().as_secs_f64();
    let outcome = response.result.expect("script compiles");
    assert!(
        outcome
            .diagnostics
            .iter()
            .all(|d| d.severity != runmat_core::abi::DiagnosticSeverity::Error),
        "script failed: {:?}",
        outcome.diagnostics
    );
    elapsed
}

fn median_mibps(provider: Arc<dyn FsProvider>, dir: &Path, runs: usize) -> f64 {
    runmat_filesystem::set_provider(provider);
    runmat_filesystem::set_current_dir(dir).expect("cd into the bench dir");
    let mut session = RunMatSession::with_options(true, false).expect("session");
    session.set_telemetry_consent(false);
    let mut times: Vec<f64> = (0..runs).map(|_| run_once(&mut session)).collect();
    times.sort_by(f64::total_cmp);
    // 64 MiB written and 64 MiB read back.
    128.0 * MIB / times[runs / 2] / MIB
}

fn main() {
    let runs = std::env::var("PROVIDER_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    let dir = std::env::temp_dir().join(format!("deskless-provider-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    std::env::set_current_dir(&dir).expect("process cwd for the stock provider");
    runmat_accelerate::initialize_acceleration_provider_with(
        &runmat_accelerate::AccelerateInitOptions {
            enabled: false,
            allow_inprocess_fallback: true,
            ..Default::default()
        },
    );
    let stock = median_mibps(Arc::new(NativeFsProvider), &dir, runs);
    let provider = Provider::new(ProviderConfig::new(vec![RootConfig::new(&dir)]))
        .map(Arc::new)
        .expect("workspace provider");
    let ours = median_mibps(
        Arc::new(WorkspaceFs::new(provider, dir.clone())),
        &dir,
        runs,
    );
    let _ = std::fs::remove_dir_all(&dir);
    println!("{{\"runs\":{runs},\"stockMiBps\":{stock:.1},\"desklessMiBps\":{ours:.1}}}");
}
