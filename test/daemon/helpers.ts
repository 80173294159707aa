// Test helpers for the daemon bridge: waiting on events, and running the built CLI.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import type { DaemonError } from "../../src/daemon/errors.js";
import type { DaemonTransport, DaemonCloseEvent } from "../../src/daemon/transport.js";
import { startDaemonDouble, type DaemonDouble, type DaemonDoubleOptions } from "../fixtures/daemon-double/server.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Cleanups registered by a test run after it, newest first. */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<DaemonError> {
  try {
    await promise;
  } catch (error) {
    return error as DaemonError;
  }
  throw new Error("expected a rejection");
}

/** A daemon double on 127.0.0.1:0, closed after the test. */
export async function double(options: DaemonDoubleOptions = {}): Promise<DaemonDouble> {
  const d = await startDaemonDouble(options);
  onCleanup(() => d.close());
  return d;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout line that passes the test (already printed or still to come). */
  line: (test: (line: string) => boolean) => Promise<string>;
  done: Promise<CliResult>;
}

export function startCli(args: string[], options: { env?: Record<string, string | undefined>; input?: string } = {}): CliProcess {
  const env: Record<string, string | undefined> = { ...process.env, DESKLESS_DAEMON_URL: undefined, DESKLESS_DAEMON_PASSWORD: undefined, DESKLESS_DAEMON_ALLOW: undefined, ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const child = spawn(process.execPath, [join(ROOT, "bin", "deskless.js"), ...args], { cwd: ROOT, env: env as NodeJS.ProcessEnv });
  let out = "";
  let err = "";
  const waiters: Array<{ test: (line: string) => boolean; resolve: (line: string) => void }> = [];
  const check = () => {
    const lines = out.split("\n").slice(0, -1);
    for (const waiter of [...waiters]) {
      const hit = lines.find(waiter.test);
      if (hit !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(hit);
      }
    }
  };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    check();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  if (options.input !== undefined) child.stdin.end(options.input);
  const done = new Promise<CliResult>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout: out, stderr: err })));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    line: (test) =>
      new Promise((resolve, reject) => {
        waiters.push({ test, resolve });
        check();
        void done.then(() => reject(new Error(`the CLI exited before printing the expected line; stdout:\n${out}\nstderr:\n${err}`)));
      }),
    done,
  };
}

export function runCli(args: string[], options: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<CliResult> {
  return startCli(args, { input: "", ...options }).done;
}

// Parsed NDJSON is inspected field by field in assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function ndjson(text: string): Array<Record<string, any>> {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}

/** Collects what a transport reports, with promises for the moments tests wait on. */
export function watch(transport: DaemonTransport) {
  const events: string[] = [];
  const messages: Array<{ data: string | Uint8Array; isBinary: boolean }> = [];
  const errors: Error[] = [];
  let resolveOpen!: () => void;
  let resolveClose!: (event: DaemonCloseEvent) => void;
  const opened = new Promise<void>((resolve) => (resolveOpen = resolve));
  const closed = new Promise<DaemonCloseEvent>((resolve) => (resolveClose = resolve));
  const messageWaiters: Array<{ count: number; resolve: () => void }> = [];
  transport.onOpen(() => {
    events.push("open");
    resolveOpen();
  });
  transport.onMessage((data, isBinary) => {
    messages.push({ data, isBinary });
    for (const waiter of [...messageWaiters]) {
      if (messages.length >= waiter.count) {
        messageWaiters.splice(messageWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  transport.onError((error) => {
    events.push("error");
    errors.push(error);
  });
  transport.onClose((event) => {
    events.push("close");
    resolveClose(event);
  });
  return {
    events,
    messages,
    errors,
    opened,
    closed,
    messagesAtLeast: (count: number) => (messages.length >= count ? Promise.resolve() : new Promise<void>((resolve) => messageWaiters.push({ count, resolve }))),
  };
}
