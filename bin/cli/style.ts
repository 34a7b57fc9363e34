/**
 * Colour for people at a terminal, plain text for pipes, files and scripts. The conventions are those
 * commander applies to its own help, so the two always agree:
 * - `NO_COLOR` set and not empty (https://no-color.org), or `FORCE_COLOR` of `0` or `false`: no colour;
 * - else `FORCE_COLOR` set and not empty, or `CLICOLOR_FORCE` set: colour, even into a pipe;
 * - else colour only when the stream is a terminal that has colours (not `TERM=dumb`).
 */
export function wantsColour(env: Readonly<Record<string, string | undefined>>, terminal: boolean): boolean {
  if (env.NO_COLOR || env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return false;
  if (env.FORCE_COLOR || env.CLICOLOR_FORCE !== undefined) return true;
  return terminal;
}

/** Text styles; each is the identity when colour is off. */
export interface Style {
  readonly enabled: boolean;
  readonly bold: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly cyan: (text: string) => string;
}

const sgr =
  (open: number, close: number) =>
  (text: string): string =>
    text === '' ? text : `\x1b[${open}m${text}\x1b[${close}m`;

export const PLAIN: Style = {
  enabled: false,
  bold: (t) => t,
  dim: (t) => t,
  red: (t) => t,
  green: (t) => t,
  yellow: (t) => t,
  cyan: (t) => t,
};

export const COLOUR: Style = {
  enabled: true,
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
};

export function styleFor(colour: boolean): Style {
  return colour ? COLOUR : PLAIN;
}

/** Matches every ANSI escape sequence (CSI and the two-character ones). */
// eslint-disable-next-line no-control-regex
export const ANSI_ESCAPE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])/g;
