// The kernel wall around a script (issue: confinement). Each test runs the real CLI on the real
// engine under the real kernel (Landlock), with a workspace and a sibling folder outside it, and
// real servers on 127.0.0.1 that count every connection they are offered.
import { once } from "node:events";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer as createTcpServer, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, type CliOptions } from "../support/cli.js";
import { tempDir } from "../support/workspace.js";

let base: string;
let ws: string;
let outside: string;
let cleanup: () => void;
const servers: Server[] = [];

beforeEach(() => {
  ({ dir: base, cleanup } = tempDir("deskless-confine-"));
  ws = join(base, "workspace");
  outside = join(base, "outside");
  mkdirSync(ws);
  mkdirSync(outside);
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  cleanup();
});

function run(text: string, args: string[] = [], options: CliOptions = {}) {
  writeFileSync(join(ws, "script.m"), text);
  return runCli(["run", ...args, "script.m"], { cwd: ws, ...options });
}

/** A listening server that counts the connections it accepts. */
async function counting(server: Server): Promise<{ port: number; connections: () => Promise<number> }> {
  let count = 0;
  let probes = 0;
  server.on("connection", () => count++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    // Connections are accepted in order: once our own probe is counted, every earlier one is.
    connections: async () => {
      const probe = connect(port, "127.0.0.1");
      probes++;
      await once(server, "connection");
      probe.destroy();
      return count - probes;
    },
  };
}

function httpServer() {
  return counting(createHttpServer((_request, response) => response.end("hello from loopback")));
}

