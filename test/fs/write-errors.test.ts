// Write errors surface for real: a 1 MiB tmpfs (mounted here; the suite runs as root) is filled
// through the provider, and flush/close/dispose must report the failure, naming the file, and the
// next operation on the handle must fail too. Every provider is disposed, so a plain umount works.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createFileProvider, type FileProvider } from "../../src/index.js";
import { asyncCode, rejection, scratch, syncCode, type Scratch } from "./helpers.js";

const FULL_CODES = ["WRITE_FAILED", "NO_SPACE"];
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);
const TOTAL = 2 * 1024 * 1024; // twice the tmpfs

let dir: Scratch;
let mountPoint: string;
let mounted = false;
let provider: FileProvider;

beforeAll(() => {
  dir = scratch("deskless-enospc-");
  mountPoint = join(dir.base, "tiny");
  mkdirSync(mountPoint);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]);
  mounted = true;
});

afterAll(() => {
  // A plain umount: every provider was disposed, so nothing holds the tmpfs any more.
  if (mounted) execFileSync("umount", [mountPoint]);
  dir.cleanup();
});

beforeEach(() => {
  for (const name of readdirSync(mountPoint)) rmSync(join(mountPoint, name), { force: true });
  // The write-behind bound exceeds what is written, so writes return before the disk says no.
  provider = createFileProvider({ roots: [mountPoint], writeBehindBytes: 4 * 1024 * 1024 });
});

afterEach(async () => {
  // Handles a case left open may still report their write error here; what matters is the release.
  await provider.dispose().catch(() => undefined);
});

/** Writes TOTAL bytes (more than fits) with the Promise form; returns the first write error, if any. */
async function overfill(handle: bigint): Promise<string | undefined> {
  for (let offset = 0; offset < TOTAL; offset += CHUNK.length) {
    try {
      await provider.write(handle, offset, CHUNK);
    } catch (error) {
      return String((error as { code?: unknown }).code);
    }
  }
  return undefined;
}

describe("write errors on a full file system", () => {
  it("flush rejects naming the file, the next operation fails, and close reports it too (Promise forms)", async () => {
    const h = await provider.open("big.bin", "w");
    const early = await overfill(h);
    if (early !== undefined) expect(FULL_CODES).toContain(early);

    const flushError = await rejection(() => provider.flush(h));
    expect(FULL_CODES).toContain(flushError.code);
    expect(flushError.message).toContain("big.bin");
    expect(flushError.message).not.toContain("\n");

    const nextCode = await asyncCode(() => provider.write(h, 0, Buffer.from("more")));
    expect(FULL_CODES).toContain(nextCode);

    const closeError = await rejection(() => provider.close(h));
    expect(FULL_CODES).toContain(closeError.code);
    expect(closeError.message).toContain("big.bin");
    // Closed even though it failed: the handle is gone.
    expect(await asyncCode(() => provider.length(h))).toBe("BAD_HANDLE");
  });

  it("close without a flush reports the error too (sync forms)", () => {
    const h = provider.openSync("sync.bin", "w");
    let early: string | undefined;
    for (let offset = 0; offset < TOTAL && early === undefined; offset += CHUNK.length) {
      try {
        provider.writeSync(h, offset, CHUNK);
      } catch (error) {
        early = String((error as { code?: unknown }).code);
      }
    }
    if (early !== undefined) expect(FULL_CODES).toContain(early);
    let closeError: (Error & { code?: string }) | undefined;
    try {
      provider.closeSync(h);
    } catch (error) {
      closeError = error as Error & { code?: string };
    }
    expect(closeError).toBeDefined();
    expect(FULL_CODES).toContain(closeError!.code);
    expect(closeError!.message).toContain("sync.bin");
    expect(syncCode(() => provider.readSync(h, 0, 1))).toBe("BAD_HANDLE");
  });

  it("a failed drain fails the next write, read and length on that handle", async () => {
    const h = await provider.open("next.bin", "w+");
    const early = await overfill(h);
    // Wait for the drain to hit the wall: flush reports it (tested above); then every operation fails.
    await provider.flush(h).catch(() => undefined);
    if (early !== undefined) expect(FULL_CODES).toContain(early);
    expect(FULL_CODES).toContain(syncCode(() => provider.writeSync(h, 0, Buffer.from("x"))));
    expect(FULL_CODES).toContain(await asyncCode(() => provider.append(h, Buffer.from("x"))));
    expect(FULL_CODES).toContain(await asyncCode(() => provider.read(h, 0, 16)));
    expect(FULL_CODES).toContain(syncCode(() => provider.lengthSync(h)));
    expect(FULL_CODES).toContain(await asyncCode(() => provider.flush(h)));
    expect(FULL_CODES).toContain(await asyncCode(() => provider.close(h)));
  });

  it("dispose flushes the handles left open, reports the first write error, and releases the tmpfs", async () => {
    const ok = provider.openSync("ok.bin", "w");
    provider.writeSync(ok, 0, Buffer.from("kept"));
    const full = provider.openSync("full.bin", "w");
    await overfill(full);
    const disposeError = await rejection(() => provider.dispose());
    expect(FULL_CODES).toContain(disposeError.code);
    expect(disposeError.message).toContain("full.bin");
    expect(readFileSync(join(mountPoint, "ok.bin"), "utf8")).toBe("kept");
    for (const run of [() => provider.openSync("ok.bin", "r"), () => provider.readSync(ok, 0, 1), () => provider.readFileSync("ok.bin"), () => provider.writeFileSync("x.bin", Buffer.from("x"))]) {
      expect(syncCode(run)).toBe("DISPOSED");
    }
    expect(await asyncCode(() => provider.close(full))).toBe("DISPOSED");
    expect(provider.stats().openHandles).toBe(0);
    // Another dispose is a no-op.
    provider.disposeSync();
    // Nothing of this process refers to the mount any more (the plain umount in afterAll needs it).
    const held = readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(mountPoint);
      } catch {
        return false;
      }
    });
    expect(held).toEqual([]);
  });

  it("an atomic writeFile that does not fit fails with NO_SPACE and leaves no file or temp behind", async () => {
    expect(FULL_CODES).toContain(await asyncCode(() => provider.writeFile("whole.bin", Buffer.alloc(TOTAL, 1))));
    expect(readdirSync(mountPoint)).toEqual([]);
  });
});
