import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { extractLayerZip } from '../../src/core/layer/unpack.js';
import { LayerLinks } from '../../src/core/layer/links.js';
import { extensionEntry, symlink, symlinkChainZip } from '../helpers/hostile-zips.js';
import { buildZip, type RawZipEntry } from '../helpers/zip-fixtures.js';

const roots: string[] = [];
after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

/** A temp root with the destination two levels down, so writes one or two levels up stay visible. */
async function sandbox(zip: Buffer): Promise<{ root: string; destination: string; zipFile: string }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'zip-slip-'));
  roots.push(root);
  const destination = path.join(root, 'one', 'two');
  await mkdir(destination, { recursive: true });
  const zipFile = path.join(root, 'layer.zip');
  await writeFile(zipFile, zip);
  return { root, destination, zipFile };
}

async function assertNothingOutside(root: string, destination: string): Promise<void> {
  assert.deepEqual(await readdir(root), ['layer.zip', 'one']);
  assert.deepEqual(await readdir(path.join(root, 'one')), ['two']);
  assert.deepEqual(await readdir(destination), [], 'a refused zip leaves nothing in the destination');
}

test(
  'a chain of symlinks cannot carry a file out of the unpack folder, and a second run fails the same way',
  { timeout: scaled(10_000) },
  async () => {
    const { root, destination, zipFile } = await sandbox(symlinkChainZip());
    for (let run = 0; run < 2; run++) {
      await assert.rejects(extractLayerZip(zipFile, destination), (error: Error) => {
        assert.match(error.message, /symlink|lies inside/);
        assert.doesNotMatch(error.message, /EEXIST/);
        assert.ok(error.message.includes(zipFile), error.message);
        return true;
      });
      await assertNothingOutside(root, destination);
    }
  },
);

test('each hostile link shape is refused before anything is written', { timeout: scaled(10_000) }, async () => {
  const shapes: [string, RawZipEntry[]][] = [
    ['a link whose target climbs', [symlink('up', '../..')]],
    ['an absolute link outside /opt', [symlink('etc', '/etc/passwd')]],
    ['a file written through a link', [symlink('dir', 'lib'), { name: 'dir/x', data: 'x' }]],
    ['a link written through a link', [symlink('y', '.'), symlink('y/z', '..')]],
    ['a link that escapes only through another link', [symlink('y', '.'), symlink('h1', 'y/..')]],
    ['a loop', [symlink('a', 'b'), symlink('b', 'a')]],
    ['a link in a folder written after it', [symlink('lib', '..'), { name: 'lib/', data: '' }]],
    // On macOS or Windows "a" and "A" are one path: the link "a" would carry "A/c" and everything under it.
    ['case aliases of a link', [symlink('a', '.'), symlink('A/c', '..'), { name: 'A/C/d', data: 'x' }]],
    [
      'case aliases of two files',
      [
        { name: 'lib/x', data: '1' },
        { name: 'LIB/y', data: '2' },
      ],
    ],
  ];
  for (const [shape, entries] of shapes) {
    const { root, destination, zipFile } = await sandbox(buildZip([extensionEntry, ...entries]));
    await assert.rejects(extractLayerZip(zipFile, destination), /symlink|lies inside|twice|case-insensitive/, shape);
    await assertNothingOutside(root, destination);
  }
});

test(
  'links that stay in the layer are unpacked, absolute /opt ones made relative to the layer',
  { timeout: scaled(10_000) },
  async () => {
    const { destination, zipFile } = await sandbox(
      buildZip([
        { name: 'bin/tool', data: '#!/bin/sh\n', mode: 0o100755 },
        symlink('extensions/tool', '../bin/tool'),
        symlink('lib/libx.so', 'libx.so.1'),
        { name: 'lib/libx.so.1', data: 'lib' },
        symlink('lib/opt-link', '/opt/bin/tool'),
      ]),
    );
    assert.equal(await extractLayerZip(zipFile, destination), 2);
    assert.equal(await readlink(path.join(destination, 'extensions/tool')), '../bin/tool');
    assert.equal(await readFile(path.join(destination, 'lib/libx.so'), 'utf8'), 'lib');
    assert.equal(await readlink(path.join(destination, 'lib/opt-link')), '../bin/tool');
  },
);

test('LayerLinks resolves chains over the archive tree with a hop limit', () => {
  const links = new LayerLinks(
    new Map([
      ['y', '.'],
      ['h1', 'y/..'],
      ['h2', 'y/../y/..'],
      ['lib/a', 'b'],
      ['lib/b', '../bin/c'],
      ['opt', '/opt/lib/a'],
      ['loop1', 'loop2'],
      ['loop2', 'loop1'],
    ]),
  );
  assert.deepEqual(links.resolve('y'), { kind: 'inside', path: '' });
  assert.deepEqual(links.resolve('h1'), { kind: 'outside' });
  assert.deepEqual(links.resolve('h2'), { kind: 'outside' });
  assert.deepEqual(links.resolve('lib/a'), { kind: 'inside', path: 'bin/c' });
  assert.deepEqual(links.resolve('opt'), { kind: 'inside', path: 'bin/c' });
  assert.deepEqual(links.resolve('loop1'), { kind: 'loop' });
  assert.equal(links.linkAbove('h1/y'), 'h1');
  assert.equal(links.linkAbove('./y//z'), 'y');
  assert.equal(links.linkAbove('lib/c'), undefined);
});
