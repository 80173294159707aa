#!/usr/bin/env node
// Compiles the TypeScript into dist/ and copies the addons' typings (native/*/index.d.ts) to the
// paths dist/src/native.d.ts imports them from, so the declarations that ship are complete.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
if (result.status !== 0) process.exit(result.status ?? 1);
for (const crate of ["native/node", "native/node-engine"]) {
  mkdirSync(join(root, "dist", crate), { recursive: true });
  copyFileSync(join(root, crate, "index.d.ts"), join(root, "dist", crate, "index.d.ts"));
}
