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
 * is not ELF; throws an Error naming the problem when it is ELF but damaged.
 */
export function parseElf(data: Buffer): ElfInfo | undefined {
  if (!isElf(data)) return undefined;
  if (data.length < 52) throw new Error('the ELF header is truncated');
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

  const programHeaderOffset = bits === 64 ? word(0x20) : word(0x1c);
  const programHeaderSize = u16(bits === 64 ? 0x36 : 0x2a);
  const programHeaderCount = u16(bits === 64 ? 0x38 : 0x2c);
  if (programHeaderCount === 0) return info;
  const minimumSize = bits === 64 ? 56 : 32;
  if (programHeaderSize < minimumSize) throw new Error(`program header size ${programHeaderSize} is too small`);
  if (programHeaderOffset + programHeaderSize * programHeaderCount > data.length) {
    throw new Error('the program headers lie beyond the end of the file (truncated?)');
  }
  for (let index = 0; index < programHeaderCount; index++) {
    const header = programHeaderOffset + index * programHeaderSize;
    const PT_INTERP = 3;
    if (u32(header) !== PT_INTERP) continue;
    const offset = bits === 64 ? word(header + 8) : word(header + 4);
    const size = bits === 64 ? word(header + 0x20) : word(header + 16);
    if (offset + size > data.length) throw new Error('the PT_INTERP segment lies beyond the end of the file');
    info.interpreter = data.toString('latin1', offset, offset + size).replace(/\0.*$/s, '');
    break;
  }
  return info;
}
