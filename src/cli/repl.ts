// `deskless repl`: readline with history, multi-line blocks, Ctrl-C to interrupt, Ctrl-D to leave.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { EngineSession } from "../engine/engine.js";
import { ExitCode } from "./exit-codes.js";
import { formatScriptError, writeStreamEntry } from "./script-output.js";
import { isStatementComplete } from "./statement-completeness.js";

const HISTORY_LIMIT = 1000;

/** Read before the engine opens: the script's environment view hides deskless's own configuration. */
export function historyFile(): string {
  return process.env.DESKLESS_HISTORY_FILE ?? join(homedir(), ".deskless_history");
}

function loadHistory(file: string): string[] {
  if (!existsSync(file)) return [];
  // readline wants the newest entry first.
  return readFileSync(file, "utf8").split("\n").filter(Boolean).slice(-HISTORY_LIMIT).reverse();
}

function saveHistory(file: string, entry: string): void {
  try {
    appendFileSync(file, `${entry.replace(/\n/g, " ")}\n`);
  } catch {
    // History is a convenience; an unwritable home must not break the session.
  }
}

export async function startRepl(session: EngineSession, file: string): Promise<number> {
  const terminal = Boolean(process.stdin.isTTY);
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal,
    history: terminal ? loadHistory(file) : [],
    historySize: HISTORY_LIMIT,
  });
  let pending: string[] = [];
  const prompt = () => {
    rl.setPrompt(pending.length ? "  ... " : ">> ");
    rl.prompt();
  };
  rl.on("SIGINT", () => {
    pending = [];
    process.stdout.write("^C\n");
    rl.write(null, { ctrl: true, name: "u" });
    prompt();
  });

  let running = false;
  let interrupted = false;
  const onSigint = () => {
    if (!running) return;
    interrupted = true;
    session.cancel();
  };
  process.on("SIGINT", onSigint);

  prompt();
  try {
    for await (const line of rl) {
      pending.push(line);
      const source = pending.join("\n");
      if (!isStatementComplete(source)) {
        prompt();
        continue;
      }
      pending = [];
      if (source.trim()) {
        if (terminal) saveHistory(file, source);
        running = true;
        // Cooked mode while a statement runs: Ctrl-C becomes SIGINT and input() can read a line.
        if (terminal) process.stdin.setRawMode(false);
        const result = await session.execute({ kind: "text", name: "<repl>", text: source }, { onOutput: writeStreamEntry });
        if (terminal) process.stdin.setRawMode(true);
        running = false;
        // The terminal echoed ^C without a newline.
        if (result.error) process.stderr.write(`${interrupted ? "\n" : ""}${formatScriptError(result.error)}\n`);
        interrupted = false;
      }
      prompt();
    }
  } finally {
    process.off("SIGINT", onSigint);
    rl.close();
  }
  if (terminal) process.stdout.write("\n");
  return ExitCode.ok;
}
