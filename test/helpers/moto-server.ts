import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { installPythonPackages } from './python-venv.js';
import { scaled } from './time-scale.js';

/**
 * moto's server mode: a real implementation of the Lambda layer and S3 APIs,
 * on loopback, with no Docker. Pinned, so that a moto release cannot change
 * what the tests see.
 */
export const motoVersion = '5.2.5';

/**
 * Installs moto into a virtual environment under the tests' cache, once
 * (see installPythonPackages). moto is run as `python -m moto.server`.
 * Returns the reason when it cannot be had.
 */
export function installMoto(): Promise<{ python: string } | { skip: string }> {
  return installPythonPackages(`moto-${motoVersion}`, [`moto[server]==${motoVersion}`]);
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
  const deadline = Date.now() + scaled(60_000);
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
