// `deskless test` as a library: RunMat discovers and plans the tests in the addon, then its
// coordinator runs them on worker processes (worker-main.ts), one confined engine session each.
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfinementUnavailableError, EngineUnavailableError, type ConfineMode } from "../engine/engine.js";
import type { EnvironmentPolicy } from "../engine/environment.js";
import { engineAddon } from "../native.js";
import type { TestSourceFile } from "./sources.js";

type NativeTestRun = InstanceType<ReturnType<typeof engineAddon>["TestRun"]>;

/** RunMat's terminal dispositions. */
export type Disposition = "passed" | "failed" | "timed_out" | "cancelled" | "crashed";
export type ReportFormat = "junit" | "tap" | "json" | "human";
export type CoverageFormat = "lcov" | "cobertura";

export interface ListedTest {
  id: string;
  name: string;
  suite: string;
  /** The test's file, relative to the run's folder. */
  file: string;
  line: number;
  tags: string[];
}

export interface TestOutcome {
  id: string;
  name: string;
  disposition: Disposition;
  durationMs: number;
  identifier?: string;
  message?: string;
  /** Where the failure is (else the test), relative to the run's folder. */
  file: string;
  line: number;
  output: string;
}

export type TestEvent = { kind: "started"; test: ListedTest } | { kind: "finished"; test: ListedTest; disposition: Disposition; durationMs: number };

export interface TestSelection {
  /** Substrings of test names; a test matching any of them is selected. */
  names?: string[];
  /** Tags a test must all have. */
  tags?: string[];
  excludeTags?: string[];
  shardIndex?: number;
  shardCount?: number;
}

/** What each worker's engine session is given: the rules of `deskless run`. */
export interface TestSessionOptions extends EnvironmentPolicy {
  roots: string[];
  readOnlyRoots?: string[];
  /** Folders on the MATLAB path (the test files' folders). */
  path?: string[];
  compat?: "matlab" | "runmat" | "strict";
  enableJit?: boolean;
  confine?: ConfineMode;
  allowNet?: boolean;
}

export interface RunTestsOptions {
  /** Parallel worker processes; default: the number of cores. */
  jobs?: number;
  timeoutMs?: number;
  failFast?: boolean;
  reports?: ReportFormat[];
  coverage?: CoverageFormat[];
  onEvent?: (event: TestEvent) => void;
}

export interface RenderedReport {
  name: string;
  bytes: Buffer;
}

export interface TestRunReport {
  tests: TestOutcome[];
  reports: RenderedReport[];
  /** Worker processes the run started. */
  workers: number;
  /** Why the run stopped early, if it did. */
  cancelled?: string;
  /** The confinement rules the workers' kernel could not enforce (`--confine auto`). */
  notEnforced: string[];
  durationMs: number;
}

/** The worker entry, beside this module in the build. */
const WORKER_MAIN = fileURLToPath(new URL("./worker-main.js", import.meta.url));

/** What a worker process is started with (its one argument, as JSON). */
export type WorkerSetup = TestSessionOptions;

export class PreparedTests {
  private readonly byId: Map<string, ListedTest>;

  constructor(
    private readonly prepared: NativeTestRun,
    private readonly cwd: string,
    private readonly session: TestSessionOptions,
  ) {
    this.byId = new Map(this.tests.map((test) => [test.id, test]));
  }

  /** The selected tests, in plan order. */
  get tests(): ListedTest[] {
    return this.prepared.tests.map((test) => ({
      id: test.id,
      name: test.name,
      suite: test.suite,
      file: this.display(test.root, test.relativePath),
      line: test.line,
      tags: test.tags,
    }));
  }

  /** Files that do not parse; each is reported as a failed test of its own. */
  get unreadable(): { file: string; line: number; message: string }[] {
    return this.prepared.unreadable.map((file) => ({ file: this.display(file.root, file.relativePath), line: file.line, message: file.message }));
  }

  private display(root: string, relativePath: string): string {
    return root ? relative(this.cwd, join(root, relativePath)) : relativePath;
  }

  /** Runs the tests; resolves with every outcome and the rendered reports (also when cancelled). */
  async run(options: RunTestsOptions = {}): Promise<TestRunReport> {
    const started = performance.now();
    const setup: WorkerSetup = { ...this.session };
    const onEvent = options.onEvent;
    const result = await this.prepared.run(
      {
        jobs: options.jobs ?? availableParallelism(),
        timeoutMs: options.timeoutMs,
        failFast: options.failFast ?? false,
        reports: options.reports ?? [],
        coverage: options.coverage ?? [],
        workerExecutable: process.execPath,
        workerArguments: [WORKER_MAIN, JSON.stringify(setup)],
        displayBase: this.cwd,
      },
      onEvent
        ? (event) => {
            const test = this.byId.get(event.testId);
            if (!test) return;
            if (event.kind === "started") onEvent({ kind: "started", test });
            else onEvent({ kind: "finished", test, disposition: event.disposition as Disposition, durationMs: event.durationMs ?? 0 });
          }
        : undefined,
    );
    if (result.failure) {
      // No worker could start, so nothing ran.
      if (result.failure.code === "CONFINEMENT_UNAVAILABLE") throw new ConfinementUnavailableError(result.failure.message);
      throw new EngineUnavailableError(`no test worker could start: ${result.failure.message}`);
    }
    return {
      tests: result.tests.map((test) => ({
        id: test.id,
        name: test.name,
        disposition: test.disposition as Disposition,
        durationMs: test.durationMs,
        identifier: test.identifier ?? undefined,
        message: test.message ?? undefined,
        file: this.display(test.root, test.relativePath),
        line: test.line,
        output: test.output,
      })),
      reports: result.reports,
      workers: result.workers,
      cancelled: result.cancelled ?? undefined,
      notEnforced: result.notEnforced,
      durationMs: performance.now() - started,
    };
  }

  /** Stops a run: running tests are cancelled and the rest recorded as cancelled. */
  cancel(reason: string): void {
    this.prepared.cancel(reason);
  }
}

/** Discovers the tests in `sources` with RunMat's rules and applies `selection`. */
export function prepareTests(sources: TestSourceFile[], selection: TestSelection, session: TestSessionOptions, cwd = process.cwd()): PreparedTests {
  const prepared = engineAddon().TestRun.prepare(sources, { ...selection, compat: session.compat });
  return new PreparedTests(prepared, cwd, session);
}
