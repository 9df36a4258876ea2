import {
  isElf,
  LayerLinks,
  parseElf,
  pathComponents,
  unzippedLimitBytes,
  zippedLimitBytes,
  type ElfInfo,
} from '../layer/index.js';
import { errorMessage } from '../errors.js';
import { formatBytes } from '../format.js';
import {
  declaredUncompressedBytes,
  isDirectoryEntry,
  isSymlinkEntry,
  localHeaderMismatches,
  overlappingEntries,
  type CheckedEntryData,
  type ZipArchive,
  type ZipEntry,
} from '../zip/index.js';
import { limitWarningRatio, type AddFinding, type FindingSeverity } from './report.js';
import { isWrapperPath } from './wrapper.js';

/** Checks on the zip as an archive: how its entries are laid out, read and linked, and how large it unpacks. */

/**
 * What inspect keeps of each entry's bytes: memory must stay bounded whatever
 * the zip, so files are inflated one at a time and only their first bytes are
 * kept, enough for ELF and program headers, shebang lines and launcher scripts.
 */
const extensionHeadBytes = 64 * 1024;
const otherHeadBytes = 1024;
const elfHeadBytes = 64 * 1024;
const linkTargetBytes = 4096;
/** The most any check reads of one entry. */
export const entryHeadBytes = Math.max(elfHeadBytes, extensionHeadBytes, linkTargetBytes);

export interface FileEntry {
  entry: ZipEntry;
  /** The first bytes of the file (all of it when small); absent when it could not be read. */
  head?: Buffer;
  /** The inflated size, when the entry could be read. */
  size?: number;
  isElf: boolean;
  elf?: ElfInfo;
}

export interface ZipStructure {
  /** Entries not to inflate: their bytes are shared or their headers disagree (already errors). */
  unsafeEntries: Set<ZipEntry>;
  /** False when the declared sizes are over Lambda's limit: then nothing is inflated. */
  inflate: boolean;
}

/**
 * What can be checked without inflating anything: entries sharing bytes,
 * local headers contradicting the central directory, and declared sizes. A
 * zip declaring more than Lambda's limit is not inflated at all, so no zip
 * costs more than that limit of inflation to inspect.
 */
export function checkZipStructure(archive: ZipArchive, add: AddFinding): ZipStructure {
  const unsafeEntries = new Set<ZipEntry>();
  for (const { entry, overlaps } of overlappingEntries(archive)) {
    unsafeEntries.add(entry);
    add(
      'error',
      'overlapping-entries',
      `the entry shares its bytes with ${overlaps}: a zip bomb or a corrupt zip, which unzip tools unpack differently`,
      entry.name,
    );
  }
  for (const entry of archive.entries) {
    const mismatches = localHeaderMismatches(entry);
    if (mismatches.length === 0) continue;
    unsafeEntries.add(entry);
    add(
      'error',
      'local-header-mismatch',
      `the local header disagrees with the central directory (${mismatches.join(', ')}), so tools unpack different files from this zip`,
      entry.name,
    );
  }
  return { unsafeEntries, inflate: declaredUncompressedBytes(archive) <= unzippedLimitBytes };
}

/** Reads one file entry, keeping only its first bytes; reports unreadable and corrupt data. */
/** Inflates an entry, checking its size and CRC, and returns at most its first `keepBytes`. */
export type EntryReader = (entry: ZipEntry, keepBytes: number) => CheckedEntryData;

export function readEntryHead(read: EntryReader, file: FileEntry, add: AddFinding): void {
  const { entry } = file;
  const symlink = isSymlinkEntry(entry);
  if (symlink && entry.uncompressedSize > linkTargetBytes) {
    add('error', 'unreadable-entry', `the symbolic link's target is over ${linkTargetBytes} bytes`, entry.name);
    return;
  }
  try {
    const checked = read(entry, entryHeadBytes);
    if (!checked.crcMatches) {
      add('error', 'crc-mismatch', 'the data does not match its CRC-32: the zip is corrupt', entry.name);
      return;
    }
    file.size = checked.size;
    let head = checked.head;
    if (!symlink && isElf(head)) {
      file.isElf = true;
      try {
        const elf = parseElf(head, checked.size);
        if (elf !== undefined) file.elf = elf;
      } catch (error) {
        add('error', 'elf-damaged', `the ELF file is damaged: ${errorMessage(error)}`, entry.name);
      }
    }
    const keep = symlink
      ? linkTargetBytes
      : /^extensions\/[^/]+$/.test(entry.name) || isWrapperPath(entry.name)
        ? extensionHeadBytes
        : otherHeadBytes;
    if (head.length > keep) head = Buffer.from(head.subarray(0, keep));
    file.head = head;
  } catch (error) {
    add('error', 'unreadable-entry', `cannot read the entry: ${errorMessage(error)}`, entry.name);
  }
}

