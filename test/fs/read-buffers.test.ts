// Buffers returned by the plain reads are ordinary, writable memory even when the provider serves
// the file from its read-only mmap cache: writing into them must neither crash the process nor
// change what a later read returns. The mapped forms are the zero-copy views (writing into those
// is the documented fatal error). Each case runs in a child process, so a crash fails the case
// instead of the suite; the child loads the built library (dist/, compiled by the global setup).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createFileProvider } from "../../src/index.js";
import { scratch, type Scratch } from "./helpers.js";

const LIBRARY = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));
const SIZE = 1024 * 1024; // well above the 64 KiB from which cached reads used to be map views

let dir: Scratch;
beforeAll(() => {
  dir = scratch("deskless-read-buffers-");
  writeFileSync(join(dir.ws, "data.bin"), randomBytes(SIZE));
});
afterAll(() => dir.cleanup());

function runChild(body: string): ReturnType<typeof spawnSync> {
  const script = `
    import { createFileProvider } from ${JSON.stringify(LIBRARY)};
    const fs = createFileProvider({ roots: [${JSON.stringify(dir.ws)}] });
    ${body}
  `;
  return spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env: process.env, timeout: 30_000 });
}

it("writing into Buffers from readSync/read/readFileSync/readFile of a cached file is safe and changes nothing", () => {
  const child = runChild(`
    const original = fs.readFileSync("data.bin");
    const h = fs.openSync("data.bin", "r");
    fs.readSync(h, 0, ${SIZE}); // maps the file into the cache
    const got = [
      fs.readFileSync("data.bin"),
      fs.readSync(h, 0, ${SIZE}),
      fs.readSync(h, 4096, 256 * 1024),
      await fs.readFile("data.bin"),
      await fs.read(h, 0, ${SIZE}),
    ];
    for (const buf of got) buf.fill(0xa5); // SIGSEGV here if any of them were a view of the map
    const again = [fs.readFileSync("data.bin"), fs.readSync(h, 0, ${SIZE}), fs.readMappedSync(h, 0, ${SIZE}), fs.readFileMappedSync("data.bin")];
    const same = again.every((buf) => buf.equals(original));
    const stats = fs.stats();
    fs.closeSync(h);
    console.log(JSON.stringify({ same, cacheHits: stats.cacheHits }));
  `);
  expect(child.signal, String(child.stderr)).toBeNull();
  expect(child.status, String(child.stderr)).toBe(0);
  const result = JSON.parse(String(child.stdout)) as { same: boolean; cacheHits: number };
  expect(result.same).toBe(true);
  // The reads were served from the map cache (the path that used to hand out read-only views).
  expect(result.cacheHits).toBeGreaterThan(0);
});

it("readMappedSync/readFileMappedSync of a cached file are zero-copy read-only views (writing into one is fatal)", () => {
  const child = runChild(`
    const view = fs.readFileMappedSync("data.bin");
    console.log("mapped");
    view[0] ^= 0xff;
    console.log("wrote");
  `);
  expect(String(child.stdout)).toContain("mapped");
  expect(String(child.stdout)).not.toContain("wrote");
  expect(child.signal).toBe("SIGSEGV");
});

it("the mapped forms return the file's bytes, small reads and uncached files included", async () => {
  const provider = createFileProvider({ roots: [dir.ws], cacheBudgetBytes: 0 });
  const cached = createFileProvider({ roots: [dir.ws] });
  for (const fs of [provider, cached]) {
    const whole = fs.readFileSync("data.bin");
    expect(fs.readFileMappedSync("data.bin").equals(whole)).toBe(true);
    expect((await fs.readFileMapped("data.bin")).equals(whole)).toBe(true);
    const h = fs.openSync("data.bin", "r");
    expect(fs.readMappedSync(h, 100, 10).equals(whole.subarray(100, 110))).toBe(true);
    expect((await fs.readMapped(h, SIZE - 70_000, 100_000)).equals(whole.subarray(SIZE - 70_000))).toBe(true);
    fs.closeSync(h);
  }
});
