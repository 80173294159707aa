// The sandbox, seen through FsBindings: nothing outside the roots is readable, writable, listable or
// even stat-able, whichever way the path is spelled, and the sentinel files outside stay untouched.
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setLogLevel } from "../../src/log.js";
import { createFsBindings, type FsBindings } from "../../src/fs/bindings.js";
import { plantSentinels, scratch, thrown, upstreamIsNotFound, type Scratch, type Sentinels } from "./helpers.js";

// Failed writes are logged at warn on purpose; the suites assert on the ledger instead.
setLogLevel("silent");

let s: Scratch;
let fs: FsBindings;
let sentinels: Sentinels;

beforeEach(() => {
  s = scratch("deskless-sandbox-");
  sentinels = plantSentinels(s.base);
  // Escape hatches planted inside the workspace: a folder link and a file link pointing outside.
  symlinkSync(sentinels.outside, join(s.ws, "out-dir"));
  symlinkSync(join(sentinels.outside, "secret.txt"), join(s.ws, "out-file.txt"));
  symlinkSync(relative(join(s.ws), join(s.base, "secret-parent.txt")), join(s.ws, "rel-file.txt"));
  mkdirSync(join(s.ws, "inner"));
  fs = createFsBindings({ roots: [s.ws, s.data] });
});
afterEach(() => {
  fs.dispose();
  s.cleanup();
});

/** The refusal codes a sandbox escape may produce; never success, never NotFound. */
function expectRefused(run: () => unknown, label: string): void {
  const error = thrown(run);
  expect(error.code, `${label}: ${error.message}`).toBe("OUTSIDE_WORKSPACE");
  expect(upstreamIsNotFound(error), label).toBe(false);
}

describe("sandbox through FsBindings", () => {
  it("refuses '..' above the virtual root before anything reaches the disk", () => {
    for (const path of ["/../secret-parent.txt", "../secret-parent.txt", "/inner/../../secret-parent.txt", "/data/../../outside/secret.txt", "/../outside/sub/deep.txt"]) {
      expectRefused(() => fs.readFile(path), `readFile ${path}`);
      expectRefused(() => fs.writeFile(path, new Uint8Array([1])), `writeFile ${path}`);
      expectRefused(() => fs.metadata(path), `metadata ${path}`);
      expectRefused(() => fs.removeFile(path), `removeFile ${path}`);
    }
    expectRefused(() => fs.readDir("/../outside"), "readDir");
    expectRefused(() => fs.createDirAll("/../outside/new"), "createDirAll");
    expectRefused(() => fs.rename("/../outside/secret.txt", "/stolen.txt"), "rename from outside");
    expectRefused(() => fs.openFileHandle("/../secret-parent.txt", "read"), "openFileHandle");
    sentinels.expectUntouched();
  });

  it("refuses symlinks that leave the workspace, for every operation", () => {
    const viaDir = "/out-dir/secret.txt";
    const ops: Array<[string, () => unknown]> = [
      ["readFile dir-link", () => fs.readFile(viaDir)],
      ["readFile file-link", () => fs.readFile("/out-file.txt")],
      ["readFile relative file-link", () => fs.readFile("/rel-file.txt")],
      ["readFile deep", () => fs.readFile("/out-dir/sub/deep.txt")],
      ["readMany", () => fs.readMany([viaDir])],
      ["writeFile dir-link", () => fs.writeFile(viaDir, new Uint8Array([1]))],
      ["writeFile new file via dir-link", () => fs.writeFile("/out-dir/new.txt", new Uint8Array([1]))],
      ["writeFile file-link", () => fs.writeFile("/out-file.txt", new Uint8Array([1]))],
      ["metadata", () => fs.metadata(viaDir)],
      ["readDir", () => fs.readDir("/out-dir")],
      ["readDir sub", () => fs.readDir("/out-dir/sub")],
      ["canonicalize", () => fs.canonicalize(viaDir)],
      ["createDir", () => fs.createDir("/out-dir/made")],
      ["createDirAll", () => fs.createDirAll("/out-dir/made/deeper")],
      ["removeFile", () => fs.removeFile(viaDir)],
      ["removeDirAll", () => fs.removeDirAll("/out-dir/sub")],
      ["rename out", () => fs.rename(viaDir, "/stolen.txt")],
      ["rename in", () => fs.rename("/inner", "/out-dir/moved")],
      ["setReadonly", () => fs.setReadonly(viaDir, true)],
      ["openFileHandle read", () => fs.openFileHandle(viaDir, "read")],
      ["openFileHandle write", () => fs.openFileHandle("/out-file.txt", "write")],
    ];
    for (const [label, run] of ops) expectRefused(run, label);
    expect(existsSync(join(sentinels.outside, "new.txt"))).toBe(false);
    expect(existsSync(join(sentinels.outside, "made"))).toBe(false);
    expect(existsSync(join(s.ws, "stolen.txt"))).toBe(false);
    expect(existsSync(join(s.ws, "inner"))).toBe(true);
    sentinels.expectUntouched();
  });

  it("reads a host path spelled as a virtual path inside the first root, never the host file", () => {
    // "/tmp/.../outside/secret.txt" means <first root>/tmp/.../outside/secret.txt: missing, not the sentinel.
    const hostSpelling = join(sentinels.outside, "secret.txt");
    const error = thrown(() => fs.readFile(hostSpelling));
    expect(upstreamIsNotFound(error)).toBe(true);
    fs.createDirAll(join(sentinels.outside));
    fs.writeFile(hostSpelling, new TextEncoder().encode("lands inside"));
    expect(readdirSync(join(s.ws, ...sentinels.outside.split("/").filter(Boolean)))).toEqual(["secret.txt"]);
    sentinels.expectUntouched();
  });

  it("a lost write outside the workspace is recorded with its refusal", () => {
    expectRefused(() => fs.writeFile("/out-dir/secret.txt", new TextEncoder().encode("overwrite")), "writeFile");
    expect(fs.takeWriteFailures()).toMatchObject([{ path: "/out-dir/secret.txt", code: "OUTSIDE_WORKSPACE" }]);
    sentinels.expectUntouched();
  });

  it("symlinks that stay inside the workspace keep working", () => {
    writeFileSync(join(s.ws, "inner", "ok.txt"), "ok");
    symlinkSync("inner", join(s.ws, "in-link"));
    expect(Buffer.from(fs.readFile("/in-link/ok.txt")).toString()).toBe("ok");
    fs.writeFile("/in-link/new.txt", new Uint8Array([7]));
    expect(existsSync(join(s.ws, "inner", "new.txt"))).toBe(true);
    sentinels.expectUntouched();
  });
});
