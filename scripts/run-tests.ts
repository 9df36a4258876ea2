import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testTiers as tiers, type TestTier as Tier } from '../test/helpers/tiers.js';

/**
 * `node build/scripts/run-tests.js <tier>... [--all] [-- <node --test options>]`, after `npm run build`: the test
 * tiers (CONTRIBUTING.md), the one place that knows how each runs.
 * - unit: in-process; test/helpers/unit-sandbox.ts makes any process, socket or fetch throw;
 * - integration: real processes, no network;
 * - e2e: tarball installs and tool downloads;
 * - conformance: the same layers and functions under AWS's RIE and under `ext dev`, compared (RIE is installed
 *   once into the tests' cache; each file skips in one line where RIE or a tool it needs is missing).
 * The files are those of test/<tier>/*.test.ts, so a compiled test whose source moved or went away does not run
 * from a stale build/. The process tiers (integration, e2e, conformance) share one `node --test`. `--all` sets TEST_ALL=1:
 * the slow tests that `npm test` leaves to `npm run test:all` (test/helpers/tiers.ts) run too.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const separator = process.argv.indexOf('--');
const ownArguments = separator === -1 ? process.argv.slice(2) : process.argv.slice(2, separator);
const nodeTestArguments = separator === -1 ? [] : process.argv.slice(separator + 1);
const all = ownArguments.includes('--all');
const wanted = ownArguments.filter((argument) => argument !== '--all');
const unknown = wanted.filter((argument) => !(tiers as readonly string[]).includes(argument));
if (unknown.length > 0 || wanted.length === 0) {
  console.error(
    `usage: run-tests <${tiers.join('|')}>... [--all] [-- <node --test options>]; got ${unknown.join(' ')}`,
  );
  process.exit(2);
}

function testFiles(tier: Tier): string[] {
  return readdirSync(path.join(root, 'test', tier))
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => path.join(root, 'build', 'test', tier, name.replace(/\.ts$/u, '.js')));
}

/**
 * Test files run at once. The unit tier is pure CPU: one file per core. The process tiers wait much of the time
 * (npm installs, go builds' I/O, the emulator's Lambda timings): two more files than cores keep both busy. Every
 * time limit scales with the measured load (test/helpers/time-scale.ts), so the extra files cost no flakes.
 * `TEST_CONCURRENCY=n` overrides both.
 */
function concurrency(processes: boolean): number {
  const given = Number(process.env['TEST_CONCURRENCY']);
  if (Number.isInteger(given) && given > 0) return given;
  const cores = Math.max(1, os.availableParallelism());
  return processes ? cores + 2 : cores;
}

function runNodeTest(files: string[], preload: string[], processes: boolean): number {
  const missing = files.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    console.error(
      `run-tests: not built: ${missing.map((file) => path.relative(root, file)).join(', ')}; run npm run build`,
    );
    return 1;
  }
  const result = spawnSync(
    process.execPath,
    [...preload, '--test', `--test-concurrency=${concurrency(processes)}`, ...nodeTestArguments, ...files],
    { stdio: 'inherit', cwd: root, env: all ? { ...process.env, TEST_ALL: '1' } : process.env },
  );
  return result.status ?? 1;
}

let status = 0;
if (wanted.includes('unit')) {
  const sandbox = path.join(root, 'build', 'test', 'helpers', 'unit-sandbox.js');
  status = runNodeTest(testFiles('unit'), ['--import', sandbox], false);
}
// The conformance and e2e files are the longest: started first, they run beside the many short integration files
// instead of being the last ones left, each on a core of its own, at the end of the run.
const processTiers = (['conformance', 'e2e', 'integration'] as const).filter((tier) => wanted.includes(tier));
if (status === 0 && processTiers.length > 0) status = runNodeTest(processTiers.flatMap(testFiles), [], true);
process.exit(status);
