// Part of `npm run bench:bindings`: the RunMat runtime's own fopen/fclose round trip of one file,
// with FsBindings as its provider (as the wasm engine configures it) against the same runtime session
// with a provider made of Node's fs.readFileSync/fs.writeFileSync. The script opens the file 'r+'
// (the runtime reads the whole file), changes one byte, and closes it (the runtime writes the whole
// file back): the provider does all the work, the script almost none. The two providers alternate on
// one session (setFsProvider), so both meet the same runtime, the same heap and the same disk.
// The runtime is the package DESKLESS_WASM_PACKAGE names, else node_modules/runmat.
import { randomFillSync } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { locateWasmPackage, type WasmPackage } from "../src/engine/wasm-package.js";
import { RunningRuntime } from "../src/engine/wasm-runtime.js";
import { createFsBindings } from "../src/fs/bindings.js";
import { settle } from "../src/fs/throughput.js";

export interface RoundTrip {
  runtime: { dir: string; name: string; version: string; layout: string };
  size: number;
  passes: number;
  /** Median ms of one round trip with FsBindings, and with the Node fs provider. */
  desklessMs: number;
  nodeMs: number;
  /** Median ms of an execution that touches no file (the runtime's own cost per execution). */
  emptyMs: number;
}

/** A minimal provider over Node's fs for one root: what a host without deskless would write. */
function nodeFsProvider(root: string): Record<string, unknown> {
  const host = (path: string) => join(root, path);
  const translate = (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? Object.assign(new Error(`not found: ${(error as Error).message}`), { code: "NotFound" }) : error;
  };
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return fn(...args);
      } catch (error) {
        throw translate(error);
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function findRuntime(): WasmPackage | undefined {
  try {
    return locateWasmPackage();
  } catch {
    return undefined;
  }
}

export async function runtimeRoundTrip(pkg: WasmPackage, root: string, size: number, passes: number): Promise<RoundTrip> {
  const name = `roundtrip-${size}.bin`;
  const data = new Uint8Array(size);
  randomFillSync(data);
  writeFileSync(join(root, name), data);
  const bindings = createFsBindings({ roots: [root], zeroCopyReads: true });
  const node = nodeFsProvider(root);
  // The runtime announces itself on the console; the bench's stdout is its table.
  const consoleLog = console.log;
  console.log = () => undefined;
  let runtime: RunningRuntime | undefined;
  try {
    runtime = await RunningRuntime.start(pkg, { fsProvider: bindings, telemetry: false, compat: "matlab", enableJit: false });
    const rt = runtime;
    const roundTrip = `fid = fopen('/${name}', 'r+');\nfwrite(fid, 7, 'uint8');\nfprintf('%d', fclose(fid));\n`;
    const time = async (text: string, expected: string): Promise<number> => {
      const started = process.hrtime.bigint();
      const result = await rt.execute({ kind: "text", name: "bench.m", text });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const printed = (result.stdout ?? []).map((e) => e.text).join("");
      if (result.error || printed !== expected) throw new Error(`the round-trip script failed: ${JSON.stringify(result.error ?? printed)}`);
      return ms;
    };
    const use = (provider: object) => rt.setFsProvider(provider);
    const ours: number[] = [];
    const theirs: number[] = [];
    const empty: number[] = [];
    const side = async (provider: object, into: number[] | undefined) => {
      await use(provider);
      const ms = await time(roundTrip, "0");
      settle(join(root, name));
      into?.push(ms);
    };
    await side(bindings, undefined);
    await side(node, undefined);
    for (let i = 0; i < passes; i++) {
      for (const [provider, into] of i % 2 === 0 ? ([[bindings, ours], [node, theirs]] as const) : ([[node, theirs], [bindings, ours]] as const)) await side(provider, into);
      empty.push(await time("x = 1;", ""));
    }
    return { runtime: { dir: pkg.dir, name: pkg.name, version: pkg.version, layout: pkg.layout }, size, passes, desklessMs: median(ours), nodeMs: median(theirs), emptyMs: median(empty) };
  } finally {
    await runtime?.close().catch(() => undefined);
    console.log = consoleLog;
    bindings.dispose();
  }
}
