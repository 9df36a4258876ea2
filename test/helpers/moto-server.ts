import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * moto's server mode: a real implementation of the Lambda layer and S3 APIs,
 * on loopback, with no Docker. Pinned, so that a moto release cannot change
 * what the tests see.
 */
export const motoVersion = '5.2.5';

const runFile = promisify(execFile);

const cacheRoot = path.join(
  process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'),
  'create-lambda-extension-tests',
);
const venvDirectory = path.join(cacheRoot, `moto-${motoVersion}`);
const venvPython = path.join(venvDirectory, 'bin', 'python');

/**
 * Installs moto into a virtual environment under ~/.cache, once; later runs
 * reuse it. The venv is built in a temp folder and renamed into place, so an
 * interrupted install is never mistaken for a finished one (moto is run as
 * `python -m moto.server`, which works from a renamed venv, unlike its
 * console scripts). Returns the reason when it cannot be had.
 */
export async function installMoto(): Promise<{ python: string } | { skip: string }> {
  if (await exists(path.join(venvDirectory, '.installed'))) return { python: venvPython };
  let python: string;
  try {
    python = (await runFile('python3', ['-c', 'import sys, venv; print(sys.executable)'])).stdout.trim();
  } catch {
    return { skip: 'python3 (with venv) is not installed, so moto cannot run' };
  }
  await mkdir(cacheRoot, { recursive: true });
  const staging = `${venvDirectory}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  try {
    await runFile(python, ['-m', 'venv', staging]);
    await runFile(
      path.join(staging, 'bin', 'python'),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `moto[server]==${motoVersion}`],
      { maxBuffer: 16 * 1024 * 1024, timeout: 540_000 },
    );
    await writeFile(path.join(staging, '.installed'), `moto[server]==${motoVersion}\n`);
    await rm(venvDirectory, { recursive: true, force: true });
    await rename(staging, venvDirectory);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { python: venvPython };
}

export interface MotoServer {
  endpoint: string;
  reset: () => Promise<void>;
  stop: () => Promise<void>;
}

export async function startMoto(python: string): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-4000)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto exited with ${child.exitCode}: ${output}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/data.json`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto did not answer on ${endpoint} within 60 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoint,
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Dummy credentials and no profile: nothing from this machine's AWS setup reaches the tests. */
export const motoEnvironment: NodeJS.ProcessEnv = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_SESSION_TOKEN: 'testing',
  AWS_REGION: 'us-east-1',
  AWS_CONFIG_FILE: path.join(os.tmpdir(), 'no-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: path.join(os.tmpdir(), 'no-aws-credentials'),
  AWS_PROFILE: undefined,
  // The SDK's notice that its 2027 releases need Node 22 is not what these tests look at.
  NODE_NO_WARNINGS: '1',
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject()));
    });
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
