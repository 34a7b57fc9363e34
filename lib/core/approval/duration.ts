/**
 * The longest an approval lasts unless the guard is deployed with another `maxApprovalDuration`.
 * The construct's default, and what the CLI's offline dry run assumes.
 */
export const DEFAULT_MAX_APPROVAL_SECONDS = 3600;
/** The longest a break-glass approval lasts unless the guard is deployed with another `breakGlassMaxDuration`. */
export const DEFAULT_BREAK_GLASS_MAX_SECONDS = 900;

/** An ISO time to the second: the literal IAM compares `aws:CurrentTime` with. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** When an approval of `durationSeconds` that starts `now` ends, to the whole second. */
export function expiryFrom(now: Date, durationSeconds: number): Date {
  return new Date(Math.floor(now.getTime() / 1000) * 1000 + durationSeconds * 1000);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(?:(\d{1,5})d)?(?:(\d{1,5})h)?(?:(\d{1,5})m)?(?:(\d{1,7})s)?$/;

/** Parses `90s`, `30m`, `1h`, `1h30m` or `2d` into seconds; throws a message that says what to write. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match || text.trim() === '') {
    throw new Error(`'${text}' is not a duration. Write it like 30m, 1h, 1h30m or 90s.`);
  }
  const [, d, h, m, s] = match;
  return (
    Number(d ?? 0) * UNIT_SECONDS.d +
    Number(h ?? 0) * UNIT_SECONDS.h +
    Number(m ?? 0) * UNIT_SECONDS.m +
    Number(s ?? 0) * UNIT_SECONDS.s
  );
}

/** Seconds as the shortest of `1h30m`, `45m`, `90s`. */
export function formatDuration(seconds: number): string {
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const unit of ['d', 'h', 'm', 's']) {
    const size = UNIT_SECONDS[unit];
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('') || '0s';
}
