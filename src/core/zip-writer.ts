import { createWriteStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ZipArchive } from 'archiver';
import { CliError, errorMessage } from './errors.js';

/**
 * Writes layer zips that are byte-identical for identical contents: sorted
 * entries with explicit directories first, one fixed timestamp, modes
 * normalised to 0755/0644, "made by" Unix, no extra fields. archiver (through
 * zip-stream and compress-commons) writes no extended-timestamp field,
 * computes DOS time from UTC, and sets made-by Unix once a mode is given; ext
 * pack re-reads every zip to prove it (see `zipContractProblems` in pack.ts).
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
/** archiver's DOS encoder saturates here (its 32-bit arithmetic overflows in 2044). */
const latestZipTimestamp = new Date(Date.UTC(2043, 11, 31, 23, 59, 58));

/**
 * The timestamp for every entry: SOURCE_DATE_EPOCH (seconds since 1970, UTC)
 * when given, else 1980-01-01. Clamped to what a DOS time can hold.
 */
export function zipTimestamp(sourceDateEpoch: string | undefined): Date {
  if (sourceDateEpoch === undefined || sourceDateEpoch.trim() === '') return defaultZipTimestamp;
  if (!/^\s*\d+\s*$/.test(sourceDateEpoch)) {
    throw new CliError(`SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, not "${sourceDateEpoch}"`, {
      hint: 'set it with SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or unset it to use 1980-01-01',
    });
  }
  const milliseconds = Number(sourceDateEpoch) * 1000;
  // DOS time has a two-second resolution.
  const date = new Date(Math.floor(milliseconds / 2000) * 2000);
  if (date < defaultZipTimestamp) return defaultZipTimestamp;
  if (date > latestZipTimestamp) return latestZipTimestamp;
  return date;
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

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Lists a layer directory as zip entries: directories first, then files, each
 * group sorted byte-wise. A file is executable (0755) when any execute bit is
 * set on disk or when it sits directly in extensions/ (Lambda execs those);
 * everything else is 0644. Symbolic links are followed.
 */
export async function collectLayerEntries(layerDirectory: string): Promise<LayerEntry[]> {
  const directories: LayerEntry[] = [];
  const files: LayerEntry[] = [];
  const walk = async (absolute: string, relative: string, depth: number): Promise<void> => {
    if (depth > 64) throw new CliError(`${absolute}: folders nest too deeply (a symbolic link loop?)`);
    const children = await readdir(absolute);
    for (const child of children) {
      const childAbsolute = path.join(absolute, child);
      const childRelative = relative === '' ? child : `${relative}/${child}`;
      let info = await lstat(childAbsolute);
      if (info.isSymbolicLink()) {
        try {
          info = await stat(childAbsolute);
        } catch (error) {
          throw new CliError(`${childAbsolute} is a broken symbolic link: ${errorMessage(error)}`, {
            hint: 'remove it or point it at a file before packing',
          });
        }
      }
      if (info.isDirectory()) {
        directories.push({ path: childRelative, kind: 'directory', absolutePath: childAbsolute, mode: 0o755, size: 0 });
        await walk(childAbsolute, childRelative, depth + 1);
      } else if (info.isFile()) {
        const launchedByLambda = /^extensions\/[^/]+$/.test(childRelative);
        const executable = launchedByLambda || (info.mode & 0o111) !== 0;
        files.push({
          path: childRelative,
          kind: 'file',
          absolutePath: childAbsolute,
          mode: executable ? 0o755 : 0o644,
          size: info.size,
        });
      } else {
        throw new CliError(`${childAbsolute} is neither a file nor a folder and cannot go into a zip`, {
          hint: 'remove it from the layer folder',
        });
      }
    }
  };
  await walk(layerDirectory, '', 0);
  directories.sort((a, b) => compareBytes(a.path, b.path));
  files.sort((a, b) => compareBytes(a.path, b.path));
  return [...directories, ...files];
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
  const archive = new ZipArchive({ zlib: { level: 9 }, forceLocalTime: false, forceZip64: false });
  // archiver reports a vanished file as a "warning"; a layer with a missing file is an error.
  archive.on('warning', (warning) => archive.destroy(warning));
  const written = pipeline(
    archive,
    createWriteStream(zipPath),
    options.signal === undefined ? {} : { signal: options.signal },
  );
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
  const finalized = archive.finalize();
  finalized.catch(() => undefined); // the same failure surfaces through `written`
  // Both must settle; a failed pipeline leaves finalize pending, so do not await it alone.
  await Promise.all([written, Promise.race([finalized, written])]);
}
