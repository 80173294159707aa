import { Command, CommanderError, Option } from "commander";
import { log, setLogLevel } from "../log.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { registerDaemonCommands } from "./daemon.js";
import { registerFsCommands } from "./fs.js";
import { registerRunCommands } from "./run.js";
import { exitCodeOf } from "./errors.js";

export function buildProgram(): Command {
  const program = new Command("deskless")
    .description("The RunMat desktop shell without the desktop")
    .version(process.env.npm_package_version ?? "0.1.0")
    .addOption(new Option("--log-level <level>", "pino log level on stderr").choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("warn"))
    .hook("preAction", (command) => setLogLevel(command.optsWithGlobals().logLevel))
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  registerRunCommands(program);
  registerFsCommands(program);
  registerDaemonCommands(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const code = exitCodeOf(error);
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`deskless: ${message.split("\n")[0]}\n`);
    if (!(error instanceof CliError)) log.debug({ err: error }, "command failed");
    return code;
  }
}
