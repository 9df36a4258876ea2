import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliError, errorMessage } from '../errors.js';

/**
 * Where a generated project's `devDependencies.create-lambda-extension`
 * should point. From the registry, a caret range on our version. Anywhere
 * else (a checkout, or a tarball installed by path), the registry may not
 * have this version at all, and `npm install` then fails with E404, after
 * which `npx ext` fetches an unrelated package named `ext`. An absolute
 * `file:` path would work only on the machine that scaffolded the project,
 * not in its CI nor on a colleague's clone. So the project carries the exact
 * package that scaffolded it, as a tarball in vendor/, and points there.
 */
export interface ToolkitSource {
  /** The value for package.json's devDependencies. */
  dependency: string;
  /** Where that came from, for the generated README and the CLI's summary. */
  origin: 'registry' | 'checkout' | 'tarball' | 'directory';
  /** Not from the registry: what goes into the project's vendor/ folder. */
  vendor?: VendoredToolkit;
}

export interface VendoredToolkit {
  /** The project-relative path of the tarball, `vendor/create-lambda-extension-<version>.tgz`. */
  path: string;
  /** The tarball that was installed, copied byte for byte while it still exists. */
  tarball?: string;
  /** Else the package folder, packed with `npm pack`. */
  packageDirectory: string;
}

export const vendorFolder = 'vendor';

function vendored(
  toolkitRoot: string,
  version: string,
  origin: ToolkitSource['origin'],
  tarball?: string,
): ToolkitSource {
  const relative = `${vendorFolder}/create-lambda-extension-${version}.tgz`;
  return {
    dependency: `file:./${relative}`,
    origin,
    vendor: { path: relative, packageDirectory: toolkitRoot, ...(tarball === undefined ? {} : { tarball }) },
  };
}

interface LockFile {
  packages?: Record<string, { resolved?: string; version?: string } | undefined>;
}

export async function findToolkitSource(toolkitRoot: string, version: string): Promise<ToolkitSource> {
  const registry: ToolkitSource = { dependency: `^${version}`, origin: 'registry' };
  const installed = installationOf(toolkitRoot);
  if (installed === undefined) {
    // Not inside node_modules: a checkout (or an unpacked copy) run directly.
    return vendored(toolkitRoot, version, existsSync(path.join(toolkitRoot, '.git')) ? 'checkout' : 'directory');
  }
  const lock = await readLockFile(installed.projectDirectory);
  const entry = lock?.packages?.[installed.lockKey];
  const resolved = entry?.resolved;
  if (resolved === undefined) return registry;
  if (resolved.startsWith('file:')) {
    const target = path.resolve(installed.projectDirectory, resolved.slice('file:'.length));
    return /\.(tgz|tar\.gz|tar)$/u.test(target) && existsSync(target)
      ? vendored(toolkitRoot, version, 'tarball', target)
      : vendored(toolkitRoot, version, /\.(tgz|tar\.gz|tar)$/u.test(target) ? 'tarball' : 'directory');
  }
  return registry;
}

/**
 * For .../node_modules/create-lambda-extension (or a scoped or nested one),
 * the folder holding that node_modules, and the key npm's lock file uses.
 */
function installationOf(toolkitRoot: string): { projectDirectory: string; lockKey: string } | undefined {
  const parts = toolkitRoot.split(path.sep);
  // The outermost node_modules names the installing project; nested ones are part of the lock key.
  const first = parts.indexOf('node_modules');
  if (first < 0) return undefined;
  return {
    projectDirectory: parts.slice(0, first).join(path.sep) || path.sep,
    lockKey: parts.slice(first).join('/'),
  };
}

async function readLockFile(projectDirectory: string): Promise<LockFile | undefined> {
  for (const name of ['package-lock.json', path.join('node_modules', '.package-lock.json')]) {
    try {
      return JSON.parse(await readFile(path.join(projectDirectory, name), 'utf8')) as LockFile;
    } catch {
      // Missing or unreadable: try the next, then assume the registry.
    }
  }
  return undefined;
}

/**
 * Writes the vendored toolkit tarball into `projectDirectory`: a copy of the
 * installed tarball, or else `npm pack` of the package folder. A checkout's
 * pack is kept in its build/ folder and reused while nothing it holds is
 * newer, so only the first project after a build waits for npm.
 */
export async function writeVendoredToolkit(vendor: VendoredToolkit, projectDirectory: string): Promise<void> {
  const target = path.join(projectDirectory, ...vendor.path.split('/'));
  await mkdir(path.dirname(target), { recursive: true });
  if (vendor.tarball !== undefined && existsSync(vendor.tarball)) {
    await copyFile(vendor.tarball, target);
    return;
  }
  const cacheFolder = path.join(vendor.packageDirectory, 'build', 'vendor');
  const cached = path.join(cacheFolder, path.basename(target));
  const cachedAt = await stat(cached).then(
    (stats) => stats.mtimeMs,
    () => -1,
  );
  if (cachedAt > (await newestPackedFile(vendor.packageDirectory))) {
    await copyFile(cached, target);
    return;
  }
  // A read-only install cannot keep the pack: it goes to a private temporary folder instead.
  const keepsPack = await mkdir(cacheFolder, { recursive: true }).then(
    () => true,
    () => false,
  );
  const scratch = await mkdtemp(
    keepsPack ? path.join(cacheFolder, '.pack-') : path.join(os.tmpdir(), 'create-lambda-extension-pack-'),
  ).catch(() => mkdtemp(path.join(os.tmpdir(), 'create-lambda-extension-pack-')));
  try {
    let packed = await npmPack(vendor.packageDirectory, scratch);
    if (path.dirname(scratch) === cacheFolder) {
      await rename(packed, cached);
      packed = cached;
    }
    await copyFile(packed, target);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function npmPack(packageDirectory: string, destination: string): Promise<string> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  // --ignore-scripts: the package is already built; prepack would rebuild a checkout for minutes.
  const { stdout } = await promisify(execFile)(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--loglevel=error', '--pack-destination', destination],
    { cwd: packageDirectory, timeout: 300_000, maxBuffer: 16 * 1024 * 1024, shell: process.platform === 'win32' },
  ).catch((error: unknown) => {
    throw new CliError(
      `cannot pack the toolkit in ${packageDirectory} for the project's vendor/ folder: ${errorMessage(error).split('\n')[0]}`,
      {
        code: 'E_CREATE_TOOLKIT_PACK_FAILED',
        hint: 'run npm pack there and create the project from that tarball (see the README)',
      },
    );
  });
  const [details] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [{ filename: string }];
  return path.join(destination, details.filename);
}

/** The newest modification time among what `npm pack` takes (package.json's `files`, and package.json). */
async function newestPackedFile(packageDirectory: string): Promise<number> {
  const manifest = JSON.parse(await readFile(path.join(packageDirectory, 'package.json'), 'utf8')) as {
    files?: string[];
  };
  const roots = [
    'package.json',
    'README.md',
    'LICENSE',
    ...(manifest.files ?? []).filter((entry) => !entry.startsWith('!')),
  ];
  let newest = 0;
  const visit = async (entry: string): Promise<void> => {
    const stats = await stat(entry).catch(() => undefined);
    if (stats === undefined) return;
    newest = Math.max(newest, stats.mtimeMs);
    if (stats.isDirectory()) await Promise.all((await readdir(entry)).map((child) => visit(path.join(entry, child))));
  };
  await Promise.all(roots.map((root) => visit(path.join(packageDirectory, root))));
  return newest;
}
