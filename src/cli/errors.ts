import { CliError, ExitCode, type ExitCodeValue } from "./exit-codes.js";

/** The one mapping from a thrown error's stable `code` (native, engine or daemon layer) to the exit code. */
const EXIT_BY_CODE: Record<string, ExitCodeValue> = {
  OUTSIDE_WORKSPACE: ExitCode.outsideWorkspace,
  ADDON_UNAVAILABLE: ExitCode.engineUnavailable,
  ENGINE_UNAVAILABLE: ExitCode.engineUnavailable,
  CONFINEMENT_UNAVAILABLE: ExitCode.confinementUnavailable,
  URL_REFUSED: ExitCode.refusedByPolicy,
  CONNECT_FAILED: ExitCode.cannotConnect,
  DISCONNECTED: ExitCode.cannotConnect,
  AUTH_FAILED: ExitCode.authFailed,
  VERSION_MISMATCH: ExitCode.protocolError,
  PROTOCOL_ERROR: ExitCode.protocolError,
  MESSAGE_TOO_BIG: ExitCode.protocolError,
  TIMEOUT: ExitCode.timeout,
  USAGE: ExitCode.usage,
};

/** Maps any thrown value to the CLI's exit code; errors of the lower layers carry a stable `code`. */
export function exitCodeOf(error: unknown): ExitCodeValue {
  if (error instanceof CliError) return error.exitCode;
  const code = (error as { code?: unknown } | null)?.code;
  return EXIT_BY_CODE[String(code)] ?? ExitCode.failed;
}
