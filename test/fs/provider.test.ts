// The file provider through the addon, loaded as users load it (src/native.ts via src/fs/provider.ts):
// handle lifecycle, open modes, concurrent I/O on one handle, readInto, cache statistics.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileProvider, openFlags, type FileProvider } from "../../src/index.js";
import { asyncCode, isReplacementTemp, rejection, scratch, syncCode, type Scratch } from "./helpers.js";

let dir: Scratch;
let provider: FileProvider;

beforeEach(() => {
  dir = scratch();
  provider = createFileProvider({ roots: [dir.ws] });
});
afterEach(() => dir.cleanup());

describe("handle lifecycle", () => {
  it("opens, reads, closes, and refuses the closed handle with BAD_HANDLE (sync and Promise forms)", async () => {
    writeFileSync(join(dir.ws, "a.txt"), "hello");
    const h = provider.openSync("a.txt", "r");
    expect(typeof h).toBe("bigint");
    expect(provider.readSync(h, 0, 100).toString()).toBe("hello");
    provider.closeSync(h);
    expect(syncCode(() => provider.readSync(h, 0, 1))).toBe("BAD_HANDLE");
    expect(await asyncCode(() => provider.read(h, 0, 1))).toBe("BAD_HANDLE");
    expect(syncCode(() => provider.writeSync(h, 0, Buffer.from("x")))).toBe("BAD_HANDLE");
    expect(syncCode(() => provider.closeSync(h))).toBe("BAD_HANDLE");
    expect(await asyncCode(() => provider.close(h))).toBe("BAD_HANDLE");
    expect(await asyncCode(() => provider.flush(h))).toBe("BAD_HANDLE");
    expect(syncCode(() => provider.lengthSync(h))).toBe("BAD_HANDLE");
  });

  it("refuses a handle it never issued with BAD_HANDLE, never a crash", async () => {
    for (const h of [0n, 123456789n, 2n ** 64n - 1n]) {
      expect(syncCode(() => provider.readSync(h, 0, 1))).toBe("BAD_HANDLE");
      expect(await asyncCode(() => provider.readInto(h, 0, new Uint8Array(4)))).toBe("BAD_HANDLE");
      expect(await asyncCode(() => provider.append(h, Buffer.from("x")))).toBe("BAD_HANDLE");
    }
  });

  it("never reuses a handle, and counts opens and closes", async () => {
    writeFileSync(join(dir.ws, "a.txt"), "x");
    const seen = new Set<bigint>();
    for (let i = 0; i < 50; i += 1) {
      const h = i % 2 ? provider.openSync("a.txt", "r") : await provider.open("a.txt", "r");
      expect(seen.has(h)).toBe(false);
      seen.add(h);
      if (i % 2) provider.closeSync(h);
      else await provider.close(h);
    }
    const stats = provider.stats();
    expect(stats.opens).toBe(50);
    expect(stats.closes).toBe(50);
    expect(stats.openHandles).toBe(0);
  });

  it("limits open handles with TOO_MANY_HANDLES and frees a slot on close", () => {
    const limited = createFileProvider({ roots: [dir.ws], maxOpenHandles: 3 });
    writeFileSync(join(dir.ws, "a.txt"), "x");
    const handles = [0, 1, 2].map(() => limited.openSync("a.txt", "r"));
    expect(syncCode(() => limited.openSync("a.txt", "r"))).toBe("TOO_MANY_HANDLES");
    limited.closeSync(handles[0]!);
    const again = limited.openSync("a.txt", "r");
    expect(limited.stats().openHandles).toBe(3);
    for (const h of [again, handles[1]!, handles[2]!]) limited.closeSync(h);
  });
});

