// End-to-end: `deskless run --engine wasm` (the built CLI, spawned as users run it) on the runtime
// the suites run on (the real RunMat runtime when DESKLESS_WASM_PACKAGE names it, else the stand-in).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { plantSentinels } from "../fs-bindings/helpers.js";
import { runCli, startCli, waitForStderr, waitForStdout } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";
import { installLink, LAYOUTS, RUNTIME } from "./helpers.js";

let base: string;
let ws: string;
let cleanup: () => void;
/** No package from the environment unless a test sets one. */
const ENV = { DESKLESS_WASM_PACKAGE: "" };
/** run.ts gives a cancelled script this long before it exits anyway; the wasm engine must stop well within it. */
const CANCEL_GRACE_MS = 1000;
/**
 * After deciding to exit, the process takes a while to end: with the 65 MB real runtime loaded, Node
 * spends about 0.3 s tearing V8 down (0.6 s and more on a busy machine). Not part of the grace.
 */
const TEARDOWN_MS = 2000;
/** Printed only when the engine itself stopped the script (run.ts's forced exit prints no error line). */
const STOPPED_BY_ENGINE = "error: execution interrupted [RunMat:interrupted]";

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
  return ["run", "--engine", "wasm", "--wasm-package", RUNTIME.dir, ...args];
}

describe("deskless run --engine wasm", () => {
  it.each(LAYOUTS)("runs a script on the $layout layout: its stdout on stdout, its stderr on stderr, nothing else, exit 0", async ({ dir }) => {
    script("hello.m", "disp('hello from wasm')\nfprintf(2, 'a warning\\n')\nfprintf('done\\n')\n");
    const result = await runCli(["run", "--engine", "wasm", "--wasm-package", dir, "hello.m"], { cwd: ws, env: ENV });
    // Neither the runtime's "builtins registered" line nor wasm-bindgen's deprecation warning.
    expect(result.stdout).toBe("hello from wasm\ndone\n");
    expect(result.stderr).toBe("a warning\n");
    expect(result.code).toBe(0);
  });

  it("refuses two workspace roots with one folder name as a usage error (exit 2, one line), running nothing", async () => {
    script("mark.m", "fid = fopen('ran.txt', 'w'); fclose(fid);\n");
    mkdirSync(join(base, "a", "x"), { recursive: true });
    mkdirSync(join(base, "b", "x"), { recursive: true });
    const result = await runCli(wasm("-w", ".", "-w", "../a/x", "-w", "../b/x", "mark.m"), { cwd: ws, env: ENV });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/the name "x" is already taken by another root/);
    expect(result.stdout).toBe("");
    expect(existsSync(join(ws, "ran.txt"))).toBe(false);
  });

  it("keeps the runtime's console lines for the log: they appear at --log-level debug, on stderr", async () => {
    script("hello.m", "disp('hi')\n");
    const result = await runCli(["--log-level", "debug", ...wasm("hello.m")], { cwd: ws, env: ENV });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("hi\n");
    expect(result.stderr).toMatch(/builtins registered/);
  });

  it("reads the script from standard input with -", async () => {
    const result = await runCli(wasm("-"), { cwd: ws, env: ENV, input: "disp('piped')\n" });
    expect(result.stdout).toBe("piped\n");
    expect(result.code).toBe(0);
  });

  it("writes files in the workspace through the native provider", async () => {
    script("io.m", "fid = fopen('results.txt', 'w');\nfprintf(fid, 'x=1\\n');\nfclose(fid);\ny = fileread('results.txt');\nfprintf('%s', y);\n");
    const result = await runCli(wasm("io.m"), { cwd: ws, env: ENV });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(readFileSync(join(ws, "results.txt"), "utf8")).toBe("x=1\n");
    expect(result.stdout).toBe("x=1\n");
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
    expect(result.stderr).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2:1: error: it failed \\[\\w+:e2e\\]\\n$`));
  });

  it("--json prints one document with streams, error, duration and workspace", async () => {
    script("j.m", "x = 5;\ndisp('out')\nfprintf(2, 'err\\n')\n");
    const result = await runCli(wasm("--json", "j.m"), { cwd: ws, env: ENV });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
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
    script("args.m", "a = argv;\nfprintf('%d:%s|%s\\n', numel(a), 'x', 'y');\n");
    const result = await runCli(wasm("--json", "args.m", "--", "fast", "10"), { cwd: ws, env: ENV });
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.workspace).toContainEqual({ name: "argv", class: "cell", size: [1, 2] });
    expect(doc.streams.map((e: { text: string }) => e.text).join("")).toBe("2:x|y\n");
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
    const viaEnv = await runCli(["run", "--engine", "wasm", "hello.m"], { cwd: ws, env: { DESKLESS_WASM_PACKAGE: RUNTIME.dir } });
    expect(viaEnv.stderr).toBe("");
    expect(viaEnv.stdout).toBe("found\n");
    expect(viaEnv.code).toBe(0);
    installLink(RUNTIME.dir, ws, "runmat");
    const viaNodeModules = await runCli(["run", "--engine", "wasm", "hello.m"], { cwd: ws, env: ENV });
    expect(viaNodeModules.stderr).toBe("");
    expect(viaNodeModules.stdout).toBe("found\n");
    expect(viaNodeModules.code).toBe(0);
  });

  it("--timeout stops `while true, end` (which never yields) with exit 124 within the grace", async () => {
    script("spin.m", "disp('spinning')\nwhile true, end\n");
    const { child, done } = startCli(wasm("--timeout", "1", "spin.m"), { cwd: ws, env: ENV });
    await waitForStdout(child, "spinning\n");
    // The timer starts before the script, so it fires at most 1 s after "spinning" appears.
    const spinningAt = performance.now();
    await waitForStderr(child, "deskless: script timed out after 1 s\n");
    const decidedAfter = performance.now() - spinningAt;
    const result = await done;
    expect(result.code).toBe(124);
    expect(result.stdout).toBe("spinning\n");
    expect(result.stderr).toContain(STOPPED_BY_ENGINE);
    expect(decidedAfter).toBeLessThan(1000 + CANCEL_GRACE_MS);
    expect(performance.now() - spinningAt).toBeLessThan(1000 + CANCEL_GRACE_MS + TEARDOWN_MS);
  });

  it("Ctrl-C stops `while true, end` with exit 130 within the grace", async () => {
    script("spin.m", "disp('spinning')\nwhile true, end\n");
    const { child, done } = startCli(wasm("spin.m"), { cwd: ws, env: ENV });
    await waitForStdout(child, "spinning\n");
    const signalledAt = performance.now();
    const interrupted = waitForStderr(child, "deskless: script interrupted\n");
    child.kill("SIGINT");
    await interrupted;
    const decidedAfter = performance.now() - signalledAt;
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain(STOPPED_BY_ENGINE);
    expect(decidedAfter).toBeLessThan(CANCEL_GRACE_MS);
    expect(performance.now() - signalledAt).toBeLessThan(CANCEL_GRACE_MS + TEARDOWN_MS);
    expect(existsSync(join(ws, "spin.m"))).toBe(true);
  });

  it("Ctrl-C stops a loop that prints, through the runtime's own cancel: exit 130", async () => {
    script("count.m", "k = 0;\nwhile true\n  k = k + 1;\n  fprintf('%d\\n', k);\nend\n");
    const { child, done } = startCli(wasm("count.m"), { cwd: ws, env: ENV });
    await waitForStdout(child, "\n3\n");
    child.kill("SIGINT");
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stdout.startsWith("1\n2\n3\n")).toBe(true);
    expect(result.stderr).toContain("interrupted");
  });
});
