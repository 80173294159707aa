// `npm run bench:bindings` (after `npm run build:ts`): whole-file readFile/writeFile through FsBindings
// (what the wasm runtime calls when a script opens, flushes or closes a file) against Node's
// fs.readFileSync/fs.writeFileSync on the same folder, in the same run, at 1, 64 and 256 MiB.
// Each figure is the median of several passes, the two sides alternating which goes first, every
// timed write followed by an untimed fsync of its file so neither side pays the other's writeback; the
// ratio is baseline time / FsBindings time (above 1: FsBindings is faster; goal >= 0.95).
// Reads are measured three ways:
//   "readFile (engine)":        FsBindings as the wasm engine runs it (zeroCopyReads: the native mmap
//                               cache's read-only Buffer) against fs.readFileSync, call for call;
//   "readFile (engine) + copy": the same, plus one copy out on both sides, as the runtime copies the
//                               bytes into wasm memory: the figure a script's fopen sees;
//   "readFile (default)":       the library default, which hands out a private writable copy.
// Then the RunMat runtime's own fopen/fclose round trip of a 64 MiB file (`--runtime-size`), with
// FsBindings against a Node fs provider (bench/runtime-round-trip.ts), when a runtime is found
// (DESKLESS_WASM_PACKAGE, else node_modules/runmat).
// Prints a table on stdout; `--json` prints the figures as one JSON document instead.
import { randomFillSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createFsBindings } from "../src/fs/bindings.js";
import { formatBytes, MiB, parseBytes } from "../src/byte-units.js";
import { settle } from "../src/fs/throughput.js";
import { median } from "../src/median.js";
import { findRuntime, runtimeRoundTrip, type RoundTrip } from "./runtime-round-trip.js";

const GOAL = 0.95;

interface Side {
  medianMs: number;
  bytesPerSecond: number;
}

interface Line {
  op: "writeFile" | "readFile (engine)" | "readFile (engine) + copy" | "readFile (default)";
  size: number;
  passes: number;
  deskless: Side;
  baseline: Side & { name: string };
  /** baseline time / deskless time. */
  ratio: number;
  goal: number;
}

/** Bytes returned by the timed calls, so the reads are used and cannot be optimised away. */
let consumed = 0;

function timeMs(run: () => unknown): number {
  const start = process.hrtime.bigint();
  const value = run() as Uint8Array | undefined;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  consumed += value?.byteLength ?? 0;
  return ms;
}

/** Passes per line: the large writes meet the virtual disk's occasional stalls, which 9 passes did not outvote. */
function passesFor(size: number): number {
  return size <= 4 * MiB ? 41 : 21;
}

interface SideRun {
  run: () => unknown;
  /** Untimed, after each timed call. */
  after?: () => void;
}

/** Runs both sides `passes` times, alternating which goes first, after one warm-up each. */
function compare(passes: number, deskless: SideRun, baseline: SideRun): { deskless: number; baseline: number } {
  const a: number[] = [];
  const b: number[] = [];
  const ours = (record: boolean) => {
    const ms = timeMs(deskless.run);
    deskless.after?.();
    if (record) a.push(ms);
  };
  const theirs = (record: boolean) => {
    const ms = timeMs(baseline.run);
    baseline.after?.();
    if (record) b.push(ms);
  };
  ours(false);
  theirs(false);
  for (let i = 0; i < passes; i++) {
    for (const side of i % 2 === 0 ? [ours, theirs] : [theirs, ours]) side(true);
  }
  return { deskless: median(a), baseline: median(b) };
}

function line(op: Line["op"], size: number, passes: number, times: { deskless: number; baseline: number }, baselineName: string): Line {
  const rate = (ms: number) => size / (ms / 1000);
  return {
    op,
    size,
    passes,
    deskless: { medianMs: round(times.deskless), bytesPerSecond: Math.round(rate(times.deskless)) },
    baseline: { name: baselineName, medianMs: round(times.baseline), bytesPerSecond: Math.round(rate(times.baseline)) },
    ratio: round(times.baseline / times.deskless),
    goal: GOAL,
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function table(lines: Line[]): string {
  const rows = [["op", "size", "FsBindings", "baseline", "ratio", "goal", "baseline is"]];
  for (const l of lines) {
    rows.push([
      l.op,
      formatBytes(l.size),
      `${formatBytes(l.deskless.bytesPerSecond)}/s (${l.deskless.medianMs.toFixed(2)} ms)`,
      `${formatBytes(l.baseline.bytesPerSecond)}/s (${l.baseline.medianMs.toFixed(2)} ms)`,
      `${l.ratio.toFixed(2)}x`,
      `${l.ratio >= l.goal ? "ok" : "MISS"} (>= ${l.goal})`,
      l.baseline.name,
    ]);
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col]!)).join("  ").trimEnd()).join("\n");
}

