// End-to-end: `deskless test` on the fixture project (script, function and class tests; passing,
// failing, erroring, timing-out, unparseable), run by the real engine in worker processes.
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliResult } from "../support/cli.js";
import { fixtureProject, readJson, validateJunit, xpath, runDeskless } from "./support.js";

const EXPECTED: Record<string, string> = {
  "sectionsTest/adds numbers": "passed",
  "sectionsTest/compares strings": "passed",
  "sectionsTest/wrong sum fails": "failed",
  "arithmeticTest/testUsesFixtures": "passed",
  "arithmeticTest/testAddition": "passed",
  "arithmeticTest/testWrongProduct": "failed",
  "arithmeticTest/testCallsMissingFunction": "failed",
  "ShapesTest/squareArea[side=1.0]": "passed",
  "ShapesTest/squareArea[side=2.0]": "passed",
  "ShapesTest/squareArea[side=3.0]": "passed",
  "TimeoutTest/neverReturns": "timed_out",
  "brokenTest.m": "failed",
};
const NAMES = Object.keys(EXPECTED);
const PASSED = NAMES.filter((name) => EXPECTED[name] === "passed");

describe("deskless test: a whole run with every report", () => {
  let project: { dir: string; cleanup: () => void };
  let run: CliResult;
  let reports: string;
  let summaryFile: string;

  beforeAll(async () => {
    project = fixtureProject();
    reports = join(project.dir, "out");
    summaryFile = join(project.dir, "step-summary.md");
    run = await runDeskless(["test", "-j", "2", "--timeout", "1", "--report", "junit", "--report", "tap", "--report", "json", "--report-dir", reports], {
      cwd: project.dir,
      // The checkout is the project's parent: GitHub paths start with the project's folder.
      env: { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summaryFile, GITHUB_WORKSPACE: dirname(project.dir) },
    });
  });
  afterAll(() => project.cleanup());

  it("exits 1 with the counts on the closing line and nothing on stderr", () => {
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^7 passed, 5 failed, 0 skipped$/m);
  });

  it("ran the fixtures: function-test setup and teardown left no marks, the setups' files were read", () => {
    // testUsesFixtures passed, so setupOnce and setup wrote their files; the teardowns removed them.
    expect(existsSync(join(project.dir, "arith_once.txt"))).toBe(false);
    expect(existsSync(join(project.dir, "arith_each.txt"))).toBe(false);
  });

  it("writes JUnit XML that validates against the JUnit schema, one case per test with its outcome", () => {
    const junit = join(reports, "test-results.xml");
    validateJunit(junit);
    expect(xpath(junit, "string(/testsuite/@tests)")).toBe(String(NAMES.length));
    expect(xpath(junit, "string(/testsuite/@failures)")).toBe("5");
    expect(Number(xpath(junit, "count(//testcase)"))).toBe(NAMES.length);
    for (const name of NAMES) {
      const failures = Number(xpath(junit, `count(//testcase[@name="${name}"]/failure)`));
      expect(failures, name).toBe(EXPECTED[name] === "passed" ? 0 : 1);
    }
    expect(xpath(junit, 'string(//testcase[@name="TimeoutTest/neverReturns"]/failure/@type)')).toBe("runmat:test:TimedOut");
    expect(xpath(junit, 'string(//testcase[@name="sectionsTest/wrong sum fails"]/failure/@message)')).toBe("two and two is not five");
    // Every failure is placed at its source, from the run's folder: the CI's test tab links it.
    expect(xpath(junit, 'string(//testcase[@name="arithmeticTest/testWrongProduct"]/@file)')).toBe("tests/arithmeticTest.m");
    expect(xpath(junit, 'string(//testcase[@name="arithmeticTest/testWrongProduct"]/@line)')).toBe("31");
    expect(xpath(junit, 'string(//testcase[@name="TimeoutTest/neverReturns"]/@file)')).toBe("tests/TimeoutTest.m");
    expect(xpath(junit, 'string(//testcase[@name="brokenTest.m"]/@file)')).toBe("tests/brokenTest.m");
    expect(Number(xpath(junit, "count(//testcase[failure][@file][@line])"))).toBe(5);
    // A failed qualification and an uncaught error are told apart by the failure's type.
    expect(xpath(junit, 'string(//testcase[@name="arithmeticTest/testWrongProduct"]/failure/@type)')).toBe("RunMat:Test:VerificationFailed");
    expect(xpath(junit, 'string(//testcase[@name="arithmeticTest/testCallsMissingFunction"]/failure/@type)')).toBe("runmat:test:UncaughtError");
  });

  it("writes TAP with ok / not ok per test", () => {
    const tap = readFileSync(join(reports, "test-results.tap"), "utf8").trim().split("\n");
    expect(tap.slice(0, 2)).toEqual(["TAP version 13", `1..${NAMES.length}`]);
    const lines = new Map(tap.slice(2).map((line) => [line.replace(/^(not )?ok \d+ - /, ""), line.startsWith("ok ")]));
    expect(lines.size).toBe(NAMES.length);
    for (const name of NAMES) expect(lines.get(name), name).toBe(EXPECTED[name] === "passed");
  });

  it("writes RunMat's JSON report with each test's disposition", () => {
    const json = readJson(reports, "test-results.json") as { schema_version: number; result: { tests: { test_id: string; state: { disposition: string } }[] } };
    expect(json.schema_version).toBe(1);
    const outcomes = Object.fromEntries(json.result.tests.map((test) => [test.test_id, test.state.disposition]));
    expect(outcomes).toEqual(EXPECTED);
  });

  it("prints one ::error annotation per failure at the test's own file (in the checkout) and line", () => {
    const annotations = run.stdout.split("\n").filter((line) => line.startsWith("::error "));
    const folder = basename(project.dir);
    expect(annotations).toHaveLength(5);
    expect(annotations).toContain(`::error file=${folder}/tests/sectionsTest.m,line=6,title=sectionsTest/wrong sum fails::two and two is not five`);
    expect(annotations).toContain(`::error file=${folder}/tests/arithmeticTest.m,line=31,title=arithmeticTest/testWrongProduct::verifyEqual failed`);
    expect(annotations.find((line) => line.includes("brokenTest.m"))).toMatch(new RegExp(`^::error file=${folder}/tests/brokenTest\\.m,line=\\d+,title=brokenTest\\.m::`));
    for (const line of annotations) expect(line.startsWith(`::error file=${folder}/tests/`)).toBe(true);
  });

  it("appends a Markdown summary with the counts and each failure to $GITHUB_STEP_SUMMARY", () => {
    const summary = readFileSync(summaryFile, "utf8");
    expect(summary).toMatch(/^### deskless test$/m);
    expect(summary).toMatch(/^\| 7 \| 4 \| 1 \| 0 \| 12 \| [\d.]+ s \|$/m);
    expect(summary).toMatch(/^\| TimeoutTest\/neverReturns \| timed_out \| `[^`/]+\/tests\/TimeoutTest\.m:\d+` \| .*timed out.* \|$/m);
    for (const name of PASSED) expect(summary).not.toContain(`| ${name} |`);
  });
});

describe("deskless test --coverage", () => {
  it("writes RunMat's LCOV and Cobertura reports with the functions the tests ran", async () => {
    const project = fixtureProject();
    try {
      const out = join(project.dir, "cov");
      const run = await runDeskless(["test", "tests/arithmeticTest.m", "tests/ShapesTest.m", "--coverage", "lcov", "--coverage", "cobertura", "--report-dir", out], { cwd: project.dir });
      expect(run.stderr).toBe("");
      expect(run.code).toBe(1);
      const lcov = readFileSync(join(out, "coverage.lcov"), "utf8");
      expect(lcov).toMatch(/^SF:ShapesTest\.m$/m);
      // The parameterised test ran once per parameter value.
      expect(lcov).toMatch(/^FNDA:3,ShapesTest\.squareArea$/m);
      expect(lcov).toMatch(/^FNDA:1,testAddition$/m);
      expect(xpath(join(out, "coverage.xml"), "count(/coverage)")).toBe("1");
    } finally {
      project.cleanup();
    }
  });
});
