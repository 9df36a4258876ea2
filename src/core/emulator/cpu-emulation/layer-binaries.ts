import fs from 'node:fs/promises';
import path from 'node:path';
import { architectureFromFileName } from '../../layer/architecture-name.js';
import { architectureOfElfMachine, type Architecture } from '../../layer/architectures.js';
import { elfTypes, parseElf } from '../../layer/elf.js';
import { isExtensionPath } from '../../layer/extensions.js';

/** The ELF files of a layer directory: what decides its architecture and what emulation must start. */

export interface LayerBinary {
  /** Path inside the layer, with `/`. */
  name: string;
  file: string;
  machine: number;
  type: number;
  /** PT_INTERP: a dynamic executable, which needs the foreign architecture's libraries. */
  interpreter?: string;
  /** Any execute bit set. */
  executable: boolean;
  /** DF_1_PIE: an ET_DYN file without interpreter that is a (static-pie) program, not a library. */
  staticPie?: boolean;
}

/** Bytes read from each file: the ELF header and program headers of every real binary fit. */
const headBytes = 4096;
/** Lambda's unzipped limit bounds a layer; this bounds a directory given with --layer that is no layer at all. */
const maximumFiles = 20_000;

/** Every regular ELF file under the layer (symbolic links are not followed: their targets are listed themselves). */
export async function scanLayerBinaries(layerDirectory: string): Promise<LayerBinary[]> {
  const binaries: LayerBinary[] = [];
  let seen = 0;
  const walk = async (directory: string, relative: string): Promise<void> => {
    const entries = await fs.readdir(directory, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (seen >= maximumFiles) return;
      const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
      const file = path.join(directory, entry.name);
      if (entry.isDirectory()) {
        await walk(file, name);
        continue;
      }
      if (!entry.isFile()) continue;
      seen += 1;
      const binary = await readBinary(file, name).catch(() => undefined);
      if (binary !== undefined) binaries.push(binary);
    }
  };
  await walk(layerDirectory, '');
  return binaries;
}

async function readBinary(file: string, name: string): Promise<LayerBinary | undefined> {
  const handle = await fs.open(file, 'r');
  try {
    const stat = await handle.stat();
    const head = Buffer.alloc(Math.min(headBytes, stat.size));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    let elf;
    try {
      elf = parseElf(head.subarray(0, bytesRead), stat.size);
    } catch {
      return undefined;
    }
    if (elf === undefined) return undefined;
    const executable = (stat.mode & 0o111) !== 0;
    const maybeStaticPie = executable && elf.type === elfTypes.sharedObject && elf.interpreter === undefined;
    return {
      name,
      file,
      machine: elf.machine,
      type: elf.type,
      ...(elf.interpreter === undefined ? {} : { interpreter: elf.interpreter }),
      executable,
      ...(maybeStaticPie
        ? { staticPie: ((await readDynamicSection(file).catch(() => ({ flags1: 0 }))).flags1 & pieFlag) !== 0 }
        : {}),
    };
  } finally {
    await handle.close();
  }
}

/** A file Lambda starts: at the top of extensions/. */
export const isExtensionFile = (binary: LayerBinary): boolean => isExtensionPath(binary.name);

/**
 * Whether something may exec the file: an executable ELF that is a program,
 * not a shared library (libraries and Node addons are often mode 0755 too,
 * and the loader, not exec, opens them). A PIE program is ET_DYN like a
 * library: it has an interpreter, or (static-pie) the DF_1_PIE flag. glibc's
 * libc.so.6 has an interpreter too, so it can print its version: the name
 * tells it apart.
 */
export function isProgram(binary: LayerBinary): boolean {
  if (!binary.executable) return false;
  if (binary.type === elfTypes.executable) return true;
  if (binary.type !== elfTypes.sharedObject) return false;
  if (binary.staticPie === true) return true;
  return binary.interpreter !== undefined && !/\.so(\.[0-9.]+)?$/.test(path.posix.basename(binary.name));
}

export interface DetectedArchitecture {
  architecture: Architecture;
  source: 'ELF header' | 'file name';
}

