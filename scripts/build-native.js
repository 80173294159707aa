#!/usr/bin/env node
// Builds the napi addon (release profile) into native/node/binding.cjs + deskless.<triple>.node.
// Honours CARGO_TARGET_DIR so CI can keep the heavy engine build outside the clone.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ensureCmake } from "./ensure-cmake.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = { ...process.env, CMAKE: ensureCmake() };
const args = [
  "napi", "build", "--platform", "--release",
  "--manifest-path", "native/node/Cargo.toml",
  "--package-json-path", "package.json",
  "--output-dir", "native/node",
  "--js", "binding.cjs",
  "--dts", "binding.d.cts",
  ...process.argv.slice(2),
];
const result = spawnSync("npx", args, { cwd: root, stdio: "inherit", env });
process.exit(result.status ?? 1);
