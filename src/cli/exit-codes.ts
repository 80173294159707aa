// Exit codes are part of the CLI's contract; the README's table mirrors this file.
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  engineUnavailable: 3,
  outsideWorkspace: 4,
  cannotConnect: 5,
  refusedByPolicy: 6,
  authFailed: 7,
  protocolError: 8,
  confinementUnavailable: 9,
  timeout: 124,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line on stderr before exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
    this.name = "CliError";
  }
}