describe("kernel confinement of deskless run", () => {
  it("says which confinement was in force in --json, and run --help shows the flags", async () => {
    const result = await run("disp(1);", ["--json"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const confinement = JSON.parse(result.stdout).confinement;
    expect(confinement).toMatchObject({ mode: "auto", filesystem: true, programs: true, network: true, allowNet: false, notEnforced: [] });
    expect(confinement.abi).toBeGreaterThanOrEqual(4);
    const help = await runCli(["run", "--help"]);
    for (const flag of ["--allow-net", "--allow-env <name>", "--env <NAME=VALUE>", "--confine <mode>"]) expect(help.stdout).toContain(flag);
  });

  it("HDF5 writes outside the workspace are refused by the kernel, inside they work", async () => {
    const escaped = await run("h5write('../outside/a.h5', '/d', [1 2 3]);\n");
    expect(escaped.code).toBe(1);
    expect(escaped.stderr).toContain(`${join(outside, "a.h5")} is outside the workspace: pass --workspace to add its folder`);
    const absolute = await run(`h5write('${join(outside, "b.h5")}', '/d', 5);\n`);
    expect(absolute.code).toBe(1);
    expect(absolute.stderr).toMatch(/b\.h5 is outside the workspace/);
    const read = await run("x = h5read('/etc/passwd', '/d');\n");
    expect(read.stderr).toMatch(/\/etc\/passwd is outside the workspace/);
    expect(readdirSync(outside)).toEqual([]);
    const inside = await run("h5write('in.h5', '/d', 7);\ndisp(h5read('in.h5', '/d'));\n");
    expect(inside.stderr).toBe("");
    expect(inside.stdout.trim()).toBe("7");
    expect(inside.code).toBe(0);
  });

  it("webread reaches no server without --allow-net, and does with it", async () => {
    const server = await httpServer();
    const url = `http://127.0.0.1:${server.port}/`;
    const refused = await run(`body = webread('${url}');\ndisp(body);\n`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/network is off for this script: pass --allow-net/);
    expect(refused.stdout).not.toContain("hello from loopback");
    expect(await server.connections()).toBe(0);

    const allowed = await run(`body = webread('${url}');\ndisp(body);\n`, ["--allow-net"]);
    expect(allowed.stderr).toBe("");
    expect(allowed.stdout).toContain("hello from loopback");
    expect(allowed.code).toBe(0);
    expect(await server.connections()).toBe(1);
  });

  it("a refused builtin is an error the script can catch", async () => {
    const server = await httpServer();
    const result = await run(
      `try\n  webread('http://127.0.0.1:${server.port}/');\n  disp('reached');\ncatch err\n  disp('caught');\nend\n`,
    );
    expect(result.stdout).toBe("caught\n");
    expect(result.code).toBe(0);
    expect(await server.connections()).toBe(0);
  });

  it("tcpclient cannot connect and tcpserver cannot listen without --allow-net", async () => {
    const listener = await counting(createTcpServer());
    const client = await run(`t = tcpclient('127.0.0.1', ${listener.port});\nwrite(t, uint8([1 2 3]));\n`);
    expect(client.code).toBe(1);
    expect(client.stderr).toMatch(/network is off for this script: pass --allow-net/);
    expect(await listener.connections()).toBe(0);
    const server = await run("s = tcpserver('127.0.0.1', 0);\n");
    expect(server.code).toBe(1);
    expect(server.stderr).toMatch(/network is off for this script/);
  });

  it("starts no program: neither sendmail through RUNMAT_SENDMAIL_COMMAND nor system", async () => {
    const marker = join(outside, "marker.sh");
    writeFileSync(marker, `#!/bin/sh\ntouch '${join(outside, "sendmail-ran")}'\n`);
    chmodSync(marker, 0o755);
    const mail = await run(`setenv('RUNMAT_SENDMAIL_COMMAND', '${marker}');\nsendmail('ci@example.com', 'subject', 'body');\n`);
    expect(mail.code).toBe(1);
    expect(mail.stderr).toMatch(/starting programs is off for this script/);
    const shell = await run(`[status, out] = system('touch ${join(outside, "system-ran")}');\ndisp(status);\n`);
    expect(existsSync(join(outside, "sendmail-ran"))).toBe(false);
    expect(existsSync(join(outside, "system-ran"))).toBe(false);
    expect(shell.code === 1 || shell.stdout.trim() !== "0").toBe(true);
  });

  it("hides the environment but the always-visible few, and shows what --allow-env and --env add", async () => {
    const env = { GITHUB_TOKEN: "ghp_not_for_scripts", CI_SECRET_KEY: "also-hidden", LANG: "C.UTF-8", DESKLESS_PROBE: "own-config" };
    const show = "fprintf('[%s][%s][%s][%s][%s]\\n', getenv('GITHUB_TOKEN'), getenv('CI_SECRET_KEY'), getenv('LANG'), getenv('DESKLESS_PROBE'), getenv('EXTRA'));\n";
    const hidden = await run(show, [], { env });
    expect(hidden.stdout).toBe("[][][C.UTF-8][][]\n");
    const allowed = await run(show, ["--allow-env", "GITHUB_TOKEN", "--env", "EXTRA=a=b"], { env });
    expect(allowed.stdout).toBe("[ghp_not_for_scripts][][C.UTF-8][][a=b]\n");
    const glob = await run(show, ["--allow-env", "*"], { env });
    // A glob never reaches deskless's own configuration.
    expect(glob.stdout).toBe("[ghp_not_for_scripts][also-hidden][C.UTF-8][][]\n");
    const json = await run("x = 1;", ["--json", "--allow-env", "GITHUB_*"], { env });
    expect(JSON.parse(json.stdout).confinement.environment).toContain("GITHUB_TOKEN");
    expect(JSON.parse(json.stdout).confinement.environment).not.toContain("CI_SECRET_KEY");
  });

  it("refuses a malformed --env as a usage error", async () => {
    const result = await run("disp(1);", ["--env", "NOVALUE"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--env takes NAME=VALUE, not "NOVALUE"/);
    expect(result.stdout).toBe("");
  });

  it("without Landlock goes on with one warning and a recorded fallback; --confine require refuses (exit 9)", async () => {
    const env = { DESKLESS_LANDLOCK_ABI: "0" };
    const auto = await run("fid = fopen('ran.txt', 'w'); fclose(fid); disp('ran');", ["--json"], { env });
    expect(auto.code).toBe(0);
    const warnings = auto.stderr.trim().split("\n");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/kernel confinement is incomplete.*not enforced: files outside the workspace and starting programs.*the network rule/);
    const document = JSON.parse(auto.stdout);
    expect(document.confinement).toMatchObject({ abi: 0, filesystem: false, programs: false, network: false });
    expect(document.fallbacks).toContain("landlock-unavailable:provider-rules-only");

    const required = await run("fid = fopen('required.txt', 'w'); fclose(fid);", ["--confine", "require"], { env });
    expect(required.code).toBe(9);
    expect(required.stderr.trim().split("\n")).toHaveLength(1);
    expect(required.stderr).toMatch(/^deskless: kernel confinement is required but not available/);
    expect(existsSync(join(ws, "required.txt"))).toBe(false);
  });

  it("an older Landlock ABI without network rules is named in the warning; require refuses it", async () => {
    const env = { DESKLESS_LANDLOCK_ABI: "3" };
    const auto = await run("disp(1);", ["--json"], { env });
    expect(auto.code).toBe(0);
    expect(auto.stderr).toMatch(/not enforced: the network rule \(needs Landlock ABI 4/);
    expect(JSON.parse(auto.stdout).confinement).toMatchObject({ abi: 3, filesystem: true, network: false });
    expect(JSON.parse(auto.stdout).fallbacks).toContain("landlock-network-unavailable:network-open");
    const allowed = await run("disp(1);", ["--allow-net", "--confine", "require"], { env });
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toBe("");
    const required = await run("disp(1);", ["--confine", "require"], { env });
    expect(required.code).toBe(9);
  });

  it("--confine off confines nothing but the provider's path rules", async () => {
    const result = await run(`h5write('${join(outside, "off.h5")}', '/d', [1 2]);\nfid = fopen('../outside/via-provider.txt', 'w');\ndisp(fid);\n`, ["--confine", "off", "--json"]);
    expect(JSON.parse(result.stdout).confinement).toMatchObject({ mode: "off", filesystem: false });
    // The kernel wall is down (libhdf5 reached outside), the provider's wall is not.
    expect(existsSync(join(outside, "off.h5"))).toBe(true);
    expect(existsSync(join(outside, "via-provider.txt"))).toBe(false);
  });
});
