// The daemon client: hello/server_info, requestId correlation, typed errors, reconnect with
// backoff that resumes the session by clientId, and timeline gap fill after a resume.
// It runs on any DaemonTransportFactory, so tests can drive it over a double.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { log } from "../log.js";
import { DaemonError, DaemonRpcError, closeError } from "./errors.js";
import {
  DAEMON_APP_VERSION,
  bearerProtocols,
  encodeHello,
  encodeSession,
  replyRequestId,
  type AgentStreamPayload,
  type DaemonMessage,
  type ServerInfo,
  type SessionRequest,
} from "./protocol.js";
import { createDaemonTransportFactory, type DaemonCloseEvent, type DaemonTransport, type DaemonTransportFactory } from "./transport.js";

export interface ReconnectOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
}

export interface DaemonClientOptions {
  url: string;
  /** Defaults to createDaemonTransportFactory({ allow, caFile }). */
  transportFactory?: DaemonTransportFactory;
  allow?: readonly string[];
  caFile?: string;
  password?: string;
  headers?: Record<string, string>;
  /** Identifies the session; reconnecting with it resumes the session. Default: one per process. */
  clientId?: string;
  appVersion?: string;
  /** Per-request time limit (default 30 s). */
  requestTimeoutMs?: number;
  /** Time limit for open + hello + server_info (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect after an unexpected close (default off; long-lived commands turn it on). */
  reconnect?: boolean | ReconnectOptions;
  /** Fill timeline gaps after a resume with fetch_agent_timeline_request (default on). */
  gapFill?: boolean;
}

export type ClientState = "idle" | "connecting" | "connected" | "reconnecting" | "closed";

export interface DisconnectInfo {
  code: number;
  reason: string;
  error: DaemonError;
  willReconnect: boolean;
}

interface Pending {
  type: string;
  resolve: (message: DaemonMessage) => void;
  reject: (error: Error) => void;
  /** performance.now() deadline, Infinity for none. */
  deadline: number;
  timeoutMs: number;
}

interface StreamCursor {
  epoch: string;
  seq: number;
  filling: boolean;
  held: Array<{ message: DaemonMessage; frame: string | undefined }>;
}

const PROCESS_CLIENT_ID = `deskless-cli-${randomUUID()}`;

// Message listeners also get the daemon's frame text when it is exactly
// `{"type":"session","message":<message>}`, so NDJSON output can pass the message through without
// serialising it again (see sessionMessageText).
const SESSION_PREFIX = '{"type":"session","message":';

/** The message's own JSON text inside a frame given to a message listener. */
export function sessionMessageText(frame: string): string {
  return frame.slice(SESSION_PREFIX.length, -1);
}

/** The clientId deskless uses unless told otherwise: unique per process, stable within it. */
export function processClientId(): string {
  return PROCESS_CLIENT_ID;
}

/** Daemon close codes after which reconnecting cannot help. */
const FATAL_CLOSE = new Set([4401, 4003, 4002]);
const FATAL_ERRORS = new Set(["AUTH_FAILED", "VERSION_MISMATCH", "URL_REFUSED", "PROTOCOL_ERROR"]);

/** Listeners of one client event (fixed arity: no rest-argument arrays on the hot path). */
class Listeners<A, B = undefined> {
  private fns: Array<(a: A, b: B) => void> = [];
  add(fn: (a: A, b: B) => void): () => void {
    this.fns = [...this.fns, fn];
    return () => {
      this.fns = this.fns.filter((f) => f !== fn);
    };
  }
  emit(a: A, b?: B): void {
    const fns = this.fns;
    for (let i = 0; i < fns.length; i += 1) {
      try {
        (fns[i] as (a: A, b: B) => void)(a, b as B);
      } catch (error) {
        log.error({ err: error }, "a daemon client listener threw");
      }
    }
  }
}

export class DaemonClient {
  readonly clientId: string;
  readonly url: string;
  private readonly factory: DaemonTransportFactory;
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnectOptions: Required<ReconnectOptions> | undefined;
  private readonly gapFill: boolean;
  private transport: DaemonTransport | undefined;
  private unsubscribe: Array<() => void> = [];
  private readonly pending = new Map<string, Pending>();
  private readonly cursors = new Map<string, StreamCursor>();
  private stateValue: ClientState = "idle";
  private info: ServerInfo | undefined;
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private finalError: DaemonError | undefined;
  /** Text of the frame parse() just returned, when it can be passed through (see SESSION_PREFIX). */
  private frameText: string | undefined;
  // One timer for all request deadlines, armed for the earliest; replies never touch it.
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineAt = Number.POSITIVE_INFINITY;
  private readonly messageListeners = new Listeners<DaemonMessage, string | undefined>();
  private readonly binaryListeners = new Listeners<Uint8Array>();
  private readonly stateListeners = new Listeners<ClientState>();
  private readonly disconnectListeners = new Listeners<DisconnectInfo>();
  private readonly reconnectListeners = new Listeners<ServerInfo>();
  private readonly closeListeners = new Listeners<DaemonError | undefined>();

