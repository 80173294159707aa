// End-to-end: `deskless run` / `eval` on the direct-attach engine (the real runmat-core).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, startCli, waitForStdout } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";

let ws: string;
let cleanup: () => void;

beforeEach(() => {
  ({ dir: ws, cleanup } = tempDir("deskless-run-"));
});
afterEach(() => cleanup());

function script(name: string, text: string): string {
  const path = join(ws, name);
  writeFileSync(path, text);
  return path;
}

describe("deskless run", () => {
  it("prints the script's output and exits 0", async () => {
    script("hello.m", "x = 6 * 7;\nfprintf('answer=%d\\n', x);\ndisp('done');\n");
    const result = await runCli(["run", "hello.m"], { cwd: ws });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("answer=42\ndone\n");
    expect(result.code).toBe(0);
  });

  it("lists every command in the top-level help, and a script command's help shows its options", async () => {
    const top = await runCli(["--help"], { cwd: ws });
    expect(top.code).toBe(0);
    for (const command of ["run", "eval", "repl", "fs", "daemon"]) expect(top.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    const run = await runCli(["run", "--help"], { cwd: ws });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--timeout/);
    // A global option's value before the command still reaches every command.
    const fs = await runCli(["--log-level", "warn", "fs", "stat", "."], { cwd: ws });
    expect(fs.code).toBe(0);
    expect(fs.stdout).toMatch(/^\.: dir, modified /);
  });

  it("refuses an unknown --log-level as a usage error (exit 2) without running anything", async () => {
    script("mark.m", "fid = fopen('ran.txt', 'w'); fclose(fid);\n");
    const result = await runCli(["--log-level", "loud", "run", "mark.m"], { cwd: ws });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--log-level.*'loud' is invalid/);
    expect(result.stdout).toBe("");
    expect(existsSync(join(ws, "ran.txt"))).toBe(false);
  });

  it("prints help into a pipe whose reader has already gone without crashing (exit 0, no stack)", async () => {
    const { child, done } = startCli(["daemon", "call", "--help"], { cwd: ws });
    // Closed before the CLI has started, so its first write meets EPIPE.
    child.stdout!.destroy();
    const result = await done;
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(result.code).toBe(0);
  });

  it("reads the script from standard input with -", async () => {
    const result = await runCli(["run", "-"], { cwd: ws, input: "fprintf('%d\\n', 2 + 3);\n" });
    expect(result.stdout).toBe("5\n");
    expect(result.code).toBe(0);
  });

  it("evaluates code with eval", async () => {
    const result = await runCli(["eval", "fprintf('%d\\n', numel(ones(3, 4)))"], { cwd: ws });
    expect(result.stdout).toBe("12\n");
    expect(result.code).toBe(0);
  });

  it("passes arguments after -- as the cell array argv", async () => {
    script("args.m", "a = argv;\nfprintf('%d:%s|%s\\n', numel(a), a{1}, a{2});\n");
    const result = await runCli(["run", "args.m", "--", "first", "it's"], { cwd: ws });
    expect(result.stdout).toBe("2:first|it's\n");
    expect(result.code).toBe(0);
  });

  it("exits 1 on a runtime error, keeping the output printed before it, with file and line", async () => {
    script("boom.m", "disp('before');\nx = 1;\nerror('deskless:boom', 'it broke at %d', x);\ndisp('after');\n");
    const result = await runCli(["run", "boom.m"], { cwd: ws });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("before\n");
    // RunMat puts user identifiers in its own error namespace (deskless:boom becomes RunMat:boom).
    expect(result.stderr).toMatch(/boom\.m:3:\d+: error: it broke at 1 \[\w+:boom\]/);
  });

  it("exits 1 on a syntax error with file and line", async () => {
    script("bad.m", "x = 1;\ny = (2 + ;\n");
    const result = await runCli(["run", "bad.m"], { cwd: ws });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/bad\.m:2(:\d+)?: error: /);
  });

  it("exits 2 for a missing script and for a bad option", async () => {
    const missing = await runCli(["run", "nope.m"], { cwd: ws });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toContain("nope.m");
    const badEngine = await runCli(["run", "--engine", "gpu", "x.m"], { cwd: ws });
    expect(badEngine.code).toBe(2);
    const badTimeout = await runCli(["run", "--timeout", "soon", "x.m"], { cwd: ws });
    expect(badTimeout.code).toBe(2);
  });

  it("--json prints one document with streams, error, duration and a workspace summary", async () => {
    script("vars.m", "a = [1 2 3; 4 5 6];\ns = 'text';\nc = {1, 'two'};\ndisp(sum(a(:)));\n");
    const result = await runCli(["run", "--json", "vars.m"], { cwd: ws });
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    expect(doc.ok).toBe(true);
    expect(doc.error).toBeNull();
    expect(doc.streams.map((s: { stream: string; text: string }) => `${s.stream}:${s.text}`).join("")).toBe("stdout:21\n");
    expect(typeof doc.durationMs).toBe("number");
    const byName = Object.fromEntries(doc.workspace.map((v: { name: string }) => [v.name, v]));
    expect(byName.a).toMatchObject({ class: "double", size: [2, 3] });
    expect(byName.s).toMatchObject({ class: "char", size: [1, 4] });
    expect(byName.c).toMatchObject({ class: "cell", size: [1, 2] });
  });

  it("--json reports a script error in the document and exits 1", async () => {
    script("fail.m", "disp('partial');\nundefined_function_xyz(3);\n");
    const result = await runCli(["run", "--json", "fail.m"], { cwd: ws });
    expect(result.code).toBe(1);
    const doc = JSON.parse(result.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.error.line).toBe(2);
    expect(doc.error.message).toMatch(/undefined_function_xyz/);
    expect(doc.streams[0].text).toBe("partial\n");
  });

  it("streams output live: the first line arrives before the script produces the second", async () => {
    // The script prints, then waits for a file the test creates only after seeing the first line.
    script("live.m", "disp('first');\nwhile ~isfile('go')\n  pause(0.02);\nend\ndisp('second');\n");
    const { child, done } = startCli(["run", "live.m", "--timeout", "30"], { cwd: ws });
    const seen = await waitForStdout(child, "first\n");
    expect(seen).not.toContain("second");
    writeFileSync(join(ws, "go"), "");
    const result = await done;
    expect(result.stdout).toBe("first\nsecond\n");
    expect(result.code).toBe(0);
  });

  it("a reader that closes the pipe early stops the script quietly with 0", async () => {
    script("chatty.m", "k = 0;\nwhile true\n  k = k + 1;\n  fprintf('line %d\\n', k);\nend\n");
    const { child, done } = startCli(["run", "chatty.m", "--timeout", "30"], { cwd: ws });
    await waitForStdout(child, "line 1\n");
    child.stdout!.destroy();
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/EPIPE|Error/);
  });

  it("--timeout stops an endless loop with exit 124 within a second of the limit", async () => {
    script("forever.m", "k = 0;\nwhile true\n  k = k + 1;\nend\n");
    const started = Date.now();
    const result = await runCli(["run", "forever.m", "--timeout", "1"], { cwd: ws });
    const elapsed = Date.now() - started;
    expect(result.code).toBe(124);
    expect(result.stderr).toContain("timed out");
    expect(elapsed).toBeLessThan(1000 + 1000 + 1500); // limit + grace + process start-up
  });

  it("SIGINT interrupts the script with exit 130", async () => {
    script("spin.m", "disp('spinning');\nk = 0;\nwhile true\n  k = k + 1;\nend\n");
    const { child, done } = startCli(["run", "spin.m"], { cwd: ws });
    await waitForStdout(child, "spinning\n");
    child.kill("SIGINT");
    const result = await done;
    expect(result.code).toBe(130);
  });

  it("input() reads a line from piped standard input", async () => {
    script("ask.m", "name = input('', 's');\nfprintf('hello %s\\n', name);\n");
    const result = await runCli(["run", "ask.m"], { cwd: ws, input: "Ada\n" });
    expect(result.stdout).toContain("hello Ada\n");
    expect(result.code).toBe(0);
  });

  it("input() fails with a clear error when standard input is closed", async () => {
    script("ask.m", "name = input('', 's');\nfprintf('hello %s\\n', name);\n");
    const result = await runCli(["run", "ask.m"], { cwd: ws, input: "" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/standard input is closed/);
    expect(result.stdout).not.toContain("hello");
  });

  it("puts the script's own folder on the path", async () => {
    mkdirSync(join(ws, "lib"));
    writeFileSync(join(ws, "lib", "triple.m"), "function y = triple(x)\n  y = 3 * x;\nend\n");
    writeFileSync(join(ws, "lib", "main.m"), "fprintf('%d\\n', triple(14));\n");
    const result = await runCli(["run", "lib/main.m"], { cwd: ws });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("42\n");
  });

  it("confines the script to the workspace: fopen outside returns -1 and nothing outside is touched", async () => {
    const { dir: outside, cleanup: cleanOutside } = tempDir("deskless-outside-");
    try {
      const sentinel = join(outside, "sentinel.txt");
      writeFileSync(sentinel, "untouched");
      const inner = join(ws, "inner");
      mkdirSync(inner);
      script(
        "escape.m",
        [
          `f1 = fopen('${sentinel}', 'w');`,
          `f2 = fopen('../${outside.split("/").pop()}/new.txt', 'w');`,
          `f3 = fopen('${sentinel}', 'r');`,
          "fprintf('%d %d %d\\n', f1, f2, f3);",
        ].join("\n"),
      );
      const result = await runCli(["run", join(ws, "escape.m"), "--workspace", ws], { cwd: inner });
      expect(result.stdout).toBe("-1 -1 -1\n");
      expect(result.code).toBe(0);
      expect(readFileSync(sentinel, "utf8")).toBe("untouched");
      expect(existsSync(join(outside, "new.txt"))).toBe(false);
    } finally {
      cleanOutside();
    }
  });
});