/**
 * Links are resolved over the archive's own tree, through chains of links:
 * a link that leaves the layer (or a path that runs through a link) is an
 * error, as unzip tools either refuse it or write outside the folder.
 */
export function checkLinks(archive: ZipArchive, files: Iterable<FileEntry>, add: AddFinding): void {
  const targets = new Map<string, string>();
  const linkNames = new Map<string, string>();
  for (const file of files) {
    if (!isSymlinkEntry(file.entry) || file.head === undefined) continue;
    const normalized = pathComponents(file.entry.name).join('/');
    targets.set(normalized, file.head.toString('utf8'));
    linkNames.set(normalized, file.entry.name);
  }
  if (targets.size === 0) return;
  const links = new LayerLinks(targets);
  for (const entry of archive.entries) {
    const above = links.linkAbove(entry.name);
    if (above !== undefined) {
      add(
        'error',
        'path-through-symlink',
        `the path runs through the symbolic link "${linkNames.get(above) ?? above}", so unpacking it writes wherever that link leads`,
        entry.name,
      );
    }
  }
  for (const [normalized, target] of targets) {
    const name = linkNames.get(normalized)!;
    const resolution = links.resolve(normalized);
    if (resolution.kind === 'inside') {
      add(
        'warning',
        'symlink',
        `the entry is a symbolic link to "${target}"; make sure the target exists at run time (Lambda's own tools rarely write links)`,
        name,
      );
    } else if (resolution.kind === 'loop') {
      add('error', 'symlink-loop', `the symbolic link to "${target}" is part of a loop of links`, name);
    } else {
      const extension = /^extensions\/[^/]+$/.test(normalized);
      add(
        'error',
        'symlink-outside-layer',
        `the entry is a symbolic link to "${target}", which leads outside the layer${extension ? ': the extension Lambda starts would not be part of it' : ''}; unzip tools refuse such links or write outside the folder`,
        name,
      );
    }
  }
}

/** Zipped and unzipped sizes against Lambda's limits; returns the unzipped size. */
export function checkSizes(archive: ZipArchive, add: AddFinding): number {
  // Declared sizes of every file entry (duplicates too: they are errors anyway), so a zip
  // that was not inflated because of its size still reports it.
  let unzipped = 0;
  for (const entry of archive.entries) if (!isDirectoryEntry(entry)) unzipped += entry.uncompressedSize;
  const zipped = archive.byteLength;
  const check = (
    bytes: number,
    limit: number,
    code: string,
    what: string,
    overLimit: FindingSeverity,
    advice: string,
  ): void => {
    if (bytes > limit) {
      add(
        overLimit,
        `${code}-too-large`,
        `${what} is ${formatBytes(bytes)}, over Lambda's ${formatBytes(limit)} limit; ${advice}`,
      );
    } else if (bytes > limit * limitWarningRatio) {
      add(
        'warning',
        `${code}-near-limit`,
        `${what} is ${formatBytes(bytes)}, ${Math.round((bytes / limit) * 100)}% of Lambda's ${formatBytes(limit)} limit`,
      );
    }
  };
  // Over the direct-upload limit the zip still works, uploaded through S3; over the unzipped limit nothing works.
  check(
    zipped,
    zippedLimitBytes,
    'zip',
    'the zip (direct upload)',
    'warning',
    'publish it from S3 (publish-layer-version --content S3Bucket=...,S3Key=...)',
  );
  check(
    unzipped,
    unzippedLimitBytes,
    'unzipped',
    'the unzipped layer (counted with the function and all other layers)',
    'error',
    'trim the layer (strip binaries, drop unused files)',
  );
  return unzipped;
}
