// FsBindings against the runtime's filesystem provider contract (runmat-contracts.md section 1),
// on real files through the real native provider.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setLogLevel } from "../../src/log.js";
import { createFsBindings, FsError, type FsBindings } from "../../src/fs/bindings.js";
import { codeOf, expectSync, scratch, text, thrown, upstreamIsNotFound, type Scratch } from "./helpers.js";

// Failed writes are logged at warn on purpose; the suites assert on the ledger instead.
setLogLevel("silent");

let s: Scratch;
let fs: FsBindings;

beforeEach(() => {
  s = scratch();
  fs = createFsBindings({ roots: [s.ws, s.data] });
});
afterEach(() => {
  fs.dispose();
  s.cleanup();
});

// The methods upstream looks up on the provider object (JsFsFuncs::new), every one optional except
// readFile/writeFile/removeFile/metadata/readDir; a present non-function fails initRunMat.
const PROVIDER_METHODS = [
  "readFile", "readMany", "writeFile", "removeFile", "metadata", "symlinkMetadata", "readDir", "canonicalize",
  "createDir", "createDirAll", "removeDir", "removeDirAll", "rename", "setReadonly",
] as const;

describe("shape", () => {
  it("offers every provider method as a function, plus the dialog hooks and handle helpers", () => {
    const record = fs as unknown as Record<string, unknown>;
    for (const name of [...PROVIDER_METHODS, "selectFileOpen", "selectFileSave", "selectDirectory", "openFileHandle", "readChunk", "writeChunk", "closeHandle"]) {
      expect(typeof record[name], name).toBe("function");
    }
  });

  it("methods keep working when detached from the object (they are bound)", () => {
    writeFileSync(join(s.ws, "a.txt"), "bound");
    const { readFile } = fs;
    expect(text(readFile("/a.txt"))).toBe("bound");
  });

  it("answers every method synchronously", () => {
    writeFileSync(join(s.ws, "a.txt"), "x");
    mkdirSync(join(s.ws, "d"));
    const results = [
      fs.readFile("/a.txt"),
      fs.readMany(["/a.txt"]),
      fs.writeFile("/b.txt", new Uint8Array([1])),
      fs.metadata("/a.txt"),
      fs.symlinkMetadata("/a.txt"),
      fs.readDir("/"),
      fs.canonicalize("/a.txt"),
      fs.createDir("/c"),
      fs.createDirAll("/c/e/f"),
      fs.removeDirAll("/c"),
      fs.removeDir("/d"),
      fs.rename("/b.txt", "/b2.txt"),
      fs.setReadonly("/b2.txt", false),
      fs.removeFile("/b2.txt"),
      fs.selectFileOpen({}),
      fs.selectFileSave({}),
      fs.selectDirectory({}),
    ];
    for (const value of results) expectSync(value);
  });

  it("refuses construction without roots, and with two roots claiming one name", () => {
    expect(codeOf(() => createFsBindings({ roots: [] }))).toBe("INVALID_ARGUMENT");
    mkdirSync(join(s.base, "other"));
    mkdirSync(join(s.base, "other", "data"));
    const clash = thrown(() => createFsBindings({ roots: [s.ws, s.data, join(s.base, "other", "data")] }));
    expect(clash.code).toBe("INVALID_ARGUMENT");
    expect(clash.message).toContain('"data"');
  });

  it("reports a root that does not exist, naming it", () => {
    const missing = join(s.base, "no-such-root");
    const error = thrown(() => createFsBindings({ roots: [missing] }));
    expect(error).toBeInstanceOf(FsError);
    expect(error.message).toContain("no-such-root");
  });
});

