import { CliError } from '../errors.js';
import { maximumLayerEntries, readZipFile, tooManyEntriesProblem } from '../layer/index.js';
import {
  checkEntryData,
  isDirectoryEntry,
  readZip,
  streamEntryHead,
  TooManyEntriesError,
  ZipFormatError,
  type CheckedEntryData,
  type ZipArchive,
  type ZipEntry,
} from '../zip/index.js';
import { LayerInspection } from './layer-inspection.js';
import type { InspectOptions, InspectReport } from './report.js';
import { checkZipStructure, entryHeadBytes, type EntryReader } from './zip-structure.js';

export { architectureFromFileName } from '../layer/index.js';
export {
  launcherTargets,
  clearsNodeOptions,
  LauncherTooComplexError,
  maximumExpansionLength,
  maximumExpansionWork,
  type LauncherTarget,
} from './launcher.js';
export * from './report.js';
export { isWrapperPath } from './wrapper.js';

/** Reads and checks a layer zip. Throws CliError only when the file is not a readable zip. */
export async function inspect(zipPath: string, options: InspectOptions = {}): Promise<InspectReport> {
  // Bounded: refuses devices, FIFOs and files larger than any layer zip can be.
  const buffer = await readZipFile(zipPath);
  const archive = parseZip(buffer, zipPath);
  return new LayerInspection(await streamingEntryReader(buffer, archive), archive, zipPath, options).run();
}

/**
 * Same as `inspect`, on bytes already in memory (ext pack verifies its temp
 * file with this). Synchronous, so each entry is inflated in one piece: at
 * most its declared size, itself capped by the unzipped-limit check.
 */
export function inspectZipBuffer(buffer: Buffer, zipPath: string, options: InspectOptions = {}): InspectReport {
  const archive = parseZip(buffer, zipPath);
  const read: EntryReader = (entry, keepBytes) => checkEntryData(buffer, entry, keepBytes);
  return new LayerInspection(read, archive, zipPath, options).run();
}

function parseZip(buffer: Buffer, zipPath: string): ZipArchive {
  try {
    return readZip(buffer, { maximumEntries: maximumLayerEntries });
  } catch (error) {
    if (error instanceof TooManyEntriesError) {
      throw new CliError(`${zipPath}: ${tooManyEntriesProblem(error.entryCount)!}`, {
        code: 'E_LAYER_TOO_LARGE',
        hint: 'Lambda could not hold this layer unpacked; check that this is the layer zip you meant',
      });
    }
    if (error instanceof ZipFormatError) {
      throw new CliError(`${zipPath} is not a readable zip file: ${error.message}`, {
        code: 'E_LAYER_ZIP_UNREADABLE',
        hint: 'check that the download or build finished; ext pack writes a fresh layer zip',
      });
    }
    throw error;
  }
}

/** Entries declaring more than this are streamed ahead of the (synchronous) checks. */
const streamAboveBytes = 1024 * 1024;

/**
 * Streams every large entry the checks will read, keeping only its head, so
 * memory holds one chunk of a large file rather than all of it. Few entries
 * are over 1 MB when the declared total is under Lambda's unzipped limit (else
 * nothing is inflated), so the kept heads stay small.
 */
async function streamingEntryReader(buffer: Buffer, archive: ZipArchive): Promise<EntryReader> {
  const structure = checkZipStructure(archive, () => {});
  const streamed = new Map<ZipEntry, CheckedEntryData | Error>();
  if (structure.inflate) {
    for (const entry of archive.entries) {
      if (entry.uncompressedSize <= streamAboveBytes || isDirectoryEntry(entry)) continue;
      if (structure.unsafeEntries.has(entry)) continue;
      streamed.set(
        entry,
        await streamEntryHead(buffer, entry, entryHeadBytes).catch((error: unknown) =>
          error instanceof Error ? error : new Error(String(error)),
        ),
      );
    }
  }
  return (entry, keepBytes) => {
    const result = streamed.get(entry);
    if (result === undefined) return checkEntryData(buffer, entry, keepBytes);
    if (result instanceof Error) throw result;
    return { ...result, head: result.head.subarray(0, keepBytes) };
  };
}
