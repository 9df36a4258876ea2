import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CancelledError, CliError, errorMessage } from '../errors.js';
import { temporaryTag, writeFileAtomic } from '../fs-utils.js';
import { awslambdaricPins, requirementsText } from './awslambdaric-pins.js';
import { pythonMinors } from './runtimes.js';

/**
 * python3.x functions run on AWS's own runtime interface client,
 * awslambdaric, as Lambda's container images run them:
 * `python3 -m awslambdaric <handler>`. It is installed once per Python
 * minor into the toolkit's cache, pinned to exact versions and sha256
 * hashes (awslambdaric-pins.ts), binary wheels only, with the python that
 * runs it.
 */

export interface PythonInterpreter {
  /** The interpreter itself (sys.executable), not a shim or a link on PATH. */
  executable: string;
  major: number;
  minor: number;
  /** `cpython`, `pypy`… */
  implementation: string;
  /** What found it: the --python path, or the name looked up on PATH. */
  foundAs: string;
}

/** What the interpreter says about itself, one answer per line. */
const probeScript =
  'import sys; print(sys.executable); print(sys.version_info[0]); print(sys.version_info[1]); print(sys.implementation.name)';

interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error | undefined;
}

/** Runs a program to its end, collecting its output; never throws for the program's own failure. */
export function runProcess(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs?: number; signal?: AbortSignal | undefined; cwd?: string },
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < 1_000_000) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 1_000_000) stderr += chunk;
    });
    child.on('error', (error) => resolve({ status: null, stdout, stderr, error }));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Asks a python about itself; undefined when it does not run or does not answer like a python. */
