import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { architectureOfElfMachine, type Architecture } from '../layer/architectures.js';
import { elfMachineName, kernelElfRefusal, parseElf } from '../layer/elf.js';
import type { ErrorCode } from '../error-codes.js';
import { CliError } from '../errors.js';

/**
 * The checks Lambda's exec makes on a file it starts (a provided.al2023
 * bootstrap, an AWS_LAMBDA_EXEC_WRAPPER), made before the run so that the
 * error names the file and the fix instead of failing in the middle of Init.
 */

/** Bytes read from the head of a file: enough for the ELF and program headers of any real binary. */
const headBytes = 4096;

export interface ExecutableCheck {
  /** How messages name the file, such as `the bootstrap` or `AWS_LAMBDA_EXEC_WRAPPER`. */
  role: string;
  code: ErrorCode;
  /** The architecture the file must be built for when it is an ELF: this machine's. */
  architecture: Architecture | undefined;
  /** The error code for a binary built for another architecture. */
  architectureCode?: ErrorCode | undefined;
}

/** What a file's head says: its ELF architecture, or a problem that makes exec fail. */
export function inspectExecutableHead(
  head: Buffer,
  fileSize: number,
): { architecture?: Architecture | undefined; machine?: string | undefined; problem?: string | undefined } {
  if (head.length >= 4 && head[0] === 0x7f && head.toString('latin1', 1, 4) === 'ELF') {
    const refusal = kernelElfRefusal(head);
    if (refusal !== undefined) return { problem: refusal };
    let info;
    try {
      info = parseElf(head, fileSize);
    } catch (error) {
      return { problem: (error as Error).message };
    }
    if (info === undefined) return {};
    return { architecture: architectureOfElfMachine(info.machine), machine: elfMachineName(info.machine) };
  }
  if (head.toString('latin1', 0, 2) === '#!') {
    const firstLine = head.toString('latin1', 0, head.indexOf(0x0a) === -1 ? head.length : head.indexOf(0x0a));
    if (firstLine.endsWith('\r'))
      return { problem: 'its #! line ends in CRLF, so the kernel looks for an interpreter whose name ends in \\r' };
    return {};
  }
  return {};
}

/** Checks that `file` is a regular, executable file that this machine can exec. */
export async function checkExecutable(file: string, check: ExecutableCheck): Promise<void> {
  const fail = (problem: string, hint: string, code: ErrorCode = check.code) =>
    new CliError(`${check.role} ${file} ${problem}`, { code, hint });
  const stat = await fs.stat(file).catch(() => undefined);
  if (stat === undefined) throw fail('does not exist', 'check the path');
  if (!stat.isFile()) throw fail('is not a regular file', 'point it at the executable file itself');
  try {
    await fs.access(file, fsConstants.X_OK);
  } catch {
    throw fail('is not executable', `chmod +x ${path.basename(file)} (and keep the mode in the zip: ext pack does)`);
  }
  // Root may exec a file without any x bit set (access() says yes); Lambda's exec would not.
  if ((stat.mode & 0o111) === 0) {
    throw fail('has no exec bit (Lambda fails with permission denied)', `chmod +x ${path.basename(file)}`);
  }
  const handle = await fs.open(file, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(headBytes);
    const { bytesRead } = await handle.read(buffer, 0, headBytes, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const found = inspectExecutableHead(head, stat.size);
  if (found.problem !== undefined)
    throw fail(`cannot run: ${found.problem}`, 'rebuild it, or save the script with LF line endings');
  if (found.machine !== undefined && found.architecture !== check.architecture) {
    throw fail(
      `is built for ${found.architecture ?? found.machine}, but this machine runs ${check.architecture ?? 'neither x86_64 nor arm64'}`,
      check.architecture === undefined
        ? 'run ext dev --function on an x86_64 or arm64 machine'
        : `build the function for ${check.architecture} (Go: GOOS=linux GOARCH=${check.architecture === 'x86_64' ? 'amd64' : 'arm64'})`,
      check.architectureCode ?? check.code,
    );
  }
}
