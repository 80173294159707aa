// Which daemon URLs deskless may connect to. Checked on the URL text alone, before any socket is
// opened or any name is looked up: by default loopback hosts and unix sockets only.
import { isIP } from "node:net";

export interface UrlPolicyOptions {
  /** Extra patterns: `ws://host:port`, `wss://relay.example`, `host`, `host:port`, `*.example.com`, or `*` for any. */
  allow?: readonly string[];
}

export type UrlDecision = { ok: true; url: URL; unix: boolean } | { ok: false; reason: string };

interface Pattern {
  any: boolean;
  scheme?: "ws" | "wss";
  host: string; // lower case, without brackets; may start with "*."
  port?: string;
}

const RELAY_HOSTS = /(^|\.)relay\.paseo\.sh$/i;

function parsePattern(text: string): Pattern {
  const trimmed = text.trim();
  if (trimmed === "*") return { any: true, host: "" };
  const match = /^(?:(wss?):\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/i.exec(trimmed);
  if (!match) throw new Error(`invalid --allow pattern "${text}": expected ws://host:port, wss://host, host[:port] or *`);
  const [, scheme, host, port] = match;
  return {
    any: false,
    scheme: scheme ? (scheme.toLowerCase() as "ws" | "wss") : undefined,
    host: (host as string).replace(/^\[|\]$/g, "").toLowerCase(),
    port,
  };
}

/** True for 127.0.0.0/8, ::1 (and its IPv4-mapped forms), localhost and *.localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || h === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(h) || /^::ffff:7f[0-9a-f]{2}:/.test(h);
  return false;
}

function defaultPort(scheme: string): string {
  return scheme === "wss" ? "443" : "80";
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith("*.")) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

export class UrlPolicy {
  private readonly patterns: Pattern[];

  constructor(options: UrlPolicyOptions = {}) {
    this.patterns = (options.allow ?? []).filter((p) => p.trim() !== "").map(parsePattern);
  }

  /** True when the policy lets any URL through (the `*` pattern); callers warn about it. */
  get allowsAny(): boolean {
    return this.patterns.some((p) => p.any);
  }

  check(text: string): UrlDecision {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { ok: false, reason: `"${text}" is not a valid URL (expected ws://host:port/ws, wss://host/ws or ws+unix:///path/to.sock:/ws)` };
    }
    const scheme = url.protocol.replace(/:$/, "");
    if (scheme === "ws+unix") return { ok: true, url, unix: true };
    if (scheme !== "ws" && scheme !== "wss") {
      return { ok: false, reason: `refused by the URL policy: scheme "${scheme}:" is not supported (use ws://, wss:// or ws+unix://)` };
    }
    const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const port = url.port || defaultPort(scheme);
    if (RELAY_HOSTS.test(host) || (url.searchParams.has("serverId") && url.searchParams.get("role") === "client")) {
      return {
        ok: false,
        reason: `refused by the URL policy: ${url.host} is a relay URL; relay connections are end-to-end encrypted and deskless does not support them, connect to the daemon directly (loopback or an allowed host)`,
      };
    }
    if (isLoopbackHost(host)) return { ok: true, url, unix: false };
    for (const p of this.patterns) {
      if (p.any) return { ok: true, url, unix: false };
      if (p.scheme && p.scheme !== scheme) continue;
      if (!hostMatches(p.host, host)) continue;
      if (p.port && p.port !== port) continue;
      return { ok: true, url, unix: false };
    }
    return {
      ok: false,
      reason: `refused by the URL policy: ${scheme}://${url.host} is not a loopback host or unix socket; allow it with --allow ${scheme}://${url.host} (or DESKLESS_DAEMON_ALLOW, or --allow '*' for any host)`,
    };
  }
}

/** Splits the DESKLESS_DAEMON_ALLOW value (comma or whitespace separated) into patterns. */
export function allowPatternsFromEnv(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,]+/).filter(Boolean);
}
