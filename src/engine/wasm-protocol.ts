// The messages between the wasm engine (main thread) and its worker thread (wasm-worker.ts), and the
// worker's start-up options. Everything here crosses postMessage, so it is plain data: the options
// are one serialisable object, and new fields pass through without changing the plumbing.
import type { DialogAnswers } from "../fs/dialogs.js";
import type { RootSpec } from "../fs/bindings.js";
import type { LogMethod } from "../log.js";
import type { ExecutionResult, ScriptSource, StreamEntry } from "./engine.js";
import type { WasmPackage } from "./wasm-package.js";

/**
 * Whether the worker's FsBindings hands the runtime zero-copy views of the native mmap cache: the
 * runtime copies what readFile returns into wasm memory at once, so a view saves a copy on every
 * large read (64 MiB: about 55 ms here). The view lives on until V8 collects it, though, and while
 * it lives, replacing that file costs the native provider about ten times as much (64 MiB: 210 ms
 * instead of 21 ms), which a script's fclose after fopen 'r+' or 'a' on a large file pays.
 * Reads are the common case; bench:bindings measures both settings.
 */
export const WORKER_ZERO_COPY_READS = true;

export interface WasmWorkerOptions {
  package: WasmPackage;
  /** Workspace roots as FsBindings takes them; the first is "/". */
  roots: RootSpec[];
  /** Host folders to put on the MATLAB path (those outside the roots are skipped with a warning). */
  path: string[];
  telemetry: boolean;
  compat: "matlab" | "runmat" | "strict";
  enableJit: boolean;
  dialogAnswers?: DialogAnswers;
  /** The main thread's log level; the worker filters before it sends records over. */
  logLevel: string;
  /** Whether the runtime's network globals work (--allow-net). */
  allowNet: boolean;
  /** Whether the main thread answers input() (EngineOptions.readInput was given). */
  input: boolean;
  /**
   * One Int32 the main thread sets to the id of the execution it wants stopped. The worker reads it
   * whenever the runtime calls back into JavaScript (output, file access, input), which is the only
   * time it can act while a script runs: the runtime does not yield to the event loop mid-script.
   */
  cancelFlag: SharedArrayBuffer;
}

/** What the worker learned from the runtime it started (the runtime's own answers where it has them). */
export interface RuntimeInfo {
  layout: WasmPackage["layout"];
  name: string;
  version: string;
  /** session.telemetryConsent(), when the runtime has it. */
  telemetryConsent?: boolean;
  /** session.gpuStatus(), when the runtime has it. */
  gpu?: { requested?: boolean; active?: boolean };
}

export type ToWorker =
  | { type: "execute"; id: number; source: ScriptSource }
  | { type: "input-answer"; id: number; line: string | null }
  | { type: "cancel"; id: number }
  | { type: "close" };

export type FromWorker =
  | { type: "ready"; info: RuntimeInfo }
  | { type: "failed"; stage: "roots" | "load" | "start"; message: string }
  | { type: "output"; id: number; entry: StreamEntry }
  | { type: "input"; id: number; prompt: string }
  | { type: "result"; id: number; result: ExecutionResult; cancelSeen: boolean }
  | { type: "log"; level: LogMethod; args: unknown[] }
  | { type: "closed" };
