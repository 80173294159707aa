// deskless's own version, from its package.json. Not npm_package_version: under an npm script
// that is the version of whichever project runs the script.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "deskless";

/**
 * The version in the manifest of the package this module belongs to: the nearest package.json
 * named "deskless" above this file, whether it runs from src/ or from any layout under dist/.
 */
export function desklessVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = readManifest(join(dir, "package.json"));
    if (manifest?.name === PACKAGE_NAME && typeof manifest.version === "string") return manifest.version;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json named "${PACKAGE_NAME}" above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The manifest at `path`; undefined when there is none or it cannot be read as JSON. */
function readManifest(path: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as { name?: unknown; version?: unknown };
  } catch {
    return undefined;
  }
}
