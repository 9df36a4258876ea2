/**
 * Just enough ELF to answer the questions Lambda's loader will ask: which
 * machine, 64-bit little-endian, an executable type, and whether the kernel
 * must first load a dynamic linker (PT_INTERP), which is where glibc
 * mismatches come from.
 */

export const elfTypes = { relocatable: 1, executable: 2, sharedObject: 3, core: 4 } as const;

const elfTypeNames: Record<number, string> = {
  0: 'ET_NONE',
  1: 'ET_REL (object file)',
  2: 'ET_EXEC',
  3: 'ET_DYN',
  4: 'ET_CORE (core dump)',
};

const machineNames: Record<number, string> = {
  3: 'x86 (32-bit)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'S390',
  40: 'ARM (32-bit)',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
};

export interface ElfInfo {
  bits: 32 | 64;
  endianness: 'little' | 'big';
  type: number;
  machine: number;
  /** The PT_INTERP path (the dynamic linker), absent for static binaries. */
  interpreter?: string;
}

export function isElf(data: Buffer): boolean {
  return data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46;
}

export function elfMachineName(machine: number): string {
  return machineNames[machine] ?? `machine ${machine}`;
}

export function elfTypeName(type: number): string {
  return elfTypeNames[type] ?? `type ${type}`;
}

/**
 * Parses the ELF header and program headers. Returns undefined when the data
 * is not ELF; throws an Error naming the problem when it is ELF but damaged,
 * including a file shorter than its headers say (truncated: the kernel or the
 * loader refuses it). `data` may be only the first bytes of a file of
 * `fileSize` bytes: tables past it are checked against the size but not read.
 */
export function parseElf(data: Buffer, fileSize = data.length): ElfInfo | undefined {
  if (!isElf(data)) return undefined;
  if (fileSize < 52 || data.length < 52) throw new Error('the ELF header is truncated');
  const elfClass = data[4];
  const elfData = data[5];
  if (elfClass !== 1 && elfClass !== 2) throw new Error(`unknown ELF class ${elfClass}`);
  if (elfData !== 1 && elfData !== 2) throw new Error(`unknown ELF data encoding ${elfData}`);
  const bits = elfClass === 2 ? 64 : 32;
  const little = elfData === 1;
  const u16 = (offset: number): number => (little ? data.readUInt16LE(offset) : data.readUInt16BE(offset));
  const u32 = (offset: number): number => (little ? data.readUInt32LE(offset) : data.readUInt32BE(offset));
  const word = (offset: number): number => {
    if (bits === 32) return u32(offset);
    const value = little ? data.readBigUInt64LE(offset) : data.readBigUInt64BE(offset);
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  };
  if (bits === 64 && data.length < 64) throw new Error('the ELF header is truncated');
  const info: ElfInfo = { bits, endianness: little ? 'little' : 'big', type: u16(16), machine: u16(18) };

  const sectionHeaderOffset = bits === 64 ? word(0x28) : word(0x20);
  const sectionHeaderSize = u16(bits === 64 ? 0x3a : 0x2e);
  const sectionHeaderCount = u16(bits === 64 ? 0x3c : 0x30);
  if (sectionHeaderOffset !== 0 && sectionHeaderOffset + sectionHeaderSize * sectionHeaderCount > fileSize) {
    throw new Error(
      `the section headers lie beyond the end of the file (it has ${fileSize} bytes; truncated download or copy?)`,
    );
  }

  const programHeaderOffset = bits === 64 ? word(0x20) : word(0x1c);
  const programHeaderSize = u16(bits === 64 ? 0x36 : 0x2a);
  const programHeaderCount = u16(bits === 64 ? 0x38 : 0x2c);
  if (programHeaderCount === 0) return info;
  const minimumSize = bits === 64 ? 56 : 32;
  if (programHeaderSize < minimumSize) throw new Error(`program header size ${programHeaderSize} is too small`);
  if (programHeaderOffset + programHeaderSize * programHeaderCount > fileSize) {
    throw new Error('the program headers lie beyond the end of the file (truncated?)');
  }
  // Program headers sit right after the ELF header in every real binary; if
  // they lie past the bytes we were given, there is nothing more to learn.
  if (programHeaderOffset + programHeaderSize * programHeaderCount > data.length) return info;
  const PT_LOAD = 1;
  const PT_INTERP = 3;
  for (let index = 0; index < programHeaderCount; index++) {
    const header = programHeaderOffset + index * programHeaderSize;
    const type = u32(header);
    if (type !== PT_INTERP && type !== PT_LOAD) continue;
    const offset = bits === 64 ? word(header + 8) : word(header + 4);
    const size = bits === 64 ? word(header + 0x20) : word(header + 16);
    if (type === PT_LOAD) {
      if (offset + size > fileSize) {
        throw new Error(
          `a loadable segment ends at byte ${offset + size}, past the end of the ${fileSize}-byte file (truncated?)`,
        );
      }
      continue;
    }
    if (offset + size > fileSize) throw new Error('the PT_INTERP segment lies beyond the end of the file');
    if (info.interpreter === undefined && offset + size <= data.length) {
      info.interpreter = data.toString('latin1', offset, offset + size).replace(/\0.*$/s, '');
    }
  }
  return info;
}

