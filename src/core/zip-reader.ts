import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import { CliError, errorMessage } from './errors.js';
import { readRegularFileUpTo } from './fs-utils.js';
import { maximumZipFileBytes, unzippedLimitText } from './layer/limits.js';

/**
 * A small zip reader that keeps what general-purpose libraries hide: the raw
 * "version made by", external attributes and extra fields. `ext inspect` needs
 * exactly those to tell whether Lambda will see an executable file.
 */

/** The archive itself is unreadable (not a zip, truncated, inconsistent). */
export class ZipFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipFormatError';
  }
}

/** An entry's bytes do not match its CRC-32. */
export class CrcMismatchError extends ZipFormatError {
  constructor() {
    super('the data does not match its CRC-32: the zip is corrupt');
    this.name = 'CrcMismatchError';
  }
}

export interface ZipExtraField {
  id: number;
  data: Buffer;
}

export interface ZipEntry {
  name: string;
  versionMadeBy: number;
  /** The high byte of "version made by": 0 MS-DOS, 3 Unix, 10 NTFS, 19 macOS... */
  platform: number;
  versionNeeded: number;
  flags: number;
  method: number;
  dosTime: number;
  dosDate: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  internalAttributes: number;
  externalAttributes: number;
  localHeaderOffset: number;
  extraFields: ZipExtraField[];
  localExtraFields: ZipExtraField[];
  comment: string;
  /** Where the entry's (compressed) bytes start in the archive. */
  dataOffset: number;
  /** The local header's own copy of the fields the central directory also holds. */
  local: {
    name: string;
    flags: number;
    method: number;
    crc32: number;
    compressedSize: number;
    uncompressedSize: number;
  };
}

export interface ZipArchive {
  entries: ZipEntry[];
  /** Where the central directory starts: every entry's data must end before it. */
  directoryOffset: number;
  comment: string;
  zip64: boolean;
  byteLength: number;
}

export const platformNames: Record<number, string> = {
  0: 'MS-DOS',
  3: 'Unix',
  10: 'Windows NTFS',
  11: 'VFAT',
  14: 'VFAT',
  19: 'macOS',
};

export function platformName(platform: number): string {
  return platformNames[platform] ?? `platform ${platform}`;
}

const endOfCentralDirectorySignature = 0x06054b50;
const zip64LocatorSignature = 0x07064b50;
const zip64EndSignature = 0x06064b50;
const centralHeaderSignature = 0x02014b50;
const localHeaderSignature = 0x04034b50;
const zip64ExtraId = 0x0001;
const flagEncrypted = 0x1;
const flagUtf8 = 0x800;

const fileTypeMask = 0o170000;
const fileTypeDirectory = 0o040000;
const fileTypeSymlink = 0o120000;
const fileTypeRegular = 0o100000;

function findEndOfCentralDirectory(buffer: Buffer): number {
  // The record is 22 bytes plus a comment of at most 65535 bytes.
  const lowest = Math.max(0, buffer.length - 22 - 0xffff);
  for (let offset = buffer.length - 22; offset >= lowest; offset--) {
    if (buffer.readUInt32LE(offset) !== endOfCentralDirectorySignature) continue;
    const commentLength = buffer.readUInt16LE(offset + 20);
    if (offset + 22 + commentLength <= buffer.length) return offset;
  }
  throw new ZipFormatError('no end-of-central-directory record (not a zip, or truncated)');
}

function parseExtraFields(block: Buffer): ZipExtraField[] {
  const fields: ZipExtraField[] = [];
  let offset = 0;
  // Some tools pad with fewer than 4 bytes; ignore such a tail instead of failing.
  while (offset + 4 <= block.length) {
    const id = block.readUInt16LE(offset);
    const size = block.readUInt16LE(offset + 2);
    const end = Math.min(block.length, offset + 4 + size);
    fields.push({ id, data: block.subarray(offset + 4, end) });
    offset = end;
  }
  return fields;
}

function readUInt64(buffer: Buffer, offset: number): number {
  const value = buffer.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError('a zip64 size or offset is too large');
  return Number(value);
}

function decodeName(raw: Buffer, flags: number): string {
  // Without the UTF-8 flag the spec says CP437; names in layers are ASCII in
  // practice, and latin1 at least maps every byte to one character.
  return flags & flagUtf8 ? raw.toString('utf8') : raw.toString('latin1');
}

