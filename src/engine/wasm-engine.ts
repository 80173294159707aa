// The wasm engine: RunMat's wasm runtime (npm `runmat`) hosted in Node, with FsBindings over the
// native provider as its filesystem. Contract: runmat-contracts.md section 1.
import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { log } from "../log.js";
import { createFsBindings, type FsBindings, type WriteFailure } from "../fs/bindings.js";
import { loadDialogAnswers, type DialogAnswers } from "../fs/dialogs.js";
import type { RootSpec } from "../fs/virtual-paths.js";
import {
  EngineUnavailableError,
  type EngineOptions,
  type EngineSession,
  type ExecuteOptions,
  type ExecutionResult,
  type ScriptError,
  type ScriptSource,
  type StreamEntry,
  type VariableSummary,
} from "./engine.js";
import { INSTALL_HINT, locateWasmPackage, type WasmPackage } from "./wasm-package.js";

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
  /** Environment used to find the package (tests); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

// ---- the slice of the runtime package's surface deskless uses ----
interface RuntimeStdoutEntry {
  stream: string;
  text: string;
  timestampMs?: number;
}
interface RuntimeErrorDetails {
  kind?: string;
  message?: string;
  identifier?: string;
  diagnostic?: string;
  span?: { line?: number; column?: number };
}
interface RuntimeResult {
  stdout?: RuntimeStdoutEntry[];
  error?: string | RuntimeErrorDetails;
  workspace?: { values?: Array<{ name: string; className?: string; shape?: number[] }> };
  executionTimeMs?: number;
  valueText?: string;
}
type RuntimeSource = { kind: "text"; name: string; text: string } | { kind: "path"; path: string };
interface RuntimeSession {
  executeRequest?(request: { source: RuntimeSource }): Promise<RuntimeResult>;
  execute?(text: string): Promise<RuntimeResult>;
  cancelExecution?(): void;
  setInputHandler?(handler: ((request: { prompt?: string }) => unknown) | null): unknown;
  dispose?(): void;
}
interface RuntimeModule {
  initRunMat(options: Record<string, unknown>): Promise<RuntimeSession>;
  subscribeStdout?(listener: (entry: RuntimeStdoutEntry) => void): number | Promise<number>;
  unsubscribeStdout?(id: number): void | Promise<void>;
}

const INTERRUPTED: ScriptError = { identifier: "RunMat:interrupted", message: "execution interrupted", kind: "runtime" };

export async function openWasmEngine(options: WasmEngineOptions): Promise<EngineSession> {
  const pkg = locateWasmPackage({ packageDir: options.packageDir, env: options.env });
  let mod: RuntimeModule;
  try {
    mod = (await import(pathToFileURL(pkg.entry).href)) as RuntimeModule;
  } catch (error) {
    throw new EngineUnavailableError(`the RunMat runtime package at ${pkg.dir} failed to load (${firstLine(error)}); ${INSTALL_HINT}`);
  }
  if (typeof mod.initRunMat !== "function") {
    throw new EngineUnavailableError(`the package at ${pkg.dir} (${pkg.name}@${pkg.version}) has no initRunMat export, so it is not the RunMat runtime; ${INSTALL_HINT}`);
  }
  const wasmModule = readFileSync(pkg.wasmPath);
  const dialogAnswers = options.dialogAnswersFile ? loadDialogAnswers(options.dialogAnswersFile) : options.dialogAnswers;
  // The runtime copies what readFile returns into wasm memory at once, so the zero-copy Buffers of
  // the native mmap cache are safe here and save a copy on every fopen.
  const fs = createFsBindings({ roots: rootSpecs(options), dialogAnswers, zeroCopyReads: true });
  let session: RuntimeSession;
  try {
    session = await mod.initRunMat({
      fsProvider: fs,
      wasmModule,
      enableGpu: false,
      enableJit: options.enableJit ?? false,
      telemetryConsent: options.telemetry === true,
      ...(options.compat ? { language: { compat: options.compat } } : {}),
    });
  } catch (error) {
    fs.dispose();
    throw new EngineUnavailableError(`the RunMat runtime at ${pkg.dir} (${pkg.name}@${pkg.version}) failed to start: ${firstLine(error)}`);
  }
  log.debug({ package: pkg.dir, version: pkg.version, foundBy: pkg.foundBy }, "wasm engine ready");
  const engine = new WasmEngineSession(mod, session, fs, pkg, options);
  try {
    await engine.start();
  } catch (error) {
    await engine.close().catch(() => undefined);
    throw new EngineUnavailableError(`the RunMat runtime at ${pkg.dir} (${pkg.name}@${pkg.version}) failed to start: ${firstLine(error)}`);
  }
  return engine;
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

class WasmEngineSession implements EngineSession {
  readonly engine = "wasm" as const;
  private subscription: number | undefined;
  /** The execution in flight: receives live entries from the module-level subscription. */
  private current: { entries: StreamEntry[]; onOutput?: (entry: StreamEntry) => void } | undefined;
  private cancelled = false;
  private pathAdded = false;
  private closed = false;

  constructor(
    private readonly mod: RuntimeModule,
    private readonly session: RuntimeSession,
    readonly fs: FsBindings,
    readonly pkg: WasmPackage,
    private readonly options: WasmEngineOptions,
  ) {}

  async start(): Promise<void> {
    if (typeof this.mod.subscribeStdout === "function") {
      this.subscription = await this.mod.subscribeStdout((entry) => this.live(entry));
    }
    const readInput = this.options.readInput;
    if (readInput && typeof this.session.setInputHandler === "function") {
      await this.session.setInputHandler((request) => {
        const line = readInput(typeof request?.prompt === "string" ? request.prompt : "");
        return line === null ? { error: "no input available (stdin is closed)" } : line;
      });
    }
  }

  async execute(source: ScriptSource, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    if (this.closed) throw new Error("the wasm engine session is closed");
    if (this.current) throw new Error("the wasm engine is already running a script in this session");
    const { request, name } = this.request(source);
    this.cancelled = false;
    const run = { entries: [] as StreamEntry[], onOutput: options.onOutput };
    this.current = run;
    const started = performance.now();
    this.fs.takeWriteFailures(); // failures before this run belong to an earlier report
    let raw: RuntimeResult | undefined;
    let error: ScriptError | undefined;
    try {
      await this.addPathOnce();
      // A cancel that arrived while the path was being set must not be lost: the runtime resets
      // its cancel flag when the next execution starts.
      if (!this.cancelled) raw = await this.send(request);
      if (raw?.error !== undefined && raw.error !== null) error = mapError(raw.error, name);
    } catch (thrown) {
      error = mapError(thrown, name);
    } finally {
      this.current = undefined;
    }
    if (this.cancelled && (!error || error.identifier !== INTERRUPTED.identifier)) {
      error = error ? { ...error, identifier: INTERRUPTED.identifier, message: `${INTERRUPTED.message}: ${error.message}` } : { ...INTERRUPTED };
    }
    // Entries the runtime reported but did not stream (no subscription, or a runtime that only
    // reports at the end) are delivered now, after the live ones, so onOutput still sees all in order.
    const reported = (raw?.stdout ?? []).map(toEntry);
    const streams = reported.length >= run.entries.length ? reported : run.entries;
    for (const entry of streams.slice(run.entries.length)) options.onOutput?.(entry);
    error = withLostWrites(error, this.fs.takeWriteFailures());
    return {
      ok: !error,
      streams,
      error,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      workspace: summarise(raw),
      valueText: typeof raw?.valueText === "string" ? raw.valueText : undefined,
    };
  }

  cancel(): void {
    if (!this.current) return;
    this.cancelled = true;
    this.session.cancelExecution?.();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.subscription !== undefined) await this.mod.unsubscribeStdout?.(this.subscription);
    try {
      this.session.dispose?.();
    } finally {
      this.fs.dispose();
    }
  }

  private live(raw: RuntimeStdoutEntry): void {
    const run = this.current;
    if (!run) return;
    const entry = toEntry(raw);
    run.entries.push(entry);
    run.onOutput?.(entry);
  }

  /** The runtime's request, and the file name errors are reported against (the host path for files). */
  private request(source: ScriptSource): { request: { source: RuntimeSource }; name: string } {
    if (source.kind === "text") return { request: { source: { kind: "text", name: source.name, text: source.text } }, name: source.name };
    const host = resolve(source.path);
    const virtual = this.fs.toVirtualPath(host);
    // Inside the workspace the runtime reads the script through the provider like any file;
    // outside it, deskless reads the file the user named and hands over its text.
    if (virtual !== undefined) return { request: { source: { kind: "path", path: virtual } }, name: host };
    return { request: { source: { kind: "text", name: host, text: readFileSync(host, "utf8") } }, name: host };
  }

  private async send(request: { source: RuntimeSource }): Promise<RuntimeResult> {
    if (typeof this.session.executeRequest === "function") return this.session.executeRequest(request);
    if (typeof this.session.execute === "function") {
      // Runtimes before executeRequest only take source text.
      const source = request.source;
      const text = source.kind === "text" ? source.text : new TextDecoder().decode(this.fs.readFile(source.path));
      return this.session.execute(text);
    }
    throw new Error("the RunMat session has neither executeRequest nor execute");
  }

  /** Puts EngineOptions.path on the MATLAB path once, as virtual folders. */
  private async addPathOnce(): Promise<void> {
    if (this.pathAdded) return;
    this.pathAdded = true;
    const folders: string[] = [];
    for (const folder of this.options.path ?? []) {
      const virtual = this.fs.toVirtualPath(resolve(folder));
      if (virtual === undefined) log.warn({ folder }, "path folder is outside the workspace roots; the wasm engine cannot see it");
      else folders.push(virtual);
    }
    if (folders.length === 0) return;
    const text = `addpath(${folders.map((f) => `'${f.replace(/'/g, "''")}'`).join(", ")});`;
    const result = await this.send({ source: { kind: "text", name: "<deskless:addpath>", text } });
    if (result?.error) log.warn({ error: result.error }, "addpath failed");
  }
}

