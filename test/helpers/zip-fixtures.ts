import { crc32, deflateRawSync } from 'node:zlib';

/**
 * A deliberately naive zip writer with knobs for every way real-world layer
 * zips go wrong (made-by platform, modes, extra fields, data descriptors,
 * broken CRCs). Tests only; it trusts its input.
 */
export interface RawZipEntry {
  name: string;
  data?: Buffer | string;
  /** High byte of "version made by": 3 Unix (default), 0 MS-DOS. */
  platform?: number;
  /** Unix mode including the file type, e.g. 0o100755; default 0o100644 (0o40755 for names ending in "/"). */
  mode?: number;
  /** Overrides the computed external attributes. */
  externalAttributes?: number;
  method?: 0 | 8;
  extra?: Buffer;
  dataDescriptor?: boolean;
  /** Written instead of the real CRC-32. */
  crc?: number;
  dosDate?: number;
  dosTime?: number;
  /** Declared instead of the real uncompressed size (in both headers unless `local` overrides it). */
  uncompressedSize?: number;
  /** What the local header says instead of the central directory's values. */
  local?: { name?: string; method?: number; uncompressedSize?: number };
}

export function buildZip(entries: RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data ?? '');
    const directory = entry.name.endsWith('/');
    const method = entry.method ?? (data.length > 0 ? 8 : 0);
    const body = method === 8 ? deflateRawSync(data) : data;
    const crc = entry.crc ?? crc32(data) >>> 0;
    const name = Buffer.from(entry.name);
    const localName = Buffer.from(entry.local?.name ?? entry.name);
    const declaredSize = entry.uncompressedSize ?? data.length;
    const extra = entry.extra ?? Buffer.alloc(0);
    const platform = entry.platform ?? 3;
    const mode = entry.mode ?? (directory ? 0o40755 : 0o100644);
    const external =
      entry.externalAttributes ??
      (platform === 3 ? ((mode << 16) | (directory ? 0x10 : 0)) >>> 0 : directory ? 0x10 : 0x20);
    const flags = entry.dataDescriptor === true ? 0x8 : 0;
    const dosDate = entry.dosDate ?? 0x21;
    const dosTime = entry.dosTime ?? 0;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(entry.local?.method ?? method, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    if (entry.dataDescriptor !== true) {
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(entry.local?.uncompressedSize ?? declaredSize, 22);
    }
    local.writeUInt16LE(localName.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const parts = [local, localName, extra, body];
    if (entry.dataDescriptor === true) {
      const descriptor = Buffer.alloc(16);
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(body.length, 8);
      descriptor.writeUInt32LE(declaredSize, 12);
      parts.push(descriptor);
    }
    const localBytes = Buffer.concat(parts);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((platform << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(declaredSize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(external, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(Buffer.concat([central, name, extra]));
    locals.push(localBytes);
    offset += localBytes.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

export interface ElfOptions {
  machine: number;
  bits?: 32 | 64;
  bigEndian?: boolean;
  /** e_type: 2 ET_EXEC (default), 3 ET_DYN, 1 ET_REL. */
  type?: number;
  /** Adds a PT_INTERP segment naming this dynamic linker. */
  interpreter?: string;
}

/** A minimal but well-formed ELF image: header, one or two program headers, the interpreter string. */
export function elfImage(options: ElfOptions): Buffer {
  const bits = options.bits ?? 64;
  const little = options.bigEndian !== true;
  const headerSize = bits === 64 ? 64 : 52;
  const programHeaderSize = bits === 64 ? 56 : 32;
  const programHeaders = options.interpreter === undefined ? 1 : 2;
  const interpreter = Buffer.from(`${options.interpreter ?? ''}\0`);
  const interpreterOffset = headerSize + programHeaders * programHeaderSize;
  const image = Buffer.alloc(interpreterOffset + interpreter.length + 16);
  const u16 = (value: number, at: number): number =>
    little ? image.writeUInt16LE(value, at) : image.writeUInt16BE(value, at);
  const u32 = (value: number, at: number): number =>
    little ? image.writeUInt32LE(value, at) : image.writeUInt32BE(value, at);
  const word = (value: number, at: number): number =>
    bits === 32
      ? u32(value, at)
      : little
        ? image.writeBigUInt64LE(BigInt(value), at)
        : image.writeBigUInt64BE(BigInt(value), at);
  image.write('\x7fELF', 0, 'latin1');
  image[4] = bits === 64 ? 2 : 1;
  image[5] = little ? 1 : 2;
  image[6] = 1;
  u16(options.type ?? 2, 16);
  u16(options.machine, 18);
  u32(1, 20);
  word(headerSize, bits === 64 ? 0x20 : 0x1c);
  u16(headerSize, bits === 64 ? 0x34 : 0x28);
  u16(programHeaderSize, bits === 64 ? 0x36 : 0x2a);
  u16(programHeaders, bits === 64 ? 0x38 : 0x2c);
  // PT_LOAD first, then PT_INTERP when asked for, as linkers order them (roughly).
  u32(1, headerSize);
  if (options.interpreter !== undefined) {
    const at = headerSize + programHeaderSize;
    u32(3, at);
    word(interpreterOffset, bits === 64 ? at + 8 : at + 4);
    word(interpreter.length, bits === 64 ? at + 0x20 : at + 16);
  }
  interpreter.copy(image, interpreterOffset);
  return image;
}
