// The one loader of the napi addons. The core addon holds the file provider; the engine addon
// holds runmat-core (about 118 MB) and its own copy of the provider. Each is taken from, in order:
// the file its environment variable names, a build in this checkout (native/<crate>/), then the
// platform package npm installed beside deskless (@deskless/<addon>-<platform>).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { familySync, MUSL } from "detect-libc";
import type * as Core from "../native/node/index.js";
import type * as Engine from "../native/node-engine/index.js";
import { packageManifest, packageRoot } from "./package.js";

export type NativeAddon = typeof Core;
export type EngineAddon = typeof Engine;

/** A missing addon, or one that does not load on this machine; the message says what to do. */
export class AddonUnavailableError extends Error {
  readonly code = "ADDON_UNAVAILABLE";
  override readonly name = "AddonUnavailableError";
}

interface AddonSpec {
  what: string;
  envVar: string;
  crateDir: string;
  binaryName: string;
  packageName: string;
}

// binaryName and packageName as in package.json's napi field and native/node-engine/napi.json.
const CORE: AddonSpec = { what: "the native addon", envVar: "DESKLESS_NATIVE_ADDON", crateDir: "native/node", binaryName: "deskless", packageName: "@deskless/core" };
const ENGINE: AddonSpec = { what: "the RunMat engine addon", envVar: "DESKLESS_ENGINE_ADDON", crateDir: "native/node-engine", binaryName: "deskless-engine", packageName: "@deskless/engine" };

const FROM_SOURCE = 'build deskless from source (README, "Build from source")';

/** napi-rs's name for this platform, as in the platform packages' names: linux-x64-gnu, darwin-arm64. */
export function platformName(): string {
  const parts: string[] = [process.platform, process.arch];
  if (process.platform === "linux") parts.push(familySync() === MUSL ? "musl" : "gnu");
  else if (process.platform === "win32") parts.push("msvc");
  return parts.join("-");
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

function loadFrom<T>(path: string, where: string, spec: AddonSpec, platform: string): T {
  try {
    return createRequire(import.meta.url)(path) as T;
  } catch (error) {
    throw new AddonUnavailableError(`${spec.what} ${where} does not load on ${platform} (${firstLine(error)}); reinstall deskless on this machine or ${FROM_SOURCE}`);
  }
}

function missing(spec: AddonSpec, platform: string, packageName: string): AddonUnavailableError {
  const root = packageRoot();
  if (existsSync(join(root, spec.crateDir, "Cargo.toml"))) {
    return new AddonUnavailableError(`${spec.what} is not built in this checkout (${spec.crateDir}) for ${platform}: run npm run build:native`);
  }
  if (packageName in (packageManifest().optionalDependencies ?? {})) {
    return new AddonUnavailableError(
      `${spec.what} for ${platform} is not installed: add the package ${packageName} where deskless is installed (npm install -g ${packageName} for a global install), or ${FROM_SOURCE}`,
    );
  }
  return new AddonUnavailableError(`deskless has no prebuilt ${spec.what.replace(/^the /, "")} for ${platform}: ${FROM_SOURCE}`);
}

function load<T>(spec: AddonSpec): T {
  const platform = platformName();
  const override = process.env[spec.envVar];
  if (override) return loadFrom(override, `at ${override} (${spec.envVar})`, spec, platform);
  const local = join(packageRoot(), spec.crateDir, `${spec.binaryName}.${platform}.node`);
  if (existsSync(local)) return loadFrom(local, `built at ${local}`, spec, platform);
  const packageName = `${spec.packageName}-${platform}`;
  let path: string;
  try {
    path = createRequire(import.meta.url).resolve(packageName);
  } catch {
    throw missing(spec, platform, packageName);
  }
  return loadFrom(path, `in ${packageName}`, spec, platform);
}

let core: NativeAddon | undefined;
let engine: EngineAddon | undefined;

/** The core addon (the file provider). Throws an AddonUnavailableError when there is none. */
export function native(): NativeAddon {
  return (core ??= load<NativeAddon>(CORE));
}

/** The engine addon (runmat-core sessions). Throws an AddonUnavailableError when there is none. */
export function engineAddon(): EngineAddon {
  return (engine ??= load<EngineAddon>(ENGINE));
}
