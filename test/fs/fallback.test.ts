// A real fallback through the addon: in a child process whose address space is capped
// (`ulimit -v`), mapping a sparse 4 GiB file fails, so the provider reads it with pread instead.
// The library must log exactly one pino warning naming the fallback, however often it recurs.
// The child loads the built library (dist/, compiled by the suite's global setup) as users do.
import { spawnSync } from "node:child_process";
import { truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { scratch, type Scratch } from "./helpers.js";

const LIBRARY = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));
const GiB = 1024 ** 3;

let dir: Scratch;
beforeAll(() => {
  dir = scratch("deskless-fallback-");
  writeFileSync(join(dir.ws, "sparse.bin"), "head");
  truncateSync(join(dir.ws, "sparse.bin"), 4 * GiB);
});
afterAll(() => dir.cleanup());

// Both faces over the native provider log through the one factory (src/fs/native-provider.ts).
const FACES = {
  FileProvider: `
    import { createFileProvider } from ${JSON.stringify(LIBRARY)};
    const fs = createFileProvider({ roots: [ROOT], cacheBudgetBytes: ${8 * GiB} });
    const seen = [];
    for (let i = 0; i < 3; i += 1) {
      const h = fs.openSync("sparse.bin", "r");
      seen.push(fs.readSync(h, 0, 4).toString(), fs.readSync(h, ${4 * GiB - 4}, 8).length);
      fs.closeSync(h);
    }
    const stats = fs.stats();
    process.stdout.write(JSON.stringify({ seen, fallbacks: stats.fallbacks, hits: stats.cacheHits }));
  `,
  FsBindings: `
    import { createFsBindings } from ${JSON.stringify(LIBRARY)};
    const fs = createFsBindings({ roots: [ROOT], cacheBudgetBytes: ${8 * GiB} });
    const seen = [];
    for (let i = 0; i < 3; i += 1) {
      const h = fs.openFileHandle("/sparse.bin", "read");
      seen.push(Buffer.from(fs.readChunk(h, 0, 4)).toString(), fs.readChunk(h, ${4 * GiB - 4}, 8).length);
      fs.closeHandle(h);
    }
    const stats = fs.provider.stats();
    process.stdout.write(JSON.stringify({ seen, fallbacks: stats.fallbacks, hits: stats.cacheHits }));
  `,
};

it.each(Object.keys(FACES))("%s logs one warning naming the fallback when a map fails and plain reads are used", (face) => {
  const script = FACES[face as keyof typeof FACES].replace("ROOT", JSON.stringify(dir.ws));
  // 2 GiB of address space: enough for node, too little to map 4 GiB.
  const child = spawnSync("sh", ["-c", 'ulimit -v 2097152 && exec "$0" --input-type=module -e "$1"', process.execPath, script], {
    encoding: "utf8",
    env: { ...process.env, DESKLESS_LOG_LEVEL: "warn" },
  });
  expect(child.status, child.stderr).toBe(0);
  const result = JSON.parse(child.stdout) as { seen: unknown[]; fallbacks: string[]; hits: number };
  expect(result.seen).toEqual(["head", 4, "head", 4, "head", 4]);
  expect(result.fallbacks).toEqual(["mmap-failed:plain-read"]);
  expect(result.hits).toBe(0);
  const warnings = child.stderr
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: number; msg: string; fallback?: string });
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatchObject({ level: 40, fallback: "mmap-failed:plain-read" });
  expect(warnings[0]!.msg).toContain("mmap-failed:plain-read");
});
