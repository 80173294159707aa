// Loads and starts the RunMat runtime in either layout (wasm-package.ts) behind one small handle.
// Runs inside the wasm worker. What differs between the layouts:
//   wrapper (the npm package's dist/index.js): ESM; is handed the .wasm bytes as wasmModule and the
//     compatibility mode as language.compat; its helpers return Promises; a thrown error comes back
//     as RunMatExecutionError.
//   node (wasm-bindgen's raw Node.js build): CommonJS, loads its .wasm itself on require; reads
//     languageCompat; defaults enableGpu and telemetryConsent to true, so both are always passed.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import type { RuntimeInfo } from "./wasm-protocol.js";
import type { WasmPackage } from "./wasm-package.js";

export interface RuntimeStdoutEntry {
  stream: string;
  text: string;
  timestampMs?: number;
}

export interface RuntimeErrorDetails {
  kind?: string;
  message?: string;
  identifier?: string;
  diagnostic?: string;
  span?: { line?: number; column?: number };
}

export interface RuntimeWorkspaceEntry {
  name: string;
  className?: string;
  shape?: number[];
}

/** The result fields deskless reads. The runtime also returns Maps (flow, valueJson) that it ignores. */
export interface RuntimeResult {
  stdout?: RuntimeStdoutEntry[];
  error?: string | RuntimeErrorDetails | null;
  /** Incremental since 0.6.2: `full` says whether `values` is the whole workspace or only the changes. */
  workspace?: { full?: boolean; values?: RuntimeWorkspaceEntry[]; removals?: string[] };
  executionTimeMs?: number;
  valueText?: string;
}

export type RuntimeSource = { kind: "text"; name: string; text: string } | { kind: "path"; path: string };

export type InputRequest = { prompt?: string; kind?: string };
export type InputHandler = (request: InputRequest) => unknown;

interface RuntimeSession {
  executeRequest(request: { source: RuntimeSource }): Promise<RuntimeResult>;
  cancelExecution?(): void;
  setInputHandler?(handler: InputHandler | null): unknown;
  setFsProvider?(provider: object): unknown;
  resetSession?(): unknown;
  dispose?(): void;
  telemetryConsent?(): boolean;
  gpuStatus?(): { requested?: boolean; active?: boolean } | undefined;
}

interface RuntimeModule {
  initRunMat(options: Record<string, unknown>): Promise<RuntimeSession>;
  subscribeStdout?(listener: (entry: RuntimeStdoutEntry) => void): number | Promise<number>;
  unsubscribeStdout?(id: number): unknown;
}

export const ERROR_NAMESPACE = "RunMat";

export interface StartOptions {
  fsProvider: object;
  telemetry: boolean;
  compat: "matlab" | "runmat" | "strict";
  enableJit: boolean;
}

/** A failure to load or start the runtime, with the stage it happened at. */
export class RuntimeStartError extends Error {
  constructor(
    readonly stage: "roots" | "load" | "start",
    message: string,
  ) {
    super(message);
    this.name = "RuntimeStartError";
  }
}

export class RunningRuntime {
  private subscription: number | undefined;

  private constructor(
    private readonly mod: RuntimeModule,
    private readonly session: RuntimeSession,
    readonly info: RuntimeInfo,
  ) {}

  static async start(pkg: WasmPackage, options: StartOptions): Promise<RunningRuntime> {
    const mod = await load(pkg);
    let session: RuntimeSession;
    try {
      session = await mod.initRunMat(initOptions(pkg, options));
    } catch (error) {
      throw new RuntimeStartError("start", `the RunMat runtime at ${pkg.dir} (${pkg.name}@${pkg.version}) failed to start: ${firstLine(error)}`);
    }
    if (typeof session?.executeRequest !== "function") {
      throw new RuntimeStartError("start", `the RunMat runtime at ${pkg.dir} (${pkg.name}@${pkg.version}) returned a session without executeRequest`);
    }
    return new RunningRuntime(mod, session, describe(pkg, session));
  }

  async subscribe(listener: (entry: RuntimeStdoutEntry) => void): Promise<void> {
    if (typeof this.mod.subscribeStdout === "function") this.subscription = await this.mod.subscribeStdout(listener);
  }

  async setInputHandler(handler: InputHandler): Promise<void> {
    await this.session.setInputHandler?.(handler);
  }

  /** Installs another filesystem provider (the runtime's is process-wide within its wasm instance). */
  async setFsProvider(provider: object): Promise<void> {
    if (typeof this.session.setFsProvider !== "function") throw new Error("this RunMat runtime cannot change its filesystem provider");
    await this.session.setFsProvider(provider);
  }

  execute(source: RuntimeSource): Promise<RuntimeResult> {
    return this.session.executeRequest({ source });
  }

  cancel(): void {
    this.session.cancelExecution?.();
  }

  async close(): Promise<void> {
    if (this.subscription !== undefined) await this.mod.unsubscribeStdout?.(this.subscription);
    this.subscription = undefined;
    this.session.dispose?.();
  }
}

async function load(pkg: WasmPackage): Promise<RuntimeModule> {
  let mod: RuntimeModule;
  try {
    mod = pkg.layout === "node" ? (createRequire(import.meta.url)(pkg.entry) as RuntimeModule) : ((await import(pathToFileURL(pkg.entry).href)) as RuntimeModule);
  } catch (error) {
    throw new RuntimeStartError("load", `the RunMat runtime package at ${pkg.dir} failed to load (${firstLine(error)})`);
  }
  if (typeof mod?.initRunMat !== "function") {
    throw new RuntimeStartError("load", `the package at ${pkg.dir} (${pkg.name}@${pkg.version}) has no initRunMat export, so it is not the RunMat runtime`);
  }
  return mod;
}

function initOptions(pkg: WasmPackage, options: StartOptions): Record<string, unknown> {
  const common = {
    fsProvider: options.fsProvider,
    // No WebGPU in Node; the raw build would otherwise try to start it.
    enableGpu: false,
    enableJit: options.enableJit,
    // Both layouts default to consent: deskless asks only when the user did.
    telemetryConsent: options.telemetry,
    // The runtime names errors MATLAB:* under matlab compatibility; the direct engine always says
    // RunMat:*. One namespace, so a script fails with the same identifier on either engine.
    errorNamespace: ERROR_NAMESPACE,
  };
  if (pkg.layout === "node") return { ...common, languageCompat: options.compat };
  // The object form, because wasm-bindgen's init prints a deprecation warning for bare bytes.
  return { ...common, wasmModule: { module_or_path: readFileSync(pkg.wasmPath) }, language: { compat: options.compat } };
}

function describe(pkg: WasmPackage, session: RuntimeSession): RuntimeInfo {
  const info: RuntimeInfo = { layout: pkg.layout, name: pkg.name, version: pkg.version };
  try {
    if (typeof session.telemetryConsent === "function") info.telemetryConsent = Boolean(session.telemetryConsent());
    if (typeof session.gpuStatus === "function") {
      const gpu = session.gpuStatus();
      if (gpu && typeof gpu === "object") info.gpu = { requested: Boolean(gpu.requested), active: Boolean(gpu.active) };
    }
  } catch {
    // Informational only: a runtime without these answers still runs scripts.
  }
  return info;
}

export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
