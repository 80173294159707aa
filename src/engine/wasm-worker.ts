// The wasm engine's worker thread: one RunMat runtime session with FsBindings as its filesystem,
// driven by the main thread's messages (wasm-protocol.ts). The runtime runs here rather than on the
// main thread because a CPU-bound script never yields to JavaScript: the main thread stays free to
// time out, take Ctrl-C, and stop this thread if the runtime does not stop when asked.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { resolve } from "node:path";
import { format } from "node:util";
import { parentPort, workerData } from "node:worker_threads";
import { createFsBindings, type FsBindings } from "../fs/bindings.js";
import { log, setLogLevel, setLogSink } from "../log.js";
import type { ExecutionResult, ScriptError, ScriptSource } from "./engine.js";
import { WORKER_ZERO_COPY_READS, type FromWorker, type ToWorker, type WasmWorkerOptions } from "./wasm-protocol.js";
import { guardNetwork } from "./wasm-network.js";
import { mapError, toEntry, withLostWrites, WorkspaceTracker } from "./wasm-results.js";
import { RunningRuntime, RuntimeStartError, firstLine, type InputRequest, type RuntimeResult, type RuntimeSource } from "./wasm-runtime.js";

/** The provider contract's methods and the dialog hooks: what the runtime may call. */
const PROVIDER_METHODS = [
  "readFile", "readMany", "writeFile", "removeFile", "metadata", "symlinkMetadata", "readDir", "canonicalize",
  "createDir", "createDirAll", "removeDir", "removeDirAll", "rename", "setReadonly",
  "selectFileOpen", "selectFileSave", "selectDirectory",
] as const;

const port = parentPort;
if (!port) throw new Error("wasm-worker.js runs as a worker thread of the wasm engine");
const options = workerData as WasmWorkerOptions;
const cancelFlag = new Int32Array(options.cancelFlag);

function post(message: FromWorker): void {
  port?.postMessage(message);
}

// Records go to the main thread, which writes them with its own logger (one stream, one format).
setLogLevel(options.logLevel);
setLogSink((level, args) => post({ type: "log", level, args: cloneable(args) }));

// The runtime talks through console: "builtins registered (N)" on every start and reset, wasm-bindgen's
// warnings, its panic hook. None of it is the script's output; it goes to the log instead.
for (const name of ["log", "info", "debug", "trace", "warn"] as const) {
  console[name] = (...args: unknown[]) => log.debug({ from: `runtime console.${name}` }, format(...args));
}
console.error = (...args: unknown[]) => log.warn({ from: "runtime console.error" }, format(...args));

let runtime: RunningRuntime | undefined;
let fs: FsBindings | undefined;
const workspace = new WorkspaceTracker();
/** The execution in flight. */
let current: { id: number; cancelSeen: boolean } | undefined;
/** Answers to input() the main thread owes, by execution id. */
const pendingInput = new Map<number, (line: string | null) => void>();

/** Called whenever the runtime calls into JavaScript: the one moment a cancel can reach it mid-script. */
function checkCancel(): void {
  const run = current;
  if (!run || run.cancelSeen || Atomics.load(cancelFlag, 0) !== run.id) return;
  run.cancelSeen = true;
  runtime?.cancel();
}

function guarded(bindings: FsBindings): Record<string, unknown> {
  const provider: Record<string, unknown> = {};
  const methods = bindings as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of PROVIDER_METHODS) {
    const method = methods[name] as (...args: unknown[]) => unknown;
    provider[name] = (...args: unknown[]) => {
      checkCancel();
      return method(...args);
    };
  }
  return provider;
}

function askForInput(request: InputRequest): unknown {
  checkCancel();
  const run = current;
  if (!run) return { error: "no input available" };
  const prompt = typeof request?.prompt === "string" ? request.prompt : "";
  return new Promise<string | null>((resolveLine) => {
    pendingInput.set(run.id, resolveLine);
    post({ type: "input", id: run.id, prompt });
  }).then((line) => (line === null ? { error: "no input available (stdin is closed)" } : line));
}