describe("readFile", () => {
  it("returns the whole file as a Uint8Array, directly", () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    writeFileSync(join(s.ws, "bin.dat"), bytes);
    const got = fs.readFile("/bin.dat");
    expect(got).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(got).equals(bytes)).toBe(true);
  });

  it("maps / onto the first root, relative paths onto /, and named roots onto their folders", () => {
    mkdirSync(join(s.ws, "sub"));
    writeFileSync(join(s.ws, "sub", "a.txt"), "in ws");
    writeFileSync(join(s.data, "b.txt"), "in data");
    expect(text(fs.readFile("/sub/a.txt"))).toBe("in ws");
    expect(text(fs.readFile("sub/a.txt"))).toBe("in ws");
    expect(text(fs.readFile("/sub/./../sub//a.txt"))).toBe("in ws");
    expect(text(fs.readFile("/data/b.txt"))).toBe("in data");
    expect(text(fs.readFile("/sub/../data/b.txt"))).toBe("in data");
  });

  it("returns a private copy: writing into it changes neither the file nor later reads", () => {
    writeFileSync(join(s.ws, "big.bin"), Buffer.alloc(2 * 1024 * 1024, 7));
    const first = fs.readFile("/big.bin");
    first[0] = 1;
    first[first.length - 1] = 2;
    expect(fs.readFile("/big.bin")[0]).toBe(7);
    expect(readFileSync(join(s.ws, "big.bin"))[0]).toBe(7);
  });

  it("with zeroCopyReads returns the same bytes (a view the caller must not write into)", () => {
    writeFileSync(join(s.ws, "big.bin"), Buffer.alloc(2 * 1024 * 1024, 9));
    const zero = createFsBindings({ roots: [s.ws], zeroCopyReads: true });
    try {
      const view = zero.readFile("/big.bin");
      expect(view.byteLength).toBe(2 * 1024 * 1024);
      expect(view[0]).toBe(9);
      expect(Buffer.from(view).equals(readFileSync(join(s.ws, "big.bin")))).toBe(true);
    } finally {
      zero.dispose();
    }
  });

  it("reads an empty file as zero bytes", () => {
    writeFileSync(join(s.ws, "empty"), "");
    const got = fs.readFile("/empty");
    expect(got).toBeInstanceOf(Uint8Array);
    expect(got.byteLength).toBe(0);
  });

  it("throws NotFound (code NotFound, name NotFoundError) for a missing file, by upstream's rule", () => {
    const error = thrown(() => fs.readFile("/missing.txt"));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("NotFoundError");
    expect(error.code).toBe("NotFound");
    expect(error.message).toContain("/missing.txt");
    expect(upstreamIsNotFound(error)).toBe(true);
  });

  it("throws NotFound for a missing folder along the way, in a named root too", () => {
    expect(upstreamIsNotFound(thrown(() => fs.readFile("/nope/a.txt")))).toBe(true);
    expect(upstreamIsNotFound(thrown(() => fs.readFile("/data/nope.txt")))).toBe(true);
  });

  it("refuses a directory with IS_A_DIRECTORY, which is not NotFound", () => {
    mkdirSync(join(s.ws, "dir"));
    const error = thrown(() => fs.readFile("/dir"));
    expect(error.code).toBe("IS_A_DIRECTORY");
    expect(error.name).toBe("FsError");
    expect(upstreamIsNotFound(error)).toBe(false);
  });

  it("refuses a NUL byte in a path", () => {
    expect(codeOf(() => fs.readFile("/a\0b"))).toBe("INVALID_ARGUMENT");
  });
});