/**
 * Why Linux's ELF loader (binfmt_elf) refuses to exec this file with ENOEXEC, or undefined: the checks it
 * makes before it maps anything. Lambda reports such a file as an exec format error; spawning it here
 * would not, as execvp (which libuv uses) hands a file the kernel refuses with ENOEXEC to /bin/sh.
 * Only the loader's own checks: a missing section table, which the loader never reads, is no refusal.
 * `data` is the file's head (the ELF header and, normally, the program headers).
 */
export function kernelElfRefusal(data: Buffer): string | undefined {
  if (!isElf(data)) return undefined;
  const elfClass = data[4];
  const elfData = data[5];
  if (elfClass !== 1 && elfClass !== 2) return `the ELF header is damaged: unknown class ${elfClass}`;
  if (elfData !== 1 && elfData !== 2) return `the ELF header is damaged: unknown data encoding ${elfData}`;
  const bits = elfClass === 2 ? 64 : 32;
  if (data.length < (bits === 64 ? 64 : 52)) return 'the ELF header is truncated';
  const little = elfData === 1;
  const u16 = (offset: number): number => (little ? data.readUInt16LE(offset) : data.readUInt16BE(offset));
  const u32 = (offset: number): number => (little ? data.readUInt32LE(offset) : data.readUInt32BE(offset));
  const word = (offset: number): number =>
    bits === 32 ? u32(offset) : Number(little ? data.readBigUInt64LE(offset) : data.readBigUInt64BE(offset));
  const type = u16(16);
  if (type !== elfTypes.executable && type !== elfTypes.sharedObject)
    return `the ELF file is a ${elfTypeName(type)}, not an executable`;
  const entrySize = bits === 64 ? 56 : 32;
  const programHeaderOffset = word(bits === 64 ? 0x20 : 0x1c);
  const programHeaderSize = u16(bits === 64 ? 0x36 : 0x2a);
  const programHeaderCount = u16(bits === 64 ? 0x38 : 0x2c);
  if (programHeaderSize !== entrySize)
    return `the ELF header is damaged: program header size ${programHeaderSize}, not ${entrySize}`;
  // The loader reads at most 64 KiB of program headers, and needs at least one.
  if (programHeaderCount < 1 || programHeaderCount * entrySize > 65536)
    return `the ELF header is damaged: ${programHeaderCount} program headers`;
  const PT_INTERP = 3;
  for (let index = 0; index < programHeaderCount; index++) {
    const header = programHeaderOffset + index * entrySize;
    if (header + entrySize > data.length) break;
    if (u32(header) !== PT_INTERP) continue;
    const size = word(bits === 64 ? header + 0x20 : header + 16);
    // An interpreter path of at least one character and its NUL, at most PATH_MAX.
    if (size < 2 || size > 4096) return `the ELF file is damaged: a ${size}-byte PT_INTERP`;
  }
  return undefined;
}
