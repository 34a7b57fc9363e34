/**
 * A short-lived cache of the guard status parameter for `agent-guard hook`, which runs before every
 * shell command an agent runs: one file per profile, region and parameter under
 * `$XDG_CACHE_HOME/agent-guard/` (else `~/.cache/agent-guard/`), written atomically. Only a value that
 * was read is cached, never a failure, so a reader that could not reach SSM tries again next time. A
 * file that cannot be read or parsed is a miss.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** How long a cached status is used: short against the guard's schedule of minutes. */
export const STATUS_CACHE_TTL_MS = 30_000;

/** Which status parameter, read as whom and where. */
export interface StatusSource {
  readonly parameter: string;
  readonly region: string;
  readonly profile?: string;
}

/** The cache folder: `$XDG_CACHE_HOME/agent-guard`, else `~/.cache/agent-guard`. */
export function cacheDirectory(env: Readonly<Record<string, string | undefined>>): string {
  const base = env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'agent-guard');
}

/** The cache file of one source: a hash, so no profile or parameter name becomes a path. */
export function cacheFile(directory: string, source: StatusSource): string {
  const key = JSON.stringify([source.profile ?? null, source.region, source.parameter]);
  return join(directory, `status-${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
}

interface CacheEntry {
  readonly readAt: number;
  readonly source: StatusSource;
  readonly value: string;
}

/** The cached parameter value, if it was read less than `ttlMs` before `now` for this very source. */
export async function readCachedStatus(
  file: string,
  source: StatusSource,
  now: Date,
  ttlMs = STATUS_CACHE_TTL_MS,
): Promise<string | undefined> {
  let entry: Partial<CacheEntry>;
  try {
    entry = JSON.parse(await readFile(file, 'utf8')) as Partial<CacheEntry>;
  } catch {
    return undefined;
  }
  const age = now.getTime() - Number(entry?.readAt);
  const same =
    entry?.source?.parameter === source.parameter &&
    entry.source.region === source.region &&
    (entry.source.profile ?? undefined) === source.profile;
  // A time in the future (a clock set back) is not trusted either.
  return same && typeof entry.value === 'string' && age >= 0 && age < ttlMs ? entry.value : undefined;
}

/** Writes the value through a temporary file and a rename, so a reader sees a whole file or none. */
export async function writeCachedStatus(file: string, source: StatusSource, value: string, now: Date): Promise<void> {
  const directory = join(file, '..');
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const entry: CacheEntry = { readAt: now.getTime(), source, value };
  try {
    await writeFile(temporary, JSON.stringify(entry), { mode: 0o600 });
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
