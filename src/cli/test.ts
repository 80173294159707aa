// `deskless test`: commander wiring over src/testing (RunMat's test runner on confined workers).
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Command, Option } from "commander";
import { warnIfIncomplete } from "../engine/direct-engine.js";
import { ConfinementUnavailableError, EngineUnavailableError } from "../engine/engine.js";
import { onBrokenPipe } from "../broken-pipe.js";
import { isInside } from "../paths.js";
import { closingLine, countOutcomes } from "../testing/counts.js";
import { annotations, isFailure, stepSummary } from "../testing/github.js";
import { ProgressLine } from "../testing/progress.js";
import { prepareTests, type CoverageFormat, type PreparedTests, type ReportFormat, type TestEvent, type TestRunReport } from "../testing/run-tests.js";
import { collectTestSources, defaultTestRoots, MissingTestPathError } from "../testing/sources.js";
import { collect } from "./collect.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { addSessionOptions, workspaceRoots, type SessionFlags } from "./run.js";
import { timeoutSeconds, TIMEOUT_UNITS } from "./timeout.js";

interface TestFlags extends SessionFlags {
  name?: string[];
  tag?: string[];
  excludeTag?: string[];
  list?: boolean;
  json?: boolean;
  jobs?: number;
  timeout?: number;
  report?: ReportFormat[];
  reportDir: string;
  shardIndex?: number;
  shardCount?: number;
  failFast?: boolean;
  coverage?: CoverageFormat[];
}

// A reader that stops early (`deskless test | head`) ends the output, not the run: the tests
// finish, the reports are written and the exit code still tells the outcome.
let readerGone = false;

function out(text: string | Uint8Array): void {
  if (!readerGone) process.stdout.write(text);
}

function count(flag: string, min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new CliError(`${flag} takes a whole number of at least ${min}, not "${value}"`, ExitCode.usage);
    return parsed;
  };
}

function shard(flags: TestFlags): { shardIndex?: number; shardCount?: number } {
  const { shardIndex, shardCount } = flags;
  if (shardIndex === undefined && shardCount === undefined) return {};
  if (shardIndex === undefined || shardCount === undefined) throw new CliError("--shard-index and --shard-count go together", ExitCode.usage);
  if (shardIndex >= shardCount) throw new CliError(`--shard-index ${shardIndex} is not below --shard-count ${shardCount}`, ExitCode.usage);
  return { shardIndex, shardCount };
}

/** The default test roots; a runmat.toml that cannot be read is a usage error. */
function projectRoots(cwd: string): string[] {
  try {
    return defaultTestRoots(cwd);
  } catch (error) {
    throw new CliError(`cannot read the project's test roots: ${(error as Error).message.replace(/\s*\n\s*/g, " ")}`, ExitCode.usage);
  }
}

function prepare(paths: string[], flags: TestFlags): PreparedTests {
  const cwd = process.cwd();
  const roots = workspaceRoots(flags);
  let sources;
  try {
    sources = collectTestSources(paths.length ? paths : projectRoots(cwd), cwd);
  } catch (error) {
    if (error instanceof MissingTestPathError) throw new CliError(error.message, ExitCode.usage);
    throw error;
  }
  // The test files' folders are on the path; folders outside the workspace are opened read-only.
  const folders = [...new Set(sources.map((source) => dirname(join(source.root, source.relativePath))))];
  const outside = [...new Set(sources.map((source) => source.root))].filter((root) => !roots.some((workspace) => isInside(workspace, root)));
  try {
    return prepareTests(
      sources,
      { names: flags.name, tags: flags.tag, excludeTags: flags.excludeTag, ...shard(flags) },
      {
        roots,
        readOnlyRoots: outside,
        path: folders,
        compat: flags.compat,
        enableJit: flags.jit,
        confine: flags.confine,
        allowNet: flags.allowNet ?? false,
        allowEnv: flags.allowEnv ?? [],
        setEnv: flags.env ?? {},
      },
      cwd,
    );
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`test discovery failed: ${(error as Error).message}`, ExitCode.usage);
  }
}

