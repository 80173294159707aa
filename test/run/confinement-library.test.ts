// Confinement through the library, in this process: each direct session runs on a fresh thread
// confined to its own roots, this (Node's) thread stays free, and the process environment is the
// script's view only while a session is open.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDirectEngine } from "../../src/index.js";
import { tempDir } from "../support/workspace.js";

let base: string;
let first: string;
let second: string;
let cleanup: () => void;

beforeEach(() => {
  ({ dir: base, cleanup } = tempDir("deskless-confine-lib-"));
  first = join(base, "first");
  second = join(base, "second");
  mkdirSync(first);
  mkdirSync(second);
});
afterEach(() => cleanup());

/** libhdf5 opens host paths itself, past the provider: only the kernel can refuse them. */
const h5write = (path: string) => ({ kind: "text" as const, name: "<h5>", text: `h5write('${path}', '/d', [1 2 3]);` });

describe("confinement in the library", () => {
  it("gives each session exactly its own roots, one after the other in one process", async () => {
    const a = await openDirectEngine({ roots: [first] });
    expect(a.confinement?.filesystem).toBe(true);
    expect((await a.execute(h5write(join(first, "a.h5")))).ok).toBe(true);
    const crossed = await a.execute(h5write(join(second, "a.h5")));
    expect(crossed.ok).toBe(false);
    expect(crossed.error?.message).toMatch(/is outside the workspace/);
    await a.close();

    const b = await openDirectEngine({ roots: [second] });
    expect((await b.execute(h5write(join(second, "b.h5")))).ok).toBe(true);
    expect((await b.execute(h5write(join(first, "b.h5")))).ok).toBe(false);
    await b.close();

    expect(existsSync(join(first, "a.h5")) && existsSync(join(second, "b.h5"))).toBe(true);
    expect(existsSync(join(second, "a.h5")) || existsSync(join(first, "b.h5"))).toBe(false);
    // Node's own thread was never confined.
    writeFileSync(join(base, "from-node.txt"), "free");
  });

  it("shows the script only its environment view while the session is open, then restores it", async () => {
    process.env.DESKLESS_TEST_SECRET = "s3cret";
    process.env.VISIBLE_FOR_TEST = "shown";
    try {
      const session = await openDirectEngine({ roots: [first], allowEnv: ["VISIBLE_FOR_*"], setEnv: { GIVEN: "set" } });
      expect(process.env.DESKLESS_TEST_SECRET).toBeUndefined();
      const result = await session.execute({ kind: "text", name: "<env>", text: "fprintf('[%s][%s][%s]\\n', getenv('DESKLESS_TEST_SECRET'), getenv('VISIBLE_FOR_TEST'), getenv('GIVEN'));" });
      expect(result.streams.map((s) => s.text).join("")).toBe("[][shown][set]\n");
      expect(result.confinement?.environment).toEqual(expect.arrayContaining(["GIVEN", "VISIBLE_FOR_TEST"]));
      await session.close();
      expect(process.env.DESKLESS_TEST_SECRET).toBe("s3cret");
      expect(process.env.GIVEN).toBeUndefined();
    } finally {
      delete process.env.DESKLESS_TEST_SECRET;
      delete process.env.VISIBLE_FOR_TEST;
    }
  });

  it("refuses to start under confine: require when the kernel cannot confine, with a stable code", async () => {
    process.env.DESKLESS_LANDLOCK_ABI = "0";
    const before = { ...process.env };
    try {
      await expect(openDirectEngine({ roots: [first], confine: "require" })).rejects.toMatchObject({ code: "CONFINEMENT_UNAVAILABLE" });
      // Nothing half-applied: the environment is as it was.
      expect({ ...process.env }).toEqual(before);
    } finally {
      delete process.env.DESKLESS_LANDLOCK_ABI;
    }
  });
});
