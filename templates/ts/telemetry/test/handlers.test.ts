import assert from 'node:assert/strict';
import { finalBatchWaitMs } from '../src/pipeline.js';
import { test, type TestContext } from 'node:test';
import { run, type RunOptions } from '../src/extension.js';
import { ExtensionsApiClient } from '../src/extensions-api.js';
import { createTelemetryHandlers, events, handlers as projectHandlers } from '../src/handlers.js';
import { adaptive } from '../src/flush.js';
import { batchRecords, type ShipperOptions } from '../src/shipper.js';
import { StdoutSink } from '../src/sinks.js';
import { FakeExtensionsApi, telemetryPath } from '../test-support/fake-extensions-api.js';
import type { EventType } from '../src/extensions-api.js';
import { readFileSync } from 'node:fs';
import { captureLog, deliver, envelope, functionLine, RecordingSink, startDestination, type Envelope } from '../test-support/telemetry.js';

const name = 'my-ext';
const lambdaExtensionJson = JSON.parse(readFileSync(new URL('../../lambda-extension.json', import.meta.url), 'utf8')) as { events: EventType[] };
const invokeEvent = (requestId: string, inMs = 3000) => ({
  eventType: 'INVOKE',
  deadlineMs: Date.now() + inMs,
  requestId,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
});
const shutdownEvent = (inMs = 2000) => ({ eventType: 'SHUTDOWN', deadlineMs: Date.now() + inMs, shutdownReason: 'spindown' });

interface StartOptions {
  env?: Record<string, string>;
  /** 'configured': the sink the settings choose (the real http sink). */
  sink?: RecordingSink | StdoutSink | 'configured';
  shipper?: ShipperOptions;
  heapLimitBytes?: number;
  runOptions?: Partial<RunOptions>;
  /** Configures the fake API before the extension starts. */
  prepare?: (api: FakeExtensionsApi) => void;
  /** The fake API plays Lambda Managed Instances. */
  managedInstances?: boolean;
  /**
   * Unless set, each INVOKE pushed is followed by its platform.runtimeDone,
   * delivered to the listener as Lambda does once the function's code has
   * ended (the end strategy waits for it).
   */
  noRuntimeDone?: boolean;
}

const runtimeDone = (requestId: string) => envelope('platform.runtimeDone', { requestId, status: 'success' });
/** What a test delivered, without the runtimeDone records that start() adds. */
const delivered = <T extends { type: string }>(records: T[] | undefined): T[] => (records ?? []).filter((record) => record.type !== 'platform.runtimeDone');

/**
 * Most tests here drive the per-invoke lifecycle, so they register for both
 * events whatever the project chose; the timer tests register as the
 * environment allows.
 */
const perInvokeEvents: EventType[] = ['INVOKE', 'SHUTDOWN'];

async function start(t: TestContext, options: StartOptions = {}) {
  const api = await FakeExtensionsApi.start({ managedInstances: options.managedInstances ?? false });
  options.prepare?.(api);
  const client = new ExtensionsApiClient(api.address);
  const { log, lines } = captureLog('debug', name);
  const shipper = { retry: { attempts: 3, firstBackoffMs: 10, maxBackoffMs: 20 }, ...options.shipper };
  const sink = options.sink ?? new RecordingSink();
  const heap = options.heapLimitBytes === undefined ? {} : { heapLimitBytes: options.heapLimitBytes };
  // As off Lambda, without asking a DNS server (test/listener.test.ts covers the resolution).
  const resolve = (): Promise<string> => Promise.reject(new Error('sandbox.localdomain is not known here'));
  const handlers = createTelemetryHandlers(sink === 'configured' ? { shipper, resolve, ...heap } : { sink, shipper, resolve, ...heap });
  t.after(async () => {
    await handlers.pipeline?.close();
    client.close();
    await api.close();
  });
  // end unless the test says: these tests ship at each invoke, whatever strategy the project was created with.
  const env = { AWS_LAMBDA_RUNTIME_API: api.address, MY_EXT_PORT: '0', MY_EXT_FLUSH: 'end', ...options.env };
  const exitCode = run({ client, name, version: '1.2.3', events: perInvokeEvents, handlers, log, env, safetyMarginMs: 100, ...options.runOptions });
  const port = async (): Promise<number> => {
    await api.waitFor('/event/next');
    return handlers.pipeline?.port ?? assert.fail('no pipeline after setup');
  };
  if (options.noRuntimeDone !== true) {
    const push = api.push.bind(api);
    api.push = (reply) => {
      push(reply);
      if (typeof reply === 'function') return;
      const event = reply as { eventType?: unknown; requestId?: unknown };
      if (event.eventType === 'INVOKE' && typeof event.requestId === 'string') {
        const requestId = event.requestId;
        // Quietly: the extension may be gone by then.
        void port().then((listenerPort) => deliver(listenerPort, [runtimeDone(requestId)]).catch(() => undefined));
      }
    };
  }
  return { api, exitCode, lines, handlers, port, messages: () => lines.map((line) => line['msg']) };
}