export async function probePython(
  candidate: string,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<PythonInterpreter | undefined> {
  const result = await runProcess(candidate, ['-c', probeScript], { env, timeoutMs: 30_000, signal });
  if (result.status !== 0) return undefined;
  const [executable, major, minor, implementation] = result.stdout.trim().split(/\r?\n/);
  if (
    executable === undefined ||
    implementation === undefined ||
    !/^\d+$/.test(major ?? '') ||
    !/^\d+$/.test(minor ?? '')
  )
    return undefined;
  return {
    executable: executable === '' ? candidate : executable,
    major: Number(major),
    minor: Number(minor),
    implementation,
    foundAs: candidate,
  };
}

export interface FindPythonOptions {
  /** `--python`. */
  pythonPath?: string | undefined;
  /** The runtime's minor: `python3.<minor>` on PATH is preferred to `python3`. */
  minor: number;
  /** Where PATH comes from; default process.env. */
  hostEnvironment?: NodeJS.ProcessEnv | undefined;
  signal?: AbortSignal | undefined;
}

/** The python that runs the function: --python, else python3.<minor> on PATH, else python3. */
export async function findPython(options: FindPythonOptions): Promise<PythonInterpreter> {
  const env = options.hostEnvironment ?? process.env;
  if (options.pythonPath !== undefined) {
    const given = path.resolve(options.pythonPath);
    const found = await probePython(given, env, options.signal);
    if (found === undefined)
      throw new CliError(`--python: ${given} is not a python interpreter that runs`, {
        code: 'E_FUNCTION_PYTHON_MISSING',
        exitCode: 2,
        hint: 'pass the path of a python3 binary, such as --python "$(command -v python3.13)"',
      });
    return { ...found, foundAs: given };
  }
  for (const name of [`python3.${options.minor}`, 'python3']) {
    const found = await probePython(name, env, options.signal);
    if (options.signal?.aborted === true) throw new CancelledError();
    if (found !== undefined) return found;
  }
  throw new CliError(`no python3 on PATH to run the python3.${options.minor} function with`, {
    code: 'E_FUNCTION_PYTHON_MISSING',
    hint: `install Python 3.${options.minor} (or any 3.9 to 3.14), or pass --python PATH`,
  });
}

/** The folder awslambdaric for this python lives in, inside the toolkit's cache. */
export function awslambdaricDirectory(cacheDirectory: string, version: string, minor: number): string {
  return path.join(cacheDirectory, `awslambdaric-${version}-cp3${minor}`);
}

const completeMarker = '.create-lambda-extension.json';

export interface InstallAwslambdaricOptions {
  python: PythonInterpreter;
  /** The toolkit's cache folder (standalone's cacheDirectory()). */
  cacheDirectory: string;
  /** Where pip's own settings (index, proxy) come from; default process.env. */
  hostEnvironment?: NodeJS.ProcessEnv | undefined;
  signal?: AbortSignal | undefined;
  /** Said once, when pip runs: it takes a few seconds and needs the network. */
  onProgress?: ((message: string) => void) | undefined;
}

/**
 * awslambdaric for this python, installed on first use: pip writes into a
 * temp folder beside the cache entry, which is renamed into place when
 * complete, so a cut install never looks installed.
 */
export async function installAwslambdaric(
  options: InstallAwslambdaricOptions,
): Promise<{ directory: string; version: string }> {
  const { python } = options;
  const pins = python.implementation === 'cpython' && python.major === 3 ? awslambdaricPins(python.minor) : undefined;
  if (pins === undefined) {
    throw new CliError(
      `${python.foundAs} is ${python.implementation} ${python.major}.${python.minor}; awslambdaric is pinned for CPython 3.${pythonMinors[0]} to 3.${pythonMinors[pythonMinors.length - 1]}`,
      { code: 'E_FUNCTION_PYTHON_UNSUPPORTED', hint: 'pass --python with a CPython 3.9 to 3.14 interpreter' },
    );
  }
  const version = pins[0]!.version;
  const directory = awslambdaricDirectory(options.cacheDirectory, version, python.minor);
  if (await isComplete(directory)) return { directory, version };
  await fs.mkdir(options.cacheDirectory, { recursive: true });
  const staging = `${directory}.tmp-${temporaryTag()}`;
  const requirements = `${staging}.requirements.txt`;
  options.onProgress?.(
    `installing awslambdaric ${version} for python ${python.major}.${python.minor} with pip into ${directory} (once)…`,
  );
  try {
    await writeFileAtomic(requirements, requirementsText(pins));
    const result = await runProcess(
      python.executable,
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        '--no-input',
        '--no-deps',
        '--only-binary=:all:',
        '--require-hashes',
        '--target',
        staging,
        '-r',
        requirements,
      ],
      { env: options.hostEnvironment ?? process.env, signal: options.signal },
    );
    // Ctrl-C: the install is cut, nothing is kept, and the run stops as cancelled.
    if (options.signal?.aborted === true) throw new CancelledError();
    if (result.status !== 0) throw pipError(python, version, result);
    await writeFileAtomic(
      path.join(staging, completeMarker),
      `${JSON.stringify({ awslambdaric: version, python: `${python.major}.${python.minor}`, pins }, null, 2)}\n`,
    );
    try {
      await fs.rename(staging, directory);
    } catch (error) {
      // Another run installed it meanwhile: theirs is as good as ours.
      if (!(await isComplete(directory))) throw error;
    }
    return { directory, version };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
    await fs.rm(requirements, { force: true });
  }
}

async function isComplete(directory: string): Promise<boolean> {
  const marker = await fs.stat(path.join(directory, completeMarker)).catch(() => undefined);
  const module = await fs.stat(path.join(directory, 'awslambdaric', '__main__.py')).catch(() => undefined);
  return marker?.isFile() === true && module?.isFile() === true;
}

function pipError(python: PythonInterpreter, version: string, result: ProcessResult): CliError {
  const output = `${result.stderr}\n${result.stdout}`;
  const noPip = /No module named pip/.test(output);
  const lastLine =
    output
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('['))
      .pop() ?? (result.error === undefined ? `exit code ${result.status}` : errorMessage(result.error));
  return new CliError(
    noPip
      ? `${python.executable} has no pip to install awslambdaric ${version} with`
      : `pip could not install awslambdaric ${version} for python ${python.major}.${python.minor}: ${lastLine}`,
    {
      code: 'E_FUNCTION_RIC_INSTALL_FAILED',
      hint: noPip
        ? `install pip for it (${python.executable} -m ensurepip --user), or pass --python with another interpreter`
        : "check the network and pip's settings (index URL, proxy); the install is tried again on the next run",
    },
  );
}
