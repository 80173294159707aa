// A `deskless test` worker process: the coordinator (in the addon of the `deskless test`
// process) starts it with its setup as the one argument and speaks RunMat's worker protocol on
// its stdin/stdout. It applies the environment view and confinement of `deskless run`.
import { ExitCode } from "../cli/exit-codes.js";
import { landlockAbiLimit } from "../engine/direct-engine.js";
import { applyEnvironment, scriptEnvironment } from "../engine/environment.js";
import { openNativeProvider, sessionRoots } from "../fs/native-provider.js";
import { engineAddon } from "../native.js";
import type { WorkerSetup } from "./run-tests.js";

function serve(setup: WorkerSetup): number {
  const addon = engineAddon();
  const abiLimit = landlockAbiLimit();
  const provider = openNativeProvider({ roots: sessionRoots(setup.roots, setup.readOnlyRoots) }, addon);
  applyEnvironment(scriptEnvironment(setup));
  // Ctrl-C in a terminal reaches the whole process group: the coordinator cancels the tests.
  process.on("SIGINT", () => {});
  try {
    addon.serveTestWorker(provider, {
      enableJit: setup.enableJit ?? true,
      telemetry: false,
      searchPath: setup.path ?? [],
      compat: setup.compat ?? "matlab",
      confine: setup.confine ?? "auto",
      allowNet: setup.allowNet ?? false,
      landlockAbiLimit: abiLimit,
    });
    return 0;
  } catch (error) {
    process.stderr.write(`deskless test worker: ${(error as Error).message}\n`);
    // The coordinator reads this exit code as "cannot confine" (native/test-runner pool.rs).
    return (error as { code?: string }).code === "CONFINEMENT_UNAVAILABLE" ? ExitCode.confinementUnavailable : ExitCode.failed;
  }
}

process.exit(serve(JSON.parse(process.argv[2] ?? "{}") as WorkerSetup));
