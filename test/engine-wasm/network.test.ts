// The wasm engine's reach beyond FsBindings: its network globals follow --allow-net, and the
// environment flags are refused because the runtime keeps its own. Runs on the runtime the suites
// run on (the real one when DESKLESS_WASM_PACKAGE names it, else the stand-in), against a real
// HTTP server on 127.0.0.1 that counts the connections it is offered.
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";
import { RUNTIME } from "./helpers.js";

let ws: string;
let cleanup: () => void;
let server: Server;
let connections: number;
let url: string;

beforeEach(async () => {
  ({ dir: ws, cleanup } = tempDir("deskless-wasm-net-"));
  connections = 0;
  server = createServer((_request, response) => response.end("from loopback"));
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  cleanup();
});

function run(text: string, args: string[] = []) {
  writeFileSync(join(ws, "script.m"), text);
  return runCli(["run", "--engine", "wasm", "--wasm-package", RUNTIME.dir, ...args, "script.m"], { cwd: ws, env: { DESKLESS_WASM_PACKAGE: "" } });
}

describe("the wasm engine's network and environment", () => {
  it("webread is refused with the network rule's message, and reaches no server", async () => {
    const result = await run(`x = webread('${url}');\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('JsValue("network is off for this script: pass --allow-net")');
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(connections).toBe(0);
  });

  it("with --allow-net, says why webread cannot work under Node instead of a ReferenceError", async () => {
    const result = await run(`x = webread('${url}');\n`, ["--allow-net"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no synchronous XMLHttpRequest under Node.*use the direct engine/);
    expect(result.stderr).not.toMatch(/ReferenceError/);
    expect(connections).toBe(0);
  });

  it("refuses --allow-env and --env as usage errors: the runtime keeps its own environment", async () => {
    for (const flags of [["--allow-env", "HOME"], ["--env", "A=b"]]) {
      const result = await run("disp(1);\n", flags);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^deskless: --allow-env and --env apply to the direct engine/);
      expect(result.stdout).toBe("");
    }
  });
});
