// deskless as users get it: the tarballs `npm run package` makes (packed here from the build the
// suite already has), installed by npm into empty folders with only node and npm on the PATH,
// then used through the installed `deskless` command and `import("deskless")` from that folder.
// Network: npm reads the dependencies' packuments from its cache or the registry (npm ci does not
// cache them), and asks the registry for the optional platform packages of other targets.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { startDaemonDouble } from "../fixtures/daemon-double/server.js";
import { BIN } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";
import { deskless, filesEndingWith, installedPackages, npmInstall, packTarballs, ROOT, run, toolFreeBin, userEnv, type Packed, type Run } from "./helpers.js";

const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; napi: { targets: string[] } };
const hello = join(ROOT, "examples", "hello.m");

let tmp: { dir: string; cleanup: () => void };
let bin: string;
let main: Packed;
let core: Packed;
let engine: Packed;
let platform: string;
let full: string;
let fullInstall: Run;

/** A folder with one script and one data file, for the installed CLI to work in. */
function workspace(name: string): string {
  const dir = join(tmp.dir, name);
  mkdirSync(join(dir, "sub"), { recursive: true });
  copyFileSync(hello, join(dir, "hello.m"));
  writeFileSync(join(dir, "data.txt"), "12345");
  return dir;
}

function oneErrorLine(result: Run): string {
  expect(result.stderr).toMatch(/^deskless: [^\n]+\n$/);
  return result.stderr;
}

beforeAll(async () => {
  tmp = tempDir("deskless-install-");
  const packed = packTarballs(join(tmp.dir, "tarballs"));
  main = packed[0]!;
  core = packed.find((p) => p.name.startsWith("@deskless/core-"))!;
  engine = packed.find((p) => p.name.startsWith("@deskless/engine-"))!;
  platform = core.name.slice("@deskless/core-".length);
  bin = toolFreeBin(join(tmp.dir, "bin"));
  full = join(tmp.dir, "full");
  fullInstall = await npmInstall(full, [main.path, core.path, engine.path], bin);
}, 240_000);
afterAll(() => tmp?.cleanup());

