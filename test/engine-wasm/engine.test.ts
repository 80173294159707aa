// The wasm engine host against the runmat-fake package: start-up options, live output, files through
// FsBindings, error mapping, cancel, lost writes, and clean shutdown.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineUnavailableError, type EngineSession, type StreamEntry } from "../../src/engine/engine.js";
import { openWasmEngine, type WasmEngineOptions } from "../../src/engine/wasm-engine.js";
import type { FsBindings } from "../../src/fs/bindings.js";
import { setLogLevel } from "../../src/log.js";
import { plantSentinels } from "../fs-bindings/helpers.js";
import { tempDir } from "../support/workspace.js";
import { FAKE_DIR, fakeHooks, type FakeHooks } from "./helpers.js";

setLogLevel("silent");

let base: string;
let ws: string;
let cleanup: () => void;
let hooks: FakeHooks;
const open: EngineSession[] = [];

beforeEach(async () => {
  ({ dir: base, cleanup } = tempDir("deskless-wasm-"));
  ws = join(base, "ws");
  mkdirSync(ws);
  hooks = await fakeHooks();
  hooks.__fake.inits.length = 0;
  hooks.__fake.providerCalls.length = 0;
  hooks.__fake.errorsInResult = false;
  hooks.__fake.addpath.length = 0;
});
afterEach(async () => {
  for (const session of open.splice(0)) await session.close();
  cleanup();
});

async function engine(options: Partial<WasmEngineOptions> = {}): Promise<EngineSession> {
  const session = await openWasmEngine({ roots: [ws], packageDir: FAKE_DIR, env: {}, ...options });
  open.push(session);
  return session;
}

function text(name: string, body: string) {
  return { kind: "text" as const, name, text: body };
}

