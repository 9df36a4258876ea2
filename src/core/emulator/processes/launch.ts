import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  architectureOfElfMachine,
  elfMachine,
  hostArchitecture,
  type Architecture,
} from '../../layer/architectures.js';
import { kernelElfRefusal } from '../../layer/elf.js';
import type { ExtensionFile } from '../../layer/extensions.js';

/**
 * Starting extension processes the way Lambda does: the files the layer
 * contract lists (core/layer/extensions.ts), in parallel, with the extension
 * environment of docs/reference/extensions-api.md §4.
 */

export { listExtensionFiles, type ExtensionFile } from '../../layer/extensions.js';

/**
 * Predicts a launch failure before exec, so the message names the cause
 * Lambda would hit: missing exec bit, CRLF shebang, missing interpreter,
 * wrong-architecture ELF, or a file that is neither ELF nor script. A
 * wrong-arch ELF could even run here through binfmt/qemu, but never on Lambda.
 * `functionArchitecture` is the host's, or the emulated one under CPU emulation.
 */
export async function launchProblem(
  file: string,
  functionArchitecture: Architecture | undefined = hostArchitecture(),
): Promise<string | undefined> {
  try {
    await fs.access(file, fsConstants.X_OK);
  } catch {
    return `fork/exec ${file}: permission denied (the file is not executable; chmod 755 it and keep the mode in the zip)`;
  }
  const handle = await fs.open(file, 'r');
  // Enough for the ELF header and its program headers (the kernel reads those before it execs anything).
  const head = Buffer.alloc(4096);
  let length: number;
  try {
    ({ bytesRead: length } = await handle.read(head, 0, head.length, 0));
  } finally {
    await handle.close();
  }
  const bytes = head.subarray(0, length);
  if (bytes.length >= 20 && bytes[0] === 0x7f && bytes.toString('latin1', 1, 4) === 'ELF') {
    const littleEndian = bytes[5] === 1;
    const machine = littleEndian ? bytes.readUInt16LE(18) : bytes.readUInt16BE(18);
    const host = functionArchitecture;
    if (host !== undefined && machine !== elfMachine(host)) {
      const architecture = architectureOfElfMachine(machine) ?? `e_machine ${machine}`;
      return `fork/exec ${file}: exec format error (the binary is built for ${architecture}, the function runs ${host})`;
    }
    // The kernel refuses it with ENOEXEC, and execvp would then hand it to /bin/sh: Lambda does not.
    const refusal = kernelElfRefusal(bytes);
    if (refusal !== undefined) return `fork/exec ${file}: exec format error (${refusal})`;
    return undefined;
  }
  if (bytes.toString('latin1', 0, 2) === '#!') {
    const newline = bytes.indexOf(0x0a);
    const line = bytes.toString('latin1', 2, newline === -1 ? bytes.length : newline);
    // The kernel splits the line at the first space or tab only, and a carriage return is not one: with
    // CRLF endings the \r sticks to the last word. On the interpreter it cannot be found (a launch
    // error); on an argument the interpreter starts and fails on it (a crash, which Lambda reports).
    const words = line.replace(/^[ \t]+/u, '').split(/[ \t]+/u);
    if (words.length === 1 && line.endsWith('\r')) {
      return `fork/exec ${file}: no such file or directory (bad interpreter "${line.trim()}^M": the script has CRLF line endings; convert it to LF)`;
    }
    const interpreter = words[0] ?? '';
    if (interpreter === '' || !path.isAbsolute(interpreter)) {
      return `fork/exec ${file}: exec format error (the shebang "#!${line.trim()}" has no absolute interpreter path)`;
    }
    try {
      await fs.access(interpreter, fsConstants.X_OK);
    } catch {
      return `fork/exec ${file}: no such file or directory (interpreter ${interpreter} does not exist)`;
    }
    return undefined;
  }
  return `fork/exec ${file}: exec format error (neither an ELF binary nor a script with a #! line)`;
}

/** Variables that belong to the runtime process only (docs/reference/extensions-api.md §4). */
const runtimeOnlyVariables = new Set([
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_XRAY_CONTEXT_MISSING',
  'AWS_XRAY_DAEMON_ADDRESS',
  'LAMBDA_RUNTIME_DIR',
  'LAMBDA_TASK_ROOT',
  '_AWS_XRAY_DAEMON_ADDRESS',
  '_AWS_XRAY_DAEMON_PORT',
  '_HANDLER',
]);

export interface EnvironmentSettings {
  layerDirectory: string;
  runtimeApi: string;
  functionName: string;
  memorySizeMB: number;
  region: string;
  functionEnv: Record<string, string>;
  /** Set for Lambda Managed Instances: the invokes one environment serves at once. */
  maxConcurrency?: number | undefined;
  /** A standalone layer: PATH gets no folder that holds a node, to prove the layer needs none. */
  withoutNode?: boolean | undefined;
}

/**
 * The extension environment. The host's environment is deliberately not
 * inherited, so an extension that silently relies on it fails here as it
 * would on Lambda. PATH mirrors Lambda's, with the layer's bin (Lambda's
 * /opt/bin) and the directory of the node running us (the nodejs runtimes
 * provide `node` on PATH) in front.
 */
