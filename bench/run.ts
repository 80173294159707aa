// npm run bench:run — `deskless run` on both engines (direct attach, and the wasm runtime on its
// worker thread) against octave-cli on the same scripts, in one run: wall time medians and their
// ratios. The wasm runtime is the package DESKLESS_WASM_PACKAGE names (else node_modules/runmat); its
// column is n/a when there is none. Also the engine's stock native filesystem provider against
// deskless's workspace provider on a 64 MiB fwrite/fread round trip (a Rust example that hosts the
// same engine both ways; BENCH_PROVIDERS=0 skips it, as it needs cargo). A benchmark, not a test: it
// prints figures, never fails on them.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { locateWasmPackage, type WasmPackage } from "../src/engine/wasm-package.js";
import { median } from "../src/median.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "deskless.js");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const json = process.argv.includes("--json");

const SCRIPTS: Record<string, string> = {
  hello: "disp('hello');\n",
  loop: ["s = 0;", "for i = 1:100000", "  s = s + mod(i, 7) * 0.5;", "end", "fprintf('%g\\n', s);"].join("\n"),
  csv: [
    "fid = fopen('lines.csv', 'w');",
    "for i = 1:100000",
    "  fprintf(fid, '%d,%d,%d\\n', i, 2*i, 3*i);",
    "end",
    "fclose(fid);",
    "fid = fopen('lines.csv', 'r');",
    "n = 0; total = 0;",
    "l = fgetl(fid);",
    "while ischar(l)",
    "  n = n + 1;",
    "  total = total + numel(l);",
    "  l = fgetl(fid);",
    "end",
    "fclose(fid);",
    "fprintf('%d %d\\n', n, total);",
  ].join("\n"),
  fwrite64: [
    "data = zeros(1, 64*1024*1024, 'uint8');",
    "fid = fopen('blob.bin', 'w');",
    "fwrite(fid, data, 'uint8');",
    "fclose(fid);",
    "fid = fopen('blob.bin', 'r');",
    "back = fread(fid, Inf, 'uint8=>uint8');",
    "fclose(fid);",
    "fprintf('%d\\n', numel(back));",
  ].join("\n"),
};

function timeCommand(command: string, args: string[], cwd: string): { ms: number; stdout: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
  return { ms, stdout: result.stdout.trim() };
}

function measure(command: string, args: string[], cwd: string): { median: number; stdout: string } {
  const times: number[] = [];
  let stdout = "";
  for (let i = 0; i < RUNS; i++) {
    const run = timeCommand(command, args, cwd);
    times.push(run.ms);
    stdout = run.stdout;
  }
  return { median: median(times), stdout };
}

function hasOctave(): boolean {
  return spawnSync("octave-cli", ["--version"], { encoding: "utf8" }).status === 0;
}

interface Row {
  script: string;
  desklessMs: number;
  wasmMs: number | null;
  octaveMs: number | null;
  /** direct / octave. */
  ratio: number | null;
  /** wasm / direct. */
  wasmRatio: number | null;
  goal: string;
}

function findWasm(): WasmPackage | null {
  try {
    return locateWasmPackage();
  } catch (error) {
    process.stderr.write(`bench:run: no wasm runtime (${(error as Error).message.split(";")[0]}); printing the direct engine only\n`);
    return null;
  }
}

const GOALS: Record<string, string> = { hello: "<= 1.0x", loop: "<= 0.5x", csv: "<= 0.5x", fwrite64: "<= 0.5x" };

const workspace = mkdtempSync(join(tmpdir(), "deskless-bench-run-"));
const rows: Row[] = [];
const octave = hasOctave();
const wasmPackage = findWasm();
if (!octave) process.stderr.write("bench:run: octave-cli not found (Debian package 'octave'); printing deskless figures without the baseline\n");
try {
  for (const [name, text] of Object.entries(SCRIPTS)) {
    const file = join(workspace, `${name}.m`);
    writeFileSync(file, text);
    const deskless = measure(process.execPath, [BIN, "run", file], workspace);
    let wasmMs: number | null = null;
    if (wasmPackage) {
      const wasm = measure(process.execPath, [BIN, "run", "--engine", "wasm", "--wasm-package", wasmPackage.dir, file], workspace);
      if (wasm.stdout !== deskless.stdout) process.stderr.write(`bench:run: ${name}: engines differ (direct ${JSON.stringify(deskless.stdout)}, wasm ${JSON.stringify(wasm.stdout)})\n`);
      wasmMs = wasm.median;
    }
    let octaveMs: number | null = null;
    if (octave) {
      const baseline = measure("octave-cli", ["--no-gui", "--quiet", "--norc", file], workspace);
      if (baseline.stdout !== deskless.stdout) process.stderr.write(`bench:run: ${name}: outputs differ (deskless ${JSON.stringify(deskless.stdout)}, octave ${JSON.stringify(baseline.stdout)})\n`);
      octaveMs = baseline.median;
    }
    rows.push({
      script: name,
      desklessMs: deskless.median,
      wasmMs,
      octaveMs,
      ratio: octaveMs ? deskless.median / octaveMs : null,
      wasmRatio: wasmMs === null ? null : wasmMs / deskless.median,
      goal: GOALS[name]!,
    });
  }
} finally {
  rmSync(workspace, { recursive: true, force: true });
}