function roundTripTable(r: RoundTrip): string {
  const names = Object.keys(r.lines[0]?.ms ?? {}) as Array<keyof RoundTrip["lines"][number]["ms"]>;
  const rows = [["script", ...names.map((name) => (name === r.engine ? `${name} (engine)` : name)), "ratio (Node fs / engine's)"]];
  for (const line of r.lines) {
    rows.push([line.script, ...names.map((name) => `${line.ms[name].toFixed(1)} ms`), `${(line.ms["Node fs"] / line.ms[r.engine]).toFixed(2)}x`]);
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return [
    `RunMat runtime ${r.runtime.name}@${r.runtime.version} (${r.runtime.layout} layout), a ${formatBytes(r.size)} file: fopen 'r' + fclose (read),`,
    `fopen 'r+' + 1-byte fwrite + fclose (read + write); median of ${r.passes} passes, each provider in a process of its own, in turn;`,
    `an execution touching no file costs ${r.emptyMs.toFixed(1)} ms of each (goal >= ${GOAL})`,
    "",
    ...rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col]!)).join("  ").trimEnd()),
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      sizes: { type: "string", default: "1MiB,64MiB,256MiB" },
      "runtime-size": { type: "string", default: "64MiB" },
      dir: { type: "string" },
    },
  });
  const sizes = values.sizes.split(",").map(parseBytes);
  const root = mkdtempSync(join(values.dir ?? tmpdir(), "deskless-bench-bindings-"));
  const fs = createFsBindings({ roots: [root] });
  const zeroCopy = createFsBindings({ roots: [root], zeroCopyReads: true });
  const lines: Line[] = [];
  let roundTrip: RoundTrip | null = null;
  try {
    for (const size of sizes) {
      const data = new Uint8Array(size);
      randomFillSync(data);
      const passes = passesFor(size);
      const virtual = `/bindings-${size}.bin`;
      const host = join(root, `node-${size}.bin`);
      process.stderr.write(`bench:bindings writeFile ${formatBytes(size)} x${passes}\n`);
      const write = compare(
        passes,
        { run: () => fs.writeFile(virtual, data), after: () => settle(fs.toHostPath(virtual)) },
        { run: () => writeFileSync(host, data), after: () => settle(host) },
      );
      lines.push(line("writeFile", size, passes, write, "fs.writeFileSync"));
      process.stderr.write(`bench:bindings readFile ${formatBytes(size)} x${passes} (three ways)\n`);
      const check = fs.readFile(virtual);
      if (check.byteLength !== size || Buffer.compare(Buffer.from(check.buffer, check.byteOffset, check.byteLength), Buffer.from(data)) !== 0) {
        throw new Error(`readFile through FsBindings returned different bytes for ${formatBytes(size)}`);
      }
      const target = new Uint8Array(size);
      const copyOut = (bytes: Uint8Array) => {
        target.set(bytes);
        return target;
      };
      lines.push(line("readFile (engine)", size, passes, compare(passes, { run: () => zeroCopy.readFile(virtual) }, { run: () => readFileSync(host) }), "fs.readFileSync"));
      lines.push(
        line("readFile (engine) + copy", size, passes, compare(passes, { run: () => copyOut(zeroCopy.readFile(virtual)) }, { run: () => copyOut(readFileSync(host)) }), "fs.readFileSync + copy"),
      );
      lines.push(line("readFile (default)", size, passes, compare(passes, { run: () => fs.readFile(virtual) }, { run: () => readFileSync(host) }), "fs.readFileSync"));
      rmSync(host, { force: true });
      fs.removeFile(virtual);
    }
    const runtime = findRuntime();
    if (runtime) {
      const size = parseBytes(values["runtime-size"]);
      process.stderr.write(`bench:bindings runtime fopen/fclose round trip ${formatBytes(size)} x${passesFor(size)} (${runtime.dir})\n`);
      roundTrip = runtimeRoundTrip(runtime, root, size, passesFor(size));
    } else {
      process.stderr.write("bench:bindings: no RunMat runtime found (DESKLESS_WASM_PACKAGE, node_modules/runmat): skipping its round trip\n");
    }
  } finally {
    fs.dispose();
    zeroCopy.dispose();
    rmSync(root, { recursive: true, force: true });
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ bench: "bindings", goal: GOAL, node: process.version, bytesRead: consumed, lines, runtimeRoundTrip: roundTrip }, null, 2)}\n`);
  } else {
    process.stdout.write(`FsBindings readFile/writeFile vs Node fs, same folder, same run (median of passes; ratio = baseline time / FsBindings time)\n\n${table(lines)}\n`);
    if (roundTrip) process.stdout.write(`\n${roundTripTable(roundTrip)}\n`);
  }
}

await main();