test('the project registers for SHUTDOWN (and INVOKE if chosen) and handles both, and a signal', () => {
  assert.ok(events.includes('SHUTDOWN'), 'SHUTDOWN is the last chance to ship');
  assert.deepEqual(events, lambdaExtensionJson.events, 'lambda-extension.json lists the same events');
  assert.equal(typeof projectHandlers.invoke, 'function');
  assert.equal(typeof projectHandlers.shutdown, 'function');
  assert.equal(typeof projectHandlers.stop, 'function');
});

test('subscribes during init with the listener already up, ships each invoke, drains at SHUTDOWN', async (t) => {
  const sink = new RecordingSink();
  const { api, exitCode, lines, port } = await start(t, { sink, env: { MY_EXT_BUFFER_TIMEOUT_MS: '25' } });
  const listenerPort = await port();

  const subscription = api.requests.find((request) => request.path === telemetryPath);
  assert.equal(subscription?.method, 'PUT');
  assert.equal(subscription?.headers['lambda-extension-identifier'], api.identifier);
  assert.deepEqual(JSON.parse(subscription?.body ?? ''), {
    schemaVersion: '2022-12-13',
    types: ['platform', 'function', 'extension'],
    buffering: { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 },
    destination: { protocol: 'HTTP', URI: `http://sandbox.localdomain:${listenerPort}/telemetry` },
  });
  assert.ok(
    api.requests.findIndex((request) => request.path === telemetryPath) < api.requests.findIndex((request) => request.path === '/event/next'),
    'subscribed during init, before the first next',
  );

  assert.equal((await deliver(listenerPort, [envelope('platform.start', { requestId: 'r-1' }), functionLine('hello')])).status, 200);
  api.push(invokeEvent('r-1'));
  await api.waitFor('/event/next', 2);
  // end: the invoke waited for its runtimeDone, and shipped it too.
  assert.deepEqual(
    sink.shipped.map((record) => record.type),
    ['platform.start', 'function', 'platform.runtimeDone'],
  );
  const summary = lines.find((line) => line['msg'] === 'telemetry');
  assert.deepEqual(
    { ...summary, extension: undefined },
    { level: 'debug', msg: 'telemetry', extension: undefined, requestId: 'r-1', received: 3, shipped: 3, queued: 0, queuedBytes: 0 },
  );

  // The last invoke's report arrives after its end, and the final batch during Shutdown.
  api.push(shutdownEvent());
  await new Promise((resolve) => setTimeout(resolve, 30));
  await deliver(listenerPort, [envelope('platform.report', { requestId: 'r-1' })]);
  assert.equal(await exitCode, 0);
  assert.deepEqual(
    sink.shipped.map((record) => record.type),
    ['platform.start', 'function', 'platform.runtimeDone', 'platform.report'],
  );
  const totals = lines.find((line) => line['msg'] === 'telemetry totals');
  assert.equal(totals?.['level'], 'info');
  assert.equal(totals?.['shipped'], 4);
  assert.equal(totals?.['lost'], 0);
  assert.equal(totals?.['dropped'], 0);
});

