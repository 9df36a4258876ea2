import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { BoundedQueue } from '../src/queue.js';
import { Shipper } from '../src/shipper.js';
import { HttpSink, maxRetryAfterMs, PermanentError, retryAfterMs, RetryLaterError, StdoutSink, TooLargeError } from '../src/sinks.js';
import { records, startDestination, type Destination } from '../test-support/telemetry.js';

async function destination(t: TestContext, answer?: Parameters<typeof startDestination>[0]): Promise<Destination> {
  const started = await startDestination(answer);
  t.after(() => started.close());
  return started;
}

function httpSink(t: TestContext, url: string, timeoutMs = 2000): HttpSink {
  const sink = new HttpSink({ url, headers: { authorization: 'Bearer abc' }, timeoutMs, userAgent: 'my-ext/1.2.3' });
  t.after(() => sink.close());
  return sink;
}

const never = new AbortController().signal;

test('the http sink POSTs a gzip-compressed JSON array of the envelopes, with its headers', async (t) => {
  const server = await destination(t);
  const batch = records(3);
  await httpSink(t, server.url).send(batch, never, 'batch-1');
  const [request] = server.requests;
  assert.equal(request?.headers['content-encoding'], 'gzip');
  assert.equal(request?.headers['content-type'], 'application/json');
  assert.equal(request?.headers['authorization'], 'Bearer abc');
  assert.equal(request?.headers['user-agent'], 'my-ext/1.2.3');
  assert.equal(request?.headers['idempotency-key'], 'batch-1');
  assert.equal(request?.body[0], 0x1f, 'gzip magic number');
  assert.equal(request?.body[1], 0x8b);
  assert.deepEqual(
    request?.json,
    batch.map((record) => JSON.parse(record.json)),
  );
});

test('401, 403, 404, 408, 429 and 5xx are retryable; 413 is TooLargeError; other 4xx are permanent', async (t) => {
  const statuses = [500, 503, 429, 408, 401, 403, 404, 400, 422, 413];
  const server = await destination(t, (call) => ({ status: statuses[call - 1] ?? 200 }));
  const sink = httpSink(t, server.url);
  for (const status of statuses) {
    const error = await sink.send(records(1), never, 'batch-1').then(
      () => assert.fail(`${status} should fail`),
      (caught: unknown) => caught,
    );
    assert.equal(error instanceof PermanentError, status === 400 || status === 422, `status ${status}`);
    assert.equal(error instanceof TooLargeError, status === 413, `status ${status}`);
    assert.match(String((error as Error).message), new RegExp(`answered ${status}`));
  }
});

test('through the shipper: a 503 then a 200 ships the batch once, after one retry in the final flush', async (t) => {
  const server = await destination(t, (call) => ({ status: call === 1 ? 503 : 200 }));
  const queue = new BoundedQueue(100, 1e6);
  queue.push(records(4));
  const shipper = new Shipper(queue, httpSink(t, server.url), { retry: { attempts: 3, firstBackoffMs: 20, maxBackoffMs: 40 } });
  assert.equal(await shipper.flush({ deadline: Date.now() + 2000, final: true }), true);
  assert.equal(server.requests.length, 2);
  assert.equal(shipper.counts.shipped, 4);
  assert.equal(shipper.counts.failedSends, 1);
});

test('through the shipper: a per-invoke flush sends once on a 503 and keeps the batch for later', async (t) => {
  const server = await destination(t, (call) => ({ status: call === 1 ? 503 : 200 }));
  const queue = new BoundedQueue(100, 1e6);
  queue.push(records(4));
  const shipper = new Shipper(queue, httpSink(t, server.url), { retry: { attempts: 3, firstBackoffMs: 20, maxBackoffMs: 40 } });
  assert.equal(await shipper.flush({ deadline: Date.now() + 2000 }), false);
  assert.equal(server.requests.length, 1);
  assert.equal(queue.length, 4);
  assert.equal(shipper.paused, true);
});

test('a slow destination hits the per-request timeout', async (t) => {
  const server = await destination(t, () => ({ status: 200, delayMs: 2000 }));
  const started = Date.now();
  await assert.rejects(httpSink(t, server.url, 150).send(records(1), never, 'batch-1'), /timed out/);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 140 && elapsed < 1900, `gave up after ${elapsed} ms`);
});

