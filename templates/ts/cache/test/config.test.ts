import assert from 'node:assert/strict';
import { test } from 'node:test';
import { caching, ConfigError, defaults, loadConfig } from '../src/config.js';

test('the defaults are those of AWS’s extension', () => {
  const config = loadConfig('MY_EXT_', {});
  assert.deepEqual(config, defaults);
  assert.equal(config.port, 2773);
  assert.equal(config.ssmTtlMs, 300_000);
  assert.equal(config.cacheSize, 1000);
  assert.equal(config.staleOnError, false, 'stale secrets are a choice to make, not a default');
  assert.ok(caching(config));
});

test('every setting is read', () => {
  const config = loadConfig('MY_EXT_', {
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2774',
    PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: 'TRUE',
    PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE: '50',
    PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS: '8',
    PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: 'DEBUG',
    SSM_PARAMETER_STORE_TTL: '60',
    SECRETS_MANAGER_TTL: '90s',
    SSM_PARAMETER_STORE_TIMEOUT_MILLIS: '1500',
    SECRETS_MANAGER_TIMEOUT_MILLIS: '2500',
    MY_EXT_CACHE_MAX_BYTES: '1048576',
    MY_EXT_STALE_ON_ERROR: 'true',
  });
  assert.deepEqual(config, {
    port: 2774,
    cacheEnabled: true,
    cacheSize: 50,
    cacheMaxBytes: 1048576,
    ssmTtlMs: 60_000,
    secretsTtlMs: 90_000,
    ssmTimeoutMs: 1500,
    secretsTimeoutMs: 2500,
    maxConnections: 8,
    logLevel: 'debug',
    staleOnError: true,
  });
  assert.equal(loadConfig('MY_EXT_', { PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: 'none' }).logLevel, undefined);
});

test('every problem is named at once', () => {
  const env = {
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '9001',
    PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE: '1001',
    SSM_PARAMETER_STORE_TTL: '301',
    SECRETS_MANAGER_TTL: '-5',
    PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: 'loud',
    MY_EXT_STALE_ON_ERROR: 'maybe',
  };
  assert.throws(
    () => loadConfig('MY_EXT_', env),
    (error) => error instanceof ConfigError && Object.keys(env).every((key) => error.message.includes(key)),
  );
});

test('the cache keeps within a quarter of the function’s memory', () => {
  assert.equal(loadConfig('MY_EXT_', { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '32' }).cacheMaxBytes, 8 * 1024 * 1024);
  assert.throws(() => loadConfig('MY_EXT_', { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '32', MY_EXT_CACHE_MAX_BYTES: '16777216' }), /MY_EXT_CACHE_MAX_BYTES/);
});

test('caching is off as AWS’s extension turns it off', () => {
  for (const env of [{ PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: 'false' }, { PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE: '0' }, { SSM_PARAMETER_STORE_TTL: '0', SECRETS_MANAGER_TTL: '0' }]) {
    assert.equal(caching(loadConfig('MY_EXT_', env)), false, JSON.stringify(env));
  }
});