  constructor(private readonly options: DaemonClientOptions) {
    this.url = options.url;
    this.clientId = options.clientId ?? PROCESS_CLIENT_ID;
    if (!this.clientId) throw new DaemonError("the clientId must not be empty", "PROTOCOL_ERROR");
    this.factory = options.transportFactory ?? createDaemonTransportFactory({ allow: options.allow, caFile: options.caFile });
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const r = options.reconnect;
    this.reconnectOptions = r
      ? { initialDelayMs: 250, maxDelayMs: 5_000, maxAttempts: Number.POSITIVE_INFINITY, ...(typeof r === "object" ? r : {}) }
      : undefined;
    this.gapFill = options.gapFill ?? true;
  }

  get state(): ClientState {
    return this.stateValue;
  }

  get serverInfo(): ServerInfo | undefined {
    return this.info;
  }

  /**
   * Every session message from the daemon, in order; timeline gaps are filled before later events.
   * `frame`, when given, is the frame's text: `sessionMessageText(frame)` is the message's own JSON.
   */
  onMessage(fn: (message: DaemonMessage, frame?: string) => void): () => void {
    return this.messageListeners.add(fn);
  }
  onBinary(fn: (frame: Uint8Array) => void): () => void {
    return this.binaryListeners.add(fn);
  }
  onState(fn: (state: ClientState) => void): () => void {
    return this.stateListeners.add(fn);
  }
  onDisconnect(fn: (info: DisconnectInfo) => void): () => void {
    return this.disconnectListeners.add(fn);
  }
  onReconnect(fn: (info: ServerInfo) => void): () => void {
    return this.reconnectListeners.add(fn);
  }
  /** The client is done: closed by close(), by a fatal close code, or out of reconnect attempts. */
  onClose(fn: (error: DaemonError | undefined) => void): () => void {
    return this.closeListeners.add(fn);
  }

  private setState(state: ClientState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.stateListeners.emit(state);
  }

  /** Opens the socket, says hello and resolves with server_info. */
  async connect(): Promise<ServerInfo> {
    if (this.stateValue === "connected" && this.info) return this.info;
    if (this.stateValue === "closed") throw this.finalError ?? new DaemonError("the daemon client is closed", "DISCONNECTED");
    this.setState("connecting");
    try {
      const info = await this.attempt();
      this.setState("connected");
      return info;
    } catch (error) {
      this.setState("closed");
      this.finalError = error as DaemonError;
      throw error;
    }
  }

  /** One connection attempt: open, hello, wait for server_info. */
  private attempt(): Promise<ServerInfo> {
    return new Promise<ServerInfo>((resolve, reject) => {
      let settled = false;
      let lastError: DaemonError | undefined;
      const transport = this.factory({
        url: this.url,
        headers: this.options.headers,
        protocols: this.options.password !== undefined ? bearerProtocols(this.options.password) : undefined,
      });
      this.transport = transport;
      const timer = setTimeout(() => {
        fail(new DaemonError(`timed out after ${this.connectTimeoutMs} ms waiting for the daemon at ${this.url} to answer the hello`, "TIMEOUT"));
        transport.close(1000, "connect timeout");
      }, this.connectTimeoutMs);
      const fail = (error: DaemonError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.detach();
        reject(error);
      };
      this.detach();
      this.unsubscribe = [
        transport.onOpen(() => {
          try {
            transport.send(encodeHello(this.clientId, this.options.appVersion ?? DAEMON_APP_VERSION));
          } catch (error) {
            fail(error as DaemonError);
          }
        }),
        transport.onError((error) => {
          lastError = error instanceof DaemonError ? error : new DaemonError(error.message, "CONNECT_FAILED");
          log.debug({ code: lastError.code }, lastError.message);
        }),
        transport.onClose((event) => {
          if (!settled) {
            const error = event.code >= 4000 ? closeError(event.code, event.reason, this.url) : (lastError ?? new DaemonError(`cannot connect to the daemon at ${this.url} (close ${event.code}${event.reason ? ` "${event.reason}"` : ""})`, "CONNECT_FAILED"));
            fail(error);
            return;
          }
          this.lost(event, lastError);
        }),
        transport.onMessage((data, isBinary) => {
          if (isBinary) {
            if (settled) this.binaryListeners.emit(data as Uint8Array);
            return;
          }
          const message = this.parse(data as string);
          if (!message) return;
          if (!settled) {
            const payload = message.payload as { status?: unknown } | undefined;
            if (message.type === "status" && payload?.status === "server_info") {
              settled = true;
              clearTimeout(timer);
              this.info = message.payload as unknown as ServerInfo;
              resolve(this.info);
              this.messageListeners.emit(message, undefined);
              return;
            }
          }
          this.dispatch(message, this.frameText);
        }),
      ];
    });
  }

