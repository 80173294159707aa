// The installed (or checked-out) deskless package: its folder and its package.json.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface PackageManifest {
  name: string;
  version: string;
  optionalDependencies?: Record<string, string>;
}

let found: { root: string; manifest: PackageManifest } | undefined;

function find(): { root: string; manifest: PackageManifest } {
  if (found) return found;
  // From src/ (tests) or dist/src/ (the build) up to the folder whose package.json is deskless's.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const path = join(dir, "package.json");
    if (existsSync(path)) {
      const manifest = JSON.parse(readFileSync(path, "utf8")) as PackageManifest;
      if (manifest.name === "deskless") return (found = { root: dir, manifest });
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("deskless: cannot find the package's own package.json");
    dir = parent;
  }
}

/** The package's folder: a contributor's checkout, or node_modules/deskless. */
export function packageRoot(): string {
  return find().root;
}

export function packageManifest(): PackageManifest {
  return find().manifest;
}
