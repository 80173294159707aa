// The wasm engine as a library, on the runtime the suites run on (the real RunMat runtime when
// DESKLESS_WASM_PACKAGE names it, else the stand-in), in both package layouts: start-up options as
// the runtime reports them, live output, files through FsBindings, the workspace, errors, lost
// writes, cancelling, and clean shutdown. The runtime runs on the engine's worker thread.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineUnavailableError, type StreamEntry } from "../../src/engine/engine.js";
import { openWasmEngine, type WasmEngineOptions, type WasmEngineSession } from "../../src/engine/wasm-engine.js";
import { setLogLevel } from "../../src/log.js";
import { plantSentinels } from "../fs-bindings/helpers.js";
import { tempDir } from "../support/workspace.js";
import { LAYOUTS } from "./helpers.js";

setLogLevel("silent");

let base: string;
let ws: string;
let cleanup: () => void;
const open: WasmEngineSession[] = [];

beforeEach(() => {
  ({ dir: base, cleanup } = tempDir("deskless-wasm-"));
  ws = join(base, "ws");
  mkdirSync(ws);
});
afterEach(async () => {
  for (const session of open.splice(0)) await session.close();
  cleanup();
});

function text(name: string, body: string) {
  return { kind: "text" as const, name, text: body };
}

function out(entries: StreamEntry[]): string {
  return entries.map((e) => e.text).join("");
}

