// The wasm engine: RunMat's wasm runtime (npm `runmat`) on a worker thread (wasm-worker.ts), with
// FsBindings over the native provider as its filesystem. Contract: runmat-contracts.md section 1.
//
// Cancelling: the runtime only notices cancelExecution() at its own check points, and it never
// yields to JavaScript mid-script, so the main thread cannot simply call it. It raises a shared
// flag instead, which the worker reads each time the runtime calls back into JavaScript (output,
// file access, input) and answers by calling cancelExecution(): the script stops with its session
// intact. A script that calls nothing (`while true, end`) is stopped with its thread after
// STOP_GRACE_MS; the next execution then starts a fresh runtime, with an empty workspace.
import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { loadDialogAnswers, type DialogAnswers } from "../fs/dialogs.js";
import type { RootSpec } from "../fs/bindings.js";
import { log } from "../log.js";
import {
  EngineUnavailableError,
  type EngineOptions,
  type EngineSession,
  type ExecuteOptions,
  type ExecutionResult,
  type ScriptSource,
  type StreamEntry,
  type VariableSummary,
} from "./engine.js";
import { WASM_ENVIRONMENT_FIXED } from "./environment.js";
import { INSTALL_HINT, locateWasmPackage, type WasmPackage } from "./wasm-package.js";
import type { FromWorker, RuntimeInfo, ToWorker, WasmWorkerOptions } from "./wasm-protocol.js";
import { asInterrupted, INTERRUPTED } from "./wasm-results.js";

export interface WasmEngineOptions extends EngineOptions {
  /** Folder of the runtime package (--wasm-package); otherwise DESKLESS_WASM_PACKAGE, then Node resolution. */
  packageDir?: string;
  /** Extra roots mounted read-only (e.g. the folder of a script outside the workspace). */
  readOnlyRoots?: string[];
  enableJit?: boolean;
  /** Preset answers for uigetfile/uiputfile/uigetdir; default: cancel. */
  dialogAnswers?: DialogAnswers;
  /** The same answers from a JSON file (--answer-dialogs FILE); see src/fs/dialogs.ts. */
  dialogAnswersFile?: string;
  /** Environment used to find the package (DESKLESS_WASM_PACKAGE; tests); defaults to process.env. */
  lookupEnv?: NodeJS.ProcessEnv;
}

export interface WasmEngineSession extends EngineSession {
  readonly engine: "wasm";
  readonly pkg: WasmPackage;
  /** What the runtime reported when it started (its telemetry consent and GPU state among them). */
  readonly runtime: RuntimeInfo;
}

/** How long a cancelled script may take to stop on its own before its thread is stopped (well inside the CLI's 1 s grace). */
const STOP_GRACE_MS = 250;
/** How long close() waits for the worker to dispose the runtime before stopping it. */
const CLOSE_GRACE_MS = 2000;

export async function openWasmEngine(options: WasmEngineOptions): Promise<WasmEngineSession> {
  // code USAGE: the CLI's one error mapping (cli/errors.ts) makes it exit 2.
  if (options.allowEnv?.length || Object.keys(options.setEnv ?? {}).length) throw Object.assign(new TypeError(WASM_ENVIRONMENT_FIXED), { code: "USAGE" });
  const pkg = locateWasmPackage({ packageDir: options.packageDir, env: options.lookupEnv });
  const dialogAnswers = options.dialogAnswersFile ? loadDialogAnswers(options.dialogAnswersFile) : options.dialogAnswers;
  const session = new WorkerSession(
    {
      package: pkg,
      roots: rootSpecs(options),
      path: options.path ?? [],
      telemetry: options.telemetry === true,
      compat: options.compat ?? "matlab",
      enableJit: options.enableJit ?? false,
      dialogAnswers,
      logLevel: log.level,
      allowNet: options.allowNet === true,
      input: typeof options.readInput === "function",
    },
    options.readInput,
  );
  await session.start();
  return session;
}

