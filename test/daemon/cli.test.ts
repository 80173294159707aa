// End-to-end: the built CLI (bin/deskless.js, compiled by the suite's global setup) against the
// daemon double on 127.0.0.1:0.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { DaemonClient } from "../../src/daemon/client.js";
import { startDaemonDouble, type DaemonDouble } from "../fixtures/daemon-double/server.js";
import { ROOT, ndjson, runCli, startCli, type CliProcess } from "./helpers.js";

let d: DaemonDouble;
let lib: DaemonClient;
const running: CliProcess[] = [];

beforeAll(async () => {
  if (!existsSync(join(ROOT, "dist", "src", "cli", "main.js"))) throw new Error("dist/ is missing: the vitest global setup compiles it (npm run build:ts)");
  d = await startDaemonDouble();
  lib = new DaemonClient({ url: d.url, clientId: "test-library-client" });
  await lib.connect();
});

afterAll(async () => {
  await lib.close();
  await d.close();
});

afterEach(() => {
  for (const p of running.splice(0)) if (p.child.exitCode === null) p.child.kill("SIGKILL");
});

function daemon(args: string[], options: { env?: Record<string, string | undefined>; input?: string } = {}) {
  return runCli(["daemon", ...args, "--url", d.url], options);
}

function start(args: string[], options: { env?: Record<string, string | undefined> } = {}): CliProcess {
  const p = startCli(["daemon", ...args, "--url", d.url], options);
  running.push(p);
  return p;
}

async function createAgent(prompt?: string, title?: string): Promise<string> {
  const reply = await lib.request({ type: "create_agent_request", config: { provider: "fake", cwd: "/tmp", ...(title ? { title } : {}) }, ...(prompt ? { initialPrompt: prompt } : {}), labels: {} });
  return (reply.payload as { agentId: string }).agentId;
}

async function finished(agentId: string): Promise<void> {
  await lib.request({ type: "wait_for_finish_request", agentId });
}

