// `deskless run`, `deskless eval`, `deskless repl`: commander wiring over the Engine interface.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Command, Option } from "commander";
import { type ConfineMode, type EngineName, type EngineSession, type ExecutionResult, type ScriptSource, type StreamEntry } from "../engine/engine.js";
import { parseAssignment } from "../engine/environment.js";
import { openEngine, type OpenEngineOptions } from "../engine/open-engine.js";
import { isInside } from "../paths.js";
import { collect } from "./collect.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { formatScriptError, writeStreamEntry } from "./script-output.js";
import { timeoutSeconds, TIMEOUT_UNITS } from "./timeout.js";
import { addWorkspaceOption, workspaceDirs } from "./workspace.js";

/** The flags of addSessionOptions. */
export interface SessionFlags {
  workspace?: string[];
  compat: "matlab" | "runmat" | "strict";
  jit: boolean;
  allowNet?: boolean;
  allowEnv?: string[];
  env?: Record<string, string>;
  confine: ConfineMode;
}

export interface EngineFlags extends SessionFlags {
  engine: EngineName;
  timeout?: number;
  json?: boolean;
  wasmPackage?: string;
  answerDialogs?: string;
  telemetry?: boolean;
}

/** How long a cancelled script may take to stop before the process exits anyway. */
const CANCEL_GRACE_MS = 1000;

function assignment(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const parsed = parseAssignment(value);
  if (!parsed) throw new CliError(`--env takes NAME=VALUE, not "${value}"`, ExitCode.usage);
  return { ...previous, [parsed[0]]: parsed[1] };
}

/** The flags of the engine session's rules, shared by `run` and `test`: workspace, language, confinement. */
export function addSessionOptions(command: Command): Command {
  return addWorkspaceOption(command, "workspace root the script may touch")
    .addOption(new Option("--compat <mode>", "language compatibility (runmat enables RunMat extensions such as filewrite)").choices(["matlab", "runmat", "strict"]).default("matlab"))
    .option("--no-jit", "interpret only (direct engine)")
    .option("--allow-net", "let the script open TCP connections and listen (refused by default)")
    .option("--allow-env <name>", "let the script see this environment variable (repeatable; * globs allowed)", collect)
    .option("--env <NAME=VALUE>", "set an environment variable for the script (repeatable)", assignment)
    .addOption(
      new Option("--confine <mode>", "kernel confinement (Landlock): auto enforces what the kernel offers and warns about the rest, require refuses to start without all of it (exit 9), off is for debugging only")
        .choices(["auto", "require", "off"])
        .default("auto"),
    );
}

export function addEngineOptions(command: Command): Command {
  return addSessionOptions(
    command
      .addOption(new Option("--engine <name>", "engine to run the script on").choices(["direct", "wasm"]).default("direct"))
      .option("--timeout <time>", `stop the script after this long (exit 124) ${TIMEOUT_UNITS}`, timeoutSeconds)
      .option("--wasm-package <dir>", "folder of the runmat npm package (wasm engine; also DESKLESS_WASM_PACKAGE)")
      .option("--answer-dialogs <file>", "JSON file of preset answers to uigetfile/uiputfile/uigetdir (wasm engine; default: cancel)")
      .option("--telemetry", "allow RunMat's usage telemetry (off by default)"),
  );
}

export function workspaceRoots(flags: Pick<SessionFlags, "workspace">): string[] {
  const roots = workspaceDirs(flags.workspace);
  for (const root of roots) {
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new CliError(`workspace ${root} is not a directory`, ExitCode.usage);
  }
  return roots;
}

export function engineOptions(flags: EngineFlags, scriptDir?: string): OpenEngineOptions {
  const roots = workspaceRoots(flags);
  const outside = scriptDir !== undefined && !roots.some((root) => isInside(root, scriptDir));
  return {
    roots,
    // The script's own folder is on the path; one outside the workspace is opened read-only.
    path: scriptDir ? [scriptDir] : [],
    readOnlyRoots: outside ? [scriptDir] : [],
    telemetry: flags.telemetry ?? false,
    compat: flags.compat,
    enableJit: flags.jit,
    packageDir: flags.wasmPackage,
    dialogAnswersFile: flags.answerDialogs,
    allowNet: flags.allowNet ?? false,
    allowEnv: flags.allowEnv ?? [],
    setEnv: flags.env ?? {},
    confine: flags.confine,
  };
}

/** Engine errors carry stable codes (ENGINE_UNAVAILABLE, CONFINEMENT_UNAVAILABLE) that errors.ts maps. */
function open(flags: EngineFlags, scriptDir?: string): Promise<EngineSession> {
  return openEngine(flags.engine, engineOptions(flags, scriptDir));
}

function readStdin(): string {
  try {
    return readFileSync(0, "utf8");
  } catch (error) {
    throw new CliError(`cannot read the script from standard input: ${(error as Error).message}`, ExitCode.usage);
  }
}

/** The arguments after `--` as the cell array variable `argv` (defined only when given). */
function argvPrelude(args: string[]): string {
  const quoted = args.map((arg) => `'${arg.replace(/'/g, "''")}'`);
  return `argv = {${quoted.join(", ")}};`;
}

function exitCodeFor(result: ExecutionResult, timedOut: boolean, interrupted: boolean): number {
  if (timedOut) return ExitCode.timeout;
  if (interrupted) return ExitCode.interrupted;
  return result.ok ? ExitCode.ok : ExitCode.failed;
}

