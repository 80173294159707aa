// The daemon double must follow the protocol document, or the other tests prove nothing.
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { double, onCleanup } from "./helpers.js";

/** A raw ws client; resolves once open. */
async function raw(url: string, options: { origin?: string; protocols?: string[] } = {}) {
  const ws = new WebSocket(url, options.protocols ?? [], options.origin ? { origin: options.origin } : {});
  onCleanup(() => ws.terminate());
  const frames: string[] = [];
  const frameWaiters: Array<{ n: number; resolve: () => void }> = [];
  ws.on("message", (data) => {
    frames.push(String(data));
    for (const w of [...frameWaiters]) {
      if (frames.length < w.n) continue;
      frameWaiters.splice(frameWaiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const framesAtLeast = (n: number) => (frames.length >= n ? Promise.resolve() : new Promise<void>((resolve) => frameWaiters.push({ n, resolve })));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  ws.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return { ws, frames, closed, framesAtLeast };
}

const hello = (clientId: string, protocolVersion = 1) => JSON.stringify({ type: "hello", clientId, clientType: "cli", protocolVersion, appVersion: "0.1.65", capabilities: {} });

describe("daemon double: upgrade rules", () => {
  it("answers 403 for Origin tauri://localhost, http://tauri.localhost and null; accepts no Origin and http://<Host>", async () => {
    const d = await double();
    for (const origin of ["tauri://localhost", "http://tauri.localhost", "null"]) await expect(raw(d.url, { origin })).rejects.toThrow("HTTP 403");
    await raw(d.url);
    await raw(d.url, { origin: `http://127.0.0.1:${d.port}` });
    expect(d.upgrades.map((u) => u.refused ?? 101)).toEqual([403, 403, 403, 101, 101]);
  });

  it("accepts a listed origin and '*'", async () => {
    const listed = await double({ allowedOrigins: ["tauri://localhost"] });
    await raw(listed.url, { origin: "tauri://localhost" });
    const any = await double({ allowedOrigins: ["*"] });
    await raw(any.url, { origin: "https://anything.example" });
  });
});

describe("daemon double: hello", () => {
  it("answers a top-level ping before hello and keeps the socket open", async () => {
    const d = await double();
    const { ws, frames, framesAtLeast } = await raw(d.url);
    ws.send(JSON.stringify({ type: "ping" }));
    ws.send(hello("after-ping"));
    await framesAtLeast(2);
    expect(JSON.parse(frames[0] as string)).toEqual({ type: "pong" });
    expect(JSON.parse(frames[1] as string).message.payload.status).toBe("server_info");
  });

  it("closes 4001 without a hello within the (configurable) timeout", async () => {
    const d = await double({ helloTimeoutMs: 30 });
    const { closed } = await raw(d.url);
    expect(await closed).toEqual({ code: 4001, reason: "Hello timeout" });
  });

  it("closes 4002 on bad JSON, an empty clientId, a session message before hello and a second hello", async () => {
    const d = await double();
    const cases = ["{bad", JSON.stringify({ type: "hello", clientId: "", clientType: "cli", protocolVersion: 1 }), JSON.stringify({ type: "session", message: { type: "ping", requestId: "r" } })];
    for (const frame of cases) {
      const { ws, closed } = await raw(d.url);
      ws.send(frame);
      expect((await closed).code).toBe(4002);
    }
    const { ws, closed } = await raw(d.url);
    ws.send(hello("twice"));
    ws.send(hello("twice"));
    expect(await closed).toEqual({ code: 4002, reason: "Duplicate hello" });
  });

  it("closes 4003 on another protocol version", async () => {
    const d = await double();
    const { ws, closed } = await raw(d.url);
    ws.send(hello("v2", 2));
    expect(await closed).toEqual({ code: 4003, reason: "Protocol version mismatch" });
  });

  it("accepts the password as paseo.bearer-hex and paseo.bearer, echoes it, and closes 4401 otherwise", async () => {
    const d = await double({ password: "pw" });
    const hex = await raw(d.url, { protocols: [`paseo.bearer-hex.${Buffer.from("pw").toString("hex")}`] });
    expect(hex.ws.protocol).toBe("paseo.bearer-hex.7077");
    const plain = await raw(d.url, { protocols: ["paseo.bearer.pw"] });
    expect(plain.ws.protocol).toBe("paseo.bearer.pw");
    const none = await raw(d.url);
    expect(await none.closed).toEqual({ code: 4401, reason: "Password required" });
    const wrong = await raw(d.url, { protocols: ["paseo.bearer.nope"] });
    expect(await wrong.closed).toEqual({ code: 4401, reason: "Incorrect password" });
  });

  it("keeps a session for the grace period after its socket closes, then forgets it", async () => {
    const d = await double({ graceMs: 40 });
    const first = await raw(d.url);
    first.ws.send(hello("graceful"));
    await d.next("hello");
    first.ws.close();
    await d.next("socket-closed");
    const second = await raw(d.url);
    second.ws.send(hello("graceful"));
    const [, resumed] = await d.next<[string, boolean]>("hello");
    expect(resumed).toBe(true);
    second.ws.close();
    await d.next("socket-closed");
    expect(d.sessions.has("graceful")).toBe(true);
    await new Promise<void>((resolve) => {
      const check = () => (d.sessions.has("graceful") ? setImmediate(check) : resolve());
      check();
    });
    const third = await raw(d.url);
    third.ws.send(hello("graceful"));
    const [, resumedAgain] = await d.next<[string, boolean]>("hello");
    expect(resumedAgain).toBe(false);
  });
});
