// `deskless daemon session`: a long-lived bridge. JSON requests come in on stdin (one per line),
// requestIds are assigned where missing, and every daemon message goes out on stdout as NDJSON,
// with a few `deskless.*` lines about the connection itself.
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { log } from "../log.js";
import { DaemonError } from "../daemon/errors.js";
import { BinaryOpcode, decodeBinaryFrame, encodeBinaryFrame, type SessionRequest } from "../daemon/protocol.js";
import type { DaemonRun } from "./daemon-context.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";

/** Session messages that never get a reply, so they carry no requestId of deskless's making. */
const NO_REPLY = new Set(["terminal_input", "agent_permission_response", "unsubscribe_terminal_request"]);

/** Subscribes the bridge's output before the hello: every daemon message goes to stdout. */
export function bridgeOutput(run: DaemonRun): void {
  const { client, out } = run;
  client.onMessage((message, frame) => out.ndjson(message, frame));
  client.onBinary((frame) => {
    const decoded = decodeBinaryFrame(frame);
    if (decoded) out.ndjson({ type: "deskless.binary", payload: { opcode: decoded.opcode, slot: decoded.slot, data: Buffer.from(decoded.payload).toString("base64") } });
  });
  client.onDisconnect((info) => out.ndjson({ type: "deskless.disconnected", payload: { code: info.code, reason: info.reason, error: info.error.message, willReconnect: info.willReconnect } }));
  client.onReconnect((serverInfo) => out.ndjson({ type: "deskless.reconnected", payload: { clientId: client.clientId, serverInfo } }));
}

export async function runSession(run: DaemonRun): Promise<ExitCodeValue> {
  const { client, out } = run;
  const inFlight = new Set<Promise<unknown>>();
  out.ndjson({ type: "deskless.connected", payload: { clientId: client.clientId, serverInfo: client.serverInfo } });

  const fatal = new Promise<DaemonError | undefined>((resolve) => client.onClose((error) => resolve(error)));
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  const failLine = (error: string) => {
    log.warn({ line: lineNo }, error);
    out.ndjson({ type: "deskless.error", payload: { line: lineNo, error } });
  };
  lines.on("line", (line) => {
    lineNo += 1;
    if (line.trim() === "") return;
    let message: SessionRequest;
    try {
      message = JSON.parse(line);
    } catch {
      return failLine(`line ${lineNo} is not valid JSON`);
    }
    if (!message || typeof message !== "object" || Array.isArray(message) || typeof message.type !== "string") {
      return failLine(`line ${lineNo} is not a message: expected a JSON object with a "type"`);
    }
    try {
      if (message.type === "deskless.binary") {
        const m = message as unknown as { opcode?: number; slot?: number; data?: string };
        client.sendBinary(encodeBinaryFrame(Number(m.opcode ?? BinaryOpcode.input), Number(m.slot ?? 0), Buffer.from(String(m.data ?? ""), "base64")));
        return;
      }
      if (NO_REPLY.has(message.type)) {
        client.notify(message);
        return;
      }
    } catch (error) {
      return failLine((error as Error).message);
    }
    const requestId = typeof message.requestId === "string" && message.requestId !== "" ? message.requestId : randomUUID();
    const request = client
      .request({ ...message, requestId }, { timeoutMs: run.timeoutMs ?? 0 })
      .catch((error: DaemonError) => {
        // rpc_error replies are already on stdout as daemon messages.
        if (error.code !== "RPC_ERROR") out.ndjson({ type: "deskless.request_failed", payload: { requestId, requestType: message.type, code: error.code, error: error.message } });
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  });
  const ended = new Promise<"eof">((resolve) => lines.once("close", () => resolve("eof")));
  const first = await Promise.race([ended, fatal.then((error) => ({ error }))]);
  if (first !== "eof") {
    lines.close();
    process.stdin.pause();
    if (first.error) throw first.error;
    return ExitCode.ok;
  }
  // stdin ended: let the replies to what was asked arrive, then leave.
  await Promise.race([Promise.allSettled([...inFlight]), fatal]);
  return ExitCode.ok;
}
