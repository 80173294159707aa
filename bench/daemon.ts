// Benchmark of the daemon bridge against the daemon double on loopback (npm run bench:daemon after
// npm run build:ts). Every figure is printed beside its baseline:
//   1. session ping round trip: DaemonClient vs a bare `ws` client (p50 and p99; goal ratio <= 1.05)
//   2. agent_stream events per second (best of 3 runs each) received and written as NDJSON by `deskless daemon run --json`
//      vs a bare `ws` client process that only parses them (goal >= 0.9x)
//   3. peak RSS of `deskless daemon run --json` while 100,000 events arrive and its stdout is not
//      read for a while, vs the same command streaming 100 events (goal: bounded; the bound is stated)
// The double runs in its own process, so neither client shares an event loop with the server.
// Usage: node dist/bench/daemon.js [--json] [--events N] [--pings N]
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { DaemonClient } from "../src/daemon/client.js";
import { startDaemonDouble } from "../test/fixtures/daemon-double/server.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, "..", "..", "bin", "deskless.js");
const SELF = fileURLToPath(import.meta.url);

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

function lines(child: ChildProcess, onLine: (line: string) => void): void {
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onLine);
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on("close", (code) => resolve(code)));
}

// ---- child modes --------------------------------------------------------------------------------

/** `--serve`: the daemon double in its own process; prints its URL and lives until stdin ends. */
async function serve(): Promise<void> {
  const double = await startDaemonDouble();
  process.stdout.write(`${JSON.stringify({ url: double.url })}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => void double.close().then(() => process.exit(0)));
}

/** `--bare-stream URL N`: the baseline; a bare ws client that creates the agent and only parses events. */
async function bareStream(url: string, count: number): Promise<void> {
  const ws = new WebSocket(url);
  let first = 0;
  let events = 0;
  ws.on("open", () => {
    ws.send(JSON.stringify({ type: "hello", clientId: `bare-${randomUUID()}`, clientType: "cli", protocolVersion: 1, appVersion: "0.1.65", capabilities: {} }));
    ws.send(JSON.stringify({ type: "session", message: { type: "create_agent_request", requestId: randomUUID(), config: { provider: "fake", cwd: "/tmp" }, initialPrompt: `[stream ${count}]`, labels: {} } }));
  });
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data));
    const message = frame.message;
    if (message?.type !== "agent_stream") return;
    if (events === 0) first = performance.now();
    events += 1;
    if (message.payload.event.type === "turn_completed") {
      process.stdout.write(`${JSON.stringify({ events, seconds: (performance.now() - first) / 1000 })}\n`);
      ws.close();
    }
  });
}

// ---- measurements -------------------------------------------------------------------------------

/** The ping baseline: a bare ws client speaking the same session ping. */
class BarePinger {
  private readonly ws: WebSocket;
  private readonly pending = new Map<string, (at: number) => void>();
  readonly ready: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ready = new Promise<void>((resolve) => {
      this.ws.on("open", () => this.ws.send(JSON.stringify({ type: "hello", clientId: `bare-${randomUUID()}`, clientType: "cli", protocolVersion: 1, appVersion: "0.1.65", capabilities: {} })));
      this.ws.on("message", (data) => {
        const message = JSON.parse(String(data)).message;
        if (message?.type === "status") resolve();
        else if (message?.type === "pong") this.pending.get(message.payload.requestId)?.(performance.now());
      });
    });
  }

  ping(): Promise<number> {
    const requestId = randomUUID();
    return new Promise<number>((resolve) => {
      this.pending.set(requestId, (at) => {
        this.pending.delete(requestId);
        resolve(at);
      });
      this.ws.send(JSON.stringify({ type: "session", message: { type: "ping", requestId, clientSentAt: Date.now() } }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

async function pingBench(url: string, count: number) {
  const client = new DaemonClient({ url, clientId: `bench-${randomUUID()}` });
  await client.connect();
  const bare = new BarePinger(url);
  await bare.ready;
  const ours: number[] = [];
  const theirs: number[] = [];
  // Warm up both, then interleave blocks so drift in machine load hits both alike.
  for (let i = 0; i < 1_000; i += 1) {
    await client.ping();
    await bare.ping();
  }
  // Both are timed the same way, by the caller around the awaited ping. Pings alternate one by one
  // and who goes first swaps every ping, so neither side always follows the other.
  const timed = async (ping: () => Promise<unknown>, into: number[]) => {
    const started = performance.now();
    await ping();
    into.push(performance.now() - started);
  };
  const oursPing = () => client.ping();
  const theirPing = () => bare.ping();
  for (let i = 0; i < count; i += 1) {
    if (i % 2 === 0) {
      await timed(oursPing, ours);
      await timed(theirPing, theirs);
    } else {
      await timed(theirPing, theirs);
      await timed(oursPing, ours);
    }
  }
  await client.close();
  bare.close();
  const a = [...ours].sort((x, y) => x - y);
  const b = [...theirs].sort((x, y) => x - y);
  return { count, deskless: { p50: percentile(a, 50), p99: percentile(a, 99) }, bare: { p50: percentile(b, 50), p99: percentile(b, 99) } };
}

async function bareEvents(url: string, count: number): Promise<{ events: number; seconds: number }> {
  const child = spawn(process.execPath, [SELF, "--bare-stream", url, String(count)], { stdio: ["ignore", "pipe", "inherit"] });
  let result: { events: number; seconds: number } | undefined;
  lines(child, (line) => (result = JSON.parse(line)));
  await exited(child);
  if (!result) throw new Error("the bare client printed no result");
  return result;
}

async function desklessEvents(url: string, count: number): Promise<{ events: number; seconds: number }> {
  const child = spawn(process.execPath, [CLI, "daemon", "run", "--provider", "fake", "--cwd", "/tmp", "--json", "--url", url, `[stream ${count}]`], { stdio: ["ignore", "pipe", "inherit"] });
  let first = 0;
  let last = 0;
  let events = 0;
  lines(child, (line) => {
    if (last !== 0 || !line.startsWith('{"type":"agent_stream"')) return;
    if (events === 0) first = performance.now();
    events += 1;
    if (line.includes('"type":"turn_completed"')) last = performance.now();
  });
  const code = await exited(child);
  if (code !== 0) throw new Error(`deskless daemon run exited ${code}`);
  return { events, seconds: (last - first) / 1000 };
}

function rssOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
  } catch {
    return undefined;
  }
}

/** Peak RSS of `deskless daemon run --json` streaming `count` events; stdout unread for `stallMs` after the first output. */
async function peakRss(url: string, count: number, stallMs: number): Promise<{ peak: number; events: number }> {
  const child = spawn(process.execPath, [CLI, "daemon", "run", "--provider", "fake", "--cwd", "/tmp", "--json", "--url", url, `[stream ${count}]`], { stdio: ["ignore", "pipe", "inherit"] });
  const pid = child.pid as number;
  let peak = 0;
  const sample = () => {
    const m = rssOf(pid);
    if (m) peak = Math.max(peak, m.hwm, m.rss);
  };
  const sampler = setInterval(sample, 20);
  const stdout = child.stdout as NodeJS.ReadableStream & { pause(): void; resume(): void };
  let events = 0;
  let tail = "";
  const countLines = (chunk: Buffer) => {
    const text = tail + chunk.toString("utf8");
    const parts = text.split("\n");
    tail = parts.pop() ?? "";
    for (const line of parts) if (line.startsWith('{"type":"agent_stream"')) events += 1;
  };
  // Read the first chunk, then stop reading for the stall window while the daemon keeps sending.
  await new Promise<void>((resolve) =>
    stdout.once("data", (chunk: Buffer) => {
      countLines(chunk);
      stdout.pause();
      resolve();
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, stallMs));
  sample();
  stdout.on("data", countLines);
  stdout.resume();
  const code = await exited(child);
  clearInterval(sampler);
  if (code !== 0) throw new Error(`deskless daemon run exited ${code}`);
  return { peak, events };
}

// ---- report -------------------------------------------------------------------------------------

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const eventCount = arg("--events", 100_000);
  const pingCount = arg("--pings", 2_000);
  const server = spawn(process.execPath, [SELF, "--serve"], { stdio: ["pipe", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve) => lines(server, (line) => resolve(JSON.parse(line).url)));
  try {
    const ping = await pingBench(url, pingCount);
    // Best of three runs each, alternating, so a burst of background load does not decide the ratio.
    const bareRuns: Array<{ events: number; seconds: number }> = [];
    const ourRuns: Array<{ events: number; seconds: number }> = [];
    for (let round = 0; round < 3; round += 1) {
      bareRuns.push(await bareEvents(url, eventCount));
      ourRuns.push(await desklessEvents(url, eventCount));
    }
    const best = (runs: Array<{ events: number; seconds: number }>) => runs.reduce((a, b) => (b.events / b.seconds > a.events / a.seconds ? b : a));
    const bare = best(bareRuns);
    const ours = best(ourRuns);
    const small = await peakRss(url, 100, 0);
    const big = await peakRss(url, eventCount, 2_000);
    const boundBytes = small.peak + 64 * MB;
    const report = {
      ping: { ...ping, ratio: { p50: ping.deskless.p50 / ping.bare.p50, p99: ping.deskless.p99 / ping.bare.p99 }, goal: "<= 1.05" },
      events: {
        count: eventCount,
        deskless: { events: ours.events, perSecond: ours.events / ours.seconds },
        bare: { events: bare.events, perSecond: bare.events / bare.seconds },
        ratio: ours.events / ours.seconds / (bare.events / bare.seconds),
        goal: ">= 0.9",
      },
      rss: {
        events: big.events,
        stallMs: 2_000,
        peakBytes: big.peak,
        baselinePeakBytes: small.peak,
        boundBytes,
        withinBound: big.peak <= boundBytes,
        bound: "peak RSS while 100k events arrive with stdout unread <= peak RSS of a 100-event run + 64 MiB",
      },
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const rows: Array<[string, string, string, string, string]> = [
      ["measure", "deskless", "baseline", "ratio", "goal"],
      ["ping p50 (ms)", ping.deskless.p50.toFixed(3), ping.bare.p50.toFixed(3), report.ping.ratio.p50.toFixed(3), "<= 1.05"],
      ["ping p99 (ms)", ping.deskless.p99.toFixed(3), ping.bare.p99.toFixed(3), report.ping.ratio.p99.toFixed(3), "<= 1.05"],
      [`agent_stream events/s (${eventCount})`, report.events.deskless.perSecond.toFixed(0), report.events.bare.perSecond.toFixed(0), report.events.ratio.toFixed(3), ">= 0.9"],
      [`peak RSS, stdout unread (MiB)`, (big.peak / MB).toFixed(1), (small.peak / MB).toFixed(1), (big.peak / small.peak).toFixed(3), `<= ${(boundBytes / MB).toFixed(1)} ${report.rss.withinBound ? "ok" : "EXCEEDED"}`],
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const row of rows) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ")}\n`);
    process.stdout.write(`\nping: ${pingCount} session pings each, alternating ping by ping, who goes first swapping every ping (DaemonClient vs bare ws).\n`);
    process.stdout.write(`events: best of 3 alternating runs; deskless = \`deskless daemon run --json\` writing NDJSON to a pipe; baseline = bare ws process that only parses.\n`);
    process.stdout.write(`rss: ${report.rss.bound}; ${big.events} events delivered after a ${report.rss.stallMs} ms stall.\n`);
  } finally {
    server.stdin?.end();
    await exited(server);
  }
}

if (process.argv.includes("--serve")) await serve();
else if (process.argv.includes("--bare-stream")) await bareStream(process.argv[process.argv.indexOf("--bare-stream") + 1] as string, Number(process.argv[process.argv.indexOf("--bare-stream") + 2]));
else await main();
