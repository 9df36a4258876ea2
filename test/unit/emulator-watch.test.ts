import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { firstDifference, pollForChanges, snapshotFiles } from '../../src/core/dev/index.js';

/** `ext dev --watch`'s change detection, on a real directory with a short poll interval. */
let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'ext-dev-watch-'));
  for (const directory of ['src', 'dist', 'node_modules/pkg', '.git', 'build']) {
    await mkdir(path.join(root, directory), { recursive: true });
  }
  await writeFile(path.join(root, 'src', 'main.go'), 'package main\n');
});
after(() => rm(root, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('snapshots skip build output, dependencies, VCS data and editor scratch files', async () => {
  await writeFile(path.join(root, 'dist', 'out.zip'), 'x');
  await writeFile(path.join(root, 'node_modules', 'pkg', 'index.js'), 'x');
  await writeFile(path.join(root, '.git', 'HEAD'), 'x');
  await writeFile(path.join(root, 'src', '.main.go.swp'), 'x');
  await writeFile(path.join(root, 'src', 'main.go~'), 'x');
  assert.deepEqual([...(await snapshotFiles(root)).keys()], ['src/main.go']);
});

test('firstDifference: changed, added and removed files', () => {
  const before = new Map([
    ['a', '1'],
    ['b', '1'],
  ]);
  assert.equal(firstDifference(before, new Map(before)), undefined);
  assert.equal(firstDifference(before, new Map([...before, ['a', '2']])), 'a');
  assert.equal(firstDifference(before, new Map([...before, ['c', '1']])), 'c');
  assert.equal(firstDifference(before, new Map([['a', '1']])), 'b');
});

test('every save is seen once: in place, atomic (temp + rename) twice, in place again; ignored folders are not', async () => {
  const changes: string[] = [];
  const watcher = pollForChanges(root, (file) => changes.push(file), 40);
  const file = path.join(root, 'src', 'main.go');
  const settled = async (expected: number) => {
    for (let waited = 0; changes.length < expected && waited < scaled(3000); waited += 20) await sleep(20);
    await sleep(150);
    assert.equal(changes.length, expected, JSON.stringify(changes));
  };
  try {
    await watcher.ready;
    await writeFile(file, 'package main // 1\n');
    await settled(1);
    for (const version of [2, 3]) {
      await writeFile(`${file}.tmp${version}`, `package main // ${version}\n`);
      await rename(`${file}.tmp${version}`, file);
      await settled(version);
    }
    await writeFile(file, 'package main // 4\n');
    await settled(4);
    assert.deepEqual(changes, ['src/main.go', 'src/main.go', 'src/main.go', 'src/main.go']);

    await writeFile(path.join(root, 'dist', 'out.zip'), 'rebuilt');
    await writeFile(path.join(root, 'build', 'x.js'), 'rebuilt');
    await sleep(200);
    assert.equal(changes.length, 4, 'build output does not restart the run');
  } finally {
    watcher.close();
  }
});

test('a single file (a layer zip) is watched too', async () => {
  const zip = path.join(root, 'layer.zip');
  await writeFile(zip, 'v1');
  const changes: string[] = [];
  const watcher = pollForChanges(zip, (file) => changes.push(file), 40);
  try {
    await watcher.ready;
    await writeFile(`${zip}.part`, 'v2');
    await rename(`${zip}.part`, zip);
    for (let waited = 0; changes.length === 0 && waited < scaled(3000); waited += 20) await sleep(20);
    assert.deepEqual(changes, ['layer.zip']);
  } finally {
    watcher.close();
  }
});
