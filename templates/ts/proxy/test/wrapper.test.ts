/**
 * The wrapper script (wrapper.sh, /opt/<name>-wrapper in the layer) and the
 * extension must agree on the port's variable and default, and Lambda can
 * only run the script with a "#!" line and LF line endings.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { defaultPort } from '../src/config.js';
import { settingsPrefixFor } from '../src/extension.js';

// The tests run from .test-build/test/: the project is two folders up.
const project = new URL('../../', import.meta.url);

test('wrapper.sh reads the port the extension listens on, and execs the runtime', () => {
  const { name } = JSON.parse(readFileSync(new URL('lambda-extension.json', project), 'utf8')) as { name: string };
  const script = readFileSync(new URL('wrapper.sh', project), 'utf8');
  assert.ok(script.startsWith('#!/bin/sh\n'), 'starts with #!/bin/sh and an LF');
  assert.equal(script.includes('\r'), false, 'CR characters: Lambda fails to start the script (keep .gitattributes)');
  assert.ok(script.includes(`\${${settingsPrefixFor(name)}PORT:-${defaultPort}}`), 'the same variable and default as src/config.ts');
  assert.ok(script.includes('exec "$@"'), 'without exec "$@" the runtime never starts');
});
