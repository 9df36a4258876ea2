import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { eventsFor, ExtensionError, run, settingsPrefixFor, type Handlers } from '../src/extension.js';
import { ExtensionsApiClient, fallbackDeadlineMs, type InvokeEvent, type ShutdownEvent } from '../src/extensions-api.js';
import { events } from '../src/handlers.js';
import { createLogger, type LogFields } from '../src/log.js';
import { FakeExtensionsApi } from '../test-support/fake-extensions-api.js';
import { inSeconds, invokeEvent, shutdownEvent, start } from '../test-support/lifecycle.js';

test('INVOKE then SHUTDOWN: runs the handlers, logs each event and exits 0', async (t) => {
  const seen: Array<InvokeEvent | ShutdownEvent> = [];
  const { api, exitCode, lines, messages } = await start(t, {
    invoke: (event) => void seen.push(event),
    shutdown: (event) => void seen.push(event),
  });
  api.push({ ...invokeEvent('req-1'), tracing: { type: 'X-Amzn-Trace-Id', value: 'Root=1-a' } });
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);

  assert.deepEqual(
    seen.map((event) => event.eventType),
    ['INVOKE', 'SHUTDOWN'],
  );
  assert.deepEqual(JSON.parse(api.requests[0]?.body ?? ''), { events });
  assert.equal(api.requests[0]?.headers['lambda-extension-name'], 'my-ext');
  assert.equal(api.requests.filter((request) => request.path === '/event/next').length, 2);
  assert.deepEqual(
    messages().filter((msg) => !String(msg).endsWith('work done')),
    ['registered', 'invoke', 'shutdown', 'exiting'],
  );
  assert.deepEqual(lines[0], {
    level: 'info',
    msg: 'registered',
    extension: 'my-ext',
    version: '1.2.3',
    node: process.version,
    events,
    functionName: 'test-function',
    functionVersion: '$LATEST',
    accountId: '123456789012',
  });
  const invokeLine = lines.find((line) => line['msg'] === 'invoke');
  assert.equal(invokeLine?.['requestId'], 'req-1');
  assert.equal(invokeLine?.['traceId'], 'Root=1-a');
  assert.equal(lines.find((line) => line['msg'] === 'shutdown')?.['shutdownReason'], 'spindown');
});

test('a failing setup reports init/error with its error type and exits 1 without polling', async (t) => {
  const { api, exitCode, lines } = await start(t, {
    setup: () => {
      throw new ExtensionError('Extension.APIKeyNotFound', 'MY_EXT_API_KEY is not set');
    },
  });
  assert.equal(await exitCode, 1);
  const report = api.requests.at(-1);
  assert.equal(report?.path, '/init/error');
  assert.equal(report?.headers['lambda-extension-function-error-type'], 'Extension.APIKeyNotFound');
  assert.equal(
    api.requests.some((request) => request.path === '/event/next'),
    false,
  );
  assert.equal(lines.at(-1)?.['msg'], 'setup failed');
});

test('invoke work is cut off at the deadline minus the margin, and the loop goes on', async (t) => {
  let aborted = false;
  const { api, exitCode, lines } = await start(
    t,
    {
      invoke: (_event, { signal }) => {
        signal.addEventListener('abort', () => (aborted = true));
        return new Promise(() => {}); // never settles
      },
    },
    { safetyMarginMs: 100 },
  );
  const started = Date.now();
  api.push(invokeEvent('slow', Date.now() + 400));
  await api.waitFor('/event/next', 2);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 250 && elapsed < 1500, `next called again after ${elapsed} ms`);
  assert.equal(aborted, true);
  assert.ok(lines.some((line) => line['level'] === 'warn' && line['msg'] === 'invoke work passed its deadline; moving on'));
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
});

test('a failing invoke is logged and does not end the extension', async (t) => {
  const { api, exitCode, lines } = await start(t, {
    invoke: () => {
      throw new Error('boom');
    },
  });
  api.push(invokeEvent('req-1'));
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  const failure = lines.find((line) => line['msg'] === 'invoke work failed');
  assert.deepEqual((failure?.['error'] as { message?: string }).message, 'boom');
  assert.equal(
    api.requests.some((request) => request.path === '/exit/error'),
    false,
  );
});

