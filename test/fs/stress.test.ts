// 1 GiB through the provider in a temp dir: written in 4 MiB chunks through write-behind (each
// chunk's buffer refilled as soon as its write resolves), read back through a handle, and checked
// against a sha256 computed with node:crypto over exactly what was generated. One pass; runs in CI.
import { createHash, randomFillSync } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createFileProvider } from "../../src/index.js";
import { scratch, type Scratch } from "./helpers.js";

const SIZE = 1024 * 1024 * 1024;
const CHUNK = 4 * 1024 * 1024;

let dir: Scratch;
beforeAll(() => {
  dir = scratch("deskless-stress-");
});
afterAll(() => dir.cleanup());

it("writes 1 GiB and reads it back with matching sha256", { timeout: 600_000 }, async () => {
  const provider = createFileProvider({ roots: [dir.ws], writeBehindBytes: 16 * 1024 * 1024 });
  const generated = createHash("sha256");
  const chunk = Buffer.alloc(CHUNK);

  const w = await provider.open("stress.bin", "w");
  for (let offset = 0; offset < SIZE; offset += CHUNK) {
    randomFillSync(chunk);
    generated.update(chunk);
    expect(await provider.write(w, offset, chunk)).toBe(CHUNK);
  }
  expect(await provider.length(w)).toBe(SIZE);
  await provider.flush(w);
  await provider.close(w);
  const expected = generated.digest("hex");
  expect(statSync(join(dir.ws, "stress.bin")).size).toBe(SIZE);

  // Back through a handle, into one reused caller buffer.
  const readBack = createHash("sha256");
  const r = await provider.open("stress.bin", "r");
  let offset = 0;
  for (;;) {
    const n = await provider.readInto(r, offset, chunk);
    if (n === 0) break;
    readBack.update(chunk.subarray(0, n));
    offset += n;
  }
  await provider.close(r);
  expect(offset).toBe(SIZE);
  expect(readBack.digest("hex")).toBe(expected);

  // And what is on disk, read without the provider.
  const onDisk = createHash("sha256");
  for await (const part of createReadStream(join(dir.ws, "stress.bin"), { highWaterMark: CHUNK })) onDisk.update(part as Buffer);
  expect(onDisk.digest("hex")).toBe(expected);

  const stats = provider.stats();
  expect(stats.bytesWritten).toBeGreaterThanOrEqual(SIZE);
  expect(stats.bytesRead).toBeGreaterThanOrEqual(SIZE);
});
