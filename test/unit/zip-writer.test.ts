import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CliError } from '../../src/core/errors.js';
import { collectLayerEntries } from '../../src/core/pack/index.js';
import {
  defaultZipTimestamp,
  dosDateTime,
  latestZipTimestamp,
  readZip,
  resolveZipTimestamp,
  writeLayerZip,
  zipTimestamp,
} from '../../src/core/zip/index.js';

test('DOS date and time come from the UTC calendar', () => {
  assert.deepEqual(dosDateTime(defaultZipTimestamp), { date: (0 << 9) | (1 << 5) | 1, time: 0 });
  // 2024-02-29 13:45:31 UTC: odd seconds round down to DOS's two-second resolution.
  const leap = new Date(Date.UTC(2024, 1, 29, 13, 45, 31));
  assert.deepEqual(dosDateTime(leap), { date: (44 << 9) | (2 << 5) | 29, time: (13 << 11) | (45 << 5) | 15 });
  assert.deepEqual(dosDateTime(new Date(0)), dosDateTime(defaultZipTimestamp), 'before 1980 clamps to 1980');
});

test('SOURCE_DATE_EPOCH: parsed, defaulted, rounded to two seconds; before 1980 clamps with a note', () => {
  assert.equal(zipTimestamp(undefined).toISOString(), '1980-01-01T00:00:00.000Z');
  assert.equal(zipTimestamp('').toISOString(), '1980-01-01T00:00:00.000Z');
  assert.equal(resolveZipTimestamp(undefined).note, undefined);
  assert.equal(zipTimestamp('1700000001').toISOString(), '2023-11-14T22:13:20.000Z');
  assert.equal(zipTimestamp(' 1700000000\n').toISOString(), '2023-11-14T22:13:20.000Z');
  assert.equal(resolveZipTimestamp('1700000000').note, undefined);
  assert.equal(zipTimestamp('315532800').toISOString(), '1980-01-01T00:00:00.000Z');
  assert.equal(resolveZipTimestamp('315532800').note, undefined, '1980-01-01 itself is in range');
  for (const early of ['0', '315532799', '-86400']) {
    const resolved = resolveZipTimestamp(early);
    assert.equal(resolved.timestamp.toISOString(), '1980-01-01T00:00:00.000Z', early);
    assert.match(resolved.note ?? '', new RegExp(`^SOURCE_DATE_EPOCH=${early} is before 1980.*1980-01-01`), early);
  }
  // The last second archiver can write; its odd second rounds down.
  assert.equal(zipTimestamp('2335219199').toISOString(), latestZipTimestamp.toISOString());
  assert.equal(latestZipTimestamp.toISOString(), '2043-12-31T23:59:58.000Z');
});

test('SOURCE_DATE_EPOCH: refused after 2043 and when not an integer, in one line naming the range', () => {
  for (const late of ['2335219200', '9999999999', '4354819199', '9'.repeat(400)]) {
    assert.throws(
      () => zipTimestamp(late),
      (error: unknown) =>
        error instanceof CliError &&
        error.code === 'E_ZIP_SOURCE_DATE_EPOCH' &&
        /^SOURCE_DATE_EPOCH=\d+( \(\d{4,}-\d\d-\d\d\))? is out of range: zip entries can be dated from 315532800 \(1980-01-01\) to 2335219199 \(2043-12-31T23:59:59Z\)$/.test(
          error.message,
        ),
      late.slice(0, 20),
    );
  }
  assert.throws(() => zipTimestamp('9999999999'), /\(2286-11-20\) is out of range/);
  for (const bad of ['yesterday', '1.5', '1e9', '0x10', '17000 00000', '+5']) {
    assert.throws(
      () => zipTimestamp(bad),
      (error: unknown) =>
        error instanceof CliError &&
        error.code === 'E_ZIP_SOURCE_DATE_EPOCH' &&
        !error.message.includes('\n') &&
        error.message.startsWith('SOURCE_DATE_EPOCH must be a whole number of seconds since 1970 from 315532800'),
      bad,
    );
  }
});

test('layer entries: directories first, byte-sorted, modes normalised; zips are identical across mtimes', async () => {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'zip-writer-'));
  try {
    await mkdir(path.join(directory, 'extensions'));
    await mkdir(path.join(directory, 'demo', 'lib'), { recursive: true });
    await writeFile(path.join(directory, 'extensions', 'demo'), '#!/bin/sh\n', { mode: 0o600 });
    await writeFile(path.join(directory, 'demo', 'index.mjs'), 'run', { mode: 0o700 });
    await writeFile(path.join(directory, 'demo', 'B.txt'), 'b', { mode: 0o666 });
    await writeFile(path.join(directory, 'demo', 'lib', 'a.js'), 'a', { mode: 0o640 });
    const entries = await collectLayerEntries(directory);
    assert.deepEqual(
      entries.map((entry) => [entry.path, entry.kind, entry.mode.toString(8)]),
      [
        ['demo', 'directory', '755'],
        ['demo/lib', 'directory', '755'],
        ['extensions', 'directory', '755'],
        ['demo/B.txt', 'file', '644'],
        ['demo/index.mjs', 'file', '755'],
        ['demo/lib/a.js', 'file', '644'],
        ['extensions/demo', 'file', '755'],
      ],
    );
    const first = path.join(directory, 'first.zip');
    const second = path.join(directory, 'second.zip');
    const timestamp = zipTimestamp('1700000000');
    await writeLayerZip(entries, first, { timestamp });
    await utimes(path.join(directory, 'demo', 'index.mjs'), new Date(), new Date(2001, 1, 1));
    await chmod(path.join(directory, 'demo', 'B.txt'), 0o600);
    await writeLayerZip(
      await collectLayerEntries(directory).then((list) => list.filter((entry) => !entry.path.endsWith('.zip'))),
      second,
      { timestamp },
    );
    assert.deepEqual(await readFile(first), await readFile(second));
    const archive = readZip(await readFile(first));
    assert.deepEqual(archive.entries.map((entry) => entry.name).slice(0, 3), ['demo/', 'demo/lib/', 'extensions/']);
    for (const entry of archive.entries) {
      assert.equal(entry.platform, 3, entry.name);
      assert.deepEqual(entry.extraFields, [], entry.name);
      assert.deepEqual({ date: entry.dosDate, time: entry.dosTime }, dosDateTime(timestamp), entry.name);
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('an aborted write rejects', async () => {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'zip-writer-'));
  try {
    await writeFile(path.join(directory, 'big'), Buffer.alloc(4 * 1024 * 1024, 7));
    const controller = new AbortController();
    const writing = writeLayerZip(
      [{ path: 'big', kind: 'file', absolutePath: path.join(directory, 'big'), mode: 0o644, size: 0 }],
      path.join(directory, 'out.zip'),
      { timestamp: defaultZipTimestamp, signal: controller.signal },
    );
    controller.abort();
    await assert.rejects(writing);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
