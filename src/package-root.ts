// deskless's own package: the folder of the nearest package.json named "deskless" above this
// module. Walking up holds whether the code runs from src/ or from any layout under dist/, and as a
// dependency inside another project's node_modules.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "deskless";

interface Manifest {
  name?: unknown;
  version?: unknown;
}

/** The manifest at `path`; undefined when there is none or it cannot be read as JSON. */
function readManifest(path: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

function ownManifest(): { root: string; manifest: Manifest } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = readManifest(join(dir, "package.json"));
    if (manifest?.name === PACKAGE_NAME) return { root: dir, manifest };
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`deskless: no package.json named "${PACKAGE_NAME}" above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The folder that holds deskless's package.json. */
export function packageRoot(): string {
  return ownManifest().root;
}

/**
 * deskless's version from its package.json. Not npm_package_version: under an npm script that is
 * the version of whichever project runs the script.
 */
export function packageVersion(): string {
  const { version } = ownManifest().manifest;
  if (typeof version !== "string") throw new Error(`deskless: the package.json in ${packageRoot()} has no version`);
  return version;
}
