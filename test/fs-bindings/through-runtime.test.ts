// FsBindings driven the way the runtime drives it: MATLAB builtins run on the wasm engine (the real
// RunMat runtime when DESKLESS_WASM_PACKAGE names it, else the stand-in), checked against the real
// files. The contract suite (contract.test.ts) calls the methods directly; this one checks that what
// they answer is what the runtime needs: not-found in the shape it recognises, whole files both
// ways, the virtual roots, read-only roots, the sandbox, and the ledger of writes it dropped.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExecutionResult } from "../../src/engine/engine.js";
import { openWasmEngine, type WasmEngineSession } from "../../src/engine/wasm-engine.js";
import { setLogLevel } from "../../src/log.js";
import { RUNTIME } from "../support/wasm-runtime.js";
import { plantSentinels, scratch, type Scratch, type Sentinels } from "./helpers.js";

setLogLevel("silent");

let s: Scratch;
let ref: string;
let sentinels: Sentinels;
let session: WasmEngineSession;

beforeAll(async () => {
  s = scratch("deskless-through-runtime-");
  ref = join(s.base, "ref");
  mkdirSync(ref);
  writeFileSync(join(ref, "table.txt"), "reference");
  sentinels = plantSentinels(s.base);
  symlinkSync(join(sentinels.outside, "secret.txt"), join(s.ws, "link-out.txt"));
  session = await openWasmEngine({ roots: [s.ws, s.data], readOnlyRoots: [ref], packageDir: RUNTIME.dir, lookupEnv: {} });
});
afterAll(async () => {
  await session?.close();
  s?.cleanup();
});

async function run(body: string): Promise<ExecutionResult> {
  return session.execute({ kind: "text", name: "t.m", text: body });
}

function stdout(result: ExecutionResult): string {
  return result.streams.filter((e) => e.stream === "stdout").map((e) => e.text).join("");
}

async function ok(body: string): Promise<string> {
  const result = await run(body);
  expect(result.error).toBeUndefined();
  return stdout(result);
}

describe("not found, in the shape the runtime recognises", () => {
  it("fopen of a missing file for reading gives -1; exist, isfile and isfolder say no", async () => {
    expect(await ok("fid = fopen('missing.txt', 'r');\nfprintf('%d %d %d %d\\n', fid, exist('missing.txt'), isfile('missing.txt'), isfolder('missing'));\n")).toBe("-1 0 0 0\n");
  });

  it("fopen of a missing file for appending creates it (without NotFound it would fail)", async () => {
    expect(await ok("fid = fopen('fresh.log', 'a');\nfprintf(fid, 'new');\nfprintf('%d\\n', fclose(fid));\n")).toBe("0\n");
    expect(readFileSync(join(s.ws, "fresh.log"), "utf8")).toBe("new");
  });

  it("fileread of a missing file fails the script saying not found", async () => {
    const result = await run("t = fileread('nowhere.txt');\n");
    expect(result.error?.message).toMatch(/not ?found/i);
    expect(result.error?.line).toBe(1);
  });
});

describe("whole files", () => {
  it("fopen reads the whole file: every byte of a 3 MiB binary file arrives", async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    writeFileSync(join(s.ws, "blob.bin"), bytes);
    const total = bytes.reduce((sum, b) => sum + b, 0);
    // x is cleared at the end: a large array in the workspace slows every later statement of the 0.6.2 runtime.
    expect(await ok("fid = fopen('blob.bin', 'r');\nx = fread(fid, Inf, 'uint8');\nfclose(fid);\nfprintf('%d %d\\n', numel(x), sum(x));\nclear x\n")).toBe(`${bytes.length} ${total}\n`);
  });

  it("a file changed on disk between runs is read afresh (no stale cache)", async () => {
    writeFileSync(join(s.ws, "changing.txt"), "first version");
    expect(await ok("disp(fileread('changing.txt'))")).toBe("first version\n");
    writeFileSync(join(s.ws, "changing.txt"), "second, longer version");
    expect(await ok("disp(fileread('changing.txt'))")).toBe("second, longer version\n");
  });

  it("fclose writes the whole buffer back, replacing the file", async () => {
    writeFileSync(join(s.ws, "replace.txt"), "x".repeat(10_000));
    // Few lines: each fprintf to a file costs the 0.6.2 runtime about 15 ms.
    await ok("fid = fopen('replace.txt', 'w');\nk = 1;\nwhile k <= 40\n  fprintf(fid, '%d\\n', k);\n  k = k + 1;\nend\nfclose(fid);\n");
    expect(readFileSync(join(s.ws, "replace.txt"), "utf8")).toBe(Array.from({ length: 40 }, (_, i) => `${i + 1}\n`).join(""));
  });

  it("a file left open is not written (the runtime only writes on fclose)", async () => {
    await ok("fid = fopen('never-closed.txt', 'w');\nfprintf(fid, 'pending');\n");
    expect(existsSync(join(s.ws, "never-closed.txt"))).toBe(false);
  });
});

