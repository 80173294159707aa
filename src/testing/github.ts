// GitHub Actions output: one `::error` workflow command per failed test, at the test's own source
// line, and a Markdown summary for the job's page ($GITHUB_STEP_SUMMARY).
import { isAbsolute, relative, resolve } from "node:path";
import type { TestOutcome } from "./run-tests.js";

/**
 * A file (relative to `cwd`) as GitHub names it: relative to the checkout ($GITHUB_WORKSPACE)
 * when the run is inside it, so an annotation lands on the file even when the tests ran in a
 * subfolder.
 */
export function repositoryPath(file: string, cwd = process.cwd(), workspace = process.env.GITHUB_WORKSPACE): string {
  if (!workspace) return file;
  const inRepository = relative(workspace, resolve(cwd, file));
  return inRepository.startsWith("..") || isAbsolute(inRepository) ? file : inRepository;
}

/** Workflow-command escaping: the message escapes %, CR and LF; properties also `:` and `,`. */
function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

export function isFailure(test: TestOutcome): boolean {
  return test.disposition !== "passed" && test.disposition !== "cancelled";
}

/** One `::error file=PATH,line=N,title=NAME::message` line per failed test. */
export function annotations(tests: TestOutcome[]): string[] {
  return tests.filter(isFailure).map((test) => {
    const message = test.message ?? `test ${test.disposition}`;
    return `::error file=${escapeProperty(repositoryPath(test.file))},line=${test.line},title=${escapeProperty(test.name)}::${escapeData(message)}`;
  });
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export interface RunCounts {
  passed: number;
  failed: number;
  timedOut: number;
  cancelled: number;
  total: number;
}

/** The Markdown a run appends to the step summary: the counts, then each failure. */
export function stepSummary(tests: TestOutcome[], counts: RunCounts, durationMs: number): string {
  const lines = [
    "### deskless test",
    "",
    "| Passed | Failed | Timed out | Cancelled | Total | Time |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    `| ${counts.passed} | ${counts.failed} | ${counts.timedOut} | ${counts.cancelled} | ${counts.total} | ${(durationMs / 1000).toFixed(1)} s |`,
    "",
  ];
  const failures = tests.filter(isFailure);
  if (failures.length) {
    lines.push("| Test | Outcome | Where | Message |", "| --- | --- | --- | --- |");
    for (const test of failures) {
      lines.push(`| ${cell(test.name)} | ${test.disposition} | \`${cell(repositoryPath(test.file))}:${test.line}\` | ${cell(test.message ?? "")} |`);
    }
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}
