import { once } from "node:events";
import { spawnSync } from "node:child_process";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { createDaemonTransportFactory, type DaemonTransport } from "../../src/daemon/transport.js";
import { startDaemonDouble, type DaemonDouble } from "../fixtures/daemon-double/server.js";
import { onCleanup, watch } from "./helpers.js";

/** A bare echo server that records what each upgrade carried. */
async function echoServer(options: { socketPath?: string } = {}) {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, handleProtocols: (protocols) => protocols.values().next().value ?? false });
  const upgrades: Array<{ headers: IncomingHttpHeaders; protocol: string }> = [];
  const sockets: WebSocket[] = [];
  wss.on("connection", (ws, req) => {
    upgrades.push({ headers: req.headers, protocol: ws.protocol });
    sockets.push(ws);
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  if (options.socketPath) http.listen(options.socketPath);
  else http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const address = http.address();
  const url = options.socketPath ? `ws+unix://${options.socketPath}:/ws` : `ws://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/ws`;
  return {
    url,
    upgrades,
    sockets,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function server(options: { socketPath?: string } = {}) {
  const s = await echoServer(options);
  onCleanup(s.close);
  return s;
}

function track(transport: DaemonTransport): DaemonTransport {
  onCleanup(() => transport.close());
  return transport;
}

describe("DaemonTransportFactory contract", () => {
  it("works for a client written against the early form: {url, headers}, send(string), raw data", async () => {
    const s = await server();
    // The early contract, spelled out: a factory that takes {url, headers?} and a send(string).
    type EarlyTransport = { send(data: string): void; close(code?: number, reason?: string): void; onOpen(h: () => void): () => void; onMessage(h: (data: unknown) => void): () => void; onClose(h: (e: { code: number; reason: string }) => void): () => void; onError(h: (e: unknown) => void): () => void };
    const early: (options: { url: string; headers?: Record<string, string> }) => EarlyTransport = createDaemonTransportFactory();
    const transport = early({ url: s.url, headers: { "x-early": "1" } });
    onCleanup(() => transport.close());
    const got: unknown[] = [];
    const echoed = new Promise<void>((resolve) => transport.onMessage((data) => (got.push(data), resolve())));
    transport.onOpen(() => transport.send("hello early"));
    await echoed;
    expect(got).toEqual(["hello early"]);
    expect(s.upgrades[0]?.headers["x-early"]).toBe("1");
  });

  it("works in the later form: protocols, binary sends, isBinary, close events with code, reason and wasClean", async () => {
    const s = await server();
    const transport = track(createDaemonTransportFactory()({ url: s.url, headers: { "x-later": "2" }, protocols: ["proto.one", "proto.two"] }));
    const w = watch(transport);
    await w.opened;
    expect(transport.protocol).toBe("proto.one");
    expect(s.upgrades[0]?.headers["sec-websocket-protocol"]).toBe("proto.one,proto.two");
    transport.send("text");
    transport.send(new Uint8Array([1, 2, 3]));
    transport.send(new Uint8Array([9, 8, 7, 6]).buffer);
    await w.messagesAtLeast(3);
    expect(w.messages[0]).toEqual({ data: "text", isBinary: false });
    expect(w.messages[1]?.isBinary).toBe(true);
    expect(w.messages[1]?.data).toBeInstanceOf(Uint8Array);
    expect([...(w.messages[1]?.data as Uint8Array)]).toEqual([1, 2, 3]);
    expect([...(w.messages[2]?.data as Uint8Array)]).toEqual([9, 8, 7, 6]);
    s.sockets[0]?.close(4321, "bye now");
    expect(await w.closed).toEqual({ code: 4321, reason: "bye now", wasClean: true });
  });

  it("returns unsubscribe functions from every on* method", async () => {
    const s = await server();
    const transport = track(createDaemonTransportFactory()({ url: s.url }));
    const seen: string[] = [];
    const off = transport.onMessage((data) => seen.push(`first:${String(data)}`));
    const w = watch(transport);
    await w.opened;
    transport.send("a");
    await w.messagesAtLeast(1);
    off();
    transport.send("b");
    await w.messagesAtLeast(2);
    expect(seen).toEqual(["first:a"]);
    const offOpen = transport.onOpen(() => undefined);
    const offClose = transport.onClose(() => undefined);
    const offError = transport.onError(() => undefined);
    expect([typeof offOpen, typeof offClose, typeof offError]).toEqual(["function", "function", "function"]);
  });

  it("never sends an Origin header, even when one is passed in headers", async () => {
    const s = await server();
    const transport = track(createDaemonTransportFactory()({ url: s.url, headers: { Origin: "tauri://localhost", "X-Kept": "yes" } }));
    await watch(transport).opened;
    expect(s.upgrades[0]?.headers.origin).toBeUndefined();
    expect(s.upgrades[0]?.headers["x-kept"]).toBe("yes");
  });

  it("is accepted by the daemon double where an Origin-carrying client gets HTTP 403", async () => {
    const double = await startDaemonDouble();
    onCleanup(() => double.close());
    const ours = watch(track(createDaemonTransportFactory()({ url: double.url })));
    await ours.opened;
    expect(double.upgrades[0]?.headers.origin).toBeUndefined();
    expect(double.upgrades[0]?.refused).toBeUndefined();
    const { WebSocket } = await import("ws");
    const browserLike = new WebSocket(double.url, { origin: "tauri://localhost" });
    browserLike.on("error", () => undefined);
    const status = await new Promise<number>((resolve) => browserLike.on("unexpected-response", (_req, res) => (resolve(res.statusCode ?? 0), browserLike.terminate())));
    expect(status).toBe(403);
    expect(double.upgrades[1]?.refused).toBe(403);
  });

  it("reports an HTTP refusal of the upgrade through onError then onClose, with the status and body", async () => {
    const double = await startDaemonDouble();
    onCleanup(() => double.close());
    const w = watch(track(createDaemonTransportFactory()({ url: double.url.replace("/ws", "/nope") })));
    const event = await w.closed;
    expect(w.events).toEqual(["error", "close"]);
    expect(w.errors[0]?.message).toMatch(/answered HTTP 404/);
    expect((w.errors[0] as { code?: string }).code).toBe("CONNECT_FAILED");
    expect(event.wasClean).toBe(false);
  });

  it("connects over a unix socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), "deskless-ws-"));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const s = await server({ socketPath: join(dir, "daemon.sock") });
    const transport = track(createDaemonTransportFactory()({ url: s.url }));
    const w = watch(transport);
    await w.opened;
    transport.send("over unix");
    await w.messagesAtLeast(1);
    expect(w.messages[0]?.data).toBe("over unix");
  });
});

describe("wss://", () => {
  it("checks certificates: an untrusted self-signed daemon is refused, and accepted once its CA file is given", async () => {
    const dir = mkdtempSync(join(tmpdir(), "deskless-tls-"));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { encoding: "utf8" });
    expect(made.status, made.stderr).toBe(0);
    const https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) });
    const wss = new WebSocketServer({ server: https });
    wss.on("connection", (ws) => ws.on("message", (data) => ws.send(String(data))));
    https.listen(0, "127.0.0.1");
    await once(https, "listening");
    onCleanup(async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    });
    const url = `wss://127.0.0.1:${(https.address() as { port: number }).port}/ws`;
    const untrusted = watch(track(createDaemonTransportFactory()({ url })));
    await untrusted.closed;
    expect((untrusted.errors[0] as { code?: string }).code).toBe("CONNECT_FAILED");
    expect(untrusted.errors[0]?.message).toMatch(/self[- ]signed certificate/i);
    const trusted = track(createDaemonTransportFactory({ caFile: cert })({ url }));
    const w = watch(trusted);
    await w.opened;
    trusted.send("over tls");
    await w.messagesAtLeast(1);
    expect(w.messages[0]?.data).toBe("over tls");
  });
});

