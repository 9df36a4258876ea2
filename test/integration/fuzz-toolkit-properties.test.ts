import { test } from 'node:test';
import { scaled } from '../helpers/time-scale.js';
import { seedFromEnvironment } from '../fuzz/harness.js';
import { toolkitTargets } from '../fuzz/targets/index.js';

/**
 * Each property target briefly with a fixed seed (FUZZ_SEED overrides it); a failure prints the seed that
 * replays it. Every target is pure CPU for its whole budget, so npm test gives each 1.5 s (FUZZ_TEST_SECONDS
 * sets another), and `npm run fuzz` runs the same targets for minutes.
 */
const seconds = Number(process.env['FUZZ_TEST_SECONDS'] ?? 1.5);

for (const target of toolkitTargets) {
  test(`fuzz ${target.name}: ${target.description}`, { timeout: scaled(120_000) }, async () => {
    await target.run({ seed: seedFromEnvironment(), timeLimitMs: seconds * 1000 });
  });
}
