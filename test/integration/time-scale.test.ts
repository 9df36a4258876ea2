import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { repositoryRoot, run } from '../helpers/run-cli.js';

const timeScaleModule = pathToFileURL(path.join(repositoryRoot, 'build', 'test', 'helpers', 'time-scale.js')).href;
const factorWith = (value: string) =>
  run(process.execPath, ['--input-type=module', '-e', `console.log((await import('${timeScaleModule}')).timeScale)`], {
    env: { TEST_TIME_SCALE: value },
  });

test('TEST_TIME_SCALE sets the factor; a value under 1 is refused, naming the variable', async () => {
  const set = await factorWith('3');
  assert.equal(set.code, 0, set.stderr);
  assert.equal(set.stdout.trim(), '3');
  const refused = await factorWith('0.5');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /TEST_TIME_SCALE=0\.5: expected a number of at least 1/);
});
