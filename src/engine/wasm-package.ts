// Finds the RunMat wasm runtime package (npm `runmat`, briefly `@runmat/wasm`) that a user installed.
// Order: an explicit folder (--wasm-package DIR), then DESKLESS_WASM_PACKAGE, then Node-style
// resolution of `runmat` and then `@runmat/wasm` from the current directory upward and from
// deskless's own install upward. deskless never bundles the runtime.
//
// Two layouts are accepted:
//   "wrapper": the npm package itself, whose ESM entry (dist/index.js) wraps wasm-bindgen's web glue
//              (dist/pkg/) and is handed the .wasm bytes;
//   "node":    a folder holding wasm-bindgen's raw Node.js build (runmat_wasm.js, CommonJS, next to
//              runmat_wasm_bg.wasm, which it loads itself), such as the package's node/ folder.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { EngineUnavailableError } from "./engine.js";

export const WASM_PACKAGE_NAMES = ["runmat", "@runmat/wasm"] as const;
export const WASM_PACKAGE_ENV = "DESKLESS_WASM_PACKAGE";

export const INSTALL_HINT =
  `install the RunMat runtime with "npm install runmat" (it was briefly published as "@runmat/wasm"), ` +
  `or point deskless at an unpacked copy with --wasm-package DIR or ${WASM_PACKAGE_ENV}=DIR`;

/** The raw wasm-bindgen Node.js build: its glue and the .wasm it loads from beside itself. */
const RAW_GLUE = "runmat_wasm.js";
const RAW_WASM = "runmat_wasm_bg.wasm";

export type WasmPackageLayout = "wrapper" | "node";

export interface WasmPackage {
  /** Package folder. */
  dir: string;
  layout: WasmPackageLayout;
  name: string;
  version: string;
  /** Absolute path of the module to load: the wrapper's ESM entry, or the raw build's CommonJS glue. */
  entry: string;
  /** Absolute path of the runtime's .wasm file. */
  wasmPath: string;
  /** How it was found: "option", "env", or "resolve:<from dir>". */
  foundBy: string;
}

