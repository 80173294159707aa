// Logs go to stderr through pino: NDJSON when stderr is not a TTY, one short line per record on a TTY.
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";

const LEVEL_NAMES: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

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

function createLogger(): Logger {
  const level = process.env.DESKLESS_LOG_LEVEL ?? "warn";
  const destination = process.stderr.isTTY ? ttyLines() : pino.destination({ fd: 2, sync: true });
  return pino({ level, base: { pid: process.pid }, redact: { paths: ["password", "*.password", "headers.authorization", "*.headers.authorization"], censor: "[redacted]" } }, destination);
}

export const log: Logger = createLogger();

export function setLogLevel(level: string): void {
  log.level = level;
}