describe("the packed tarballs", () => {
  it("hold only what ships: dist/src, the addons' typings, bin, the README and the licence", () => {
    const paths = main.files.map((f) => f.path);
    for (const path of paths) expect(path).toMatch(/^(package\.json|README\.md|LICENSE|bin\/deskless\.js|dist\/src\/.+\.(js|d\.ts)|dist\/native\/node(-engine)?\/index\.d\.ts)$/);
    expect(paths).toEqual(expect.arrayContaining(["LICENSE", "README.md", "bin/deskless.js", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/cli/main.js", "dist/native/node/index.d.ts", "dist/native/node-engine/index.d.ts"]));
    expect(core.files.map((f) => f.path).sort()).toEqual(["LICENSE", "README.md", `deskless.${platform}.node`, "package.json"]);
    expect(engine.files.map((f) => f.path).sort()).toEqual(["LICENSE", "README.md", `deskless-engine.${platform}.node`, "package.json"]);
    expect([core.version, engine.version, main.version]).toEqual([manifest.version, manifest.version, manifest.version]);
  });
});

describe("npm install of the tarballs", () => {
  it("takes under 30 s, and nothing in the installed tree can start a build", () => {
    expect(fullInstall.stderr).toBe("");
    expect(fullInstall.code).toBe(0);
    expect(fullInstall.ms).toBeLessThan(30_000);
    const packages = installedPackages(join(full, "node_modules"));
    // npm runs these three (and node-gyp for a binding.gyp) when it installs a registry tarball.
    for (const { manifest: m } of packages) {
      expect({ name: m.name, scripts: Object.keys(m.scripts ?? {}).filter((s) => /^(pre|post)?install$/.test(s)) }).toEqual({ name: m.name, scripts: [] });
    }
    expect(packages.find((p) => p.manifest.name === "deskless")!.manifest.scripts).toBeUndefined();
    expect(filesEndingWith(join(full, "node_modules"), "binding.gyp")).toEqual([]);
    expect(filesEndingWith(join(full, "node_modules"), ".node")).toEqual([
      `@deskless/core-${platform}/deskless.${platform}.node`,
      `@deskless/engine-${platform}/deskless-engine.${platform}.node`,
    ]);
    const installed = packages.find((p) => p.manifest.name === "deskless")!.manifest;
    const expected = manifest.napi.targets.length * 2;
    expect(Object.keys(installed.optionalDependencies ?? {})).toHaveLength(expected);
  });
});

describe("the installed deskless command", () => {
  it("--version prints the package's version", async () => {
    const result = await deskless(full, ["--version"], full, bin);
    expect(result).toMatchObject({ code: 0, stdout: `${manifest.version}\n`, stderr: "" });
  });

  it("run executes a script on the installed engine, as the checkout does", async () => {
    const installed = await deskless(full, ["run", "hello.m"], workspace("run-installed"), bin);
    const checkout = await run(process.execPath, [BIN, "run", "hello.m"], { cwd: workspace("run-checkout"), env: { ...process.env, DESKLESS_LOG_LEVEL: "warn" } });
    expect(installed.stderr).toBe("");
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain("Hello from deskless\n");
    expect(installed.stdout).toBe(checkout.stdout);
  });

  it("fs ls lists the current folder", async () => {
    const result = await deskless(full, ["fs", "ls"], workspace("ls"), bin);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.trimEnd().split("\n").map((line) => line.trim().split(/ +/))).toEqual([
      ["-", "5", "data.txt"],
      ["-", String(readFileSync(hello).length), "hello.m"],
      ["d", "-", "sub/"],
    ]);
  });
});

describe("the library, imported from the install folder", () => {
  it("import('deskless') gives the transport factory, FsBindings and the file provider", async () => {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    server.on("connection", (socket) => socket.on("message", (data) => socket.send(`echo:${String(data)}`)));
    await new Promise((resolve) => server.once("listening", resolve));
    const { port } = server.address() as { port: number };
    const probe = join(full, "probe.mjs");
    writeFileSync(
      probe,
      [
        'const { createDaemonTransportFactory, createFsBindings, createFileProvider } = await import("deskless");',
        "const [url, dir] = process.argv.slice(2);",
        "const transport = createDaemonTransportFactory()({ url });",
        "const echoed = await new Promise((resolve, reject) => {",
        '  transport.onOpen(() => transport.send("hello"));',
        "  transport.onMessage((data) => resolve(data));",
        "  transport.onError(reject);",
        "});",
        "transport.close();",
        "const bindings = createFsBindings({ roots: [dir] });",
        'const viaBindings = new TextDecoder().decode(bindings.readFile("/data.txt"));',
        "bindings.dispose();",
        "const provider = createFileProvider({ roots: [dir] });",
        'const viaProvider = provider.readFileSync("data.txt").toString();',
        'console.log(JSON.stringify({ echoed, viaBindings, viaProvider, len: provider.metadataSync("data.txt").len }));',
      ].join("\n"),
    );
    try {
      const result = await run(join(bin, "node"), [probe, `ws://127.0.0.1:${port}/ws`, workspace("library")], { cwd: full, env: userEnv(bin) });
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(JSON.parse(result.stdout)).toEqual({ echoed: "echo:hello", viaBindings: "12345", viaProvider: "12345", len: 5 });
    } finally {
      server.close();
    }
  });

  it("its types entry compiles in a TypeScript project that checks library types", async () => {
    writeFileSync(
      join(full, "consumer.ts"),
      [
        'import { createDaemonTransportFactory, createFileProvider, createFsBindings, type FsBindings, type Metadata } from "deskless";',
        'const bindings: FsBindings = createFsBindings({ roots: ["."] });',
        'const meta: Metadata = createFileProvider({ roots: ["."] }).metadataSync("package.json");',
        'createDaemonTransportFactory({ allow: ["ws://10.0.0.5:6767"] });',
        "export const sizes: number[] = [meta.len, bindings.roots().length];",
      ].join("\n"),
    );
    const tsconfig = {
      compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: false, types: ["node"], typeRoots: [join(ROOT, "node_modules", "@types")] },
      files: ["consumer.ts"],
    };
    writeFileSync(join(full, "tsconfig.json"), JSON.stringify(tsconfig));
    const result = await run(join(bin, "node"), [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: full, env: userEnv(bin) });
    expect(result.stdout).toBe("");
    expect(result.code).toBe(0);
  });
});

describe("an install without some addons", () => {
  it("with only the core addon: fs works, and run says how to get the engine (exit 3)", async () => {
    const dir = join(tmp.dir, "core-only");
    const install = await npmInstall(dir, [main.path, core.path], bin, ["--omit=optional"]);
    expect(install.code).toBe(0);
    expect(filesEndingWith(join(dir, "node_modules"), ".node")).toEqual([`@deskless/core-${platform}/deskless.${platform}.node`]);
    const work = workspace("core-only-work");
    expect(await deskless(dir, ["fs", "ls", "sub"], work, bin)).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const runResult = await deskless(dir, ["run", "hello.m"], work, bin);
    expect(runResult.code).toBe(3);
    expect(runResult.stdout).toBe("");
    const line = oneErrorLine(runResult);
    expect(line).toContain(`the RunMat engine addon for ${platform} is not installed`);
    expect(line).toContain(`npm install -g @deskless/engine-${platform}`);
    expect(line).toContain("Build from source");
  });

  it("with no addon: daemon works; fs and run fail with one line naming the platform (exit 3)", async () => {
    const dir = join(tmp.dir, "none");
    const install = await npmInstall(dir, [main.path], bin, ["--omit=optional"]);
    expect(install.code).toBe(0);
    expect(filesEndingWith(join(dir, "node_modules"), ".node")).toEqual([]);
    const work = workspace("none-work");
    const daemon = await startDaemonDouble();
    try {
      const call = await deskless(dir, ["daemon", "call", "list_available_providers_request", "--json", "--url", daemon.url], work, bin);
      expect({ code: call.code, stderr: call.stderr }).toEqual({ code: 0, stderr: "" });
      expect(JSON.parse(call.stdout).type).toBe("list_available_providers_response");
    } finally {
      await daemon.close();
    }
    const ls = await deskless(dir, ["fs", "ls"], work, bin);
    expect({ code: ls.code, stdout: ls.stdout }).toEqual({ code: 3, stdout: "" });
    expect(oneErrorLine(ls)).toContain(`the native addon for ${platform} is not installed: add the package @deskless/core-${platform}`);
    const runResult = await deskless(dir, ["run", "hello.m"], work, bin);
    expect(runResult.code).toBe(3);
    expect(oneErrorLine(runResult)).toContain(`@deskless/engine-${platform}`);
    // A file that is not an addon for this platform, named by the override variable.
    writeFileSync(join(work, "other.node"), "not an ELF file for this machine");
    const wrong = await deskless(dir, ["fs", "ls"], work, bin, { DESKLESS_NATIVE_ADDON: join(work, "other.node") });
    expect(wrong.code).toBe(3);
    expect(oneErrorLine(wrong)).toMatch(new RegExp(`^deskless: the native addon at .+ \\(DESKLESS_NATIVE_ADDON\\) does not load on ${platform} \\(.+\\); reinstall deskless on this machine or build deskless from source`));
  });
});
