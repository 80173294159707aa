// Logs go to stderr through pino: NDJSON when stderr is not a TTY, one short line per record on a TTY.
// pino is loaded by the first record that passes the level: loading it costs ~20 ms, and most
// runs of `deskless run` log nothing.
import { createRequire } from "node:module";
import { Writable } from "node:stream";
import type { LogFn, Logger } from "pino";

const LEVEL_NAMES: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** The levels `log.level` takes, least to most severe. */
export const LOG_LEVELS = Object.keys(LEVEL_VALUES);

export type LogMethod = "trace" | "debug" | "info" | "warn" | "error" | "fatal";
type Method = LogMethod;

/** Where records go instead of pino when set (the wasm worker hands them to the main thread). */
export type LogSink = (level: LogMethod, args: unknown[]) => void;

export interface Log {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** One of trace, debug, info, warn, error, fatal, silent; setting anything else throws. */
  level: string;
}

function ttyLines(): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) {
        if (!line) continue;
        try {
          const { level, msg, time: _t, pid: _p, hostname: _h, ...rest } = JSON.parse(line);
          const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : "";
          process.stderr.write(`deskless ${LEVEL_NAMES[level] ?? level}: ${msg}${extra}\n`);
        } catch {
          process.stderr.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

function createLogger(level: string): Logger {
  const pino = createRequire(import.meta.url)("pino") as typeof import("pino").default;
  const destination = process.stderr.isTTY ? ttyLines() : pino.destination({ fd: 2, sync: true });
  return pino({ level, base: { pid: process.pid }, redact: { paths: ["password", "*.password", "headers.authorization", "*.headers.authorization"], censor: "[redacted]" } }, destination);
}

function checkedLevel(level: string): string {
  if (!(level in LEVEL_VALUES)) throw new Error(`unknown log level "${level}" (${LOG_LEVELS.join("|")})`);
  return level;
}

const envLevel = process.env.DESKLESS_LOG_LEVEL;
let currentLevel = envLevel && envLevel in LEVEL_VALUES ? envLevel : "warn";
let logger: Logger | undefined;
let sink: LogSink | undefined;

function method(name: Method): LogFn {
  return ((...args: unknown[]) => {
    if ((LEVEL_VALUES[name] as number) < (LEVEL_VALUES[currentLevel] as number)) return;
    if (sink) return sink(name, args);
    logger ??= createLogger(currentLevel);
    (logger[name] as (...a: unknown[]) => void)(...args);
  }) as LogFn;
}

export const log: Log = {
  trace: method("trace"),
  debug: method("debug"),
  info: method("info"),
  warn: method("warn"),
  error: method("error"),
  fatal: method("fatal"),
  get level() {
    return currentLevel;
  },
  set level(level: string) {
    currentLevel = checkedLevel(level);
    if (logger) logger.level = level;
  },
};

export function setLogLevel(level: string): void {
  log.level = level;
}

/** Sends every record that passes the level to `next` instead of pino; undefined restores pino. */
export function setLogSink(next: LogSink | undefined): void {
  sink = next;
}