describe("open modes", () => {
  it("maps mode strings to the six flags", () => {
    expect(openFlags("r")).toEqual({ read: true });
    expect(openFlags("w")).toEqual({ write: true, create: true, truncate: true });
    expect(openFlags("a+")).toEqual({ read: true, write: true, append: true, create: true });
    expect(openFlags("wx")).toEqual({ write: true, createNew: true });
    expect(openFlags({ read: true, write: true })).toEqual({ read: true, write: true });
    expect(syncCode(() => openFlags("rw" as never))).toBe("INVALID_ARGUMENT");
    expect(syncCode(() => provider.openSync("a.txt", "q" as never))).toBe("INVALID_ARGUMENT");
  });

  it("w truncates, r+ keeps, a appends, wx refuses an existing file, r refuses a missing one", async () => {
    writeFileSync(join(dir.ws, "f.txt"), "0123456789");
    const w = provider.openSync("f.txt", "w");
    expect(provider.lengthSync(w)).toBe(0);
    provider.writeSync(w, 0, Buffer.from("abc"));
    provider.closeSync(w);
    expect(readFileSync(join(dir.ws, "f.txt"), "utf8")).toBe("abc");

    const rw = await provider.open("f.txt", "r+");
    await provider.write(rw, 1, Buffer.from("Z"));
    expect((await provider.read(rw, 0, 10)).toString()).toBe("aZc");
    await provider.close(rw);

    const a = provider.openSync("f.txt", "a");
    expect(provider.appendSync(a, Buffer.from("de"))).toBe(3);
    expect(await provider.append(a, Buffer.from("f"))).toBe(5);
    provider.closeSync(a);
    expect(readFileSync(join(dir.ws, "f.txt"), "utf8")).toBe("aZcdef");

    expect(syncCode(() => provider.openSync("f.txt", "wx"))).toBe("ALREADY_EXISTS");
    expect(await asyncCode(() => provider.open("missing.txt", "r"))).toBe("NOT_FOUND");
    const created = provider.openSync("new.txt", { write: true, createNew: true });
    provider.closeSync(created);
    expect(statSync(join(dir.ws, "new.txt")).size).toBe(0);
  });

  it("a read-only root refuses writes with READ_ONLY and leaves the file alone", () => {
    writeFileSync(join(dir.ws, "f.txt"), "keep");
    const ro = createFileProvider({ roots: [{ path: dir.ws, readOnly: true }] });
    expect(ro.roots()[0]!.readOnly).toBe(true);
    expect(ro.readFileSync("f.txt").toString()).toBe("keep");
    expect(syncCode(() => ro.openSync("f.txt", "w"))).toBe("READ_ONLY");
    expect(syncCode(() => ro.writeFileSync("g.txt", Buffer.from("x")))).toBe("READ_ONLY");
    expect(readFileSync(join(dir.ws, "f.txt"), "utf8")).toBe("keep");
  });
});

describe("concurrent I/O on one handle", () => {
  it("serves overlapping reads and writes from concurrent Promises without corruption", async () => {
    const block = 64 * 1024;
    const blocks = 64;
    const initial = randomBytes(block * blocks);
    writeFileSync(join(dir.ws, "c.bin"), initial);
    const h = await provider.open("c.bin", "r+");
    const fresh = Array.from({ length: blocks }, () => randomBytes(block));
    // Odd blocks are rewritten while even blocks are read, all in flight at once.
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < blocks; i += 1) {
      if (i % 2) ops.push(provider.write(h, i * block, fresh[i]!));
      else ops.push(provider.read(h, i * block, block).then((got) => expect(got.equals(initial.subarray(i * block, (i + 1) * block))).toBe(true)));
    }
    // Two writes racing for one new block past the end: it ends up wholly one or the other.
    const a = Buffer.alloc(block, 0xaa);
    const b = Buffer.alloc(block, 0xbb);
    ops.push(provider.write(h, blocks * block, a), provider.write(h, blocks * block, b));
    await Promise.all(ops);
    await provider.flush(h);
    const after = await provider.read(h, 0, block * (blocks + 1));
    expect(after.length).toBe(block * (blocks + 1));
    const raced = after.subarray(blocks * block);
    expect(raced.equals(a) || raced.equals(b)).toBe(true);
    for (let i = 0; i < blocks; i += 1) {
      const expected = i % 2 ? fresh[i]! : initial.subarray(i * block, (i + 1) * block);
      expect(after.subarray(i * block, (i + 1) * block).equals(expected)).toBe(true);
    }
    await provider.close(h);
    const onDisk = readFileSync(join(dir.ws, "c.bin"));
    expect(onDisk.equals(after)).toBe(true);
  });

  it("reads its own buffered writes before any flush (length includes pending writes)", async () => {
    const h = await provider.open("p.bin", "w+");
    const data = randomBytes(300_000);
    const writes = [0, 100_000, 200_000].map((offset) => provider.write(h, offset, data.subarray(offset, offset + 100_000)));
    await Promise.all(writes);
    expect(await provider.length(h)).toBe(300_000);
    expect((await provider.read(h, 0, 300_000)).equals(data)).toBe(true);
    await provider.close(h);
  });
});