/** A zip holding more entries than the caller allows: refused before a single entry is parsed. */
export class TooManyEntriesError extends ZipFormatError {
  constructor(readonly entryCount: number) {
    super(`the zip holds ${entryCount} entries`);
    this.name = 'TooManyEntriesError';
  }
}

/**
 * Reads the central directory and every local header. Throws ZipFormatError, and TooManyEntriesError
 * when the end record announces more than `maximumEntries`.
 */
export function readZip(buffer: Buffer, options: { maximumEntries?: number } = {}): ZipArchive {
  if (buffer.length < 22) throw new ZipFormatError(`only ${bytes(buffer.length)}, too short to be a zip`);
  const endOffset = findEndOfCentralDirectory(buffer);
  let entryCount = buffer.readUInt16LE(endOffset + 10);
  let directorySize = buffer.readUInt32LE(endOffset + 12);
  let directoryOffset = buffer.readUInt32LE(endOffset + 16);
  const comment = buffer.toString('latin1', endOffset + 22, endOffset + 22 + buffer.readUInt16LE(endOffset + 20));
  let zip64 = false;
  const locatorOffset = endOffset - 20;
  if (locatorOffset >= 0 && buffer.readUInt32LE(locatorOffset) === zip64LocatorSignature) {
    zip64 = true;
    const recordOffset = readUInt64(buffer, locatorOffset + 8);
    if (recordOffset + 56 > buffer.length || buffer.readUInt32LE(recordOffset) !== zip64EndSignature) {
      throw new ZipFormatError('the zip64 end-of-central-directory record is missing or damaged');
    }
    entryCount = readUInt64(buffer, recordOffset + 32);
    directorySize = readUInt64(buffer, recordOffset + 40);
    directoryOffset = readUInt64(buffer, recordOffset + 48);
  }
  if (entryCount > (options.maximumEntries ?? Infinity)) throw new TooManyEntriesError(entryCount);
  if (directoryOffset + directorySize > buffer.length) {
    throw new ZipFormatError('the central directory lies beyond the end of the file (truncated?)');
  }

  const entries: ZipEntry[] = [];
  let offset = directoryOffset;
  for (let index = 0; index < entryCount; index++) {
    if (offset + 46 > buffer.length || buffer.readUInt32LE(offset) !== centralHeaderSignature) {
      throw new ZipFormatError(`central directory entry ${index + 1} of ${entryCount} is damaged`);
    }
    const versionMadeBy = buffer.readUInt16LE(offset + 4);
    const flags = buffer.readUInt16LE(offset + 8);
    const nameLength = buffer.readUInt16LE(offset + 28);
    const extraLength = buffer.readUInt16LE(offset + 30);
    const commentLength = buffer.readUInt16LE(offset + 32);
    const variableEnd = offset + 46 + nameLength + extraLength + commentLength;
    if (variableEnd > buffer.length) throw new ZipFormatError(`central directory entry ${index + 1} is truncated`);
    const nameStart = offset + 46;
    const extraFields = parseExtraFields(buffer.subarray(nameStart + nameLength, nameStart + nameLength + extraLength));
    let compressedSize = buffer.readUInt32LE(offset + 20);
    let uncompressedSize = buffer.readUInt32LE(offset + 24);
    let localHeaderOffset = buffer.readUInt32LE(offset + 42);
    const zip64Field = extraFields.find((field) => field.id === zip64ExtraId);
    if (zip64Field !== undefined) {
      // Only the fields whose 32-bit value is saturated are present, in this order.
      let cursor = 0;
      const next = (): number => {
        if (cursor + 8 > zip64Field.data.length) throw new ZipFormatError('a zip64 extra field is too short');
        const value = readUInt64(zip64Field.data, cursor);
        cursor += 8;
        return value;
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = next();
      if (compressedSize === 0xffffffff) compressedSize = next();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
    }
    if (localHeaderOffset + 30 > buffer.length || buffer.readUInt32LE(localHeaderOffset) !== localHeaderSignature) {
      throw new ZipFormatError(`the local header of entry ${index + 1} is missing (truncated or corrupt zip)`);
    }
    const localNameLength = buffer.readUInt16LE(localHeaderOffset + 26);
    const localExtraLength = buffer.readUInt16LE(localHeaderOffset + 28);
    const localExtraStart = localHeaderOffset + 30 + localNameLength;
    const dataOffset = localExtraStart + localExtraLength;
    if (dataOffset > buffer.length) throw new ZipFormatError(`the local header of entry ${index + 1} is truncated`);
    const localExtraFields = parseExtraFields(buffer.subarray(localExtraStart, dataOffset));
    const localFlags = buffer.readUInt16LE(localHeaderOffset + 6);
    let localCompressedSize = buffer.readUInt32LE(localHeaderOffset + 18);
    let localUncompressedSize = buffer.readUInt32LE(localHeaderOffset + 22);
    const localZip64 = localExtraFields.find((field) => field.id === zip64ExtraId);
    if (localZip64 !== undefined && localZip64.data.length >= 16) {
      // The local zip64 field holds both sizes, uncompressed first, whenever it is present.
      if (localUncompressedSize === 0xffffffff) localUncompressedSize = readUInt64(localZip64.data, 0);
      if (localCompressedSize === 0xffffffff) localCompressedSize = readUInt64(localZip64.data, 8);
    }
    entries.push({
      name: decodeName(buffer.subarray(nameStart, nameStart + nameLength), flags),
      versionMadeBy,
      platform: versionMadeBy >> 8,
      versionNeeded: buffer.readUInt16LE(offset + 6),
      flags,
      method: buffer.readUInt16LE(offset + 10),
      dosTime: buffer.readUInt16LE(offset + 12),
      dosDate: buffer.readUInt16LE(offset + 14),
      crc32: buffer.readUInt32LE(offset + 16),
      compressedSize,
      uncompressedSize,
      internalAttributes: buffer.readUInt16LE(offset + 36),
      externalAttributes: buffer.readUInt32LE(offset + 38),
      localHeaderOffset,
      extraFields,
      localExtraFields,
      comment: buffer.toString('latin1', nameStart + nameLength + extraLength, variableEnd),
      dataOffset,
      local: {
        name: decodeName(buffer.subarray(localHeaderOffset + 30, localExtraStart), flags),
        flags: localFlags,
        method: buffer.readUInt16LE(localHeaderOffset + 8),
        crc32: buffer.readUInt32LE(localHeaderOffset + 14),
        compressedSize: localCompressedSize,
        uncompressedSize: localUncompressedSize,
      },
    });
    offset = variableEnd;
  }
  return { entries, directoryOffset, comment, zip64, byteLength: buffer.length };
}

const flagDataDescriptor = 0x8;

/**
 * How the local header contradicts the central directory. Unzip tools trust
 * one or the other, so such a zip unpacks differently depending on the tool
 * (and inspect would check other bytes than Lambda unpacks).
 */
export function localHeaderMismatches(entry: ZipEntry): string[] {
  const problems: string[] = [];
  if (entry.local.name !== entry.name) problems.push('name');
  if (entry.local.method !== entry.method) problems.push('compression method');
  // With a data descriptor the local CRC and sizes may legitimately be zero.
  const deferred = (entry.local.flags & flagDataDescriptor) !== 0;
  const agrees = (local: number, central: number): boolean => local === central || (deferred && local === 0);
  if (!agrees(entry.local.crc32, entry.crc32)) problems.push('CRC-32');
  if (!agrees(entry.local.compressedSize, entry.compressedSize)) problems.push('compressed size');
  if (!agrees(entry.local.uncompressedSize, entry.uncompressedSize)) problems.push('uncompressed size');
  return problems;
}

/**
 * Pairs of entries whose bytes (local header through data) share part of the
 * file, and entries whose data runs into the central directory. Overlapping
 * entries are how small zips inflate the same stream thousands of times.
 */
export function overlappingEntries(archive: ZipArchive): { entry: ZipEntry; overlaps: string }[] {
  const spans = archive.entries
    .map((entry) => ({ entry, start: entry.localHeaderOffset, end: entry.dataOffset + entry.compressedSize }))
    .sort((a, b) => a.start - b.start);
  const found: { entry: ZipEntry; overlaps: string }[] = [];
  let previous: (typeof spans)[number] | undefined;
  for (const span of spans) {
    // Sorted by start, so comparing with the furthest-reaching earlier span finds every overlap.
    if (previous !== undefined && span.start < previous.end) {
      found.push({ entry: span.entry, overlaps: `the entry "${previous.entry.name}"` });
    }
    if (span.end > archive.directoryOffset) found.push({ entry: span.entry, overlaps: 'the central directory' });
    if (previous === undefined || span.end > previous.end) previous = span;
  }
  return found;
}

/** The uncompressed sizes the central directory declares, summed. */
export function declaredUncompressedBytes(archive: ZipArchive): number {
  let total = 0;
  for (const entry of archive.entries) total += entry.uncompressedSize;
  return total;
}

/** No valid layer zip is larger than this (core/layer/limits.ts). */
export { maximumZipFileBytes };

/**
 * Reads a zip file the user named, refusing what no layer zip can be: a
 * device or FIFO (`/dev/zero` would never end) or a file over
 * `maximumZipFileBytes`. Checks the opened handle, so a file swapped after
 * the check is not read either. Messages name `label` (the user's path).
 */
export async function readZipFile(filePath: string, label = filePath): Promise<Buffer> {
  let read;
  try {
    read = await readRegularFileUpTo(filePath, maximumZipFileBytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(`${label} does not exist`, {
        hint: 'pass the path of a layer zip, e.g. dist/<name>-x86_64.zip (made by ext pack)',
      });
    }
    throw new CliError(`cannot read ${label}: ${errorMessage(error)}`);
  }
  if (Buffer.isBuffer(read)) return read;
  if (read.problem === 'directory')
    throw new CliError(`${label} is a directory, not a zip file`, { hint: 'pass the path of a layer zip' });
  if (read.problem !== 'too-large') {
    throw new CliError(`${label} is not a regular file (a device, FIFO or socket), so it cannot be a layer zip`, {
      hint: 'pass the path of a layer zip file',
    });
  }
  throw new CliError(
    `${label} is ${read.size} bytes, larger than any layer zip can be (${maximumZipFileBytes} bytes: Lambda's ${unzippedLimitText} unzipped limit plus headers)`,
    { hint: 'check that this is the layer zip you meant; Lambda refuses layers this large' },
  );
}

/** Entries larger than this are not inflated: they blow Lambda's limits anyway. */
export const maximumInflatedBytes = 512 * 1024 * 1024;

/**
 * Returns an entry's uncompressed bytes. Throws ZipFormatError when they
 * cannot be produced; the caller compares the CRC itself (see `entryCrc32`).
 */
export function readEntryData(buffer: Buffer, entry: ZipEntry): Buffer {
  if (entry.uncompressedSize > maximumInflatedBytes) {
    throw new ZipFormatError(`the entry claims ${entry.uncompressedSize} bytes, too many to check`);
  }
  const compressed = compressedData(buffer, entry);
  let data: Buffer;
  if (entry.method === 0) {
    data = compressed;
  } else {
    try {
      // One byte of slack lets us notice data longer than the header claims.
      data = inflateRawSync(compressed, { maxOutputLength: entry.uncompressedSize + 1 });
    } catch (error) {
      throw new ZipFormatError(`cannot inflate the entry: ${(error as Error).message}`);
    }
  }
  if (data.length !== entry.uncompressedSize) {
    throw new ZipFormatError(`the entry holds ${bytes(data.length)}, the header says ${entry.uncompressedSize}`);
  }
  return data;
}

function compressedData(buffer: Buffer, entry: ZipEntry): Buffer {
  if (entry.flags & flagEncrypted) throw new ZipFormatError('the entry is encrypted');
  if (entry.method !== 0 && entry.method !== 8) {
    throw new ZipFormatError(`compression method ${entry.method} is not supported (only store and deflate are)`);
  }
  const end = entry.dataOffset + entry.compressedSize;
  if (end > buffer.length) throw new ZipFormatError('the entry data runs past the end of the file (truncated?)');
  return buffer.subarray(entry.dataOffset, end);
}

export interface CheckedEntryData {
  /** The first bytes of the entry, at most what the caller asked to keep. */
  head: Buffer;
  size: number;
  crcMatches: boolean;
}

/**
 * Inflates one entry to check its size and CRC-32, and keeps only its first
 * `keepBytes`. Inflation stops one byte past the declared size, so a stream
 * that inflates to more than declared costs no more than declared (and is an
 * error): the caller bounds the declared sizes first.
 */
export function checkEntryData(buffer: Buffer, entry: ZipEntry, keepBytes: number): CheckedEntryData {
  const data = readEntryData(buffer, entry);
  // A copy, so the (possibly large) inflated buffer can be freed at once.
  const head = Buffer.from(data.subarray(0, Math.min(keepBytes, data.length)));
  return { head, size: data.length, crcMatches: entryCrc32(data) === entry.crc32 };
}

/**
 * Streams one entry's uncompressed bytes to `write`, never holding more than
 * one chunk, and fails when they exceed the declared size, fall short of it,
 * or do not match the CRC-32. `onBytes` sees each chunk's length first, so the
 * caller can enforce a total across entries while inflating.
 */
export async function streamEntryData(
  buffer: Buffer,
  entry: ZipEntry,
  write: (chunk: Buffer) => Promise<unknown>,
  onBytes: (count: number) => void = () => {},
): Promise<void> {
  const compressed = compressedData(buffer, entry);
  let size = 0;
  let crc = 0;
  const accept = async (chunk: Buffer): Promise<void> => {
    size += chunk.length;
    if (size > entry.uncompressedSize) {
      throw new ZipFormatError(`the entry inflates to more than the ${bytes(entry.uncompressedSize)} its header says`);
    }
    onBytes(chunk.length);
    crc = crc32(chunk, crc);
    await write(chunk);
  };
  if (entry.method === 0) {
    const chunkSize = 1024 * 1024;
    for (let start = 0; start < compressed.length; start += chunkSize) {
      await accept(compressed.subarray(start, start + chunkSize));
    }
  } else {
    const inflater = createInflateRaw();
    inflater.end(compressed);
    try {
      for await (const chunk of inflater) await accept(chunk as Buffer);
    } catch (error) {
      inflater.destroy();
      // zlib's own errors carry Z_* codes; anything else came from `accept` and stays as it is.
      const code = (error as NodeJS.ErrnoException).code;
      if (typeof code === 'string' && code.startsWith('Z_')) {
        throw new ZipFormatError(`cannot inflate the entry: ${errorMessage(error)}`);
      }
      throw error;
    }
  }
  if (size !== entry.uncompressedSize) {
    throw new ZipFormatError(`the entry holds ${bytes(size)}, the header says ${entry.uncompressedSize}`);
  }
  if (crc >>> 0 !== entry.crc32) throw new CrcMismatchError();
}

/** `checkEntryData` for large entries: streams them, so memory holds one chunk and the head, never the file. */
export async function streamEntryHead(buffer: Buffer, entry: ZipEntry, keepBytes: number): Promise<CheckedEntryData> {
  const parts: Buffer[] = [];
  let kept = 0;
  let size = 0;
  const keep = async (chunk: Buffer): Promise<void> => {
    size += chunk.length;
    if (kept >= keepBytes) return;
    const part = Buffer.from(chunk.subarray(0, keepBytes - kept));
    parts.push(part);
    kept += part.length;
  };
  let crcMatches = true;
  try {
    await streamEntryData(buffer, entry, keep);
  } catch (error) {
    if (!(error instanceof CrcMismatchError)) throw error;
    crcMatches = false;
  }
  return { head: Buffer.concat(parts), size, crcMatches };
}

export function entryCrc32(data: Buffer): number {
  return crc32(data) >>> 0;
}

/** Unix permission and type bits, when the made-by platform stores them (Unix or macOS, as Go's archive/zip reads them). */
export function unixMode(entry: ZipEntry): number | undefined {
  if (entry.platform !== 3 && entry.platform !== 19) return undefined;
  const mode = entry.externalAttributes >>> 16;
  return mode === 0 ? undefined : mode;
}

export function isDirectoryEntry(entry: ZipEntry): boolean {
  if (entry.name.endsWith('/')) return true;
  const mode = unixMode(entry);
  if (mode !== undefined) return (mode & fileTypeMask) === fileTypeDirectory;
  return (entry.externalAttributes & 0x10) !== 0;
}

export function isSymlinkEntry(entry: ZipEntry): boolean {
  const mode = unixMode(entry);
  return mode !== undefined && (mode & fileTypeMask) === fileTypeSymlink;
}

/** Whether the Unix attributes make the file executable by anyone; undefined when there are none. */
export function isExecutableEntry(entry: ZipEntry): boolean | undefined {
  const mode = unixMode(entry);
  if (mode === undefined) return undefined;
  const type = mode & fileTypeMask;
  if (type !== 0 && type !== fileTypeRegular && type !== fileTypeSymlink) return false;
  return (mode & 0o111) !== 0;
}

/** The DOS date and time fields as an ISO-like string, for messages and tests. */
export function formatDosDateTime(dosDate: number, dosTime: number): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  const year = 1980 + (dosDate >> 9);
  return `${year}-${pad((dosDate >> 5) & 0xf)}-${pad(dosDate & 0x1f)} ${pad(dosTime >> 11)}:${pad((dosTime >> 5) & 0x3f)}:${pad((dosTime & 0x1f) * 2)}`;
}

function bytes(count: number): string {
  return `${count} byte${count === 1 ? '' : 's'}`;
}
