// Direct attach: runmat-core inside the native addon, on its own thread, over a FileProvider.
import { log } from "../log.js";
import { engineAddon, type EngineAddon } from "../native.js";
import {
  ConfinementUnavailableError,
  EngineUnavailableError,
  type Confinement,
  type EngineOptions,
  type EngineSession,
  type ExecuteOptions,
  type ExecutionResult,
  type ScriptSource,
  type StreamEntry,
} from "./engine.js";
import { markFallbacksReported, noteFallbacks, openNativeProvider, sessionRoots } from "../fs/native-provider.js";
import { applyEnvironment, scriptEnvironment } from "./environment.js";

type NativeEngineSession = InstanceType<EngineAddon["EngineSession"]>;
type NativeFileProvider = InstanceType<EngineAddon["FileProvider"]>;
type NativeReport = Awaited<ReturnType<NativeEngineSession["execute"]>>;

export interface DirectEngineOptions extends EngineOptions {
  enableJit?: boolean;
  /** Roots opened read-only (for example the folder of a script outside the workspace). */
  readOnlyRoots?: string[];
}

/** Test hook: confine as if the kernel offered at most this Landlock ABI (0: none). */
const LANDLOCK_ABI_LIMIT = "DESKLESS_LANDLOCK_ABI";

export function landlockAbiLimit(): number | undefined {
  const value = process.env[LANDLOCK_ABI_LIMIT];
  if (value === undefined || value === "") return undefined;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 0) throw new Error(`${LANDLOCK_ABI_LIMIT} is a Landlock ABI number (0 for none), not "${value}"`);
  return limit;
}

/** The one warning when the kernel cannot enforce every confinement rule (`--confine auto`). */
export function warnIfIncomplete(notEnforced: string[]): void {
  if (notEnforced.length) log.warn(`kernel confinement is incomplete, the workspace's path rules still apply: not enforced: ${notEnforced.join("; ")}`);
}

function toResult(report: NativeReport, confinement: Confinement, fallbacks: string[]): ExecutionResult {
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
    confinement,
    fallbacks,
  };
}

class DirectEngineSession implements EngineSession {
  readonly engine = "direct" as const;

  constructor(
    private readonly session: NativeEngineSession,
    private readonly provider: NativeFileProvider,
    readonly confinement: Confinement,
    private readonly restoreEnvironment: () => void,
  ) {}

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
    return toResult(report, this.confinement, noteFallbacks(this.provider).fallbacks);
  }

  cancel(): void {
    this.session.cancel();
  }

  async close(): Promise<void> {
    this.session.close();
    this.restoreEnvironment();
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
  const abiLimit = landlockAbiLimit();
  const provider = openNativeProvider({ roots: sessionRoots(options.roots, options.readOnlyRoots) }, addon);
  // RunMat reads the process environment itself, from its first start-up step on.
  const environment = scriptEnvironment(options);
  const restoreEnvironment = applyEnvironment(environment);
  let session: NativeEngineSession;
  try {
    session = new addon.EngineSession(provider, {
      enableJit: options.enableJit ?? true,
      telemetry: options.telemetry ?? false,
      searchPath: options.path ?? [],
      compat: options.compat ?? "matlab",
      confine: options.confine ?? "auto",
      allowNet: options.allowNet ?? false,
      landlockAbiLimit: abiLimit,
    });
  } catch (error) {
    restoreEnvironment();
    if ((error as { code?: string }).code === "CONFINEMENT_UNAVAILABLE") throw new ConfinementUnavailableError((error as Error).message);
    throw error;
  }
  const confinement: Confinement = { ...session.confinement, mode: session.confinement.mode as Confinement["mode"], environment: Object.keys(environment).sort() };
  warnIfIncomplete(confinement.notEnforced);
  // The confinement's own fallbacks were just warned about, in words that name what is not enforced.
  markFallbacksReported(provider);
  return new DirectEngineSession(session, provider, confinement, restoreEnvironment);
}
