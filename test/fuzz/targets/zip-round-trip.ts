import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { inspect } from '../../../src/core/inspect/index.js';
import { pack } from '../../../src/core/pack/index.js';
import { readWithYauzl } from '../../helpers/layer-fixtures.js';
import { runForBudget, type FuzzTarget } from '../harness.js';

/**
 * A random layer tree goes through `pack` (which zips and verifies it), then
 * `inspect` must pass it and yauzl, an independent reader, must give back the
 * same folders, modes and bytes; the same tree written in another order, at
 * other times, must pack to the same bytes. The tree's names are unique even
 * case- and normalisation-insensitively: aliasing names are refused by design
 * (see the zip-slip tests), so they are not generated here.
 */

interface TreeNode {
  segments: string[];
  kind: 'file' | 'directory';
  mode: number;
  data: Uint8Array;
}

const nameCharacter = fc.constantFrom(
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  '.',
  '_',
  '-',
  ' ',
  '+',
  '=',
  ',',
  '@',
  '%',
  'é',
  'ß',
  '日',
  '🙂',
);
const segment = fc
  .array(nameCharacter, { minLength: 1, maxLength: 16 })
  .map((characters) => characters.join(''))
  .filter((name) => name !== '.' && name !== '..' && name !== 'extensions');

const fileData = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.integer({ min: 1, max: 20_000 }))
    .map(([unit, times]) => new Uint8Array(Buffer.concat(Array.from({ length: times }, () => Buffer.from(unit))))),
);

const node: fc.Arbitrary<TreeNode> = fc.record({
  segments: fc.array(segment, { minLength: 1, maxLength: 4 }),
  kind: fc.constantFrom('file' as const, 'file' as const, 'directory' as const),
  // Owner-readable always (pack must read the file); everything else random.
  mode: fc.nat({ max: 0o377 }).map((bits) => 0o400 | bits),
  data: fileData,
});

const aliasKey = (segments: string[]): string => segments.join('/').normalize('NFC').toLowerCase();

/** Keeps the first of any paths that clash (a file where another node needs a folder, or aliasing names). */
function consistentTree(nodes: TreeNode[]): TreeNode[] {
  const kinds = new Map<string, 'file' | 'directory'>();
  const kept: TreeNode[] = [];
  for (const candidate of nodes) {
    const prefixes = candidate.segments.map((_, index) => aliasKey(candidate.segments.slice(0, index + 1)));
    const own = prefixes[prefixes.length - 1]!;
    const parentsFree = prefixes.slice(0, -1).every((prefix) => kinds.get(prefix) !== 'file');
    if (!parentsFree || kinds.has(own)) continue;
    for (const prefix of prefixes.slice(0, -1)) kinds.set(prefix, 'directory');
    kinds.set(own, candidate.kind);
    kept.push(candidate);
  }
  return kept;
}

const launcher = '#!/bin/sh\nexec sleep 1\n';

async function writeProject(project: string, tree: TreeNode[], reverse: boolean, mtime: Date): Promise<void> {
  await writeFile(
    path.join(project, 'lambda-extension.json'),
    JSON.stringify({
      name: 'fuzz',
      language: 'ts',
      entry: 'src/index.ts',
      architectures: ['x86_64'],
      version: '1.0.0',
    }),
  );
  const layer = path.join(project, 'dist', 'x86_64');
  await mkdir(path.join(layer, 'extensions'), { recursive: true });
  await writeFile(path.join(layer, 'extensions', 'fuzz'), launcher, { mode: 0o644 });
  for (const item of reverse ? [...tree].reverse() : tree) {
    const target = path.join(layer, ...item.segments);
    if (item.kind === 'directory') {
      await mkdir(target, { recursive: true });
    } else {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, item.data);
      await chmod(target, item.mode);
      await utimes(target, mtime, mtime);
    }
  }
}

/** What the zip must hold: "name" or "name/" → mode and bytes. */
function expectedEntries(tree: TreeNode[]): Map<string, { mode: number; data: Buffer }> {
  const expected = new Map<string, { mode: number; data: Buffer }>();
  const directory = (name: string) => expected.set(`${name}/`, { mode: 0o40755, data: Buffer.alloc(0) });
  directory('extensions');
  expected.set('extensions/fuzz', { mode: 0o100755, data: Buffer.from(launcher) });
  for (const item of tree) {
    for (let index = 1; index < item.segments.length; index++) directory(item.segments.slice(0, index).join('/'));
    const name = item.segments.join('/');
    if (item.kind === 'directory') directory(name);
    else
      expected.set(name, {
        mode: (item.mode & 0o111) !== 0 ? 0o100755 : 0o100644,
        data: Buffer.from(item.data),
      });
  }
  return expected;
}

async function roundTrip(tree: TreeNode[]): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'fuzz-zip-'));
  try {
    const first = path.join(root, 'first');
    const second = path.join(root, 'second');
    await mkdir(first);
    await mkdir(second);
    await writeProject(first, tree, false, new Date(Date.UTC(2001, 0, 1)));
    await writeProject(second, tree, true, new Date());
    const packed = await pack({ projectDirectory: first, noBuild: true, sourceDateEpoch: '' });
    const again = await pack({ projectDirectory: second, noBuild: true, sourceDateEpoch: '' });
    const zipPath = packed.layers[0]!.zipPath;
    assert.equal(again.layers[0]!.sha256, packed.layers[0]!.sha256, 'the same tree packed to different bytes');

    const report = await inspect(zipPath);
    assert.ok(report.ok, `inspect refused the packed zip: ${JSON.stringify(report.findings)}`);

    const entries = await readWithYauzl(zipPath);
    const actual = new Map(
      entries.map((entry) => [entry.name, { mode: entry.externalFileAttributes >>> 16, data: entry.data }]),
    );
    const expected = expectedEntries(tree);
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), 'the zip holds other entries');
    for (const [name, want] of expected) {
      const got = actual.get(name)!;
      assert.equal(got.mode.toString(8), want.mode.toString(8), `${name}: mode`);
      assert.ok(got.data.equals(want.data), `${name}: ${got.data.length} bytes instead of ${want.data.length}`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export const zipRoundTripTarget: FuzzTarget = {
  name: 'zip-round-trip',
  description:
    'random layer trees (Unicode names, modes, sizes, empty folders) → ext pack → ext inspect passes → yauzl gives back the same tree, modes and bytes; the same tree packs to identical bytes whatever the write order and mtimes',
  run(budget) {
    const property = fc.asyncProperty(fc.array(node, { maxLength: 24 }).map(consistentTree), roundTrip);
    return runForBudget(this.name, property, budget, 10);
  },
};
