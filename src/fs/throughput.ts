// The benchmark harness: throughput of the file provider against Node's fs on the same files.
// Shared by `deskless fs bench` (a quick in-place check) and `npm run bench:fs` (bench/fs.ts, 1 GiB).
import { randomFillSync } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { formatBytes, MiB } from "../byte-units.js";
import { median } from "../median.js";
import type { FileProvider } from "./provider.js";

export function formatRate(value: number, unit: Comparison["unit"]): string {
  if (unit === "bytes/s") return `${formatBytes(value)}/s`;
  return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M ops/s` : value >= 1e3 ? `${(value / 1e3).toFixed(1)} k ops/s` : `${value.toFixed(0)} ops/s`;
}

/** One measured line: deskless against a named Node fs baseline on the same file and offsets. */
export interface Comparison {
  id: string;
  label: string;
  unit: "bytes/s" | "ops/s";
  deskless: number;
  baseline: number;
  baselineName: string;
  /** deskless / baseline; above 1 means deskless is faster. */
  ratio: number;
  /** The ratio aimed for; null for a line shown for information. */
  goal: number | null;
}

export interface ThroughputOptions {
  /** Makes a fresh provider (empty cache) whose first root holds `dir`. */
  makeProvider: () => FileProvider;
  /** Directory for the test file, relative to the provider's first root; must exist. */
  dir: string;
  /** Size of each test file. */
  size: number;
  /** Chunk sizes of the sequential read lines (each gets a line). */
  readChunks: number[];
  writeChunk: number;
  randomOps: number;
  randomSize: number;
  /** Each line is the median of this many passes. */
  repeat: number;
  /** Called before each step, for progress on stderr. */
  onStep?: (label: string) => void;
}

export interface ThroughputReport {
  size: number;
  repeat: number;
  /** The host path both sides read and write. */
  file: string;
  comparisons: Comparison[];
  stats: ReturnType<FileProvider["stats"]>;
}

function seconds(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Writes `size` bytes by repeating `chunk` through one handle (write-behind), then flush and close. */
export function providerWrite(provider: FileProvider, path: string, chunk: Uint8Array, size: number): void {
  const handle = provider.openSync(path, "w");
  try {
    for (let offset = 0; offset < size; offset += chunk.length) {
      provider.writeSync(handle, offset, offset + chunk.length <= size ? chunk : chunk.subarray(0, size - offset));
    }
    provider.flushSync(handle);
  } finally {
    provider.closeSync(handle);
  }
}

/** Pushes a file's dirty pages to disk (untimed), so every timed write starts from the same state. */
export function settle(hostPath: string): void {
  const fd = openSync(hostPath, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsWrite(hostPath: string, chunk: Uint8Array, size: number): void {
  const fd = openSync(hostPath, "w");
  try {
    for (let offset = 0; offset < size; offset += chunk.length) {
      const length = Math.min(chunk.length, size - offset);
      let done = 0;
      while (done < length) done += writeSync(fd, chunk, done, length - done, offset + done);
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole file through a handle into one reused buffer; returns the byte count. */
function providerReadInto(provider: FileProvider, handle: bigint, buffer: Uint8Array): number {
  let offset = 0;
  for (;;) {
    const n = provider.readIntoSync(handle, offset, buffer);
    if (n === 0) return offset;
    offset += n;
  }
}

/**
 * Reads a whole file through a handle, taking the provider's Buffers: `readMappedSync` (zero-copy
 * read-only views of the map cache) when `mapped`, else `readSync` (writable copies).
 */
function providerReadBuffers(provider: FileProvider, handle: bigint, chunk: number, mapped: boolean): number {
  let offset = 0;
  for (;;) {
    const n = (mapped ? provider.readMappedSync(handle, offset, chunk) : provider.readSync(handle, offset, chunk)).length;
    if (n === 0) return offset;
    offset += n;
  }
}

function fsRead(hostPath: string, buffer: Uint8Array): number {
  const fd = openSync(hostPath, "r");
  try {
    let offset = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      if (n === 0) return offset;
      offset += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Deterministic offsets (xorshift32), aligned to `blockSize`, inside a file of `size` bytes. */
export function randomOffsets(count: number, size: number, blockSize: number, seed = 0x9e3779b9): number[] {
  const blocks = Math.max(1, Math.floor(size / blockSize));
  const offsets = new Array<number>(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i += 1) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    offsets[i] = (state % blocks) * blockSize;
  }
  return offsets;
}

function check(what: string, got: number, expected: number): void {
  if (got !== expected) throw new Error(`${what}: read ${got} bytes, expected ${expected}`);
}

/** Runs every comparison once per repetition on the same file and reports medians. */
export function measureThroughput(options: ThroughputOptions): ThroughputReport {
  const { size, repeat, dir } = options;
  const step = options.onStep ?? (() => undefined);
  const relDeskless = `${dir}/deskless.bin`;
  const main = options.makeProvider();
  const hostDir = main.canonicalizeSync(dir);
  const hostDeskless = `${hostDir}/deskless.bin`;
  const comparisons: Comparison[] = [];
  const add = (c: Omit<Comparison, "ratio">): void => {
    comparisons.push({ ...c, ratio: c.deskless / c.baseline });
  };

  const chunk = new Uint8Array(options.writeChunk);
  randomFillSync(chunk);

  // Sequential write: write-behind through one handle including flush + close, vs fs.writeSync.
  // Both write the same file in turn: two files differ in where their blocks land and in what
  // truncating them costs, which alone moved an fs-vs-fs comparison by 8%.
  step(`sequential write, ${formatBytes(size)} in ${formatBytes(options.writeChunk)} chunks`);
  const writeOurs: number[] = [];
  const writeBase: number[] = [];
  for (let r = 0; r < repeat; r += 1) {
    const base = (): void => {
      writeBase.push(size / seconds(() => fsWrite(hostDeskless, chunk, size)));
      settle(hostDeskless);
    };
    const ours = (): void => {
      writeOurs.push(size / seconds(() => providerWrite(main, relDeskless, chunk, size)));
      settle(hostDeskless);
    };
    // Alternate which goes first, so neither always inherits the other's writeback.
    for (const run of r % 2 ? [base, ours] : [ours, base]) run();
  }
  add({
    id: "write-seq",
    label: `sequential write, ${formatBytes(options.writeChunk)} chunks, write-behind + flush + close`,
    unit: "bytes/s",
    deskless: median(writeOurs),
    baseline: median(writeBase),
    baselineName: "fs.writeSync",
    goal: 1,
  });

  // Bring the file the reads use into the page cache.
  const warm = new Uint8Array(4 * MiB);
  check("warm-up", fsRead(hostDeskless, warm), size);

  // Sequential read through handles with a cold provider cache (fresh provider each pass).
  for (const chunkSize of options.readChunks) {
    step(`sequential read, ${formatBytes(chunkSize)} chunks`);
    const buffer = new Uint8Array(chunkSize);
    const ours: number[] = [];
    const base: number[] = [];
    for (let r = 0; r < repeat; r += 1) {
      base.push(size / seconds(() => check("fs.readSync", fsRead(hostDeskless, buffer), size)));
      const provider = options.makeProvider();
      const handle = provider.openSync(relDeskless, "r");
      ours.push(size / seconds(() => check("readIntoSync", providerReadInto(provider, handle, buffer), size)));
      provider.closeSync(handle);
    }
    add({
      id: `read-seq-${chunkSize}`,
      label: `sequential read, ${formatBytes(chunkSize)} chunks (readIntoSync, fresh provider)`,
      unit: "bytes/s",
      deskless: median(ours),
      baseline: median(base),
      baselineName: "fs.readSync",
      goal: 1,
    });
  }

  // Re-read of a hot file: the provider already holds it in its cache.
  const hotChunk = Math.max(...options.readChunks);
  step(`hot re-read, ${formatBytes(hotChunk)} chunks`);
  const hotBuffer = new Uint8Array(hotChunk);
  const hotHandle = main.openSync(relDeskless, "r");
  check("hot warm-up", providerReadBuffers(main, hotHandle, hotChunk, true), size);
  const hotOurs: number[] = [];
  const hotCopy: number[] = [];
  const hotInto: number[] = [];
  const hotBase: number[] = [];
  for (let r = 0; r < repeat; r += 1) {
    hotBase.push(size / seconds(() => check("fs.readSync", fsRead(hostDeskless, hotBuffer), size)));
    hotOurs.push(size / seconds(() => check("readMappedSync", providerReadBuffers(main, hotHandle, hotChunk, true), size)));
    hotCopy.push(size / seconds(() => check("readSync", providerReadBuffers(main, hotHandle, hotChunk, false), size)));
    hotInto.push(size / seconds(() => check("readIntoSync", providerReadInto(main, hotHandle, hotBuffer), size)));
  }
  add({
    id: "read-hot",
    label: `hot re-read, ${formatBytes(hotChunk)} chunks (readMappedSync -> read-only zero-copy Buffer)`,
    unit: "bytes/s",
    deskless: median(hotOurs),
    baseline: median(hotBase),
    baselineName: "fs.readSync",
    goal: 2,
  });
  add({
    id: "read-hot-copy",
    label: `hot re-read, ${formatBytes(hotChunk)} chunks (readSync -> new writable Buffer per chunk, one copy)`,
    unit: "bytes/s",
    deskless: median(hotCopy),
    baseline: median(hotBase),
    baselineName: "fs.readSync",
    // A fresh Buffer per chunk against fs.readSync into one reused buffer: shown for information.
    goal: null,
  });
  // The whole hot file at once: readFileMappedSync of a cached file is a view of the map,
  // readFileSync one copy out of it.
  const wholeOurs: number[] = [];
  const wholeCopy: number[] = [];
  const wholeBase: number[] = [];
  for (let r = 0; r < repeat; r += 1) {
    wholeBase.push(size / seconds(() => check("fs.readFileSync", readFileSync(hostDeskless).length, size)));
    wholeOurs.push(size / seconds(() => check("readFileMappedSync", main.readFileMappedSync(relDeskless).length, size)));
    wholeCopy.push(size / seconds(() => check("readFileSync", main.readFileSync(relDeskless).length, size)));
  }
  add({
    id: "read-hot-file",
    label: "hot re-read, whole file (readFileMappedSync -> read-only zero-copy Buffer)",
    unit: "bytes/s",
    deskless: median(wholeOurs),
    baseline: median(wholeBase),
    baselineName: "fs.readFileSync",
    goal: 2,
  });
  add({
    id: "read-hot-file-copy",
    label: "hot re-read, whole file (readFileSync -> writable Buffer, one copy)",
    unit: "bytes/s",
    deskless: median(wholeCopy),
    baseline: median(wholeBase),
    baselineName: "fs.readFileSync",
    goal: 1,
  });
  add({
    id: "read-hot-into",
    label: `hot re-read, ${formatBytes(hotChunk)} chunks (readIntoSync, caller buffer)`,
    unit: "bytes/s",
    deskless: median(hotInto),
    baseline: median(hotBase),
    baselineName: "fs.readSync",
    goal: null,
  });

  // Random reads at the same offsets.
  step(`random ${formatBytes(options.randomSize)} reads x ${options.randomOps}`);
  const offsets = randomOffsets(options.randomOps, size, options.randomSize);
  const small = new Uint8Array(options.randomSize);
  const randOurs: number[] = [];
  const randBase: number[] = [];
  const fd = openSync(hostDeskless, "r");
  try {
    for (let r = 0; r < repeat; r += 1) {
      randBase.push(offsets.length / seconds(() => {
        for (const offset of offsets) readSync(fd, small, 0, small.length, offset);
      }));
      randOurs.push(offsets.length / seconds(() => {
        for (const offset of offsets) main.readIntoSync(hotHandle, offset, small);
      }));
    }
  } finally {
    closeSync(fd);
    main.closeSync(hotHandle);
  }
  add({
    id: "read-random",
    label: `random ${formatBytes(options.randomSize)} reads (readIntoSync)`,
    unit: "ops/s",
    deskless: median(randOurs),
    baseline: median(randBase),
    baselineName: "fs.readSync",
    goal: 1,
  });

  return { size, repeat, file: hostDeskless, comparisons, stats: main.stats() };
}

/** A plain-text table: each line's figure as a ratio against its baseline, absolutes beside. */
export function formatComparisons(comparisons: Comparison[]): string {
  const rows = comparisons.map((c) => [
    c.label,
    `${c.ratio.toFixed(2)}x`,
    formatRate(c.deskless, c.unit),
    `${formatRate(c.baseline, c.unit)} (${c.baselineName})`,
    c.goal === null ? "(information)" : `>= ${c.goal.toFixed(1)}x ${c.ratio >= c.goal ? "met" : "MISSED"}`,
  ]);
  const header = ["measure", "ratio", "deskless", "baseline", "goal"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 1 ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
