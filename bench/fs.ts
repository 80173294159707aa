// `npm run bench:fs` (after `npm run build:ts`): the file provider against Node's fs in one run on
// the same files, a 1 GiB file in the page cache. Prints a table of ratios against the named
// baseline with the absolute figures beside; `--json` prints the figures as JSON instead.
// Peak RSS during the 1 GiB write is measured in child processes so the figure is clean.
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createFileProvider } from "../src/fs/provider.js";
import { formatBytes, GiB, KiB, MiB, parseBytes } from "../src/byte-units.js";
import { formatComparisons, measureThroughput, providerWrite } from "../src/fs/throughput.js";

interface RssChildConfig {
  kind: "deskless" | "fs";
  root: string;
  file: string;
  size: number;
  chunk: number;
  writeBehindBytes: number;
}

interface RssFigures {
  /** RSS just before the write started (after setup). */
  idleBytes: number;
  /** VmHWM: the kernel's high-water mark of RSS, reset before the write where the kernel allows. */
  peakBytes: number;
  peakReset: boolean;
  seconds: number;
}

function procStatusBytes(field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  if (!match) throw new Error(`/proc/self/status has no ${field}`);
  return Number(match[1]) * 1024;
}

/** Child side: write `size` bytes once and report idle and peak RSS as JSON on stdout. */
function rssChild(config: RssChildConfig): void {
  const chunk = new Uint8Array(config.chunk);
  randomFillSync(chunk);
  const provider = config.kind === "deskless" ? createFileProvider({ roots: [config.root], writeBehindBytes: config.writeBehindBytes }) : undefined;
  let peakReset = true;
  try {
    writeFileSync("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS
  } catch {
    peakReset = false;
  }
  const idleBytes = procStatusBytes("VmRSS");
  const start = process.hrtime.bigint();
  if (provider) {
    providerWrite(provider, config.file, chunk, config.size);
  } else {
    const fd = openSync(join(config.root, config.file), "w");
    for (let offset = 0; offset < config.size; offset += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, config.size - offset), offset);
    closeSync(fd);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const figures: RssFigures = { idleBytes, peakBytes: procStatusBytes("VmHWM"), peakReset, seconds };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

function runRssChild(config: RssChildConfig): RssFigures {
  const result = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--rss-child", JSON.stringify(config)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (result.status !== 0) throw new Error(`RSS child (${config.kind}) exited with ${result.status ?? result.signal}`);
  return JSON.parse(result.stdout) as RssFigures;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      size: { type: "string", default: "1GiB" },
      repeat: { type: "string", default: "9" },
      "random-ops": { type: "string", default: "200000" },
      "write-behind": { type: "string", default: "16MiB" },
      dir: { type: "string" },
      "rss-child": { type: "string" },
    },
  });
  if (values["rss-child"]) return rssChild(JSON.parse(values["rss-child"]) as RssChildConfig);

  const size = parseBytes(values.size);
  const repeat = Number(values.repeat);
  const randomOps = Number(values["random-ops"]);
  const writeBehindBytes = parseBytes(values["write-behind"]);
  if (!Number.isSafeInteger(repeat) || repeat < 1 || !Number.isSafeInteger(randomOps) || randomOps < 1) throw new Error("--repeat and --random-ops take positive integers");
  const root = mkdtempSync(join(values.dir ?? tmpdir(), "deskless-bench-"));
  // Other work on the machine skews every line; the load before and after is printed with the figures.
  const loadBefore = loadavg()[0] ?? 0;
  const log = (line: string): void => void (values.json ? undefined : process.stderr.write(`bench:fs ${line}\n`));
  // The cache budget holds the whole file, so a re-read is served from the provider's cache.
  const providerOptions = { roots: [root], cacheBudgetBytes: size + 256 * MiB, writeBehindBytes };
  try {
    const report = measureThroughput({
      makeProvider: () => createFileProvider(providerOptions),
      dir: ".",
      size,
      readChunks: [1 * MiB, 4 * MiB],
      writeChunk: 4 * MiB,
      randomOps,
      randomSize: 4096,
      repeat,
      onStep: log,
    });
    log("peak RSS during the write (child processes)");
    // 256 KiB writes: small enough to go through the write-behind buffer (a write of 1 MiB or
    // more into an empty buffer goes straight to the kernel), so the bound is what is measured.
    const rssConfig = { root, size, chunk: 256 * KiB, writeBehindBytes };
    const rssOurs = runRssChild({ ...rssConfig, kind: "deskless", file: "rss-deskless.bin" });
    const rssBase = runRssChild({ ...rssConfig, kind: "fs", file: "rss-fs.bin" });
    const growth = rssOurs.peakBytes - rssOurs.idleBytes;
    // Bounded by the write-behind budget: the growth stays within the budget plus a fixed slack
    // for the chunk in flight and allocator overhead, whatever the file size.
    const rssLimit = writeBehindBytes + 64 * MiB;
    const rss = {
      id: "rss-write",
      label: `peak RSS during the ${formatBytes(size)} write (child process)`,
      desklessPeakBytes: rssOurs.peakBytes,
      desklessIdleBytes: rssOurs.idleBytes,
      growthBytes: growth,
      baselinePeakBytes: rssBase.peakBytes,
      baselineName: "fs.writeSync (child process)",
      ratio: rssOurs.peakBytes / rssBase.peakBytes,
      writeBehindBytes,
      fileBytes: size,
      limitBytes: rssLimit,
      met: growth <= rssLimit,
      peakReset: rssOurs.peakReset && rssBase.peakReset,
    };

    const machine = { cpus: availableParallelism(), loadBefore, loadAfter: loadavg()[0] ?? 0 };
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ size, repeat, randomOps, writeBehindBytes, node: process.version, machine, comparisons: report.comparisons, rss, stats: report.stats }, null, 2)}\n`);
      return;
    }
    const gib = size / GiB;
    process.stdout.write(`deskless bench:fs  ${gib >= 1 ? `${gib} GiB` : formatBytes(size)} file in ${root} (page cache), median of ${repeat}, node ${process.version}, ${machine.cpus} CPUs, load ${machine.loadBefore.toFixed(1)} -> ${machine.loadAfter.toFixed(1)}\n\n`);
    process.stdout.write(`${formatComparisons(report.comparisons)}\n\n`);
    process.stdout.write(
      `${rss.label}: ${formatBytes(rss.desklessPeakBytes)} peak, ${formatBytes(growth)} over ${formatBytes(rss.desklessIdleBytes)} idle` +
        ` (${rss.ratio.toFixed(2)}x of ${formatBytes(rss.baselinePeakBytes)}, ${rss.baselineName});` +
        ` write-behind budget ${formatBytes(writeBehindBytes)}, goal: growth <= ${formatBytes(rssLimit)} ${rss.met ? "met" : "MISSED"}\n`,
    );
    const s = report.stats;
    process.stdout.write(`provider stats: cache hits ${s.cacheHits}, misses ${s.cacheMisses}, evictions ${s.cacheEvictions}, write-behind waits ${s.writeBehindWaits}, fallbacks [${s.fallbacks.join(", ")}]\n`);
  } finally {
    if (existsSync(root)) rmSync(root, { recursive: true, force: true });
  }
}

main();
