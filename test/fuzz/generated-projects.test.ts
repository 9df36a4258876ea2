import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { generatedProjectTargets } from './generated-projects.js';
import { seedFromEnvironment } from './harness.js';

/**
 * The generated Go projects' native fuzz targets, each for a couple of
 * seconds in a freshly scaffolded project (plain `go test` in the e2e tests
 * already runs their seed corpora, and the TS properties run in the generated
 * projects' own `npm test`). `npm run fuzz` runs them for minutes.
 */
const seconds = Number(process.env['FUZZ_TEST_SECONDS'] ?? 2);
const go = spawnSync('go', ['version'], { stdio: 'ignore' });
const skip =
  go.error !== undefined || go.status !== 0 ? 'go is not on PATH, so the generated Go fuzz targets cannot run' : false;

for (const target of (await generatedProjectTargets()).filter((candidate) => candidate.name.startsWith('go-'))) {
  test(`fuzz ${target.name}`, { skip, timeout: 300_000 }, async () => {
    await target.run({ seed: seedFromEnvironment(), timeLimitMs: seconds * 1000 });
  });
}
