import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { nodeCacheDirectory } from './node-versions.js';

/**
 * `go install module@version` from the Go module proxy into `<cache>/<name>/`,
 * once; later runs reuse the binary. Built in a temp folder and renamed into
 * place, so a concurrent or interrupted install never leaves half a cache
 * entry. Returns the binary, or one line saying why it cannot be had (no go);
 * a failed install throws with go's output.
 */
export async function goInstall(
  modulePath: string,
  version: string,
  name: string,
): Promise<{ binary: string } | { skip: string }> {
  const directory = path.join(nodeCacheDirectory(), name);
  const binary = path.join(directory, path.basename(modulePath));
  if (existsSync(binary)) return { binary };
  const go = spawnSync('go', ['version'], { stdio: 'ignore' });
  if (go.error !== undefined || go.status !== 0) {
    return { skip: `go is not on PATH, so ${path.basename(modulePath)} cannot be installed` };
  }
  await mkdir(nodeCacheDirectory(), { recursive: true });
  const staging = await mkdtemp(path.join(nodeCacheDirectory(), `.${name}-`));
  const installed = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('go', ['install', `${modulePath}@${version}`], {
      env: { ...process.env, GOBIN: staging, CGO_ENABLED: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
  if (installed.code !== 0) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(`go install ${modulePath}@${version} failed:\n${installed.output}`);
  }
  await rename(staging, directory).catch(async () => rm(staging, { recursive: true, force: true }));
  return { binary };
}
