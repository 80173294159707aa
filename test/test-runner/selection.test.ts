// `deskless test` selection (RunMat's name and tag selector, the runner's shards), --list, --json
// events, --fail-fast and usage errors, against the fixture project.
import { execFileSync } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, startCli } from "../support/cli.js";
import { fixtureProject, records, runDeskless } from "./support.js";

let project: { dir: string; cleanup: () => void };
beforeEach(() => {
  project = fixtureProject();
});
afterEach(() => project.cleanup());

interface Listed {
  id: string;
  name: string;
  file: string;
  line: number;
  tags: string[];
}

async function list(args: string[]): Promise<Listed[]> {
  const result = await runDeskless(["test", "--list", "--json", ...args], { cwd: project.dir });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { tests: Listed[] }).tests;
}

const names = (tests: { name: string }[]) => tests.map((test) => test.name).sort();

describe("deskless test selection", () => {
  it("--list prints every discovered test with its file, line and tags, and the file that does not parse", async () => {
    const human = await runDeskless(["test", "--list"], { cwd: project.dir });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^tests\/ShapesTest\.m:\d+ {2}ShapesTest\/squareArea\[side=2\.0\] {2}\[fast\]$/m);
    expect(human.stdout).toMatch(/^tests\/sectionsTest\.m:6 {2}sectionsTest\/wrong sum fails$/m);
    expect(human.stdout).toMatch(/^tests\/brokenTest\.m:\d+ {2}\(does not parse: /m);
    const tests = await list([]);
    expect(tests).toHaveLength(11);
    expect(tests.find((test) => test.name === "TimeoutTest/neverReturns")).toMatchObject({ file: "tests/TimeoutTest.m", tags: ["slow"] });
  });

  it("finds the tests in the RunMat project's [test] roots when no path is given, from any folder of the project", async () => {
    mkdirSync(join(project.dir, "spec"));
    mkdirSync(join(project.dir, "src"));
    writeFileSync(join(project.dir, "spec", "specTest.m"), ["function tests = specTest()", "tests = functiontests(localfunctions);", "end", "function testOne(testCase)", "testCase.verifyTrue(true);", "end"].join("\n"));
    writeFileSync(join(project.dir, "runmat.toml"), ['[package]', 'name = "demo"', "", "[sources]", 'roots = ["src"]', "", "[test]", 'roots = ["spec"]', ""].join("\n"));
    expect(names(await list([]))).toEqual(["specTest/testOne"]);
    const fromSpec = await runDeskless(["test", "--list"], { cwd: join(project.dir, "spec") });
    expect(fromSpec.stdout).toBe("specTest.m:4  specTest/testOne\n");
    writeFileSync(join(project.dir, "runmat.toml"), "[package\n");
    const broken = await runDeskless(["test", "--list"], { cwd: project.dir });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/^deskless: cannot read the project's test roots: .*runmat\.toml/);
    expect(broken.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });

  it("--name, --tag and --exclude-tag select by RunMat's rules", async () => {
    expect(names(await list(["--name", "arithmetic"]))).toEqual(["arithmeticTest/testAddition", "arithmeticTest/testCallsMissingFunction", "arithmeticTest/testUsesFixtures", "arithmeticTest/testWrongProduct"]);
    expect(names(await list(["--name", "Addition", "--name", "adds"]))).toEqual(["arithmeticTest/testAddition", "sectionsTest/adds numbers"]);
    expect(names(await list(["--tag", "fast"]))).toEqual(["ShapesTest/squareArea[side=1.0]", "ShapesTest/squareArea[side=2.0]", "ShapesTest/squareArea[side=3.0]"]);
    const withoutSlow = await list(["--exclude-tag", "slow"]);
    expect(withoutSlow).toHaveLength(10);
    expect(names(withoutSlow)).not.toContain("TimeoutTest/neverReturns");
  });

  it("shards partition the selection: their union is the whole, no test in two, and a run keeps to its shard", async () => {
    const whole = await list([]);
    const shards = await Promise.all([0, 1, 2].map((index) => list(["--shard-index", String(index), "--shard-count", "3"])));
    const ids = shards.flatMap((shard) => shard.map((test) => test.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(whole.map((test) => test.id).sort());
    expect(shards.filter((shard) => shard.length > 0).length).toBeGreaterThan(1);

    const run = await runDeskless(["test", "--json", "--exclude-tag", "slow", "--shard-index", "1", "--shard-count", "3"], { cwd: project.dir });
    const ran = records(run.stdout).filter((record) => record.event === "test_started").map((record) => record.id);
    const expected = shards[1]!.filter((test) => !test.tags.includes("slow")).map((test) => test.id);
    expect([...ran].sort()).toEqual([...expected].sort());
  });

  it("--json prints NDJSON: a start and a finish per test with outcome and duration, then the run summary", async () => {
    const run = await runDeskless(["test", "--json", "--exclude-tag", "slow", "-j", "2"], { cwd: project.dir });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1);
    const events = records(run.stdout);
    const started = events.filter((event) => event.event === "test_started");
    const finished = events.filter((event) => event.event === "test_finished");
    expect(started).toHaveLength(10);
    // The file that does not parse has no start, only its finish.
    expect(finished).toHaveLength(11);
    for (const start of started) {
      expect(events.findIndex((event) => event.event === "test_finished" && event.id === start.id)).toBeGreaterThan(events.indexOf(start));
    }
    const addition = finished.find((event) => event.name === "arithmeticTest/testAddition");
    expect(addition).toMatchObject({ outcome: "passed" });
    expect(addition!.durationMs as number).toBeGreaterThan(0);
    expect(finished.find((event) => event.name === "sectionsTest/wrong sum fails")).toMatchObject({ outcome: "failed" });
    const summary = events.at(-1)!;
    expect(summary).toMatchObject({ event: "run_finished", passed: 7, failed: 4, timedOut: 0, cancelled: 0, total: 11, exitCode: 1 });
    expect((summary.failures as { name: string; file: string; line: number }[]).find((failure) => failure.name === "arithmeticTest/testWrongProduct")).toMatchObject({ file: "tests/arithmeticTest.m", line: 31 });
  });

  it("--fail-fast stops after the first failure and records the rest as cancelled", async () => {
    const run = await runDeskless(["test", "--json", "--fail-fast", "-j", "1", "--exclude-tag", "slow", "tests/arithmeticTest.m", "tests/ShapesTest.m"], { cwd: project.dir });
    expect(run.code).toBe(1);
    const summary = records(run.stdout).at(-1)!;
    expect(summary.total).toBe(7);
    expect(summary.failed).toBe(1);
    expect(summary.cancelled as number).toBeGreaterThan(0);
    expect(summary.stoppedBy).toMatch(/--fail-fast/);
    expect((summary.passed as number) + (summary.cancelled as number) + 1).toBe(7);
    expect(summary.cancelled).toBe(7 - 1 - (summary.passed as number));
    const full = records((await runDeskless(["test", "--json", "-j", "1", "tests/arithmeticTest.m", "tests/ShapesTest.m"], { cwd: project.dir })).stdout).at(-1)!;
    expect(full).toMatchObject({ failed: 2, cancelled: 0 });
  });

  it("exits 0 when every selected test passes, printing nothing on stderr", async () => {
    const run = await runDeskless(["test", "--tag", "fast", "tests/ShapesTest.m", "tests/sectionsTest.m"], { cwd: project.dir });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ShapesTest\/squareArea\[side=2\.0\] \.\.\. Passed$/m);
    expect(run.stdout.trim().split("\n").at(-1)).toBe("3 passed, 0 failed, 0 skipped");
  });

  it("shows a live progress line on a terminal and erases it before the results", () => {
    // util-linux `script` gives the CLI a pseudo-terminal; its stdout and stderr arrive merged.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} test -j 1 tests/ShapesTest.m`;
    const screen = execFileSync("script", ["-qfec", command, "/dev/null"], { cwd: project.dir, encoding: "utf8" });
    // Each redraw returns to the line's start and erases it.
    const frames = screen.split("\r\u001b[2K");
    expect(frames.some((frame) => /^\[0\/3\] 0 passed, 0 failed, 1 running, [\d.]+ s$/.test(frame))).toBe(true);
    expect(frames.some((frame) => /^\[3\/3\] 3 passed, 0 failed, 0 running, [\d.]+ s$/.test(frame))).toBe(true);
    const results = frames.at(-1)!;
    expect(results).toMatch(/^ShapesTest\/squareArea/);
    expect(results).toMatch(/3 passed, 0 failed, 0 skipped\r?\n$/);
  });

  it("keeps running when the reader of its output goes away (| head): reports and exit code stand", async () => {
    const reports = join(project.dir, "out");
    const { child, done } = startCli(["test", "--exclude-tag", "slow", "--report", "junit", "--report-dir", reports], { cwd: project.dir, env: { GITHUB_ACTIONS: "" } });
    child.stdout!.once("data", () => child.stdout!.destroy());
    const run = await done;
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1);
    expect(existsSync(join(reports, "test-results.xml"))).toBe(true);
  });

  it("refuses bad input with one line on stderr and exit 2", async () => {
    const missing = await runDeskless(["test", "tests/nope"], { cwd: project.dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("deskless: test path tests/nope does not exist\n");
    const none = await runDeskless(["test", "--tag", "no-such-tag", "tests/ShapesTest.m"], { cwd: project.dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("deskless: no tests selected\n");
    const shard = await runDeskless(["test", "--shard-index", "3", "--shard-count", "3"], { cwd: project.dir });
    expect(shard.code).toBe(2);
    expect(shard.stderr).toBe("deskless: --shard-index 3 is not below --shard-count 3\n");
    const jobs = await runDeskless(["test", "-j", "0"], { cwd: project.dir });
    expect(jobs.code).toBe(2);
    expect(jobs.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });
});
