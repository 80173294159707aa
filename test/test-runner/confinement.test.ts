// `deskless test` gives each worker session the rules of `deskless run`: files beneath the
// workspace only, the environment view; a test that misbehaves is reported against itself, and
// Ctrl-C stops the run with its reports written.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startCli, waitForStdout } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";
import { records, validateJunit, xpath, runDeskless } from "./support.js";

let root: string;
let workspace: string;
let outside: string;
let cleanup: () => void;

beforeEach(() => {
  ({ dir: root, cleanup } = tempDir("deskless-test-confine-"));
  workspace = join(root, "ws");
  outside = join(root, "outside");
  mkdirSync(join(workspace, "tests"), { recursive: true });
  mkdirSync(outside);
});
afterEach(() => cleanup());

function testFile(name: string, text: string): void {
  writeFileSync(join(workspace, "tests", name), text);
}

describe("deskless test confinement and misbehaving tests", () => {
  it("fails a test that writes outside the workspace, touches nothing outside, and runs the others", async () => {
    testFile(
      "escapeTest.m",
      [
        "function tests = escapeTest()",
        "tests = functiontests(localfunctions);",
        "end",
        "function testAbsolutePath(testCase)",
        `fid = fopen('${join(outside, "absolute.txt")}', 'w');`,
        "fprintf(fid, 'escaped');",
        "fclose(fid);",
        "end",
        "function testDotDot(testCase)",
        "fid = fopen('../outside/relative.txt', 'w');",
        "fprintf(fid, 'escaped');",
        "fclose(fid);",
        "end",
        "function testInside(testCase)",
        "fid = fopen('inside.txt', 'w');",
        "fprintf(fid, 'kept');",
        "fclose(fid);",
        "testCase.verifyEqual(fileread('inside.txt'), 'kept');",
        "end",
        "function testCallsExit(testCase)",
        "exit(3);",
        "end",
        "function testSeesNoSecret(testCase)",
        "testCase.verifyEqual(getenv('DESKLESS_TEST_SECRET'), '');",
        "testCase.verifyEqual(getenv('VISIBLE_SETTING'), 'shown');",
        "end",
      ].join("\n"),
    );
    const run = await runDeskless(["test", "--json", "-j", "1", "--env", "VISIBLE_SETTING=shown"], { cwd: workspace, env: { DESKLESS_TEST_SECRET: "token" } });
    expect(run.code).toBe(1);
    const finished = Object.fromEntries(records(run.stdout).filter((record) => record.event === "test_finished").map((record) => [record.name, record.outcome]));
    expect(finished).toEqual({
      "escapeTest/testAbsolutePath": "failed",
      "escapeTest/testDotDot": "failed",
      "escapeTest/testInside": "passed",
      "escapeTest/testCallsExit": "failed",
      "escapeTest/testSeesNoSecret": "passed",
    });
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(workspace, "inside.txt"))).toBe(true);
  });

  it("warns once per run, not per worker, when the kernel cannot enforce a rule", async () => {
    for (const name of ["oneTest", "twoTest"]) {
      testFile(`${name}.m`, [`function tests = ${name}()`, "tests = functiontests(localfunctions);", "end", "function testTrue(testCase)", "testCase.verifyTrue(true);", "end"].join("\n"));
    }
    // As if the kernel offered Landlock without its network rule (ABI 3).
    const run = await runDeskless(["test", "-j", "2"], { cwd: workspace, env: { DESKLESS_LANDLOCK_ABI: "3" } });
    expect(run.code).toBe(0);
    const warnings = run.stderr.split("\n").filter(Boolean);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/kernel confinement is incomplete.*not enforced: the network rule/);
  });

  it("exits 9 with one line when --confine require cannot be met, running nothing", async () => {
    testFile("markTest.m", ["function tests = markTest()", "tests = functiontests(localfunctions);", "end", "function testMarks(testCase)", "fid = fopen('ran.txt', 'w');", "fclose(fid);", "end"].join("\n"));
    // As if the kernel offered no Landlock at all.
    const run = await runDeskless(["test", "--confine", "require", "--report", "junit", "--report-dir", join(root, "reports")], { cwd: workspace, env: { DESKLESS_LANDLOCK_ABI: "0" } });
    expect(run.code).toBe(9);
    expect(run.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(run.stderr).toMatch(/^deskless: .*kernel confinement is required but not available/);
    expect(run.stdout).toBe("");
    expect(existsSync(join(workspace, "ran.txt"))).toBe(false);
    expect(existsSync(join(root, "reports"))).toBe(false);
  });

  it("stops on Ctrl-C: exit 130, the running test cancelled, the reports still written", async () => {
    testFile("spinTest.m", ["function tests = spinTest()", "tests = functiontests(localfunctions);", "end", "function testSpins(testCase)", "while true", "end", "end"].join("\n"));
    const reports = join(root, "reports");
    const { child, done } = startCli(["test", "--json", "--report", "junit", "--report-dir", reports], { cwd: workspace });
    await waitForStdout(child, '"event":"test_started"');
    child.kill("SIGINT");
    const run = await done;
    expect(run.code).toBe(130);
    const summary = records(run.stdout).at(-1)!;
    expect(summary).toMatchObject({ event: "run_finished", cancelled: 1, exitCode: 130, stoppedBy: "interrupted" });
    const junit = join(reports, "test-results.xml");
    validateJunit(junit);
    expect(xpath(junit, "count(//testcase)")).toBe("1");
    expect(xpath(junit, "string(//testcase/@name)")).toBe("spinTest/testSpins");
  });
});