describe("the virtual roots", () => {
  it("a second root is a top-level folder: read and write through it", async () => {
    writeFileSync(join(s.data, "in.txt"), "from data");
    expect(await ok("t = fileread('/data/in.txt');\nfid = fopen('/data/out.txt', 'w');\nfprintf(fid, '%s!', t);\nfclose(fid);\nfprintf('%d\\n', isfolder('/data'));\n")).toBe("1\n");
    expect(readFileSync(join(s.data, "out.txt"), "utf8")).toBe("from data!");
  });

  it("dir('/') lists the named roots as folders, and a folder's entries by name", async () => {
    mkdirSync(join(s.ws, "listing"));
    writeFileSync(join(s.ws, "listing", "b.txt"), "bb");
    writeFileSync(join(s.ws, "listing", "a.txt"), "a");
    const names = await ok("l = dir('listing');\nfprintf('%d %s %d %s %d\\n', numel(l), l(3).name, l(3).bytes, l(4).name, l(4).bytes);\nr = dir('/');\nk = 1;\nwhile k <= numel(r)\n  fprintf('%s:%d ', r(k).name, r(k).isdir);\n  k = k + 1;\nend\n");
    const [first, second] = names.split("\n");
    expect(first).toBe("4 a.txt 1 b.txt 2");
    expect(second).toContain("data:1");
    expect(second).toContain("ref:1");
  });

  it("cd follows canonical virtual paths", async () => {
    mkdirSync(join(s.ws, "deep", "er"), { recursive: true });
    expect(await ok("cd('deep/er/..');\na = pwd;\ncd('/data');\nb = pwd;\ncd('/');\nfprintf('%s %s %s\\n', a, b, pwd);\n")).toBe("/deep /data /\n");
  });

  it("mkdir, rmdir, delete, movefile and copyfile reach the host folders", async () => {
    writeFileSync(join(s.data, "src.txt"), "payload");
    await ok("mkdir('/data/made/deeper');\ncopyfile('/data/src.txt', '/data/made/copy.txt');\nmovefile('/data/made/copy.txt', 'moved.txt');\ndelete('/data/src.txt');\nrmdir('/data/made', 's');\n");
    expect(readFileSync(join(s.ws, "moved.txt"), "utf8")).toBe("payload");
    expect(existsSync(join(s.data, "src.txt"))).toBe(false);
    expect(existsSync(join(s.data, "made"))).toBe(false);
  });

  it("a workspace root cannot be removed (rmdir reports failure as its status)", async () => {
    writeFileSync(join(s.data, "kept.txt"), "kept");
    expect(await ok("st = rmdir('/data', 's');\nfprintf('%d\\n', st);\n")).toBe("0\n");
    expect(readFileSync(join(s.data, "kept.txt"), "utf8")).toBe("kept");
  });
});

describe("refusals and the ledger", () => {
  it("a read-only root is readable; a write to it fails the run naming the file, and nothing is written", async () => {
    const result = await run("t = fileread('/ref/table.txt');\nfprintf('%s\\n', t);\nfid = fopen('/ref/new.txt', 'w');\nfprintf(fid, 'x');\nfclose(fid);\n");
    expect(stdout(result)).toBe("reference\n");
    expect(result.error).toMatchObject({ identifier: "deskless:writeFailed", kind: "io", file: join(ref, "new.txt") });
    expect(result.error?.message).toContain("/ref/new.txt");
    expect(result.error?.message).toMatch(/read-only/i);
    expect(existsSync(join(ref, "new.txt"))).toBe(false);
  });

  it("nothing outside the roots is read, written or listed, by any spelling", async () => {
    const read = await run("t = fileread('link-out.txt');\n");
    expect(read.ok).toBe(false);
    const up = await run("fid = fopen('../outside/secret.txt', 'r');\nfprintf('%d\\n', fid);\n");
    expect(stdout(up)).toBe("-1\n");
    const write = await run("fid = fopen('../secret-parent.txt', 'w');\nfprintf(fid, 'pwned');\nfclose(fid);\n");
    expect(write.error?.identifier).toBe("deskless:writeFailed");
    sentinels.expectUntouched();
  });

  it("each dropped write is reported once, with every file it concerns", async () => {
    mkdirSync(join(s.ws, "is-a-folder.csv"));
    const result = await run("f1 = fopen('is-a-folder.csv', 'w');\nfprintf(f1, 'a');\nfclose(f1);\nf2 = fopen('/ref/also.txt', 'w');\nfprintf(f2, 'b');\nfclose(f2);\n");
    expect(result.error?.identifier).toBe("deskless:writeFailed");
    expect(result.error?.message).toContain("could not write /is-a-folder.csv, /ref/also.txt");
    const next = await run("disp('clean')\n");
    expect(next.ok).toBe(true);
  });
});
