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

/** The kernel confinement a direct-engine session ran under (Landlock on its thread). */
export interface Confinement {
  mode: ConfineMode;
  /** The Landlock ABI the rules were built for; 0 when the kernel confines nothing. */
  abi: number;
  /** File access limited to the workspace roots and a few system paths. */
  filesystem: boolean;
  /** No program can be started. */
  programs: boolean;
  /** TCP connect and bind are refused (false when allowed, or when the kernel cannot refuse them). */
  network: boolean;
  /** Abstract unix sockets and signals outside the process are refused (Landlock ABI 6). */
  scopes: boolean;
  allowNet: boolean;
  /** Each rule asked for that the kernel could not enforce. */
  notEnforced: string[];
  /** The environment variables the script can see. */
  environment: string[];
}

/** "auto" enforces what the kernel offers and warns about the rest; "require" refuses to start without it. */
export type ConfineMode = "auto" | "require" | "off";

export interface ExecutionResult {
  ok: boolean;
  streams: StreamEntry[];
  error?: ScriptError;
  durationMs: number;
  workspace: VariableSummary[];
  /** Text of the last expression value, when the engine reports one (the repl prints it). */
  valueText?: string;
  /** The confinement in force, for engines that confine (the direct engine). */
  confinement?: Confinement;
  /** Slower or weaker paths the engine's file provider took (its stats' fallbacks). */
  fallbacks?: string[];
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
  /** Let the script open TCP connections and listen (default: refused). */
  allowNet?: boolean;
  /** Environment variables the script may see besides the always-visible few (`*` globs allowed). */
  allowEnv?: string[];
  /** Environment variables set for the script (the CLI's `--env NAME=VALUE`). */
  setEnv?: Record<string, string>;
  /** Kernel confinement: "auto" (default), "require" (refuse to start without it) or "off" (debugging). */
  confine?: ConfineMode;
}

export interface ExecuteOptions {
  /** Called in order as output is produced, before execute resolves. */
  onOutput?: (entry: StreamEntry) => void;
}

/** A live engine session: the workspace persists across execute calls (the repl relies on this). */
export interface EngineSession {
  readonly engine: EngineName;
  /** The kernel confinement in force, for engines that confine (the direct engine). */
  readonly confinement?: Confinement;
  execute(source: ScriptSource, options?: ExecuteOptions): Promise<ExecutionResult>;
  /** Interrupts the running execution; it then resolves with an interrupted error. */
  cancel(): void;
  close(): Promise<void>;
}

/** Thrown by `confine: "require"` when the kernel cannot enforce every rule (exit code 9). */
export class ConfinementUnavailableError extends Error {
  readonly code = "CONFINEMENT_UNAVAILABLE";
  constructor(message: string) {
    super(message);
    this.name = "ConfinementUnavailableError";
  }
}

/** Thrown when the chosen engine cannot be loaded (exit code 3). */
export class EngineUnavailableError extends Error {
  readonly code = "ENGINE_UNAVAILABLE";
  constructor(message: string) {
    super(message);
    this.name = "EngineUnavailableError";
  }
}
