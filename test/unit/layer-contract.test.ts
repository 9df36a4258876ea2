import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CliError } from '../../src/core/errors.js';
import {
  entryPathComponents,
  extensionFilesIn,
  isExtensionPath,
  listExtensionFiles,
  maximumZipFileBytes,
  noExtensionsError,
  unzippedLimitBytes,
  unzippedLimitText,
  zippedLimitBytes,
  zippedLimitText,
} from '../../src/core/layer/index.js';

test('the extension rule: files directly in extensions/, whether named as written or by components', () => {
  for (const name of ['extensions/demo', 'extensions/.hidden']) assert.ok(isExtensionPath(name), name);
  for (const name of ['extensions/', 'extensions', 'extensions/a/b', 'Extensions/demo', 'opt/extensions/demo'])
    assert.ok(!isExtensionPath(name), name);
  // As written, `extensions//demo` is not the rule's spelling; unpacked (components), it is the same file.
  assert.ok(!isExtensionPath('extensions//demo'));
  assert.ok(isExtensionPath(entryPathComponents('./extensions//demo')));
});

test('a layer folder is listed as Lambda starts it: regular files and links to them, top level, sorted', async () => {
  const layer = await mkdtemp(path.join(os.tmpdir(), 'layer-contract-'));
  try {
    assert.deepEqual(await listExtensionFiles(layer), [], 'no extensions/ folder lists nothing');
    await mkdir(path.join(layer, 'extensions', 'nested'), { recursive: true });
    await writeFile(path.join(layer, 'extensions', 'b'), '');
    await writeFile(path.join(layer, 'extensions', 'nested', 'deep'), '');
    await symlink('b', path.join(layer, 'extensions', 'a'));
    const files = await listExtensionFiles(layer);
    assert.deepEqual(
      files.map((file) => file.name),
      ['a', 'b'],
    );
    // Absolute even for a relative layer path: the extensions start in another working directory.
    const relative = await listExtensionFiles(path.relative(process.cwd(), layer));
    assert.deepEqual(
      relative.map((file) => file.file),
      [path.join(layer, 'extensions', 'a'), path.join(layer, 'extensions', 'b')],
    );
    assert.deepEqual(extensionFilesIn('/copy', files), [
      { name: 'a', file: path.join('/copy', 'extensions', 'a') },
      { name: 'b', file: path.join('/copy', 'extensions', 'b') },
    ]);
  } finally {
    await rm(layer, { recursive: true, force: true });
  }
});

test('one error for a layer that starts nothing, with a stable code', () => {
  const error = noExtensionsError('--layer: dist/x');
  assert.ok(error instanceof CliError);
  assert.equal(error.code, 'E_LAYER_NO_EXTENSIONS');
  assert.ok(error.message.startsWith('--layer: dist/x: '));
});

test("Lambda's limits, in MiB as AWS counts them, and the words messages use", () => {
  assert.equal(zippedLimitBytes, 52_428_800);
  assert.equal(unzippedLimitBytes, 262_144_000);
  assert.equal(zippedLimitText, '50 MB');
  assert.equal(unzippedLimitText, `${unzippedLimitBytes / 1024 / 1024} MB`);
  assert.ok(maximumZipFileBytes > unzippedLimitBytes);
});