describe("the NotFound rule", () => {
  it("is upstream's exact rule (checked on the rule itself)", () => {
    expect(upstreamIsNotFound("File NotFound here")).toBe(true);
    expect(upstreamIsNotFound({ code: "notFOUND" })).toBe(true);
    expect(upstreamIsNotFound({ name: "notfounderror" })).toBe(true);
    expect(upstreamIsNotFound(Object.assign(new Error("x"), { code: "ENOENT" }))).toBe(false);
    expect(upstreamIsNotFound(Object.assign(new Error("x"), { code: "NOT_FOUND" }))).toBe(false);
    expect(upstreamIsNotFound(new Error("NotFound in the message only"))).toBe(false);
  });

  it("holds for every operation on a missing path", () => {
    const ops: Array<[string, () => unknown]> = [
      ["readFile", () => fs.readFile("/gone")],
      ["metadata", () => fs.metadata("/gone")],
      ["symlinkMetadata", () => fs.symlinkMetadata("/gone")],
      ["readDir", () => fs.readDir("/gone")],
      ["canonicalize", () => fs.canonicalize("/gone")],
      ["removeFile", () => fs.removeFile("/gone")],
      ["removeDir", () => fs.removeDir("/gone")],
      ["removeDirAll", () => fs.removeDirAll("/gone")],
      ["rename", () => fs.rename("/gone", "/elsewhere")],
      ["setReadonly", () => fs.setReadonly("/gone", true)],
      ["createDir (missing parent)", () => fs.createDir("/gone/child")],
      ["writeFile (missing parent)", () => fs.writeFile("/gone/child.txt", new Uint8Array([1]))],
      ["openFileHandle", () => fs.openFileHandle("/gone", "read")],
    ];
    for (const [name, run] of ops) {
      const error = thrown(run);
      expect(upstreamIsNotFound(error), name).toBe(true);
      expect(error.code, name).toBe("NotFound");
      expect(error.name, name).toBe("NotFoundError");
    }
  });

  it("never marks other failures as not found", () => {
    mkdirSync(join(s.ws, "dir"));
    writeFileSync(join(s.ws, "dir", "f"), "x");
    writeFileSync(join(s.ws, "file"), "x");
    const ro = createFsBindings({ roots: [s.ws], readOnly: true });
    try {
      const failures = [
        thrown(() => fs.readFile("/dir")),
        thrown(() => fs.readFile("/../x")),
        thrown(() => fs.createDir("/dir")),
        thrown(() => fs.removeDir("/dir")),
        thrown(() => fs.readDir("/file")),
        thrown(() => fs.removeFile("/")),
        thrown(() => ro.writeFile("/file", new Uint8Array([1]))),
      ];
      expect(failures.map((e) => e.code)).toEqual([
        "IS_A_DIRECTORY", "OUTSIDE_WORKSPACE", "ALREADY_EXISTS", "DIRECTORY_NOT_EMPTY", "NOT_A_DIRECTORY", "INVALID_ARGUMENT", "READ_ONLY",
      ]);
      for (const error of failures) {
        expect(upstreamIsNotFound(error)).toBe(false);
        expect(error.name).toBe("FsError");
        expect(error.message.length).toBeGreaterThan(10);
      }
    } finally {
      ro.dispose();
    }
  });
});

