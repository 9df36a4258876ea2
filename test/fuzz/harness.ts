import fc from 'fast-check';

/**
 * Runs fast-check properties for a time budget instead of a fixed number of
 * runs: `npm test` gives each target a few seconds, `npm run fuzz` minutes.
 * Batches run one after another with seeds seed, seed+1, ... until the time
 * is up, so any failure names the one seed (and fast-check's path) that
 * replays it: FUZZ_SEED=<seed> npm run fuzz -- --target <name>.
 */
export interface FuzzBudget {
  /** The first batch's seed; batch i uses seed + i. */
  seed: number;
  /** Wall-clock time for the whole target, in milliseconds. */
  timeLimitMs: number;
}

export interface FuzzTarget {
  name: string;
  /** What is generated and what must hold, for `npm run fuzz -- --list` and docs/reliability.md. */
  description: string;
  run(budget: FuzzBudget): Promise<FuzzStatistics>;
}

export interface FuzzStatistics {
  runs: number;
  batches: number;
}

/** The seed `npm test` uses unless FUZZ_SEED says otherwise, so a red run replays as it failed. */
export const defaultSeed = 20_261_202;

export function seedFromEnvironment(environment: NodeJS.ProcessEnv = process.env): number {
  const text = environment['FUZZ_SEED'];
  if (text === undefined || text.trim() === '') return defaultSeed;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not "${text}"`);
  return seed;
}

/** Thrown with the seed and the property's own report, so the failure can be replayed. */
export class FuzzFailure extends Error {
  constructor(
    readonly target: string,
    readonly seed: number,
    report: string,
  ) {
    super(
      `${target} failed with seed ${seed} (replay: FUZZ_SEED=${seed} npm run fuzz -- --target ${target})\n${report}`,
    );
    this.name = 'FuzzFailure';
  }
}

type AnyProperty = fc.IProperty<unknown> | fc.IAsyncProperty<unknown>;

/**
 * Runs `property` in batches of `batchRuns` until `budget.timeLimitMs` has
 * passed (at least one batch always runs). Fails with the failing batch's seed.
 */
export async function runForBudget(
  name: string,
  property: AnyProperty,
  budget: FuzzBudget,
  batchRuns = 25,
): Promise<FuzzStatistics> {
  const deadline = Date.now() + budget.timeLimitMs;
  let runs = 0;
  let batches = 0;
  do {
    const seed = budget.seed + batches;
    const details = await fc.check(property as fc.IAsyncProperty<unknown>, { seed, numRuns: batchRuns });
    batches += 1;
    runs += details.numRuns;
    if (details.failed) {
      const cause =
        details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new FuzzFailure(
        name,
        seed,
        `${fc.defaultReportMessage(details) ?? 'failed'}\nError: ${cause.slice(0, 4000)}`,
      );
    }
  } while (Date.now() < deadline);
  return { runs, batches };
}

/** Throws a plain Error (so fast-check reports it) when `condition` is false. */
export function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new Error(message());
}
