// The one meaning of --timeout, for every command: a positive time in seconds, or with a unit
// (500ms, 30s, 2m, 1h); anything else is a usage error (exit 2).
import { CliError, ExitCode } from "./exit-codes.js";

const MS_PER_UNIT = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Commander's parser for --timeout: the limit in seconds. */
export function timeoutSeconds(value: string): number {
  const match = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * MS_PER_UNIT[(match[2] ?? "s") as keyof typeof MS_PER_UNIT] : NaN;
  if (!(ms > 0)) throw new CliError(`--timeout takes a positive number of seconds or a time such as 500ms, 30s, 2m, not "${value}"`, ExitCode.usage);
  return ms / 1000;
}

/** The help text of --timeout, after what the limit does. */
export const TIMEOUT_UNITS = "(seconds, or 500ms, 30s, 2m)";