describe("writeFile", () => {
  it("writes the whole file, replacing what was there, and returns nothing", () => {
    writeFileSync(join(s.ws, "out.txt"), "a much longer old content");
    expect(fs.writeFile("/out.txt", new TextEncoder().encode("new"))).toBeUndefined();
    expect(readFileSync(join(s.ws, "out.txt"), "utf8")).toBe("new");
  });

  it("accepts Uint8Array, ArrayBuffer and other views (only the view's bytes)", () => {
    fs.writeFile("/u8", new Uint8Array([1, 2, 3]));
    fs.writeFile("/ab", new Uint8Array([4, 5]).buffer);
    const backing = new Uint8Array([9, 9, 6, 7, 9]);
    fs.writeFile("/view", new DataView(backing.buffer, 2, 2));
    fs.writeFile("/i16", new Int16Array([0x0102]));
    expect([...readFileSync(join(s.ws, "u8"))]).toEqual([1, 2, 3]);
    expect([...readFileSync(join(s.ws, "ab"))]).toEqual([4, 5]);
    expect([...readFileSync(join(s.ws, "view"))]).toEqual([6, 7]);
    expect(readFileSync(join(s.ws, "i16")).length).toBe(2);
  });

  it("creates new files, in named roots too", () => {
    fs.writeFile("/data/new.bin", new Uint8Array([42]));
    expect([...readFileSync(join(s.data, "new.bin"))]).toEqual([42]);
  });

  it("refuses data that is not bytes", () => {
    const error = thrown(() => fs.writeFile("/x", "text" as unknown as Uint8Array));
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(existsSync(join(s.ws, "x"))).toBe(false);
  });

  it("throws and records a failed write in the ledger, naming the file", () => {
    mkdirSync(join(s.ws, "taken"));
    const error = thrown(() => fs.writeFile("/taken", new Uint8Array([1, 2, 3])));
    expect(error.code).toBe("IS_A_DIRECTORY");
    const failures = fs.writeFailures();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ op: "writeFile", path: "/taken", hostPath: join(s.ws, "taken"), code: "IS_A_DIRECTORY", bytes: 3 });
    expect(failures[0]!.message).toContain("/taken");
  });

  it("takeWriteFailures hands each failure over once; writeFailures keeps the history", () => {
    thrown(() => fs.writeFile("/no/dir/a", new Uint8Array([1])));
    expect(fs.takeWriteFailures().map((f) => f.path)).toEqual(["/no/dir/a"]);
    expect(fs.takeWriteFailures()).toEqual([]);
    thrown(() => fs.writeFile("/../b", new Uint8Array([1])));
    expect(fs.takeWriteFailures().map((f) => [f.path, f.code])).toEqual([["/../b", "OUTSIDE_WORKSPACE"]]);
    expect(fs.writeFailures()).toHaveLength(2);
  });

  it("records nothing for a successful write", () => {
    fs.writeFile("/fine", new Uint8Array([1]));
    expect(fs.writeFailures()).toEqual([]);
  });
});

describe("read-only", () => {
  it("a read-only FsBindings refuses every change with READ_ONLY and still reads", () => {
    writeFileSync(join(s.ws, "keep.txt"), "keep");
    mkdirSync(join(s.ws, "dir"));
    const ro = createFsBindings({ roots: [s.ws], readOnly: true });
    try {
      expect(text(ro.readFile("/keep.txt"))).toBe("keep");
      const changes: Array<() => unknown> = [
        () => ro.writeFile("/keep.txt", new Uint8Array([1])),
        () => ro.writeFile("/new.txt", new Uint8Array([1])),
        () => ro.removeFile("/keep.txt"),
        () => ro.createDir("/d2"),
        () => ro.createDirAll("/d2/e"),
        () => ro.removeDir("/dir"),
        () => ro.removeDirAll("/dir"),
        () => ro.rename("/keep.txt", "/moved.txt"),
        () => ro.setReadonly("/keep.txt", true),
        () => ro.openFileHandle("/keep.txt", "write"),
        () => ro.openFileHandle("/keep.txt", "append"),
      ];
      for (const change of changes) expect(codeOf(change)).toBe("READ_ONLY");
      expect(readFileSync(join(s.ws, "keep.txt"), "utf8")).toBe("keep");
      expect(existsSync(join(s.ws, "new.txt"))).toBe(false);
      expect(existsSync(join(s.ws, "d2"))).toBe(false);
      expect(existsSync(join(s.ws, "dir"))).toBe(true);
      expect(ro.roots().every((root) => root.readOnly)).toBe(true);
      expect(ro.metadata("/keep.txt").readonly).toBe(true);
    } finally {
      ro.dispose();
    }
  });

  it("a read-only root refuses writes while the others accept them", () => {
    writeFileSync(join(s.data, "ref.csv"), "1,2");
    const mixed = createFsBindings({ roots: [s.ws, { path: s.data, readOnly: true }] });
    try {
      mixed.writeFile("/ok.txt", new Uint8Array([1]));
      expect(existsSync(join(s.ws, "ok.txt"))).toBe(true);
      expect(codeOf(() => mixed.writeFile("/data/ref.csv", new Uint8Array([9])))).toBe("READ_ONLY");
      expect(codeOf(() => mixed.removeFile("/data/ref.csv"))).toBe("READ_ONLY");
      expect(readFileSync(join(s.data, "ref.csv"), "utf8")).toBe("1,2");
      expect(mixed.writeFailures().map((f) => f.code)).toEqual(["READ_ONLY"]);
      expect(mixed.metadata("/data/ref.csv").readonly).toBe(true);
      expect(mixed.metadata("/ok.txt").readonly).toBe(false);
    } finally {
      mixed.dispose();
    }
  });
});

