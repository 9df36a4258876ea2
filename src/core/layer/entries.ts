/**
 * What a layer zip's entry names mean once Lambda has unpacked them to /opt, shared by every reader of layer
 * zips (`ext inspect`, `ext dev`'s unpacking, `ext pack`'s check of its own zip), so that two spellings of
 * one path are one path everywhere.
 */

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
