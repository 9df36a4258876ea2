import { parseArgs } from 'node:util';
import { seedFromEnvironment, type FuzzTarget } from '../test/fuzz/harness.js';
import { toolkitTargets } from '../test/fuzz/targets/index.js';
import { generatedProjectTargets } from '../test/fuzz/generated-projects.js';

/**
 * `npm run fuzz [-- --seconds N] [--target NAME]...`: every fuzz target for
 * N seconds (default 60): the toolkit's fast-check properties in this
 * process, then the generated projects' Go fuzz targets and TS properties in
 * freshly scaffolded projects. FUZZ_SEED sets the first seed.
 */
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    target: { type: 'string', multiple: true },
    list: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`--seconds must be a positive number, not "${values.seconds}"`);
  process.exit(2);
}
const all: FuzzTarget[] = [...toolkitTargets, ...(await generatedProjectTargets())];
if (values.list) {
  for (const target of all) console.log(`${target.name}\t${target.description}`);
  process.exit(0);
}
const wanted = values.target ?? [];
const unknown = wanted.filter((name) => !all.some((target) => target.name === name));
if (unknown.length > 0) {
  console.error(`unknown --target ${unknown.join(', ')}; run npm run fuzz -- --list for the names`);
  process.exit(2);
}
const selected = wanted.length === 0 ? all : all.filter((target) => wanted.includes(target.name));
const seed = seedFromEnvironment();
let failed = 0;
for (const target of selected) {
  const started = Date.now();
  process.stdout.write(`${target.name}: ${seconds} s from seed ${seed}... `);
  try {
    const statistics = await target.run({ seed, timeLimitMs: seconds * 1000 });
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`ok, ${statistics.runs} runs in ${elapsed} s`);
  } catch (error) {
    failed += 1;
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`FAILED after ${elapsed} s`);
    console.error(error instanceof Error ? error.message : String(error));
  }
}
process.exit(failed === 0 ? 0 : 1);