describe("metadata and symlinkMetadata", () => {
  it("describe files and folders in the runtime's shape", () => {
    writeFileSync(join(s.ws, "f.txt"), "12345");
    mkdirSync(join(s.ws, "d"));
    const file = fs.metadata("/f.txt");
    expect(file.fileType).toBe("file");
    expect(file.len).toBe(5);
    expect(file.readonly).toBe(false);
    expect(typeof file.modified).toBe("number");
    expect(Math.abs((file.modified as number) - statSync(join(s.ws, "f.txt")).mtimeMs)).toBeLessThan(1000);
    expect(fs.metadata("/d").fileType).toBe("dir");
  });

  it("describe the virtual root and named roots as folders", () => {
    expect(fs.metadata("/").fileType).toBe("dir");
    expect(fs.metadata("/data").fileType).toBe("dir");
    expect(fs.metadata("").fileType).toBe("dir");
  });

  it("metadata follows a symlink inside the workspace; symlinkMetadata does not", () => {
    writeFileSync(join(s.ws, "target.txt"), "abc");
    symlinkSync("target.txt", join(s.ws, "link.txt"));
    expect(fs.metadata("/link.txt")).toMatchObject({ fileType: "file", len: 3 });
    expect(fs.symlinkMetadata("/link.txt").fileType).toBe("symlink");
    expect(fs.symlinkMetadata("/target.txt").fileType).toBe("file");
  });
});

describe("readDir", () => {
  it("lists entries with virtual paths and file types", () => {
    mkdirSync(join(s.ws, "d"));
    writeFileSync(join(s.ws, "d", "x.m"), "");
    mkdirSync(join(s.ws, "d", "sub"));
    const entries = fs.readDir("/d").sort((a, b) => a.fileName.localeCompare(b.fileName));
    expect(entries).toEqual([
      { path: "/d/sub", fileName: "sub", fileType: "dir" },
      { path: "/d/x.m", fileName: "x.m", fileType: "file" },
    ]);
  });

  it("shows named roots at /, hiding a same-named entry of the first root", () => {
    writeFileSync(join(s.ws, "top.txt"), "");
    mkdirSync(join(s.ws, "data"));
    writeFileSync(join(s.ws, "data", "hidden.txt"), "");
    writeFileSync(join(s.data, "visible.txt"), "v");
    const top = fs.readDir("/");
    expect(top.filter((e) => e.fileName === "data")).toEqual([{ path: "/data", fileName: "data", fileType: "dir" }]);
    expect(top.map((e) => e.path).sort()).toEqual(["/data", "/top.txt"]);
    expect(fs.readDir("/data").map((e) => e.path)).toEqual(["/data/visible.txt"]);
    expect(text(fs.readFile("/data/visible.txt"))).toBe("v");
    expect(upstreamIsNotFound(thrown(() => fs.readFile("/data/hidden.txt")))).toBe(true);
  });

  it("refuses a file with NOT_A_DIRECTORY", () => {
    writeFileSync(join(s.ws, "f"), "");
    expect(codeOf(() => fs.readDir("/f"))).toBe("NOT_A_DIRECTORY");
  });
});

describe("readMany", () => {
  it("returns bytes in request order, null for missing files", () => {
    writeFileSync(join(s.ws, "a"), "A");
    writeFileSync(join(s.data, "b"), "B");
    const got = fs.readMany(["/data/b", "/missing", "/a"]);
    expect(got).toHaveLength(3);
    expect(text(got[0]!)).toBe("B");
    expect(got[1]).toBeNull();
    expect(text(got[2]!)).toBe("A");
  });

  it("throws for a refused path instead of hiding it as missing", () => {
    expect(codeOf(() => fs.readMany(["/../etc/passwd"]))).toBe("OUTSIDE_WORKSPACE");
    expect(codeOf(() => fs.readMany("/a" as unknown as string[]))).toBe("INVALID_ARGUMENT");
  });
});

