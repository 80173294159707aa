// A run's totals, and its exit code: 0 when every selected test passed, 1 otherwise.
import type { RunCounts } from "./github.js";
import type { TestOutcome } from "./run-tests.js";

export function countOutcomes(tests: TestOutcome[]): RunCounts {
  const counts: RunCounts = { passed: 0, failed: 0, timedOut: 0, cancelled: 0, total: tests.length };
  for (const test of tests) {
    if (test.disposition === "passed") counts.passed += 1;
    else if (test.disposition === "cancelled") counts.cancelled += 1;
    else if (test.disposition === "timed_out") counts.timedOut += 1;
    else counts.failed += 1;
  }
  return counts;
}

/** The plain closing line: failures include errors, crashes and time-outs; cancelled is skipped. */
export function closingLine(counts: RunCounts): string {
  return `${counts.passed} passed, ${counts.failed + counts.timedOut} failed, ${counts.cancelled} skipped`;
}