async function start(): Promise<void> {
  try {
    try {
      fs = createFsBindings({ roots: options.roots, dialogAnswers: options.dialogAnswers, zeroCopyReads: WORKER_ZERO_COPY_READS });
    } catch (error) {
      // The provider refusing the roots (missing, two with one folder name) is the caller's to fix.
      throw new RuntimeStartError("roots", `workspace: ${firstLine(error)}`);
    }
    runtime = await RunningRuntime.start(options.package, {
      fsProvider: guarded(fs),
      telemetry: options.telemetry,
      compat: options.compat,
      enableJit: options.enableJit,
    });
    await runtime.subscribe((entry) => {
      checkCancel();
      if (current) post({ type: "output", id: current.id, entry: toEntry(entry) });
    });
    if (options.input) await runtime.setInputHandler(askForInput);
    guardNetwork(options.allowNet);
    await addPath(runtime, fs);
  } catch (error) {
    fs?.dispose();
    const stage = error instanceof RuntimeStartError ? error.stage : "start";
    post({ type: "failed", stage, message: error instanceof RuntimeStartError ? error.message : `the RunMat runtime failed to start: ${firstLine(error)}` });
    port?.close();
    return;
  }
  log.debug({ package: options.package.dir, layout: options.package.layout, version: options.package.version }, "wasm engine ready");
  post({ type: "ready", info: runtime.info });
}

const quoted = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Puts the path folders on the MATLAB path, as virtual folders. */
async function addPath(rt: RunningRuntime, bindings: FsBindings): Promise<void> {
  const folders: string[] = [];
  for (const folder of options.path) {
    const virtual = bindings.toVirtualPath(resolve(folder));
    if (virtual === undefined) log.warn({ folder }, "path folder is outside the workspace roots; the wasm engine cannot see it");
    else folders.push(virtual);
  }
  if (folders.length === 0) return;
  const text = `addpath(${folders.map(quoted).join(", ")});`;
  const result = await rt.execute({ kind: "text", name: "<deskless:addpath>", text });
  if (result?.error) log.warn({ error: result.error }, "addpath failed");
}

/** The runtime's source, and the file name errors are reported against (the host path for files). */
function runtimeSource(source: ScriptSource, bindings: FsBindings): { source: RuntimeSource; name: string } {
  if (source.kind === "text") return { source: { kind: "text", name: source.name, text: source.text }, name: source.name };
  const host = resolve(source.path);
  const virtual = bindings.toVirtualPath(host);
  // Inside the workspace the runtime reads the script through the provider like any file;
  // outside it, deskless reads the file the user named and hands over its text.
  if (virtual !== undefined) return { source: { kind: "path", path: virtual }, name: host };
  return { source: { kind: "text", name: host, text: readFileSync(host, "utf8") }, name: host };
}

async function execute(id: number, source: ScriptSource): Promise<void> {
  const rt = runtime as RunningRuntime;
  const bindings = fs as FsBindings;
  current = { id, cancelSeen: false };
  const started = performance.now();
  bindings.takeWriteFailures(); // failures before this run belong to an earlier report
  let raw: RuntimeResult | undefined;
  let error: ScriptError | undefined;
  let name = source.kind === "text" ? source.name : source.path;
  try {
    const request = runtimeSource(source, bindings);
    name = request.name;
    checkCancel();
    raw = await rt.execute(request.source);
    if (raw?.error !== undefined && raw.error !== null) error = mapError(raw.error, name);
  } catch (thrown) {
    error = mapError(thrown, name);
  }
  const cancelSeen = current.cancelSeen;
  current = undefined;
  error = withLostWrites(error, bindings.takeWriteFailures());
  const result: ExecutionResult = {
    ok: !error,
    streams: (Array.isArray(raw?.stdout) ? raw.stdout : []).map(toEntry),
    error,
    durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    workspace: workspace.update(raw),
    valueText: typeof raw?.valueText === "string" ? raw.valueText : undefined,
  };
  post({ type: "result", id, result, cancelSeen });
}

async function close(): Promise<void> {
  try {
    await runtime?.close();
  } catch (error) {
    log.debug({ err: error }, "disposing the runtime session failed");
  } finally {
    fs?.dispose();
    post({ type: "closed" });
    port?.close();
  }
}

port.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "execute":
      void execute(message.id, message.source);
      return;
    case "input-answer": {
      const answer = pendingInput.get(message.id);
      pendingInput.delete(message.id);
      answer?.(message.line);
      return;
    }
    case "cancel": {
      // Reaches here only while the script waits (input, a Promise); a busy script is reached through checkCancel.
      checkCancel();
      const answer = pendingInput.get(message.id);
      pendingInput.delete(message.id);
      answer?.(null);
      return;
    }
    case "close":
      void close();
      return;
  }
});

/** Log arguments as plain data: postMessage cannot carry every Error subclass's fields. */
function cloneable(args: unknown[]): unknown[] {
  return JSON.parse(
    JSON.stringify(args, (_key, value: unknown) =>
      value instanceof Error ? { type: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack } : typeof value === "bigint" ? value.toString() : value,
    ),
  ) as unknown[];
}

void start();
