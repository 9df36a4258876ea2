/*
 * The slow tier inside the tiers: tests that `npm test` (and so CI on every push) leaves out because they cost
 * minutes and what they cover is also covered, more cheaply, by a test that does run. `npm run test:all` sets
 * TEST_ALL=1 and runs them. Use as a test's `skip` option: the report then says where the test runs.
 */
export const testAll = process.env['TEST_ALL'] === '1';

/** `false` under `npm run test:all`, else the reason to skip, naming where the test runs. */
export function onlyInTestAll(why: string): string | false {
  return testAll ? false : `slow (${why}): runs in npm run test:all`;
}
