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

/**
 * The test tiers, one folder each under test/, in the order `npm test` runs them; scripts/run-tests.ts runs exactly
 * these, and test/unit/tier-guard.test.ts fails when a folder of tests is not among them (it would never run).
 */
export const testTiers = ['unit', 'integration', 'e2e', 'conformance'] as const;
export type TestTier = (typeof testTiers)[number];

/**
 * A test's `skip` option when a tool it needs is missing: prints the one line that says why, and returns it.
 * With TEST_REQUIRE_TOOLS=1 (a machine where everything must run) a missing tool is a failure instead: it throws,
 * and the test file fails naming the tool.
 */
export function skipWithoutTool(what: string, reason: string | false): string | false {
  if (reason === false) return false;
  if (process.env['TEST_REQUIRE_TOOLS'] === '1') {
    throw new Error(`${what}: ${reason} (TEST_REQUIRE_TOOLS=1: every tool must be here)`);
  }
  console.log(`# skipping ${what}: ${reason}`);
  return reason;
}
