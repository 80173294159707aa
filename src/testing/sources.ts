// The files a `deskless test` run reads: every .m file beneath the given paths, read once. RunMat
// freezes them into the run's snapshot and decides which of them hold tests.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { engineAddon } from "../native.js";

export interface TestSourceFile {
  /** The folder the file was found beneath (absolute). */
  root: string;
  /** The path beneath `root`, with `/`. */
  relativePath: string;
  content: string;
}

/** A path the user named that does not exist. */
export class MissingTestPathError extends Error {
  constructor(readonly path: string) {
    super(`test path ${path} does not exist`);
    this.name = "MissingTestPathError";
  }
}

/**
 * Where tests are when no path is given: the RunMat project's `[test] roots` (runmat.toml),
 * else ./tests, else the current folder.
 */
export function defaultTestRoots(cwd: string): string[] {
  const project = engineAddon().projectTestRoots(cwd);
  if (project?.length) return project;
  const tests = join(cwd, "tests");
  return existsSync(tests) && statSync(tests).isDirectory() ? [tests] : [cwd];
}

function walk(dir: string, found: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    // Hidden folders (.git) and installed packages hold no project tests.
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, found);
    else if (entry.isFile() && entry.name.endsWith(".m")) found.push(path);
  }
}

/** Reads the .m files beneath each path (a folder, or one file); a missing path throws. */
export function collectTestSources(paths: string[], cwd: string): TestSourceFile[] {
  const sources = new Map<string, TestSourceFile>();
  for (const given of paths) {
    const path = resolve(cwd, given);
    if (!existsSync(path)) throw new MissingTestPathError(given);
    const isFile = statSync(path).isFile();
    const root = isFile ? dirname(path) : path;
    const files: string[] = [];
    if (isFile) files.push(path);
    else walk(path, files);
    for (const file of files) {
      if (sources.has(file)) continue;
      const relativePath = isFile ? basename(file) : relative(root, file).split(sep).join("/");
      sources.set(file, { root, relativePath, content: readFileSync(file, "utf8") });
    }
  }
  return [...sources.values()];
}
