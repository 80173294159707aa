// Runs the built CLI (bin/deskless.js) as users do, capturing its output and exit code.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/deskless.js", import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export function startCli(args: string[], options: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, DESKLESS_LOG_LEVEL: "warn", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  if (options.input !== undefined) child.stdin!.end(options.input);
  else child.stdin!.end();
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Resolves once `text` has appeared on the child's stdout (checked on every chunk, no polling). */
export function waitForStdout(child: ChildProcess, text: string): Promise<string> {
  return waitFor(child, "stdout", text);
}

/** The same for stderr. */
export function waitForStderr(child: ChildProcess, text: string): Promise<string> {
  return waitFor(child, "stderr", text);
}

function waitFor(child: ChildProcess, name: "stdout" | "stderr", text: string): Promise<string> {
  const stream = child[name]!;
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        stream.off("data", onData);
        resolve(seen);
      }
    };
    stream.on("data", onData);
    child.once("close", () => reject(new Error(`process exited before printing ${JSON.stringify(text)} on ${name}; saw ${JSON.stringify(seen)}`)));
  });
}
