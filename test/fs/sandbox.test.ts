// The workspace sandbox through the addon: `..` chains, absolute outside paths, symlinks leading
// outside, a symlink swapped in between check and open, NUL bytes. Every case asserts the
// OUTSIDE_WORKSPACE code and, through sentinels (atime/mtime/ctime/size/inode), that nothing
// outside the root was read or written.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileProvider, type FileProvider } from "../../src/index.js";
import { asyncCode, plantSentinels, scratch, syncCode, type Scratch, type Sentinels } from "./helpers.js";

let dir: Scratch;
let sentinels: Sentinels;
let provider: FileProvider;
let outside: string;

beforeEach(() => {
  dir = scratch("deskless-sandbox-");
  writeFileSync(join(dir.ws, "inside.txt"), "inside\n");
  mkdirSync(join(dir.ws, "sub"));
  sentinels = plantSentinels(dir.base);
  outside = join(dir.base, "outside");
  provider = createFileProvider({ roots: [dir.ws] });
});
afterEach(() => dir.cleanup());

/** Every whole-path and handle operation on `target`, each expected to be refused. */
async function expectAllRefused(target: string, label = target): Promise<void> {
  const data = Buffer.from("PWNED");
  const sync: Array<[string, () => unknown]> = [
    ["openSync r", () => provider.openSync(target, "r")],
    ["openSync r+", () => provider.openSync(target, "r+")],
    ["openSync w", () => provider.openSync(target, "w")],
    ["openSync a", () => provider.openSync(target, "a")],
    ["readFileSync", () => provider.readFileSync(target)],
    ["writeFileSync", () => provider.writeFileSync(target, data)],
    ["metadataSync", () => provider.metadataSync(target)],
    ["symlinkMetadataSync", () => provider.symlinkMetadataSync(target)],
    ["readDirSync", () => provider.readDirSync(target)],
    ["createDirSync", () => provider.createDirSync(`${target}/made-by-provider`, true)],
    ["removeFileSync", () => provider.removeFileSync(target)],
    ["removeDirSync", () => provider.removeDirSync(target, true)],
    ["renameSync from", () => provider.renameSync(target, "stolen.txt")],
    ["renameSync to", () => provider.renameSync("inside.txt", target)],
    ["setReadonlySync", () => provider.setReadonlySync(target, true)],
    ["canonicalizeSync", () => provider.canonicalizeSync(target)],
  ];
  for (const [name, run] of sync) expect(`${label}: ${name} -> ${syncCode(run)}`).toBe(`${label}: ${name} -> OUTSIDE_WORKSPACE`);
  const promised: Array<[string, () => Promise<unknown>]> = [
    ["open r", () => provider.open(target, "r")],
    ["open w", () => provider.open(target, "w")],
    ["readFile", () => provider.readFile(target)],
    ["writeFile", () => provider.writeFile(target, data)],
    ["metadata", () => provider.metadata(target)],
    ["readDir", () => provider.readDir(target)],
    ["removeFile", () => provider.removeFile(target)],
    ["rename to", () => provider.rename("inside.txt", target)],
  ];
  for (const [name, run] of promised) expect(`${label}: ${name} -> ${await asyncCode(run)}`).toBe(`${label}: ${name} -> OUTSIDE_WORKSPACE`);
  expect(readFileSync(join(dir.ws, "inside.txt"), "utf8")).toBe("inside\n");
}

function expectNothingOutsideTouched(): void {
  expect(sentinels.snapshot()).toBe(sentinels.before);
}