describe("openWasmEngine", () => {
  it("hands the runtime the package's .wasm bytes, GPU off and telemetry off by default", async () => {
    const session = await engine();
    expect(session.engine).toBe("wasm");
    expect(hooks.__fake.inits).toHaveLength(1);
    expect(hooks.__fake.inits[0]).toMatchObject({ hasFsProvider: true, wasmBytes: 8, enableGpu: false, telemetryConsent: false });
  });

  it("passes telemetry consent only when asked", async () => {
    await engine({ telemetry: true });
    expect(hooks.__fake.inits[0]).toMatchObject({ telemetryConsent: true });
  });

  it("loads preset dialog answers from a file for the bindings it hands the runtime", async () => {
    const answers = join(base, "answers.json");
    writeFileSync(answers, JSON.stringify({ open: ["/in.csv"] }));
    const session = await engine({ dialogAnswersFile: answers });
    const fs = (session as unknown as { fs: FsBindings }).fs;
    expect(fs.selectFileOpen({})).toEqual({ paths: ["/in.csv"] });
    expect(fs.selectFileOpen({})).toBeNull();
  });

  it("throws EngineUnavailableError when the package is missing", async () => {
    await expect(openWasmEngine({ roots: [ws], packageDir: join(base, "absent"), env: {} })).rejects.toBeInstanceOf(EngineUnavailableError);
  });

  it("throws EngineUnavailableError when the package is not the runtime", async () => {
    const bogus = join(base, "bogus");
    mkdirSync(join(bogus, "pkg"), { recursive: true });
    writeFileSync(join(bogus, "package.json"), JSON.stringify({ name: "runmat", type: "module", main: "index.js" }));
    writeFileSync(join(bogus, "index.js"), "export const nothing = 1;\n");
    writeFileSync(join(bogus, "pkg", "x_bg.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const error = await openWasmEngine({ roots: [ws], packageDir: bogus, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnavailableError);
    expect((error as Error).message).toContain("initRunMat");
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
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("writes and reads files through FsBindings (fopen/fprintf/fclose, fileread)", async () => {
    const session = await engine();
    const result = await session.execute(
      text("io.m", "fid = fopen('out.txt', 'w');\nfprintf(fid, 'alpha\\n');\nfclose(fid);\nx = fileread('out.txt');\ndisp(x)\n"),
    );
    expect(result.ok).toBe(true);
    expect(readFileSync(join(ws, "out.txt"), "utf8")).toBe("alpha\n");
    expect(result.streams.map((e) => e.text).join("")).toBe("alpha\n\n");
    expect(hooks.__fake.providerCalls.map((c) => [c.op, c.args[0]])).toEqual([
      ["writeFile", "/out.txt"],
      ["readFile", "/out.txt"],
    ]);
    expect(result.workspace).toEqual([
      { name: "fid", class: "double", size: [1, 1] },
      { name: "x", class: "char", size: [1, 6] },
    ]);
  });

  it("opens a new file for append: the runtime's readFile sees NotFound and creates it", async () => {
    const session = await engine();
    const result = await session.execute(text("a.m", "fid = fopen('log.txt', 'a');\nfprintf(fid, 'first');\nfclose(fid);\nfid = fopen('log.txt', 'a');\nfprintf(fid, ' second');\nfclose(fid);\n"));
    expect(result.ok).toBe(true);
    expect(readFileSync(join(ws, "log.txt"), "utf8")).toBe("first second");
    expect(hooks.__fake.providerCalls.filter((c) => c.op === "readFile")).toHaveLength(2);
  });

  it("runs a file inside the workspace through the provider, by its virtual path", async () => {
    mkdirSync(join(ws, "scripts"));
    writeFileSync(join(ws, "scripts", "hello.m"), "disp('from a file')\n");
    const session = await engine();
    const result = await session.execute({ kind: "file", path: join(ws, "scripts", "hello.m") });
    expect(result.ok).toBe(true);
    expect(result.streams.map((e) => e.text)).toEqual(["from a file\n"]);
    expect(hooks.__fake.providerCalls[0]).toEqual({ op: "readFile", args: ["/scripts/hello.m"] });
  });

  it("runs a file outside the workspace from a read-only root, which refuses writes", async () => {
    const elsewhere = join(base, "elsewhere");
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, "tool.m"), "disp('outside')\nfid = fopen('/elsewhere/new.txt', 'w');\nfprintf(fid, 'x');\nfclose(fid);\n");
    const session = await engine({ readOnlyRoots: [elsewhere], path: [elsewhere] });
    const result = await session.execute({ kind: "file", path: join(elsewhere, "tool.m") });
    expect(result.streams.map((e) => e.text)).toEqual(["outside\n"]);
    expect(existsSync(join(elsewhere, "new.txt"))).toBe(false);
    expect(result.ok).toBe(false);
    expect(result.error).toMatchObject({ identifier: "deskless:writeFailed", kind: "io", file: join(elsewhere, "new.txt") });
    expect(result.error?.message).toContain("could not write /elsewhere/new.txt");
  });

  it("puts the path folders on the MATLAB path once, as virtual folders", async () => {
    mkdirSync(join(ws, "lib"));
    const session = await engine({ path: [join(ws, "lib"), join(base, "not-in-workspace")] });
    await session.execute(text("a.m", "x = 1"));
    const result = await session.execute(text("b.m", "y = 2"));
    expect(result.ok).toBe(true);
    // Only the folder inside the workspace can be seen by the runtime; it is added once.
    expect(hooks.__fake.addpath).toEqual([["/lib"]]);
    expect(result.workspace.map((v) => v.name)).toEqual(["x", "y"]);
  });

  it("keeps the workspace between executions", async () => {
    const session = await engine();
    await session.execute(text("a.m", "x = 41"));
    const result = await session.execute(text("b.m", "disp(x)"));
    expect(result.streams.map((e) => e.text)).toEqual(["41\n"]);
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
    const first = await session.execute(text("i.m", "name = input('Name? ', 's')\ndisp(name)\n"));
    expect(prompts).toEqual(["Name? "]);
    expect(first.streams.map((e) => e.text)).toEqual(["Ada\n"]);
    const second = await session.execute(text("i.m", "name = input('Again? ', 's')\n"));
    expect(second.ok).toBe(false);
    expect(second.error?.message).toContain("stdin is closed");
  });
});

describe("errors", () => {
  it("maps a thrown RunMatExecutionError to a script error with identifier and location", async () => {
    const session = await engine();
    const result = await session.execute(text("bad.m", "disp('before')\nerror('Deskless:test', 'it broke')\ndisp('after')\n"));
    expect(result.ok).toBe(false);
    expect(result.error).toEqual({ identifier: "Deskless:test", message: "it broke", kind: "runtime", file: "bad.m", line: 2, column: 1 });
    expect(result.streams.map((e) => e.text)).toEqual(["before\n"]);
  });

  it("reports an error in a script file against the file's host path", async () => {
    writeFileSync(join(ws, "fails.m"), "disp('a')\n\nerror('File:err', 'from the file')\n");
    const session = await engine();
    const result = await session.execute({ kind: "file", path: join(ws, "fails.m") });
    expect(result.error).toMatchObject({ identifier: "File:err", file: join(ws, "fails.m"), line: 3 });
  });

  it("maps an error reported in the result the same way", async () => {
    hooks.__fake.errorsInResult = true;
    const session = await engine();
    const result = await session.execute(text("bad.m", "disp('x')\nerror('plain message')\n"));
    expect(result.ok).toBe(false);
    expect(result.error).toEqual({ message: "plain message", kind: "runtime", file: "bad.m", line: 2, column: 1 });
    expect(result.streams.map((e) => e.text)).toEqual(["x\n"]);
  });

  it("passes the runtime's own complaint through for code it cannot run", async () => {
    const session = await engine();
    const result = await session.execute(text("odd.m", "x = magic(4)\n"));
    expect(result.ok).toBe(false);
    expect(result.error?.identifier).toBe("RunMatFake:unsupported");
    expect(result.error?.kind).toBe("syntax");
    expect(result.error?.message).toContain("magic(4)");
  });
});

describe("lost writes", () => {
  it("fails the run naming the file when the runtime drops a write error on close", async () => {
    mkdirSync(join(ws, "taken"));
    const session = await engine();
    const result = await session.execute(text("w.m", "fid = fopen('taken', 'w');\nfprintf(fid, 'data');\nfclose(fid);\ndisp('script thinks all is well')\n"));
    // The fake, like the runtime, ignored the failed writeFile: the script itself ran to the end.
    expect(result.streams.map((e) => e.text)).toEqual(["script thinks all is well\n"]);
    expect(result.ok).toBe(false);
    expect(result.error).toMatchObject({ identifier: "deskless:writeFailed", kind: "io", file: join(ws, "taken") });
    expect(result.error?.message).toContain("could not write /taken");
    expect(result.error?.message).toContain("was not saved");
  });

  it("a write outside the workspace is refused, reported, and the file outside stays untouched", async () => {
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
    expect(result.error?.identifier).toBe("Later:fail");
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
  it("cancel interrupts a running script, which resolves with an interrupted error", async () => {
    const session = await engine();
    const result = await session.execute(text("spin.m", "disp('spinning')\nwhile true, end\n"), {
      onOutput: (entry) => {
        if (entry.text === "spinning\n") session.cancel();
      },
    });
    expect(result.ok).toBe(false);
    expect(result.error?.identifier).toBe("RunMat:interrupted");
    expect(result.streams.map((e) => e.text)).toEqual(["spinning\n"]);
  });

  it("cancel with nothing running does not poison the next execution", async () => {
    const session = await engine();
    session.cancel();
    const result = await session.execute(text("ok.m", "disp('ran')\n"));
    expect(result.ok).toBe(true);
  });

  it("close unsubscribes from the module's stdout and refuses further work", async () => {
    const before = hooks.__listenerCount();
    const session = await openWasmEngine({ roots: [ws], packageDir: FAKE_DIR, env: {} });
    expect(hooks.__listenerCount()).toBe(before + 1);
    await session.close();
    expect(hooks.__listenerCount()).toBe(before);
    await expect(session.execute(text("x.m", "disp(1)"))).rejects.toThrow(/closed/);
  });

  it("two sessions each see only their own output", async () => {
    const a = await engine();
    const b = await engine();
    const seenByB: string[] = [];
    const resultA = await a.execute(text("a.m", "disp('for a')\n"));
    const resultB = await b.execute(text("b.m", "disp('for b')\n"), { onOutput: (e) => seenByB.push(e.text) });
    expect(resultA.streams.map((e) => e.text)).toEqual(["for a\n"]);
    expect(resultB.streams.map((e) => e.text)).toEqual(["for b\n"]);
    expect(seenByB).toEqual(["for b\n"]);
  });
});