  private detach(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }

  /** Parses one text frame; malformed frames are logged and skipped. Returns the session message, if any. */
  private parse(text: string): DaemonMessage | undefined {
    let frame: { type?: unknown; message?: unknown };
    try {
      frame = JSON.parse(text);
    } catch {
      log.warn({ bytes: text.length }, "skipping a malformed (non-JSON) message from the daemon");
      return undefined;
    }
    if (frame === null || typeof frame !== "object") {
      log.warn("skipping a daemon frame that is not a JSON object");
      return undefined;
    }
    if (frame.type === "session") {
      const message = frame.message as DaemonMessage | undefined;
      if (message && typeof message === "object" && typeof message.type === "string") {
        let keys = 0;
        for (const _key in frame) keys += 1;
        this.frameText = keys === 2 && text.startsWith(SESSION_PREFIX) && text.charCodeAt(text.length - 1) === 125 ? text : undefined;
        return message;
      }
      log.warn("skipping a session frame without a message type");
      return undefined;
    }
    if (frame.type !== "pong") log.debug({ type: frame.type }, "ignoring a daemon frame outside the session envelope");
    return undefined;
  }

  /** Routes a session message: stream ordering for agent_stream, then listeners, then the waiting request. */
  private dispatch(message: DaemonMessage, frame: string | undefined): void {
    if (message.type === "agent_stream" && this.gapFill) {
      this.ordered(message, frame, false);
      return;
    }
    this.deliver(message, frame);
  }

  private deliver(message: DaemonMessage, frame: string | undefined): void {
    this.messageListeners.emit(message, frame);
    const id = replyRequestId(message);
    if (id === undefined) return;
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    if (message.type === "rpc_error") {
      const p = message.payload as { error?: unknown; code?: unknown; requestType?: unknown };
      const requestType = typeof p.requestType === "string" ? p.requestType : waiting.type;
      const code = typeof p.code === "string" ? p.code : undefined;
      waiting.reject(new DaemonRpcError(`the daemon refused ${requestType}${code ? ` (${code})` : ""}: ${String(p.error ?? "unknown error")}`, code, requestType, id));
    } else {
      waiting.resolve(message);
    }
  }

  /** Delivers agent_stream events in seq order per agent, holding later events while a gap is filled. */
  private ordered(message: DaemonMessage, frame: string | undefined, afterFill: boolean): void {
    const p = message.payload as unknown as AgentStreamPayload | undefined;
    if (!p || typeof p.agentId !== "string" || typeof p.seq !== "number" || typeof p.epoch !== "string") {
      this.deliver(message, frame);
      return;
    }
    const cursor = this.cursors.get(p.agentId);
    if (!cursor || cursor.epoch !== p.epoch) {
      this.cursors.set(p.agentId, { epoch: p.epoch, seq: p.seq, filling: false, held: [] });
      this.deliver(message, frame);
      return;
    }
    if (cursor.filling) {
      cursor.held.push({ message, frame });
      return;
    }
    if (p.seq <= cursor.seq) {
      log.debug({ agentId: p.agentId, seq: p.seq }, "dropping a timeline event already delivered");
      return;
    }
    if (p.seq > cursor.seq + 1 && !afterFill) {
      cursor.held.push({ message, frame });
      void this.fill(p.agentId);
      return;
    }
    if (p.seq > cursor.seq + 1) log.warn({ agentId: p.agentId, from: cursor.seq + 1, to: p.seq - 1 }, "timeline events lost: the daemon no longer has them");
    cursor.seq = p.seq;
    this.deliver(message, frame);
  }