/**
 * The layer's architecture as `ext inspect` reads it, except that the ELF
 * files come first: they are what runs, the name is only what someone called
 * the zip. The extensions decide before the other files.
 */
export function layerArchitecture(
  binaries: readonly LayerBinary[],
  shownName: string,
): DetectedArchitecture | undefined {
  const ordered = [...binaries].sort((a, b) => Number(!isExtensionFile(a)) - Number(!isExtensionFile(b)));
  for (const binary of ordered) {
    const architecture = architectureOfElfMachine(binary.machine);
    if (architecture !== undefined) return { architecture, source: 'ELF header' };
  }
  const fromName = architectureFromFileName(shownName);
  return fromName === undefined ? undefined : { architecture: fromName, source: 'file name' };
}

/** DT_FLAGS_1's DF_1_PIE. */
const pieFlag = 0x08000000;

/** DT_NEEDED of a dynamic ELF file: the libraries the loader must find. */
export async function neededLibraries(file: string): Promise<string[]> {
  return (await readDynamicSection(file)).needed;
}

/**
 * The dynamic section of an ELF file (64-bit little-endian, what Lambda
 * runs): DT_NEEDED and DT_FLAGS_1. Reads the program headers, the dynamic
 * segment and the string table only, not the whole (often 100 MB) file.
 */
async function readDynamicSection(file: string): Promise<{ needed: string[]; flags1: number }> {
  const none = { needed: [], flags1: 0 };
  const handle = await fs.open(file, 'r');
  const read = async (position: number, length: number): Promise<Buffer> => {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  };
  try {
    const header = await read(0, 64);
    if (header.length < 64 || header[4] !== 2 || header[5] !== 1) return none;
    const programOffset = Number(header.readBigUInt64LE(0x20));
    const programSize = header.readUInt16LE(0x36);
    const programCount = header.readUInt16LE(0x38);
    if (programSize < 56 || programCount > 256) return none;
    const programs = await read(programOffset, programSize * programCount);
    const loads: { virtual: number; offset: number; size: number }[] = [];
    let dynamic: { offset: number; size: number } | undefined;
    for (let index = 0; index < programCount; index += 1) {
      const at = index * programSize;
      if (at + 56 > programs.length) break;
      const type = programs.readUInt32LE(at);
      const offset = Number(programs.readBigUInt64LE(at + 8));
      const virtual = Number(programs.readBigUInt64LE(at + 16));
      const size = Number(programs.readBigUInt64LE(at + 32));
      if (type === 1) loads.push({ virtual, offset, size });
      if (type === 2) dynamic = { offset, size };
    }
    if (dynamic === undefined || dynamic.size > 1024 * 1024) return none;
    const entries = await read(dynamic.offset, dynamic.size);
    const needed: number[] = [];
    let flags1 = 0;
    let stringTable: number | undefined;
    let stringTableSize = 0;
    for (let at = 0; at + 16 <= entries.length; at += 16) {
      const tag = Number(entries.readBigInt64LE(at));
      const value = Number(entries.readBigUInt64LE(at + 8));
      if (tag === 0) break;
      if (tag === 1) needed.push(value);
      if (tag === 5) stringTable = value;
      if (tag === 10) stringTableSize = value;
      if (tag === 0x6ffffffb) flags1 = value;
    }
    if (stringTable === undefined || stringTableSize === 0 || stringTableSize > 16 * 1024 * 1024) {
      return { needed: [], flags1 };
    }
    const segment = loads.find((load) => stringTable >= load.virtual && stringTable < load.virtual + load.size);
    if (segment === undefined) return { needed: [], flags1 };
    const strings = await read(segment.offset + (stringTable - segment.virtual), stringTableSize);
    const names = needed
      .filter((offset) => offset < strings.length)
      .map((offset) => {
        const end = strings.indexOf(0, offset);
        return strings.toString('latin1', offset, end === -1 ? strings.length : end);
      });
    return { needed: names, flags1 };
  } finally {
    await handle.close();
  }
}
