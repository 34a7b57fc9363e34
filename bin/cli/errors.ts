/** The CLI's exit codes: a contract for scripts and agents. */
export const EXIT = {
  /** Done, or `--help`. */
  OK: 0,
  /** The approval function refused (HTTP 403), or anything else failed: network, credentials, 5xx. */
  FAILED: 1,
  /** Bad command line or input, found locally before anything is sent, or HTTP 400. */
  USAGE: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports with its message and exit code; no stack trace. */
export class CliError extends Error {
  public override readonly name = 'CliError';

  constructor(
    message: string,
    public readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** Bad input: nothing was sent. The message says what to change. */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT.USAGE);
}

export function failure(message: string): CliError {
  return new CliError(message, EXIT.FAILED);
}

export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
}