  /** Fetches the events after the last seq seen for an agent and delivers them marked `replayed`. */
  private async fill(agentId: string): Promise<void> {
    const cursor = this.cursors.get(agentId);
    if (!cursor || cursor.filling) return;
    cursor.filling = true;
    try {
      const reply = await this.request({
        type: "fetch_agent_timeline_request",
        agentId,
        direction: "after",
        cursor: { epoch: cursor.epoch, seq: cursor.seq },
        limit: 0,
        projection: "canonical",
      });
      const r = reply.payload as {
        epoch?: string;
        reset?: boolean;
        entries?: Array<{ item: unknown; provider?: string; timestamp?: string; seqStart: number; seqEnd: number }>;
      };
      if (r.epoch && r.epoch !== cursor.epoch) {
        log.warn({ agentId }, "the agent's timeline was reset while disconnected; continuing from the new epoch");
        cursor.epoch = r.epoch;
        cursor.seq = 0;
      }
      const entries = [...(r.entries ?? [])].sort((a, b) => a.seqStart - b.seqStart);
      for (const entry of entries) {
        if (entry.seqEnd <= cursor.seq) continue;
        cursor.seq = entry.seqEnd;
        const payload: AgentStreamPayload = {
          agentId,
          event: { type: "timeline", provider: entry.provider, item: entry.item },
          timestamp: entry.timestamp,
          seq: entry.seqEnd,
          epoch: cursor.epoch,
          replayed: true,
        };
        this.deliver({ type: "agent_stream", payload: payload as unknown as DaemonMessage["payload"] }, undefined);
      }
    } catch (error) {
      log.warn({ agentId, err: (error as Error).message }, "could not fill a timeline gap");
    } finally {
      cursor.filling = false;
      const held = cursor.held.splice(0);
      for (const { message, frame } of held) this.ordered(message, frame, true);
    }
  }

  /** The socket closed after the session was up. */
  private lost(event: DaemonCloseEvent, lastError: DaemonError | undefined): void {
    this.detach();
    this.transport = undefined;
    const error = event.code >= 4000 || event.code === 1009 ? closeError(event.code, event.reason, this.url) : this.closing ? new DaemonError("the daemon client was closed", "DISCONNECTED") : (lastError ?? closeError(event.code, event.reason, this.url));
    for (const [id, waiting] of this.pending) {
      waiting.reject(new DaemonError(`${waiting.type} failed: ${error.message} before the reply arrived`, error.code === "AUTH_FAILED" ? "AUTH_FAILED" : "DISCONNECTED"));
      this.pending.delete(id);
    }
    const willReconnect = !this.closing && this.reconnectOptions !== undefined && !FATAL_CLOSE.has(event.code);
    this.disconnectListeners.emit({ code: event.code, reason: event.reason, error, willReconnect });
    if (willReconnect) {
      this.setState("reconnecting");
      this.scheduleReconnect(0);
    } else {
      this.end(this.closing ? undefined : error);
    }
  }

