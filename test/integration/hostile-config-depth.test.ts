import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CliError } from '../../src/core/errors.js';
import { jsonNestingDepth, maximumConfigDepth, parseConfig } from '../../src/core/config.js';
import { runExt, temporaryDirectory } from '../helpers/layer-fixtures.js';

const deep = (levels: number): string => `{"name": ${'['.repeat(levels)}${']'.repeat(levels)}}`;

test('a lambda-extension.json nested 5,000 deep is the one-line config error, not an internal error', async () => {
  const project = await temporaryDirectory('config-depth-');
  try {
    await writeFile(path.join(project, 'lambda-extension.json'), deep(5000));
    const built = await runExt(['build'], { cwd: project, timeoutMs: 60_000 });
    assert.equal(built.code, 1, built.stderr);
    assert.match(built.stderr, /^error\[E_CONFIG_TOO_LARGE\]: .*lambda-extension\.json: /m);
    assert.doesNotMatch(built.stderr, /internal error|Maximum call stack|\n\s+at /);
  } finally {
    await rm(project, { recursive: true, force: true });
  }
});

test('depth counts brackets outside strings only; the limit still leaves room for any real config', () => {
  assert.equal(jsonNestingDepth('{"a": "[[[[{{{{\\"[["}'), 1);
  assert.equal(jsonNestingDepth('{"events": ["INVOKE", "SHUTDOWN"]}'), 2);
  assert.throws(
    () => parseConfig(deep(maximumConfigDepth - 1), 'lambda-extension.json'),
    (error: unknown) => error instanceof CliError && error.code === 'E_CONFIG_INVALID',
  );
  assert.throws(
    () => parseConfig(deep(100_000), 'lambda-extension.json'),
    (error: unknown) => error instanceof CliError && error.code === 'E_CONFIG_TOO_LARGE',
  );
});
