import { createReadStream, ReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/Pick';
import { streamArray } from 'stream-json/streamers/StreamArray';

/**
 * Reads CloudTrail log files as a trail delivers them to S3 (docs/AWS-BEHAVIOUR.md CT-20, CT-21): one JSON
 * object per file whose `Records` array holds the events, gzipped (`.json.gz`), under nested folders. The
 * array is parsed as a stream, one record at a time, so memory stays flat whatever the file's size.
 */

/** A log file to read, with its size for progress. */
export interface LogFile {
  readonly path: string;
  readonly bytes: number;
}

/** The files a folder walk found, and what it passed over. */
export interface LogFileList {
  readonly files: readonly LogFile[];
  /** Digest files under CloudTrail-Digest/ folders: signatures of the logs, with no events (CT-21). */
  readonly digests: number;
  /** Paths that could not be read (no such file, no permission), with why. */
  readonly unreadable: readonly { readonly path: string; readonly why: string }[];
}

/** In a folder, the names a trail gives its log files (CT-20); other files there are not logs. */
const LOG_NAME = /\.json(\.gz)?$/i;

/**
 * The log files under `paths`: a file named on the command line is always read, whatever its name; a folder
 * is walked for `*.json` and `*.json.gz`, in name order, skipping CloudTrail-Digest folders.
 */
export async function listLogFiles(paths: readonly string[]): Promise<LogFileList> {
  const files: LogFile[] = [];
  const unreadable: { path: string; why: string }[] = [];
  let digests = 0;
  const walk = async (path: string, named: boolean): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      unreadable.push({ path, why: reason(error) });
      return;
    }
    if (info.isDirectory()) {
      let entries;
      try {
        entries = (await readdir(path)).sort();
      } catch (error) {
        unreadable.push({ path, why: reason(error) });
        return;
      }
      for (const entry of entries) {
        if (entry === 'CloudTrail-Digest') {
          digests += await countFiles(join(path, entry));
          continue;
        }
        await walk(join(path, entry), false);
      }
    } else if (info.isFile() && (named || LOG_NAME.test(path))) {
      files.push({ path, bytes: info.size });
    } else if (named) {
      unreadable.push({ path, why: 'not a file or folder' });
    }
  };
  for (const path of paths) await walk(path, true);
  return { files, digests, unreadable };
}

async function countFiles(path: string): Promise<number> {
  let n = 0;
  try {
    for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) if (entry.isFile()) n++;
  } catch {
    // A digest folder that cannot be read holds no events either.
  }
  return n;
}

/** The gzip magic bytes (RFC 1952): a file is decompressed when it starts with them, whatever its name. */
async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** How reading one file ended. */
export interface FileResult {
  /** Records handed to `onRecord`. */
  readonly records: number;
  /** Why the rest of the file could not be read, if it could not. */
  readonly problem?: string;
}

/**
 * Streams the `Records` of one log file to `onRecord` (index from 0), with the compressed bytes read so far
 * to `onBytes`. A file that is not gzip or JSON, is cut short, or has no `Records` array ends with a
 * `problem`; the records parsed before the fault was found have been handed on. Never throws.
 */
export async function readLogFile(
  path: string,
  onRecord: (record: unknown, index: number) => void,
  onBytes: (bytes: number) => void = () => undefined,
): Promise<FileResult> {
  let records = 0;
  let sawRecords = false;
  let source: ReadStream | undefined;
  try {
    const gzip = await isGzip(path);
    source = createReadStream(path, { highWaterMark: 1 << 20 });
    source.on('data', (chunk) => onBytes(chunk.length));
    // Packed tokens only: each key and value comes as one token, which is all the assembler needs.
    const picked = pick({ filter: 'Records' });
    picked.once('data', () => (sawRecords = true));
    const items = streamArray();
    const done = pipeline([source, ...(gzip ? [createGunzip()] : []), parser({ streamValues: false }), picked, items]);
    const consume = async (): Promise<void> => {
      for await (const item of items as AsyncIterable<{ value: unknown }>) onRecord(item.value, records++);
    };
    // Either side's error ends both; Promise.all handles the other's rejection.
    await Promise.all([done, consume()]);
  } catch (error) {
    source?.destroy();
    return { records, problem: `${reason(error)} (after ${records} record(s))` };
  }
  if (!sawRecords) return { records, problem: 'no Records array at the top level: not a CloudTrail log file' };
  return { records };
}

function reason(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  // zlib names a truncated or corrupt gzip only by its code.
  if (e?.code === 'Z_BUF_ERROR') return `the gzip stream is cut short (${message})`;
  if (e?.code === 'Z_DATA_ERROR') return `the gzip data is corrupt (${message})`;
  // The JSON parser's errors carry no code; file-system errors do (ENOENT, EACCES).
  return typeof e?.code === 'string' ? message : `not valid JSON, or cut short (${message})`;
}
