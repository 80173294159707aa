#!/usr/bin/env node
// Finds or provides CMake >= 3.26 for the static HDF5 build inside the engine's dependencies.
// When the machine's cmake is older, the `cmake` package from PyPI is installed once into
// ~/.cache/deskless/tools. Run directly, it prints the cmake to use (for cargo's $CMAKE).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MIN_CMAKE = [3, 26];
const toolsDir = process.env.DESKLESS_TOOLS_DIR ?? join(homedir(), ".cache", "deskless", "tools");

function say(message) {
  process.stderr.write(`ensure-cmake: ${message}\n`);
}

function cmakeVersion(binary) {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8" });
  const match = result.status === 0 ? /cmake version (\d+)\.(\d+)/.exec(result.stdout) : null;
  return match ? [Number(match[1]), Number(match[2])] : null;
}

function isRecentEnough(version) {
  return version !== null && (version[0] > MIN_CMAKE[0] || (version[0] === MIN_CMAKE[0] && version[1] >= MIN_CMAKE[1]));
}

export function ensureCmake() {
  if (process.env.CMAKE && isRecentEnough(cmakeVersion(process.env.CMAKE))) return process.env.CMAKE;
  if (isRecentEnough(cmakeVersion("cmake"))) return "cmake";
  const target = join(toolsDir, "cmake");
  const binary = join(target, "cmake", "data", "bin", "cmake");
  if (!isRecentEnough(cmakeVersion(binary))) {
    say(`cmake >= ${MIN_CMAKE.join(".")} not found; installing the PyPI 'cmake' package into ${target}`);
    const pip = spawnSync("python3", ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade", "--target", target, `cmake>=${MIN_CMAKE.join(".")}`], { stdio: "inherit" });
    if (pip.status !== 0 || !existsSync(binary)) {
      say(`could not provide cmake >= ${MIN_CMAKE.join(".")}: install it (or python3 with pip) and run npm install again`);
      process.exit(1);
    }
  }
  return binary;
}


if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${ensureCmake()}\n`);
}
