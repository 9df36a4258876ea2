import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { defaults } from '../src/config.js';
import { hostsFileAddress, loopback, maxBatchBodyBytes, ownOutputFilter, sandboxHost, TelemetryListener } from '../src/listener.js';
import { BoundedQueue } from '../src/queue.js';
import { deliver, envelope, functionLine } from '../test-support/telemetry.js';

async function start(t: TestContext, queue = new BoundedQueue(1000, 1_000_000)) {
  const listener = new TelemetryListener(queue, 'my-ext');
  const port = await listener.listen(0, () => Promise.reject(new Error('not on Lambda')));
  t.after(() => listener.close());
  return { listener, port, queue };
}

test('a delivery is queued and answered 200', async (t) => {
  const { listener, port, queue } = await start(t);
  const reply = await deliver(port, [functionLine('hello'), envelope('platform.start', { requestId: 'r-1' })]);
  assert.equal(reply.status, 200);
  assert.equal(queue.length, 2);
  assert.deepEqual(JSON.parse(queue.take(10, 1e6)[1]!.json), envelope('platform.start', { requestId: 'r-1' }));
  assert.equal(listener.counts.received, 2);
  assert.equal(listener.arrivals, 1);
});

test('with the queue full it still answers at once, dropping the oldest records', async (t) => {
  const { listener, port, queue } = await start(t, new BoundedQueue(100, 1_000_000));
  const batch = Array.from({ length: 1000 }, (_, index) => functionLine(`line ${index} ${'x'.repeat(100)}`));
  const times: number[] = [];
  for (let delivery = 0; delivery < 5; delivery += 1) {
    const reply = await deliver(port, batch);
    assert.equal(reply.status, 200);
    times.push(reply.ms);
  }
  assert.equal(queue.length, 100);
  assert.equal(queue.dropped.records, 4900);
  assert.equal(listener.counts.received, 5000);
  // Generous for a loaded CI box; a blocked listener would wait on a sink for seconds.
  assert.ok(Math.max(...times) < 1500, `answers took ${times.map((ms) => ms.toFixed(1)).join(', ')} ms`);
});

test('a delivery that is not a JSON array of records gets 400 and is counted', async (t) => {
  const { listener, port, queue } = await start(t);
  assert.equal((await deliver(port, 'not json')).status, 400);
  assert.equal((await deliver(port, { type: 'function' })).status, 400);
  assert.equal((await deliver(port, [functionLine('ok'), 'oops'])).status, 400);
  assert.equal((await deliver(port, [], 'GET')).status, 405);
  assert.equal(listener.counts.rejected, 3);
  assert.equal(queue.length, 0);
});

test("the extension's own lines are left out and counted; other extensions' lines are kept", async (t) => {
  const { listener, port, queue } = await start(t);
  const own = '{"level":"info","msg":"telemetry","extension":"my-ext","shipped":3}';
  const shipped = '{"extension":"my-ext","time":"t","type":"function","record":"hello"}';
  const other = '{"level":"info","msg":"hi","extension":"other-ext"}';
  await deliver(port, [envelope('extension', own), envelope('extension', shipped), envelope('extension', other), functionLine(own)]);
  assert.equal(listener.counts.ownLines, 2);
  assert.equal(listener.counts.received, 2);
  assert.deepEqual(
    queue.take(10, 1e6).map((record) => record.type),
    ['extension', 'function'],
  );
});