test('a dead sink: each invoke returns by its deadline, the summary reports failures and drops', async (t) => {
  const sink = new RecordingSink();
  sink.fail = (_call, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('stopped at the deadline'))));
  const { api, exitCode, lines, port } = await start(t, { sink, env: { MY_EXT_QUEUE_MAX_RECORDS: '100' } });
  const listenerPort = await port();
  await deliver(listenerPort, Array.from({ length: 150 }, (_, index) => functionLine(`line ${index}`)));
  const started = Date.now();
  api.push(invokeEvent('r-1', 400));
  await api.waitFor('/event/next', 2);
  const elapsed = Date.now() - started;
  // Generous upper bounds: a loaded CI machine must not fail these; the failure they catch is a hang.
  assert.ok(elapsed >= 250 && elapsed < 2500, `next after ${elapsed} ms for a deadline in 400 ms (margin 100)`);
  const summary = lines.find((line) => line['msg'] === 'telemetry');
  assert.equal(summary?.['level'], 'warn');
  // 150 lines and r-1's runtimeDone into a queue of 100.
  assert.equal(summary?.['dropped'], 51);
  assert.ok(Number(summary?.['failedSends']) >= 1);
  assert.equal(summary?.['queued'], 100);
  assert.equal(summary?.['lastError'], 'stopped at the deadline');

  api.push(shutdownEvent(600));
  const shutdownStarted = Date.now();
  assert.equal(await exitCode, 0);
  assert.ok(Date.now() - shutdownStarted < 600, 'exited within the shutdown deadline');
  const totals = lines.find((line) => line['msg'] === 'telemetry totals');
  assert.equal(totals?.['level'], 'warn');
  assert.equal(totals?.['lost'], 100);
  assert.equal(totals?.['dropped'], 51);
  assert.equal(totals?.['shipped'], 0);
});

test('a destination that never answers: one attempt, then invokes return at once until the cool-down ends and records ship again', async (t) => {
  let answering = false;
  const destination = await startDestination(() => (answering ? { status: 200 } : 'hang'));
  t.after(() => destination.close());
  const { api, exitCode, lines, port } = await start(t, {
    sink: 'configured',
    // A short cool-down keeps the test fast, and long enough that a loaded machine's slow invokes stay within it; Lambda gets 1 s, doubling up to 30 s.
    shipper: { breaker: { firstCooldownMs: 2000, maxCooldownMs: 4000 } },
    env: { MY_EXT_SINK: 'http', MY_EXT_HTTP_URL: destination.url, MY_EXT_HTTP_TIMEOUT_MS: '200' },
  });
  const listenerPort = await port();
  const invoke = async (requestId: string, count: number): Promise<number> => {
    await deliver(listenerPort, [functionLine(`during ${requestId}`)]);
    const started = Date.now();
    api.push(invokeEvent(requestId));
    await api.waitFor('/event/next', count);
    return Date.now() - started;
  };

  // One attempt, cut off by the request timeout (200 ms), no backoff after it,
  // although the invoke's deadline (3 s) would allow retries.
  const first = await invoke('r-1', 2);
  assert.ok(first >= 180 && first < 2500, `first invoke took ${first} ms`);
  assert.equal(destination.requests.length, 1);
  const failedAt = Date.now();

  for (const [index, requestId] of ['r-2', 'r-3', 'r-4'].entries()) {
    const elapsed = await invoke(requestId, index + 3);
    assert.ok(elapsed < 1000, `${requestId} took ${elapsed} ms while sends were paused`);
  }
  assert.equal(destination.requests.length, 1, 'no request while sends were paused');
  assert.equal(destination.requests.length, 1, 'no connection attempt while paused');

  answering = true;
  await new Promise((resolve) => setTimeout(resolve, failedAt + 2050 - Date.now()));
  await invoke('r-5', 6);
  // The batch that timed out may have arrived: it goes again as it was, under the same
  // idempotency key, so the destination can drop a copy; one more request carries the rest.
  assert.equal(destination.requests.length, 3);
  assert.deepEqual(delivered(destination.requests[1]?.json as Envelope[]), [functionLine('during r-1')]);
  assert.equal(destination.requests[1]?.headers['idempotency-key'], destination.requests[0]?.headers['idempotency-key']);
  assert.deepEqual(
    delivered(destination.requests[2]?.json as Envelope[]),
    ['r-2', 'r-3', 'r-4', 'r-5'].map((requestId) => functionLine(`during ${requestId}`)),
  );
  assert.notEqual(destination.requests[2]?.headers['idempotency-key'], destination.requests[1]?.headers['idempotency-key']);

  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  const changes = lines.filter((line) => /^destination/.test(String(line['msg'])));
  assert.deepEqual(
    changes.map((line) => [line['level'], line['msg']]),
    [
      ['warn', 'destination failing, pausing sends for 2 s'],
      ['info', 'destination back'],
    ],
  );
  const totals = lines.find((line) => line['msg'] === 'telemetry totals');
  assert.equal(totals?.['shipped'], 10, 'five lines and five runtimeDone');
  assert.equal(totals?.['failedSends'], 1);
  assert.equal(totals?.['lost'], 0);
});

