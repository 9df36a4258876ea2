import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { elfMachine, hostArchitecture, type Architecture } from '../layer/index.js';

export interface StripOutcome {
  /** The stripper used, or undefined when none could strip this architecture (the binary is copied as is). */
  tool: string | undefined;
  bytesBefore: number;
  bytesAfter: number;
}

/** Directories of PATH, in order. */
function pathDirectories(environment: NodeJS.ProcessEnv): string[] {
  return (environment['PATH'] ?? '').split(path.delimiter).filter((entry) => entry !== '');
}

/**
 * Strippers to try for an architecture, best first: llvm-strip reads every
 * ELF machine, so it strips both; a GNU strip only its own (the host's, or a
 * cross binutils' aarch64-linux-gnu-strip).
 */
export function stripperCandidates(architecture: Architecture, environment: NodeJS.ProcessEnv = process.env): string[] {
  const found: string[] = [];
  const versioned: { file: string; major: number }[] = [];
  for (const directory of pathDirectories(environment)) {
    let names: string[];
    try {
      names = readdirSync(directory);
    } catch {
      continue;
    }
    for (const name of names) {
      const match = /^llvm-strip(?:-(\d+))?$/.exec(name);
      if (match !== null) versioned.push({ file: path.join(directory, name), major: Number(match[1] ?? 1e6) });
    }
  }
  // An unversioned llvm-strip first (the distribution's default), then the newest versioned one.
  versioned.sort((a, b) => b.major - a.major);
  found.push(...versioned.map((candidate) => candidate.file));
  const gnuNames =
    architecture === 'x86_64' ? ['x86_64-linux-gnu-strip'] : ['aarch64-linux-gnu-strip', 'aarch64-linux-strip'];
  if (hostArchitecture() === architecture && process.platform === 'linux') gnuNames.push('strip');
  for (const name of gnuNames) {
    for (const directory of pathDirectories(environment)) {
      const file = path.join(directory, name);
      if (existsSync(file)) {
        found.push(file);
        break;
      }
    }
  }
  return [...new Set(found)];
}

function run(command: string, args: string[], environment: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', env: environment });
    child.on('error', () => resolve(null));
    child.on('close', (code) => resolve(code));
  });
}

async function elfMachineOfFile(file: string): Promise<number | undefined> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(20);
    const { bytesRead } = await handle.read(header, 0, 20, 0);
    if (bytesRead < 20 || header.readUInt32BE(0) !== 0x7f454c46) return undefined;
    return header.readUInt16LE(18);
  } finally {
    await handle.close();
  }
}

/**
 * Writes a copy of `input` without its symbol tables to `output` (about 15%
 * of node's size). A result that is not an ELF for the same machine, or, on a
 * host that can run it, a node that no longer answers `--version`, is thrown
 * away and the next stripper tried; with none left the binary is copied whole.
 */
export async function stripBinary(
  input: string,
  output: string,
  architecture: Architecture,
  bytesBefore: number,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<StripOutcome> {
  for (const tool of stripperCandidates(architecture, environment)) {
    await rm(output, { force: true });
    const code = await run(tool, ['--strip-all', '-o', output, input], environment);
    if (code !== 0 || !existsSync(output)) continue;
    if ((await elfMachineOfFile(output)) !== elfMachine(architecture)) continue;
    if (hostArchitecture() === architecture && process.platform === 'linux') {
      if ((await run(output, ['--version'], environment)) !== 0) continue;
    }
    const { size } = await stat(output);
    return { tool: path.basename(tool), bytesBefore, bytesAfter: size };
  }
  await rm(output, { force: true });
  return { tool: undefined, bytesBefore, bytesAfter: bytesBefore };
}
