// One Engine interface for both ways of running a script: the wasm runtime (npm `runmat`) and
// direct attach (runmat-core inside the native addon). The CLI only talks to this.

export type EngineName = "direct" | "wasm";

export type ScriptSource =
  | { kind: "file"; path: string }
  | { kind: "text"; name: string; text: string };

export interface StreamEntry {
  stream: "stdout" | "stderr" | "clear";
  text: string;
  timestampMs: number;
}

export interface ScriptError {
  /** MATLAB-style identifier, e.g. "MATLAB:undefinedFunction" or "RunMat:SyntaxError". */
  identifier?: string;
  message: string;
  kind?: "syntax" | "semantic" | "compile" | "runtime" | "io";
  file?: string;
  line?: number;
  column?: number;
}

export interface VariableSummary {
  name: string;
  class: string;
  size: number[];
}

export interface ExecutionResult {
  ok: boolean;
  streams: StreamEntry[];
  error?: ScriptError;
  durationMs: number;
  workspace: VariableSummary[];
  /** Text of the last expression value, when the engine reports one (the repl prints it). */
  valueText?: string;
}

export interface EngineOptions {
  /** Workspace roots; the first is the virtual "/" and the starting cwd. */
  roots: string[];
  /** Extra folders put on the MATLAB path (the script's own folder, for `run`). */
  path?: string[];
  telemetry?: boolean;
  /** Language compatibility: "matlab" (default), "runmat" (RunMat extensions) or "strict". */
  compat?: "matlab" | "runmat" | "strict";
  /** Answers `input()` calls; resolves to null when no input is available (stdin closed). */
  readInput?: (prompt: string) => string | null;
}

export interface ExecuteOptions {
  /** Called in order as output is produced, before execute resolves. */
  onOutput?: (entry: StreamEntry) => void;
}

/** A live engine session: the workspace persists across execute calls (the repl relies on this). */
export interface EngineSession {
  readonly engine: EngineName;
  execute(source: ScriptSource, options?: ExecuteOptions): Promise<ExecutionResult>;
  /** Interrupts the running execution; it then resolves with an interrupted error. */
  cancel(): void;
  close(): Promise<void>;
}

/** Thrown when the chosen engine cannot be loaded (exit code 3). */
export class EngineUnavailableError extends Error {
  readonly code = "ENGINE_UNAVAILABLE";
  constructor(message: string) {
    super(message);
    this.name = "EngineUnavailableError";
  }
}