function list(prepared: PreparedTests, json: boolean): void {
  if (json) {
    out(`${JSON.stringify({ tests: prepared.tests, unreadable: prepared.unreadable })}\n`);
    return;
  }
  for (const test of prepared.tests) {
    const tags = test.tags.length ? `  [${test.tags.join(", ")}]` : "";
    out(`${test.file}:${test.line}  ${test.name}${tags}\n`);
  }
  for (const file of prepared.unreadable) out(`${file.file}:${file.line}  (does not parse: ${file.message})\n`);
}

function writeReports(report: TestRunReport, dir: string): string[] {
  if (!report.reports.length) return [];
  mkdirSync(dir, { recursive: true });
  return report.reports.map((rendered) => {
    const path = join(dir, rendered.name);
    writeFileSync(path, rendered.bytes);
    return path;
  });
}

/** Runs the tests; a worker that cannot start is the CLI's engine or confinement error. */
async function runOrExplain(prepared: PreparedTests, options: Parameters<PreparedTests["run"]>[0]): Promise<TestRunReport> {
  try {
    return await prepared.run(options);
  } catch (error) {
    if (error instanceof ConfinementUnavailableError) throw new CliError(error.message, ExitCode.confinementUnavailable);
    if (error instanceof EngineUnavailableError) throw new CliError(error.message, ExitCode.engineUnavailable);
    throw error;
  }
}

function ndjson(record: Record<string, unknown>): void {
  out(`${JSON.stringify(record)}\n`);
}

function printHuman(report: TestRunReport): void {
  const human = report.reports.find((rendered) => rendered.name.endsWith(".txt"));
  if (human) out(human.bytes);
  for (const test of report.tests.filter(isFailure)) {
    out(`\n${test.disposition.toUpperCase()} ${test.name} (${test.file}:${test.line})\n  ${(test.message ?? "").replace(/\n/g, "\n  ")}\n`);
  }
}

async function runTests(paths: string[], flags: TestFlags): Promise<number> {
  // Kept until the process ends: a failed write reports its EPIPE after the write returned.
  onBrokenPipe(process.stdout, () => (readerGone = true), (error) => process.stderr.write(`deskless: cannot write the results: ${error.message}\n`));
  const prepared = prepare(paths, flags);
  if (flags.list) {
    list(prepared, flags.json ?? false);
    return prepared.tests.length + prepared.unreadable.length ? ExitCode.ok : ExitCode.usage;
  }
  if (!prepared.tests.length && !prepared.unreadable.length) throw new CliError("no tests selected", ExitCode.usage);
  const progress = !flags.json && process.stderr.isTTY ? new ProgressLine(prepared.tests.length) : undefined;
  const finished = new Set<string>();
  const onEvent = (event: TestEvent) => {
    progress?.update(event);
    if (!flags.json) return;
    if (event.kind === "started") ndjson({ event: "test_started", id: event.test.id, name: event.test.name, file: event.test.file, line: event.test.line });
    else {
      finished.add(event.test.id);
      ndjson({ event: "test_finished", id: event.test.id, name: event.test.name, outcome: event.disposition, durationMs: event.durationMs });
    }
  };
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(ExitCode.interrupted);
    interrupted = true;
    prepared.cancel("interrupted");
  };
  process.on("SIGINT", onSigint);
  const formats = new Set<ReportFormat>(flags.report ?? []);
  if (!flags.json) formats.add("human");
  let report: TestRunReport;
  try {
    report = await runOrExplain(prepared, {
      jobs: flags.jobs ?? availableParallelism(),
      timeoutMs: flags.timeout === undefined ? undefined : flags.timeout * 1000,
      failFast: flags.failFast,
      reports: [...formats],
      coverage: flags.coverage,
      onEvent,
    });
  } finally {
    process.off("SIGINT", onSigint);
    progress?.stop();
  }
  warnIfIncomplete(report.notEnforced);
  const written = writeReports({ ...report, reports: report.reports.filter((rendered) => !rendered.name.endsWith(".txt")) }, resolve(flags.reportDir));
  const counts = countOutcomes(report.tests);
  const failed = counts.failed + counts.timedOut > 0;
  const code = interrupted ? ExitCode.interrupted : failed ? ExitCode.failed : ExitCode.ok;
  if (process.env.GITHUB_ACTIONS === "true") {
    // Workflow commands are read from both streams; NDJSON keeps stdout for its records.
    for (const line of annotations(report.tests)) {
      if (flags.json) process.stderr.write(`${line}\n`);
      else out(`${line}\n`);
    }
    const summaryFile = process.env.GITHUB_STEP_SUMMARY;
    if (summaryFile) appendFileSync(summaryFile, stepSummary(report.tests, counts, report.durationMs));
  }
  if (flags.json) {
    for (const test of report.tests) {
      if (!finished.has(test.id)) ndjson({ event: "test_finished", id: test.id, name: test.name, outcome: test.disposition, durationMs: test.durationMs });
    }
    ndjson({
      event: "run_finished",
      ...counts,
      durationMs: report.durationMs,
      exitCode: code,
      stoppedBy: report.cancelled ?? null,
      reports: written,
      failures: report.tests.filter(isFailure).map((test) => ({ id: test.id, name: test.name, outcome: test.disposition, file: test.file, line: test.line, message: test.message ?? null })),
    });
  } else {
    printHuman(report);
    out(`\n${closingLine(counts)}\n`);
    if (interrupted) process.stderr.write("deskless: test run interrupted\n");
  }
  return code;
}

