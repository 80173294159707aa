// Finding the runtime package: --wasm-package, DESKLESS_WASM_PACKAGE, then node_modules lookup of
// `runmat` and `@runmat/wasm` from the current directory and from deskless's own install; and telling
// the npm wrapper layout from the raw wasm-bindgen Node.js build.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineUnavailableError } from "../../src/engine/engine.js";
import { locateWasmPackage } from "../../src/engine/wasm-package.js";
import { tempDir } from "../support/workspace.js";
import { FAKE_DIR, installCopy, RUNTIME } from "./helpers.js";

const installFake = (dir: string, name: string) => installCopy(FAKE_DIR, dir, name);

let dir: string;
let cleanup: () => void;
let nowhere: string;

beforeEach(() => {
  ({ dir, cleanup } = tempDir("deskless-lookup-"));
  nowhere = join(dir, "nowhere");
  mkdirSync(nowhere);
});
afterEach(() => cleanup());

function missing(run: () => unknown): EngineUnavailableError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(EngineUnavailableError);
    return error as EngineUnavailableError;
  }
  expect.fail("expected EngineUnavailableError");
}

describe("locateWasmPackage", () => {
  it("uses the folder given as an option: the npm wrapper layout, its ESM entry and the .wasm beside it", () => {
    const pkg = locateWasmPackage({ packageDir: FAKE_DIR, env: {}, cwd: nowhere, selfDir: nowhere });
    expect(pkg).toMatchObject({
      dir: FAKE_DIR,
      layout: "wrapper",
      name: "runmat",
      entry: join(FAKE_DIR, "dist", "index.js"),
      wasmPath: join(FAKE_DIR, "dist", "pkg", "runmat_wasm_bg.wasm"),
      foundBy: "option",
    });
  });

  it("takes a folder with wasm-bindgen's Node.js glue as the raw build, versioned by the package around it", () => {
    const pkg = locateWasmPackage({ packageDir: join(FAKE_DIR, "node"), env: {}, cwd: nowhere, selfDir: nowhere });
    expect(pkg).toMatchObject({
      dir: join(FAKE_DIR, "node"),
      layout: "node",
      version: "0.6.2-deskless-fake",
      entry: join(FAKE_DIR, "node", "runmat_wasm.js"),
      wasmPath: join(FAKE_DIR, "node", "runmat_wasm_bg.wasm"),
    });
  });

  it("reads both layouts of the runtime the suites run on", () => {
    const wrapper = locateWasmPackage({ packageDir: RUNTIME.dir, env: {}, cwd: nowhere, selfDir: nowhere });
    expect(wrapper).toMatchObject({ layout: "wrapper", name: "runmat", entry: join(RUNTIME.dir, "dist", "index.js"), wasmPath: join(RUNTIME.dir, "dist", "pkg", "runmat_wasm_bg.wasm") });
    const raw = locateWasmPackage({ packageDir: RUNTIME.nodeDir, env: {}, cwd: nowhere, selfDir: nowhere });
    expect(raw).toMatchObject({ layout: "node", version: wrapper.version, entry: join(RUNTIME.nodeDir, "runmat_wasm.js") });
  });

  it("does not take the web glue (ESM, same file names) for the raw Node.js build", () => {
    const pkgDir = join(installFake(join(dir, "web"), "runmat"), "dist", "pkg");
    expect(() => locateWasmPackage({ packageDir: pkgDir, env: {}, cwd: dir, selfDir: nowhere })).toThrow(EngineUnavailableError);
  });

  it("resolves a relative option against the current directory", () => {
    const installed = installFake(dir, "runmat");
    const pkg = locateWasmPackage({ packageDir: "node_modules/runmat", env: {}, cwd: dir, selfDir: nowhere });
    expect(pkg.dir).toBe(installed);
  });

  it("uses DESKLESS_WASM_PACKAGE when no option is given, and the option over it", () => {
    const other = installFake(join(dir, "elsewhere"), "runmat");
    expect(locateWasmPackage({ env: { DESKLESS_WASM_PACKAGE: other }, cwd: nowhere, selfDir: nowhere })).toMatchObject({ dir: other, foundBy: "env" });
    expect(locateWasmPackage({ packageDir: FAKE_DIR, env: { DESKLESS_WASM_PACKAGE: other }, cwd: nowhere, selfDir: nowhere }).dir).toBe(FAKE_DIR);
  });

  it("finds node_modules/runmat from the current directory upward", () => {
    const installed = installFake(dir, "runmat");
    const deep = join(dir, "project", "src");
    mkdirSync(deep, { recursive: true });
    const pkg = locateWasmPackage({ env: {}, cwd: deep, selfDir: nowhere });
    expect(pkg.dir).toBe(installed);
    expect(pkg.foundBy).toBe(`resolve:${deep}`);
  });

  it("accepts the short-lived @runmat/wasm name, but prefers runmat", () => {
    const scoped = installFake(dir, "@runmat/wasm");
    expect(locateWasmPackage({ env: {}, cwd: dir, selfDir: nowhere }).dir).toBe(scoped);
    const plain = installFake(dir, "runmat");
    expect(locateWasmPackage({ env: {}, cwd: dir, selfDir: nowhere }).dir).toBe(plain);
  });

  it("falls back to deskless's own install", () => {
    const install = join(dir, "global", "lib", "node_modules", "deskless", "dist", "src", "engine");
    mkdirSync(install, { recursive: true });
    const installed = installFake(join(dir, "global", "lib"), "runmat");
    const pkg = locateWasmPackage({ env: {}, cwd: nowhere, selfDir: install });
    expect(pkg.dir).toBe(installed);
    expect(pkg.foundBy).toBe(`resolve:${install}`);
  });

  it("says how to install it and how to point deskless at it when it is nowhere, in one line", () => {
    const error = missing(() => locateWasmPackage({ env: {}, cwd: nowhere, selfDir: nowhere }));
    expect(error.code).toBe("ENGINE_UNAVAILABLE");
    expect(error.message).not.toContain("\n");
    expect(error.message).toContain("npm install runmat");
    expect(error.message).toContain("--wasm-package");
    expect(error.message).toContain("DESKLESS_WASM_PACKAGE");
  });

  it("reports a given folder without package.json, entry or .wasm, naming it", () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const noManifest = missing(() => locateWasmPackage({ packageDir: empty, env: {}, cwd: dir, selfDir: nowhere }));
    expect(noManifest.message).toContain(empty);
    expect(noManifest.message).toContain("package.json");

    const noWasm = installFake(join(dir, "nowasm"), "runmat");
    rmSync(join(noWasm, "dist", "pkg"), { recursive: true });
    rmSync(join(noWasm, "node"), { recursive: true });
    expect(missing(() => locateWasmPackage({ env: { DESKLESS_WASM_PACKAGE: noWasm }, cwd: dir, selfDir: nowhere })).message).toContain(".wasm");

    const noEntry = installFake(join(dir, "noentry"), "runmat");
    writeFileSync(join(noEntry, "package.json"), JSON.stringify({ name: "runmat", main: "./missing.js" }));
    expect(missing(() => locateWasmPackage({ packageDir: noEntry, env: {}, cwd: dir, selfDir: nowhere })).message).toContain("missing.js");
  });

  it("reads the entry from exports conditions, module or main", () => {
    const pkgDir = installFake(join(dir, "shapes"), "runmat");
    writeFileSync(join(pkgDir, "alt.js"), "export {};\n");
    writeFileSync(join(pkgDir, "index.js"), "export {};\n");
    const entry = (manifest: object) => {
      writeFileSync(join(pkgDir, "package.json"), JSON.stringify({ name: "runmat", ...manifest }));
      return locateWasmPackage({ packageDir: pkgDir, env: {}, cwd: dir, selfDir: nowhere }).entry;
    };
    expect(entry({ exports: { ".": { types: "./x.d.ts", import: "./alt.js" } } })).toBe(join(pkgDir, "alt.js"));
    expect(entry({ exports: "./alt.js" })).toBe(join(pkgDir, "alt.js"));
    expect(entry({ exports: { node: "./alt.js", default: "./index.js" } })).toBe(join(pkgDir, "alt.js"));
    expect(entry({ module: "./alt.js", main: "./index.js" })).toBe(join(pkgDir, "alt.js"));
    expect(entry({ main: "./alt.js" })).toBe(join(pkgDir, "alt.js"));
    expect(entry({})).toBe(join(pkgDir, "index.js"));
  });
});
