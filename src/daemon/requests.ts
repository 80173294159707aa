// Request correlation: requests waiting for the message whose payload.requestId names them, each
// with its own deadline. Replies can arrive in any order and after the events they caused.
import { performance } from "node:perf_hooks";
import { DaemonError, DaemonRpcError } from "./errors.js";
import { replyRequestId, type DaemonMessage, type RpcErrorPayload } from "./protocol.js";

interface Pending {
  type: string;
  resolve: (message: DaemonMessage) => void;
  reject: (error: Error) => void;
  /** performance.now() deadline, Infinity for none. */
  deadline: number;
  timeoutMs: number;
}

export class PendingRequests {
  private readonly waiting = new Map<string, Pending>();
  // One timer for all deadlines, armed for the earliest; replies never touch it.
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  /** Waits for the reply to `requestId`; a time limit of 0 (or none) waits until the reply or failAll(). */
  add(requestId: string, type: string, timeoutMs: number, resolve: (message: DaemonMessage) => void, reject: (error: Error) => void): void {
    const deadline = timeoutMs > 0 && Number.isFinite(timeoutMs) ? performance.now() + timeoutMs : Number.POSITIVE_INFINITY;
    this.waiting.set(requestId, { type, resolve, reject, deadline, timeoutMs });
    if (deadline < this.timerAt) this.arm(deadline);
  }

  /** Forgets a request without settling it (its send failed; the caller rejects it). */
  remove(requestId: string): void {
    this.waiting.delete(requestId);
  }

  /** Settles the request `message` answers, if one waits: rpc_error rejects with DaemonRpcError. */
  answer(message: DaemonMessage): void {
    const id = replyRequestId(message);
    if (id === undefined) return;
    const waiting = this.waiting.get(id);
    if (!waiting) return;
    this.waiting.delete(id);
    if (message.type !== "rpc_error") {
      waiting.resolve(message);
      return;
    }
    const p = message.payload as RpcErrorPayload;
    const requestType = typeof p.requestType === "string" ? p.requestType : waiting.type;
    const code = typeof p.code === "string" ? p.code : undefined;
    waiting.reject(new DaemonRpcError(`the daemon refused ${requestType}${code ? ` (${code})` : ""}: ${String(p.error ?? "unknown error")}`, code, requestType, id));
  }

  /** Rejects every waiting request with the error `errorFor` makes from its request type. */
  failAll(errorFor: (type: string) => DaemonError): void {
    for (const [id, waiting] of this.waiting) {
      waiting.reject(errorFor(waiting.type));
      this.waiting.delete(id);
    }
  }

  /** Stops the deadline timer (the client is done). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private arm(deadline: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(() => this.expire(), Math.max(0, deadline - performance.now()));
    // Pending requests are kept alive by the socket, not by their deadlines.
    this.timer.unref();
  }

  /** Fails the requests whose deadline passed and re-arms the timer for the next one. */
  private expire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [id, waiting] of this.waiting) {
      if (waiting.deadline <= now + 1) {
        this.waiting.delete(id);
        waiting.reject(new DaemonError(`${waiting.type} timed out after ${waiting.timeoutMs} ms without a reply`, "TIMEOUT"));
      } else if (waiting.deadline < next) {
        next = waiting.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }
}
