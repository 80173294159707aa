// Headless dialog answers, and the virtual path scheme as FsBindings hands it through.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFsBindings } from "../../src/fs/bindings.js";
import { HeadlessDialogs, loadDialogAnswers } from "../../src/fs/dialogs.js";
import { codeOf, scratch, thrown, type Scratch } from "./helpers.js";

let s: Scratch;
beforeEach(() => {
  s = scratch("deskless-dialogs-");
});
afterEach(() => s.cleanup());

describe("dialog hooks", () => {
  it("cancel every dialog by default (null), and remember that they were raised", () => {
    const fs = createFsBindings({ roots: [s.ws] });
    try {
      expect(fs.selectFileOpen({ title: "Pick", multiselect: false })).toBeNull();
      expect(fs.selectFileSave({ title: "Save" })).toBeNull();
      expect(fs.selectDirectory({})).toBeNull();
      expect(fs.dialogs.history).toEqual([
        { kind: "open", request: { title: "Pick", multiselect: false }, answered: false },
        { kind: "save", request: { title: "Save" }, answered: false },
        { kind: "directory", request: {}, answered: false },
      ]);
    } finally {
      fs.dispose();
    }
  });

  it("give preset answers in order, then cancel", () => {
    const fs = createFsBindings({
      roots: [s.ws],
      dialogAnswers: {
        open: [{ paths: ["/data/a.csv", "b.csv"], filterIndex: 1 }, null, "/c.csv"],
        save: ["/out/../result.mat"],
        directory: [{ path: "/data" }],
      },
    });
    try {
      expect(fs.selectFileOpen({})).toEqual({ paths: ["/data/a.csv", "/b.csv"], filterIndex: 1 });
      expect(fs.selectFileOpen({})).toBeNull();
      expect(fs.selectFileOpen({})).toEqual({ paths: ["/c.csv"] });
      expect(fs.selectFileOpen({})).toBeNull();
      expect(fs.selectFileSave({})).toEqual({ path: "/result.mat" });
      expect(fs.selectFileSave({})).toBeNull();
      expect(fs.selectDirectory({})).toEqual({ path: "/data" });
      expect(fs.dialogs.history.map((h) => h.answered)).toEqual([true, false, true, false, true, false, true]);
    } finally {
      fs.dispose();
    }
  });

  it("refuse answers that leave the workspace or are malformed", () => {
    expect(codeOf(() => new HeadlessDialogs({ save: ["/../escape.txt"] }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => new HeadlessDialogs({ open: [{ paths: [] }] }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => new HeadlessDialogs({ open: [{ paths: ["/a"], filterIndex: -1 }] }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => new HeadlessDialogs({ folder: [] } as never))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => new HeadlessDialogs({ save: "/a" } as never))).toBe("INVALID_ARGUMENT");
  });

  it("load answers from a JSON file (--answer-dialogs FILE)", () => {
    const file = join(s.base, "answers.json");
    writeFileSync(file, JSON.stringify({ open: ["/in.csv"], save: [null, { path: "/out.csv", filterIndex: 0 }] }));
    const dialogs = new HeadlessDialogs(loadDialogAnswers(file));
    expect(dialogs.selectFileOpen({})).toEqual({ paths: ["/in.csv"] });
    expect(dialogs.selectFileSave({})).toBeNull();
    expect(dialogs.selectFileSave({})).toEqual({ path: "/out.csv", filterIndex: 0 });
  });

  it("say which file is wrong when it cannot be read or parsed", () => {
    const bad = join(s.base, "bad.json");
    writeFileSync(bad, "{ not json");
    const parse = thrown(() => loadDialogAnswers(bad));
    expect(parse.code).toBe("INVALID_ARGUMENT");
    expect(parse.message).toContain("bad.json");
    const missing = thrown(() => loadDialogAnswers(join(s.base, "none.json")));
    expect(missing.message).toContain("none.json");
  });
});

// The scheme itself is decided and tested in native/fs (tests/virtual_paths.rs); these check that
// FsBindings hands it through unchanged.
describe("virtual path scheme", () => {
  function folder(...parts: string[]): string {
    const path = join(s.base, ...parts);
    mkdirSync(path, { recursive: true });
    return path;
  }

  it("maps / to the first root and /<name> to the others, and back", () => {
    const ref = folder("opt", "ref");
    const fs = createFsBindings({ roots: [s.ws, s.data, { path: ref, name: "reference" }] });
    try {
      expect(fs.toHostPath("/x/./y.m")).toBe(join(s.ws, "x", "y.m"));
      expect(fs.toHostPath("/")).toBe(s.ws);
      expect(fs.toHostPath("/data/z")).toBe(join(s.data, "z"));
      expect(fs.toHostPath("/reference/r.csv")).toBe(join(ref, "r.csv"));
      expect(fs.toHostPath("/ref/r.csv")).toBe(join(s.ws, "ref", "r.csv"));
      expect(codeOf(() => fs.toHostPath("/a/../../b"))).toBe("OUTSIDE_WORKSPACE");
      expect(fs.toVirtualPath(join(s.data, "z"))).toBe("/data/z");
      expect(fs.toVirtualPath(join(s.ws, "data", "hidden"))).toBeUndefined();
      expect(fs.toVirtualPath(`${s.ws}x${sep}b`)).toBeUndefined();
      expect(fs.roots().map((r) => [r.name, r.virtualPath, r.hostPath])).toEqual([
        ["", "/", s.ws],
        ["data", "/data", s.data],
        ["reference", "/reference", ref],
      ]);
    } finally {
      fs.dispose();
    }
  });

  it("maps host paths back to the most specific root", () => {
    const inputs = folder("ws", "inputs");
    const fs = createFsBindings({ roots: [s.ws, { path: inputs, name: "in" }] });
    try {
      expect(fs.toVirtualPath(join(inputs, "a.csv"))).toBe("/in/a.csv");
      expect(fs.toVirtualPath(join(s.ws, "other", "b"))).toBe("/other/b");
    } finally {
      fs.dispose();
    }
  });

  it("refuses root names that cannot be folder names, or that two roots share", () => {
    const x1 = folder("b", "x");
    const x2 = folder("c", "x");
    expect(codeOf(() => createFsBindings({ roots: [s.ws, { path: s.data, name: "x/y" }] }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => createFsBindings({ roots: [s.ws, { path: s.data, name: ".." }] }))).toBe("INVALID_ARGUMENT");
    expect(thrown(() => createFsBindings({ roots: [s.ws, x1, x2] })).message).toContain("already taken");
    expect(codeOf(() => createFsBindings({ roots: [] }))).toBe("INVALID_ARGUMENT");
  });
});