test('shutdown work is bounded by deadlineMs minus the margin', async (t) => {
  const { api, exitCode } = await start(t, { shutdown: () => new Promise(() => {}) }, { safetyMarginMs: 200 });
  const started = Date.now();
  api.push(shutdownEvent(Date.now() + 500));
  assert.equal(await exitCode, 0);
  const elapsed = Date.now() - started;
  // Generous upper bound (a loaded CI machine must not fail this): the failure it catches is a hang.
  assert.ok(elapsed >= 250 && elapsed < 3000, `exited after ${elapsed} ms`);
});

test('aborting while waiting for an event runs stop within its budget, then returns 0 without reporting an error', async (t) => {
  const controller = new AbortController();
  let stopped: { deadline: number; at: number } | undefined;
  const { api, exitCode, lines } = await start(
    t,
    {
      stop: ({ deadline }) => {
        stopped = { deadline, at: Date.now() };
        return new Promise(() => {}); // never settles: the budget must cut it off
      },
    },
    { signal: controller.signal, stopBudgetMs: 150 },
  );
  await api.waitFor('/event/next');
  const started = Date.now();
  controller.abort();
  assert.equal(await exitCode, 0);
  const elapsed = Date.now() - started;
  assert.ok(stopped && stopped.deadline - stopped.at <= 150 && stopped.deadline - stopped.at > 100);
  assert.ok(elapsed >= 140 && elapsed < 3000, `returned after ${elapsed} ms`);
  assert.equal(lines.at(-1)?.['msg'], 'stopped before SHUTDOWN: signal received');
  assert.equal(
    api.requests.some((request) => request.path.endsWith('/error')),
    false,
  );
});

test('a failing event/next runs stop (a last flush), then reports exit/error and exits 1', async (t) => {
  const order: string[] = [];
  const { api, exitCode } = await start(t, {
    stop: () => {
      order.push(`stop, ${api.requests.filter((request) => request.path === '/exit/error').length} reports so far`);
    },
  });
  api.push({ status: 500, body: { errorType: 'InternalServerError', errorMessage: 'Internal Server Error' } });
  assert.equal(await exitCode, 1);
  assert.deepEqual(order, ['stop, 0 reports so far']);
  const report = api.requests.at(-1);
  assert.equal(report?.path, '/exit/error');
  assert.equal(report?.headers['lambda-extension-function-error-type'], 'Extension.EventLoopFailed');
  assert.match(JSON.parse(report?.body ?? '').errorMessage, /InternalServerError: Internal Server Error/);
});

test('a failing register exits 1 and calls nothing else', async (t) => {
  const api = await FakeExtensionsApi.start();
  t.after(() => api.close());
  api.replies.set('/register', {
    status: 403,
    body: { errorType: 'Extension.TooManyExtensions', errorMessage: 'Extension limit (10) reached' },
  });
  const client = new ExtensionsApiClient(api.address);
  t.after(() => client.close());
  const lines: LogFields[] = [];
  const log = createLogger({ write: (line) => lines.push(JSON.parse(line) as LogFields) });
  assert.equal(await run({ client, name: 'my-ext', events, handlers: {}, log }), 1);
  assert.equal(api.requests.length, 1);
  assert.equal((lines[0]?.['error'] as { errorType?: string }).errorType, 'Extension.TooManyExtensions');
});

test('settings prefixes are upper snake case and start with a letter', () => {
  assert.equal(settingsPrefixFor('my-ext'), 'MY_EXT_');
  assert.equal(settingsPrefixFor('otel.collector_v2'), 'OTEL_COLLECTOR_V2_');
  assert.equal(settingsPrefixFor('1password'), 'EXT_1PASSWORD_');
});

