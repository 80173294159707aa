// The bulk helpers of the desktop plan (openFileHandle, readChunk, writeChunk, closeHandle), backed
// by the native handle table.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFsBindings, type FsBindings } from "../../src/fs/bindings.js";
import { codeOf, expectSync, scratch, text, type Scratch } from "./helpers.js";

let s: Scratch;
let fs: FsBindings;

beforeEach(() => {
  s = scratch("deskless-handles-");
  fs = createFsBindings({ roots: [s.ws, s.data] });
});
afterEach(() => {
  fs.dispose();
  s.cleanup();
});

describe("handle helpers", () => {
  it("read chunks at offsets from a file opened for reading; short only at the end", () => {
    writeFileSync(join(s.ws, "big.bin"), Buffer.from("0123456789abcdef"));
    const handle = fs.openFileHandle("/big.bin", "read");
    expect(typeof handle).toBe("bigint");
    const first = fs.readChunk(handle, 0, 4);
    expectSync(first);
    expect(text(first)).toBe("0123");
    expect(text(fs.readChunk(handle, 10, 4))).toBe("abcd");
    expect(text(fs.readChunk(handle, 14, 100))).toBe("ef");
    expect(fs.readChunk(handle, 16, 8).byteLength).toBe(0);
    fs.closeHandle(handle);
  });

  it("chunks are private copies the caller may write into", () => {
    writeFileSync(join(s.ws, "m.bin"), Buffer.alloc(1024 * 1024, 5));
    const handle = fs.openFileHandle("/m.bin", "read");
    const chunk = fs.readChunk(handle, 0, 1024 * 1024);
    chunk[0] = 6;
    expect(fs.readChunk(handle, 0, 1)[0]).toBe(5);
    fs.closeHandle(handle);
    expect(readFileSync(join(s.ws, "m.bin"))[0]).toBe(5);
  });

  it("write chunks at offsets; the file holds them once the handle is closed", () => {
    const handle = fs.openFileHandle("/data/out.bin", "write");
    expect(fs.writeChunk(handle, 0, new TextEncoder().encode("hello "))).toBe(6);
    expect(fs.writeChunk(handle, 6, new TextEncoder().encode("world"))).toBe(5);
    expect(fs.writeChunk(handle, 0, new TextEncoder().encode("J"))).toBe(1);
    fs.closeHandle(handle);
    expect(readFileSync(join(s.data, "out.bin"), "utf8")).toBe("Jello world");
  });

  it("'write' truncates, 'append' keeps what was there, 'readWrite' edits in place", () => {
    writeFileSync(join(s.ws, "t.txt"), "old content");
    let handle = fs.openFileHandle("/t.txt", "write");
    fs.writeChunk(handle, 0, new TextEncoder().encode("new"));
    fs.closeHandle(handle);
    expect(readFileSync(join(s.ws, "t.txt"), "utf8")).toBe("new");

    handle = fs.openFileHandle("/t.txt", "readWrite");
    fs.writeChunk(handle, 1, new TextEncoder().encode("E"));
    expect(text(fs.readChunk(handle, 0, 3))).toBe("nEw");
    fs.closeHandle(handle);
    expect(readFileSync(join(s.ws, "t.txt"), "utf8")).toBe("nEw");
  });

  it("'createNew' refuses an existing file; native open flags are accepted as the mode", () => {
    writeFileSync(join(s.ws, "exists"), "x");
    expect(codeOf(() => fs.openFileHandle("/exists", "createNew"))).toBe("ALREADY_EXISTS");
    const handle = fs.openFileHandle("/fresh", { write: true, createNew: true });
    fs.writeChunk(handle, 0, new Uint8Array([1, 2]));
    fs.closeHandle(handle);
    expect([...readFileSync(join(s.ws, "fresh"))]).toEqual([1, 2]);
  });

  it("a handle opened for reading refuses writes", () => {
    writeFileSync(join(s.ws, "r.txt"), "r");
    const handle = fs.openFileHandle("/r.txt", "read");
    expect(codeOf(() => fs.writeChunk(handle, 0, new Uint8Array([1])))).toBe("READ_ONLY");
    fs.closeHandle(handle);
    expect(readFileSync(join(s.ws, "r.txt"), "utf8")).toBe("r");
  });

  it("a closed or unknown handle is BAD_HANDLE", () => {
    writeFileSync(join(s.ws, "c.txt"), "c");
    const handle = fs.openFileHandle("/c.txt");
    fs.closeHandle(handle);
    expect(codeOf(() => fs.readChunk(handle, 0, 1))).toBe("BAD_HANDLE");
    expect(codeOf(() => fs.closeHandle(handle))).toBe("BAD_HANDLE");
    expect(codeOf(() => fs.readChunk(987654321n, 0, 1))).toBe("BAD_HANDLE");
    expect(codeOf(() => fs.readChunk("nope" as unknown as bigint, 0, 1))).toBe("BAD_HANDLE");
  });

  it("accepts a handle passed back as a plain number", () => {
    writeFileSync(join(s.ws, "n.txt"), "num");
    const handle = fs.openFileHandle("/n.txt");
    expect(text(fs.readChunk(Number(handle) as unknown as bigint, 0, 3))).toBe("num");
    fs.closeHandle(handle);
  });

  it("refuses an unknown mode", () => {
    writeFileSync(join(s.ws, "m.txt"), "m");
    expect(codeOf(() => fs.openFileHandle("/m.txt", "rw" as never))).toBe("INVALID_ARGUMENT");
  });

  it("dispose closes the handles that are still open", () => {
    writeFileSync(join(s.ws, "d.txt"), "d");
    const a = fs.openFileHandle("/d.txt");
    fs.openFileHandle("/d.txt");
    const closed = fs.openFileHandle("/d.txt");
    fs.closeHandle(closed);
    expect(fs.provider.stats().openHandles).toBe(2);
    fs.dispose();
    expect(fs.provider.stats().openHandles).toBe(0);
    expect(codeOf(() => fs.readChunk(a, 0, 1))).toBe("BAD_HANDLE");
  });
});
