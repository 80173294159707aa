import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { DaemonClient, processClientId, sessionMessageText, type DaemonClientOptions } from "../../src/daemon/client.js";
import { DaemonError, DaemonRpcError } from "../../src/daemon/errors.js";
import type { DaemonMessage } from "../../src/daemon/protocol.js";
import { createDaemonTransportFactory, type DaemonTransportFactory } from "../../src/daemon/transport.js";
import { double, onCleanup, rejection } from "./helpers.js";
import type { DaemonDouble } from "../fixtures/daemon-double/server.js";

function client(d: DaemonDouble, options: Partial<DaemonClientOptions> = {}): DaemonClient {
  const c = new DaemonClient({ url: d.url, ...options });
  onCleanup(() => c.close());
  return c;
}

/** Records every message from now on; waitFor looks at what already arrived before waiting. */
function record(c: DaemonClient) {
  const seen: DaemonMessage[] = [];
  const waiters: Array<{ test: (m: DaemonMessage) => boolean; resolve: (m: DaemonMessage) => void }> = [];
  c.onMessage((m) => {
    seen.push(m);
    for (const w of [...waiters]) {
      if (w.test(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    seen,
    waitFor: (test: (m: DaemonMessage) => boolean) => {
      const hit = seen.find(test);
      return hit ? Promise.resolve(hit) : new Promise<DaemonMessage>((resolve) => waiters.push({ test, resolve }));
    },
  };
}

const textIs = (text: string) => (m: DaemonMessage) => m.type === "agent_stream" && (m.payload as { event: { item?: { text?: string } } }).event.item?.text === text;

describe("handshake", () => {
  it("says hello as a cli with protocol 1, a current appVersion and the process clientId, and is connected only after server_info", async () => {
    const d = await double({ serverId: "srv_test" });
    const c = client(d);
    const hello = d.next<[string, boolean]>("hello");
    const states: string[] = [];
    c.onState((s) => states.push(s));
    const info = await c.connect();
    expect(info.serverId).toBe("srv_test");
    expect(info.status).toBe("server_info");
    const [clientId, resumed] = await hello;
    expect(clientId).toBe(processClientId());
    expect(clientId).toMatch(/^deskless-cli-[0-9a-f-]{36}$/);
    expect(resumed).toBe(false);
    expect(states).toEqual(["connecting", "connected"]);
  });

  it("sends exactly the documented hello fields and never a client_heartbeat", async () => {
    const d = await double();
    const frames: string[] = [];
    d.on("connection", (ws: WebSocket) => ws.on("message", (data) => frames.push(String(data))));
    const c = client(d, { clientId: "fixed-id" });
    await c.connect();
    await c.ping();
    const hello = JSON.parse(frames[0] as string);
    expect(hello).toEqual({ type: "hello", clientId: "fixed-id", clientType: "cli", protocolVersion: 1, appVersion: "0.1.65", capabilities: {} });
    expect(frames.some((f) => f.includes("client_heartbeat"))).toBe(false);
  });

  it("maps close 4401 to an auth error, with the password offered hex first then plain", async () => {
    const d = await double({ password: "s3cret" });
    const protocols: string[] = [];
    d.on("upgrade", (u: { headers: Record<string, string> }) => protocols.push(u.headers["sec-websocket-protocol"] ?? ""));
    const wrong = await rejection(client(d, { password: "nope" }).connect());
    expect(wrong.code).toBe("AUTH_FAILED");
    expect(wrong.message).toMatch(/authentication failed.*4401.*Incorrect password/);
    expect(protocols[0]).toBe(`paseo.bearer-hex.${Buffer.from("nope").toString("hex")},paseo.bearer.nope`);
    const missing = await rejection(client(d).connect());
    expect(missing.message).toMatch(/4401.*Password required/);
    const ok = client(d, { password: "s3cret" });
    await ok.connect();
    expect(ok.state).toBe("connected");
  });

  it("authenticates with a daemon that knows only the plain bearer form (0.1.65), and with a non-token password via hex", async () => {
    const legacy = await double({ password: "tok3n", legacyBearerOnly: true });
    await client(legacy, { password: "tok3n" }).connect();
    const modern = await double({ password: "has space/and:colon" });
    const protocols: string[] = [];
    modern.on("upgrade", (u: { headers: Record<string, string> }) => protocols.push(u.headers["sec-websocket-protocol"] ?? ""));
    await client(modern, { password: "has space/and:colon" }).connect();
    expect(protocols[0]).toBe(`paseo.bearer-hex.${Buffer.from("has space/and:colon").toString("hex")}`);
  });

  it("maps 4003 to a version error and 4002 to a protocol error", async () => {
    const d = await double();
    const version = await rejection(client(d, { transportFactory: rewriteHello((h) => ({ ...h, protocolVersion: 2 })) }).connect());
    expect(version.code).toBe("VERSION_MISMATCH");
    expect(version.message).toMatch(/protocol version mismatch.*4003/);
    const invalid = await rejection(client(d, { transportFactory: rewriteHello((h) => ({ ...h, clientId: "" })) }).connect());
    expect(invalid.code).toBe("PROTOCOL_ERROR");
    expect(invalid.message).toMatch(/4002.*rejected the hello/);
  });

  it("maps 4001 (no hello in time) to a protocol error", async () => {
    const d = await double({ helloTimeoutMs: 50 });
    const silent = client(d, { transportFactory: rewriteHello(() => null), connectTimeoutMs: 5_000 });
    const error = await rejection(silent.connect());
    expect(error.code).toBe("PROTOCOL_ERROR");
    expect(error.message).toMatch(/4001.*no hello arrived in time/);
  });

  it("fails with CONNECT_FAILED when nothing listens", async () => {
    const error = await rejection(new DaemonClient({ url: "ws://127.0.0.1:1/ws" }).connect());
    expect(error.code).toBe("CONNECT_FAILED");
    expect(error.message).toMatch(/ECONNREFUSED/);
  });
});

/** A transport factory that wraps the real one and rewrites (or swallows, when null) the hello. */
function rewriteHello(change: (hello: Record<string, unknown>) => Record<string, unknown> | null): DaemonTransportFactory {
  const real = createDaemonTransportFactory();
  return (options) => {
    const inner = real(options);
    return {
      send(data: string | Uint8Array | ArrayBuffer) {
        if (typeof data === "string" && data.includes('"type":"hello"')) {
          const changed = change(JSON.parse(data));
          if (changed) inner.send(JSON.stringify(changed));
          return;
        }
        inner.send(data);
      },
      close: (code, reason) => inner.close(code, reason),
      onOpen: (h) => inner.onOpen(h),
      onMessage: (h) => inner.onMessage(h),
      onClose: (h) => inner.onClose(h),
      onError: (h) => inner.onError(h),
      get protocol() {
        return inner.protocol;
      },
      get bufferedAmount() {
        return inner.bufferedAmount;
      },
      pause: () => inner.pause(),
      resume: () => inner.resume(),
    };
  };
}

describe("requests", () => {
  it("correlates replies by requestId, not by order, and measures ping round trips", async () => {
    const d = await double();
    const c = client(d);
    await c.connect();
    const [providers, agents, ping] = await Promise.all([
      c.request({ type: "list_available_providers_request" }),
      c.request({ type: "fetch_agents_request" }),
      c.ping(),
    ]);
    expect(providers.type).toBe("list_available_providers_response");
    expect(agents.type).toBe("fetch_agents_response");
    expect(ping.pong.type).toBe("pong");
    expect(ping.rttMs).toBeGreaterThan(0);
    expect((ping.pong.payload as { serverReceivedAt?: number }).serverReceivedAt).toBeTypeOf("number");
  });

  it("turns rpc_error into a DaemonRpcError with the code and request type", async () => {
    const d = await double();
    const c = client(d);
    await c.connect();
    const error = await rejection(c.request({ type: "no_such_request", x: 1 }));
    expect(error).toBeInstanceOf(DaemonRpcError);
    expect((error as DaemonRpcError).rpcCode).toBe("unknown_schema");
    expect((error as DaemonRpcError).requestType).toBe("no_such_request");
    expect(error.message).toMatch(/refused no_such_request \(unknown_schema\): Unknown message type/);
    // The session survives an rpc_error.
    expect((await c.ping()).pong.type).toBe("pong");
  });

  it("times out a request that gets no reply, with the request type in the message", async () => {
    const d = await double();
    const c = client(d);
    await c.connect();
    // terminal_input has no reply: as a request it can only time out.
    const error = await rejection(c.request({ type: "terminal_input", terminalId: "x", message: { type: "input", data: "" } }, { timeoutMs: 50 }));
    expect(error.code).toBe("TIMEOUT");
    expect(error.message).toBe("terminal_input timed out after 50 ms without a reply");
  });

  it("fails pending requests with a clear error when the connection drops", async () => {
    const d = await double();
    const c = client(d);
    await c.connect();
    const created = await c.request({ type: "create_agent_request", config: { provider: "fake", cwd: "/tmp" }, initialPrompt: "wait [hold]", labels: {} });
    const agentId = (created.payload as { agentId: string }).agentId;
    const waiting = c.request({ type: "wait_for_finish_request", agentId });
    await d.next("message", (_id: string, m: Record<string, unknown>) => m.type === "wait_for_finish_request");
    d.drop();
    const error = await rejection(waiting);
    expect(error.code).toBe("DISCONNECTED");
    expect(error.message).toMatch(/^wait_for_finish_request failed: the connection to ws:\/\/127\.0\.0\.1:\d+\/ws closed \(code 1006\) before the reply arrived$/);
    expect(c.state).toBe("closed");
  });

  it("logs and skips malformed JSON from the daemon without ending the session", async () => {
    const d = await double();
    const c = client(d, { clientId: "malformed-test" });
    await c.connect();
    const seen: string[] = [];
    c.onMessage((m) => seen.push(m.type));
    d.sendRaw("malformed-test", "{not json");
    d.sendRaw("malformed-test", "42");
    d.sendRaw("malformed-test", JSON.stringify({ type: "session", message: { nope: true } }));
    const ping = await c.ping();
    expect(ping.pong.type).toBe("pong");
    expect(seen).toEqual(["pong"]);
    expect(c.state).toBe("connected");
  });
});

describe("frame passthrough", () => {
  it("gives listeners the frame text only when the message's own JSON can be cut out of it exactly", async () => {
    const d = await double();
    const c = client(d, { clientId: "frames" });
    await c.connect();
    const got: Array<{ message: DaemonMessage; frame?: string }> = [];
    const done = new Promise<void>((resolve) =>
      c.onMessage((message, frame) => {
        got.push({ message, frame });
        if (message.type === "last") resolve();
      }),
    );
    d.sendRaw("frames", JSON.stringify({ type: "session", message: { type: "plain", payload: { a: [1, "}"] } } }));
    d.sendRaw("frames", JSON.stringify({ type: "session", message: { type: "extra-key" }, seq: 3 }));
    d.sendRaw("frames", `{ "type": "session", "message": { "type": "spaced" } }`);
    d.sendRaw("frames", JSON.stringify({ type: "session", message: { type: "last" } }));
    await done;
    const plain = got.find((g) => g.message.type === "plain");
    expect(plain?.frame).toBeDefined();
    expect(sessionMessageText(plain?.frame as string)).toBe(JSON.stringify(plain?.message));
    expect(got.find((g) => g.message.type === "extra-key")?.frame).toBeUndefined();
    expect(got.find((g) => g.message.type === "spaced")?.frame).toBeUndefined();
  });
});

describe("reconnect and resume", () => {
  it("reconnects with backoff after a drop, resumes the same session by clientId, and fills the timeline gap", async () => {
    const d = await double();
    const c = client(d, { reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
    await c.connect();
    const rec = record(c);
    const stream: Array<{ seq?: number; text?: string; replayed?: boolean }> = [];
    c.onMessage((m) => {
      if (m.type !== "agent_stream") return;
      const p = m.payload as { seq?: number; replayed?: boolean; event: { item?: { type?: string; text?: string } } };
      if (p.event.item?.type === "assistant_message") stream.push({ seq: p.seq, text: p.event.item.text, replayed: p.replayed });
    });
    const created = await c.request({ type: "create_agent_request", config: { provider: "fake", cwd: "/tmp" }, initialPrompt: "go [hold]", labels: {} });
    const agentId = (created.payload as { agentId: string }).agentId;
    await rec.waitFor(textIs("Working"));

    const disconnected = new Promise((resolve) => c.onDisconnect(resolve));
    const resumed = d.next<[string, boolean]>("hello", (_id, wasResumed) => wasResumed);
    d.drop();
    await disconnected;
    // Written while no socket is attached: the daemon does not replay it on resume.
    await d.pushAssistantText(agentId, "while you were away");
    await d.pushAssistantText(agentId, "and this too");
    const reconnected = new Promise((resolve) => c.onReconnect(resolve));
    const [clientId] = await resumed;
    await reconnected;
    expect(clientId).toBe(c.clientId);
    expect(d.sessions.get(c.clientId)?.attachCount).toBe(2);

    await rec.waitFor(textIs("and this too"));
    d.release(agentId);
    await rec.waitFor((m) => m.type === "agent_stream" && (m.payload as { event: { type: string } }).event.type === "turn_completed");
    const texts = stream.map((s) => s.text);
    expect(texts.slice(0, 3)).toEqual(["Working", "while you were away", "and this too"]);
    expect(stream[1]?.replayed).toBe(true);
    expect(stream[2]?.replayed).toBe(true);
    const seqs = stream.map((s) => s.seq as number);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    // Requests work on the resumed session.
    expect((await c.ping()).pong.type).toBe("pong");
  });

  it("waits for the reconnection before sending a request made while reconnecting (also with no time limit)", async () => {
    const d = await double();
    const c = client(d, { reconnect: { initialDelayMs: 20, maxDelayMs: 20 }, requestTimeoutMs: 0 });
    await c.connect();
    const reconnecting = new Promise<void>((resolve) => c.onState((s) => s === "reconnecting" && resolve()));
    d.drop();
    await reconnecting;
    const reply = await c.request({ type: "list_available_providers_request" });
    expect(reply.type).toBe("list_available_providers_response");
  });

  it("does not reconnect after 4401", async () => {
    const d = await double();
    const c = client(d, { clientId: "auth-later", reconnect: { initialDelayMs: 10 } });
    await c.connect();
    const closed = new Promise<DaemonError | undefined>((resolve) => c.onClose(resolve));
    d.closeSocket("auth-later", 4401, "Incorrect password");
    const error = await closed;
    expect(error?.code).toBe("AUTH_FAILED");
    expect(c.state).toBe("closed");
  });
});

describe("runs on any DaemonTransportFactory", () => {
  it("drives a hand-written in-memory transport that implements only the early contract", async () => {
    const sent: string[] = [];
    const factory = ((options: { url: string; headers?: Record<string, string> }) => {
      const handlers = { open: [] as Array<() => void>, message: [] as Array<(d: unknown) => void>, close: [] as Array<(e: { code: number; reason: string }) => void> };
      const reply = (message: unknown) => setImmediate(() => handlers.message.forEach((h) => h(JSON.stringify({ type: "session", message }))));
      setImmediate(() => handlers.open.forEach((h) => h()));
      void options;
      return {
        send(data: string) {
          sent.push(data);
          const frame = JSON.parse(data);
          if (frame.type === "hello") reply({ type: "status", payload: { status: "server_info", serverId: "mem" } });
          else reply({ type: "pong", payload: { requestId: frame.message.requestId } });
        },
        close() {
          handlers.close.forEach((h) => h({ code: 1000, reason: "" }));
        },
        onOpen: (h: () => void) => (handlers.open.push(h), () => undefined),
        onMessage: (h: (d: unknown) => void) => (handlers.message.push(h), () => undefined),
        onClose: (h: (e: { code: number; reason: string }) => void) => (handlers.close.push(h), () => undefined),
        onError: () => () => undefined,
      };
    }) as unknown as DaemonTransportFactory;
    const c = new DaemonClient({ url: "memory://daemon", transportFactory: factory });
    expect((await c.connect()).serverId).toBe("mem");
    expect((await c.ping()).pong.type).toBe("pong");
    await c.close();
    expect(JSON.parse(sent[0] as string).type).toBe("hello");
  });
});