describe("sandbox", () => {
  it("the sentinels notice a read and a write outside (the detector itself works)", () => {
    readFileSync(join(outside, "secret.txt"));
    const afterRead = sentinels.snapshot();
    expect(afterRead).not.toBe(sentinels.before);
    writeFileSync(join(outside, "new.txt"), "x");
    expect(sentinels.snapshot()).not.toBe(afterRead);
  });

  it("refuses `..` chains out of the root", async () => {
    const base = relative(dir.ws, dir.base); // ".."
    const targets = [
      "../outside/secret.txt",
      "../outside",
      "../secret-parent.txt",
      "sub/../../outside/secret.txt",
      "./.././outside/sub/deep.txt",
      `${base}/ws/../outside/secret.txt`,
      `${"../".repeat(40)}${outside.slice(1)}/secret.txt`,
      "../outside/created-by-provider.txt",
    ];
    for (const target of targets) await expectAllRefused(target);
    expectNothingOutsideTouched();
  });

  it("refuses paths whose last component is a `..` that leaves the root", async () => {
    for (const target of ["..", "./..", "sub/../..", `${"../".repeat(3)}..`]) await expectAllRefused(target);
    expectNothingOutsideTouched();
  });

  it("refuses absolute paths outside every root", async () => {
    const targets = [join(outside, "secret.txt"), outside, `/${outside}//sub/deep.txt`, join(dir.base, "secret-parent.txt"), join(outside, "created.txt"), `${dir.ws}/../outside/secret.txt`, `${dir.ws}-sibling/x`];
    for (const target of targets) await expectAllRefused(target);
    expect(syncCode(() => provider.readFileSync("/etc/passwd"))).toBe("OUTSIDE_WORKSPACE");
    expect(syncCode(() => provider.readDirSync("/"))).toBe("OUTSIDE_WORKSPACE");
    expectNothingOutsideTouched();
  });

  it("refuses symlinks that lead outside, absolute or relative, to files or directories", async () => {
    symlinkSync(join(outside, "secret.txt"), join(dir.ws, "abs-link"));
    symlinkSync("../outside/secret.txt", join(dir.ws, "rel-link"));
    symlinkSync(outside, join(dir.ws, "dir-link"));
    symlinkSync("../outside/not-yet.txt", join(dir.ws, "dangling-out"));
    symlinkSync("abs-link", join(dir.ws, "chain-link"));
    for (const link of ["abs-link", "rel-link", "chain-link"]) {
      expect(syncCode(() => provider.readFileSync(link))).toBe("OUTSIDE_WORKSPACE");
      expect(syncCode(() => provider.openSync(link, "r"))).toBe("OUTSIDE_WORKSPACE");
      expect(syncCode(() => provider.openSync(link, "r+"))).toBe("OUTSIDE_WORKSPACE");
      expect(await asyncCode(() => provider.open(link, "a"))).toBe("OUTSIDE_WORKSPACE");
      expect(syncCode(() => provider.metadataSync(link))).toBe("OUTSIDE_WORKSPACE");
      expect(syncCode(() => provider.canonicalizeSync(link))).toBe("OUTSIDE_WORKSPACE");
      expect(syncCode(() => provider.setReadonlySync(link, true))).toBe("OUTSIDE_WORKSPACE");
      expect(syncCode(() => provider.writeFileSync(link, Buffer.from("PWNED")))).toBe("OUTSIDE_WORKSPACE");
    }
    for (const target of ["dir-link/secret.txt", "dir-link/sub/deep.txt", "dir-link/new.txt", "dir-link/sub", "dir-link/../secret-parent.txt"]) await expectAllRefused(target);
    expect(syncCode(() => provider.readDirSync("dir-link"))).toBe("OUTSIDE_WORKSPACE");
    expect(syncCode(() => provider.openSync("dangling-out", "w"))).toBe("OUTSIDE_WORKSPACE");
    expect(syncCode(() => provider.writeFileSync("dangling-out", Buffer.from("x")))).toBe("OUTSIDE_WORKSPACE");
    expectNothingOutsideTouched();
  });

  it("refuses NUL bytes anywhere in a path", async () => {
    const targets = ["inside.txt\0", "\0", "inside.txt\0../outside/secret.txt", "a\0b/c", `${outside}\0/secret.txt`, `${join(dir.ws, "inside.txt")}\0`];
    for (const target of targets) await expectAllRefused(target, JSON.stringify(target));
    expectNothingOutsideTouched();
  });

  it("refuses a symlink swapped in between check and open (bounded race loop)", async () => {
    // A worker thread keeps swapping `slot` between a regular file and a symlink to the secret
    // (atomic renames), while this thread opens, reads and writes `slot` through the provider.
    const slot = join(dir.ws, "slot");
    writeFileSync(slot, "inside\n");
    const control = new Int32Array(new SharedArrayBuffer(8)); // [0]: stop flag, [1]: swaps done
    const worker = new Worker(
      `const { workerData } = require("node:worker_threads");
       const fs = require("node:fs");
       const { slot, target, control, maxSwaps } = workerData;
       for (let i = 0; i < maxSwaps && Atomics.load(control, 0) === 0; i += 1) {
         const tmp = slot + ".tmp" + (i % 2);
         if (i % 2) fs.writeFileSync(tmp, "inside\\n"); else fs.symlinkSync(target, tmp);
         fs.renameSync(tmp, slot);
         Atomics.store(control, 1, i + 1);
         Atomics.notify(control, 1);
       }`,
      { eval: true, workerData: { slot, target: join(outside, "secret.txt"), control, maxSwaps: 2_000_000 } },
    );
    const exited = new Promise<number>((resolve, reject) => {
      worker.once("exit", resolve);
      worker.once("error", reject);
    });
    // Start once the worker is swapping (a wait on a shared counter, not a sleep).
    Atomics.wait(control, 1, 0, 10_000);
    expect(Atomics.load(control, 1)).toBeGreaterThan(0);

    const outcomes = new Map<string, number>();
    const note = (what: string): void => void outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
    const attempt = (run: () => string): void => {
      try {
        note(run());
      } catch (error) {
        const code = String((error as { code?: unknown }).code);
        // NOT_FOUND cannot happen (rename replaces atomically); anything but a refusal is a failure.
        note(code === "OUTSIDE_WORKSPACE" ? "refused" : `error:${code}`);
      }
    };
    try {
      for (let i = 0; i < 3000; i += 1) {
        attempt(() => provider.readFileSync("slot").toString());
        attempt(() => {
          const h = provider.openSync("slot", "r");
          try {
            return provider.readSync(h, 0, 64).toString();
          } finally {
            provider.closeSync(h);
          }
        });
        attempt(() => {
          const h = provider.openSync("slot", "r+");
          try {
            provider.writeSync(h, 0, Buffer.from("INSIDE\n"));
            provider.flushSync(h);
            return "wrote-inside";
          } finally {
            provider.closeSync(h);
          }
        });
        if (i % 10 === 0) {
          const h = await provider.open("slot", "r").catch((error: { code?: string }) => error.code ?? "?");
          if (typeof h === "bigint") {
            note((await provider.read(h, 0, 64)).toString());
            await provider.close(h);
          } else note(h === "OUTSIDE_WORKSPACE" ? "refused" : `error:${h}`);
        }
      }
    } finally {
      Atomics.store(control, 0, 1);
      expect(await exited).toBe(0);
    }
    const kinds = [...outcomes.keys()].sort();
    // Only the inside file's contents (as the worker or this thread wrote them) or a refusal.
    expect(kinds.filter((k) => !["inside\n", "INSIDE\n", "wrote-inside", "refused"].includes(k))).toEqual([]);
    expect(outcomes.get("refused") ?? 0).toBeGreaterThan(0);
    expect((outcomes.get("inside\n") ?? 0) + (outcomes.get("INSIDE\n") ?? 0)).toBeGreaterThan(0);
    expectNothingOutsideTouched();
  });
});
