import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { ConfigError, defaults, heapPerQueuedByte, loadConfig, parseHeaders } from '../src/config.js';
import { defaultFlush, parseFlush } from '../src/flush.js';

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

test('defaults: stdout sink, a free port (two extensions never collide), documented buffering, bounded queue', () => {
  assert.deepEqual(load({}), {
    logLevel: undefined,
    port: 0,
    buffering: { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 },
    queueMaxRecords: 20000,
    queueMaxBytes: 8 * 1024 * 1024,
    sink: 'stdout',
    httpUrl: undefined,
    httpHeaders: {},
    httpTimeoutMs: 2000,
    flushMinRecords: 1,
    flushMaxWaitMs: 10000,
    flushIntervalMs: 1000,
    flush: parseFlush(defaultFlush),
  });
  assert.equal(defaults.port, 0);
});

test('FLUSH overrides the strategy chosen at create, which lambda-extension.json records', () => {
  const project = JSON.parse(readFileSync(new URL('../../lambda-extension.json', import.meta.url), 'utf8')) as { telemetry: { flush: string } };
  assert.equal(defaultFlush, project.telemetry.flush);
  assert.deepEqual(load({ MY_EXT_FLUSH: ' Periodic:2000 ' }).flush, { mode: 'periodic', intervalMs: 2000 });
  assert.deepEqual(load({ MY_EXT_FLUSH: 'end' }).flush, { mode: 'end' });
  for (const bad of ['periodic', 'periodic:10', 'periodic:600001', 'sometimes']) {
    assert.throws(() => load({ MY_EXT_FLUSH: bad }), new RegExp(`MY_EXT_FLUSH="${bad}"`));
  }
});

test('FLUSH_MIN_RECORDS and FLUSH_MAX_WAIT_MS are read and checked', () => {
  const config = load({ MY_EXT_FLUSH_MIN_RECORDS: '200', MY_EXT_FLUSH_MAX_WAIT_MS: '5000' });
  assert.equal(config.flushMinRecords, 200);
  assert.equal(config.flushMaxWaitMs, 5000);
  assert.throws(() => load({ MY_EXT_FLUSH_MIN_RECORDS: '0' }), /MY_EXT_FLUSH_MIN_RECORDS="0"/);
});

test('FLUSH_INTERVAL_MS is read and checked', () => {
  assert.equal(load({ MY_EXT_FLUSH_INTERVAL_MS: '250' }).flushIntervalMs, 250);
  assert.throws(() => load({ MY_EXT_FLUSH_INTERVAL_MS: '10' }), /MY_EXT_FLUSH_INTERVAL_MS="10"/);
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

test('QUEUE_MAX_BYTES must fit in a quarter of the heap limit of the running node', () => {
  // The test runner's heap is larger than the 64 MB nodeOptions gives the extension: compute its limit.
  const allowed = Math.floor(v8.getHeapStatistics().heap_size_limit / heapPerQueuedByte);
  const fitting = Math.min(allowed, 512 * 1024 * 1024);
  assert.equal(load({ MY_EXT_QUEUE_MAX_BYTES: String(fitting) }).queueMaxBytes, fitting);
  if (allowed < 512 * 1024 * 1024) {
    const problems = problemsOf({ MY_EXT_QUEUE_MAX_BYTES: String(allowed + 1) });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', new RegExp(`at most ${allowed} bytes`));
  }
});

test('with the 64 MB heap of nodeOptions, a large queue is refused with the fix, before it could crash the extension', () => {
  // node --max-old-space-size=64 --max-semi-space-size=1 reports a heap_size_limit of 67 MiB.
  const heapLimitBytes = 67 * 1024 * 1024;
  const loadWithHeap = (env: Record<string, string>) => loadConfig('MY_EXT_', env, { heapLimitBytes });
  assert.equal(loadWithHeap({}).queueMaxBytes, defaults.queueMaxBytes, 'the default fits');
  assert.equal(loadWithHeap({ MY_EXT_QUEUE_MAX_BYTES: String(heapLimitBytes / 4) }).queueMaxBytes, heapLimitBytes / 4);
  let problems: string[] = [];
  try {
    loadWithHeap({ MY_EXT_QUEUE_MAX_BYTES: String(256 * 1024 * 1024), MY_EXT_PORT: '9001' });
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    problems = error.problems;
  }
  assert.equal(problems.length, 2, 'reported with the other problems');
  const problem = problems.find((text) => text.includes('QUEUE_MAX_BYTES')) ?? '';
  assert.match(problem, /^MY_EXT_QUEUE_MAX_BYTES="268435456": /);
  assert.match(problem, /heap limit is 67 MiB/);
  assert.match(problem, new RegExp(`at most ${heapLimitBytes / 4} bytes`));
  assert.match(problem, /raise --max-old-space-size in nodeOptions in lambda-extension\.json, or lower MY_EXT_QUEUE_MAX_BYTES$/);
  // A heap too small even for the default says so.
  assert.match(
    (() => {
      try {
        loadConfig('MY_EXT_', {}, { heapLimitBytes: 16 * 1024 * 1024 });
      } catch (error) {
        return String((error as Error).message);
      }
      return '';
    })(),
    /MY_EXT_QUEUE_MAX_BYTES \(default 8388608\): /,
  );
});

test('parseHeaders refuses values node cannot send (found by the property test)', () => {
  for (const value of ['Authorization=Ā', 'X-Key=a\u0000b', 'X-Key=a\r\nInjected: 1', 'X-Key=\u007f']) {
    assert.equal(parseHeaders(value), undefined, JSON.stringify(value));
  }
  assert.deepEqual(parseHeaders('X-Key=a\tb,X-Latin=é'), { 'x-key': 'a\tb', 'x-latin': 'é' });
});
