import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { decidePermission, matchRule, parsePermissionMode, parsePermissionRules } from "../../src/daemon/permissions.js";
import { UrlPolicy, allowPatternsFromEnv, isLoopbackHost } from "../../src/daemon/url-policy.js";

describe("URL policy", () => {
  const policy = new UrlPolicy();

  it("allows loopback hosts and unix sockets by default", () => {
    for (const url of ["ws://127.0.0.1:6767/ws", "ws://127.9.8.7/ws", "ws://localhost:1/ws", "ws://app.localhost/ws", "ws://[::1]:6767/ws", "wss://127.0.0.1/ws", "ws+unix:///tmp/d.sock:/ws"]) {
      expect(policy.check(url).ok, url).toBe(true);
    }
  });

  it("refuses other hosts, naming the policy and the flag that allows them", () => {
    const decision = policy.check("ws://192.168.1.20:6767/ws");
    expect(decision.ok).toBe(false);
    expect(!decision.ok && decision.reason).toBe(
      "refused by the URL policy: ws://192.168.1.20:6767 is not a loopback host or unix socket; allow it with --allow ws://192.168.1.20:6767 (or DESKLESS_DAEMON_ALLOW, or --allow '*' for any host)",
    );
    expect(policy.check("ws://128.0.0.1/ws").ok).toBe(false);
    expect(policy.check("ws://localhost.evil.com/ws").ok).toBe(false);
    expect(policy.check("http://127.0.0.1/ws").ok).toBe(false);
    expect(policy.check("not a url").ok).toBe(false);
  });

  it("matches --allow patterns by scheme, host and port", () => {
    const p = new UrlPolicy({ allow: ["ws://10.0.0.5:6767", "wss://daemon.example", "lan-box", "*.corp.example"] });
    expect(p.check("ws://10.0.0.5:6767/ws").ok).toBe(true);
    expect(p.check("ws://10.0.0.5:6768/ws").ok).toBe(false);
    expect(p.check("wss://10.0.0.5:6767/ws").ok).toBe(false);
    expect(p.check("wss://daemon.example/ws").ok).toBe(true);
    expect(p.check("wss://daemon.example:8443/ws").ok).toBe(true);
    expect(p.check("ws://daemon.example/ws").ok).toBe(false);
    expect(p.check("ws://lan-box:6767/ws").ok).toBe(true);
    expect(p.check("wss://a.corp.example/ws").ok).toBe(true);
    expect(p.check("wss://corp.example.evil/ws").ok).toBe(false);
  });

  it("allows anything with '*' (and says so) except relay URLs", () => {
    const any = new UrlPolicy({ allow: ["*"] });
    expect(any.allowsAny).toBe(true);
    expect(any.check("wss://far.away.example/ws").ok).toBe(true);
    const relay = any.check("wss://relay.paseo.sh/ws?serverId=x&role=client&v=2");
    expect(!relay.ok && relay.reason).toMatch(/relay URL/);
    expect(any.check("wss://other.example/ws?serverId=x&role=client").ok).toBe(false);
  });

  it("rejects malformed patterns", () => {
    expect(() => new UrlPolicy({ allow: ["ws://host/path"] })).toThrow(/invalid --allow pattern/);
  });

  it("parses DESKLESS_DAEMON_ALLOW and detects loopback addresses", () => {
    expect(allowPatternsFromEnv("ws://a:1, wss://b  c")).toEqual(["ws://a:1", "wss://b", "c"]);
    expect(allowPatternsFromEnv(undefined)).toEqual([]);
    expect(isLoopbackHost("::ffff:127.0.0.1")).toBe(true);
    expect(isLoopbackHost("10.0.0.1")).toBe(false);
  });
});

describe("permissions", () => {
  const bash = { id: "p1", name: "Bash", kind: "execute" };
  const edit = { id: "p2", name: "Edit", kind: "edit" };
  const io = (tty: boolean, answer?: string) => {
    const input = Object.assign(new PassThrough(), { isTTY: tty });
    if (answer !== undefined) setImmediate(() => input.write(`${answer}\n`));
    return { input, output: new PassThrough() };
  };

  it("allows and denies everything in allow/deny modes", async () => {
    expect((await decidePermission({ mode: "allow" }, "a", bash, io(false))).response).toEqual({ behavior: "allow" });
    expect((await decidePermission({ mode: "deny" }, "a", bash, io(false))).response.behavior).toBe("deny");
  });

  it("denies with a clear message when asked without a TTY", async () => {
    const decision = await decidePermission({ mode: "ask" }, "a", bash, io(false));
    expect(decision.response).toEqual({ behavior: "deny", message: "denied by deskless: permission mode is ask but there is no terminal to ask on" });
  });

  it("asks on a TTY and follows the answer", async () => {
    expect((await decidePermission({ mode: "ask" }, "a", bash, io(true, "y"))).response).toEqual({ behavior: "allow" });
    expect((await decidePermission({ mode: "ask" }, "a", bash, io(true, "n"))).response.behavior).toBe("deny");
  });

  it("applies rules by tool name and kind, first match wins, then the default", async () => {
    const dir = mkdtempSync(join(tmpdir(), "deskless-perm-"));
    const file = join(dir, "rules.json");
    writeFileSync(file, JSON.stringify({ rules: [{ tool: "Bash", kind: "execute", behavior: "allow" }, { tool: "*", kind: "edit", behavior: "deny", message: "read-only" }], default: "deny" }));
    const mode = parsePermissionMode(file);
    expect(mode.mode).toBe("rules");
    expect((await decidePermission(mode, "a", bash, io(false))).response).toEqual({ behavior: "allow" });
    expect((await decidePermission(mode, "a", edit, io(false))).response).toEqual({ behavior: "deny", message: "read-only" });
    expect((await decidePermission(mode, "a", { id: "p3", name: "Web", kind: "fetch" }, io(false))).response.behavior).toBe("deny");
    const rules = parsePermissionRules(JSON.stringify({ rules: [{ tool: "Read*", behavior: "allow" }], default: "ask" }));
    expect(matchRule(rules, { id: "x", name: "ReadFile", kind: "read" }).behavior).toBe("allow");
    expect(matchRule(rules, { id: "x", name: "Write", kind: "edit" }).behavior).toBe("ask");
  });

  it("rejects malformed rules and unreadable files with usage errors", () => {
    expect(() => parsePermissionRules("{}", "r.json")).toThrow(/invalid permission rules in r.json: expected an object with a "rules" array/);
    expect(() => parsePermissionRules(JSON.stringify({ rules: [{ tool: "x", behavior: "maybe" }] }))).toThrow(/rule 1 needs "behavior"/);
    expect(() => parsePermissionMode("/no/such/rules.json")).toThrow(/--permissions expects ask, allow, deny or a rules file/);
  });
});
