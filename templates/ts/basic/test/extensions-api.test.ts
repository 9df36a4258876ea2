import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExtensionsApiClient, ExtensionsApiError, fallbackDeadlineMs, isShutdownReason, type ExtensionEvent } from '../src/extensions-api.js';
import { FakeExtensionsApi } from '../test-support/fake-extensions-api.js';

async function setup(t: TestContext, options?: { keepAliveTimeout?: number }) {
  const api = await FakeExtensionsApi.start(options);
  const client = new ExtensionsApiClient(api.address);
  t.after(async () => {
    client.close();
    await api.close();
  });
  return { api, client };
}

const invoke = {
  eventType: 'INVOKE',
  deadlineMs: 1_700_000_000_000,
  requestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
};

test('register sends the name, the accountId feature and the events, and keeps the identifier', async (t) => {
  const { api, client } = await setup(t);
  const registration = await client.register('my-ext', ['INVOKE', 'SHUTDOWN']);

  assert.deepEqual(registration, {
    functionName: 'test-function',
    functionVersion: '$LATEST',
    handler: 'index.handler',
    accountId: '123456789012',
  });
  assert.equal(client.identifier, api.identifier);
  const [request] = api.requests;
  assert.equal(request?.method, 'POST');
  assert.equal(request?.path, '/register');
  assert.equal(request?.headers['lambda-extension-name'], 'my-ext');
  assert.equal(request?.headers['lambda-extension-accept-feature'], 'accountId');
  assert.equal(request?.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(request?.body ?? ''), { events: ['INVOKE', 'SHUTDOWN'] });

  api.push(invoke);
  await client.next();
  assert.equal(api.requests[1]?.headers['lambda-extension-identifier'], api.identifier);
});

test('register without accountId in the answer leaves it out', async (t) => {
  const { api, client } = await setup(t);
  api.replies.set('/register', {
    status: 200,
    headers: { 'Lambda-Extension-Identifier': 'id-1' },
    body: { functionName: 'f', functionVersion: '1', handler: 'h' },
  });
  const registration = await client.register('my-ext', ['SHUTDOWN']);
  assert.equal('accountId' in registration, false);
  assert.equal(client.identifier, 'id-1');
});

test('next returns INVOKE then SHUTDOWN as a discriminated union', async (t) => {
  const { api, client } = await setup(t);
  await client.register('my-ext', ['INVOKE', 'SHUTDOWN']);
  api.push({ ...invoke, tracing: { type: 'X-Amzn-Trace-Id', value: 'Root=1-abc;Parent=def;Sampled=1' } });
  api.push({ eventType: 'SHUTDOWN', deadlineMs: 1_700_000_002_000, shutdownReason: 'spindown' });

  const first = await client.next();
  assert.deepEqual(first, { ...invoke, tracing: { type: 'X-Amzn-Trace-Id', value: 'Root=1-abc;Parent=def;Sampled=1' } });
  const second: ExtensionEvent = await client.next();
  assert.equal(second.eventType, 'SHUTDOWN');
  if (second.eventType === 'SHUTDOWN') {
    assert.equal(second.deadlineMs, 1_700_000_002_000);
    assert.equal(isShutdownReason(second, 'spindown'), true);
  }
});

test('INVOKE without tracing (as under the Runtime Interface Emulator) is accepted', async (t) => {
  const { api, client } = await setup(t);
  await client.register('my-ext', ['INVOKE']);
  api.push(invoke);
  const event = await client.next();
  assert.deepEqual(event, invoke);
  assert.equal('tracing' in event, false);
});

test('deadlineMs may be a numeric string, as in the documentation example', async (t) => {
  const { api, client } = await setup(t);
  await client.register('my-ext', ['SHUTDOWN']);
  api.push({ eventType: 'SHUTDOWN', deadlineMs: '1700000002000', shutdownReason: 'timeout' });
  const event = await client.next();
  assert.equal(event.deadlineMs, 1_700_000_002_000);
});