describe.each(LAYOUTS)("the wasm engine on the $layout layout", ({ layout, dir }) => {
  async function engine(options: Partial<WasmEngineOptions> = {}): Promise<WasmEngineSession> {
    const session = await openWasmEngine({ roots: [ws], packageDir: dir, lookupEnv: {}, ...options });
    open.push(session);
    return session;
  }

  describe("start-up", () => {
    it("starts the runtime with GPU and telemetry off, by the runtime's own account", async () => {
      const session = await engine();
      expect(session.engine).toBe("wasm");
      expect(session.pkg.layout).toBe(layout);
      expect(session.runtime).toMatchObject({ layout, telemetryConsent: false, gpu: { requested: false, active: false } });
    });

    it("gives telemetry consent only when asked", async () => {
      const session = await engine({ telemetry: true });
      expect(session.runtime.telemetryConsent).toBe(true);
    });
  });

  describe("execute", () => {
    it("streams output live, in order, before execute resolves, and reports the same streams", async () => {
      const session = await engine();
      const live: StreamEntry[] = [];
      let resolved = false;
      const pending = session.execute(text("s.m", "disp('one')\nfprintf(2, 'two\\n')\nfprintf('three\\n')\n"), {
        onOutput: (entry) => {
          expect(resolved).toBe(false);
          live.push(entry);
        },
      });
      const result = await pending;
      resolved = true;
      expect(live.map((e) => [e.stream, e.text])).toEqual([
        ["stdout", "one\n"],
        ["stderr", "two\n"],
        ["stdout", "three\n"],
      ]);
      expect(result.ok).toBe(true);
      expect(result.error).toBeUndefined();
      expect(result.streams).toEqual(live);
      expect(result.durationMs).toBeGreaterThan(0);
    });

    it("writes and reads files through FsBindings (fopen/fprintf/fclose, fileread)", async () => {
      const session = await engine();
      const result = await session.execute(text("io.m", "fid = fopen('out.txt', 'w');\nfprintf(fid, 'alpha\\n');\nst = fclose(fid);\nx = fileread('out.txt');\nfprintf('%d|%s', st, x);\n"));
      expect(result.error).toBeUndefined();
      expect(readFileSync(join(ws, "out.txt"), "utf8")).toBe("alpha\n");
      expect(out(result.streams)).toBe("0|alpha\n");
    });

    it("opens a new file for append: the runtime sees NotFound and creates it", async () => {
      const session = await engine();
      const result = await session.execute(text("a.m", "fid = fopen('log.txt', 'a');\nfprintf(fid, 'first');\nfclose(fid);\nfid = fopen('log.txt', 'a');\nfprintf(fid, ' second');\nfclose(fid);\n"));
      expect(result.error).toBeUndefined();
      expect(readFileSync(join(ws, "log.txt"), "utf8")).toBe("first second");
    });

    it("keeps the workspace between executions and reports all of it, though the runtime reports changes", async () => {
      const session = await engine();
      await session.execute(text("a.m", "x = 41;"));
      const second = await session.execute(text("b.m", "y = x + 1;\nfprintf('%d\\n', y);"));
      expect(out(second.streams)).toBe("42\n");
      expect(second.workspace).toEqual([
        { name: "x", class: "double", size: [1, 1] },
        { name: "y", class: "double", size: [1, 1] },
      ]);
      const third = await session.execute(text("c.m", "clear x\ns = 'abc';"));
      expect(third.workspace).toEqual([
        { name: "s", class: "char", size: [1, 3] },
        { name: "y", class: "double", size: [1, 1] },
      ]);
    });

    it("runs a file inside the workspace through the provider, by its virtual path", async () => {
      mkdirSync(join(ws, "scripts"));
      writeFileSync(join(ws, "scripts", "hello.m"), "disp('from a file')\n");
      const session = await engine();
      const result = await session.execute({ kind: "file", path: join(ws, "scripts", "hello.m") });
      expect(result.error).toBeUndefined();
      expect(out(result.streams)).toBe("from a file\n");
    });

    it("runs a file outside the workspace from a read-only root, which refuses writes, naming the file", async () => {
      const elsewhere = join(base, "elsewhere");
      mkdirSync(elsewhere);
      writeFileSync(join(elsewhere, "tool.m"), "disp('outside')\nfid = fopen('/elsewhere/new.txt', 'w');\nfprintf(fid, 'x');\nst = fclose(fid);\nfprintf('%d\\n', st);\n");
      const session = await engine({ readOnlyRoots: [elsewhere], path: [elsewhere] });
      const result = await session.execute({ kind: "file", path: join(elsewhere, "tool.m") });
      // The runtime saw fclose fail (-1) and carried on; deskless fails the run.
      expect(out(result.streams)).toBe("outside\n-1\n");
      expect(existsSync(join(elsewhere, "new.txt"))).toBe(false);
      expect(result.ok).toBe(false);
      expect(result.error).toMatchObject({ identifier: "deskless:writeFailed", kind: "io", file: join(elsewhere, "new.txt") });
      expect(result.error?.message).toContain("could not write /elsewhere/new.txt");
    });

    it("puts the path folders on the MATLAB path, as virtual folders", async () => {
      mkdirSync(join(ws, "lib"));
      writeFileSync(join(ws, "lib", "triple.m"), "function y = triple(x)\n  y = 3 * x;\nend\n");
      const session = await engine({ path: [join(ws, "lib"), join(base, "not-in-workspace")] });
      const result = await session.execute(text("main.m", "fprintf('%d\\n', triple(14));\n"));
      expect(result.error).toBeUndefined();
      expect(out(result.streams)).toBe("42\n");
    });

    it("answers input() from readInput, and reports a closed stdin as an error", async () => {
      const prompts: string[] = [];
      const answers = ["Ada", null];
      const session = await engine({
        readInput: (prompt) => {
          prompts.push(prompt);
          return answers.shift() ?? null;
        },
      });
      const first = await session.execute(text("i.m", "name = input('Name? ', 's');\nfprintf('hello %s\\n', name);\n"));
      expect(prompts).toEqual(["Name? "]);
      expect(out(first.streams)).toBe("hello Ada\n");
      const second = await session.execute(text("i.m", "name = input('Again? ', 's');\n"));
      expect(second.ok).toBe(false);
      expect(second.error?.message).toContain("stdin is closed");
    });
  });

  describe("errors", () => {
    it("maps a script error to identifier, message, kind, file, line and column", async () => {
      const session = await engine();
      const result = await session.execute(text("bad.m", "disp('before')\nerror('Deskless:test', 'it broke %d', 3)\ndisp('after')\n"));
      expect(result.ok).toBe(false);
      // RunMat puts identifiers in its own error namespace (Deskless:test becomes RunMat:test).
      expect(result.error).toMatchObject({ message: "it broke 3", kind: "runtime", file: "bad.m", line: 2, column: 1 });
      expect(result.error?.identifier).toMatch(/^\w+:test$/);
      expect(out(result.streams)).toBe("before\n");
    });

    it("reports an error in a script file against the file's host path", async () => {
      writeFileSync(join(ws, "fails.m"), "disp('a')\n\nerror('File:err', 'from the file')\n");
      const session = await engine();
      const result = await session.execute({ kind: "file", path: join(ws, "fails.m") });
      expect(result.error).toMatchObject({ message: "from the file", file: join(ws, "fails.m"), line: 3 });
    });

    it("reports a syntax error with its kind and line, before running anything", async () => {
      const session = await engine();
      const result = await session.execute(text("syn.m", "disp('never')\ny = (2 + ;\n"));
      expect(result.error).toMatchObject({ kind: "syntax", file: "syn.m", line: 2 });
      expect(result.streams).toEqual([]);
    });

    it("reports an undefined function by name", async () => {
      const session = await engine();
      const result = await session.execute(text("u.m", "disp('partial');\nundefined_function_xyz(3);\n"));
      expect(result.error).toMatchObject({ line: 2 });
      expect(result.error?.message).toContain("undefined_function_xyz");
      expect(out(result.streams)).toBe("partial\n");
    });
  });

  describe("lost writes", () => {
    it("fails the run naming the file when fclose could not write it (the runtime returns -1 and carries on)", async () => {
      mkdirSync(join(ws, "taken"));
      const session = await engine();
      const result = await session.execute(text("w.m", "fid = fopen('taken', 'w');\nfprintf(fid, 'data');\nst = fclose(fid);\nfprintf('fclose said %d\\n', st);\n"));
      expect(out(result.streams)).toBe("fclose said -1\n");
      expect(result.ok).toBe(false);
      expect(result.error).toMatchObject({ identifier: "deskless:writeFailed", kind: "io", file: join(ws, "taken") });
      expect(result.error?.message).toContain("could not write /taken");
      expect(result.error?.message).toContain("was not saved");
    });

    it("refuses a write outside the workspace, reports it, and leaves the file outside untouched", async () => {
      const sentinels = plantSentinels(base);
      const session = await engine();
      const result = await session.execute(text("w.m", "fid = fopen('../outside/secret.txt', 'w');\nfprintf(fid, 'overwritten');\nfclose(fid);\n"));
      expect(result.ok).toBe(false);
      expect(result.error?.identifier).toBe("deskless:writeFailed");
      expect(result.error?.message).toContain("/../outside/secret.txt");
      sentinels.expectUntouched();
    });

    it("adds a lost write to a script error instead of hiding either", async () => {
      mkdirSync(join(ws, "taken"));
      const session = await engine();
      const result = await session.execute(text("w.m", "fid = fopen('taken', 'w');\nfprintf(fid, 'data');\nfclose(fid);\nerror('Later:fail', 'then this')\n"));
      expect(result.error?.identifier).toMatch(/:fail$/);
      expect(result.error?.message).toContain("then this");
      expect(result.error?.message).toContain("could not write /taken");
    });

    it("reports a failure once: the next run is clean", async () => {
      mkdirSync(join(ws, "taken"));
      const session = await engine();
      const failed = await session.execute(text("w.m", "fid = fopen('taken', 'w');\nfprintf(fid, 'data');\nfclose(fid);\n"));
      expect(failed.ok).toBe(false);
      const clean = await session.execute(text("ok.m", "disp('fine')\n"));
      expect(clean.ok).toBe(true);
    });
  });

  describe("cancel and close", () => {
    it("stops a loop that calls back into JavaScript, through the runtime, and the session keeps its workspace", async () => {
      // As after any error, the cancelled execution's own assignments (k) are discarded.
      const session = await engine();
      await session.execute(text("setup.m", "kept = 7;"));
      const result = await session.execute(text("count.m", "k = 0;\nwhile true\n  k = k + 1;\n  fprintf('%d\\n', k);\nend\n"), {
        onOutput: (entry) => {
          if (entry.text === "3\n") session.cancel();
        },
      });
      expect(result.ok).toBe(false);
      expect(result.error?.identifier).toBe("RunMat:interrupted");
      expect(out(result.streams).startsWith("1\n2\n3\n")).toBe(true);
      const after = await session.execute(text("after.m", "fprintf('%d %d\\n', kept, exist('k'));"));
      expect(out(after.streams)).toBe("7 0\n");
    });

    it("stops `while true, end`, which never calls back, by stopping its thread; the next run starts afresh", async () => {
      const session = await engine();
      await session.execute(text("setup.m", "lost = 1;"));
      let cancelledAt = 0;
      const result = await session.execute(text("spin.m", "disp('spinning')\nwhile true, end\n"), {
        onOutput: (entry) => {
          if (entry.text === "spinning\n") {
            cancelledAt = performance.now();
            session.cancel();
          }
        },
      });
      const took = performance.now() - cancelledAt;
      expect(result.error?.identifier).toBe("RunMat:interrupted");
      expect(out(result.streams)).toBe("spinning\n");
      // Well inside the CLI's one-second grace (run.ts), as the direct engine is.
      expect(took).toBeLessThan(1000);
      const after = await session.execute(text("after.m", "fresh = 2;\nfprintf('%d\\n', fresh);"));
      expect(out(after.streams)).toBe("2\n");
      expect(after.workspace.map((v) => v.name)).toEqual(["fresh"]);
    });

    it("cancel with nothing running does not poison the next execution", async () => {
      const session = await engine();
      session.cancel();
      const result = await session.execute(text("ok.m", "disp('ran')\n"));
      expect(result.ok).toBe(true);
      expect(out(result.streams)).toBe("ran\n");
    });

    it("close ends the session and refuses further work", async () => {
      const session = await openWasmEngine({ roots: [ws], packageDir: dir, lookupEnv: {} });
      await session.close();
      await expect(session.execute(text("x.m", "disp(1)"))).rejects.toThrow(/closed/);
    });

    it("two sessions each see only their own output and workspace", async () => {
      const a = await engine();
      const b = await engine();
      const seenByB: string[] = [];
      const [resultA, resultB] = await Promise.all([
        a.execute(text("a.m", "only_a = 1;\ndisp('for a')\n")),
        b.execute(text("b.m", "only_b = 2;\ndisp('for b')\n"), { onOutput: (e) => seenByB.push(e.text) }),
      ]);
      expect(out(resultA.streams)).toBe("for a\n");
      expect(out(resultB.streams)).toBe("for b\n");
      expect(seenByB).toEqual(["for b\n"]);
      expect(resultA.workspace.map((v) => v.name)).toEqual(["only_a"]);
      expect(resultB.workspace.map((v) => v.name)).toEqual(["only_b"]);
    });
  });
});

