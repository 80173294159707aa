// The MATLAB set of test/run (file builtins, errors with file and line) run through the CLI on both
// engines, each in its own fresh workspace: the wasm engine (on the runtime the suites run on) must
// print what the direct engine prints and leave the same files, and both must match expectations
// computed here in TypeScript. Where the two differ by design (pwd: the wasm runtime sees virtual
// paths) the test says so. Timeout, Ctrl-C and lost writes on wasm: cli.test.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";
import { RUNTIME } from "./helpers.js";

type Engine = "direct" | "wasm";
const ENGINES: Engine[] = ["direct", "wasm"];

let base: string;
let cleanup: () => void;

beforeEach(() => {
  ({ dir: base, cleanup } = tempDir("deskless-matlab-set-"));
});
afterEach(() => cleanup());

interface EngineRun extends CliResult {
  ws: string;
}

/** Runs `text` as script.m on one engine in a fresh workspace, after `seed` put its files there. */
async function runOn(engine: Engine, text: string, options: { args?: string[]; seed?: (ws: string) => void } = {}): Promise<EngineRun> {
  const ws = join(base, engine);
  mkdirSync(ws);
  options.seed?.(ws);
  writeFileSync(join(ws, "script.m"), text);
  const engineArgs = engine === "wasm" ? ["--engine", "wasm", "--wasm-package", RUNTIME.dir] : [];
  const result = await runCli(["run", ...engineArgs, ...(options.args ?? []), "script.m"], { cwd: ws, env: { DESKLESS_WASM_PACKAGE: "" } });
  return { ...result, ws };
}

/** Both engines; each must succeed quietly. */
async function both(text: string, options: { args?: string[]; seed?: (ws: string) => void } = {}): Promise<Record<Engine, EngineRun>> {
  const runs = {} as Record<Engine, EngineRun>;
  for (const engine of ENGINES) {
    const run = await runOn(engine, text, options);
    expect({ engine, code: run.code, stderr: run.stderr }).toEqual({ engine, code: 0, stderr: "" });
    runs[engine] = run;
  }
  expect(runs.wasm.stdout).toBe(runs.direct.stdout);
  return runs;
}

function lines(...statements: string[]): string {
  return `${statements.join("\n")}\n`;
}