test('handlers are called as methods: a class implementing Handlers keeps `this`', async (t) => {
  class Counting implements Handlers {
    readonly seen: string[] = [];
    #prefix = 'seen';
    setup(): void {
      this.seen.push(`${this.#prefix} setup`);
    }
    invoke(event: InvokeEvent): void {
      this.seen.push(`${this.#prefix} ${event.requestId}`);
    }
    shutdown(event: ShutdownEvent): void {
      this.seen.push(`${this.#prefix} ${event.shutdownReason}`);
    }
  }
  const handlers = new Counting();
  const { api, exitCode, lines } = await start(t, handlers);
  api.push(invokeEvent('req-1'));
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  assert.deepEqual(handlers.seen, ['seen setup', 'seen req-1', 'seen spindown']);
  assert.deepEqual(lines.filter((line) => line['level'] === 'error'), []);
});

test('stop is called as a method too', async (t) => {
  const controller = new AbortController();
  class Stopping implements Handlers {
    stopped = false;
    stop(): void {
      this.stopped = true;
    }
  }
  const handlers = new Stopping();
  const { api, exitCode } = await start(t, handlers, { signal: controller.signal });
  await api.waitFor('/event/next');
  controller.abort();
  assert.equal(await exitCode, 0);
  assert.equal(handlers.stopped, true);
});

test('an unknown eventType is logged as a warning and the loop goes on, without exit/error', async (t) => {
  const seen: string[] = [];
  const { api, exitCode, lines } = await start(t, {
    invoke: (event) => void seen.push(event.requestId),
    shutdown: (event) => void seen.push(event.shutdownReason),
  });
  api.push({ eventType: 'RESTORE', deadlineMs: inSeconds(2) });
  api.push(invokeEvent('after-unknown'));
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  assert.deepEqual(seen, ['after-unknown', 'spindown']);
  const warning = lines.find((line) => line['msg'] === 'ignoring unexpected event');
  assert.equal(warning?.['level'], 'warn');
  assert.equal(warning?.['eventType'], 'RESTORE');
  assert.equal(
    api.requests.some((request) => request.path.endsWith('/error')),
    false,
  );
});

test('an event without deadlineMs is handled with the fallback deadline and a warning, not a crash', async (t) => {
  const deadlines: number[] = [];
  const { api, exitCode, lines } = await start(t, {
    invoke: (_event, { deadline }) => void deadlines.push(deadline - Date.now()),
    shutdown: (_event, { deadline }) => void deadlines.push(deadline - Date.now()),
  });
  api.push({ eventType: 'INVOKE', requestId: 'no-deadline', invokedFunctionArn: 'arn' });
  api.push({ eventType: 'SHUTDOWN', shutdownReason: 'spindown' });
  assert.equal(await exitCode, 0);
  assert.equal(deadlines.length, 2, 'both handlers ran');
  assert.ok(deadlines.every((remaining) => remaining > 0 && remaining <= fallbackDeadlineMs));
  assert.equal(lines.filter((line) => line['msg'] === 'event without a valid deadlineMs').length, 2);
  assert.equal(
    api.requests.some((request) => request.path.endsWith('/error')),
    false,
  );
});

test('either variable marks Lambda Managed Instances: the emulator tells extensions only the initialization type', () => {
  assert.deepEqual(eventsFor(['INVOKE', 'SHUTDOWN'], {}), ['INVOKE', 'SHUTDOWN']);
  assert.deepEqual(eventsFor(['INVOKE', 'SHUTDOWN'], { AWS_LAMBDA_MAX_CONCURRENCY: '8' }), ['SHUTDOWN']);
  assert.deepEqual(eventsFor(['INVOKE'], { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' }), ['SHUTDOWN']);
  assert.deepEqual(eventsFor(['INVOKE'], { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' }), ['INVOKE']);
});

test('invokes leave nothing behind on the run signal: its listeners stay as many after 30 invokes as after one', async (t) => {
  const controller = new AbortController();
  const { api, exitCode } = await start(t, { invoke: () => undefined }, { signal: controller.signal });
  const listeners = (): number => getEventListeners(controller.signal, 'abort').length;
  api.push(invokeEvent('req-0'));
  await api.waitFor('/event/next', 2);
  const afterOne = listeners();
  for (let index = 1; index <= 30; index += 1) {
    api.push(invokeEvent(`req-${index}`));
    await api.waitFor('/event/next', index + 2);
  }
  assert.equal(listeners(), afterOne, 'one pending event/next holds one; each invoke adds none');
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
});