describe("URL policy in the transport", () => {
  it("refuses a non-loopback URL before any socket: onError then onClose, and the server saw nothing", async () => {
    const s = await server();
    const port = new URL(s.url).port;
    // 10.255.255.1 would hang if a socket were opened; the refusal must come without one.
    const w = watch(track(createDaemonTransportFactory()({ url: `ws://10.255.255.1:${port}/ws` })));
    const event = await w.closed;
    expect(w.events).toEqual(["error", "close"]);
    expect(w.errors[0]?.message).toMatch(/refused by the URL policy/);
    expect(w.errors[0]?.message).toMatch(/--allow ws:\/\/10\.255\.255\.1:/);
    expect((w.errors[0] as { code?: string }).code).toBe("URL_REFUSED");
    expect(event).toEqual({ code: 1006, reason: "refused by the URL policy", wasClean: false });
    expect(s.upgrades).toHaveLength(0);
  });

  it("refuses relay URLs with a message that says why, even with --allow *", async () => {
    const w = watch(track(createDaemonTransportFactory({ allow: ["*"] })({ url: "wss://relay.paseo.sh/ws?serverId=abc&role=client&v=2" })));
    await w.closed;
    expect(w.errors[0]?.message).toMatch(/relay URL.*end-to-end encrypted/);
  });

  it("refuses a hostname that is not loopback without resolving it (no DNS lookup)", async () => {
    const w = watch(track(createDaemonTransportFactory()({ url: "ws://this-name-does-not-resolve.invalid:6767/ws" })));
    await w.closed;
    // A lookup would have failed with ENOTFOUND; the policy refuses first.
    expect((w.errors[0] as { code?: string }).code).toBe("URL_REFUSED");
  });
});

