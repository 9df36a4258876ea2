import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, defaults, loadConfig, parseHeaders } from '../src/config.js';

const load = (env: Record<string, string>) => loadConfig('MY_EXT_', env);

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  return assert.fail('expected a ConfigError');
}

test('defaults: stdout sink, port 4243, documented buffering, bounded queue', () => {
  assert.deepEqual(load({}), {
    logLevel: undefined,
    port: 4243,
    buffering: { maxItems: 1000, maxBytes: 262144, timeoutMs: 100 },
    queueMaxRecords: 20000,
    queueMaxBytes: 8 * 1024 * 1024,
    sink: 'stdout',
    httpUrl: undefined,
    httpHeaders: {},
    httpTimeoutMs: 2000,
  });
  assert.equal(defaults.port, 4243);
});

test('every variable is read with the prefix; unprefixed ones belong to the function', () => {
  const config = load({
    PORT: '1234',
    MY_EXT_PORT: '0',
    MY_EXT_SINK: 'HTTP',
    MY_EXT_HTTP_URL: 'https://logs.example.com/ingest',
    MY_EXT_HTTP_HEADERS: 'Authorization=Bearer a=b, X-Team=obs',
    MY_EXT_HTTP_TIMEOUT_MS: '500',
    MY_EXT_BUFFER_MAX_ITEMS: '10000',
    MY_EXT_BUFFER_MAX_BYTES: '1048576',
    MY_EXT_BUFFER_TIMEOUT_MS: '25',
    MY_EXT_QUEUE_MAX_RECORDS: '100',
    MY_EXT_QUEUE_MAX_BYTES: '1048576',
    MY_EXT_LOG_LEVEL: 'debug',
  });
  assert.equal(config.port, 0);
  assert.equal(config.sink, 'http');
  assert.equal(config.httpUrl, 'https://logs.example.com/ingest');
  assert.deepEqual(config.httpHeaders, { authorization: 'Bearer a=b', 'x-team': 'obs' });
  assert.equal(config.httpTimeoutMs, 500);
  assert.deepEqual(config.buffering, { maxItems: 10000, maxBytes: 1048576, timeoutMs: 25 });
  assert.equal(config.queueMaxRecords, 100);
  assert.equal(config.logLevel, 'debug');
});

test('buffering outside the documented ranges is refused', () => {
  const problems = problemsOf({ MY_EXT_BUFFER_MAX_ITEMS: '999', MY_EXT_BUFFER_MAX_BYTES: '1048577', MY_EXT_BUFFER_TIMEOUT_MS: '24' });
  assert.deepEqual(problems, [
    'MY_EXT_BUFFER_MAX_ITEMS="999": want a whole number from 1000 to 10000',
    'MY_EXT_BUFFER_MAX_BYTES="1048577": want a whole number from 262144 to 1048576',
    'MY_EXT_BUFFER_TIMEOUT_MS="24": want a whole number from 25 to 30000',
  ]);
});

test('port 9001 belongs to Lambda', () => {
  assert.match(problemsOf({ MY_EXT_PORT: '9001' })[0] ?? '', /MY_EXT_PORT="9001": port 9001 is reserved by Lambda/);
});

test('all problems are reported at once, and a header value (maybe a secret) is never repeated', () => {
  const problems = problemsOf({
    MY_EXT_SINK: 'kafka',
    MY_EXT_PORT: 'abc',
    MY_EXT_LOG_LEVEL: 'loud',
    MY_EXT_HTTP_HEADERS: 'secret-token-without-name',
    MY_EXT_QUEUE_MAX_RECORDS: '1.5',
  });
  assert.equal(problems.length, 5);
  assert.ok(problems.every((problem) => problem.startsWith('MY_EXT_')));
  assert.ok(!problems.join(' ').includes('secret-token'));
});

test('the http sink needs an http(s) URL', () => {
  assert.match(problemsOf({ MY_EXT_SINK: 'http' })[0] ?? '', /MY_EXT_HTTP_URL is not set/);
  assert.match(problemsOf({ MY_EXT_SINK: 'http', MY_EXT_HTTP_URL: 'ftp://x' })[0] ?? '', /want an http:\/\/ or https:\/\/ URL/);
});

test('header pairs: names must be tokens', () => {
  assert.deepEqual(parseHeaders('A=1,,B = 2 '), { a: '1', b: '2' });
  assert.equal(parseHeaders('Bad Name=1'), undefined);
  assert.equal(parseHeaders('=1'), undefined);
});
