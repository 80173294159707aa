// Part of `npm run bench:bindings`: the RunMat runtime's own fopen/fclose of one file, with
// FsBindings as its provider (with zero-copy reads, and with copying reads; the engine's worker uses
// one of them, WORKER_ZERO_COPY_READS) against a provider made of Node's fs.readFileSync/fs.writeFileSync. Two scripts: "read" opens the file 'r'
// and closes it (the runtime reads the whole file); "read + write" opens it 'r+', changes one byte
// and closes it (the runtime also writes the whole file back). The provider does all the work, the
// script almost none. Each provider runs in a process of its own (runtime-round-trip-child.ts), as
// the engine's worker has its runtime to itself: in one process the providers' Buffers and garbage
// collections would shape each other's figures. The processes take turns, in rounds. The runtime is
// the package DESKLESS_WASM_PACKAGE names, else node_modules/runmat.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { locateWasmPackage, type WasmPackage } from "../src/engine/wasm-package.js";
import { median } from "../src/median.js";
import { WORKER_ZERO_COPY_READS } from "../src/engine/wasm-protocol.js";
import { engineProvider, PROVIDERS, SCRIPTS, type ChildReport, type ProviderName, type ScriptName } from "./runtime-round-trip-child.js";

export interface RoundTripLine {
  script: ScriptName;
  /** Median ms per provider. */
  ms: Record<ProviderName, number>;
}

export interface RoundTrip {
  runtime: { dir: string; name: string; version: string; layout: string };
  size: number;
  /** Timed passes per provider and script, over all rounds. */
  passes: number;
  /** The provider set up as the engine's worker sets up FsBindings. */
  engine: ProviderName;
  lines: RoundTripLine[];
  /** Median ms of an execution that touches no file (the runtime's own cost per execution). */
  emptyMs: number;
}

const CHILD = fileURLToPath(new URL("./runtime-round-trip-child.js", import.meta.url));
const ROUNDS = 3;

export function findRuntime(): WasmPackage | undefined {
  try {
    return locateWasmPackage();
  } catch {
    return undefined;
  }
}

export function runtimeRoundTrip(pkg: WasmPackage, root: string, size: number, passes: number): RoundTrip {
  const perRound = Math.max(1, Math.ceil(passes / ROUNDS));
  const samples = new Map<string, number[]>();
  const empty: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < PROVIDERS.length; k++) {
      const provider = PROVIDERS[(k + round) % PROVIDERS.length] as ProviderName;
      const child = spawnSync(process.execPath, [CHILD, provider, pkg.dir, root, String(size), String(perRound)], { encoding: "utf8", maxBuffer: 1 << 20 });
      if (child.status !== 0) throw new Error(`the ${provider} round trip failed: ${child.stderr.trim().split("\n").pop()}`);
      const report = JSON.parse(child.stdout) as ChildReport;
      for (const [script, values] of Object.entries(report.ms)) {
        const key = `${provider}\u0000${script}`;
        samples.set(key, [...(samples.get(key) ?? []), ...values]);
      }
      empty.push(...report.emptyMs);
    }
  }
  const lines = (Object.keys(SCRIPTS) as ScriptName[]).map((script) => ({
    script,
    ms: Object.fromEntries(PROVIDERS.map((provider) => [provider, median(samples.get(`${provider}\u0000${script}`) ?? [])])) as Record<ProviderName, number>,
  }));
  return {
    runtime: { dir: pkg.dir, name: pkg.name, version: pkg.version, layout: pkg.layout },
    size,
    passes: perRound * ROUNDS,
    engine: engineProvider(WORKER_ZERO_COPY_READS),
    lines,
    emptyMs: median(empty),
  };
}