describe("canonicalize", () => {
  it("returns the virtual path with dots and symlinks resolved", () => {
    mkdirSync(join(s.ws, "real"));
    writeFileSync(join(s.ws, "real", "f.txt"), "");
    symlinkSync("real", join(s.ws, "alias"));
    expect(fs.canonicalize("/real/../real/./f.txt")).toBe("/real/f.txt");
    expect(fs.canonicalize("/alias/f.txt")).toBe("/real/f.txt");
    expect(fs.canonicalize("real/f.txt")).toBe("/real/f.txt");
    expect(fs.canonicalize("/")).toBe("/");
  });

  it("maps back through a root given by a symlinked path", () => {
    symlinkSync(s.ws, join(s.base, "ws-link"));
    writeFileSync(join(s.ws, "f.txt"), "");
    const linked = createFsBindings({ roots: [join(s.base, "ws-link")] });
    try {
      expect(linked.canonicalize("/f.txt")).toBe("/f.txt");
      expect(linked.toVirtualPath(join(s.ws, "f.txt"))).toBe("/f.txt");
      expect(linked.toVirtualPath(join(s.base, "ws-link", "f.txt"))).toBe("/f.txt");
    } finally {
      linked.dispose();
    }
  });

  it("keeps named roots in the virtual namespace", () => {
    writeFileSync(join(s.data, "d.txt"), "");
    expect(fs.canonicalize("/data/d.txt")).toBe("/data/d.txt");
    expect(fs.canonicalize("/data")).toBe("/data");
  });
});

describe("createDir, createDirAll, removeDir, removeDirAll", () => {
  it("create one level, or all levels", () => {
    fs.createDir("/one");
    expect(statSync(join(s.ws, "one")).isDirectory()).toBe(true);
    fs.createDirAll("/a/b/c");
    expect(statSync(join(s.ws, "a", "b", "c")).isDirectory()).toBe(true);
    fs.createDirAll("/a/b/c");
    fs.createDir("/data/inside");
    expect(statSync(join(s.data, "inside")).isDirectory()).toBe(true);
  });

  it("createDir refuses an existing entry and a missing parent", () => {
    fs.createDir("/one");
    expect(codeOf(() => fs.createDir("/one"))).toBe("ALREADY_EXISTS");
    expect(codeOf(() => fs.createDir("/x/y"))).toBe("NotFound");
  });

  it("removeDir removes only empty folders; removeDirAll removes trees", () => {
    fs.createDirAll("/t/u");
    writeFileSync(join(s.ws, "t", "u", "f"), "");
    expect(codeOf(() => fs.removeDir("/t"))).toBe("DIRECTORY_NOT_EMPTY");
    fs.createDir("/empty");
    fs.removeDir("/empty");
    expect(existsSync(join(s.ws, "empty"))).toBe(false);
    fs.removeDirAll("/t");
    expect(existsSync(join(s.ws, "t"))).toBe(false);
  });

  it("removeDir refuses a file", () => {
    writeFileSync(join(s.ws, "f"), "");
    expect(codeOf(() => fs.removeDir("/f"))).toBe("NOT_A_DIRECTORY");
    expect(existsSync(join(s.ws, "f"))).toBe(true);
  });

  it("never removes or renames a workspace root (the provider's INVALID_ARGUMENT, naming the root)", () => {
    writeFileSync(join(s.ws, "f"), "");
    for (const path of ["/", "", "/data", "/data/"]) {
      const refused = thrown(() => fs.removeDirAll(path));
      expect(refused.code).toBe("INVALID_ARGUMENT");
      expect(refused.message).toContain("workspace root");
      expect(codeOf(() => fs.removeDir(path))).toBe("INVALID_ARGUMENT");
      expect(codeOf(() => fs.removeFile(path))).toBe("INVALID_ARGUMENT");
      expect(codeOf(() => fs.rename(path, "/moved"))).toBe("INVALID_ARGUMENT");
    }
    expect(codeOf(() => fs.rename("/f", "/data"))).toBe("INVALID_ARGUMENT");
    expect(existsSync(join(s.ws, "f"))).toBe(true);
    expect(statSync(s.data).isDirectory()).toBe(true);
  });

  it("sets a root's own read-only bits, as the provider allows for any folder", () => {
    fs.setReadonly("/data", true);
    expect(statSync(s.data).mode & 0o222).toBe(0);
    expect(fs.metadata("/data").readonly).toBe(true);
    fs.setReadonly("/data", false);
    expect(statSync(s.data).mode & 0o200).toBe(0o200);
  });
});

