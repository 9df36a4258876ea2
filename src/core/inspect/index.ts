import { CliError } from '../errors.js';
import { readZip, readZipFile, ZipFormatError, type ZipArchive } from '../zip-reader.js';
import { LayerInspection } from './layer-inspection.js';
import type { InspectOptions, InspectReport } from './report.js';

export { architectureFromFileName } from './architecture-name.js';
export {
  launcherTargets,
  LauncherTooComplexError,
  maximumExpansionLength,
  maximumExpansionWork,
  type LauncherTarget,
} from './launcher.js';
export * from './report.js';

/** Reads and checks a layer zip. Throws CliError only when the file is not a readable zip. */
export async function inspect(zipPath: string, options: InspectOptions = {}): Promise<InspectReport> {
  // Bounded: refuses devices, FIFOs and files larger than any layer zip can be.
  const buffer = await readZipFile(zipPath);
  return inspectZipBuffer(buffer, zipPath, options);
}

/** Same as `inspect`, on bytes already in memory (ext pack verifies its temp file with this). */
export function inspectZipBuffer(buffer: Buffer, zipPath: string, options: InspectOptions = {}): InspectReport {
  let archive: ZipArchive;
  try {
    archive = readZip(buffer);
  } catch (error) {
    if (error instanceof ZipFormatError) {
      throw new CliError(`${zipPath} is not a readable zip file: ${error.message}`, {
        hint: 'check that the download or build finished; ext pack writes a fresh layer zip',
      });
    }
    throw error;
  }
  return new LayerInspection(buffer, archive, zipPath, options).run();
}
