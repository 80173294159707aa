// How script output and script errors reach the terminal in human mode.
import type { ScriptError, StreamEntry } from "../engine/engine.js";

export function writeStreamEntry(entry: StreamEntry): void {
  if (entry.stream === "stdout") process.stdout.write(entry.text);
  else if (entry.stream === "stderr") process.stderr.write(entry.text);
  else if (process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
}

/** `file:line:column: error: message [identifier]`, the shape compilers and editors understand. */
export function formatScriptError(error: ScriptError): string {
  const where = [error.file, error.line, error.line !== undefined ? error.column : undefined].filter((part) => part !== undefined).join(":");
  const identifier = error.identifier ? ` [${error.identifier}]` : "";
  return `${where ? `${where}: ` : ""}error: ${error.message.trim()}${identifier}`;
}
