import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import {
  parseTelemetryRequest,
  TelemetrySubscriber,
  type TelemetryEnvelope,
  type TelemetryRequest,
} from '../../src/core/emulator/telemetry/index.js';
import { freePort } from '../helpers/emulator-fixtures.js';

interface Listener {
  port: number;
  batches: { body: string; records: TelemetryEnvelope[] }[];
  close(): Promise<void>;
}

function listen(port = 0): Promise<Listener> {
  const batches: Listener['batches'] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      assert.equal(request.method, 'POST');
      batches.push({ body, records: JSON.parse(body) as TelemetryEnvelope[] });
      response.writeHead(200);
      response.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        batches,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

function subscription(port: number, buffering: TelemetryRequest['buffering']): TelemetryRequest {
  const parsed = parseTelemetryRequest(
    JSON.stringify({
      schemaVersion: '2025-01-29',
      types: ['platform', 'function'],
      buffering,
      destination: { protocol: 'HTTP', URI: `http://sandbox.localdomain:${port}/in` },
    }),
    [],
  );
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
  return parsed.request;
}

const record = (index: number, padding = 0): TelemetryEnvelope => ({
  time: new Date().toISOString(),
  type: 'function',
  record: `line ${index} ${'x'.repeat(padding)}`,
});
const indexes = (listener: Listener) =>
  listener.batches.flatMap((batch) => batch.records.map((entry) => Number(String(entry.record).split(' ')[1])));
const waitFor = async (predicate: () => boolean, ms = 3000) => {
  const deadline = Date.now() + scaled(ms);
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

test('parseTelemetryRequest: defaults, sandbox mapped to loopback, schema versions', () => {
  for (const schemaVersion of ['2022-07-01', '2022-12-13', '2025-01-29']) {
    const parsed = parseTelemetryRequest(
      JSON.stringify({
        schemaVersion,
        types: ['extension'],
        destination: { protocol: 'HTTP', URI: 'http://sandbox:4243' },
      }),
      [],
    );
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.request.buffering, { maxItems: 10000, maxBytes: 262144, timeoutMs: 1000 });
    assert.deepEqual(parsed.request.target, { host: '127.0.0.1', port: 4243, path: '/' });
  }
  const tcp = parseTelemetryRequest(
    JSON.stringify({ schemaVersion: '2022-07-01', types: ['platform'], destination: { protocol: 'TCP', port: 4243 } }),
    [],
  );
  assert.equal(tcp.ok, false);
  const reserved = parseTelemetryRequest(
    JSON.stringify({
      schemaVersion: '2022-07-01',
      types: ['platform'],
      destination: { protocol: 'HTTP', URI: 'http://sandbox:5555' },
    }),
    [5555],
  );
  assert.equal(reserved.ok, false);
});

test('maxItems: full batches go out at once, never larger than maxItems, order kept', async () => {
  const listener = await listen();
  const subscriber = new TelemetrySubscriber(
    't',
    subscription(listener.port, { maxItems: 1000, maxBytes: 1048576, timeoutMs: 30000 }),
    1 << 30,
    () => undefined,
  );
  try {
    for (let index = 0; index < 2500; index += 1) subscriber.push(record(index));
    // Two full batches go without waiting for the 30 s timeout.
    await waitFor(() => listener.batches.length === 2);
    assert.deepEqual(
      listener.batches.map((batch) => batch.records.length),
      [1000, 1000],
    );
    // The rest waits for timeoutMs, or for a flush (Shutdown).
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(listener.batches.length, 2);
    assert.equal(await subscriber.flush(Date.now() + scaled(2000)), true);
    assert.deepEqual(
      listener.batches.map((batch) => batch.records.length),
      [1000, 1000, 500],
    );
    assert.deepEqual(indexes(listener), [...Array(2500).keys()]);
  } finally {
    subscriber.close();
    await listener.close();
  }
});

test('maxBytes: no batch body exceeds maxBytes', async () => {
  const listener = await listen();
  const subscriber = new TelemetrySubscriber(
    't',
    subscription(listener.port, { maxItems: 10000, maxBytes: 262144, timeoutMs: 30000 }),
    1 << 30,
    () => undefined,
  );
  try {
    for (let index = 0; index < 100; index += 1) subscriber.push(record(index, 10_000));
    await waitFor(() => listener.batches.length >= 3);
    await subscriber.flush(Date.now() + scaled(2000));
    for (const batch of listener.batches)
      assert.ok(Buffer.byteLength(batch.body) <= 262144, `${Buffer.byteLength(batch.body)} bytes`);
    assert.ok(listener.batches.length >= 4);
    assert.deepEqual(indexes(listener), [...Array(100).keys()]);
  } finally {
    subscriber.close();
    await listener.close();
  }
});

test('timeoutMs: a partial batch goes out after timeoutMs', async () => {
  const listener = await listen();
  const subscriber = new TelemetrySubscriber(
    't',
    subscription(listener.port, { maxItems: 1000, maxBytes: 262144, timeoutMs: 100 }),
    1 << 30,
    () => undefined,
  );
  try {
    const start = Date.now();
    for (let index = 0; index < 3; index += 1) subscriber.push(record(index));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(listener.batches.length, 0);
    await waitFor(() => listener.batches.length === 1);
    assert.ok(Date.now() - start >= 100);
    assert.equal(listener.batches[0]!.records.length, 3);
  } finally {
    subscriber.close();
    await listener.close();
  }
});

test('a listener that is down for a while loses nothing (retries with backoff)', async () => {
  const port = await freePort();
  const problems: string[] = [];
  const subscriber = new TelemetrySubscriber(
    't',
    subscription(port, { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 }),
    1 << 30,
    (message) => problems.push(message),
  );
  let listener: Listener | undefined;
  try {
    for (let index = 0; index < 30; index += 1) {
      subscriber.push(record(index));
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    assert.ok(subscriber.stats.failedAttempts > 0);
    assert.match(problems[0] ?? '', /unreachable/);
    listener = await listen(port);
    await waitFor(() => indexes(listener!).length === 30);
    assert.deepEqual(indexes(listener), [...Array(30).keys()]);
    assert.equal(subscriber.stats.droppedRecords, 0);
  } finally {
    subscriber.close();
    await listener?.close();
  }
});

test('a full buffer drops records and reports platform.logsDropped in their place', async () => {
  const port = await freePort();
  const subscriber = new TelemetrySubscriber(
    't',
    subscription(port, { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 }),
    5000,
    () => undefined,
  );
  let listener: Listener | undefined;
  try {
    for (let index = 0; index < 100; index += 1) subscriber.push(record(index, 100));
    assert.ok(subscriber.stats.droppedRecords > 0);
    const kept = 100 - subscriber.stats.droppedRecords;
    listener = await listen(port);
    await waitFor(() => indexes(listener!).length >= kept);
    subscriber.push(record(100));
    await waitFor(() =>
      listener!.batches.flatMap((batch) => batch.records).some((entry) => entry.type === 'platform.logsDropped'),
    );
    const all = listener.batches.flatMap((batch) => batch.records);
    const dropped = all.find((entry) => entry.type === 'platform.logsDropped')!;
    assert.equal((dropped.record as { droppedRecords: number }).droppedRecords, subscriber.stats.droppedRecords);
    assert.equal(all.at(-1)!.record, 'line 100 ');
  } finally {
    subscriber.close();
    await listener?.close();
  }
});

test('timeoutMs at its floor, 25 ms: a partial batch waits that long, not less, then goes', async () => {
  const listener = await listen();
  const subscriber = new TelemetrySubscriber(
    't',
    subscription(listener.port, { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 }),
    1 << 30,
    () => undefined,
  );
  try {
    for (let round = 0; round < 3; round += 1) {
      const before = listener.batches.length;
      const start = performance.now();
      subscriber.push(record(round));
      subscriber.push(record(round + 100));
      await waitFor(() => listener.batches.length === before + 1);
      const waited = performance.now() - start;
      // Node's timers fire at the delay or later; the upper bound only says it was not the 1 s default.
      assert.ok(waited >= 24, `sent after ${waited.toFixed(1)} ms`);
      assert.ok(waited < scaled(1000), `sent after ${waited.toFixed(1)} ms`);
      assert.equal(listener.batches.at(-1)!.records.length, 2);
    }
  } finally {
    subscriber.close();
    await listener.close();
  }
});

test("buffering: each of Lambda's bounds is accepted, one past it refused, as are non-integers", () => {
  const parse = (buffering: Record<string, unknown>) =>
    parseTelemetryRequest(
      JSON.stringify({
        schemaVersion: '2025-01-29',
        types: ['function'],
        buffering,
        destination: { protocol: 'HTTP', URI: 'http://sandbox:4243' },
      }),
      [],
    );
  const bounds = { maxItems: [1000, 10000], maxBytes: [262144, 1048576], timeoutMs: [25, 30000] };
  for (const [key, [minimum, maximum]] of Object.entries(bounds) as [string, [number, number]][]) {
    for (const value of [minimum, maximum]) {
      const parsed = parse({ [key]: value });
      assert.ok(parsed.ok, `${key} ${value}`);
      assert.equal(parsed.request.buffering[key as keyof typeof bounds], value);
    }
    for (const value of [minimum - 1, maximum + 1, minimum + 0.5, String(minimum)]) {
      const parsed = parse({ [key]: value });
      assert.equal(parsed.ok, false, `${key} ${String(value)}`);
      assert.match(parsed.ok ? '' : parsed.message, new RegExp(`buffering\\.${key} must be an integer between`, 'u'));
    }
  }
});
