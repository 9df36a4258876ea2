import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { repositoryRoot } from '../helpers/paths.js';
import { testTiers } from '../helpers/tiers.js';

/*
 * Keeps the unit tier honest (CONTRIBUTING: unit = in-process, no process, no socket). This is the static half: no unit
 * test file imports a process or network module, directly or through a test helper. The run-time half,
 * test/helpers/unit-sandbox.ts, makes spawning, listening, connecting and fetching throw while the unit tier runs.
 */
const forbiddenModules = new Set(
  ['child_process', 'net', 'http', 'https', 'http2', 'dgram', 'tls', 'cluster', 'worker_threads'].flatMap((name) => [
    name,
    `node:${name}`,
  ]),
);
const testRoot = path.join(repositoryRoot, 'test');
// `import type` is erased at build time and loads nothing, so it is not matched.
const importPattern =
  /(?:^|\n)\s*(?:import|export)\b(?!\s+type\b)[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gu;

function importsOf(source: string): string[] {
  return [...source.matchAll(importPattern)].map((match) => match[1] ?? match[2] ?? '');
}

/** For a test source file, the forbidden module it reaches through test/ files, with the chain, or undefined. */
async function forbiddenReach(file: string, seen = new Set<string>()): Promise<string[] | undefined> {
  if (seen.has(file)) return undefined;
  seen.add(file);
  for (const specifier of importsOf(await readFile(file, 'utf8'))) {
    if (forbiddenModules.has(specifier)) return [specifier];
    if (!specifier.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), specifier.replace(/\.js$/u, '.ts'));
    // The code under test (src/) is checked at run time by the sandbox; here only the tests' own helpers.
    if (!target.startsWith(testRoot + path.sep)) continue;
    const chain = await forbiddenReach(target, seen);
    if (chain) return [path.relative(repositoryRoot, target), ...chain];
  }
  return undefined;
}

test('no unit test imports child_process, net, http or a test helper that does', async () => {
  const unitFolder = path.join(testRoot, 'unit');
  const files = (await readdir(unitFolder)).filter((name) => name.endsWith('.test.ts'));
  assert.ok(files.length > 10, `found the unit tests' sources in ${unitFolder}`);
  const offenders: string[] = [];
  for (const name of files) {
    const chain = await forbiddenReach(path.join(unitFolder, name));
    if (chain) offenders.push(`test/unit/${name} -> ${chain.join(' -> ')}`);
  }
  assert.deepEqual(offenders, [], 'move these tests (or their process-using parts) to test/integration/');
});

test('the guard sees through helpers: run-cli.ts reaches child_process', async () => {
  assert.deepEqual(await forbiddenReach(path.join(testRoot, 'helpers', 'run-cli.ts')), ['node:child_process']);
  assert.equal(await forbiddenReach(path.join(testRoot, 'helpers', 'paths.ts')), undefined);
});

test('every folder of tests is a tier that npm test runs', async () => {
  const folders: string[] = [];
  for (const entry of await readdir(testRoot, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const names = await readdir(path.join(testRoot, entry.name));
    if (names.some((name) => name.endsWith('.test.ts'))) folders.push(entry.name);
  }
  assert.deepEqual(
    folders.filter((folder) => !(testTiers as readonly string[]).includes(folder)),
    [],
  );
  const manifest = JSON.parse(await readFile(path.join(repositoryRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  assert.deepEqual(manifest.scripts['test']?.split(' ').slice(-testTiers.length), [...testTiers]);
});