describe("the MATLAB set on the wasm engine, against the direct engine", () => {
  it("fopen/fprintf/fgetl/fgets/feof/fclose write and read text line by line", async () => {
    const runs = await both(
      lines(
        "fid = fopen('lines.txt', 'w');",
        "k = 1;",
        "while k <= 5",
        "  fprintf(fid, 'line %d: %d\\n', k, k^3);",
        "  k = k + 1;",
        "end",
        "fclose(fid);",
        "fid = fopen('lines.txt', 'r');",
        "first = fgets(fid);",
        "n = 1;",
        "while ~feof(fid)",
        "  last = fgetl(fid);",
        "  n = n + 1;",
        "end",
        "after = fgetl(fid);",
        "fclose(fid);",
        "fprintf('%d|%s%s|%d\\n', n, first, last, after);",
      ),
    );
    const expected = Array.from({ length: 5 }, (_, i) => `line ${i + 1}: ${(i + 1) ** 3}\n`).join("");
    for (const engine of ENGINES) expect(readFileSync(join(runs[engine].ws, "lines.txt"), "utf8")).toBe(expected);
    expect(runs.wasm.stdout).toBe("5|line 1: 1\nline 5: 125|-1\n");
  });

  it("fwrite/fread round-trip binary data of several precisions", async () => {
    const runs = await both(
      lines(
        "fid = fopen('data.bin', 'w');",
        "fwrite(fid, [1 2 250 255], 'uint8');",
        "fwrite(fid, [-2.5 1e10], 'double');",
        "fwrite(fid, [-300 300], 'int16');",
        "fclose(fid);",
        "fid = fopen('data.bin', 'r');",
        "a = fread(fid, 4, 'uint8');",
        "b = fread(fid, 2, 'double');",
        "c = fread(fid, 2, 'int16');",
        "d = fread(fid, Inf, 'uint8');",
        "fclose(fid);",
        "fprintf('%d ', a, c); fprintf('%.1f ', b); fprintf('%d\\n', numel(d));",
      ),
    );
    const expected = Buffer.alloc(4 + 16 + 4);
    expected.set([1, 2, 250, 255], 0);
    expected.writeDoubleLE(-2.5, 4);
    expected.writeDoubleLE(1e10, 12);
    expected.writeInt16LE(-300, 20);
    expected.writeInt16LE(300, 22);
    for (const engine of ENGINES) expect(readFileSync(join(runs[engine].ws, "data.bin"))).toEqual(expected);
    expect(runs.wasm.stdout).toBe("1 2 250 255 -300 300 -2.5 10000000000.0 0\n");
  });

  it("fileread/filewrite (filewrite is a RunMat extension: --compat runmat)", async () => {
    const runs = await both("t = fileread('in.txt');\nfilewrite('out.txt', upper(t));\nfprintf('%d\\n', numel(t));\n", {
      args: ["--compat", "runmat"],
      seed: (ws) => writeFileSync(join(ws, "in.txt"), "alpha\nbeta\n"),
    });
    for (const engine of ENGINES) expect(readFileSync(join(runs[engine].ws, "out.txt"), "utf8")).toBe("ALPHA\nBETA\n");
    expect(runs.wasm.stdout).toBe(`${"alpha\nbeta\n".length}\n`);
  });

  it("filewrite outside --compat runmat is refused the same way on both", async () => {
    const results = await Promise.all(ENGINES.map((engine) => runOn(engine, "filewrite('out.txt', 'x');\n")));
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/script\.m:1:1: error: filewrite: .*runmat compatibility/);
      expect(existsSync(join(result.ws, "out.txt"))).toBe(false);
    }
  });

  it("mkdir/dir/exist/isfile/isfolder/copyfile/movefile/delete/rmdir", async () => {
    const runs = await both(
      lines(
        "mkdir('d1');",
        "mkdir('d1/sub');",
        "copyfile('seed.txt', 'd1/copy.txt');",
        "movefile('d1/copy.txt', 'd1/sub/moved.txt');",
        "copyfile('seed.txt', 'd1/sub/again.txt');",
        "listing = dir('d1/sub');",
        "fprintf('%d %s %s %s %d\\n', numel(listing), listing(1).name, listing(3).name, listing(4).name, listing(4).bytes);",
        // RunMat 0.6.2 reports an existing file that has an extension as 3 (MEX), not 2: test "found".
        "fprintf('%d %d %d %d %d\\n', exist('seed.txt', 'file') > 0, exist('d1', 'dir'), isfile('d1/sub/moved.txt'), isfolder('d1/sub'), isfile('d1/copy.txt'));",
        "delete('seed.txt');",
        "mkdir('gone');",
        "rmdir('gone');",
        "rmdir('d1/sub', 's');",
        "fprintf('%d %d %d\\n', isfile('seed.txt'), isfolder('gone'), isfolder('d1/sub'));",
      ),
      { seed: (ws) => writeFileSync(join(ws, "seed.txt"), "seed") },
    );
    expect(runs.wasm.stdout).toBe("4 . again.txt moved.txt 4\n1 7 1 1 0\n0 0 0\n");
    for (const engine of ENGINES) {
      const ws = runs[engine].ws;
      expect(existsSync(join(ws, "seed.txt"))).toBe(false);
      expect(existsSync(join(ws, "gone"))).toBe(false);
      expect(readdirSync(join(ws, "d1"))).toEqual([]);
    }
  });

  it("cd moves the script's cwd inside the workspace; pwd shows a host path on direct, the virtual path on wasm", async () => {
    const seed = (ws: string) => {
      mkdirSync(join(ws, "inner"));
      writeFileSync(join(ws, "inner", "note.txt"), "inside");
    };
    const text = "start = pwd;\ncd('inner');\nt = fileread('note.txt');\nfprintf('%s|%s|%s\\n', start, pwd, t);\ncd('..');\nfprintf('%s\\n', pwd);\n";
    const direct = await runOn("direct", text, { seed });
    const wasm = await runOn("wasm", text, { seed });
    expect(direct.stdout).toBe(`${direct.ws}|${join(direct.ws, "inner")}|inside\n${direct.ws}\n`);
    expect(wasm.stdout).toBe("/|/inner|inside\n/\n");
    expect(wasm.stderr).toBe("");
  });

  it("cd refuses to leave the workspace on both", async () => {
    for (const engine of ENGINES) {
      const result = await runOn(engine, "cd('..');\ndisp('still here');\n");
      expect({ engine, code: result.code, stdout: result.stdout }).toEqual({ engine, code: 1, stdout: "" });
    }
  });
});

describe("errors with file and line, on both engines", () => {
  async function failing(text: string): Promise<Record<Engine, EngineRun>> {
    const runs = {} as Record<Engine, EngineRun>;
    for (const engine of ENGINES) runs[engine] = await runOn(engine, text);
    return runs;
  }

  it("a runtime error: exit 1, the output before it, file:line, message and identifier", async () => {
    const runs = await failing("disp('before');\nx = 1;\nerror('deskless:boom', 'it broke at %d', x);\ndisp('after');\n");
    for (const engine of ENGINES) {
      const run = runs[engine];
      expect({ engine, code: run.code, stdout: run.stdout }).toEqual({ engine, code: 1, stdout: "before\n" });
      expect(run.stderr).toMatch(/script\.m:3:\d+: error: it broke at 1 \[\w+:boom\]\n$/);
    }
    expect(runs.wasm.stderr.replace(runs.wasm.ws, "")).toBe(runs.direct.stderr.replace(runs.direct.ws, ""));
  });

  it("a syntax error: exit 1, nothing run, file and line", async () => {
    const runs = await failing("disp('never');\ny = (2 + ;\n");
    for (const engine of ENGINES) {
      expect({ engine, code: runs[engine].code, stdout: runs[engine].stdout }).toEqual({ engine, code: 1, stdout: "" });
      expect(runs[engine].stderr).toMatch(/script\.m:2(:\d+)?: error: /);
    }
  });

  it("an undefined function: exit 1, its name, file and line", async () => {
    const runs = await failing("disp('partial');\nundefined_function_xyz(3);\n");
    for (const engine of ENGINES) {
      expect({ engine, code: runs[engine].code, stdout: runs[engine].stdout }).toEqual({ engine, code: 1, stdout: "partial\n" });
      expect(runs[engine].stderr).toMatch(/script\.m:2(:\d+)?: error: .*undefined_function_xyz/);
    }
  });
});