describe("openWasmEngine without a runtime", () => {
  it("throws EngineUnavailableError when the package is missing", async () => {
    await expect(openWasmEngine({ roots: [ws], packageDir: join(base, "absent"), lookupEnv: {} })).rejects.toBeInstanceOf(EngineUnavailableError);
  });

  it("throws EngineUnavailableError when the package is not the runtime, saying why", async () => {
    const bogus = join(base, "bogus");
    mkdirSync(join(bogus, "pkg"), { recursive: true });
    writeFileSync(join(bogus, "package.json"), JSON.stringify({ name: "runmat", type: "module", main: "index.js" }));
    writeFileSync(join(bogus, "index.js"), "export const nothing = 1;\n");
    writeFileSync(join(bogus, "pkg", "x_bg.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const error = await openWasmEngine({ roots: [ws], packageDir: bogus, lookupEnv: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnavailableError);
    expect((error as Error).message).toContain("initRunMat");
  });

  it("throws EngineUnavailableError when the runtime rejects its .wasm", async () => {
    const broken = join(base, "broken");
    mkdirSync(join(broken, "dist", "pkg"), { recursive: true });
    writeFileSync(join(broken, "package.json"), JSON.stringify({ name: "runmat", type: "module", main: "dist/index.js" }));
    writeFileSync(
      join(broken, "dist", "index.js"),
      "export async function initRunMat(o) { await WebAssembly.instantiate(o.wasmModule.module_or_path, {}); throw new Error('unreachable'); }\n",
    );
    writeFileSync(join(broken, "dist", "pkg", "x_bg.wasm"), "not wasm");
    const error = await openWasmEngine({ roots: [ws], packageDir: broken, lookupEnv: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnavailableError);
    expect((error as Error).message).toMatch(/failed to start: .*WebAssembly/);
  });
});
