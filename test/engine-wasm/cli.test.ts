// End-to-end: `deskless run --engine wasm` (the built CLI, spawned as users run it) against the
// runmat-fake package.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { plantSentinels } from "../fs-bindings/helpers.js";
import { runCli, startCli, waitForStdout } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";
import { FAKE_DIR, installFake } from "./helpers.js";

let base: string;
let ws: string;
let cleanup: () => void;
/** No package from the environment unless a test sets one. */
const ENV = { DESKLESS_WASM_PACKAGE: "" };

beforeEach(() => {
  ({ dir: base, cleanup } = tempDir("deskless-wasm-cli-"));
  ws = join(base, "ws");
  mkdirSync(ws);
});
afterEach(() => cleanup());

function script(name: string, body: string): string {
  const path = join(ws, name);
  writeFileSync(path, body);
  return path;
}

function wasm(...args: string[]): string[] {
  return ["run", "--engine", "wasm", "--wasm-package", FAKE_DIR, ...args];
}

describe("deskless run --engine wasm", () => {
  it("runs a script file: stdout to stdout, stderr to stderr, exit 0", async () => {
    script("hello.m", "disp('hello from wasm')\nfprintf(2, 'a warning\\n')\nfprintf('done\\n')\n");
    const result = await runCli(wasm("hello.m"), { cwd: ws, env: ENV });
    expect(result.stdout).toBe("hello from wasm\ndone\n");
    expect(result.stderr).toBe("a warning\n");
    expect(result.code).toBe(0);
  });

  it("reads the script from standard input with -", async () => {
    const result = await runCli(wasm("-"), { cwd: ws, env: ENV, input: "disp('piped')\n" });
    expect(result.stdout).toBe("piped\n");
    expect(result.code).toBe(0);
  });

  it("writes files in the workspace through the native provider", async () => {
    script("io.m", "fid = fopen('results.txt', 'w');\nfprintf(fid, 'x=1\\n');\nfclose(fid);\ny = fileread('results.txt');\ndisp(y)\n");
    const result = await runCli(wasm("io.m"), { cwd: ws, env: ENV });
    expect(result.code).toBe(0);
    expect(readFileSync(join(ws, "results.txt"), "utf8")).toBe("x=1\n");
    expect(result.stdout).toBe("x=1\n\n");
  });

  it("uses --workspace roots: the first is /, the others are named folders", async () => {
    const data = join(base, "inputs");
    mkdirSync(data);
    writeFileSync(join(data, "in.txt"), "input data");
    const outside = join(base, "scripts");
    mkdirSync(outside);
    writeFileSync(join(outside, "job.m"), "x = fileread('/inputs/in.txt');\nfid = fopen('/out.txt', 'w');\nfprintf(fid, 'copied');\nfclose(fid);\ndisp(x)\n");
    const result = await runCli(wasm("--workspace", ws, "--workspace", data, join(outside, "job.m")), { cwd: base, env: ENV });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("input data\n");
    expect(result.code).toBe(0);
    expect(readFileSync(join(ws, "out.txt"), "utf8")).toBe("copied");
  });

  it("reports a script error with file, line, identifier and exit 1", async () => {
    const path = script("bad.m", "disp('before')\nerror('Deskless:e2e', 'it failed')\n");
    const result = await runCli(wasm("bad.m"), { cwd: ws, env: ENV });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("before\n");
    expect(result.stderr).toBe(`${path}:2:1: error: it failed [Deskless:e2e]\n`);
  });

  it("--json prints one document with streams, error, duration and workspace", async () => {
    script("j.m", "x = 5\ndisp('out')\nfprintf(2, 'err\\n')\n");
    const result = await runCli(wasm("--json", "j.m"), { cwd: ws, env: ENV });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]!);
    expect(doc).toMatchObject({ ok: true, engine: "wasm", exitCode: 0, error: null, workspace: [{ name: "x", class: "double", size: [1, 1] }] });
    expect(doc.streams.map((e: { stream: string; text: string }) => [e.stream, e.text])).toEqual([
      ["stdout", "out\n"],
      ["stderr", "err\n"],
    ]);
    expect(typeof doc.durationMs).toBe("number");
  });

  it("passes arguments after -- to the script as argv", async () => {
    script("args.m", "disp('with args')\n");
    const result = await runCli(wasm("--json", "args.m", "--", "fast", "10"), { cwd: ws, env: ENV });
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.workspace).toContainEqual({ name: "argv", class: "cell", size: [1, 2] });
  });

  it("fails the run naming the file when the runtime loses a write on close", async () => {
    mkdirSync(join(ws, "report.csv"));
    script("lost.m", "fid = fopen('report.csv', 'w');\nfprintf(fid, '1,2,3');\nfclose(fid);\ndisp('finished')\n");
    const result = await runCli(wasm("lost.m"), { cwd: ws, env: ENV });
    expect(result.stdout).toBe("finished\n");
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    // A warning when the write fails (live, as it happens), then the run's error naming the file.
    expect(lines[0]).toContain("write failed");
    expect(lines.at(-1)).toBe(`${join(ws, "report.csv")}: error: ${lines.at(-1)!.split(": error: ")[1]}`);
    expect(lines.at(-1)).toContain("could not write /report.csv");
    expect(lines.at(-1)).toContain("[deskless:writeFailed]");
  });

  it("refuses a write outside the workspace, fails the run, and leaves the file outside alone", async () => {
    const sentinels = plantSentinels(base);
    script("escape.m", "fid = fopen('../outside/secret.txt', 'w');\nfprintf(fid, 'pwned');\nfclose(fid);\n");
    const result = await runCli(wasm("escape.m"), { cwd: ws, env: ENV });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("/../outside/secret.txt");
    sentinels.expectUntouched();
  });

  it("without the package: one line saying how to install it and point deskless at it, exit 3", async () => {
    script("hello.m", "disp('never')\n");
    const result = await runCli(["run", "--engine", "wasm", "hello.m"], { cwd: ws, env: ENV });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("npm install runmat");
    expect(lines[0]).toContain("--wasm-package");
    expect(lines[0]).toContain("DESKLESS_WASM_PACKAGE");
  });

  it("finds the package through DESKLESS_WASM_PACKAGE, and in node_modules of the current directory", async () => {
    script("hello.m", "disp('found')\n");
    const viaEnv = await runCli(["run", "--engine", "wasm", "hello.m"], { cwd: ws, env: { DESKLESS_WASM_PACKAGE: FAKE_DIR } });
    expect(viaEnv.stdout).toBe("found\n");
    expect(viaEnv.code).toBe(0);
    installFake(ws, "runmat");
    const viaNodeModules = await runCli(["run", "--engine", "wasm", "hello.m"], { cwd: ws, env: ENV });
    expect(viaNodeModules.stderr).toBe("");
    expect(viaNodeModules.stdout).toBe("found\n");
    expect(viaNodeModules.code).toBe(0);
  });

  it("--timeout stops a script that does not finish: exit 124", async () => {
    script("spin.m", "disp('spinning')\nwhile true, end\n");
    const result = await runCli(wasm("--timeout", "1", "spin.m"), { cwd: ws, env: ENV });
    expect(result.stdout).toBe("spinning\n");
    expect(result.code).toBe(124);
    expect(result.stderr).toContain("timed out");
  });

  it("Ctrl-C cancels the execution: exit 130", async () => {
    script("spin.m", "disp('spinning')\nwhile true, end\n");
    const { child, done } = startCli(wasm("spin.m"), { cwd: ws, env: ENV });
    await waitForStdout(child, "spinning\n");
    child.kill("SIGINT");
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("interrupted");
    expect(existsSync(join(ws, "spin.m"))).toBe(true);
  });
});