test('no feedback loop: the stdout sink output comes back and is not shipped again', async (t) => {
  const printed: string[] = [];
  const sink = new StdoutSink(name, (text, done) => {
    printed.push(...text.split('\n').filter(Boolean));
    done();
  });
  const { api, exitCode, lines, port, handlers } = await start(t, { sink });
  const listenerPort = await port();
  let shippedLines = 0;
  for (let invoke = 1; invoke <= 5; invoke += 1) {
    // Lambda delivers this invoke's platform event plus everything the extension printed before, as `extension` records.
    const echoed = [...printed.splice(0), ...lines.splice(0).map((line) => JSON.stringify(line))].map((line) => envelope('extension', line));
    await deliver(listenerPort, [envelope('platform.start', { requestId: `r-${invoke}` }), ...echoed]);
    api.push(invokeEvent(`r-${invoke}`));
    await api.waitFor('/event/next', invoke + 1);
    const shipped = handlers.pipeline?.shipper.counts.shipped ?? 0;
    assert.equal(shipped - shippedLines, 2, `invoke ${invoke} shipped exactly its platform.start and runtimeDone`);
    shippedLines = shipped;
  }
  assert.ok((handlers.pipeline?.listener.counts.ownLines ?? 0) >= 8);
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
});

test('a refused subscription reports init/error and frees the port', async (t) => {
  const { api, exitCode, lines } = await start(t, {
    prepare: (api) => api.replies.set(telemetryPath, { status: 400, body: { errorType: 'ValidationError', errorMessage: 'types should not be empty' } }),
  });
  assert.equal(await exitCode, 1);
  const report = api.requests.at(-1);
  assert.equal(report?.path, '/init/error');
  assert.equal(report?.headers['lambda-extension-function-error-type'], 'Extension.TelemetrySubscriptionFailed');
  assert.match(JSON.parse(report?.body ?? '').errorMessage, /400 ValidationError: types should not be empty/);
  assert.equal(lines.at(-1)?.['msg'], 'setup failed');
});

test('bad settings report init/error with Extension.ConfigInvalid before anything listens', async (t) => {
  const { api, exitCode } = await start(t, { env: { MY_EXT_PORT: '9001', MY_EXT_BUFFER_TIMEOUT_MS: '5' } });
  assert.equal(await exitCode, 1);
  const report = api.requests.at(-1);
  assert.equal(report?.headers['lambda-extension-function-error-type'], 'Extension.ConfigInvalid');
  const message = JSON.parse(report?.body ?? '').errorMessage as string;
  assert.match(message, /MY_EXT_PORT="9001"/);
  assert.match(message, /MY_EXT_BUFFER_TIMEOUT_MS="5"/);
  assert.equal(
    api.requests.some((request) => request.path === telemetryPath),
    false,
  );
});

