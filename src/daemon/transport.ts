// DaemonTransportFactory over `ws`: the socket is owned natively, so no Origin header is ever sent.
// The transport queues sends until open (bounded), follows the socket's buffered amount for
// backpressure, caps incoming message size and reports every failure through onError then onClose.
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import type WebSocket from "ws";
import { log } from "../log.js";
import { DaemonError } from "./errors.js";
import { Listeners } from "./listeners.js";
import { CloseCode } from "./protocol.js";
import { UrlPolicy } from "./url-policy.js";

/** `ws` is loaded on the first connection: it costs ~25 ms of start-up, which `deskless run` never needs. */
function loadWs(): typeof WebSocket {
  return createRequire(import.meta.url)("ws") as typeof WebSocket;
}

/** What the app's daemon client passes to a transport factory (early form: `{url, headers?}`). */
export interface DaemonTransportOptions {
  url: string;
  headers?: Record<string, string>;
  protocols?: string[];
}

export interface DaemonCloseEvent {
  code: number;
  reason: string;
  wasClean: boolean;
}

export type DaemonMessageHandler = (data: string | Uint8Array, isBinary: boolean) => void;

export interface DaemonTransport {
  /** Sends a text frame (string) or a binary frame; queued (bounded) until the socket is open. */
  send(data: string | Uint8Array | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  onOpen(handler: () => void): () => void;
  onMessage(handler: DaemonMessageHandler): () => void;
  onClose(handler: (event: DaemonCloseEvent) => void): () => void;
  onError(handler: (error: Error) => void): () => void;
  /** Subprotocol the server accepted ("" when none). */
  readonly protocol: string;
  /** Bytes waiting to be written: deskless's own queue plus the socket's buffer. */
  readonly bufferedAmount: number;
  /** Stops reading from the socket (incoming backpressure); `resume()` starts again. */
  pause(): void;
  resume(): void;
}

export type DaemonTransportFactory = (options: DaemonTransportOptions) => DaemonTransport;

export interface TransportFactoryOptions {
  /** Extra URL patterns on top of loopback and unix sockets (see url-policy.ts). */
  allow?: readonly string[];
  /** Trust this CA certificate (PEM file) for wss:// in addition to the system store. */
  caFile?: string;
  /** Queue bound before open or under backpressure: messages (default 1024). */
  maxQueuedMessages?: number;
  /** Queue bound before open or under backpressure: bytes (default 8 MiB). */
  maxQueuedBytes?: number;
  /** Incoming messages above this size close the socket with 1009 (default 64 MiB). */
  maxMessageBytes?: number;
  /** Above this many bytes in the socket's buffer, sends wait in the queue (default 1 MiB). */
  highWaterMarkBytes?: number;
  /** Opening handshake time limit (default 10 s). */
  handshakeTimeoutMs?: number;
}

export const TRANSPORT_DEFAULTS = {
  maxQueuedMessages: 1024,
  maxQueuedBytes: 8 * 1024 * 1024,
  maxMessageBytes: 64 * 1024 * 1024,
  highWaterMarkBytes: 1024 * 1024,
  handshakeTimeoutMs: 10_000,
} as const;

type Outgoing = string | Buffer;

function byteLength(data: Outgoing): number {
  return typeof data === "string" ? Buffer.byteLength(data) : data.length;
}

function toOutgoing(data: string | Uint8Array | ArrayBuffer): Outgoing {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function withoutOrigin(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === "origin") {
      log.warn("dropping the Origin header: deskless never sends one to the daemon");
      continue;
    }
    out[name] = value;
  }
  return out;
}

interface Limits {
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  maxMessageBytes: number;
  highWaterMarkBytes: number;
  handshakeTimeoutMs: number;
}

class WsTransport implements DaemonTransport {
  private ws: WebSocket | undefined;
  private readonly queue: Outgoing[] = [];
  private queuedBytes = 0;
  private state: "connecting" | "open" | "closed" = "connecting";
  private closeRequested: { code: number; reason: string } | undefined;
  private failure: Error | undefined;
  private closeOverride: DaemonCloseEvent | undefined;
  private readonly opened = new Listeners("daemon transport");
  private readonly messages = new Listeners<string | Uint8Array, boolean>("daemon transport");
  private readonly closed = new Listeners<DaemonCloseEvent>("daemon transport");
  private readonly errors = new Listeners<Error>("daemon transport");
  /** The TCP/TLS/unix socket under the WebSocket (from the documented 'upgrade' response), for 'drain'. */
  private socket: Duplex | undefined;
  private drainArmed = false;
  private readonly drained = () => {
    this.drainArmed = false;
    this.flush();
  };

