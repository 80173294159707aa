// Shared pieces of the wasm engine suites: the runtime they run on (test/support/wasm-runtime.ts) and
// ways to install a package as npm would.
import { cpSync, mkdirSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";

export { FAKE_DIR, LAYOUTS, RUNTIME } from "../support/wasm-runtime.js";

/** Installs a copy of `source` as <dir>/node_modules/<name>, as npm would. */
export function installCopy(source: string, dir: string, name: string): string {
  const target = join(dir, "node_modules", ...name.split("/"));
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true });
  return target;
}

/** Links `source` as <dir>/node_modules/<name> (npm link; cheap for the 65 MB real package). */
export function installLink(source: string, dir: string, name: string): string {
  const target = join(dir, "node_modules", ...name.split("/"));
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(source, target, "dir");
  return target;
}