test('the own-output filter also recognises lines Lambda hands over as objects', () => {
  const isOwn = ownOutputFilter('my-ext');
  assert.equal(isOwn(envelope('extension', { extension: 'my-ext', msg: 'x' })), true);
  assert.equal(isOwn(envelope('extension', { message: '{"extension":"my-ext","msg":"x"}' })), true);
  assert.equal(isOwn(envelope('extension', { extension: 'my-ext-2' })), false);
  assert.equal(isOwn(envelope('extension', '{"extension":"my-ext-2"}')), false);
  assert.equal(isOwn(envelope('platform.extension', { name: 'my-ext' })), false);
  // Parsed, not searched: spacing does not matter, and quoting our line does not make it ours.
  assert.equal(isOwn(envelope('extension', '{"level": "info", "extension": "my-ext"}\n')), true);
  assert.equal(isOwn(envelope('extension', { message: '{ "extension" : "my-ext" }' })), true);
  assert.equal(isOwn(envelope('extension', '{"extension":"other","msg":"saw {\\"extension\\":\\"my-ext\\"}"}')), false);
  assert.equal(isOwn(envelope('extension', 'plain "extension":"my-ext" text')), false);
});

test('nextArrival resolves on the next delivery, or false after the wait', async (t) => {
  const { listener, port } = await start(t);
  assert.equal(await listener.nextArrival(20), false);
  const waiting = listener.nextArrival(2000);
  await deliver(port, [functionLine('x')]);
  assert.equal(await waiting, true);
});

test('listen rejects a port in use', async (t) => {
  const { port } = await start(t);
  const second = new TelemetryListener(new BoundedQueue(10, 1e6), 'my-ext');
  await assert.rejects(second.listen(port), /EADDRINUSE/);
});

test('listens on sandbox.localdomain where it resolves, else on 127.0.0.1: never on every interface', async (t) => {
  const cases: Array<[string, (host: string) => Promise<string>, string]> = [
    ['does not resolve (a laptop, ext dev)', () => Promise.reject(new Error('ENOTFOUND')), loopback],
    ['resolves, as on Lambda', async (host) => (host === sandboxHost ? '127.0.0.2' : assert.fail(host)), '127.0.0.2'],
    ['resolves to an address that is not this machine’s', async () => '192.0.2.1', loopback],
    ['never answers', () => new Promise<string>(() => undefined), loopback],
  ];
  for (const [label, resolve, expected] of cases) {
    const listener = new TelemetryListener(new BoundedQueue(10, 1e6), 'my-ext');
    t.after(() => listener.close());
    await listener.listen(0, resolve);
    assert.equal(listener.address, expected, label);
  }
});

test('the default port picks a free one: two extensions on one function both bind', async (t) => {
  const first = new TelemetryListener(new BoundedQueue(10, 1e6), 'one');
  const second = new TelemetryListener(new BoundedQueue(10, 1e6), 'two');
  t.after(async () => {
    await first.close();
    await second.close();
  });
  const offLambda = (): Promise<string> => Promise.reject(new Error('not on Lambda'));
  const ports = [await first.listen(defaults.port, offLambda), await second.listen(defaults.port, offLambda)];
  assert.ok(ports.every((port) => port > 0));
  assert.notEqual(ports[0], ports[1]);
});

test('a hosts file entry for sandbox.localdomain is read directly, comments and other names aside', () => {
  const hosts = '127.0.0.1 localhost\n# 10.0.0.1 sandbox.localdomain\n::1 sandbox.localdomain\n169.254.100.1\tsandbox sandbox.localdomain # Lambda\n';
  assert.equal(hostsFileAddress(hosts, sandboxHost), '169.254.100.1');
  assert.equal(hostsFileAddress('127.0.0.1 localhost\n', sandboxHost), undefined);
});

test('a delivery larger than any Lambda sends is refused with 413, counted, and not queued', async (t) => {
  const { listener, port, queue } = await start(t);
  const line = functionLine('x'.repeat(1024));
  const count = Math.ceil(maxBatchBodyBytes / JSON.stringify(line).length) + 1;
  const reply = await deliver(port, Array.from({ length: count }, () => line));
  assert.equal(reply.status, 413);
  assert.equal(listener.counts.rejected, 1);
  assert.equal(queue.length, 0);
  assert.equal((await deliver(port, [line])).status, 200, 'the next delivery is taken');
});
