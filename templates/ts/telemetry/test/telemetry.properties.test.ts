import assert from 'node:assert/strict';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError, loadConfig, parseHeaders, reservedPort } from '../src/config.js';
import { ownOutputFilter, TelemetryListener } from '../src/listener.js';
import { BoundedQueue } from '../src/queue.js';

// A fixed seed keeps `npm test` repeatable; FUZZ_SEED=<n> replays a failure or explores further.
fc.configureGlobal({ seed: Number(process.env['FUZZ_SEED'] ?? 1), ...fc.readConfigureGlobal() });

const record = fc.oneof(fc.string(), fc.jsonValue(), fc.record({ extension: fc.oneof(fc.constantFrom('my-ext'), fc.string()), message: fc.string() }, { requiredKeys: [] }));
const envelope = fc.record(
  {
    time: fc.oneof(fc.constantFrom('2022-10-12T00:00:00.000Z'), fc.jsonValue()),
    type: fc.oneof(fc.constantFrom('function', 'extension', 'platform.start', 'platform.report'), fc.jsonValue()),
    record,
  },
  { requiredKeys: [] },
);
const batchBody = fc.oneof(
  fc.array(envelope, { maxLength: 10 }).map((batch) => JSON.stringify(batch)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string(),
);

test('property: the listener answers 200 exactly for a JSON array of objects, else 400, and never fails', async (t) => {
  const queue = new BoundedQueue(100_000, 64 * 1024 * 1024);
  const listener = new TelemetryListener(queue, 'my-ext');
  const port = await listener.listen(0, () => Promise.reject(new Error('not on Lambda')));
  t.after(() => listener.close());
  await fc.assert(
    fc.asyncProperty(batchBody, async (body) => {
      const response = await fetch(`http://127.0.0.1:${port}/telemetry`, { method: 'POST', body });
      await response.arrayBuffer();
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      const isBatch = Array.isArray(parsed) && parsed.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item));
      assert.equal(response.status, isBatch ? 200 : 400, body);
    }),
  );
});

test('property: own output is recognised only in extension records, and never for an empty name', () => {
  const mine = ownOutputFilter('my-ext');
  const nobody = ownOutputFilter('');
  fc.assert(
    fc.property(envelope, (candidate) => {
      if (mine(candidate)) assert.equal(candidate.type, 'extension');
      assert.equal(nobody(candidate), false);
    }),
  );
});

test('an empty name claims no record, not even one whose extension is empty (found by the property above)', () => {
  assert.equal(ownOutputFilter('')({ type: 'extension', record: { extension: '' } }), false);
  assert.equal(ownOutputFilter('')({ type: 'extension', record: '{"extension":""}' }), false);
  assert.equal(ownOutputFilter('my-ext')({ type: 'extension', record: { extension: 'my-ext' } }), true);
});

const settingKeys = [
  'LOG_LEVEL', 'PORT', 'BUFFER_MAX_ITEMS', 'BUFFER_MAX_BYTES', 'BUFFER_TIMEOUT_MS', 'QUEUE_MAX_RECORDS', 'QUEUE_MAX_BYTES',
  'FLUSH_MIN_RECORDS', 'FLUSH_MAX_WAIT_MS', 'FLUSH_INTERVAL_MS', 'SINK', 'HTTP_TIMEOUT_MS', 'HTTP_HEADERS', 'HTTP_URL',
];
// Environment values can hold any character but NUL.
const anyText = fc.string({ unit: 'binary' }).map((value) => value.replaceAll('\0', ''));
const settingValue = fc.oneof(fc.string(), anyText, fc.nat().map(String), fc.integer().map(String), fc.constantFrom('debug', 'http', 'stdout', 'https://example.com', '9001', ' 80 ', '1e3'));

test('property: random settings give a config within range or one ConfigError naming the variables', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...settingKeys), settingValue), (settings) => {
      const env = Object.fromEntries(Object.entries(settings).map(([key, value]) => [`MY_EXT_${key}`, value]));
      let config;
      try {
        config = loadConfig('MY_EXT_', env, { heapLimitBytes: 4 * 1024 * 1024 * 1024 });
      } catch (error) {
        assert.ok(error instanceof ConfigError, `loadConfig threw ${String(error)}`);
        for (const problem of error.problems) assert.match(problem, /^MY_EXT_/);
        return;
      }
      assert.ok(Number.isInteger(config.port) && config.port >= 0 && config.port <= 65535 && config.port !== reservedPort);
      assert.ok(config.sink === 'stdout' || config.sink === 'http');
      if (config.sink === 'http') assert.match(config.httpUrl ?? '', /^https?:\/\//i);
      for (const [name, value] of Object.entries(config.httpHeaders)) {
        validateHeaderName(name);
        validateHeaderValue(name, value);
      }
    }),
  );
});

test('property: every header parseHeaders accepts can be sent', () => {
  const pair = fc.tuple(fc.oneof(fc.constantFrom('Authorization', 'X-Team', 'bad name', ''), fc.string()), fc.oneof(fc.string(), anyText)).map(([name, value]) => `${name}=${value}`);
  fc.assert(
    fc.property(fc.oneof(fc.array(pair, { maxLength: 4 }).map((pairs) => pairs.join(',')), anyText), (value) => {
      const headers = parseHeaders(value);
      if (headers === undefined) return;
      for (const [name, headerValue] of Object.entries(headers)) {
        assert.doesNotThrow(() => validateHeaderName(name), `accepted the header name ${JSON.stringify(name)}`);
        assert.doesNotThrow(() => validateHeaderValue(name, headerValue), `accepted the header value ${JSON.stringify(headerValue)}`);
      }
    }),
  );
});