function toEntry(raw: RuntimeStdoutEntry): StreamEntry {
  const stream = raw.stream === "stderr" || raw.stream === "clear" ? raw.stream : "stdout";
  return { stream, text: String(raw.text ?? ""), timestampMs: typeof raw.timestampMs === "number" ? raw.timestampMs : Date.now() };
}

const KINDS = new Set(["syntax", "semantic", "compile", "runtime", "io"]);

/** RunMatExecutionError, a result's error (details object or string), or anything else thrown. */
function mapError(value: unknown, file: string): ScriptError {
  if (typeof value === "string") return { message: value, kind: "runtime", file };
  const details = (value ?? {}) as RuntimeErrorDetails & { name?: string };
  const isScriptError = details.name === "RunMatExecutionError" || !(value instanceof Error);
  const message = typeof details.message === "string" && details.message ? details.message : String(value);
  if (!isScriptError) {
    // Not a script error: the runtime itself failed. Say so rather than blame the script.
    return { identifier: "deskless:runtimeFailure", kind: "runtime", message: `the RunMat runtime failed: ${message}`, file };
  }
  const out: ScriptError = { message, file };
  if (typeof details.identifier === "string" && details.identifier) out.identifier = details.identifier;
  out.kind = typeof details.kind === "string" && KINDS.has(details.kind) ? (details.kind as ScriptError["kind"]) : "runtime";
  if (typeof details.span?.line === "number") out.line = details.span.line;
  if (typeof details.span?.column === "number") out.column = details.span.column;
  return out;
}

/** A write the runtime dropped on its flush/close path still fails the run, naming the file. */
function withLostWrites(error: ScriptError | undefined, failures: WriteFailure[]): ScriptError | undefined {
  if (failures.length === 0) return error;
  const files = [...new Set(failures.map((f) => f.path))];
  const first = failures[0] as WriteFailure;
  const summary =
    `could not write ${files.join(", ")}: ${first.message}` +
    (failures.length > 1 ? ` (and ${failures.length - 1} more failed write${failures.length > 2 ? "s" : ""})` : "");
  if (error) return { ...error, message: `${error.message}; also, ${summary}` };
  return { identifier: "deskless:writeFailed", kind: "io", message: `${summary}; the script's data for this file was not saved`, file: first.hostPath ?? first.path };
}

function summarise(raw: RuntimeResult | undefined): VariableSummary[] {
  const values = raw?.workspace?.values;
  if (!Array.isArray(values)) return [];
  return values.map((v) => ({ name: v.name, class: v.className ?? "unknown", size: Array.isArray(v.shape) ? v.shape : [] }));
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