test('a queue larger than the heap allows is refused with Extension.ConfigInvalid', async (t) => {
  // The heap limit node reports under the template's nodeOptions (--max-old-space-size=64).
  const { api, exitCode } = await start(t, { heapLimitBytes: 67 * 1024 * 1024, env: { MY_EXT_QUEUE_MAX_BYTES: String(64 * 1024 * 1024) } });
  assert.equal(await exitCode, 1);
  const report = api.requests.at(-1);
  assert.equal(report?.headers['lambda-extension-function-error-type'], 'Extension.ConfigInvalid');
  assert.match(JSON.parse(report?.body ?? '').errorMessage as string, /MY_EXT_QUEUE_MAX_BYTES="67108864": .*raise --max-old-space-size in nodeOptions/);
  assert.equal(
    api.requests.some((request) => request.path === telemetryPath),
    false,
  );
});

test('202 (local environment) is logged once, and SHUTDOWN does not wait for a final batch', async (t) => {
  const { api, exitCode, lines } = await start(t, {
    prepare: (api) => api.replies.set(telemetryPath, { status: 202, body: { errorType: 'Telemetry.NotSupported' } }),
  });
  await api.waitFor('/event/next');
  api.push(invokeEvent('r-1'));
  api.push(shutdownEvent());
  const started = Date.now();
  assert.equal(await exitCode, 0);
  assert.ok(Date.now() - started < 250);
  assert.equal(lines.filter((line) => String(line['msg']).includes('answered 202')).length, 1);
});

test('SIGTERM (the run signal) flushes what is queued before returning', async (t) => {
  const sink = new RecordingSink();
  const controller = new AbortController();
  const { exitCode, port, lines } = await start(t, { sink, runOptions: { signal: controller.signal } });
  await deliver(await port(), [functionLine('last words')]);
  controller.abort();
  assert.equal(await exitCode, 0);
  assert.deepEqual(
    sink.shipped.map((record) => record.record),
    ['last words'],
  );
  assert.equal(lines.find((line) => line['msg'] === 'telemetry totals')?.['shipped'], 1);
});

