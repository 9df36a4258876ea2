import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { extractLayerZip } from '../../src/core/layer/unpack.js';
import { CliError } from '../../src/core/errors.js';
import { inspectZipBuffer } from '../../src/core/inspect/index.js';
import { maximumLayerEntries, normalizedEntryPath } from '../../src/core/layer/index.js';
import { extensionEntry } from '../helpers/hostile-zips.js';
import { runExt } from '../helpers/layer-fixtures.js';
import { buildZip, type RawZipEntry } from '../helpers/zip-fixtures.js';

const roots: string[] = [];
after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

async function scratch(prefix: string): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  roots.push(root);
  return root;
}

const noStackTrace = (stderr: string): void => assert.doesNotMatch(stderr, /\n\s+at |internal error/);

for (const spelling of ['./extensions/demo', 'extensions//demo', 'extensions/./demo', './/extensions/demo']) {
  test(`"${spelling}" beside extensions/demo is one path twice, for inspect and ext dev alike`, async () => {
    assert.equal(normalizedEntryPath(spelling), 'extensions/demo');
    const entries: RawZipEntry[] = [extensionEntry, { ...extensionEntry, name: spelling, data: 'broken second copy' }];
    const report = inspectZipBuffer(buildZip(entries), 'layer.zip');
    assert.ok(
      report.findings.some(
        (finding) => finding.severity === 'error' && finding.code === 'duplicate-entry' && finding.path === spelling,
      ),
      JSON.stringify(report.findings),
    );
    assert.equal(report.ok, false);
    const root = await scratch('dup-spelling-');
    const zipFile = path.join(root, 'layer.zip');
    await writeFile(zipFile, buildZip(entries));
    await mkdir(path.join(root, 'out'));
    await assert.rejects(extractLayerZip(zipFile, path.join(root, 'out')), /holds "extensions\/demo" twice/);
  });
}

test('a FIFO named *.zip is refused at once by ext inspect and ext dev --layer, not waited on', async () => {
  const root = await scratch('fifo-zip-');
  const fifo = path.join(root, 'layer.zip');
  execFileSync('mkfifo', [fifo]);
  for (const args of [
    ['inspect', fifo],
    ['dev', '--layer', fifo],
  ]) {
    // Nobody ever writes to the FIFO: a reader that opens it blocking waits until the timeout kills it.
    const run = await runExt(args, { cwd: root, timeoutMs: 60_000 });
    assert.equal(run.signal, null, `${args[0]} hung on the FIFO`);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^error\[E_ZIP_NOT_A_FILE\]: .*layer\.zip /m);
    noStackTrace(run.stderr);
  }
});

test(`a zip with more entries than any layer can hold (${maximumLayerEntries}) is refused before its entries are read`, async () => {
  const count = maximumLayerEntries + 1;
  const entries: RawZipEntry[] = [extensionEntry];
  for (let index = 1; index < count; index++) entries.push({ name: `f/${index}`, method: 0 });
  const root = await scratch('many-entries-');
  const zipFile = path.join(root, 'many-x86_64.zip');
  await writeFile(zipFile, buildZip(entries));
  for (const args of [
    ['inspect', zipFile],
    ['dev', '--layer', zipFile],
  ]) {
    const run = await runExt(args, { cwd: root, timeoutMs: 120_000 });
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`^error\\[E_LAYER_TOO_LARGE\\]: .*many-x86_64\\.zip: it holds ${count} entries`, 'm'),
    );
    assert.equal(run.stderr.split('\n').filter((line) => /^error\[E_\w+\]: /.test(line)).length, 1);
    noStackTrace(run.stderr);
  }
  // Just under the limit is a layer like any other.
  const fits = inspectZipBuffer(buildZip(entries.slice(0, maximumLayerEntries)), 'fits.zip');
  assert.equal(fits.entries, maximumLayerEntries);
  await mkdir(path.join(root, 'out'));
  assert.deepEqual(await readdir(path.join(root, 'out')), []);
  await assert.rejects(extractLayerZip(zipFile, path.join(root, 'out')), (error: unknown) => error instanceof CliError);
});
