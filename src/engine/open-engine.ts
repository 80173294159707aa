// Picks the engine the CLI asked for; both implement EngineSession. Each is loaded only when
// chosen, so a direct run does not pay for loading the wasm host and FsBindings.
import type { DirectEngineOptions } from "./direct-engine.js";
import type { EngineName, EngineSession } from "./engine.js";

export interface OpenEngineOptions extends DirectEngineOptions {
  /** Folder of the `runmat` npm package, for the wasm engine. */
  packageDir?: string;
  /** JSON file of preset dialog answers, for the wasm engine. */
  dialogAnswersFile?: string;
}

export async function openEngine(name: EngineName, options: OpenEngineOptions): Promise<EngineSession> {
  if (name === "wasm") {
    const { openWasmEngine } = await import("./wasm-engine.js");
    // The wasm runtime runs with its JIT off (README); --no-jit is for the direct engine.
    return openWasmEngine({ ...options, enableJit: false });
  }
  const { openDirectEngine } = await import("./direct-engine.js");
  return openDirectEngine(options);
}
