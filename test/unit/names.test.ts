import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extensionNameProblem, isValidExtensionName } from '../../src/core/names.js';

describe('extension names', () => {
  const good = ['my-ext', 'a', '9lives', 'telemetry.v2', 'log_shipper', 'A-B_c.d', 'x'.repeat(64)];
  const bad = [
    '',
    '../x',
    'a/b',
    'a\\b',
    'has space',
    "quo'te",
    'dq"',
    'ünïcode',
    '.hidden',
    '-dash',
    '_under',
    'x'.repeat(65),
    'tab\there',
    'new\nline',
    'a:b',
    '..',
  ];

  for (const name of good) {
    it(`accepts ${JSON.stringify(name)}`, () => assert.equal(isValidExtensionName(name), true));
  }
  for (const name of bad) {
    it(`refuses ${JSON.stringify(name)} and states the rule`, () => {
      const problem = extensionNameProblem(name);
      assert.ok(problem !== undefined);
      assert.match(problem, /1 to 64 characters: letters, digits, "\.", "_" and "-", starting with a letter or digit/);
    });
  }
});