export interface LocateOptions {
  packageDir?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where deskless itself is installed (defaults to this module's location). */
  selfDir?: string;
}

export function locateWasmPackage(options: LocateOptions = {}): WasmPackage {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (options.packageDir) return describePackage(resolve(cwd, options.packageDir), "option", "--wasm-package");
  const fromEnv = env[WASM_PACKAGE_ENV];
  if (fromEnv) return describePackage(resolve(cwd, fromEnv), "env", WASM_PACKAGE_ENV);
  const selfDir = options.selfDir ?? dirname(fileURLToPath(import.meta.url));
  for (const name of WASM_PACKAGE_NAMES) {
    for (const from of [cwd, selfDir]) {
      const dir = findInNodeModules(name, from);
      if (dir) return describePackage(dir, `resolve:${from}`, `node_modules/${name}`);
    }
  }
  throw new EngineUnavailableError(`the wasm engine needs the RunMat runtime package, which was not found: ${INSTALL_HINT}`);
}

/** Node's package lookup: <dir>/node_modules/<name> for dir and each of its parents. */
function findInNodeModules(name: string, from: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const candidate = join(dir, "node_modules", ...name.split("/"));
    if (existsSync(join(candidate, "package.json"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function describePackage(dir: string, foundBy: string, via: string): WasmPackage {
  const manifestPath = join(dir, "package.json");
  let manifest: Record<string, unknown> | undefined;
  let unreadable: string | undefined;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, unknown>;
  } catch (error) {
    unreadable = (error as NodeJS.ErrnoException).code === "ENOENT" ? "has no package.json" : `has an unreadable package.json (${(error as Error).message})`;
  }
  if (isRawNodeBuild(dir, manifest)) {
    return {
      dir,
      layout: "node",
      name: typeof manifest?.name === "string" ? manifest.name : "runmat-wasm (raw Node.js build)",
      version: typeof manifest?.version === "string" ? manifest.version : (parentVersion(dir) ?? "unknown"),
      entry: join(dir, RAW_GLUE),
      wasmPath: join(dir, RAW_WASM),
      foundBy,
    };
  }
  if (!manifest) throw new EngineUnavailableError(`the RunMat runtime package given by ${via} (${dir}) ${unreadable}: ${INSTALL_HINT}`);
  const entryRel = entryOf(manifest);
  const entry = resolve(dir, entryRel);
  if (!existsSync(entry)) {
    throw new EngineUnavailableError(`the RunMat runtime package at ${dir} (from ${via}) names an entry that does not exist: ${entryRel}; ${INSTALL_HINT}`);
  }
  const wasmPath = findWasm(dir, dirname(entry));
  if (!wasmPath) {
    throw new EngineUnavailableError(`the RunMat runtime package at ${dir} (from ${via}) contains no .wasm file; ${INSTALL_HINT}`);
  }
  return {
    dir,
    layout: "wrapper",
    name: typeof manifest.name === "string" ? manifest.name : "(unnamed)",
    version: typeof manifest.version === "string" ? manifest.version : "0.0.0",
    entry,
    wasmPath,
    foundBy,
  };
}

/**
 * wasm-bindgen's --target nodejs output: the glue and the .wasm side by side, in a CommonJS scope
 * (the --target web glue has the same file names but sits in an ESM scope, as dist/pkg/ does).
 */
function isRawNodeBuild(dir: string, manifest: Record<string, unknown> | undefined): boolean {
  if (!existsSync(join(dir, RAW_GLUE)) || !existsSync(join(dir, RAW_WASM))) return false;
  if (moduleScope(dir) === "module") return false;
  // A package.json that names another entry is a package, not the bare build.
  const main = typeof manifest?.main === "string" ? resolve(dir, manifest.main) : undefined;
  return main === undefined || main === join(dir, RAW_GLUE);
}

/** Node's rule for .js files: the "type" of the nearest package.json. */
function moduleScope(dir: string): string | undefined {
  for (let folder = dir; ; folder = dirname(folder)) {
    try {
      const type = (JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as Record<string, unknown>).type;
      return typeof type === "string" ? type : "commonjs";
    } catch {
      // no (readable) package.json here: look further up
    }
    if (dirname(folder) === folder) return undefined;
  }
}

/** The version of the package the raw build sits in (the npm package's node/ folder has none of its own). */
function parentVersion(dir: string): string | undefined {
  try {
    const parent = JSON.parse(readFileSync(join(dirname(dir), "package.json"), "utf8")) as Record<string, unknown>;
    return (WASM_PACKAGE_NAMES as readonly unknown[]).includes(parent.name) && typeof parent.version === "string" ? parent.version : undefined;
  } catch {
    return undefined;
  }
}

/** The ESM entry: exports["."] (node, import, default conditions), then module, then main, then index.js. */
function entryOf(manifest: Record<string, unknown>): string {
  const fromExports = exportTarget(manifest.exports);
  if (fromExports) return fromExports;
  if (typeof manifest.module === "string") return manifest.module;
  if (typeof manifest.main === "string") return manifest.main;
  return "index.js";
}

function exportTarget(exports: unknown): string | undefined {
  if (typeof exports === "string") return exports;
  if (Array.isArray(exports)) {
    for (const item of exports) {
      const target = exportTarget(item);
      if (target) return target;
    }
    return undefined;
  }
  if (!exports || typeof exports !== "object") return undefined;
  const map = exports as Record<string, unknown>;
  const keys = Object.keys(map);
  if (keys.some((key) => key.startsWith("."))) return exportTarget(map["."]);
  for (const condition of ["node", "import", "default"]) {
    if (condition in map) {
      const target = exportTarget(map[condition]);
      if (target) return target;
    }
  }
  return undefined;
}

/**
 * The runtime's .wasm: the pkg/ folder beside the entry first (the wrapper loads ./pkg/), then any
 * other pkg/ folder, then anywhere up to three levels down; *_bg.wasm preferred.
 */
function findWasm(dir: string, entryDir: string): string | undefined {
  const found: string[] = [];
  const walk = (folder: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(folder).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const full = join(folder, name);
      let isDir: boolean;
      try {
        isDir = statSync(full).isDirectory();
      } catch {
        continue;
      }
      if (isDir) {
        if (depth < 3) walk(full, depth + 1);
      } else if (name.endsWith(".wasm")) {
        found.push(full);
      }
    }
  };
  walk(dir, 0);
  const nextToEntry = `${join(entryDir, "pkg")}${sep}`;
  const place = (path: string): number => (path.startsWith(nextToEntry) ? 0 : path.includes(`${sep}pkg${sep}`) ? 2 : 4);
  const rank = (path: string): number => place(path) + (path.endsWith("_bg.wasm") ? 0 : 1);
  found.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return found[0];
}
