// The one loader of the napi addon. Everything else imports the addon through here.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Addon from "../native/node/binding.cjs";

export type NativeAddon = typeof Addon;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "deskless") return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("deskless: cannot find the package root to load the native addon");
    dir = parent;
  }
}

let cached: NativeAddon | undefined;

/** The addon's loader: native/node/binding.cjs, or DESKLESS_NATIVE_ADDON (a development build elsewhere). */
export function native(): NativeAddon {
  if (!cached) {
    const require = createRequire(import.meta.url);
    const loader = process.env.DESKLESS_NATIVE_ADDON ?? join(packageRoot(), "native", "node", "binding.cjs");
    cached = require(loader) as NativeAddon;
  }
  return cached;
}