export function extensionEnvironment(settings: EnvironmentSettings): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings.functionEnv)) {
    // RIE also drops every key that starts with "_".
    if (runtimeOnlyVariables.has(key) || key.startsWith('_')) continue;
    environment[key] = value;
  }
  const nodeDirectory = path.dirname(process.execPath);
  const allEntries = [path.join(settings.layerDirectory, 'bin'), nodeDirectory, '/usr/local/bin', '/usr/bin', '/bin'];
  const pathEntries = settings.withoutNode === true ? pathWithoutNode(allEntries).kept : allEntries;
  return {
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    LD_LIBRARY_PATH: [path.join(settings.layerDirectory, 'lib'), '/lib64', '/usr/lib64'].join(':'),
    ...environment,
    PATH: [...new Set(pathEntries)].join(':'),
    AWS_LAMBDA_RUNTIME_API: settings.runtimeApi,
    AWS_LAMBDA_FUNCTION_NAME: settings.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(settings.memorySizeMB),
    AWS_LAMBDA_INITIALIZATION_TYPE: settings.maxConcurrency === undefined ? 'on-demand' : 'lambda-managed-instances',
    AWS_REGION: settings.region,
    AWS_DEFAULT_REGION: settings.region,
    // Runtimes detect Managed Instances by this variable. RIE's LMI mode sets it for the runtime only
    // (rapidcore/env/environment.go); extensions get it here too, so an extension written to register
    // SHUTDOWN only when it is set can be tried in this mode. AWS_LAMBDA_INITIALIZATION_TYPE is what
    // extensions see on RIE.
    ...(settings.maxConcurrency === undefined ? {} : { AWS_LAMBDA_MAX_CONCURRENCY: String(settings.maxConcurrency) }),
  };
}

/** PATH folders split into those without a `node` and those with one (left out for standalone layers). */
export function pathWithoutNode(entries: readonly string[]): { kept: string[]; dropped: string[] } {
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const entry of entries) {
    if (existsSync(path.join(entry, 'node')) || entry === path.dirname(process.execPath)) dropped.push(entry);
    else kept.push(entry);
  }
  return { kept, dropped };
}

/**
 * Whether the layer carries its own node: some extension has the bundled
 * binary `ext build --standalone` puts at <name>/bin/node, and no other
 * extension is a script that may want node from PATH (ELF files need none).
 */
export async function bundlesItsOwnNode(layerDirectory: string, files: readonly ExtensionFile[]): Promise<boolean> {
  let standalone = false;
  for (const file of files) {
    if (existsSync(path.join(layerDirectory, file.name, 'bin', 'node'))) {
      standalone = true;
      continue;
    }
    const head = await readHead(file.file);
    if (head.subarray(0, 4).toString('latin1') !== '\x7fELF') return false;
  }
  return standalone;
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await fs.open(file, 'r').catch(() => undefined);
  if (handle === undefined) return Buffer.alloc(0);
  try {
    const buffer = Buffer.alloc(4);
    const { bytesRead } = await handle.read(buffer, 0, 4, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Spawns one extension. Resolves once the process has started or failed to
 * start; a spawn error (EACCES, ENOENT, ENOEXEC) is returned as a message.
 */
export function startExtension(
  file: string,
  environment: Record<string, string>,
  through?: { command: string; args: string[] },
  contain: (start: () => ChildProcess) => ChildProcess = (start) => start(),
): Promise<{ child: ChildProcess } | { error: string }> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      // cwd "/" as on Lambda: an extension must not depend on where it was started from. `through`: an
      // emulator that runs the file (qemu-aarch64 -0 <file> <file>).
      // `contain`: the run's containment (a cgroup) must hold the child from its fork on.
      child = contain(() =>
        spawn(through?.command ?? file, through?.args ?? [], {
          cwd: '/',
          env: environment,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        }),
      );
    } catch (error) {
      resolve({ error: describeSpawnError(file, error as NodeJS.ErrnoException) });
      return;
    }
    child.once('spawn', () => resolve({ child }));
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ error: describeSpawnError(file, error) }));
  });
}

export function describeSpawnError(file: string, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EACCES':
      return `fork/exec ${file}: permission denied`;
    case 'ENOENT':
      return `fork/exec ${file}: no such file or directory (is the #! interpreter missing?)`;
    case 'ENOEXEC':
      return `fork/exec ${file}: exec format error`;
    default:
      return `fork/exec ${file}: ${error.message}`;
  }
}

/**
 * Peak resident memory of the given processes in MB (Linux /proc; 0 elsewhere).
 * Read synchronously: /proc is in memory, and every invoke's END waits for
 * this, so four thread-pool round trips per process would slow every invoke.
 */
export function peakMemoryMB(pids: number[]): number {
  let kilobytes = 0;
  for (const pid of pids) {
    let status = '';
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      // Gone, or no /proc here: it adds nothing.
    }
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    if (match) kilobytes += Number(match[1]);
  }
  return Math.ceil(kilobytes / 1024);
}
