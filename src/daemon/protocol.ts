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

// Payloads are declared as type aliases, not interfaces, so that each stays assignable to the
// generic `DaemonMessage["payload"]`.

/** One item of an agent's timeline: user_message, assistant_message, reasoning, tool_call, todo, error, compaction. */
export type TimelineItem = { type: string; text?: string; name?: string; status?: string; [field: string]: unknown };

/** An agent_stream event: turn_started, turn_completed, turn_failed, turn_canceled, timeline, permission_requested, ... */
export type AgentEvent = { type: string; item?: TimelineItem; error?: unknown; [field: string]: unknown };

export type AgentStreamPayload = {
  agentId: string;
  event: AgentEvent;
  timestamp?: string;
  seq?: number;
  epoch?: string;
  /** Set by deskless on events recovered through fetch_agent_timeline_request after a gap. */
  replayed?: boolean;
};

/** `agent_update`, pushed to a session that fetched the agents with `subscribe`. */
export type AgentUpdatePayload = { kind: "upsert" | "remove"; agent?: AgentSnapshot; agentId?: string; project?: unknown };

export type PermissionRequestPayload = { agentId: string; request: PermissionRequest };

export type PermissionResolvedPayload = { agentId: string; requestId: string; resolution?: PermissionResponse };

/** The session messages the daemon pushes without a request, by type. */
export interface PushPayloads {
  agent_stream: AgentStreamPayload;
  agent_update: AgentUpdatePayload;
  agent_permission_request: PermissionRequestPayload;
  agent_permission_resolved: PermissionResolvedPayload;
}

export type RpcErrorPayload = { requestId: string; requestType?: string; error?: string; code?: string };

export type AgentEntry = { agent: AgentSnapshot; project?: unknown };

export type FetchAgentsReply = { entries?: AgentEntry[]; pageInfo?: { hasMore?: boolean; nextCursor?: string | null } };

export type FetchAgentReply = { agent: AgentSnapshot | null; project?: unknown; error?: string | null };

/** The `status` message that answers create_agent_request: `agent_created` or `agent_create_failed`. */
export type AgentCreateStatus = { status: string; agentId?: string; agent?: AgentSnapshot; error?: string };

export type SendAgentMessageReply = { agentId?: string; accepted?: boolean; error?: string | null };

export type WaitStatus = "idle" | "error" | "permission" | "timeout";

export type WaitForFinishReply = {
  status: WaitStatus;
  error: string | null;
  lastMessage: string | null;
  final: (AgentSnapshot & { pendingPermissions?: PermissionRequest[] }) | null;
};

export type CancelAgentReply = { agentId?: string };

export type TimelineEntry = { item: TimelineItem; provider?: string; timestamp?: string; seqStart: number; seqEnd: number };

export type AgentTimelineReply = { epoch?: string; reset?: boolean; entries?: TimelineEntry[] };

export type TerminalInfo = { id: string; [field: string]: unknown };

export type CreateTerminalReply = { terminal: TerminalInfo | null; error?: string | null };

export type CaptureTerminalReply = { terminalId?: string; lines?: string[]; totalLines?: number };

export type KillTerminalReply = { terminalId?: string; success?: boolean };

export type PongPayload = { clientSentAt?: number; serverReceivedAt?: number; serverSentAt?: number };

/** The reply payload of each request deskless sends by name. */
export interface ReplyPayloads {
  ping: PongPayload;
  fetch_agents_request: FetchAgentsReply;
  fetch_agent_request: FetchAgentReply;
  create_agent_request: AgentCreateStatus;
  send_agent_message_request: SendAgentMessageReply;
  wait_for_finish_request: WaitForFinishReply;
  cancel_agent_request: CancelAgentReply;
  fetch_agent_timeline_request: AgentTimelineReply;
  create_terminal_request: CreateTerminalReply;
  capture_terminal_request: CaptureTerminalReply;
  kill_terminal_request: KillTerminalReply;
}

/** The reply to a request of type `T`: its payload typed for the requests above, generic for any other. */
export type ReplyTo<T extends string> = DaemonMessage & {
  payload: (T extends keyof ReplyPayloads ? ReplyPayloads[T] : Record<string, unknown>) & { requestId: string };
};

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

/** The payload of `message` when it is a push of `type`, else undefined. */
export function pushPayload<T extends keyof PushPayloads>(message: DaemonMessage, type: T): PushPayloads[T] | undefined {
  return message.type === type && message.payload !== undefined ? (message.payload as PushPayloads[T]) : undefined;
}

/** The server info when `message` is the `status` message that completes the handshake. */
export function serverInfoOf(message: DaemonMessage): ServerInfo | undefined {
  return message.type === "status" && message.payload?.status === "server_info" ? (message.payload as ServerInfo) : undefined;
}
