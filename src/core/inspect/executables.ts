import path from 'node:path';
import { isExecutableEntry, platformName, unixMode, type ZipEntry } from '../zip/index.js';
import type { AddFinding } from './report.js';

/** Checks on what Lambda executes: exec bits, shebang lines and line endings, foreign binary formats. */

export function binaryFormatName(data: Buffer): string | undefined {
  if (data.length >= 4) {
    const magic = data.readUInt32BE(0);
    if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic)) return 'macOS Mach-O binary';
  }
  if (data.length >= 2 && data[0] === 0x4d && data[1] === 0x5a) return 'Windows executable (PE)';
  return undefined;
}

export interface ShebangInfo {
  interpreter?: string;
  /** The program the shebang runs, with /usr/bin/env resolved: "node", "sh", "bash"... */
  program?: string;
}

/** Shebang and line-ending checks shared by launchers and the scripts they run. */
export function checkScriptText(script: string, name: string, add: AddFinding): ShebangInfo {
  const lines = script.split('\n');
  const lineWithCarriageReturn = lines.findIndex((line) => line.includes('\r'));
  if (lineWithCarriageReturn !== -1) {
    const line = lines[lineWithCarriageReturn]!;
    const crlf = line.endsWith('\r');
    const shown = JSON.stringify(line.length > 40 ? `${line.slice(0, 37)}...` : line);
    const consequence =
      lineWithCarriageReturn === 0
        ? `the kernel looks for the interpreter with a trailing CR and the launch fails with "no such file or directory"`
        : 'the shell reads the CR as part of commands and arguments';
    add(
      'error',
      'carriage-return',
      `line ${lineWithCarriageReturn + 1} ${crlf ? 'ends with CRLF' : 'contains a CR'} (${shown}): ${consequence}; convert to LF (dos2unix, or "* text eol=lf" in .gitattributes)`,
      name,
    );
  }
  if (!script.startsWith('#!')) {
    add(
      'error',
      'missing-shebang',
      'the script does not start with "#!", so the kernel cannot run it directly (exec format error)',
      name,
    );
    return {};
  }
  const words = lines[0]!
    .slice(2)
    .replace(/\r$/, '')
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  const interpreter = words.join(' ');
  let program = words[0] === undefined ? undefined : path.posix.basename(words[0]);
  if (program === 'env') program = words.slice(1).find((word) => !word.startsWith('-'));
  if (words.length === 0) add('error', 'missing-shebang', 'the "#!" line names no interpreter', name);
  return { interpreter, ...(program === undefined ? {} : { program }) };
}

/** Reports an entry Lambda would start (or a launcher run directly) that has no execute bit. */
export function checkExecutable(entry: ZipEntry, consequence: string, add: AddFinding): void {
  const executable = isExecutableEntry(entry);
  if (executable === true) return;
  if (executable === undefined) {
    add(
      'error',
      'no-unix-permissions',
      `the zip was made by ${platformName(entry.platform)} and records no Unix permissions, so the file unpacks without the execute bit; ${consequence}. Re-zip on Linux or macOS (or with ext pack)`,
      entry.name,
    );
    return;
  }
  const mode = (unixMode(entry) ?? 0) & 0o7777;
  add(
    'error',
    'not-executable',
    `mode ${mode.toString(8).padStart(4, '0')} has no execute bit; ${consequence}. chmod 0755 it before zipping`,
    entry.name,
  );
}