describe("removeFile, rename, setReadonly", () => {
  it("removeFile deletes a file and refuses a folder", () => {
    writeFileSync(join(s.ws, "f"), "");
    fs.removeFile("/f");
    expect(existsSync(join(s.ws, "f"))).toBe(false);
    mkdirSync(join(s.ws, "d"));
    expect(codeOf(() => fs.removeFile("/d"))).toBe("IS_A_DIRECTORY");
    expect(existsSync(join(s.ws, "d"))).toBe(true);
  });

  it("rename moves within a root and between roots", () => {
    writeFileSync(join(s.ws, "a.txt"), "A");
    fs.rename("/a.txt", "/b.txt");
    expect(readFileSync(join(s.ws, "b.txt"), "utf8")).toBe("A");
    expect(existsSync(join(s.ws, "a.txt"))).toBe(false);
    fs.rename("/b.txt", "/data/c.txt");
    expect(readFileSync(join(s.data, "c.txt"), "utf8")).toBe("A");
    expect(existsSync(join(s.ws, "b.txt"))).toBe(false);
  });

  it("setReadonly flips the write permission bits and metadata reports it", () => {
    writeFileSync(join(s.ws, "f"), "");
    chmodSync(join(s.ws, "f"), 0o644);
    fs.setReadonly("/f", true);
    expect(statSync(join(s.ws, "f")).mode & 0o222).toBe(0);
    expect(fs.metadata("/f").readonly).toBe(true);
    fs.setReadonly("/f", false);
    expect(statSync(join(s.ws, "f")).mode & 0o200).toBe(0o200);
    expect(fs.metadata("/f").readonly).toBe(false);
  });
});

describe("path mapping helpers", () => {
  it("toHostPath and toVirtualPath are inverse for paths inside the roots", () => {
    expect(fs.toHostPath("/a/b.txt")).toBe(join(s.ws, "a", "b.txt"));
    expect(fs.toHostPath("/data/c")).toBe(join(s.data, "c"));
    expect(fs.toVirtualPath(join(s.ws, "a", "b.txt"))).toBe("/a/b.txt");
    expect(fs.toVirtualPath(join(s.data, "c"))).toBe("/data/c");
    expect(fs.toVirtualPath(s.ws)).toBe("/");
    expect(fs.toVirtualPath(join(s.base, "outside"))).toBeUndefined();
  });

  it("roots() lists the scheme", () => {
    expect(fs.roots()).toEqual([
      { name: "", virtualPath: "/", hostPath: s.ws, readOnly: false },
      { name: "data", virtualPath: "/data", hostPath: s.data, readOnly: false },
    ]);
  });

  it("takes a root's name from the option when given", () => {
    const named = createFsBindings({ roots: [s.ws, { path: s.data, name: "inputs" }] });
    try {
      writeFileSync(join(s.data, "i.txt"), "I");
      expect(text(named.readFile("/inputs/i.txt"))).toBe("I");
      expect(named.readDir("/").map((e) => e.path)).toContain("/inputs");
    } finally {
      named.dispose();
    }
  });
});
