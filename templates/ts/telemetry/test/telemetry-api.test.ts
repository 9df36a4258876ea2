import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { subscribe, SubscribeError, subscriptionFor } from '../src/telemetry-api.js';
import { FakeExtensionsApi, telemetryPath } from '../test-support/fake-extensions-api.js';

const buffering = { maxItems: 1000, maxBytes: 262144, timeoutMs: 100 };

async function fakeApi(t: TestContext) {
  const api = await FakeExtensionsApi.start();
  t.after(() => api.close());
  return api;
}

test('the subscription asks for every type with schema 2022-12-13, delivered to sandbox.localdomain', () => {
  assert.deepEqual(subscriptionFor(4243, '/telemetry', buffering), {
    schemaVersion: '2022-12-13',
    types: ['platform', 'function', 'extension'],
    buffering,
    destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain:4243/telemetry' },
  });
});

test('subscribe PUTs the subscription with the identifier and a JSON content type', async (t) => {
  const api = await fakeApi(t);
  const subscription = subscriptionFor(4243, 'telemetry', buffering);
  assert.deepEqual(await subscribe({ runtimeApi: api.address, identifier: 'id-1', subscription }), { delivering: true });
  const [request] = api.requests;
  assert.equal(request?.method, 'PUT');
  assert.equal(request?.path, telemetryPath);
  assert.equal(request?.headers['lambda-extension-identifier'], 'id-1');
  assert.equal(request?.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(request?.body ?? ''), subscription);
});

test('202 means a local environment that delivers nothing', async (t) => {
  const api = await fakeApi(t);
  api.replies.set(telemetryPath, { status: 202, body: { errorType: 'Telemetry.NotSupported', errorMessage: 'Telemetry API is not supported' } });
  const result = await subscribe({ runtimeApi: api.address, identifier: 'id-1', subscription: subscriptionFor(1, '/', buffering) });
  assert.deepEqual(result, { delivering: false });
});

test('a refusal rejects with the status, errorType and errorMessage', async (t) => {
  const api = await fakeApi(t);
  api.replies.set(telemetryPath, { status: 400, body: { errorType: 'ValidationError', errorMessage: 'URI port is not provided' } });
  const error = await subscribe({ runtimeApi: api.address, identifier: 'id-1', subscription: subscriptionFor(1, '/', buffering) }).catch(
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof SubscribeError);
  assert.equal(error.status, 400);
  assert.equal(error.errorType, 'ValidationError');
  assert.equal(error.message, 'telemetry API answered 400 ValidationError: URI port is not provided');
});

test('an old emulator answering 404 without a body is a refusal too', async (t) => {
  const api = await fakeApi(t);
  api.replies.set(telemetryPath, { status: 404 });
  await assert.rejects(
    subscribe({ runtimeApi: api.address, identifier: 'id-1', subscription: subscriptionFor(1, '/', buffering) }),
    /answered 404/,
  );
});

test('an unanswered subscription times out instead of hanging init', async (t) => {
  const api = await fakeApi(t);
  api.replies.set(telemetryPath, () => {}); // never answers
  const started = Date.now();
  await assert.rejects(
    subscribe({ runtimeApi: api.address, identifier: 'id-1', subscription: subscriptionFor(1, '/', buffering), timeoutMs: 100 }),
    /subscribe to telemetry/,
  );
  assert.ok(Date.now() - started < 1000);
});
