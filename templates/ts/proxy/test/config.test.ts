import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, defaultPort, loadConfig } from '../src/config.js';

test('the defaults', () => {
  assert.deepEqual(loadConfig('MY_EXT_', {}), { port: defaultPort });
});

test('a port and a log level', () => {
  assert.deepEqual(loadConfig('MY_EXT_', { MY_EXT_PORT: ' 8123 ', MY_EXT_LOG_LEVEL: 'debug' }), { port: 8123, logLevel: 'debug' });
});

test('every refused variable is named at once', () => {
  for (const port of ['0', '65536', '9001', 'port', '-1', '1e3']) {
    assert.throws(() => loadConfig('MY_EXT_', { MY_EXT_PORT: port }), (error: unknown) => error instanceof ConfigError && error.message.includes('MY_EXT_PORT'), port);
  }
  assert.throws(
    () => loadConfig('MY_EXT_', { MY_EXT_PORT: 'x', MY_EXT_LOG_LEVEL: 'loud' }),
    (error: unknown) => error instanceof ConfigError && /MY_EXT_PORT/.test(error.message) && /MY_EXT_LOG_LEVEL/.test(error.message),
  );
});
