import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeControlCharacters, printableLine } from '../../src/core/text.js';

test('escapeControlCharacters neutralises ESC, CR and bidi overrides but keeps tabs and newlines', () => {
  const hostile = 'a\x1b[2K\rno problems found\u202e\tb\nc\x7f\x9b';
  const escaped = escapeControlCharacters(hostile);
  assert.equal(escaped, 'a\\x1b[2K\\x0dno problems found\\u202e\tb\nc\\x7f\\x9b');
  for (const raw of ['\x1b', '\r', '\u202e', '\x7f', '\x9b'])
    assert.ok(!escaped.includes(raw), `raw ${JSON.stringify(raw)} left`);
});

test('printableLine escapes newlines and cuts long text visibly', () => {
  assert.equal(printableLine('one\ntwo'), 'one\\x0atwo');
  const long = printableLine('x'.repeat(10_000), 100);
  assert.equal(long, `${'x'.repeat(100)}… (9900 more characters)`);
});
