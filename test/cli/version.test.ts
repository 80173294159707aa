// `deskless --version` prints deskless's own version, read from its package.json, also when it runs
// under another project's npm script (where npm_package_version is that project's version).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, runCli } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";

const OWN_VERSION = (JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")) as { version: string }).version;
const OTHER_VERSION = "9.8.7-other";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Runs `npm run <script>` in a project named other-project, version OTHER_VERSION. */
function npmScript(script: string, command: string): { status: number | null; stdout: string; stderr: string } {
  const { dir, cleanup } = tempDir("deskless-other-project-");
  cleanups.push(cleanup);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "other-project", version: OTHER_VERSION, private: true, scripts: { [script]: command } }));
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("npm_")) delete env[key];
  const result = spawnSync("npm", ["run", "--silent", script], { cwd: dir, env, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("deskless --version", () => {
  it("prints deskless's version under another project's npm script", () => {
    // The scenario is real: inside that script npm_package_version is the other project's version.
    const probe = npmScript("probe", `node -p process.env.npm_package_version`);
    expect(probe.stdout.trim()).toBe(OTHER_VERSION);
    const result = npmScript("which-deskless", `node ${JSON.stringify(BIN)} --version`);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(OWN_VERSION);
  });

  it("prints deskless's version when run directly", async () => {
    const result = await runCli(["--version"], { env: { npm_package_version: undefined } });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${OWN_VERSION}\n`);
  });
});