  constructor(
    private readonly url: string,
    private readonly limits: Limits,
  ) {}

  /** Opens the socket; called once the URL policy let the URL through. */
  start(options: DaemonTransportOptions, ca: Buffer | undefined): void {
    const ws = new (loadWs())(options.url, options.protocols ?? [], {
      headers: withoutOrigin(options.headers),
      maxPayload: this.limits.maxMessageBytes,
      handshakeTimeout: this.limits.handshakeTimeoutMs,
      ...(ca ? { ca } : {}),
    });
    this.ws = ws;
    ws.on("open", () => {
      if (this.state !== "connecting") return;
      this.state = "open";
      this.opened.emit(undefined);
      this.flush();
    });
    // binaryType is the default "nodebuffer": every message arrives as one Buffer.
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.messages.emit(data.toString("utf8"), false);
      else this.messages.emit(new Uint8Array(data.buffer, data.byteOffset, data.length), true);
    });
    ws.on("upgrade", (res: IncomingMessage) => {
      this.socket = res.socket;
    });
    ws.on("unexpected-response", (_req, res: IncomingMessage) => this.refusedUpgrade(res));
    ws.on("error", (error: Error & { code?: string }) => this.socketError(error));
    ws.on("close", (code: number, reason: Buffer) => this.finish({ code, reason: reason.toString("utf8"), wasClean: code !== CloseCode.abnormal }));
  }

  /** Reports a failure before any socket (a URL the policy refused): onError then onClose, once the caller subscribed. */
  refuse(error: DaemonError, closeReason: string): void {
    setImmediate(() => {
      this.state = "closed";
      this.errors.emit(error);
      this.closed.emit({ code: CloseCode.abnormal, reason: closeReason, wasClean: false });
    });
  }

  get protocol(): string {
    return this.ws?.protocol ?? "";
  }

  get bufferedAmount(): number {
    return this.queuedBytes + (this.ws?.bufferedAmount ?? 0);
  }

  send(data: string | Uint8Array | ArrayBuffer): void {
    if (this.state === "closed" || this.closeRequested) {
      throw new DaemonError(`cannot send to ${this.url}: the connection is closed`, "DISCONNECTED");
    }
    const out = toOutgoing(data);
    const ws = this.ws;
    if (this.state === "open" && ws && this.queue.length === 0 && ws.bufferedAmount <= this.limits.highWaterMarkBytes) {
      // No write callback on the fast path: it costs a tick per message; 'drain' wakes the queue instead.
      ws.send(out);
      return;
    }
    const bytes = byteLength(out);
    if (this.queue.length + 1 > this.limits.maxQueuedMessages || this.queuedBytes + bytes > this.limits.maxQueuedBytes) {
      const why = this.state === "open" ? "the socket is not draining" : "the socket is not open yet";
      throw new DaemonError(
        `send queue full (${this.queue.length} messages, ${this.queuedBytes} bytes queued; bounds ${this.limits.maxQueuedMessages} messages, ${this.limits.maxQueuedBytes} bytes): ${why}; the message was not queued`,
        "QUEUE_FULL",
      );
    }
    this.queue.push(out);
    this.queuedBytes += bytes;
    if (this.state === "open") this.armDrain();
  }

  /** Flushes the queue once the socket has drained; polls when the socket is not waiting to drain. */
  private armDrain(): void {
    if (this.drainArmed || this.state !== "open") return;
    this.drainArmed = true;
    const socket = this.socket;
    if (socket && socket.writableNeedDrain) socket.once("drain", this.drained);
    else setTimeout(this.drained, 5);
  }

  private flush(): void {
    const ws = this.ws;
    if (!ws || this.state !== "open") return;
    while (this.queue.length > 0 && ws.bufferedAmount <= this.limits.highWaterMarkBytes) {
      const out = this.queue.shift() as Outgoing;
      this.queuedBytes -= byteLength(out);
      ws.send(out);
    }
    if (this.queue.length > 0) this.armDrain();
  }

  close(code: number = CloseCode.normal, reason = ""): void {
    if (this.state === "closed" || this.closeRequested) return;
    this.closeRequested = { code, reason };
    const ws = this.ws;
    if (!ws) return;
    if (this.state === "connecting") {
      this.closeOverride = { code, reason, wasClean: false };
      ws.terminate();
    } else {
      ws.close(code, reason);
    }
  }

  pause(): void {
    this.ws?.pause();
  }

  resume(): void {
    this.ws?.resume();
  }

  onOpen(handler: () => void): () => void {
    return this.opened.add(() => handler());
  }

  onMessage(handler: DaemonMessageHandler): () => void {
    return this.messages.add(handler);
  }

  onClose(handler: (event: DaemonCloseEvent) => void): () => void {
    return this.closed.add((event) => handler(event));
  }

  onError(handler: (error: Error) => void): () => void {
    return this.errors.add((error) => handler(error));
  }

  private refusedUpgrade(res: IncomingMessage): void {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      const body = Buffer.concat(chunks).toString("utf8").trim().slice(0, 200);
      this.failure = new DaemonError(
        `the daemon at ${this.url} answered HTTP ${res.statusCode}${body ? ` "${body}"` : ""} instead of upgrading to a WebSocket`,
        "CONNECT_FAILED",
      );
      this.ws?.terminate();
    };
    res.on("data", (chunk: Buffer) => {
      if (size < 4096) chunks.push(chunk);
      size += chunk.length;
    });
    res.on("end", done);
    res.on("error", done);
  }

  private socketError(error: Error & { code?: string }): void {
    if (this.closeOverride && !this.failure) return; // closed by the caller while connecting
    let reported: Error;
    if (this.failure) {
      reported = this.failure;
    } else if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
      const reason = `an incoming message exceeded the ${this.limits.maxMessageBytes}-byte cap`;
      this.closeOverride = { code: CloseCode.tooBig, reason, wasClean: false };
      reported = new DaemonError(`closing the connection to ${this.url}: ${reason}`, "MESSAGE_TOO_BIG");
    } else if (this.state === "connecting") {
      reported = new DaemonError(`cannot connect to the daemon at ${this.url}: ${error.message}`, "CONNECT_FAILED");
    } else {
      reported = new DaemonError(`connection to ${this.url} failed: ${error.message}`, "DISCONNECTED");
    }
    this.failure = reported;
    this.errors.emit(reported);
  }

  private finish(event: DaemonCloseEvent): void {
    if (this.state === "closed") return;
    this.state = "closed";
    if (this.queue.length > 0) {
      const lost = new DaemonError(
        `${this.queue.length} queued messages (${this.queuedBytes} bytes) were not sent: the connection to ${this.url} closed first`,
        "DISCONNECTED",
      );
      this.queue.length = 0;
      this.queuedBytes = 0;
      this.errors.emit(lost);
    }
    this.closed.emit(this.closeOverride ?? event);
  }
}

