import { Command, CommanderError, Option } from "commander";
import { onBrokenPipe } from "../broken-pipe.js";
import { log, LOG_LEVELS, setLogLevel } from "../log.js";
import { packageManifest } from "../package.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { registerRunCommands } from "./run.js";
import { registerTestCommand } from "./test.js";
import { exitCodeOf } from "./errors.js";

/** The script commands, which a CI job calls most often: for them only their own module loads. */
const SCRIPT_COMMANDS = new Set(["run", "eval", "repl", "test"]);

/**
 * The whole CLI, or only the script commands when `argv` names one (a token that only looks like
 * one, such as an option's value, just loads everything).
 */
export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command("deskless")
    .description("The RunMat desktop shell without the desktop")
    .version(packageManifest().version)
    .addOption(new Option("--log-level <level>", "pino log level on stderr").choices(LOG_LEVELS).default("warn"))
    .hook("preAction", (command) => setLogLevel(command.optsWithGlobals().logLevel))
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  registerRunCommands(program);
  registerTestCommand(program);
  const command = argv.slice(2).find((arg) => !arg.startsWith("-"));
  if (command === undefined || !SCRIPT_COMMANDS.has(command)) {
    const [{ registerFsCommands }, { registerDaemonCommands }] = await Promise.all([import("./fs.js"), import("./daemon.js")]);
    registerFsCommands(program);
    registerDaemonCommands(program);
  }
  return program;
}

/** Runs the CLI and resolves to the process exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  // A reader that leaves early (`deskless run --help | head`) must not crash the CLI with an
  // unhandled EPIPE; commands that stream decide themselves what a gone reader means.
  onBrokenPipe(process.stdout, () => undefined);
  try {
    const program = await buildProgram(argv);
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
