import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Where a generated project's `devDependencies.create-lambda-extension`
 * should point. From the registry, a caret range on our version. Anywhere
 * else (a checkout, or a tarball installed by path), the registry may not
 * have this version at all, and `npm install` then fails with E404, after
 * which `npx ext` fetches an unrelated package named `ext`. So the generated
 * project points at exactly the package that scaffolded it.
 */
export interface ToolkitSource {
  /** The value for package.json's devDependencies. */
  dependency: string;
  /** Where that came from, for the generated README and the CLI's summary. */
  origin: 'registry' | 'checkout' | 'tarball' | 'directory';
}

interface LockFile {
  packages?: Record<string, { resolved?: string; version?: string } | undefined>;
}

export async function findToolkitSource(toolkitRoot: string, version: string): Promise<ToolkitSource> {
  const registry: ToolkitSource = { dependency: `^${version}`, origin: 'registry' };
  const installed = installationOf(toolkitRoot);
  if (installed === undefined) {
    // Not inside node_modules: a checkout (or an unpacked copy) run directly.
    return {
      dependency: `file:${toolkitRoot}`,
      origin: existsSync(path.join(toolkitRoot, '.git')) ? 'checkout' : 'directory',
    };
  }
  const lock = await readLockFile(installed.projectDirectory);
  const entry = lock?.packages?.[installed.lockKey];
  const resolved = entry?.resolved;
  if (resolved === undefined) return registry;
  if (resolved.startsWith('file:')) {
    const target = path.resolve(installed.projectDirectory, resolved.slice('file:'.length));
    return /\.(tgz|tar\.gz|tar)$/u.test(target)
      ? { dependency: `file:${target}`, origin: 'tarball' }
      : { dependency: `file:${target}`, origin: 'directory' };
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
