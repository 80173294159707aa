// Direct attach: runmat-core inside the native addon, on its own thread, over a FileProvider.
import { engineAddon, type EngineAddon } from "../native.js";
import {
  EngineUnavailableError,
  type EngineOptions,
  type EngineSession,
  type ExecuteOptions,
  type ExecutionResult,
  type ScriptSource,
  type StreamEntry,
} from "./engine.js";

type NativeEngineSession = InstanceType<EngineAddon["EngineSession"]>;
type NativeReport = Awaited<ReturnType<NativeEngineSession["execute"]>>;

export interface DirectEngineOptions extends EngineOptions {
  enableJit?: boolean;
  /** Roots opened read-only (for example the folder of a script outside the workspace). */
  readOnlyRoots?: string[];
}

function toResult(report: NativeReport): ExecutionResult {
  const error = report.error
    ? {
        identifier: report.error.identifier ?? undefined,
        message: report.error.message,
        kind: report.error.kind as NonNullable<ExecutionResult["error"]>["kind"],
        file: report.error.file ?? undefined,
        line: report.error.line ?? undefined,
        column: report.error.column ?? undefined,
      }
    : report.interrupted
      ? { identifier: "RunMat:interrupted", message: "execution interrupted", kind: "runtime" as const }
      : undefined;
  return {
    ok: !error,
    streams: report.streams.map((s) => ({ stream: s.stream as StreamEntry["stream"], text: s.text, timestampMs: s.timestampMs })),
    error,
    durationMs: report.durationMs,
    workspace: report.workspace.map((v) => ({ name: v.name, class: v.className, size: v.size })),
    valueText: report.valueText ?? undefined,
  };
}

class DirectEngineSession implements EngineSession {
  readonly engine = "direct" as const;

  constructor(private readonly session: NativeEngineSession) {}

  async execute(source: ScriptSource, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    let delivered!: () => void;
    const allDelivered = new Promise<void>((resolve) => (delivered = resolve));
    const nativeSource =
      source.kind === "file" ? { kind: "file", path: source.path } : { kind: "text", name: source.name, text: source.text };
    const report = await this.session.execute(nativeSource, (entry) => {
      if (entry.stream === "end") delivered();
      else options.onOutput?.({ stream: entry.stream as StreamEntry["stream"], text: entry.text, timestampMs: entry.timestampMs });
    });
    await allDelivered;
    return toResult(report);
  }

  cancel(): void {
    this.session.cancel();
  }

  async close(): Promise<void> {
    this.session.close();
  }
}

export async function openDirectEngine(options: DirectEngineOptions): Promise<EngineSession> {
  let addon: EngineAddon;
  try {
    addon = engineAddon();
  } catch (error) {
    throw new EngineUnavailableError((error as Error).message);
  }
  if (typeof addon.EngineSession !== "function") {
    throw new EngineUnavailableError("the engine addon that loaded has no EngineSession (DESKLESS_ENGINE_ADDON names another addon?)");
  }
  const roots = [
    ...options.roots.map((path) => ({ path })),
    ...(options.readOnlyRoots ?? []).map((path) => ({ path, readOnly: true })),
  ];
  const provider = new addon.FileProvider({ roots });
  const session = new addon.EngineSession(provider, {
    enableJit: options.enableJit ?? true,
    telemetry: options.telemetry ?? false,
    searchPath: options.path ?? [],
    compat: options.compat ?? "matlab",
  });
  return new DirectEngineSession(session);
}