/**
 * Returns a DaemonTransportFactory. The URL policy runs when the factory is called, before any
 * socket or DNS lookup; a refused URL surfaces as onError then onClose.
 */
export function createDaemonTransportFactory(options: TransportFactoryOptions = {}): DaemonTransportFactory {
  const policy = new UrlPolicy({ allow: options.allow });
  if (policy.allowsAny) log.warn("the daemon URL policy allows any host ('*'): deskless will connect wherever it is told");
  const ca = options.caFile ? readFileSync(options.caFile) : undefined;
  const limits: Limits = {
    maxQueuedMessages: options.maxQueuedMessages ?? TRANSPORT_DEFAULTS.maxQueuedMessages,
    maxQueuedBytes: options.maxQueuedBytes ?? TRANSPORT_DEFAULTS.maxQueuedBytes,
    maxMessageBytes: options.maxMessageBytes ?? TRANSPORT_DEFAULTS.maxMessageBytes,
    highWaterMarkBytes: options.highWaterMarkBytes ?? TRANSPORT_DEFAULTS.highWaterMarkBytes,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? TRANSPORT_DEFAULTS.handshakeTimeoutMs,
  };
  return (transportOptions: DaemonTransportOptions): DaemonTransport => {
    const transport = new WsTransport(transportOptions.url, limits);
    const decision = policy.check(transportOptions.url);
    if (!decision.ok) {
      transport.refuse(new DaemonError(decision.reason, "URL_REFUSED"), "refused by the URL policy");
      return transport;
    }
    try {
      transport.start(transportOptions, ca);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      transport.refuse(new DaemonError(`cannot connect to the daemon at ${transportOptions.url}: ${message}`, "CONNECT_FAILED"), message);
    }
    return transport;
  };
}
