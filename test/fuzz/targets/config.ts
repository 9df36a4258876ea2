import assert from 'node:assert/strict';
import fc from 'fast-check';
import { architectures } from '../../../src/core/layer/architectures.js';
import { applyConfigOverrides, configProblems, eventTypes, languages, parseConfig } from '../../../src/core/config.js';
import { CliError } from '../../../src/core/errors.js';
import { extensionNameProblem, versionProblem } from '../../../src/core/names.js';
import { check, runForBudget, type FuzzTarget } from '../harness.js';

const filePath = '/project/lambda-extension.json';
/** One line a terminal can show: the path, five problems of a sentence or two each, and the "more" tail. */
export const maximumConfigMessageLength = filePath.length + 2_000;

/** Strings that are sometimes valid, sometimes long, sometimes hostile. */
const text = fc.oneof(
  fc.constantFrom(
    'demo',
    'go',
    'ts',
    '.',
    '1.0.0',
    'x86_64',
    'arm64',
    'INVOKE',
    'SHUTDOWN',
    '--enable-source-maps',
    '',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 300, maxLength: 3_000 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);
const anyValue = fc.oneof(text, fc.jsonValue({ maxDepth: 3 }), fc.array(text, { maxLength: 8 }));

/** A config whose every field is either a plausible value or a random one, with random extra keys. */
const nearConfig = fc
  .record(
    {
      $schema: fc.oneof(text, anyValue),
      name: fc.oneof(fc.constantFrom('demo', 'my-ext.v2', 'A_b-1'), text, anyValue),
      language: fc.oneof(fc.constantFrom(...languages), text, anyValue),
      entry: fc.oneof(fc.constantFrom('.', 'src/index.ts'), text, anyValue),
      version: fc.oneof(fc.constantFrom('1.0.0', 'v1.2.3-rc.1+b.5'), text, anyValue),
      architectures: fc.oneof(fc.subarray([...architectures], { minLength: 1 }), fc.array(anyValue), anyValue),
      events: fc.oneof(fc.subarray([...eventTypes]), fc.array(anyValue), anyValue),
      sourcemap: fc.oneof(fc.boolean(), anyValue),
      nodeOptions: fc.oneof(
        fc.constant(['--enable-source-maps', '--max-semi-space-size=1']),
        fc.array(text, { maxLength: 4 }),
        anyValue,
      ),
    },
    { requiredKeys: [] },
  )
  .chain((config) => fc.dictionary(text, anyValue, { maxKeys: 3 }).map((extra) => ({ ...extra, ...config })));

const configText = fc.oneof(
  nearConfig.map((value) => JSON.stringify(value)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  // Valid JSON with a byte-order mark, or cut somewhere.
  nearConfig.map((value) => `\ufeff${JSON.stringify(value)}`),
  fc.tuple(nearConfig, fc.double({ min: 0, max: 1, noNaN: true })).map(([value, at]) => {
    const json = JSON.stringify(value);
    return json.slice(0, Math.floor(json.length * at));
  }),
);

/** One config text through the parser: either a config every later step accepts, or one bounded CliError. */
export function exerciseConfig(textValue: string): void {
  let config;
  try {
    config = parseConfig(textValue, filePath);
  } catch (error) {
    check(error instanceof CliError, () => `parseConfig threw ${String(error)}`);
    check(
      error.message.length <= maximumConfigMessageLength,
      () => `a ${error.message.length}-character message: ${error.message.slice(0, 300)}…`,
    );
    check(!/\n/.test(error.message), () => `the message spans lines: ${JSON.stringify(error.message.slice(0, 300))}`);
    return;
  }
  // Accepted: nothing later may refuse it.
  check(extensionNameProblem(config.name) === undefined, () => `accepted the name ${config.name}`);
  check(versionProblem(config.version) === undefined, () => `accepted the version ${config.version}`);
  check(config.architectures.length > 0, () => 'accepted no architectures');
  check(!('$schema' in config), () => '$schema leaked into the config');
  check(configProblems(config).length === 0, () => `its own result has problems: ${configProblems(config).join('; ')}`);
  const again = parseConfig(JSON.stringify(config), filePath);
  assert.deepEqual(again, config, 'the parsed config does not survive a round trip');
  applyConfigOverrides(config, {});
}

export const configTarget: FuzzTarget = {
  name: 'config',
  description:
    'random JSON values and near-valid lambda-extension.json texts: the parser returns a config that every later step accepts (and that round-trips), or throws one CliError of bounded size',
  run(budget) {
    return runForBudget(this.name, fc.property(configText, exerciseConfig), budget, 100);
  },
};
