import { CliError, ExitCode, type ExitCodeValue } from "./exit-codes.js";

/** Maps any thrown value to the CLI's exit code; errors from the native layer carry a stable `code`. */
export function exitCodeOf(error: unknown): ExitCodeValue {
  if (error instanceof CliError) return error.exitCode;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "OUTSIDE_WORKSPACE") return ExitCode.outsideWorkspace;
  if (code === "ADDON_UNAVAILABLE") return ExitCode.engineUnavailable;
  if (code === "TIMEOUT") return ExitCode.timeout;
  return ExitCode.failed;
}