// Kernel confinement's cost: `run hello.m` confined (the default) against `--confine off`,
// alternating so both sides meet the same machine state.
const CONFINE_RUNS = Number(process.env.BENCH_CONFINE_RUNS ?? 21);
const confineDir = mkdtempSync(join(tmpdir(), "deskless-bench-confine-"));
const confineTimes = { confined: [] as number[], off: [] as number[] };
try {
  const hello = join(confineDir, "hello.m");
  writeFileSync(hello, SCRIPTS.hello!);
  for (let i = 0; i < CONFINE_RUNS; i++) {
    confineTimes.confined.push(timeCommand(process.execPath, [BIN, "run", hello], confineDir).ms);
    confineTimes.off.push(timeCommand(process.execPath, [BIN, "run", "--confine", "off", hello], confineDir).ms);
  }
} finally {
  rmSync(confineDir, { recursive: true, force: true });
}
const confinement = { runs: CONFINE_RUNS, confinedMs: median(confineTimes.confined), offMs: median(confineTimes.off), overheadMs: median(confineTimes.confined) - median(confineTimes.off) };

// Stock provider vs ours, same engine, same script (native/engine/examples/provider_bench.rs).
// Built for the host triple, as the addon is (napi passes --target), so the engine's build in the
// same target dir is reused instead of rebuilt from scratch.
async function providerComparison(): Promise<{ runs: number; stockMiBps: number; desklessMiBps: number } | null> {
  if (process.env.BENCH_PROVIDERS === "0") return null;
  const { ensureCmake } = (await import(pathToFileURL(join(ROOT, "scripts", "ensure-cmake.js")).href)) as { ensureCmake: () => string };
  const hostTriple = /^host: (.+)$/m.exec(spawnSync("rustc", ["-vV"], { encoding: "utf8" }).stdout ?? "")?.[1];
  process.stderr.write(
    "bench:run: stock vs deskless provider: builds native/engine/examples/provider_bench (quick when CARGO_TARGET_DIR is the one the addon was built in), then runs it (the stock provider's run takes about a minute)\n",
  );
  const providerBench = spawnSync(
    "cargo",
    ["run", "--quiet", "--release", ...(hostTriple ? ["--target", hostTriple] : []), "-p", "deskless-engine", "--example", "provider_bench"],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, CMAKE: ensureCmake() } },
  );
  if (providerBench.status === 0) return JSON.parse(providerBench.stdout);
  process.stderr.write(`bench:run: provider comparison failed: ${providerBench.stderr.trim().split("\n").pop()}\n`);
  return null;
}
const providers = await providerComparison();

if (json) {
  process.stdout.write(`${JSON.stringify({ runs: RUNS, octave, wasm: wasmPackage && { dir: wasmPackage.dir, version: wasmPackage.version }, rows, confinement, providers }, null, 2)}\n`);
} else {
  const fmt = (v: number | null, unit = "") => (v === null ? "n/a" : `${v.toFixed(v < 10 ? 2 : 0)}${unit}`);
  const ratio = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(2)}x`);
  console.log(`deskless run (direct, wasm) vs octave-cli (median of ${RUNS} runs, wall time incl. process start)`);
  if (wasmPackage) console.log(`wasm runtime: ${wasmPackage.name}@${wasmPackage.version} at ${wasmPackage.dir}`);
  console.log("script     direct      wasm        wasm/direct  octave-cli  direct/octave  goal (direct/octave)");
  for (const r of rows) {
    console.log(
      `${r.script.padEnd(10)} ${fmt(r.desklessMs, " ms").padEnd(11)} ${fmt(r.wasmMs, " ms").padEnd(11)} ${ratio(r.wasmRatio).padEnd(12)} ${fmt(r.octaveMs, " ms").padEnd(11)} ${ratio(r.ratio).padEnd(14)} ${r.goal}`,
    );
  }
  console.log(`\nrun hello.m confined vs --confine off (median of ${confinement.runs} alternating runs):`);
  console.log(`confined ${fmt(confinement.confinedMs, " ms")}; off ${fmt(confinement.offMs, " ms")}; ratio ${(confinement.confinedMs / confinement.offMs).toFixed(3)}x; overhead ${confinement.overheadMs.toFixed(1)} ms (goal <= 5 ms)`);
  if (providers) {
    console.log(`\n64 MiB fwrite+fread through the engine, median of ${providers.runs}:`);
    console.log(`stock native provider: ${providers.stockMiBps.toFixed(1)} MiB/s; deskless provider: ${providers.desklessMiBps.toFixed(1)} MiB/s; ratio ${(providers.desklessMiBps / providers.stockMiBps).toFixed(2)}x (goal >= 1.0x)`);
  }
}
