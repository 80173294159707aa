// Headless dialog answers, and the virtual path scheme on its own (no filesystem involved).
import { writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFsBindings } from "../../src/fs/bindings.js";
import { HeadlessDialogs, loadDialogAnswers } from "../../src/fs/dialogs.js";
import { mapRoots, normaliseVirtual, VirtualPathMap } from "../../src/fs/virtual-paths.js";
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

describe("virtual path scheme", () => {
  const map = new VirtualPathMap(mapRoots([{ path: "/srv/ws" }, { path: "/mnt/data" }, { path: "/opt/ref", name: "reference" }]));

  it("normalises dots and slashes and refuses climbing above /", () => {
    expect(normaliseVirtual("a//b/./c/../d")).toBe("/a/b/d");
    expect(normaliseVirtual("")).toBe("/");
    expect(normaliseVirtual("/..x/y")).toBe("/..x/y");
    expect(codeOf(() => normaliseVirtual("/a/../../b"))).toBe("OUTSIDE_WORKSPACE");
    expect(codeOf(() => normaliseVirtual("a\0b"))).toBe("INVALID_ARGUMENT");
  });

  it("maps / to the first root and /<name> to the others", () => {
    expect(map.toHost("/x/y.m").hostPath).toBe(["", "srv", "ws", "x", "y.m"].join(sep));
    expect(map.toHost("/").hostPath).toBe("/srv/ws");
    expect(map.toHost("/data/z").hostPath).toBe(["", "mnt", "data", "z"].join(sep));
    expect(map.toHost("/reference").relative).toBe("");
    expect(map.toHost("/reference/r.csv").root.name).toBe("reference");
    expect(map.toHost("/ref/r.csv").hostPath).toBe(["", "srv", "ws", "ref", "r.csv"].join(sep));
  });

  it("maps host paths back, preferring the most specific root and hiding shadowed entries", () => {
    const nested = new VirtualPathMap(mapRoots([{ path: "/srv/ws" }, { path: "/srv/ws/inputs", name: "in" }]));
    expect(nested.toVirtual("/srv/ws/inputs/a.csv")).toBe("/in/a.csv");
    expect(nested.toVirtual("/srv/ws/other/b")).toBe("/other/b");
    expect(nested.toVirtual("/srv/wsx/b")).toBeUndefined();
    expect(map.toVirtual("/srv/ws/data/hidden")).toBeUndefined();
    expect(map.toVirtual("/mnt/data")).toBe("/data");
  });

  it("refuses root names that cannot be folder names", () => {
    expect(codeOf(() => mapRoots([{ path: "/a" }, { path: "/b", name: "x/y" }]))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => mapRoots([{ path: "/a" }, { path: "/b", name: ".." }]))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => mapRoots([{ path: "/a" }, { path: "/b/x" }, { path: "/c/x" }]))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => mapRoots([]))).toBe("INVALID_ARGUMENT");
  });
});
