// Turns what the RunMat runtime reports into deskless's ExecutionResult: output entries, the script
// error (returned in result.error since 0.6.2; thrown as RunMatExecutionError by older runtimes), the
// workspace (which the runtime reports incrementally), and writes the runtime dropped.
import type { WriteFailure } from "../fs/bindings.js";
import type { ScriptError, StreamEntry, VariableSummary } from "./engine.js";
import type { RuntimeErrorDetails, RuntimeResult, RuntimeStdoutEntry } from "./wasm-runtime.js";

export const INTERRUPTED: ScriptError = { identifier: "RunMat:interrupted", message: "execution interrupted", kind: "runtime" };

const KINDS = new Set(["syntax", "semantic", "compile", "runtime", "io"]);

export function toEntry(raw: RuntimeStdoutEntry): StreamEntry {
  const stream = raw.stream === "stderr" || raw.stream === "clear" ? raw.stream : "stdout";
  return { stream, text: String(raw.text ?? ""), timestampMs: typeof raw.timestampMs === "number" ? raw.timestampMs : Date.now() };
}

/** A result's error (details object or string), a thrown RunMatExecutionError, or anything else thrown. */
export function mapError(value: unknown, file: string): ScriptError {
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

/** The one interrupted error, whatever the runtime called its cancellation (MATLAB:ExecutionCancelled in 0.6.2). */
export function asInterrupted(error: ScriptError | undefined): ScriptError {
  if (!error || error.identifier === INTERRUPTED.identifier) return error ?? { ...INTERRUPTED };
  const cancelled = /cancel|interrupt/i.test(`${error.identifier ?? ""} ${error.message}`);
  return {
    ...error,
    identifier: INTERRUPTED.identifier,
    message: cancelled ? INTERRUPTED.message : `${INTERRUPTED.message}: ${error.message}`,
  };
}

/** A write the runtime dropped (fclose returned -1, or nobody looked) still fails the run, naming the file. */
export function withLostWrites(error: ScriptError | undefined, failures: WriteFailure[]): ScriptError | undefined {
  if (failures.length === 0) return error;
  const files = [...new Set(failures.map((f) => f.path))];
  const first = failures[0] as WriteFailure;
  const summary =
    `could not write ${files.join(", ")}: ${first.message}` +
    (failures.length > 1 ? ` (and ${failures.length - 1} more failed write${failures.length > 2 ? "s" : ""})` : "");
  if (error) return { ...error, message: `${error.message}; also, ${summary}` };
  return { identifier: "deskless:writeFailed", kind: "io", message: `${summary}; the script's data for this file was not saved`, file: first.hostPath ?? first.path };
}

/**
 * The session's workspace as a whole. The runtime reports `{full, values, removals}`: with `full`
 * the values are the whole workspace, otherwise only what changed; removals are cleared names.
 * Runtimes before 0.6.2 always sent the whole workspace, without the flag. Reported by name.
 */
export class WorkspaceTracker {
  private readonly variables = new Map<string, VariableSummary>();

  update(raw: RuntimeResult | undefined): VariableSummary[] {
    const workspace = raw?.workspace;
    if (workspace && typeof workspace === "object") {
      const values = Array.isArray(workspace.values) ? workspace.values : [];
      if (workspace.full !== false) this.variables.clear();
      for (const v of values) {
        if (typeof v?.name !== "string") continue;
        this.variables.set(v.name, { name: v.name, class: v.className ?? "unknown", size: Array.isArray(v.shape) ? [...v.shape] : [] });
      }
      for (const name of Array.isArray(workspace.removals) ? workspace.removals : []) this.variables.delete(name);
    }
    return [...this.variables.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  clear(): void {
    this.variables.clear();
  }
}
