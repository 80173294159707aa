// npm run bench:test — `deskless test` on 200 small function tests in 20 files: two worker
// sessions against one, and against running each test file in its own `deskless run` process
// (a script that calls RunMat's runtests on it). Wall-time medians and their ratios. A benchmark,
// not a test: it prints figures, never fails on them.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "../src/median.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "deskless.js");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FILES = 20;
const TESTS_PER_FILE = 10;
const json = process.argv.includes("--json");

function testFile(index: number): string {
  const name = `bench${String(index).padStart(2, "0")}Test`;
  const lines = [`function tests = ${name}()`, "tests = functiontests(localfunctions);", "end"];
  for (let t = 1; t <= TESTS_PER_FILE; t++) {
    const n = index * TESTS_PER_FILE + t;
    lines.push(`function testSum${t}(testCase)`, `v = 1:${n};`, `testCase.verifyEqual(sum(v), ${(n * (n + 1)) / 2});`, "end");
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A script that runs one test file with RunMat's runtests. RunMat 0.6.2 cannot index its result
 * array, so the script checks the count; the `deskless test` runs check every outcome (exit 0).
 */
function runnerScript(file: string): string {
  return [`results = runtests('${file}');`, `if numel(results) ~= ${TESTS_PER_FILE}`, "  error('bench:count', 'ran %d tests', numel(results));", "end"].join("\n");
}

function time(args: string[], cwd: string): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`deskless ${args.join(" ")} exited ${result.status}: ${result.stderr}${result.stdout.slice(-400)}`);
  return ms;
}

function measure(run: () => number): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(run());
  return median(times);
}

const dir = mkdtempSync(join(tmpdir(), "deskless-bench-test-"));
try {
  mkdirSync(join(dir, "tests"));
  mkdirSync(join(dir, "runners"));
  const files: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const path = join(dir, "tests", `bench${String(i).padStart(2, "0")}Test.m`);
    writeFileSync(path, testFile(i));
    const runner = join(dir, "runners", `run${i}.m`);
    writeFileSync(runner, runnerScript(path));
    files.push(runner);
  }
  const jobs2 = measure(() => time(["test", "-j", "2", "tests"], dir));
  const jobs1 = measure(() => time(["test", "-j", "1", "tests"], dir));
  const perFile = measure(() => files.reduce((total, runner) => total + time(["run", runner], dir), 0));
  const rows = [
    { run: "deskless test -j 2", ms: jobs2 },
    { run: "deskless test -j 1", ms: jobs1 },
    { run: `deskless run per file (${FILES} processes)`, ms: perFile },
  ];
  const ratios = { jobs1OverJobs2: jobs1 / jobs2, perFileOverJobs2: perFile / jobs2 };
  if (json) {
    process.stdout.write(`${JSON.stringify({ tests: FILES * TESTS_PER_FILE, files: FILES, runs: RUNS, rows, ratios })}\n`);
  } else {
    process.stdout.write(`${FILES * TESTS_PER_FILE} function tests in ${FILES} files, median of ${RUNS} runs\n`);
    for (const row of rows) process.stdout.write(`  ${row.run.padEnd(40)} ${row.ms.toFixed(0).padStart(7)} ms\n`);
    process.stdout.write(`  -j 1 / -j 2:              ${ratios.jobs1OverJobs2.toFixed(2)}x (goal >= 1.6x)\n`);
    process.stdout.write(`  run per file / -j 2:      ${ratios.perFileOverJobs2.toFixed(2)}x (goal >= 5x)\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