describe("deskless daemon status", () => {
  it("prints the server info and round-trip time; --json prints one object", async () => {
    const human = await daemon(["status"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^url {7}ws:\/\/127\.0\.0\.1:\d+\/ws$/m);
    expect(human.stdout).toMatch(/^server {4}srv_\w+ \(daemon-double\), version 0\.1\.65-double$/m);
    expect(human.stdout).toMatch(/^rtt {7}\d+\.\d\d ms$/m);
    const json = await daemon(["status", "--json", "--client-id", "status-json"]);
    const [line] = ndjson(json.stdout);
    expect(line?.clientId).toBe("status-json");
    expect(line?.serverInfo.status).toBe("server_info");
    expect(line?.rttMs).toBeGreaterThan(0);
  });

  it("uses DESKLESS_DAEMON_URL when --url is absent", async () => {
    const result = await runCli(["daemon", "status", "--json"], { env: { DESKLESS_DAEMON_URL: d.url } });
    expect(result.code).toBe(0);
    expect(ndjson(result.stdout)[0]?.url).toBe(d.url);
  });

  it("exits 5 when nothing listens", async () => {
    const result = await runCli(["daemon", "status", "--url", "ws://127.0.0.1:1/ws"]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^deskless: cannot connect to the daemon at ws:\/\/127\.0\.0\.1:1\/ws: connect ECONNREFUSED/m);
  });

  it("exits 6 for a URL the policy refuses, and connects once it is allowed", async () => {
    const before = d.upgrades.length;
    const refused = await runCli(["daemon", "status", "--url", "ws://192.0.2.10:6767/ws"]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/refused by the URL policy: ws:\/\/192\.0\.2\.10:6767 is not a loopback host.*--allow ws:\/\/192\.0\.2\.10:6767/);
    const relay = await runCli(["daemon", "status", "--url", "wss://relay.paseo.sh/ws", "--allow", "*"]);
    expect(relay.code).toBe(6);
    expect(relay.stderr).toMatch(/relay URL/);
    expect(relay.stderr).toMatch(/allows any host/);
    expect(d.upgrades.length).toBe(before);
  });

  it("exits 8 when the daemon closes 4003, and 2 for a bad --timeout", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await once(wss, "listening");
    wss.on("connection", (ws) => ws.on("message", () => ws.close(4003, "Protocol version mismatch")));
    const port = (wss.address() as { port: number }).port;
    const result = await runCli(["daemon", "status", "--url", `ws://127.0.0.1:${port}/ws`]);
    wss.close();
    expect(result.code).toBe(8);
    expect(result.stderr).toMatch(/protocol version mismatch/);
    const usage = await daemon(["status", "--timeout", "soon"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--timeout takes a positive number of seconds or a time such as 500ms, 30s, 2m, not "soon"/);
  });
});

describe("passwords", () => {
  let secured: DaemonDouble;
  beforeAll(async () => {
    secured = await startDaemonDouble({ password: "hunter2-secret" });
  });
  afterAll(() => secured.close());

  it("exits 7 on a wrong password, 0 with the right one (flag or env), and never logs it", async () => {
    const wrong = await runCli(["daemon", "status", "--url", secured.url, "--password", "wrong-secret-value", "--log-level", "trace"]);
    expect(wrong.code).toBe(7);
    expect(wrong.stderr).toMatch(/authentication failed.*4401/);
    const right = await runCli(["daemon", "status", "--url", secured.url, "--password", "hunter2-secret", "--log-level", "trace", "--json"]);
    expect(right.code).toBe(0);
    const env = await runCli(["daemon", "status", "--url", secured.url, "--log-level", "trace"], { env: { DESKLESS_DAEMON_PASSWORD: "hunter2-secret" } });
    expect(env.code).toBe(0);
    for (const result of [wrong, right, env]) {
      const all = result.stdout + result.stderr;
      expect(all).not.toContain("hunter2-secret");
      expect(all).not.toContain("wrong-secret-value");
      expect(all).not.toContain(Buffer.from("hunter2-secret").toString("hex"));
    }
    expect(right.stderr.length).toBeGreaterThan(0); // trace logging was on, so the check above saw real logs
  });
});

describe("deskless daemon agents / agent show", () => {
  it("lists agents as a table and as NDJSON, and shows one by id, prefix or title", async () => {
    const id = await createAgent(undefined, "listed-agent");
    const table = await daemon(["agents"]);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+STATUS\s+PROVIDER\s+TITLE\s+CWD$/);
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+idle\\s+fake\\s+listed-agent\\s+/tmp$`, "m"));
    const json = ndjson((await daemon(["agents", "--json"])).stdout);
    expect(json.some((e) => e.agent.id === id)).toBe(true);
    for (const ref of [id, id.slice(0, 13), "listed-agent"]) {
      const show = await daemon(["agent", "show", ref, "--json"]);
      expect(show.code).toBe(0);
      expect(ndjson(show.stdout)[0]?.agent.id).toBe(id);
    }
    const human = await daemon(["agent", "show", id]);
    expect(human.stdout).toMatch(/^status\s+idle$/m);
    const missing = await daemon(["agent", "show", "no-such-agent"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no agent matches "no-such-agent"/);
  });

  it("--watch streams agent_update pushes until SIGTERM", async () => {
    const watch = start(["agents", "--watch", "--json", "--client-id", "watcher"]);
    await d.next("message", (clientId: string, m: { type: string }) => clientId === "watcher" && m.type === "fetch_agents_request");
    const id = await createAgent(undefined, "watched-agent");
    const line = await watch.line((l) => l.includes(id) && l.includes('"kind":"upsert"'));
    expect(JSON.parse(line).agent.title).toBe("watched-agent");
    watch.child.kill("SIGTERM");
    const result = await watch.done;
    expect(result).toMatchObject({ code: 0, signal: null });
  });
});

describe("deskless daemon run", () => {
  it("streams assistant text to stdout and exits 0 when the agent finishes", async () => {
    const result = await daemon(["run", "--provider", "fake", "--cwd", "/tmp", "--title", "runner", "say hello"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("Hello from the fake agent.\n");
  });

  it("--json writes every event as NDJSON, in seq order, and a final result", async () => {
    const result = await daemon(["run", "--provider", "fake", "--cwd", "/tmp", "--json", "say hello"]);
    expect(result.code).toBe(0);
    const lines = ndjson(result.stdout);
    const events = lines.filter((l) => l.type === "agent_stream").map((l) => l.payload.event.type);
    expect(events).toEqual(expect.arrayContaining(["turn_started", "timeline", "turn_completed"]));
    expect(lines.filter((l) => l.type === "agent_stream")[0]?.payload.event.item.type).toBe("user_message");
    const seqs = lines.filter((l) => l.type === "agent_stream" && l.payload.seq !== undefined).map((l) => l.payload.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(lines.some((l) => l.type === "status" && l.payload.status === "agent_created")).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: "deskless.result", payload: { status: "idle", lastTurn: "completed" } });
  });

  it("exits 1 when the agent fails or cannot be created, 2 without --provider", async () => {
    const failed = await daemon(["run", "--provider", "fake", "please [fail]"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^deskless: agent [\w-]+ failed: scripted failure$/m);
    const unknown = await daemon(["run", "--provider", "nope", "hi"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/agent create failed: Unknown provider: nope/);
    const usage = await daemon(["run", "hi"]);
    expect(usage.code).toBe(2);
  });

  it("answers permissions: allow, deny, ask without a TTY, and a rules file", async () => {
    const allowed = await daemon(["run", "--provider", "fake", "--permissions", "allow", "list [permission]"]);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toBe("Ran the command.\n");
    const denied = await daemon(["run", "--provider", "fake", "--permissions", "deny", "list [permission]"]);
    expect(denied.code).toBe(0);
    expect(denied.stdout).toMatch(/^The command was denied: denied by deskless \(--permissions deny\)$/m);
    const asked = await daemon(["run", "--provider", "fake", "list [permission]"]);
    expect(asked.stdout).toMatch(/The command was denied: denied by deskless: permission mode is ask but there is no terminal to ask on/);
    expect(asked.stderr).toMatch(/permission denied: .*no terminal to ask on/);
    const dir = mkdtempSync(join(tmpdir(), "deskless-rules-"));
    const rules = join(dir, "rules.json");
    writeFileSync(rules, JSON.stringify({ rules: [{ tool: "Bash", kind: "execute", behavior: "allow" }], default: "deny" }));
    const byRules = await daemon(["run", "--provider", "fake", "--permissions", rules, "--json", "list [permission]"]);
    expect(byRules.code).toBe(0);
    const decision = ndjson(byRules.stdout).find((l) => l.type === "deskless.permission_decision");
    expect(decision?.payload).toMatchObject({ name: "Bash", kind: "execute", response: { behavior: "allow" }, source: `rules:${rules}` });
    const badRules = await daemon(["run", "--provider", "fake", "--permissions", join(dir, "missing.json"), "x"]);
    expect(badRules.code).toBe(2);
  });

  it("exits 124 when --timeout passes before the agent finishes, and 1 when the turn is canceled", async () => {
    const slow = await daemon(["run", "--provider", "fake", "--timeout", "300ms", "hold on [hold]"]);
    expect(slow.code).toBe(124);
    expect(slow.stderr).toMatch(/did not finish within 300 ms/);
    const run = start(["run", "--provider", "fake", "--json", "--client-id", "to-cancel", "hold on [hold]"]);
    const created = JSON.parse(await run.line((l) => l.includes('"agent_created"')));
    const cancel = await daemon(["cancel", created.payload.agentId]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toBe(`canceled ${created.payload.agentId}\n`);
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the turn was canceled/);
  });

  it("resumes after the daemon drops the socket and still sees the whole timeline", async () => {
    const run = start(["run", "--provider", "fake", "--json", "--client-id", "resumer", "go [hold]"]);
    const created = JSON.parse(await run.line((l) => l.includes('"agent_created"')));
    const agentId = created.payload.agentId as string;
    await run.line((l) => l.includes('"text":"Working"'));
    const resumed = d.next<[string, boolean]>("hello", (id, wasResumed) => id === "resumer" && wasResumed);
    d.drop("resumer");
    await d.pushAssistantText(agentId, "said while disconnected");
    await resumed;
    await run.line((l) => l.includes("said while disconnected"));
    d.release(agentId);
    const result = await run.done;
    expect(result.code).toBe(0);
    const replayed = ndjson(result.stdout).find((l) => l.payload?.event?.item?.text === "said while disconnected");
    expect(replayed?.payload.replayed).toBe(true);
  });
});

describe("deskless daemon send / wait / tail / permit", () => {
  it("send streams the turn and waits; --no-wait returns on acceptance; unknown agents exit 1", async () => {
    const id = await createAgent();
    const sent = await daemon(["send", id, "hello again"]);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toBe("Hello from the fake agent.\n");
    const quick = await daemon(["send", id, "hello [hold]", "--no-wait"]);
    expect(quick.code).toBe(0);
    expect(quick.stdout).toBe(`sent to ${id}\n`);
    d.release(id);
    await finished(id);
    const unknown = await daemon(["send", "no-such-agent", "hi"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/did not accept the message: Agent not found/);
  });

  it("wait exits 0 for an idle agent, 1 for a failed one, 124 on timeout", async () => {
    const idle = await createAgent("hi");
    await finished(idle);
    const ok = await daemon(["wait", idle]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^status: idle\nlast message: Hello from the fake agent\.\n$/);
    const failing = await createAgent("x [fail]");
    await finished(failing);
    const failed = await daemon(["wait", failing, "--json"]);
    expect(failed.code).toBe(1);
    expect(ndjson(failed.stdout)[0]?.payload.status).toBe("error");
    const held = await createAgent("x [hold]");
    const late = await daemon(["wait", held, "--timeout", "200ms"]);
    expect(late.code).toBe(124);
    d.release(held);
    await finished(held);
  });

  it("tail prints the agent's agent_stream events as NDJSON and fills the gap after a drop", async () => {
    const id = await createAgent();
    const tail = start(["tail", id, "--exit-on-finish", "--client-id", "tailer"]);
    await d.next("message", (clientId: string, m: { type: string }) => clientId === "tailer" && m.type === "fetch_agent_request");
    await lib.request({ type: "send_agent_message_request", agentId: id, text: "stream [hold]" });
    await tail.line((l) => l.includes('"text":"Working"'));
    const resumed = d.next<[string, boolean]>("hello", (clientId, wasResumed) => clientId === "tailer" && wasResumed);
    d.drop("tailer");
    await d.pushAssistantText(id, "missed live");
    await resumed;
    await tail.line((l) => l.includes("missed live"));
    d.release(id);
    const result = await tail.done;
    expect(result.code).toBe(0);
    const lines = ndjson(result.stdout);
    expect(lines.every((l) => l.type === "agent_stream" && l.payload.agentId === id)).toBe(true);
    expect(lines.find((l) => l.payload.event.item?.text === "missed live")?.payload.replayed).toBe(true);
    expect(lines.at(-1)?.payload.event.type).toBe("turn_completed");
  });

  it("permit answers a pending permission; an unknown request exits 1; --allow with --deny exits 2", async () => {
    const id = await createAgent("needs [permission]");
    const asked = await lib.request({ type: "wait_for_finish_request", agentId: id });
    expect((asked.payload as { status: string }).status).toBe("permission");
    const requestId = d.agents.get(id)?.pendingPermission?.request.id as string;
    const permit = await daemon(["permit", id, requestId, "--allow"]);
    expect(permit.code).toBe(0);
    expect(permit.stdout).toBe(`allowed ${requestId}\n`);
    await finished(id);
    expect(d.agents.get(id)?.lastMessage).toBe("Ran the command.");
    const unknown = await daemon(["permit", id, "not-a-request", "--deny", "--message", "no"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No pending permission not-a-request/);
    const both = await daemon(["permit", id, requestId, "--allow", "--deny"]);
    expect(both.code).toBe(2);
  });
});

describe("deskless daemon call", () => {
  it("sends any request with a fresh requestId and prints the reply; rpc_error exits 1; bad JSON exits 2", async () => {
    const ok = await daemon(["call", "list_available_providers_request", "--json"]);
    expect(ok.code).toBe(0);
    const [reply] = ndjson(ok.stdout);
    expect(reply?.type).toBe("list_available_providers_response");
    expect(reply?.payload.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const pretty = await daemon(["call", "fetch_agent_request", '{"agentId":"nobody"}']);
    expect(JSON.parse(pretty.stdout).payload.error).toMatch(/Agent not found/);
    const rpc = await daemon(["call", "bogus_request", "{}", "--json"]);
    expect(rpc.code).toBe(1);
    expect(ndjson(rpc.stdout)[0]).toMatchObject({ type: "rpc_error", payload: { requestType: "bogus_request", code: "unknown_schema" } });
    expect(rpc.stderr).toMatch(/the daemon refused bogus_request \(unknown_schema\)/);
    const bad = await daemon(["call", "x_request", "{nope"]);
    expect(bad.code).toBe(2);
  });
});

describe("deskless daemon session", () => {
  it("bridges stdin requests to NDJSON on stdout, assigning requestIds, and exits 0 at end of input", async () => {
    const input = [
      JSON.stringify({ type: "fetch_agents_request" }),
      JSON.stringify({ type: "ping", requestId: "my-ping", clientSentAt: 1 }),
      "this is not json",
      JSON.stringify({ type: "bogus_request" }),
      "",
    ].join("\n");
    const result = await daemon(["session"], { input });
    expect(result.code).toBe(0);
    const lines = ndjson(result.stdout);
    expect(lines[0]).toMatchObject({ type: "status", payload: { status: "server_info" } });
    expect(lines[1]?.type).toBe("deskless.connected");
    const agents = lines.find((l) => l.type === "fetch_agents_response");
    expect(agents?.payload.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.find((l) => l.type === "pong")?.payload.requestId).toBe("my-ping");
    expect(lines.find((l) => l.type === "deskless.error")?.payload).toEqual({ line: 3, error: "line 3 is not valid JSON" });
    expect(lines.find((l) => l.type === "rpc_error")?.payload.requestType).toBe("bogus_request");
  });

  it("passes terminal binary frames both ways as deskless.binary lines", async () => {
    const created = await lib.request({ type: "create_terminal_request", cwd: "/tmp" });
    const terminalId = (created.payload as { terminal: { id: string } }).terminal.id;
    const session = start(["session", "--client-id", "binary-bridge"]);
    await session.line((l) => l.includes('"deskless.connected"'));
    session.child.stdin.write(`${JSON.stringify({ type: "subscribe_terminal_request", terminalId })}\n`);
    const subscribed = JSON.parse(await session.line((l) => l.includes('"subscribe_terminal_response"')));
    const slot = subscribed.payload.slot as number;
    const snapshot = JSON.parse(await session.line((l) => l.includes('"deskless.binary"') && l.includes('"opcode":4')));
    expect(JSON.parse(Buffer.from(snapshot.payload.data, "base64").toString("utf8"))).toMatchObject({ rows: 24, cols: 80 });
    session.child.stdin.write(`${JSON.stringify({ type: "deskless.binary", opcode: 2, slot, data: Buffer.from("typed bytes").toString("base64") })}\n`);
    const output = JSON.parse(await session.line((l) => l.includes('"deskless.binary"') && l.includes('"opcode":1')));
    expect(output.payload.slot).toBe(slot);
    expect(Buffer.from(output.payload.data, "base64").toString("utf8")).toBe("typed bytes");
    session.child.stdin.end();
    expect((await session.done).code).toBe(0);
  });

  it("logs malformed frames from the daemon on stderr, skips them and keeps the session", async () => {
    const session = start(["session", "--client-id", "malformed-bridge"]);
    await session.line((l) => l.includes('"deskless.connected"'));
    d.sendRaw("malformed-bridge", "{this is not json");
    session.child.stdin.write(`${JSON.stringify({ type: "ping", requestId: "still-alive", clientSentAt: 1 })}\n`);
    await session.line((l) => l.includes('"still-alive"'));
    session.child.stdin.end();
    const result = await session.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/skipping a malformed \(non-JSON\) message from the daemon/);
    expect(result.stdout).not.toContain("this is not json");
  });

  it("reconnects and resumes after a drop, and keeps serving requests", async () => {
    const session = start(["session", "--client-id", "bridge"]);
    await session.line((l) => l.includes('"deskless.connected"'));
    d.drop("bridge");
    await session.line((l) => l.includes('"deskless.disconnected"'));
    await session.line((l) => l.includes('"deskless.reconnected"'));
    session.child.stdin.write(`${JSON.stringify({ type: "list_available_providers_request", requestId: "after-resume" })}\n`);
    await session.line((l) => l.includes('"after-resume"'));
    session.child.stdin.end();
    const result = await session.done;
    expect(result.code).toBe(0);
    expect(d.sessions.get("bridge")?.attachCount).toBe(2);
  });
});

describe("deskless daemon terminal", () => {
  it("creates a terminal, types into it, captures the echo and kills it", async () => {
    const created = await daemon(["terminal", "create", "--cwd", "/tmp", "--name", "t1"]);
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await daemon(["terminal", "send", id, "echo hi"])).code).toBe(0);
    expect((await daemon(["terminal", "send", id, "second line"])).code).toBe(0);
    const capture = await daemon(["terminal", "capture", id]);
    expect(capture.stdout).toBe("echo hi\nsecond line\n");
    const json = await daemon(["terminal", "capture", id, "--json"]);
    expect(ndjson(json.stdout)[0]).toMatchObject({ terminalId: id, lines: ["echo hi", "second line"], totalLines: 2 });
    const killed = await daemon(["terminal", "kill", id]);
    expect(killed.code).toBe(0);
    expect(killed.stdout).toBe(`killed ${id}\n`);
    const again = await daemon(["terminal", "kill", id]);
    expect(again.code).toBe(1);
  });
});
