// The daemon's /ws protocol as deskless speaks it: frame shapes, constants and small codecs.
// Facts come from ../shared/docs/daemon-protocol.md; nothing here opens a socket.

/** Protocol version sent in hello; the daemon closes with 4003 on a mismatch. */
export const PROTOCOL_VERSION = 1;

/** The app version deskless announces. Below 0.1.45 the daemon hides providers other than the first three. */
export const DAEMON_APP_VERSION = "0.1.65";

export const DEFAULT_DAEMON_URL = "ws://127.0.0.1:6767/ws";

/** Close codes the daemon uses, plus the standard ones deskless reports. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  abnormal: 1006,
  tooBig: 1009,
  helloTimeout: 4001,
  invalidHello: 4002,
  versionMismatch: 4003,
  authFailed: 4401,
} as const;

/** Binary frame opcodes: `[opcode, slot, ...payload]`. */
export const BinaryOpcode = {
  output: 0x01,
  input: 0x02,
  resize: 0x03,
  snapshot: 0x04,
  fileBegin: 0x10,
  fileChunk: 0x11,
  fileEnd: 0x12,
} as const;

export interface ClientHello {
  type: "hello";
  clientId: string;
  clientType: "cli";
  protocolVersion: number;
  appVersion: string;
  capabilities: Record<string, unknown>;
}

/** A request or notice the client sends inside the session envelope (flat: `{type, requestId?, ...fields}`). */
export interface SessionRequest {
  type: string;
  requestId?: string;
  [field: string]: unknown;
}

/** Everything the daemon sends inside the session envelope: `{type, payload}`. */
export interface DaemonMessage {
  type: string;
  payload?: Record<string, unknown> & { requestId?: string };
  [field: string]: unknown;
}

export interface ServerInfo {
  status: "server_info";
  serverId: string;
  hostname?: string;
  version?: string;
  capabilities?: Record<string, unknown>;
  features?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface AgentSnapshot {
  id: string;
  provider: string;
  cwd: string;
  title?: string | null;
  status: string;
  [field: string]: unknown;
}

export interface PermissionRequest {
  id: string;
  name: string;
  kind: string;
  title?: string;
  input?: unknown;
  [field: string]: unknown;
}

export type PermissionResponse = { behavior: "allow" } | { behavior: "deny"; message?: string };

export interface AgentStreamPayload {
  agentId: string;
  event: { type: string; [field: string]: unknown };
  timestamp?: string;
  seq?: number;
  epoch?: string;
  /** Set by deskless on events recovered through fetch_agent_timeline_request after a gap. */
  replayed?: boolean;
}

export interface TimelineCursor {
  epoch: string;
  seq: number;
}

export function encodeHello(clientId: string, appVersion = DAEMON_APP_VERSION): string {
  const hello: ClientHello = { type: "hello", clientId, clientType: "cli", protocolVersion: PROTOCOL_VERSION, appVersion, capabilities: {} };
  return JSON.stringify(hello);
}

export function encodeSession(message: SessionRequest): string {
  return JSON.stringify({ type: "session", message });
}

// RFC 7230 tchar: what an HTTP token (and so a subprotocol name) may contain.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The subprotocols that carry a password: the hex form first (newer daemons), then the plain form
 * (daemons that predate the hex form) whenever the password is a valid HTTP token.
 */
export function bearerProtocols(password: string): string[] {
  const hex = `paseo.bearer-hex.${Buffer.from(password, "utf8").toString("hex")}`;
  const plain = `paseo.bearer.${password}`;
  return TOKEN.test(password) ? [hex, plain] : [hex];
}

export function isBearerProtocol(protocol: string): boolean {
  return protocol.startsWith("paseo.bearer.") || protocol.startsWith("paseo.bearer-hex.");
}

/** Splits a binary frame into opcode, slot and payload; null when it is too short. */
export function decodeBinaryFrame(data: Uint8Array): { opcode: number; slot: number; payload: Uint8Array } | null {
  if (data.length < 2) return null;
  return { opcode: data[0] as number, slot: data[1] as number, payload: data.subarray(2) };
}

export function encodeBinaryFrame(opcode: number, slot: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(payload.length + 2);
  frame[0] = opcode;
  frame[1] = slot;
  frame.set(payload, 2);
  return frame;
}

/** The requestId a daemon message answers, if any. */
export function replyRequestId(message: DaemonMessage): string | undefined {
  const id = message.payload?.requestId;
  return typeof id === "string" ? id : undefined;
}
