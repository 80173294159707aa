// One process of bench:bindings' runtime round trip (runtime-round-trip.ts): starts the RunMat
// runtime with one provider, times each script on its own file, and prints the figures as JSON.
// Usage: node runtime-round-trip-child.js <provider> <package dir> <root> <size> <passes>
import { randomFillSync } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { locateWasmPackage } from "../src/engine/wasm-package.js";
import { RunningRuntime } from "../src/engine/wasm-runtime.js";
import { createFsBindings } from "../src/fs/bindings.js";
import { settle } from "../src/fs/throughput.js";

export const PROVIDERS = ["FsBindings zero-copy", "FsBindings copying", "Node fs"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const SCRIPTS = {
  read: (file: string) => `fid = fopen('/${file}', 'r');\nfprintf('%d', fclose(fid));\n`,
  "read + write": (file: string) => `fid = fopen('/${file}', 'r+');\nfwrite(fid, 7, 'uint8');\nfprintf('%d', fclose(fid));\n`,
};
export type ScriptName = keyof typeof SCRIPTS;

export interface ChildReport {
  ms: Record<ScriptName, number[]>;
  emptyMs: number[];
}

/** The FsBindings setting the wasm engine's worker uses (wasm-protocol.ts). */
export function engineProvider(zeroCopy: boolean): ProviderName {
  return zeroCopy ? "FsBindings zero-copy" : "FsBindings copying";
}

/** A minimal provider over Node's fs for one root: what a host without deskless would write. */
function nodeFsProvider(root: string): object {
  const host = (path: string) => join(root, path);
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return fn(...args);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") throw Object.assign(new Error(`not found: ${(error as Error).message}`), { code: "NotFound" });
        throw error;
      }
    };
  return {
    readFile: guard((path: string) => readFileSync(host(path))),
    writeFile: guard((path: string, data: Uint8Array) => writeFileSync(host(path), data)),
    removeFile: guard(() => undefined),
    metadata: guard((path: string) => {
      const s = statSync(host(path));
      return { fileType: s.isDirectory() ? "dir" : "file", len: s.size, modified: s.mtimeMs, readonly: false };
    }),
    readDir: guard((path: string) => readdirSync(host(path), { withFileTypes: true }).map((d) => ({ path: `${path.replace(/\/$/, "")}/${d.name}`, fileName: d.name, fileType: d.isDirectory() ? "dir" : "file" }))),
  };
}

async function main(): Promise<void> {
  const [name, dir, root, sizeText, passesText] = process.argv.slice(2) as [ProviderName, string, string, string, string];
  const size = Number(sizeText);
  const passes = Number(passesText);
  const bindings = name === "Node fs" ? undefined : createFsBindings({ roots: [root], zeroCopyReads: name === "FsBindings zero-copy" });
  const provider = bindings ?? nodeFsProvider(root);
  const file = `rt-${name.replace(/\W+/g, "-").toLowerCase()}-${size}.bin`;
  const data = new Uint8Array(size);
  randomFillSync(data);
  writeFileSync(join(root, file), data);
  // The runtime announces itself on the console; this process's stdout is its report.
  console.log = () => undefined;
  const runtime = await RunningRuntime.start(locateWasmPackage({ packageDir: dir }), { fsProvider: provider, telemetry: false, compat: "matlab", enableJit: false });
  const time = async (text: string, expected: string): Promise<number> => {
    const started = process.hrtime.bigint();
    const result = await runtime.execute({ kind: "text", name: "bench.m", text });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const printed = (result.stdout ?? []).map((e) => e.text).join("");
    if (result.error || printed !== expected) throw new Error(`the round-trip script failed: ${JSON.stringify(result.error ?? printed)}`);
    return ms;
  };
  const report: ChildReport = { ms: { read: [], "read + write": [] }, emptyMs: [] };
  for (const [script, text] of Object.entries(SCRIPTS) as Array<[ScriptName, (file: string) => string]>) {
    for (let i = -1; i < passes; i++) {
      const ms = await time(text(file), "0");
      settle(join(root, file));
      if (i >= 0) report.ms[script].push(ms);
    }
  }
  for (let i = 0; i < passes; i++) report.emptyMs.push(await time("x = 1;", ""));
  await runtime.close();
  bindings?.dispose();
  process.stdout.write(JSON.stringify(report));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