/** Polls until `done()` or `withinMs` pass; resolves to whether it happened. */
async function eventually(done: () => boolean, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (!done() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
  return done();
}

test('SHUTDOWN ships the backlog at once, ignoring the pause and retrying, while it keeps receiving the last delivery', async (t) => {
  const sink = new RecordingSink();
  // The invoke's send fails (sends pause for a minute); at SHUTDOWN each batch fails once, then goes.
  sink.fail = (call) => {
    if (call === 1 || call === 2 || call === 4) throw new Error('down');
  };
  const { api, exitCode, lines, port, handlers } = await start(t, {
    sink,
    shipper: { breaker: { firstCooldownMs: 60_000, maxCooldownMs: 60_000 } },
    // Long buffering: the wait for Lambda's last delivery may last up to half the shutdown's 20 s.
    env: { MY_EXT_BUFFER_TIMEOUT_MS: '10000' },
  });
  const listenerPort = await port();
  await deliver(listenerPort, [functionLine('backlog')]);
  api.push(invokeEvent('r-1'));
  await api.waitFor('/event/next', 2);
  assert.equal(handlers.pipeline?.shipper.paused, true, 'the invoke failed: sends are paused');

  api.push(shutdownEvent(20_000));
  // Generous: the failure this catches is shipping only after the seconds-long wait for the last delivery.
  assert.ok(await eventually(() => delivered(sink.shipped).length === 1, 5000), 'the backlog left at once, retried despite the pause');
  await deliver(listenerPort, [functionLine('last delivery')]);
  assert.equal(await exitCode, 0);
  assert.deepEqual(
    delivered(sink.shipped).map((record) => record.record),
    ['backlog', 'last delivery'],
    'the last delivery is shipped too, after one retry',
  );
  assert.equal(sink.calls, 5);
  const totals = lines.find((line) => line['msg'] === 'telemetry totals');
  assert.equal(totals?.['shipped'], 3, 'with r-1\'s runtimeDone');
  assert.equal(totals?.['lost'], 0);
});

test("Lambda's platform.logsDropped records are shipped, counted in the totals and warned about", async (t) => {
  const sink = new RecordingSink();
  const { api, exitCode, lines, port } = await start(t, { sink });
  const listenerPort = await port();
  const dropped = (count: unknown) => envelope('platform.logsDropped', { reason: 'Consumer seems to have fallen behind', droppedRecords: count, droppedBytes: 1000 });
  await deliver(listenerPort, [dropped(120), dropped(5), dropped('many'), functionLine('after')]);
  api.push(invokeEvent('r-1'));
  await api.waitFor('/event/next', 2);
  const summary = lines.find((line) => line['msg'] === 'telemetry');
  assert.equal(summary?.['level'], 'warn');
  assert.equal(summary?.['droppedByLambda'], 125);
  assert.equal(sink.shipped.filter((record) => record.type === 'platform.logsDropped').length, 3, 'forwarded as well');
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  const totals = lines.find((line) => line['msg'] === 'telemetry totals');
  assert.equal(totals?.['level'], 'warn');
  assert.equal(totals?.['droppedByLambda'], 125);
});

test('the SHUTDOWN wait for the last delivery follows the buffering timeout, within half the time left', () => {
  assert.equal(finalBatchWaitMs(100, 1800), 300, 'the default buffering: at least 300 ms');
  assert.equal(finalBatchWaitMs(500, 1800), 700, 'longer buffering: wait longer');
  assert.equal(finalBatchWaitMs(30_000, 1800), 900, 'never more than half the time left');
  assert.equal(finalBatchWaitMs(100, 0), 0);
});

for (const mode of ['managed instances', 'SHUTDOWN only'] as const) {
  test(`${mode}: ships on a timer without any INVOKE, with the schema the environment accepts, and drains at SHUTDOWN`, async (t) => {
    const managed = mode === 'managed instances';
    const sink = new RecordingSink();
    const env: Record<string, string> = { MY_EXT_FLUSH_INTERVAL_MS: '50', MY_EXT_BUFFER_TIMEOUT_MS: '25' };
    if (managed) env['AWS_LAMBDA_MAX_CONCURRENCY'] = '4';
    // On Managed Instances the extension registers SHUTDOWN only, whatever the project chose.
    const { api, exitCode, lines, port } = await start(t, {
      sink,
      env,
      managedInstances: managed,
      ...(managed ? {} : { runOptions: { events: ['SHUTDOWN'] } }),
    });
    const listenerPort = await port();
    assert.deepEqual(JSON.parse(api.requests.find((request) => request.path === '/register')?.body ?? ''), { events: ['SHUTDOWN'] });
    const subscription = JSON.parse(api.requests.find((request) => request.path === telemetryPath)?.body ?? '') as { schemaVersion: string };
    assert.equal(subscription.schemaVersion, managed ? '2025-01-29' : '2022-12-13');

    // Concurrent invokes log; no INVOKE event comes.
    // The Runtime Interface Emulator's Managed Instances mode POSTs to / whatever the URI says.
    const listenerPath = managed ? '/' : '/telemetry';
    await deliver(listenerPort, [functionLine('from invoke 1'), functionLine('from invoke 2')], 'POST', listenerPath);
    const waitUntil = Date.now() + 5000;
    while (sink.shipped.length < 2 && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(
      sink.shipped.map((record) => record.record),
      ['from invoke 1', 'from invoke 2'],
      'the timer shipped without any INVOKE',
    );

    // Then SHUTDOWN, and a last delivery during it.
    api.push(shutdownEvent());
    await new Promise((resolve) => setTimeout(resolve, 30));
    await deliver(listenerPort, [functionLine('last words')], 'POST', listenerPath);
    assert.equal(await exitCode, 0);
    assert.deepEqual(
      sink.shipped.map((record) => record.record),
      ['from invoke 1', 'from invoke 2', 'last words'],
    );
    assert.equal(api.requests.filter((request) => request.path === '/event/next').length, 1);
    assert.equal(
      api.requests.some((request) => request.path.endsWith('/error')),
      false,
    );
    const managedLine = lines.find((line) => line['msg'] === 'managed instances: per-invoke work does not run here; registering SHUTDOWN only');
    assert.equal(managedLine?.['maxConcurrency'], managed ? '4' : undefined);
    const strategy = lines.find((line) => line['msg'] === 'flush strategy');
    assert.deepEqual([strategy?.['flush'], strategy?.['flushIntervalMs']], ['continuous', 50]);
    const totals = lines.find((line) => line['msg'] === 'telemetry totals');
    assert.equal(totals?.['shipped'], 3);
    assert.equal(totals?.['lost'], 0);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const polls = (api: FakeExtensionsApi) => api.requests.filter((request) => request.path === '/event/next').length;

test('end: the invoke waits for its runtimeDone and ships all its lines before asking for the next event', async (t) => {
  const sink = new RecordingSink();
  const { api, exitCode, port } = await start(t, { sink, noRuntimeDone: true, env: { MY_EXT_FLUSH: 'end' } });
  const listenerPort = await port();
  api.push(invokeEvent('r-1'));
  await deliver(listenerPort, [functionLine('first line of r-1')]);
  await sleep(20);
  assert.equal(polls(api), 1, 'no next before runtimeDone');
  const doneAt = Date.now();
  await deliver(listenerPort, [functionLine('last line of r-1'), runtimeDone('r-1')]);
  await api.waitFor('/event/next', 2);
  assert.deepEqual(
    delivered(sink.shipped).map((record) => record.record),
    ['first line of r-1', 'last line of r-1'],
    'shipped before the next event',
  );
  // The post-runtime time the extension adds beyond Lambda's buffering: from runtimeDone's delivery to next.
  t.diagnostic(`end: next ${Date.now() - doneAt} ms after runtimeDone was delivered`);
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
});

test('periodic: an invoke never waits, and the timer ships while no event comes', async (t) => {
  const sink = new RecordingSink();
  const { api, exitCode, port } = await start(t, { sink, noRuntimeDone: true, env: { MY_EXT_FLUSH: 'periodic:100' } });
  const listenerPort = await port();
  await deliver(listenerPort, [functionLine('before r-1')]);
  const started = Date.now();
  api.push(invokeEvent('r-1', 3000));
  await api.waitFor('/event/next', 2);
  const took = Date.now() - started;
  assert.ok(took < 2000, `the invoke took ${took} ms: periodic must not wait for runtimeDone`);
  assert.ok(await eventually(() => sink.shipped.length === 1, 5000), 'the timer shipped');
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
});

test('continuous: a batch short of full waits for the age bound, a full one goes at once', async (t) => {
  await t.test('full batch', async (t) => {
    const sink = new RecordingSink();
    const { api, exitCode, port } = await start(t, { sink, env: { MY_EXT_FLUSH: 'continuous', MY_EXT_FLUSH_INTERVAL_MS: '600000' } });
    const listenerPort = await port();
    await deliver(listenerPort, Array.from({ length: batchRecords - 1 }, (_, index) => functionLine(`line ${index}`)));
    await sleep(100);
    assert.equal(sink.shipped.length, 0, 'one record short of a batch, long before the age bound');
    await deliver(listenerPort, [functionLine('the last one')]);
    assert.ok(await eventually(() => sink.shipped.length === batchRecords, 5000), 'the full batch shipped');
    api.push(shutdownEvent());
    assert.equal(await exitCode, 0);
  });
  await t.test('age', async (t) => {
    const sink = new RecordingSink();
    const { api, exitCode, port } = await start(t, { sink, env: { MY_EXT_FLUSH: 'continuous', MY_EXT_FLUSH_INTERVAL_MS: '200' } });
    const listenerPort = await port();
    const started = Date.now();
    await deliver(listenerPort, [functionLine('a lone line')]);
    assert.ok(await eventually(() => sink.shipped.length === 1, 5000), 'shipped within 5 s');
    const took = Date.now() - started;
    assert.ok(took >= 200, `shipped after ${took} ms, before the age bound of 200 ms`);
    api.push(shutdownEvent());
    assert.equal(await exitCode, 0);
  });
});

test('adaptive: end while invokes are rare, the timer once they come often, end again after a quiet spell (fake clock)', async (t) => {
  const sink = new RecordingSink();
  const { api, exitCode, port, handlers, messages } = await start(t, { sink, env: { MY_EXT_FLUSH: 'adaptive', MY_EXT_FLUSH_INTERVAL_MS: '50' } });
  const listenerPort = await port();
  let clock = 0;
  const flusher = handlers.flusher ?? assert.fail('no flusher after setup');
  flusher.now = () => clock;
  let count = 1;
  const invoke = async (requestId: string) => {
    await deliver(listenerPort, [functionLine(`line of ${requestId}`)]);
    api.push(invokeEvent(requestId));
    count += 1;
    await api.waitFor('/event/next', count);
  };
  for (let index = 1; index < adaptive.busyInvokes; index += 1) {
    clock += 500;
    await invoke(`r-${index}`);
    assert.equal(flusher.timerRunning, false, `invoke ${index}: still end`);
    assert.ok(
      sink.shipped.some((record) => record.type === 'platform.runtimeDone' && (record.record as { requestId: string }).requestId === `r-${index}`),
      `invoke ${index} waited for its runtimeDone and shipped it`,
    );
  }
  clock += 500;
  await invoke('busy');
  assert.equal(flusher.timerRunning, true, 'the 10th invoke within 10 s starts the timer');
  await deliver(listenerPort, [functionLine('shipped by the timer')]);
  assert.ok(await eventually(() => sink.shipped.some((record) => record.record === 'shipped by the timer'), 5000), 'the timer ships');

  clock += 11_000;
  await invoke('quiet');
  assert.equal(flusher.timerRunning, false, 'a quiet spell stops the timer');
  assert.ok(sink.shipped.some((record) => record.record === 'line of quiet'), 'and the invoke shipped before it ended');
  assert.ok(messages().includes('adaptive flush: invokes come often, shipping on a timer'));
  assert.ok(messages().includes('adaptive flush: invokes are rare, shipping at the end of each invoke'));
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
});

for (const managed of [false, true]) {
  for (const strategy of ['end', 'periodic:600000', 'continuous', 'adaptive']) {
    test(`SHUTDOWN drains everything under ${strategy}${managed ? ' on Managed Instances (as continuous)' : ''}`, async (t) => {
      const sink = new RecordingSink();
      const env: Record<string, string> = { MY_EXT_FLUSH: strategy, MY_EXT_FLUSH_INTERVAL_MS: '600000', MY_EXT_BUFFER_TIMEOUT_MS: '25' };
      if (managed) env['AWS_LAMBDA_MAX_CONCURRENCY'] = '4';
      const { api, exitCode, port, lines, messages } = await start(t, { sink, env, managedInstances: managed });
      const listenerPort = await port();
      if (!managed) {
        api.push(invokeEvent('r-1'));
        await api.waitFor('/event/next', 2);
      }
      const path = managed ? '/' : '/telemetry';
      await deliver(listenerPort, [functionLine('before shutdown')], 'POST', path);
      api.push(shutdownEvent());
      await sleep(30);
      await deliver(listenerPort, [functionLine('during shutdown')], 'POST', path);
      assert.equal(await exitCode, 0);
      assert.deepEqual(
        delivered(sink.shipped).map((record) => record.record),
        ['before shutdown', 'during shutdown'],
      );
      assert.equal(lines.find((line) => line['msg'] === 'telemetry totals')?.['lost'], 0);
      const want = managed ? 'continuous' : strategy;
      assert.equal(lines.find((line) => line['msg'] === 'flush strategy')?.['flush'], want);
      const fellBack = messages().filter((message) => String(message).startsWith('flushing continuously')).length;
      assert.equal(fellBack, want === strategy ? 0 : 1, 'a fallback is said once');
    });
  }
}