function report(result: ExecutionResult, flags: EngineFlags, engine: EngineName, exitCode: number): void {
  if (flags.json) {
    const document = {
      ok: result.ok && exitCode === 0,
      engine,
      exitCode,
      durationMs: result.durationMs,
      error: result.error ?? null,
      streams: result.streams,
      workspace: result.workspace,
      confinement: result.confinement ?? null,
      fallbacks: result.fallbacks ?? [],
    };
    process.stdout.write(`${JSON.stringify(document)}\n`);
  }
  if (result.error) process.stderr.write(`${formatScriptError(result.error)}\n`);
}

/**
 * Runs one source to completion with the CLI's timeout and Ctrl-C rules and returns the exit code.
 * A script that ignores cancellation is abandoned after a short grace period.
 */
async function runToCompletion(session: EngineSession, source: ScriptSource, flags: EngineFlags): Promise<number> {
  let timedOut = false;
  let interrupted = false;
  let forceExit: ((code: number) => void) | undefined;
  const abandoned = new Promise<number>((resolve) => (forceExit = resolve));
  const stop = (code: number) => {
    session.cancel();
    setTimeout(() => forceExit?.(code), CANCEL_GRACE_MS).unref();
  };
  const timer = flags.timeout
    ? setTimeout(() => {
        timedOut = true;
        stop(ExitCode.timeout);
      }, flags.timeout * 1000)
    : undefined;
  const onSigint = () => {
    if (interrupted) forceExit?.(ExitCode.interrupted);
    interrupted = true;
    stop(ExitCode.interrupted);
  };
  process.on("SIGINT", onSigint);
  // A reader that stops early (`deskless run x.m | head`) stops the script and ends the run
  // quietly with 0, as `deskless fs cat` does.
  let readerGone = false;
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE" || readerGone) return;
    readerGone = true;
    stop(ExitCode.ok);
  };
  process.stdout.on("error", onStdoutError);
  try {
    const onOutput = (entry: StreamEntry) => {
      if (!readerGone) writeStreamEntry(entry);
    };
    const execution = session.execute(source, { onOutput: flags.json ? undefined : onOutput }).then((result) => {
      if (readerGone) return ExitCode.ok;
      const code = exitCodeFor(result, timedOut, interrupted);
      report(result, flags, session.engine, code);
      return code;
    });
    const code = await Promise.race([execution, abandoned]);
    if (timedOut || interrupted) {
      const reason = timedOut ? `timed out after ${flags.timeout} s` : "interrupted";
      if (!flags.json || code !== (timedOut ? ExitCode.timeout : ExitCode.interrupted)) process.stderr.write(`deskless: script ${reason}\n`);
    }
    return code;
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", onSigint);
    process.stdout.off("error", onStdoutError);
  }
}

async function runSource(source: ScriptSource, flags: EngineFlags, scriptDir?: string, args: string[] = []): Promise<void> {
  const session = await open(flags, scriptDir);
  if (args.length) {
    // The workspace persists across executions, so argv is defined before the script runs.
    const defined = await session.execute({ kind: "text", name: "<argv>", text: argvPrelude(args) });
    if (!defined.ok) throw new CliError(`cannot pass the arguments to the script: ${defined.error?.message}`, ExitCode.usage);
  }
  const code = await runToCompletion(session, source, flags);
  if (code === ExitCode.timeout || code === ExitCode.interrupted) {
    // The engine may still be unwinding; do not wait for it.
    process.exit(code);
  }
  await session.close();
  process.exitCode = code;
}

export function registerRunCommands(program: Command): void {
  addEngineOptions(
    program
      .command("run")
      .description("run a MATLAB-language script (use - to read it from standard input)")
      .argument("<file>", "script file (.m), or - for standard input")
      .argument("[args...]", "arguments after --, available to the script as the cell array argv")
      .option("--json", "print one JSON document with streams, error, duration and workspace"),
  )
    .addHelpText("after", "\nExamples:\n  deskless run examples/hello.m\n  deskless run --json analysis.m\n  echo \"disp(1+1)\" | deskless run -\n  deskless run sim.m --timeout 60 -- fast 10")
    .action(async (file: string, args: string[], flags: EngineFlags) => {
      let source: ScriptSource;
      let scriptDir: string | undefined;
      if (file === "-") {
        source = { kind: "text", name: "<stdin>", text: readStdin() };
      } else {
        const path = resolve(file);
        if (!existsSync(path) || !statSync(path).isFile()) throw new CliError(`script ${file} does not exist or is not a file`, ExitCode.usage);
        scriptDir = dirname(path);
        source = { kind: "file", path };
      }
      await runSource(source, flags, scriptDir, args);
    });

  addEngineOptions(
    program
      .command("eval")
      .description("evaluate MATLAB-language code given on the command line")
      .argument("<code>", "code to evaluate")
      .option("--json", "print one JSON document with streams, error, duration and workspace"),
  )
    .addHelpText("after", "\nExamples:\n  deskless eval 'x = magic(3); disp(sum(x(:)))'")
    .action(async (code: string, flags: EngineFlags) => {
      await runSource({ kind: "text", name: "<eval>", text: code }, flags);
    });

  addEngineOptions(program.command("repl").description("interactive session: line editing, history, multi-line blocks"))
    .addHelpText("after", "\nCtrl-C interrupts the running statement (or clears the line); Ctrl-D leaves.")
    .action(async (flags: EngineFlags) => {
      const { historyFile, startRepl } = await import("./repl.js");
      const history = historyFile();
      const session = await open(flags);
      process.exitCode = await startRepl(session, history);
      await session.close();
    });
}