export function registerTestCommand(program: Command): void {
  addSessionOptions(
    program
      .command("test")
      .description("run the project's MATLAB-language tests (RunMat's test runner) on confined engine sessions")
      .argument("[paths...]", "test files or folders (default: the runmat.toml [test] roots, else ./tests, else .)")
      .option("--name <pattern>", "run tests whose name contains this (repeatable: any)", collect)
      .option("--tag <tag>", "run tests that have this tag (repeatable: all)", collect)
      .option("--exclude-tag <tag>", "skip tests that have this tag (repeatable)", collect)
      .option("--list", "print the selected tests instead of running them")
      .option("--json", "NDJSON events on stdout (with --list: one JSON document)")
      .option("-j, --jobs <n>", "parallel worker sessions (default: the number of cores)", count("--jobs", 1))
      .option("--timeout <time>", `fail a test that runs longer than this ${TIMEOUT_UNITS}`, timeoutSeconds)
      .addOption(new Option("--report <format>", "write a report file (repeatable)").choices(["junit", "tap", "json"]).argParser((value: string, previous: string[] = []) => [...previous, value]))
      .option("--report-dir <dir>", "folder for report files", "test-results")
      .addOption(new Option("--coverage <format>", "write a coverage report (repeatable)").choices(["lcov", "cobertura"]).argParser((value: string, previous: string[] = []) => [...previous, value]))
      .option("--shard-index <i>", "run only this shard (0-based; with --shard-count)", count("--shard-index", 0))
      .option("--shard-count <n>", "split the selection into this many shards", count("--shard-count", 1))
      .option("--fail-fast", "stop after the first test that does not pass; the rest are recorded as cancelled"),
  )
    .addHelpText("after", "\nExit codes: 0 all passed, 1 a test failed, errored or timed out, 2 usage or nothing selected, 130 interrupted.\n\nExamples:\n  deskless test\n  deskless test tests/unit --tag fast -j 4 --report junit\n  deskless test --shard-index 0 --shard-count 2 --report junit --report-dir out")
    .action(async (paths: string[], flags: TestFlags) => {
      process.exitCode = await runTests(paths, flags);
    });
}