test('shutdownReason is kept as sent and compared case-insensitively', async (t) => {
  const { api, client } = await setup(t);
  await client.register('my-ext', ['SHUTDOWN']);
  for (const reason of ['SPINDOWN', 'Spindown', 'spindown']) {
    api.push({ eventType: 'SHUTDOWN', deadlineMs: 1, shutdownReason: reason });
    const event = await client.next();
    assert.equal(event.eventType, 'SHUTDOWN');
    if (event.eventType !== 'SHUTDOWN') return;
    assert.equal(event.shutdownReason, reason);
    assert.equal(isShutdownReason(event, 'spindown'), true);
    assert.equal(isShutdownReason(event, 'failure'), false);
  }
  // Unknown values (RIE sends e.g. SandboxTerminated) are kept, not rejected.
  api.push({ eventType: 'SHUTDOWN', deadlineMs: 1, shutdownReason: 'SandboxTerminated' });
  assert.deepEqual(await client.next(), { eventType: 'SHUTDOWN', deadlineMs: 1, shutdownReason: 'SandboxTerminated' });
});

test('an unknown eventType is an UnknownEventError, which the loop skips', async (t) => {
  const { api, client } = await setup(t);
  await client.register('my-ext', ['INVOKE']);
  api.push({ eventType: 'RESTORE', deadlineMs: 1 });
  await assert.rejects(client.next(), { name: 'UnknownEventError', eventType: 'RESTORE', errorType: 'InvalidResponse', message: /unknown eventType "RESTORE"/ });
});

test('a missing or unreadable deadlineMs gives the fallback deadline and is flagged', async (t) => {
  const { api, client } = await setup(t);
  await client.register('my-ext', ['INVOKE', 'SHUTDOWN']);
  for (const deadlineMs of [undefined, 'soon', null, '']) {
    api.push({ eventType: 'INVOKE', requestId: 'r', deadlineMs });
    const before = Date.now();
    const event = await client.next();
    assert.equal(event.deadlineMissing, true);
    assert.ok(event.deadlineMs >= before + fallbackDeadlineMs && event.deadlineMs <= Date.now() + fallbackDeadlineMs);
  }
  api.push({ eventType: 'SHUTDOWN', shutdownReason: 'spindown' });
  const shutdown = await client.next();
  assert.equal(shutdown.eventType, 'SHUTDOWN');
  assert.equal(shutdown.deadlineMissing, true);
  api.push({ eventType: 'INVOKE', requestId: 'r', deadlineMs: 5 });
  assert.equal((await client.next()).deadlineMissing, undefined);
});

for (const kind of ['init', 'exit'] as const) {
  test(`${kind}Error accepts 202 and sends the error-type header, identifier and body`, async (t) => {
    const { api, client } = await setup(t);
    await client.register('my-ext', ['INVOKE']);
    const report = kind === 'init' ? client.initError.bind(client) : client.exitError.bind(client);
    await report('Extension.ConfigInvalid', new Error('MY_EXT_TOKEN is not set'));

    const request = api.requests.at(-1);
    assert.equal(request?.path, `/${kind}/error`);
    assert.equal(request?.headers['lambda-extension-function-error-type'], 'Extension.ConfigInvalid');
    assert.equal(request?.headers['lambda-extension-identifier'], api.identifier);
    const body = JSON.parse(request?.body ?? '') as { errorType: string; errorMessage: string; stackTrace: string[] };
    assert.equal(body.errorType, 'Extension.ConfigInvalid');
    assert.equal(body.errorMessage, 'MY_EXT_TOKEN is not set');
    assert.ok(body.stackTrace.length > 0);
  });
}

test('error reports accept any 2xx and reject other codes', async (t) => {
  const { api, client } = await setup(t);
  await client.register('my-ext', ['INVOKE']);
  api.replies.set('/exit/error', { status: 200 });
  await client.exitError('Extension.Test', 'plain string');
  assert.deepEqual(JSON.parse(api.requests.at(-1)?.body ?? ''), {
    errorType: 'Extension.Test',
    errorMessage: 'plain string',
    stackTrace: [],
  });
  api.replies.set('/exit/error', { status: 403, body: { errorType: 'Extension.MissingHeader', errorMessage: 'missing header' } });
  await assert.rejects(client.exitError('Extension.Test', 'x'), { status: 403, errorType: 'Extension.MissingHeader' });
});

