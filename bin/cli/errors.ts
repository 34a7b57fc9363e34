/** The CLI's exit codes: a contract for scripts and agents. */
export const EXIT = {
  /** Done, or `--help`. */
  OK: 0,
  /** The approval function refused (HTTP 403), or anything else failed: network, credentials, 5xx. */
  FAILED: 1,
  /** Bad command line or input, found locally before anything is sent, or HTTP 400. */
  USAGE: 2,
  /** `replay` read what it could, but skipped files or records it could not read (stderr names them). */
  SKIPPED: 3,
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

/** At most this many characters of a value the user typed are echoed back in a message. */
export const ECHO_MAX_CHARS = 100;
/** No line of an error message is longer than this, whatever it echoes (ours, commander's or the function's). */
export const ERROR_LINE_MAX_CHARS = 500;
/** A run of non-blank characters longer than this in an error is input echoed back; it is shortened. */
const TOKEN_MAX_CHARS = ECHO_MAX_CHARS + 20;

const count = new Intl.NumberFormat('en-US');

/** Control characters (escape sequences among them) become `\xNN`, so echoed input cannot drive the terminal. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A value the user typed, for a message that does not quote it: printable and cut like {@link quote}. */
export function clip(value: string): string {
  const shown = printable(value.length > ECHO_MAX_CHARS ? value.slice(0, ECHO_MAX_CHARS) : value);
  return value.length > ECHO_MAX_CHARS ? `${shown}...(${count.format(value.length)} characters)` : shown;
}

/** A value the user typed, quoted for a message: printable, and cut to {@link ECHO_MAX_CHARS} with its length. */
export function quote(value: string): string {
  const shown = printable(value.length > ECHO_MAX_CHARS ? value.slice(0, ECHO_MAX_CHARS) : value);
  return value.length > ECHO_MAX_CHARS ? `'${shown}...' (${count.format(value.length)} characters)` : `'${shown}'`;
}

/**
 * The last guard on what goes to stderr: control characters made visible, any overlong run of
 * non-blank characters shortened, and any line still over {@link ERROR_LINE_MAX_CHARS} cut in the
 * middle, so the advice at its end stays.
 */
export function capErrorText(text: string): string {
  return text
    .split(/\r?\n/)
    .map(printable)
    .map((line) => {
      const short = line.replace(
        new RegExp(`\\S{${TOKEN_MAX_CHARS + 1},}`, 'g'),
        (token) => `${token.slice(0, ECHO_MAX_CHARS)}...(${count.format(token.length)} characters)`,
      );
      if (short.length <= ERROR_LINE_MAX_CHARS) return short;
      const marker = ` ...(${count.format(short.length)} characters in all)... `;
      const keep = ERROR_LINE_MAX_CHARS - marker.length;
      const head = Math.ceil(keep * 0.6);
      return `${short.slice(0, head)}${marker}${short.slice(short.length - (keep - head))}`;
    })
    .join('\n');
}
