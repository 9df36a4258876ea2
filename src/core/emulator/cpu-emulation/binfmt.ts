import fs from 'node:fs/promises';
import path from 'node:path';
import { elfMachine, type Architecture } from '../../layer/architectures.js';

/**
 * binfmt_misc: the kernel's table of "run files that look like this through
 * that interpreter". Debian's qemu-user-binfmt (and `docker run --privileged
 * tonistiigi/binfmt --install arm64`) register qemu there, after which a
 * foreign ELF file runs like a native one, whoever execs it.
 */

export const binfmtDirectory = '/proc/sys/fs/binfmt_misc';

export interface BinfmtHandler {
  name: string;
  enabled: boolean;
  interpreter: string;
  flags: string;
  /** Magic handlers only; extension handlers (type E) never match an extension file. */
  offset: number;
  magic: Buffer;
  mask: Buffer;
}

/** One entry file of binfmt_misc (`enabled`, `interpreter …`, `flags: …`, `offset …`, `magic …`, `mask …`). */
export function parseBinfmtHandler(name: string, text: string): BinfmtHandler | undefined {
  const lines = text.split('\n').map((line) => line.trim());
  const value = (key: string): string | undefined =>
    lines
      .find((line) => line.startsWith(`${key} `) || line.startsWith(`${key}:`))
      ?.slice(key.length + 1)
      .trim();
  const interpreter = value('interpreter');
  const magic = value('magic');
  if (interpreter === undefined || magic === undefined || !/^([0-9a-f]{2})+$/i.test(magic)) return undefined;
  const magicBytes = Buffer.from(magic, 'hex');
  const mask = value('mask');
  const maskBytes =
    mask !== undefined && /^([0-9a-f]{2})+$/i.test(mask)
      ? Buffer.from(mask, 'hex')
      : Buffer.alloc(magicBytes.length, 0xff);
  return {
    name,
    enabled: lines[0] === 'enabled',
    interpreter,
    flags: value('flags') ?? '',
    offset: Number(value('offset') ?? 0) || 0,
    magic: magicBytes,
    mask: maskBytes,
  };
}

/** The registered handlers; none when binfmt_misc is not mounted or is disabled as a whole. */
export async function readBinfmtHandlers(directory = binfmtDirectory): Promise<BinfmtHandler[]> {
  const status = await fs.readFile(path.join(directory, 'status'), 'utf8').catch(() => '');
  if (status.trim() !== 'enabled') return [];
  const names = await fs.readdir(directory).catch(() => []);
  const handlers: BinfmtHandler[] = [];
  for (const name of names) {
    if (name === 'status' || name === 'register') continue;
    const text = await fs.readFile(path.join(directory, name), 'utf8').catch(() => undefined);
    const handler = text === undefined ? undefined : parseBinfmtHandler(name, text);
    if (handler !== undefined) handlers.push(handler);
  }
  return handlers;
}

/** The first 20 bytes of a 64-bit little-endian Linux ELF header of the given type and machine. */
function sampleElfHeader(architecture: Architecture, type: number): Buffer {
  const header = Buffer.alloc(64);
  header.write('\x7fELF', 0, 'latin1');
  header[4] = 2;
  header[5] = 1;
  header[6] = 1;
  header.writeUInt16LE(type, 16);
  header.writeUInt16LE(elfMachine(architecture), 18);
  return header;
}

function matches(handler: BinfmtHandler, data: Buffer): boolean {
  if (handler.offset + handler.magic.length > data.length) return false;
  for (let index = 0; index < handler.magic.length; index += 1) {
    const mask = handler.mask[index] ?? 0xff;
    if ((data[handler.offset + index]! & mask) !== (handler.magic[index]! & mask)) return false;
  }
  return true;
}

/**
 * The enabled handler that runs both static (ET_EXEC) and position-independent
 * (ET_DYN) executables of `architecture`, if one is registered.
 */
export function binfmtHandlerFor(
  handlers: readonly BinfmtHandler[],
  architecture: Architecture,
): BinfmtHandler | undefined {
  const samples = [sampleElfHeader(architecture, 2), sampleElfHeader(architecture, 3)];
  return handlers.find((handler) => handler.enabled && samples.every((sample) => matches(handler, sample)));
}