test('a non-2xx register answer becomes a typed ExtensionsApiError', async (t) => {
  const { api, client } = await setup(t);
  api.replies.set('/register', {
    status: 403,
    body: { errorType: 'Extension.RegistrationClosed', errorMessage: 'registration is closed' },
  });
  const error = await client.register('my-ext', ['INVOKE']).then(
    () => assert.fail('register should have failed'),
    (error: unknown) => error,
  );
  assert.ok(error instanceof ExtensionsApiError);
  assert.equal(error.status, 403);
  assert.equal(error.errorType, 'Extension.RegistrationClosed');
  assert.equal(error.errorMessage, 'registration is closed');
  assert.equal(error.path, '/register');
  assert.equal(client.identifier, undefined);

  // Extensions disabled: 404 with an empty body.
  api.replies.set('/register', { status: 404 });
  await assert.rejects(client.register('my-ext', ['INVOKE']), { status: 404, errorType: 'UnknownError', errorMessage: 'Not Found' });
});

test('calls before register fail clearly', async (t) => {
  const { client } = await setup(t);
  await assert.rejects(client.next(), /call register\(\) before/);
});

test('a missing AWS_LAMBDA_RUNTIME_API is reported by name', () => {
  assert.throws(() => new ExtensionsApiClient(''), /AWS_LAMBDA_RUNTIME_API is not set/);
});

test('aborting the signal unblocks a pending next', async (t) => {
  const { api, client } = await setup(t);
  await client.register('my-ext', ['SHUTDOWN']);
  const controller = new AbortController();
  const pending = client.next(controller.signal);
  await api.waitFor('/event/next');
  const started = Date.now();
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  assert.ok(Date.now() - started < 500, 'abort should take effect at once');
  // An already aborted signal does not even wait for the server.
  await assert.rejects(client.next(controller.signal), { name: 'AbortError' });
});

test('the event/next long poll has no client timeout, even on a reused keep-alive socket', async (t) => {
  // The server announces `Keep-Alive: timeout=2`; Node's agent would turn a
  // configured socket timeout into ~1 s here. The poll is then held longer.
  const { api, client } = await setup(t, { keepAliveTimeout: 2000 });
  const seen: Array<{ request: ClientRequest; timeouts: number; socketTimeout: number | undefined }> = [];
  const onRequest = (message: unknown): void => {
    const { request } = message as { request: ClientRequest };
    const entry = { request, timeouts: 0, socketTimeout: undefined as number | undefined };
    seen.push(entry);
    request.on('timeout', () => entry.timeouts++);
    request.on('socket', (socket: Socket) => {
      entry.socketTimeout = socket.timeout;
      socket.on('timeout', () => entry.timeouts++);
    });
  };
  diagnosticsChannel.subscribe('http.client.request.start', onRequest);
  t.after(() => diagnosticsChannel.unsubscribe('http.client.request.start', onRequest));

  await client.register('my-ext', ['INVOKE']);
  const pending = client.next();
  await api.waitFor('/event/next');
  await sleep(1500);
  api.push(invoke);
  assert.deepEqual(await pending, invoke);

  const next = seen.find((entry) => entry.request.path.endsWith('/event/next'));
  assert.ok(next, 'the next request was observed');
  assert.equal(next.request.reusedSocket, true, 'the keep-alive socket from register is reused');
  const requestTimeout = (next.request as { timeout?: number }).timeout; // set only when a timeout was asked for
  assert.ok(!requestTimeout, `request timeout is ${requestTimeout}`);
  assert.ok(!next.socketTimeout, `socket timeout is ${next.socketTimeout}`);
  assert.equal(next.timeouts, 0);
  assert.equal(api.connections, 1);
});

test('a kept-alive socket closed by the server is retried once on a new connection', async (t) => {
  const { api, client } = await setup(t);
  await client.register('my-ext', ['INVOKE']);
  api.push((request) => request.socket.destroy());
  api.push(invoke);
  assert.deepEqual(await client.next(), invoke);
  const nexts = api.requests.filter((request) => request.path === '/event/next');
  assert.deepEqual(
    nexts.map((request) => request.connection),
    [1, 2],
  );
});

test('a failure on a fresh connection is not retried', async (t) => {
  const { api, client } = await setup(t);
  api.replies.set('/register', (request) => request.socket.destroy());
  await assert.rejects(client.register('my-ext', ['INVOKE']), { code: 'ECONNRESET' });
  assert.equal(api.requests.length, 1);
});