test('a destination slower than the deadline: the flush returns at the deadline and keeps the records', async (t) => {
  const server = await destination(t, () => 'hang');
  const queue = new BoundedQueue(100, 1e6);
  queue.push(records(2));
  const shipper = new Shipper(queue, httpSink(t, server.url, 10_000));
  const started = Date.now();
  assert.equal(await shipper.flush({ deadline: started + 200 }), false);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 190 && elapsed < 3000, `returned after ${elapsed} ms`);
  assert.equal(queue.length, 2);
  assert.equal(shipper.failing, true);
  assert.match(shipper.counts.lastError ?? '', /deadline/);
});

test('a dead destination fails fast with the connection error', async (t) => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const started = Date.now();
  await assert.rejects(httpSink(t, `http://127.0.0.1:${port}/x`).send(records(1), never, 'batch-1'), /ECONNREFUSED/);
  assert.ok(Date.now() - started < 500);
});

test('the stdout sink writes one line per record, each marked as this extension', async () => {
  const written: string[] = [];
  const sink = new StdoutSink('my-ext', (text, done) => {
    written.push(text);
    done();
  });
  const batch = records(2);
  await sink.send(batch, never);
  assert.equal(written.length, 1, 'one write per batch');
  const lines = written[0]!.split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(
    lines.map((line) => JSON.parse(line)),
    batch.map((record) => ({ extension: 'my-ext', ...JSON.parse(record.json) })),
  );
  assert.ok(lines.every((line) => line.startsWith('{"extension":"my-ext",')));
});

test('a 3xx is never followed: the batch stays queued, sends pause, and the error names the Location', async (t) => {
  for (const status of [301, 302, 303, 307, 308]) {
    const server = await destination(t, (call) => (call === 1 ? { status, headers: { location: '/moved' } } : { status: 200 }));
    const queue = new BoundedQueue(100, 1e6);
    queue.push(records(4));
    const shipper = new Shipper(queue, httpSink(t, server.url));
    assert.equal(await shipper.flush({ deadline: Date.now() + 2000 }), false, `status ${status}`);
    assert.deepEqual(
      server.requests.map((request) => [request.method, request.url]),
      [['POST', '/ingest']],
      `status ${status}: nothing sent to the Location`,
    );
    assert.equal(queue.length, 4, `status ${status}: the batch is kept`);
    assert.equal(shipper.counts.discarded, 0);
    assert.equal(shipper.paused, true);
    assert.match(shipper.counts.lastError ?? '', new RegExp(`answered ${status}, redirecting to /moved`));
  }
});

test('Retry-After on a 429 or 503 is read as the least pause (seconds or a date), capped; other statuses ignore it', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(retryAfterMs('120', now), 120_000);
  assert.equal(retryAfterMs(' 0 ', now), 0);
  assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(retryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a date in the past: no wait');
  assert.equal(retryAfterMs('999999', now), maxRetryAfterMs);
  assert.equal(retryAfterMs('soon', now), undefined);
  assert.equal(retryAfterMs(undefined, now), undefined);
  const statuses = [429, 503, 500];
  const server = await destination(t, (call) => ({ status: statuses[call - 1] ?? 200, headers: { 'retry-after': '7' } }));
  const sink = httpSink(t, server.url);
  for (const status of statuses) {
    const error: unknown = await sink.send(records(1), never, 'batch-1').then(
      () => assert.fail(`${status} should fail`),
      (caught: unknown) => caught,
    );
    assert.equal(error instanceof RetryLaterError ? error.retryAfterMs : undefined, status === 500 ? undefined : 7000, `status ${status}`);
  }
});

test('a kept-alive socket the destination closed is retried once on a new connection, at no cost', async (t) => {
  let requests = 0;
  const connections = new Set<unknown>();
  const server = http.createServer((request, response) => {
    requests += 1;
    connections.add(request.socket);
    request.resume();
    // The second request comes on the kept-alive socket: close it unanswered, as a server that timed it out would.
    if (requests === 2) return void request.socket.destroy();
    request.on('end', () => response.writeHead(200).end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const sink = httpSink(t, `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
  await sink.send(records(1), never, 'batch-1');
  await sink.send(records(1), never, 'batch-2');
  assert.equal(requests, 3, 'the stale socket was retried once');
  assert.equal(connections.size, 2, 'on a new connection');
});
