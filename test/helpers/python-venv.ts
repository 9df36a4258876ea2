import { execFile } from 'node:child_process';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { nodeCacheDirectory } from './node-versions.js';
import { scaled } from './time-scale.js';

const runFile = promisify(execFile);

/**
 * Installs pinned PyPI packages into a virtual environment under the tests'
 * cache folder (`<cache>/<name>`), once; later runs reuse it. The venv is
 * built in a temp folder and renamed into place, so an interrupted install is
 * never mistaken for a finished one. Run its tools as `python -m` or
 * `python -c`: console scripts keep the temp folder's path in their first
 * line, so they break once renamed. Returns the reason when Python is missing.
 */
export async function installPythonPackages(
  name: string,
  requirements: readonly string[],
): Promise<{ python: string } | { skip: string }> {
  const venvDirectory = path.join(nodeCacheDirectory(), name);
  const venvPython = path.join(venvDirectory, 'bin', 'python');
  if (await exists(path.join(venvDirectory, '.installed'))) return { python: venvPython };
  let python: string;
  try {
    python = (await runFile('python3', ['-c', 'import sys, venv; print(sys.executable)'])).stdout.trim();
  } catch {
    return { skip: `python3 (with venv) is not installed, so ${requirements.join(', ')} cannot run` };
  }
  await mkdir(nodeCacheDirectory(), { recursive: true });
  const staging = `${venvDirectory}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  try {
    await runFile(python, ['-m', 'venv', staging]);
    await runFile(
      path.join(staging, 'bin', 'python'),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...requirements],
      { maxBuffer: 16 * 1024 * 1024, timeout: scaled(540_000) },
    );
    await writeFile(path.join(staging, '.installed'), `${requirements.join('\n')}\n`);
    await rm(venvDirectory, { recursive: true, force: true });
    await rename(staging, venvDirectory);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { python: venvPython };
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