describe("send queue and size cap", () => {
  it("queues sends before open and delivers them in order once open", async () => {
    const s = await server();
    const transport = track(createDaemonTransportFactory()({ url: s.url }));
    transport.send("one");
    transport.send("two");
    expect(transport.bufferedAmount).toBe(6);
    const w = watch(transport);
    await w.messagesAtLeast(2);
    expect(w.messages.map((m) => m.data)).toEqual(["one", "two"]);
  });

  it("throws a clear error beyond the message bound and keeps what it queued", async () => {
    const s = await server();
    const transport = track(createDaemonTransportFactory({ maxQueuedMessages: 2 })({ url: s.url }));
    transport.send("a");
    transport.send("b");
    expect(() => transport.send("c")).toThrow(/send queue full .*bounds 2 messages.*not open yet.*was not queued/);
    const w = watch(transport);
    await w.messagesAtLeast(2);
    expect(w.messages.map((m) => m.data)).toEqual(["a", "b"]);
  });

  it("throws beyond the byte bound", async () => {
    const s = await server();
    const transport = track(createDaemonTransportFactory({ maxQueuedBytes: 10 })({ url: s.url }));
    transport.send("12345678");
    let thrown: unknown;
    try {
      transport.send("123");
    } catch (error) {
      thrown = error;
    }
    expect((thrown as { code?: string }).code).toBe("QUEUE_FULL");
    expect(transport.bufferedAmount).toBe(8);
  });

  it("holds sends while the socket's buffer is above the high-water mark, up to the bound, and sends them as it drains", async () => {
    const s = await server();
    const transport = track(createDaemonTransportFactory({ highWaterMarkBytes: 1024, maxQueuedMessages: 8, maxQueuedBytes: 1 << 30 })({ url: s.url }));
    const w = watch(transport);
    await w.opened;
    s.sockets[0]?.pause(); // the peer stops reading: kernel buffers fill, then the socket's own buffer
    const payload = "x".repeat(256 * 1024);
    let accepted = 0;
    let thrown: Error | undefined;
    for (; accepted < 400; accepted += 1) {
      try {
        transport.send(`${accepted}:${payload}`);
      } catch (error) {
        thrown = error as Error;
        break;
      }
    }
    expect(thrown?.message).toMatch(/send queue full \(8 messages.*the socket is not draining/);
    expect((thrown as { code?: string }).code).toBe("QUEUE_FULL");
    expect(transport.bufferedAmount).toBeGreaterThan(8 * payload.length);
    s.sockets[0]?.resume();
    await w.messagesAtLeast(accepted);
    expect(w.messages.map((m) => Number(String(m.data).split(":")[0]))).toEqual(Array.from({ length: accepted }, (_, i) => i));
    expect(transport.bufferedAmount).toBe(0);
  });

  it("reports queued messages that could not be sent when the connection fails, instead of dropping them silently", async () => {
    const t = track(createDaemonTransportFactory()({ url: "ws://127.0.0.1:1/ws" }));
    t.send("lost");
    const tw = watch(t);
    await tw.closed;
    expect(tw.errors.map((e) => e.message).join("\n")).toMatch(/1 queued messages \(4 bytes\) were not sent/);
    expect(tw.errors[0]?.message).toMatch(/cannot connect to the daemon at ws:\/\/127\.0\.0\.1:1\/ws/);
  });

  it("closes with 1009 and a clear reason when an incoming message exceeds the cap", async () => {
    const s = await server();
    const transport = track(createDaemonTransportFactory({ maxMessageBytes: 1024 })({ url: s.url }));
    const w = watch(transport);
    await w.opened;
    transport.send("small");
    await w.messagesAtLeast(1);
    s.sockets[0]?.send("y".repeat(4096));
    const event = await w.closed;
    expect(event.code).toBe(1009);
    expect(event.reason).toMatch(/exceeded the 1024-byte cap/);
    expect((w.errors[0] as { code?: string }).code).toBe("MESSAGE_TOO_BIG");
    expect(w.messages).toHaveLength(1);
  });
});

describe("daemon double transport details", () => {
  let double: DaemonDouble;
  afterEach(async () => double?.close());

  it("refuses a foreign Host header with 403", async () => {
    double = await startDaemonDouble();
    const w = watch(track(createDaemonTransportFactory()({ url: double.url, headers: { Host: "evil.example.com" } })));
    await w.closed;
    expect(w.errors[0]?.message).toMatch(/HTTP 403 "Host not allowed"/);
  });
});
