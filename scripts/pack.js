#!/usr/bin/env node
// Packs what `npm run build` produced, building nothing: the main package and this machine's
// platform packages of both addons (@deskless/core-<platform>, @deskless/engine-<platform>), into
// dist-packages/ or the folder given, and prints their sizes (`--json`: npm pack's records).
// The platform manifests come from `napi create-npm-dirs`; the main package is what npm packs of
// the checkout (its `files`), with the platform package of every napi target as an optional
// dependency and without the contributor's scripts, so installing it never starts a build.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { NapiCli, readNapiConfig } from "@napi-rs/cli";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values, positionals } = parseArgs({ options: { json: { type: "boolean" } }, allowPositionals: true });
const out = resolve(positionals[0] ?? join(root, "dist-packages"));
// napi create-npm-dirs writes only inside the project, so the packages are staged here.
const stage = join(root, "dist-packages", "stage");

const core = await readNapiConfig(join(root, "package.json"));
const engineConfig = join(root, "native", "node-engine", "napi.json");
const addons = [
  { crate: "native/node", configPath: undefined, packageName: core.packageName, binaryName: core.binaryName },
  { crate: "native/node-engine", configPath: engineConfig, ...JSON.parse(readFileSync(engineConfig, "utf8")) },
];
const version = core.packageJson.version;

function npmPack(dir) {
  const stdout = execFileSync("npm", ["pack", dir, "--json", "--ignore-scripts", "--pack-destination", out], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return JSON.parse(stdout)[0];
}

rmSync(stage, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const records = [];

// The main package: the files `npm pack` would take from the checkout, and a manifest for users.
const mainStage = join(stage, "deskless");
const listing = JSON.parse(
  execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
)[0];
for (const { path } of listing.files) {
  if (path === "package.json") continue;
  mkdirSync(dirname(join(mainStage, path)), { recursive: true });
  copyFileSync(join(root, path), join(mainStage, path));
}
const manifest = { ...core.packageJson, optionalDependencies: {} };
delete manifest.scripts;
delete manifest.devDependencies;
for (const addon of addons) {
  for (const target of core.targets) manifest.optionalDependencies[`${addon.packageName}-${target.platformArchABI}`] = version;
}
writeFileSync(join(mainStage, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
records.push(npmPack(mainStage));

// One platform package per addon for each target whose addon this machine built.
for (const addon of addons) {
  const npmDir = join(stage, addon.packageName.replace(/^@[^/]+\//, ""));
  await new NapiCli().createNpmDirs({ cwd: root, packageJsonPath: "package.json", configPath: addon.configPath, npmDir: relative(root, npmDir) });
  const built = core.targets.filter((target) => existsSync(join(root, addon.crate, `${addon.binaryName}.${target.platformArchABI}.node`)));
  if (built.length === 0) {
    console.error(`pack: no ${addon.binaryName}.<platform>.node in ${addon.crate}: run npm run build:native first`);
    process.exit(1);
  }
  for (const target of built) {
    const binary = `${addon.binaryName}.${target.platformArchABI}.node`;
    const dir = join(npmDir, target.platformArchABI);
    copyFileSync(join(root, addon.crate, binary), join(dir, binary));
    copyFileSync(join(root, "LICENSE"), join(dir, "LICENSE"));
    records.push(npmPack(dir));
  }
}
rmSync(stage, { recursive: true, force: true });

if (values.json) {
  process.stdout.write(`${JSON.stringify(records.map((r) => ({ ...r, path: join(out, r.filename) })), null, 2)}\n`);
} else {
  const size = (bytes) => (bytes < 1e6 ? `${(bytes / 1e3).toFixed(0)} kB` : `${(bytes / 1e6).toFixed(1)} MB`);
  for (const r of records) {
    process.stdout.write(`${relative(process.cwd(), join(out, r.filename))}: ${size(r.size)} packed, ${size(r.unpackedSize)} unpacked, ${r.entryCount} files\n`);
  }
}