describe("readInto", () => {
  it("fills a caller's Uint8Array window and leaves the bytes around it untouched", async () => {
    const data = randomBytes(10_000);
    writeFileSync(join(dir.ws, "r.bin"), data);
    const h = provider.openSync("r.bin", "r");
    const backing = new Uint8Array(5000).fill(7);
    const window = backing.subarray(100, 4100);
    expect(provider.readIntoSync(h, 2000, window)).toBe(4000);
    expect(Buffer.from(window).equals(data.subarray(2000, 6000))).toBe(true);
    expect(backing.subarray(0, 100).every((b) => b === 7)).toBe(true);
    expect(backing.subarray(4100).every((b) => b === 7)).toBe(true);

    const target = Buffer.alloc(4096, 1);
    expect(await provider.readInto(h, 8000, target)).toBe(2000); // short only at EOF
    expect(target.subarray(0, 2000).equals(data.subarray(8000))).toBe(true);
    expect(target.subarray(2000).every((b) => b === 1)).toBe(true);
    expect(await provider.readInto(h, 10_000, target)).toBe(0);
    provider.closeSync(h);
  });
});

describe("cache statistics", () => {
  it("counts a hit on re-read, and misses again after a write through the table and after an external change", async () => {
    const path = join(dir.ws, "hot.bin");
    const v1 = randomBytes(256 * 1024);
    writeFileSync(path, v1);
    const s0 = provider.stats();

    const r = await provider.open("hot.bin", "r");
    expect((await provider.read(r, 0, v1.length)).equals(v1)).toBe(true);
    await provider.close(r);
    const s1 = provider.stats();
    expect(s1.cacheMisses).toBeGreaterThan(s0.cacheMisses);

    const r2 = await provider.open("hot.bin", "r");
    expect((await provider.read(r2, 0, v1.length)).equals(v1)).toBe(true);
    await provider.close(r2);
    const s2 = provider.stats();
    expect(s2.cacheHits).toBeGreaterThan(s1.cacheHits);
    expect(s2.cacheMisses).toBe(s1.cacheMisses);
    expect(s2.cacheBytes).toBeGreaterThan(0);

    // A write through the table invalidates the entry: the next read misses and sees the new bytes.
    const w = await provider.open("hot.bin", "r+");
    await provider.write(w, 0, Buffer.from("WRITTEN THROUGH THE TABLE"));
    await provider.close(w);
    const r3 = await provider.open("hot.bin", "r");
    const afterWrite = await provider.read(r3, 0, v1.length);
    await provider.close(r3);
    expect(afterWrite.subarray(0, 25).toString()).toBe("WRITTEN THROUGH THE TABLE");
    expect(afterWrite.subarray(25).equals(v1.subarray(25))).toBe(true);
    const s3 = provider.stats();
    expect(s3.cacheMisses).toBeGreaterThan(s2.cacheMisses);

    // A change behind the provider's back (new size and mtime) invalidates it as well.
    const v2 = randomBytes(128 * 1024);
    writeFileSync(path, v2);
    const r4 = await provider.open("hot.bin", "r");
    const afterExternal = await provider.read(r4, 0, v1.length);
    await provider.close(r4);
    expect(afterExternal.equals(v2)).toBe(true);
    const s4 = provider.stats();
    expect(s4.cacheMisses).toBeGreaterThan(s3.cacheMisses);
    expect(s4.bytesRead).toBeGreaterThanOrEqual(s0.bytesRead + 3 * v1.length + v2.length);
  });

  it("evicts within the byte budget", async () => {
    const small = createFileProvider({ roots: [dir.ws], cacheBudgetBytes: 1024 * 1024 });
    for (let i = 0; i < 4; i += 1) {
      writeFileSync(join(dir.ws, `e${i}.bin`), randomBytes(512 * 1024));
      expect(small.readFileSync(`e${i}.bin`).length).toBe(512 * 1024);
      const h = small.openSync(`e${i}.bin`, "r");
      expect(small.readSync(h, 0, 512 * 1024).length).toBe(512 * 1024);
      small.closeSync(h);
    }
    const stats = small.stats();
    expect(stats.cacheEvictions).toBeGreaterThan(0);
    expect(stats.cacheBytes).toBeLessThanOrEqual(1024 * 1024);
  });
});

