import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { CliError } from '../errors.js';

/**
 * Writes layer zips that are byte-identical for identical contents: sorted
 * entries with explicit directories first, one fixed timestamp, modes
 * normalised to 0755/0644, "made by" Unix, no extra fields. archiver (through
 * zip-stream and compress-commons) writes no extended-timestamp field,
 * computes DOS time from UTC, and sets made-by Unix once a mode is given; ext
 * pack re-reads every zip to prove it (see `zipContractProblems` in pack/verify.ts; pack/layer-entries.ts lists the entries).
 */

export interface LayerEntry {
  /** Path inside the zip, "/"-separated, without a trailing slash. */
  path: string;
  kind: 'directory' | 'file';
  absolutePath: string;
  /** The mode written to the zip: 0755 or 0644. */
  mode: number;
  size: number;
}

/** 1980-01-01 00:00:00 UTC, the earliest DOS time. */
export const defaultZipTimestamp = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));
/**
 * The latest time we can write. DOS dates run to 2107-12-31, but archiver
 * (compress-commons' dateToDos) silently pins every year from 2044 on to
 * 2043-12-31 23:59:58, so a later SOURCE_DATE_EPOCH would not be what the zip says.
 */
export const latestZipTimestamp = new Date(Date.UTC(2043, 11, 31, 23, 59, 58));
const earliestSeconds = defaultZipTimestamp.getTime() / 1000;
/** 2043-12-31 23:59:59: its odd second rounds down to the last writable DOS time. */
const latestSeconds = latestZipTimestamp.getTime() / 1000 + 1;

export interface ZipTimestamp {
  timestamp: Date;
  /** Set when SOURCE_DATE_EPOCH was moved to fit a DOS time, to tell the user. */
  note?: string;
}

/**
 * The timestamp for every entry: SOURCE_DATE_EPOCH (whole seconds since 1970,
 * UTC, per reproducible-builds.org) when given, else 1980-01-01, rounded down
 * to DOS time's two-second resolution. A time before 1980 becomes 1980-01-01
 * with a note, as strip-nondeterminism and Debian's zip tooling do, because
 * SOURCE_DATE_EPOCH=0 is a common way to say "no date". A time after what
 * the zip can hold, or a value that is not an integer, is refused: writing any
 * other date than the one asked for would break the reproducibility contract.
 */
export function resolveZipTimestamp(sourceDateEpoch: string | undefined): ZipTimestamp {
  if (sourceDateEpoch === undefined || sourceDateEpoch.trim() === '') return { timestamp: defaultZipTimestamp };
  const range = `${earliestSeconds} (1980-01-01) to ${latestSeconds} (2043-12-31T23:59:59Z)`;
  const hint = 'set it with SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or unset it to date entries 1980-01-01';
  const text = sourceDateEpoch.trim();
  if (!/^-?\d+$/.test(text)) {
    throw new CliError(
      `SOURCE_DATE_EPOCH must be a whole number of seconds since 1970 from ${range}, not "${sourceDateEpoch}"`,
      { code: 'E_ZIP_SOURCE_DATE_EPOCH', hint },
    );
  }
  const seconds = Number(text);
  if (seconds > latestSeconds) {
    const asked = new Date(seconds * 1000);
    const shown = Number.isNaN(asked.getTime()) ? '' : ` (${asked.toISOString().slice(0, 10)})`;
    throw new CliError(`SOURCE_DATE_EPOCH=${text}${shown} is out of range: zip entries can be dated from ${range}`, {
      code: 'E_ZIP_SOURCE_DATE_EPOCH',
      hint: `zip entries hold DOS dates and archiver, the zip writer, stops at 2043; ${hint}`,
    });
  }
  if (seconds < earliestSeconds) {
    return {
      timestamp: defaultZipTimestamp,
      note: `SOURCE_DATE_EPOCH=${text} is before 1980, the earliest date a zip entry can hold; entries are dated 1980-01-01T00:00:00Z`,
    };
  }
  // DOS time has a two-second resolution.
  return { timestamp: new Date(Math.floor(seconds / 2) * 2000) };
}

/** `resolveZipTimestamp` without the note. */
export function zipTimestamp(sourceDateEpoch: string | undefined): Date {
  return resolveZipTimestamp(sourceDateEpoch).timestamp;
}

/** The DOS date and time fields of a zip header, from the UTC calendar so the time zone never matters. */
export function dosDateTime(date: Date): { date: number; time: number } {
  const clamped =
    date < defaultZipTimestamp ? defaultZipTimestamp : date > latestZipTimestamp ? latestZipTimestamp : date;
  return {
    date: ((clamped.getUTCFullYear() - 1980) << 9) | ((clamped.getUTCMonth() + 1) << 5) | clamped.getUTCDate(),
    time: (clamped.getUTCHours() << 11) | (clamped.getUTCMinutes() << 5) | Math.floor(clamped.getUTCSeconds() / 2),
  };
}

export interface WriteZipOptions {
  timestamp: Date;
  signal?: AbortSignal;
}

/** Writes `entries` to `zipPath` (the caller's temp file). Rejects on any read or write error, or on abort. */
export async function writeLayerZip(
  entries: readonly LayerEntry[],
  zipPath: string,
  options: WriteZipOptions,
): Promise<void> {
  options.signal?.throwIfAborted();
  // Loaded here, not at the top: zip/ is imported by every reader of zips (inspect, dev, publish), which never write one.
  const { ZipArchive } = await import('archiver');
  // Output chunks far larger than zlib's default: far fewer hand-offs between the thread that deflates
  // and the main thread (see docs/benchmarks.md). The bytes are the same.
  const archive = new ZipArchive({ zlib: { level: 9, chunkSize: 1 << 20 }, forceLocalTime: false, forceZip64: false });
  // archiver reports a vanished file as a "warning"; a layer with a missing file is an error.
  archive.on('warning', (warning) => archive.destroy(warning));
  const written = pipeline(
    archive,
    createWriteStream(zipPath),
    options.signal === undefined ? {} : { signal: options.signal },
  );
  // archiver starts reading the first files while later ones are still being queued (each awaits its stat): a
  // file that vanishes meanwhile rejects `written` before the await below, and must not be an unhandled rejection.
  written.catch(() => undefined);
  try {
    for (const entry of entries) {
      const data = {
        name: entry.kind === 'directory' ? `${entry.path}/` : entry.path,
        date: options.timestamp,
        mode: entry.mode,
      };
      if (entry.kind === 'directory') {
        archive.append(Buffer.alloc(0), { ...data, type: 'directory' });
      } else {
        // Given stats, archiver queues entries in call order (its stat queue runs in
        // parallel and would not) and opens each file lazily, one at a time.
        archive.file(entry.absolutePath, { ...data, stats: await stat(entry.absolutePath) });
      }
    }
  } catch (error) {
    // A file gone before its stat: stop the archive too, so that the output stream closes before the caller
    // removes the temp file.
    archive.destroy(error as Error);
    await written.catch(() => undefined);
    throw error;
  }
  const finalized = archive.finalize();
  finalized.catch(() => undefined); // the same failure surfaces through `written`
  // Both must settle; a failed pipeline leaves finalize pending, so do not await it alone.
  await Promise.all([written, Promise.race([finalized, written])]);
}
