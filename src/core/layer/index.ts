/**
 * The layer contract: what a layer zip's entries mean once Lambda has unpacked them to /opt, shared by
 * every reader of layer zips (`ext inspect`, `ext dev`'s unpacking, `ext pack`'s check of its own zip), so
 * that two spellings of one path are one path everywhere.
 */

/** Lambda's limits on a layer (MiB, as AWS counts them). */
export const zippedLimitBytes = 50 * 1024 * 1024;
export const unzippedLimitBytes = 250 * 1024 * 1024;
/** Lambda starts at most this many extensions per function, all layers together. */
export const maximumExtensions = 10;

/** The block every folder and non-empty file occupies at least once on Linux filesystems (ext4's default). */
const smallestBlockBytes = 4096;

/**
 * The most entries a layer zip may hold: 64,000. Lambda states no entry count, but it unpacks a layer into
 * a filesystem where each folder or non-empty file takes at least one 4 KiB block, so 250 MB unzipped
 * holds at most 250 MiB / 4 KiB = 64,000 of them. Real layers stay far below (a full SciPy stack is about
 * 15,000 files). Only zips built to cost time and memory (300,000 empty files in 29 MB) reach it.
 */
export const maximumLayerEntries = unzippedLimitBytes / smallestBlockBytes;

/** The one-line reason a zip with `count` entries is refused, or undefined when it is within the limit. */
export function tooManyEntriesProblem(count: number): string | undefined {
  if (count <= maximumLayerEntries) return undefined;
  return `it holds ${count} entries, more than any layer can (${maximumLayerEntries}: Lambda's 250 MB unzipped limit in 4 KiB blocks)`;
}

/**
 * The components of an entry name as unzip and Lambda see them: empty components (`a//b`, a trailing `/`)
 * and `.` are dropped, so `./extensions/x`, `extensions//x` and `extensions/x` are one path. `..` is kept,
 * for the callers to refuse.
 */
export function entryPathComponents(name: string): string[] {
  return name.split('/').filter((component) => component !== '' && component !== '.');
}

/** The path an entry unpacks to, relative to /opt, with single `/` separators: the key for duplicates. */
export function normalizedEntryPath(name: string): string {
  return entryPathComponents(name).join('/');
}