describe("whole-path operations", () => {
  it("writeFile, readFile, metadata, readDir, createDir, rename, setReadonly, canonicalize, remove", async () => {
    provider.createDirSync("a/b/c", true);
    expect(syncCode(() => provider.createDirSync("x/y", false))).toBe("NOT_FOUND");
    await provider.writeFile("a/b/c/f.txt", Buffer.from("payload"));
    expect((await provider.readFile("a/b/c/f.txt")).toString()).toBe("payload");
    const meta = provider.metadataSync("a/b/c/f.txt");
    expect(meta).toMatchObject({ fileType: "file", len: 7, readonly: false });
    expect(Math.abs((meta.modified ?? 0) - statSync(join(dir.ws, "a/b/c/f.txt")).mtimeMs)).toBeLessThan(2);
    expect(provider.readDirSync("a/b/c").map((e) => [e.fileName, e.fileType, e.path])).toEqual([["f.txt", "file", join(dir.ws, "a/b/c/f.txt")]]);
    await provider.rename("a/b/c/f.txt", "a/g.txt");
    expect(provider.canonicalizeSync("a/b/../g.txt")).toBe(join(dir.ws, "a/g.txt"));
    expect(provider.canonicalizeSync(join(dir.ws, "a/g.txt"))).toBe(join(dir.ws, "a/g.txt"));
    provider.setReadonlySync("a/g.txt", true);
    expect(provider.metadataSync("a/g.txt").readonly).toBe(true);
    provider.setReadonlySync("a/g.txt", false);
    expect(syncCode(() => provider.removeDirSync("a", false))).toBe("DIRECTORY_NOT_EMPTY");
    expect(syncCode(() => provider.removeFileSync("a"))).toBe("IS_A_DIRECTORY");
    provider.removeFileSync("a/g.txt");
    expect(await asyncCode(() => provider.metadata("a/g.txt"))).toBe("NOT_FOUND");
    await provider.removeDir("a", true);
    expect(provider.readDirSync(".")).toEqual([]);
  });

  it("renameNoReplace refuses an existing target with ALREADY_EXISTS and leaves both files as they were", async () => {
    await provider.writeFile("new.txt", Buffer.from("new"));
    await provider.writeFile("kept.txt", Buffer.from("kept"));
    expect(await asyncCode(() => provider.renameNoReplace("new.txt", "kept.txt"))).toBe("ALREADY_EXISTS");
    expect(syncCode(() => provider.renameNoReplaceSync("new.txt", "kept.txt"))).toBe("ALREADY_EXISTS");
    expect(readFileSync(join(dir.ws, "kept.txt"), "utf8")).toBe("kept");
    await provider.renameNoReplace("new.txt", "moved.txt");
    expect(readFileSync(join(dir.ws, "moved.txt"), "utf8")).toBe("new");
    expect(provider.readDirSync(".").map((e) => e.fileName).sort()).toEqual(["kept.txt", "moved.txt"]);
  });

  it("names the path in its one-line error messages", async () => {
    const error = await rejection(() => provider.readFile("no/such/file.txt"));
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toContain("file.txt");
    expect(error.message).not.toContain("\n");
  });

  it("resolves relative paths against the first root and absolute ones inside any root", () => {
    const second = join(dir.base, "second");
    mkdirSync(second);
    writeFileSync(join(second, "s.txt"), "in the second root");
    const two = createFileProvider({ roots: [dir.ws, { path: second, name: "shared", readOnly: true }] });
    expect(two.roots().map((r) => [r.path, r.readOnly])).toEqual([
      [dir.ws, false],
      [second, true],
    ]);
    expect(two.roots()[1]!.name).toBe("shared");
    two.writeFileSync("rel.txt", Buffer.from("first"));
    expect(readFileSync(join(dir.ws, "rel.txt"), "utf8")).toBe("first");
    expect(two.readFileSync(join(second, "s.txt")).toString()).toBe("in the second root");
    expect(syncCode(() => two.readFileSync("s.txt"))).toBe("NOT_FOUND");
    expect(syncCode(() => two.writeFileSync(join(second, "t.txt"), Buffer.from("x")))).toBe("READ_ONLY");
  });
});

