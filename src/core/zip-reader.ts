import { crc32, inflateRawSync } from 'node:zlib';

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
}

export interface ZipArchive {
  entries: ZipEntry[];
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

/** Reads the central directory and every local header. Throws ZipFormatError. */
export function readZip(buffer: Buffer): ZipArchive {
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
      localExtraFields: parseExtraFields(buffer.subarray(localExtraStart, dataOffset)),
      comment: buffer.toString('latin1', nameStart + nameLength + extraLength, variableEnd),
      dataOffset,
    });
    offset = variableEnd;
  }
  return { entries, comment, zip64, byteLength: buffer.length };
}

/** Entries larger than this are not inflated: they blow Lambda's limits anyway. */
export const maximumInflatedBytes = 512 * 1024 * 1024;

/**
 * Returns an entry's uncompressed bytes. Throws ZipFormatError when they
 * cannot be produced; the caller compares the CRC itself (see `entryCrc32`).
 */
export function readEntryData(buffer: Buffer, entry: ZipEntry): Buffer {
  if (entry.flags & flagEncrypted) throw new ZipFormatError('the entry is encrypted');
  if (entry.uncompressedSize > maximumInflatedBytes) {
    throw new ZipFormatError(`the entry claims ${entry.uncompressedSize} bytes, too many to check`);
  }
  const end = entry.dataOffset + entry.compressedSize;
  if (end > buffer.length) throw new ZipFormatError('the entry data runs past the end of the file (truncated?)');
  const compressed = buffer.subarray(entry.dataOffset, end);
  let data: Buffer;
  if (entry.method === 0) {
    data = compressed;
  } else if (entry.method === 8) {
    try {
      // One byte of slack lets us notice data longer than the header claims.
      data = inflateRawSync(compressed, { maxOutputLength: entry.uncompressedSize + 1 });
    } catch (error) {
      throw new ZipFormatError(`cannot inflate the entry: ${(error as Error).message}`);
    }
  } else {
    throw new ZipFormatError(`compression method ${entry.method} is not supported (only store and deflate are)`);
  }
  if (data.length !== entry.uncompressedSize) {
    throw new ZipFormatError(`the entry holds ${bytes(data.length)}, the header says ${entry.uncompressedSize}`);
  }
  return data;
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
