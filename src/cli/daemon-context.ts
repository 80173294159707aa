// Shared plumbing of `deskless daemon ...`: common options, the client they describe, the run of
// one command, and the mapping from daemon errors to exit codes.
import type { Command } from "commander";
import { log } from "../log.js";
import { DaemonClient } from "../daemon/client.js";
import { DaemonOutput } from "../daemon/output.js";
import { DEFAULT_DAEMON_URL } from "../daemon/protocol.js";
import { allowPatternsFromEnv } from "../daemon/url-policy.js";
import { collect } from "./collect.js";
import { exitCodeOf } from "./errors.js";
import { CliError, ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { timeoutSeconds, TIMEOUT_UNITS } from "./timeout.js";

export interface CommonOptions {
  url: string;
  password?: string;
  clientId?: string;
  /** Seconds. */
  timeout?: number;
  json?: boolean;
  allow: string[];
  caFile?: string;
}

/** Adds the options every daemon command takes (`permit` names the URL pattern option --allow-url: its --allow answers the request). */
export function withCommonOptions(command: Command, allowFlag = "--allow"): Command {
  return command
    .option("--url <url>", "daemon WebSocket URL (env DESKLESS_DAEMON_URL)", process.env.DESKLESS_DAEMON_URL || DEFAULT_DAEMON_URL)
    .option("--password <password>", "daemon password, sent only as a bearer subprotocol (env DESKLESS_DAEMON_PASSWORD)")
    .option("--client-id <id>", "session clientId; reuse it to resume a session (default: unique per process)")
    .option("--timeout <time>", `time limit ${TIMEOUT_UNITS}`, timeoutSeconds)
    .option("--json", "print JSON; streams print NDJSON, one message per line")
    .option(`${allowFlag} <pattern>`, "also allow this daemon URL pattern: ws://host:port, wss://host, host, or * (repeatable; env DESKLESS_DAEMON_ALLOW)", collect, [] as string[])
    .option("--ca-file <path>", "trust this CA certificate (PEM) for wss:// (env DESKLESS_DAEMON_CA_FILE)");
}

export interface ClientSettings {
  /** Long-lived commands reconnect and resume; one-shot commands fail fast. */
  longLived: boolean;
  /** Subscribes before the hello, so nothing the daemon sends right after server_info is missed. */
  beforeConnect?: (run: DaemonRun) => void;
}

export function timeoutOf(options: CommonOptions): number | undefined {
  return options.timeout !== undefined ? Math.round(options.timeout * 1000) : undefined;
}

export function createClient(options: CommonOptions, settings: ClientSettings): DaemonClient {
  const timeoutMs = timeoutOf(options);
  const password = options.password ?? process.env.DESKLESS_DAEMON_PASSWORD;
  return new DaemonClient({
    url: options.url,
    allow: [...allowPatternsFromEnv(process.env.DESKLESS_DAEMON_ALLOW), ...options.allow],
    caFile: options.caFile ?? process.env.DESKLESS_DAEMON_CA_FILE,
    password: password === "" ? undefined : password,
    clientId: options.clientId,
    requestTimeoutMs: settings.longLived ? 0 : (timeoutMs ?? 30_000),
    connectTimeoutMs: timeoutMs !== undefined ? Math.min(timeoutMs, 10_000) : 10_000,
    reconnect: settings.longLived,
  });
}

/** Turns anything thrown by a daemon command into a CliError with the documented exit code. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(message, exitCodeOf(error));
}

export interface DaemonRun {
  client: DaemonClient;
  /** stdout, for results. */
  out: DaemonOutput;
  /** --json: JSON output, NDJSON for streams. */
  json: boolean;
  options: CommonOptions;
  timeoutMs: number | undefined;
}

/**
 * Runs one daemon command: connects, calls `body`, closes, and maps failures to exit codes.
 * `body` resolves to the exit code.
 */
export async function runDaemonCommand(options: CommonOptions, settings: ClientSettings, body: (run: DaemonRun) => Promise<ExitCodeValue | void>): Promise<void> {
  let client: DaemonClient | undefined;
  const out = new DaemonOutput();
  try {
    client = createClient(options, settings);
    out.attach(client);
    const run: DaemonRun = { client, out, json: options.json === true, options, timeoutMs: timeoutOf(options) };
    settings.beforeConnect?.(run);
    await client.connect();
    log.debug({ url: options.url, clientId: client.clientId }, "connected to the daemon");
    const code = await body(run);
    if (code !== undefined && code !== ExitCode.ok) process.exitCode = code;
  } catch (error) {
    throw toCliError(error);
  } finally {
    await client?.close();
    await out.flushed();
  }
}

/** Keeps a long-lived command alive until SIGINT/SIGTERM (resolves) or the client gives up (rejects with its error). */
export function untilClosedOrSignal(client: DaemonClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    client.onClose((error) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      if (error) reject(error);
      else resolve();
    });
  });
}
