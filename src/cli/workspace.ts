// The one --workspace flag of every command that touches files (run, eval, repl, test, fs).
import { resolve } from "node:path";
import type { Command } from "commander";
import { collect } from "./collect.js";

/** Adds -w/--workspace; `what` says what the roots are for. */
export function addWorkspaceOption(command: Command, what: string): Command {
  return command.option("-w, --workspace <dir>", `${what} (repeatable; paths are relative to the first; default: the current directory)`, collect, [] as string[]);
}

/** The workspace roots the flag names, as absolute paths: the current directory when none. */
export function workspaceDirs(dirs: readonly string[] | undefined): string[] {
  return (dirs?.length ? dirs : [process.cwd()]).map((dir) => resolve(dir));
}