describe("replacement handles", () => {
  const names = (): string[] => readdirSync(dir.ws).sort();

  it("commit puts the streamed file in place of the old one, keeping its mode bits; until then a temp file holds the bytes", async () => {
    writeFileSync(join(dir.ws, "out.bin"), "old");
    chmodSync(join(dir.ws, "out.bin"), 0o640);
    const data = randomBytes(3 * 1024 * 1024);
    const h = await provider.openReplacement("out.bin");
    expect(typeof h).toBe("bigint");
    await provider.write(h, 0, data.subarray(0, 1024 * 1024));
    provider.writeSync(h, 1024 * 1024, data.subarray(1024 * 1024));
    expect(readFileSync(join(dir.ws, "out.bin"), "utf8")).toBe("old");
    const [temp, ...others] = names().filter(isReplacementTemp);
    expect({ temp: temp?.startsWith(".out.bin.deskless-"), others }).toEqual({ temp: true, others: [] });
    await provider.commitReplacement(h, true);
    expect(readFileSync(join(dir.ws, "out.bin")).equals(data)).toBe(true);
    expect(statSync(join(dir.ws, "out.bin")).mode & 0o777).toBe(0o640);
    expect(names()).toEqual(["out.bin"]);
    expect(syncCode(() => provider.closeSync(h))).toBe("BAD_HANDLE");

    const created = provider.openReplacementSync("new.txt");
    provider.writeSync(created, 0, Buffer.from("new"));
    provider.commitReplacementSync(created, false);
    expect(readFileSync(join(dir.ws, "new.txt"), "utf8")).toBe("new");
    expect(provider.stats().openHandles).toBe(0);
  });

  it("commit without replace refuses an existing file with ALREADY_EXISTS and leaves both files as they were", async () => {
    writeFileSync(join(dir.ws, "kept.txt"), "kept");
    const h = await provider.openReplacement("kept.txt");
    await provider.write(h, 0, Buffer.from("ours"));
    const error = await rejection(() => provider.commitReplacement(h, false));
    expect(error.code).toBe("ALREADY_EXISTS");
    expect(error.message).toContain("kept.txt");
    const s = provider.openReplacementSync("kept.txt");
    expect(syncCode(() => provider.commitReplacementSync(s, false))).toBe("ALREADY_EXISTS");
    expect(readFileSync(join(dir.ws, "kept.txt"), "utf8")).toBe("kept");
    expect(names()).toEqual(["kept.txt"]);
    expect(provider.stats().openHandles).toBe(0);
  });

  it("close discards the replacement: no temp file, the destination untouched or never created", async () => {
    writeFileSync(join(dir.ws, "old.txt"), "old");
    for (const name of ["old.txt", "never.txt"]) {
      const h = await provider.openReplacement(name);
      await provider.write(h, 0, Buffer.from("discarded"));
      await provider.close(h);
      expect(await asyncCode(() => provider.commitReplacement(h, true))).toBe("BAD_HANDLE");
    }
    expect(names()).toEqual(["old.txt"]);
    expect(readFileSync(join(dir.ws, "old.txt"), "utf8")).toBe("old");
  });

  it("refuses directories, paths outside and read-only roots, creating nothing", async () => {
    mkdirSync(join(dir.ws, "d"));
    expect(await asyncCode(() => provider.openReplacement("d"))).toBe("IS_A_DIRECTORY");
    expect(await asyncCode(() => provider.openReplacement("../planted.txt"))).toBe("OUTSIDE_WORKSPACE");
    const readOnly = createFileProvider({ roots: [{ path: dir.ws, readOnly: true }] });
    expect(syncCode(() => readOnly.openReplacementSync("new.txt"))).toBe("READ_ONLY");
    expect(names()).toEqual(["d"]);
    expect(readdirSync(dir.base).sort()).toEqual(["ws"]);
  });
});
