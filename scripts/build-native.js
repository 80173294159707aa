#!/usr/bin/env node
// Builds the two napi addons (release profile) for this machine: the core (file provider) into
// native/node/deskless.<platform>.node and the engine into
// native/node-engine/deskless-engine.<platform>.node, each with its generated typings
// (index.d.ts, committed: type checks need no build). Extra arguments go to both `napi build`s.
// Honours CARGO_TARGET_DIR so CI can keep the heavy engine build outside the clone.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ensureCmake } from "./ensure-cmake.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = { ...process.env, CMAKE: ensureCmake() };
const addons = [
  { crate: "native/node", config: [] },
  // The engine's binaryName and packageName; the targets and the version come from package.json.
  { crate: "native/node-engine", config: ["--config-path", "native/node-engine/napi.json"] },
];
for (const { crate, config } of addons) {
  const args = [
    "napi", "build", "--platform", "--release",
    "--manifest-path", `${crate}/Cargo.toml`,
    "--package-json-path", "package.json",
    ...config,
    "--output-dir", crate,
    "--no-js",
    "--dts", "index.d.ts",
    ...process.argv.slice(2),
  ];
  const result = spawnSync("npx", args, { cwd: root, stdio: "inherit", env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
