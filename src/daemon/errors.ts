// Errors of the daemon bridge. Each carries a stable `code`; the CLI maps codes to exit codes.
import { CloseCode } from "./protocol.js";

export type DaemonErrorCode =
  | "URL_REFUSED" // the URL policy refused the URL; no socket was opened
  | "CONNECT_FAILED" // no connection (refused, DNS, TLS, HTTP answer instead of an upgrade)
  | "DISCONNECTED" // the connection closed while something was waiting on it
  | "AUTH_FAILED" // close 4401
  | "VERSION_MISMATCH" // close 4003
  | "PROTOCOL_ERROR" // close 4001/4002, or the daemon broke the protocol
  | "TIMEOUT"
  | "RPC_ERROR" // the daemon answered rpc_error
  | "QUEUE_FULL" // the pre-open / backpressure queue is at its bound
  | "MESSAGE_TOO_BIG" // an incoming message exceeded the size cap
  | "FAILED"; // the request was answered but failed (agent_create_failed, accepted: false, ...)

export class DaemonError extends Error {
  constructor(
    message: string,
    readonly code: DaemonErrorCode,
  ) {
    super(message);
    this.name = "DaemonError";
  }
}

/** The daemon's typed failure reply: `rpc_error {requestId, requestType?, error, code?}`. */
export class DaemonRpcError extends DaemonError {
  constructor(
    message: string,
    readonly rpcCode: string | undefined,
    readonly requestType: string | undefined,
    readonly requestId: string | undefined,
  ) {
    super(message, "RPC_ERROR");
    this.name = "DaemonRpcError";
  }
}

/** A close of the socket, with the daemon's code and reason. */
export class DaemonCloseError extends DaemonError {
  constructor(
    message: string,
    code: DaemonErrorCode,
    readonly closeCode: number,
    readonly closeReason: string,
  ) {
    super(message, code);
    this.name = "DaemonCloseError";
  }
}

/** Turns a close code into the error it means, with a message that says what to do. */
export function closeError(code: number, reason: string, url: string): DaemonCloseError {
  const said = reason ? ` ("${reason}")` : "";
  switch (code) {
    case CloseCode.authFailed:
      return new DaemonCloseError(
        `authentication failed: the daemon at ${url} closed the session with 4401${said}; pass the daemon password with --password or DESKLESS_DAEMON_PASSWORD`,
        "AUTH_FAILED",
        code,
        reason,
      );
    case CloseCode.versionMismatch:
      return new DaemonCloseError(`protocol version mismatch: the daemon at ${url} closed with 4003${said}; it does not speak protocol 1`, "VERSION_MISMATCH", code, reason);
    case CloseCode.helloTimeout:
      return new DaemonCloseError(`protocol error: the daemon at ${url} closed with 4001${said}: no hello arrived in time`, "PROTOCOL_ERROR", code, reason);
    case CloseCode.invalidHello:
      return new DaemonCloseError(`protocol error: the daemon at ${url} closed with 4002${said}: it rejected the hello or a message sent before it`, "PROTOCOL_ERROR", code, reason);
    case CloseCode.tooBig:
      return new DaemonCloseError(`the connection to ${url} closed: ${reason || "a message exceeded the size cap"}`, "MESSAGE_TOO_BIG", code, reason);
    default:
      return new DaemonCloseError(`the connection to ${url} closed (code ${code}${reason ? `, "${reason}"` : ""})`, "DISCONNECTED", code, reason);
  }
}
