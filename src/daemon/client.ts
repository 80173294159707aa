// The daemon client's connection state machine: open, hello, server_info; reconnect with backoff
// that resumes the session by clientId; close. Replies are matched in requests.ts, timeline events
// ordered in timeline.ts, frames parsed in frames.ts. It runs on any DaemonTransportFactory, so
// tests can drive it over a double.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { log } from "../log.js";
import { DaemonError, closeError } from "./errors.js";
import { parseFrame } from "./frames.js";
import { Listeners } from "./listeners.js";
import { CloseCode, DAEMON_APP_VERSION, bearerProtocols, encodeHello, encodeSession, serverInfoOf, type DaemonMessage, type ReplyTo, type ServerInfo, type SessionRequest } from "./protocol.js";
import { PendingRequests } from "./requests.js";
import { TimelineOrder } from "./timeline.js";
import { createDaemonTransportFactory, type DaemonCloseEvent, type DaemonTransport, type DaemonTransportFactory } from "./transport.js";

export { sessionMessageText } from "./frames.js";

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

const PROCESS_CLIENT_ID = `deskless-cli-${randomUUID()}`;

/** The clientId deskless uses unless told otherwise: unique per process, stable within it. */
export function processClientId(): string {
  return PROCESS_CLIENT_ID;
}

/** Daemon close codes after which reconnecting cannot help. */
const FATAL_CLOSE = new Set<number>([CloseCode.authFailed, CloseCode.versionMismatch, CloseCode.invalidHello]);
const FATAL_ERRORS = new Set(["AUTH_FAILED", "VERSION_MISMATCH", "URL_REFUSED", "PROTOCOL_ERROR"]);

export class DaemonClient {
  readonly clientId: string;
  readonly url: string;
  private readonly factory: DaemonTransportFactory;
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnectOptions: Required<ReconnectOptions> | undefined;
  private transport: DaemonTransport | undefined;
  private unsubscribe: Array<() => void> = [];
  private readonly pending = new PendingRequests();
  /** Orders agent_stream events and fills their gaps; undefined with `gapFill: false`. */
  private readonly timeline: TimelineOrder | undefined;
  private stateValue: ClientState = "idle";
  private info: ServerInfo | undefined;
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private finalError: DaemonError | undefined;
  private readonly messageListeners = new Listeners<DaemonMessage, string | undefined>("daemon client");
  private readonly binaryListeners = new Listeners<Uint8Array>("daemon client");
  private readonly stateListeners = new Listeners<ClientState>("daemon client");
  private readonly disconnectListeners = new Listeners<DisconnectInfo>("daemon client");
  private readonly reconnectListeners = new Listeners<ServerInfo>("daemon client");
  private readonly closeListeners = new Listeners<DaemonError | undefined>("daemon client");

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
    const deliver = (message: DaemonMessage, frame: string | undefined) => this.deliver(message, frame);
    this.timeline = (options.gapFill ?? true) ? new TimelineOrder({ deliver, fetch: (request) => this.request(request) }) : undefined;
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
        transport.close(CloseCode.normal, "connect timeout");
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
            const error = isDaemonClose(event.code) ? closeError(event.code, event.reason, this.url) : (lastError ?? new DaemonError(`cannot connect to the daemon at ${this.url} (close ${event.code}${event.reason ? ` "${event.reason}"` : ""})`, "CONNECT_FAILED"));
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
          const frame = parseFrame(data as string);
          if (!frame) return;
          const info = settled ? undefined : serverInfoOf(frame.message);
          if (info) {
            settled = true;
            clearTimeout(timer);
            this.info = info;
            resolve(info);
            this.messageListeners.emit(frame.message, undefined);
            return;
          }
          this.dispatch(frame.message, frame.text);
        }),
      ];
    });
  }

  private detach(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }

  /** Routes a session message: agent_stream through the timeline order, then listeners, then the waiting request. */
  private dispatch(message: DaemonMessage, frame: string | undefined): void {
    if (message.type === "agent_stream" && this.timeline) this.timeline.accept(message, frame);
    else this.deliver(message, frame);
  }

  private deliver(message: DaemonMessage, frame: string | undefined): void {
    this.messageListeners.emit(message, frame);
    this.pending.answer(message);
  }

  /** The socket closed after the session was up. */
  private lost(event: DaemonCloseEvent, lastError: DaemonError | undefined): void {
    this.detach();
    this.transport = undefined;
    const error =
      isDaemonClose(event.code) || event.code === CloseCode.tooBig
        ? closeError(event.code, event.reason, this.url)
        : this.closing
          ? new DaemonError("the daemon client was closed", "DISCONNECTED")
          : (lastError ?? closeError(event.code, event.reason, this.url));
    this.pending.failAll((type) => new DaemonError(`${type} failed: ${error.message} before the reply arrived`, error.code === "AUTH_FAILED" ? "AUTH_FAILED" : "DISCONNECTED"));
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
    this.pending.stop();
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
          this.timeline?.fillAll();
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

  /**
   * Resolves once the client is connected: at once when it is, after the reconnection while it
   * reconnects. Rejects when the client closes, or after `timeoutMs` (0 or Infinity: no limit).
   * `type` names the request that waits, for the error messages.
   */
  whenConnected(timeoutMs: number, type: string): Promise<void> {
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
  request<T extends string>(message: SessionRequest & { type: T }, options: { timeoutMs?: number } = {}): Promise<ReplyTo<T>> {
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    if (this.stateValue !== "connected") return this.whenConnected(timeoutMs, message.type).then(() => this.request(message, options));
    // The reply is the message whose payload.requestId names this request: ReplyTo<T> by the protocol.
    return new Promise<ReplyTo<T>>((resolve, reject) => this.track(message, timeoutMs, resolve as (message: DaemonMessage) => void, reject));
  }

  /** Registers the request under its requestId (assigned when missing) and sends it. */
  private track(message: SessionRequest, timeoutMs: number, resolve: (message: DaemonMessage) => void, reject: (error: Error) => void): void {
    const requestId = message.requestId ?? randomUUID();
    this.pending.add(requestId, message.type, timeoutMs, resolve, reject);
    try {
      this.sendSession(message.requestId === requestId ? message : { ...message, requestId });
    } catch (error) {
      this.pending.remove(requestId);
      reject(error as Error);
    }
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
  ping(options: { timeoutMs?: number } = {}): Promise<{ rttMs: number; pong: ReplyTo<"ping"> }> {
    const message = { type: "ping" as const, requestId: randomUUID(), clientSentAt: Date.now() };
    if (this.stateValue !== "connected") {
      const started = performance.now();
      return this.request(message, options).then((pong) => ({ rttMs: performance.now() - started, pong }));
    }
    return new Promise((resolve, reject) => {
      const started = performance.now();
      this.track(message, options.timeoutMs ?? this.requestTimeoutMs, (pong) => resolve({ rttMs: performance.now() - started, pong: pong as ReplyTo<"ping"> }), reject);
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
      transport?.close(CloseCode.normal, "client closed");
      this.detach();
      this.pending.failAll((type) => new DaemonError(`${type} failed: the daemon client was closed`, "DISCONNECTED"));
      this.end(undefined);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const off = this.onClose(() => {
        off();
        resolve();
      });
      transport.close(CloseCode.normal, "client closed");
    });
  }
}

/** The daemon's own close codes (4xxx) each mean something; closeError() names it. */
function isDaemonClose(code: number): boolean {
  return code >= 4000;
}