function rootSpecs(options: WasmEngineOptions): RootSpec[] {
  const specs: RootSpec[] = options.roots.map((path) => ({ path }));
  const taken = new Set(specs.slice(1).map((spec) => basename(resolve(spec.path))));
  for (const path of options.readOnlyRoots ?? []) {
    let name = basename(resolve(path)) || "root";
    for (let n = 2; taken.has(name); n++) name = `${basename(resolve(path))}-${n}`;
    taken.add(name);
    specs.push({ path, readOnly: true, name });
  }
  return specs;
}

/** The compiled worker beside this module; from the TypeScript sources (tests), the copy build:ts put in dist/. */
function workerScript(): URL {
  const sibling = new URL("./wasm-worker.js", import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  return new URL("../../dist/src/engine/wasm-worker.js", import.meta.url);
}

interface Run {
  id: number;
  started: number;
  entries: StreamEntry[];
  onOutput?: (entry: StreamEntry) => void;
  cancelled: boolean;
  stopTimer?: NodeJS.Timeout;
  resolve: (result: ExecutionResult) => void;
}

class WorkerSession implements WasmEngineSession {
  readonly engine = "wasm" as const;
  readonly pkg: WasmPackage;
  runtime!: RuntimeInfo;
  private readonly cancelFlag = new SharedArrayBuffer(4);
  private worker: Worker | undefined;
  private current: Run | undefined;
  private nextId = 1;
  private workspace: VariableSummary[] = [];
  /** Set when a thread was stopped with its session: the next execution says so when it starts afresh. */
  private restartReason: string | undefined;
  private closed = false;

  constructor(
    private readonly options: Omit<WasmWorkerOptions, "cancelFlag">,
    private readonly readInput: EngineOptions["readInput"],
  ) {
    this.pkg = options.package;
  }

  async start(): Promise<void> {
    this.runtime = await this.spawn();
  }

  async execute(source: ScriptSource, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    if (this.closed) throw new Error("the wasm engine session is closed");
    if (this.current) throw new Error("the wasm engine is already running a script in this session");
    if (!this.worker) {
      log.warn(`${this.restartReason ?? "the wasm runtime stopped"}; starting a fresh runtime (the workspace is empty)`);
      this.restartReason = undefined;
      this.workspace = [];
      this.runtime = await this.spawn();
    }
    const worker = this.worker as Worker;
    return new Promise<ExecutionResult>((resolveRun) => {
      const run: Run = { id: this.nextId++, started: performance.now(), entries: [], onOutput: options.onOutput, cancelled: false, resolve: resolveRun };
      this.current = run;
      this.send(worker, { type: "execute", id: run.id, source });
    });
  }

  cancel(): void {
    const run = this.current;
    if (!run || run.cancelled) return;
    run.cancelled = true;
    Atomics.store(new Int32Array(this.cancelFlag), 0, run.id);
    if (this.worker) this.send(this.worker, { type: "cancel", id: run.id });
    run.stopTimer = setTimeout(() => {
      if (this.current !== run) return;
      this.stopThread("the previous script did not stop when asked, so its runtime was stopped");
      this.finish(run, { ok: false, streams: [...run.entries], error: { ...INTERRUPTED }, durationMs: this.elapsed(run), workspace: this.workspace });
    }, STOP_GRACE_MS);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    const run = this.current;
    if (run) {
      this.stopThread("the session was closed");
      this.finish(run, { ok: false, streams: [...run.entries], error: { ...INTERRUPTED }, durationMs: this.elapsed(run), workspace: this.workspace });
      return;
    }
    const exited = new Promise<void>((resolveExit) => worker.once("exit", () => resolveExit()));
    const timer = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS);
    this.send(worker, { type: "close" });
    await exited;
    clearTimeout(timer);
    if (this.worker === worker) this.worker = undefined;
  }

  /** Starts a worker and resolves once its runtime is ready. */
  private spawn(): Promise<RuntimeInfo> {
    const workerData: WasmWorkerOptions = { ...this.options, cancelFlag: this.cancelFlag };
    const worker = new Worker(workerScript(), { workerData, stdout: true, stderr: true });
    // Anything the runtime writes to the worker's own stdout/stderr is not the script's output.
    worker.stdout.setEncoding("utf8").on("data", (text: string) => log.debug({ from: "runtime stdout" }, text.trimEnd()));
    worker.stderr.setEncoding("utf8").on("data", (text: string) => log.debug({ from: "runtime stderr" }, text.trimEnd()));
    this.worker = worker;
    return new Promise<RuntimeInfo>((resolveReady, rejectReady) => {
      let ready = false;
      const failStart = (error: Error) => {
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
        rejectReady(error);
      };
      const unavailable = (message: string) => failStart(new EngineUnavailableError(message));
      worker.on("message", (message: FromWorker) => {
        if (message.type === "ready") {
          ready = true;
          resolveReady(message.info);
        } else if (message.type === "failed" && message.stage === "roots") {
          // code USAGE: bad --workspace roots exit 2, as they do on the other engine.
          failStart(Object.assign(new Error(message.message), { code: "USAGE" }));
        } else if (message.type === "failed") {
          unavailable(message.stage === "load" ? `${message.message}; ${INSTALL_HINT}` : message.message);
        } else {
          this.onMessage(worker, message);
        }
      });
      worker.on("error", (error) => {
        if (!ready) return unavailable(`the RunMat runtime at ${this.pkg.dir} failed to start: ${error.message}`);
        this.threadDied(worker, `the RunMat runtime's thread failed: ${error.message}`);
      });
      worker.on("exit", (code) => {
        if (!ready) return unavailable(`the RunMat runtime at ${this.pkg.dir} stopped while starting (exit code ${code})`);
        this.threadDied(worker, `the RunMat runtime's thread ended (exit code ${code})`);
      });
    });
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    const run = this.current;
    switch (message.type) {
      case "output":
        if (run?.id !== message.id) return;
        run.entries.push(message.entry);
        run.onOutput?.(message.entry);
        return;
      case "input":
        this.answerInput(worker, message.id, message.prompt);
        return;
      case "result":
        if (run?.id !== message.id) return;
        this.workspace = message.result.workspace;
        this.finish(run, message.result);
        return;
      case "log":
        (log[message.level] as (...args: unknown[]) => void)(...message.args);
        return;
      default:
        return;
    }
  }

  private answerInput(worker: Worker, id: number, prompt: string): void {
    let line: string | null = null;
    try {
      line = this.readInput?.(prompt) ?? null;
    } catch (error) {
      log.warn({ err: error }, "reading input for the script failed");
    }
    this.send(worker, { type: "input-answer", id, line });
  }

  private finish(run: Run, result: ExecutionResult): void {
    if (this.current !== run) return;
    this.current = undefined;
    clearTimeout(run.stopTimer);
    // Entries the runtime reported but did not stream are delivered now, after the live ones, so
    // onOutput still sees every entry in order.
    const streams = result.streams.length >= run.entries.length ? result.streams : run.entries;
    for (const entry of streams.slice(run.entries.length)) run.onOutput?.(entry);
    const error = run.cancelled ? asInterrupted(result.error) : result.error;
    run.resolve({ ...result, ok: !error, error, streams });
  }

  /** Stops the worker with whatever it was doing; the next execution starts a fresh one. */
  private stopThread(reason: string): void {
    const worker = this.worker;
    this.worker = undefined;
    this.restartReason = reason;
    if (worker) {
      worker.removeAllListeners("exit");
      worker.removeAllListeners("error");
      worker.on("error", () => undefined);
      void worker.terminate();
    }
  }

  private threadDied(worker: Worker, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.restartReason = reason;
    const run = this.current;
    if (run) {
      this.finish(run, {
        ok: false,
        streams: [...run.entries],
        error: { identifier: "deskless:runtimeFailure", kind: "runtime", message: reason },
        durationMs: this.elapsed(run),
        workspace: this.workspace,
      });
    }
  }

  private send(worker: Worker, message: ToWorker): void {
    worker.postMessage(message);
  }

  private elapsed(run: Run): number {
    return Math.round((performance.now() - run.started) * 1000) / 1000;
  }
}
