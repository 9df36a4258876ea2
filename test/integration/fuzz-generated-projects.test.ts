import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { generatedProjectTargets, isFuzztimeDeadlineRace } from '../fuzz/generated-projects.js';
import { seedFromEnvironment } from '../fuzz/harness.js';
import { onlyInTestAll } from '../helpers/tiers.js';

/**
 * The generated Go projects' native fuzz targets, each for a couple of
 * seconds in a freshly scaffolded project, in `npm run test:all`: the first
 * builds the fuzzing-instrumented standard library, minutes of CPU on a cold
 * cache. `npm test` runs their seed corpora through plain `go test` in the e2e
 * tests, and the TS properties run in the generated projects' own `npm test`.
 * `npm run fuzz` runs them for minutes.
 */
const seconds = Number(process.env['FUZZ_TEST_SECONDS'] ?? 2);
const go = spawnSync('go', ['version'], { stdio: 'ignore' });
const skip =
  go.error !== undefined || go.status !== 0
    ? 'go is not on PATH, so the generated Go fuzz targets cannot run'
    : onlyInTestAll('an instrumented build of the standard library first');

for (const target of (await generatedProjectTargets()).filter((candidate) => candidate.name.startsWith('go-'))) {
  test(`fuzz ${target.name}`, { skip, timeout: scaled(300_000) }, async () => {
    await target.run({ seed: seedFromEnvironment(), timeLimitMs: seconds * 1000 });
  });
}

test('a bare fuzztime deadline failure is Go’s race, retried once; a finding never is', () => {
  const race = [
    'fuzz: elapsed: 2s, execs: 8194 (3930/sec), new interesting: 0 (total: 162)',
    '--- FAIL: FuzzParseHeaders (2.09s)',
    '    context deadline exceeded',
    'FAIL',
    'exit status 1',
  ].join('\n');
  assert.equal(isFuzztimeDeadlineRace(race), true);
  const finding = [
    '--- FAIL: FuzzParseHeaders (0.31s)',
    '    --- FAIL: FuzzParseHeaders (0.00s)',
    '        config_test.go:41: header "0" accepted with a control character',
    '    Failing input written to testdata/fuzz/FuzzParseHeaders/0a1b2c',
    '    context deadline exceeded',
  ].join('\n');
  assert.equal(isFuzztimeDeadlineRace(finding), false);
  assert.equal(isFuzztimeDeadlineRace('panic: runtime error: index out of range\ncontext deadline exceeded'), false);
  assert.equal(isFuzztimeDeadlineRace('--- FAIL: FuzzX (1.00s)\n    main_test.go:12: bad\nFAIL'), false);
});
