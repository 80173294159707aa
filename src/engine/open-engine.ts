// Picks the engine the CLI asked for; both implement EngineSession.
import { openDirectEngine, type DirectEngineOptions } from "./direct-engine.js";
import type { EngineName, EngineSession } from "./engine.js";
import { openWasmEngine } from "./wasm-engine.js";

export interface OpenEngineOptions extends DirectEngineOptions {
  /** Folder of the `runmat` npm package, for the wasm engine. */
  packageDir?: string;
  /** JSON file of preset dialog answers, for the wasm engine. */
  dialogAnswersFile?: string;
}

export function openEngine(name: EngineName, options: OpenEngineOptions): Promise<EngineSession> {
  // The wasm runtime runs with its JIT off (README); --no-jit is for the direct engine.
  return name === "wasm" ? openWasmEngine({ ...options, enableJit: false }) : openDirectEngine(options);
}
