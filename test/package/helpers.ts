// Packing and installing deskless as a user gets it: the tarballs of scripts/pack.js (the same
// step as `npm run package`, without its build), npm install into an empty folder, and the
// installed `deskless` command, all with a PATH that holds node and npm and nothing else.
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Packed {
  name: string;
  version: string;
  path: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

/** Packs the main package and this machine's platform packages into `out`; main comes first. */
export function packTarballs(out: string): Packed[] {
  const stdout = execFileSync(process.execPath, [join(ROOT, "scripts", "pack.js"), "--json", out], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return JSON.parse(stdout) as Packed[];
}

function which(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      return realpathSync(join(dir, name));
    } catch {
      // not in this folder
    }
  }
  throw new Error(`${name} is not on the PATH`);
}

/** A folder with only `node` and `npm` in it, to be the whole PATH: no cargo, rustc, cmake or cc. */
export function toolFreeBin(dir: string): string {
  mkdirSync(dir, { recursive: true });
  symlinkSync(process.execPath, join(dir, "node"));
  symlinkSync(which("npm"), join(dir, "npm"));
  return dir;
}

/** The environment a user's shell would give: no npm script variables, no deskless overrides. */
export function userEnv(bin: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([key]) => !key.startsWith("npm_") && !key.startsWith("DESKLESS_"));
  return { ...Object.fromEntries(kept), PATH: bin, ...extra };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function run(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  const start = performance.now();
  return new Promise((resolve) => {
    execFile(file, args, { ...options, encoding: "utf8", timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - start });
    });
  });
}

/** npm install of the tarballs into the empty folder `dir`, with npm's cache as it is. */
export function npmInstall(dir: string, tarballs: string[], bin: string, extraArgs: string[] = []): Promise<Run> {
  mkdirSync(dir, { recursive: true });
  return run(join(bin, "npm"), ["install", "--prefer-offline", "--no-audit", "--no-fund", ...extraArgs, ...tarballs], { cwd: dir, env: userEnv(bin) });
}

/** Runs the installed `deskless` (node_modules/.bin/deskless in `installDir`) in `cwd`. */
export function deskless(installDir: string, args: string[], cwd: string, bin: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return run(join(installDir, "node_modules", ".bin", "deskless"), args, { cwd, env: userEnv(bin, env) });
}

export interface InstalledPackage {
  dir: string;
  manifest: { name: string; scripts?: Record<string, string>; optionalDependencies?: Record<string, string> };
}

/** Every package under a node_modules folder, nested ones included. */
export function installedPackages(nodeModules: string): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  const visit = (dir: string): void => {
    found.push({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) });
    const nested = join(dir, "node_modules");
    if (readdirSync(dir).includes("node_modules")) walk(nested);
  };
  const walk = (modules: string): void => {
    for (const name of readdirSync(modules)) {
      if (name.startsWith(".")) continue;
      if (name.startsWith("@")) for (const scoped of readdirSync(join(modules, name))) visit(join(modules, name, scoped));
      else visit(join(modules, name));
    }
  };
  walk(nodeModules);
  return found;
}

/** Paths of the files under `dir` whose names end with `suffix`. */
export function filesEndingWith(dir: string, suffix: string): string[] {
  return (readdirSync(dir, { recursive: true, encoding: "utf8" }) as string[]).filter((path) => path.endsWith(suffix)).sort();
}
