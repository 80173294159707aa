// Parsing of the daemon's text frames: `{"type":"session","message":{...}}` carries a session
// message, `{"type":"pong"}` answers a socket-level ping, anything else is logged and skipped.
import { log } from "../log.js";
import type { DaemonMessage } from "./protocol.js";

// A frame that is exactly `{"type":"session","message":<message>}` is handed to message listeners
// as text too, so NDJSON output can pass the message through without serialising it again.
const SESSION_PREFIX = '{"type":"session","message":';
const CLOSING_BRACE = 125;

/** The message's own JSON text inside a frame given to a message listener. */
export function sessionMessageText(frame: string): string {
  return frame.slice(SESSION_PREFIX.length, -1);
}

export interface SessionFrame {
  message: DaemonMessage;
  /** The frame's text when `sessionMessageText(text)` is exactly the message's JSON, else undefined. */
  text: string | undefined;
}

/** Parses one text frame; malformed frames are logged and skipped. Returns the session message, if any. */
export function parseFrame(text: string): SessionFrame | undefined {
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
      return { message, text: passesThrough(frame, text) ? text : undefined };
    }
    log.warn("skipping a session frame without a message type");
    return undefined;
  }
  if (frame.type !== "pong") log.debug({ type: frame.type }, "ignoring a daemon frame outside the session envelope");
  return undefined;
}

/** True when the frame has no key besides type and message and its text has the expected shape. */
function passesThrough(frame: object, text: string): boolean {
  let keys = 0;
  for (const _key in frame) keys += 1;
  return keys === 2 && text.startsWith(SESSION_PREFIX) && text.charCodeAt(text.length - 1) === CLOSING_BRACE;
}