  private end(error: DaemonError | undefined): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = Number.POSITIVE_INFINITY;
    this.finalError = error;
    this.setState("closed");
    this.closeListeners.emit(error);
  }

  private scheduleReconnect(attempt: number): void {
    const o = this.reconnectOptions as Required<ReconnectOptions>;
    const base = Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** attempt);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    log.info({ attempt: attempt + 1, delayMs: delay }, "reconnecting to the daemon");
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closing) return;
      this.attempt().then(
        (info) => {
          this.setState("connected");
          log.info("resumed the daemon session");
          this.reconnectListeners.emit(info);
          if (this.gapFill) for (const agentId of this.cursors.keys()) void this.fill(agentId);
        },
        (error: DaemonError) => {
          if (this.closing) return;
          if (FATAL_ERRORS.has(error.code) || attempt + 1 >= o.maxAttempts) {
            this.end(error);
            return;
          }
          log.debug({ err: error.message }, "reconnect attempt failed");
          this.scheduleReconnect(attempt + 1);
        },
      );
    }, delay);
  }

  /** Waits until the client is connected (for requests made while it reconnects). */
  private whenConnected(timeoutMs: number, type: string): Promise<void> {
    if (this.stateValue === "connected") return Promise.resolve();
    if (this.stateValue !== "reconnecting" && this.stateValue !== "connecting") {
      return Promise.reject(this.finalError ?? new DaemonError(`cannot send ${type}: not connected to the daemon`, "DISCONNECTED"));
    }
    return new Promise<void>((resolve, reject) => {
      // A time limit of 0 (or none) waits as long as the client keeps trying.
      const timer =
        timeoutMs > 0 && Number.isFinite(timeoutMs)
          ? setTimeout(() => {
              off();
              reject(new DaemonError(`${type} timed out after ${timeoutMs} ms waiting for the daemon connection to come back`, "TIMEOUT"));
            }, timeoutMs)
          : undefined;
      const off = this.onState((state) => {
        if (state === "connected") {
          clearTimeout(timer);
          off();
          resolve();
        } else if (state === "closed") {
          clearTimeout(timer);
          off();
          reject(this.finalError ?? new DaemonError(`cannot send ${type}: the daemon client closed`, "DISCONNECTED"));
        }
      });
    });
  }

  /**
   * Sends a request and resolves with the message whose payload.requestId matches; a requestId is
   * assigned when missing. rpc_error rejects with DaemonRpcError; a timeout with code TIMEOUT.
   */
  request(message: SessionRequest, options: { timeoutMs?: number } = {}): Promise<DaemonMessage> {
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    if (this.stateValue !== "connected") return this.whenConnected(timeoutMs, message.type).then(() => this.request(message, options));
    return new Promise<DaemonMessage>((resolve, reject) => this.track(message, timeoutMs, resolve, reject));
  }

  /** Registers the request under its requestId (assigned when missing) and sends it. */
  private track(message: SessionRequest, timeoutMs: number, resolve: (message: DaemonMessage) => void, reject: (error: Error) => void): void {
    const requestId = message.requestId ?? randomUUID();
    const deadline = timeoutMs > 0 && Number.isFinite(timeoutMs) ? performance.now() + timeoutMs : Number.POSITIVE_INFINITY;
    this.pending.set(requestId, { type: message.type, resolve, reject, deadline, timeoutMs });
    if (deadline < this.deadlineAt) this.armDeadline(deadline);
    try {
      this.sendSession(message.requestId === requestId ? message : { ...message, requestId });
    } catch (error) {
      this.pending.delete(requestId);
      reject(error as Error);
    }
  }

  private armDeadline(deadline: number): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineAt = deadline;
    this.deadlineTimer = setTimeout(() => this.expire(), Math.max(0, deadline - performance.now()));
    // Pending requests are kept alive by the socket, not by their deadlines.
    this.deadlineTimer.unref();
  }

  /** Fails the requests whose deadline passed and re-arms the timer for the next one. */
  private expire(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [id, waiting] of this.pending) {
      if (waiting.deadline <= now + 1) {
        this.pending.delete(id);
        waiting.reject(new DaemonError(`${waiting.type} timed out after ${waiting.timeoutMs} ms without a reply`, "TIMEOUT"));
      } else if (waiting.deadline < next) {
        next = waiting.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.armDeadline(next);
  }

  /** Sends a session message that has no reply (terminal_input, agent_permission_response). */
  notify(message: SessionRequest): void {
    this.sendSession(message);
  }

  private sendSession(message: SessionRequest): void {
    const transport = this.transport;
    if (!transport || this.stateValue !== "connected") throw new DaemonError(`cannot send ${message.type}: not connected to the daemon`, "DISCONNECTED");
    transport.send(encodeSession(message));
  }

  /** Sends a binary frame (terminal input/resize: `[opcode, slot, ...payload]`). */
  sendBinary(frame: Uint8Array): void {
    const transport = this.transport;
    if (!transport || this.stateValue !== "connected") throw new DaemonError("cannot send a binary frame: not connected to the daemon", "DISCONNECTED");
    transport.send(frame);
  }

  /** Session-level ping; resolves with the round-trip time in milliseconds. */
  ping(options: { timeoutMs?: number } = {}): Promise<{ rttMs: number; pong: DaemonMessage }> {
    const message = { type: "ping", requestId: randomUUID(), clientSentAt: Date.now() };
    if (this.stateValue !== "connected") {
      const started = performance.now();
      return this.request(message, options).then((pong) => ({ rttMs: performance.now() - started, pong }));
    }
    return new Promise((resolve, reject) => {
      const started = performance.now();
      this.track(message, options.timeoutMs ?? this.requestTimeoutMs, (pong) => resolve({ rttMs: performance.now() - started, pong }), reject);
    });
  }

  /** Stops reading from the socket (the consumer is slow); resume() reads again. */
  pause(): void {
    this.transport?.pause();
  }
  resume(): void {
    this.transport?.resume();
  }

  /** Closes the session; pending requests fail; resolves once the socket has closed. */
  close(): Promise<void> {
    if (this.stateValue === "closed") return Promise.resolve();
    this.closing = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const transport = this.transport;
    if (!transport || this.stateValue !== "connected") {
      transport?.close(1000, "client closed");
      this.detach();
      for (const [id, waiting] of this.pending) {
        waiting.reject(new DaemonError(`${waiting.type} failed: the daemon client was closed`, "DISCONNECTED"));
        this.pending.delete(id);
      }
      this.end(undefined);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const off = this.onClose(() => {
        off();
        resolve();
      });
      transport.close(1000, "client closed");
    });
  }
}
