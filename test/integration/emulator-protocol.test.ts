import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Emulator } from '../../src/core/emulator/index.js';
import { addFile, makeLayer, rawRequest, type RawResponse } from '../helpers/emulator-fixtures.js';

/**
 * Every Extensions/Telemetry/Logs API endpoint, success and error paths,
 * with a raw HTTP client acting as the extensions. The layer holds one
 * script that never registers, so the test can register in its place as
 * the external extension; the simulated runtime init keeps registration
 * open long enough for the internal registrations.
 */
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const register = (api: string, name: string, body: unknown, headers: Record<string, string> = {}) =>
  rawRequest(
    api,
    'POST',
    '/2020-01-01/extension/register',
    { 'Lambda-Extension-Name': name, ...headers },
    typeof body === 'string' ? body : JSON.stringify(body),
  );
const next = (api: string, id: string) =>
  rawRequest(api, 'GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': id });

/** The test registers in place of the launched file, so wait until the emulator has launched it. */
async function launched(emulator: Emulator, name: string): Promise<void> {
  while (!emulator.extensions.some((extension) => extension.name === name && extension.pid !== undefined)) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function assertError(response: RawResponse, status: number, errorType: string, message?: RegExp): void {
  assert.equal(response.status, status, response.body);
  const body = response.json();
  assert.equal(body['errorType'], errorType);
  assert.equal(typeof body['errorMessage'], 'string');
  if (message) assert.match(body['errorMessage'] as string, message);
}

describe('emulator protocol', () => {
  let layer: string;
  let emulator: Emulator;
  let api: string;
  let initDone: Promise<unknown>;
  let externalId: string;
  let internalId: string;
  let pendingNext: Promise<RawResponse>;

  before(async () => {
    layer = await makeLayer();
    // An external extension file whose process never registers: the test registers under its name.
    await addFile(layer, 'sleeper', '#!/bin/sh\nexec sleep 30\n', 0o755);
    emulator = new Emulator({
      layerDirectory: layer,
      function: { initDurationMs: 400, durationMs: 10 },
      initTimeoutMs: 5000,
      shutdownBudgetMs: 300,
    });
    api = await emulator.listen();
    initDone = emulator.start();
    await launched(emulator, 'sleeper');
  });

  after(async () => {
    await emulator.close();
    await rm(layer, { recursive: true, force: true });
  });

  test('AWS_LAMBDA_RUNTIME_API-style address', () => {
    assert.match(api, /^127\.0\.0\.1:\d+$/);
  });

  test('register: error paths (403 + errorType, RIE strings)', async () => {
    assertError(await register(api, '', { events: [] }), 403, 'Extension.InvalidExtensionName', /Empty extension name/);
    assertError(await register(api, 'sleeper', '{not json'), 403, 'InvalidRequestFormat');
    assertError(await register(api, 'sleeper', ''), 403, 'InvalidRequestFormat');
    assertError(
      await register(api, 'sleeper', { configurationKeys: ['A'] }),
      403,
      'InvalidRequestFormat',
      /configurationKeys are deprecated/,
    );
    assertError(
      await register(api, 'sleeper', { events: ['INVOKE', 'FOO'] }),
      403,
      'Extension.InvalidEventType',
      /FOO/,
    );
    assertError(
      await register(api, 'not-a-file', { events: ['SHUTDOWN'] }),
      403,
      'Extension.InvalidEventType',
      /ShutdownEventNotSupportedForInternalExtension/,
    );
  });

  test('register: external extension succeeds once, accountId only on request', async () => {
    const response = await register(
      api,
      'sleeper',
      { events: ['INVOKE', 'SHUTDOWN'] },
      { 'Lambda-Extension-Accept-Feature': 'foo, accountId' },
    );
    assert.equal(response.status, 200, response.body);
    externalId = response.headers['lambda-extension-identifier'] as string;
    assert.match(externalId, uuid);
    assert.deepEqual(response.json(), {
      functionName: 'ext-dev-function',
      functionVersion: '$LATEST',
      handler: 'index.handler',
      accountId: '123456789012',
    });
    assertError(
      await register(api, 'sleeper', { events: ['INVOKE'] }),
      403,
      'Extension.InvalidExtensionState',
      /State transition from Registered to Registered/,
    );
  });

  test('register: internal extension (name matching no file), no accountId unless asked, duplicates refused, cap of 10', async () => {
    const response = await register(api, 'internal-0', { events: ['INVOKE'] });
    assert.equal(response.status, 200, response.body);
    assert.equal('accountId' in response.json(), false);
    internalId = response.headers['lambda-extension-identifier'] as string;
    assertError(
      await register(api, 'internal-0', { events: ['INVOKE'] }),
      403,
      'Extension.InvalidExtensionState',
      /already registered/,
    );
    // 2 registered so far; 8 more reach the cap of 10.
    const extra: string[] = [];
    for (let index = 1; index <= 8; index += 1) {
      const ok = await register(api, `internal-${index}`, {});
      assert.equal(ok.status, 200, ok.body);
      extra.push(ok.headers['lambda-extension-identifier'] as string);
    }
    assertError(
      await register(api, 'internal-9', {}),
      403,
      'Extension.TooManyExtensions',
      /Extension limit \(10\) reached/,
    );
    // Let init finish: every registered extension must call next. The extra ones call it and stay parked.
    // Internal extensions die with the runtime at Shutdown: their parked calls are cut.
    for (const id of extra) void next(api, id).catch(() => undefined);
  });

  test('identifier middleware on every identified route', async () => {
    for (const [method, route] of [
      ['GET', '/2020-01-01/extension/event/next'],
      ['POST', '/2020-01-01/extension/init/error'],
      ['POST', '/2020-01-01/extension/exit/error'],
      ['PUT', '/2022-07-01/telemetry'],
      ['PUT', '/2020-08-15/logs'],
    ] as const) {
      assertError(await rawRequest(api, method, route), 403, 'Extension.MissingExtensionIdentifier');
      assertError(
        await rawRequest(api, method, route, { 'Lambda-Extension-Identifier': 'nope' }),
        403,
        'Extension.InvalidExtensionIdentifier',
      );
      assertError(
        await rawRequest(api, method, route, { 'Lambda-Extension-Identifier': '00000000-0000-4000-8000-000000000000' }),
        403,
        'Extension.UnknownExtensionIdentifier',
      );
    }
  });

  test('unknown routes and methods', async () => {
    assert.equal((await rawRequest(api, 'GET', '/2020-01-01/extension/nope')).status, 404);
    assert.equal((await rawRequest(api, 'GET', '/2020-01-01/extension/register')).status, 405);
  });

  test('telemetry: validation (400 ValidationError), success 200 OK during init', async () => {
    const put = (body: unknown) =>
      rawRequest(
        api,
        'PUT',
        '/2022-07-01/telemetry',
        { 'Lambda-Extension-Identifier': externalId },
        typeof body === 'string' ? body : JSON.stringify(body),
      );
    const good = {
      schemaVersion: '2022-12-13',
      types: ['platform'],
      destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain:4243/x' },
    };
    assertError(await put('{'), 400, 'ValidationError');
    assertError(await put({ ...good, schemaVersion: '2020-01-01' }), 400, 'ValidationError', /schemaVersion/);
    assertError(await put({ ...good, types: [] }), 400, 'ValidationError', /types should not be empty/);
    assertError(await put({ ...good, types: ['platform', 'bogus'] }), 400, 'ValidationError', /bogus/);
    assertError(await put({ ...good, buffering: { maxItems: 999 } }), 400, 'ValidationError', /maxItems/);
    assertError(await put({ ...good, buffering: { maxBytes: 2_000_000 } }), 400, 'ValidationError', /maxBytes/);
    assertError(await put({ ...good, buffering: { timeoutMs: 24 } }), 400, 'ValidationError', /timeoutMs/);
    assertError(
      await put({ ...good, destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain/x' } }),
      400,
      'ValidationError',
      /URI port is not provided/,
    );
    assertError(
      await put({ ...good, destination: { protocol: 'HTTP', URI: 'https://sandbox.localdomain:4243/' } }),
      400,
      'ValidationError',
      /http:\/\//,
    );
    assertError(
      await put({ ...good, destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain:9001/' } }),
      400,
      'ValidationError',
      /reserved/,
    );
    assertError(
      await put({ ...good, destination: { protocol: 'HTTP', URI: 'http://example.com:4243/' } }),
      400,
      'ValidationError',
      /outside/,
    );
    assertError(
      await put({ ...good, destination: { protocol: 'FTP', URI: 'http://sandbox:4243/' } }),
      400,
      'ValidationError',
      /protocol/,
    );
    const ok = await put({ ...good, buffering: { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 } });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.body, '"OK"');
    assert.match(String(ok.headers['content-type']), /application\/json/);
  });

  test('logs API answers 202 as a local environment does', async () => {
    const response = await rawRequest(
      api,
      'PUT',
      '/2020-08-15/logs',
      { 'Lambda-Extension-Identifier': internalId },
      '{}',
    );
    assert.equal(response.status, 202);
    assert.equal(response.json()['errorType'], 'Logs.NotSupported');
  });

  test('init/error: header required, allowed from Registered only, 202 {"status":"OK"}, later calls refused', async () => {
    const victim = await register(api, 'sleeper-victim-does-not-exist', {});
    // 11th registration is refused by the cap, so use an already-registered internal one instead.
    assert.equal(victim.status, 403);
    const initError = (id: string, headers: Record<string, string> = {}) =>
      rawRequest(
        api,
        'POST',
        '/2020-01-01/extension/init/error',
        { 'Lambda-Extension-Identifier': id, ...headers },
        '{"errorMessage":"boom"}',
      );
    assertError(await initError(internalId), 403, 'Extension.MissingHeader');
    const accepted = await initError(internalId, { 'Lambda-Extension-Function-Error-Type': 'Extension.ConfigInvalid' });
    assert.equal(accepted.status, 202);
    assert.deepEqual(accepted.json(), { status: 'OK' });
    // Repeating is harmless.
    assert.equal(
      (await initError(internalId, { 'Lambda-Extension-Function-Error-Type': 'Extension.Other' })).status,
      202,
    );
    assertError(await next(api, internalId), 403, 'Extension.InvalidExtensionState', /InitError to Ready/);
    assert.ok(
      emulator.verdicts.some(
        (verdict) =>
          verdict.kind === 'init-error' &&
          verdict.errorType === 'Extension.InitError' &&
          /Extension.ConfigInvalid/.test(verdict.message),
      ),
    );
  });

  test('next: parks until an event; a second call while parked is refused', async () => {
    pendingNext = next(api, externalId);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assertError(await next(api, externalId), 403, 'Extension.InvalidExtensionState', /Ready to Ready/);
  });

  test('init ends (failed: an init/error was reported), registration and subscriptions close, SHUTDOWN reason failure', async () => {
    const init = (await initDone) as { status: string };
    assert.equal(init.status, 'error');
    const shutdown = await pendingNext;
    assert.equal(shutdown.status, 200);
    const event = shutdown.json();
    assert.equal(event['eventType'], 'SHUTDOWN');
    assert.equal(event['shutdownReason'], 'failure');
    assert.equal(typeof event['deadlineMs'], 'number');
    assert.match(shutdown.headers['lambda-extension-event-identifier'] as string, uuid);
    assertError(await register(api, 'late', {}), 403, 'Extension.RegistrationClosed');
  });

  test('exit/error: header required; refused once the extension has exited its states', async () => {
    const exitError = (id: string, headers: Record<string, string> = {}) =>
      rawRequest(api, 'POST', '/2020-01-01/extension/exit/error', { 'Lambda-Extension-Identifier': id, ...headers });
    assertError(await exitError(externalId), 403, 'Extension.MissingHeader');
  });
});

describe('emulator protocol: a clean invoke', () => {
  test('INVOKE body, exit/error from Running, telemetry closed after init', async () => {
    const layer = await makeLayer();
    await addFile(layer, 'sleeper', '#!/bin/sh\nexec sleep 30\n', 0o755);
    const emulator = new Emulator({
      layerDirectory: layer,
      function: { initDurationMs: 100, durationMs: 20, timeoutSeconds: 2 },
      functionName: 'my-fn',
      shutdownBudgetMs: 300,
    });
    try {
      const api = await emulator.listen();
      const initDone = emulator.start();
      await launched(emulator, 'sleeper');
      const registered = await register(api, 'sleeper', { events: ['INVOKE', 'SHUTDOWN'] });
      const id = registered.headers['lambda-extension-identifier'] as string;
      const first = next(api, id);
      assert.equal((await initDone).status, 'success');
      assertError(
        await rawRequest(api, 'PUT', '/2022-07-01/telemetry', { 'Lambda-Extension-Identifier': id }, '{}'),
        403,
        'Telemetry.SubscriptionClosed',
      );
      const invokedAt = Date.now();
      const invokeDone = emulator.invoke();
      const invoke = await first;
      const event = invoke.json();
      assert.equal(event['eventType'], 'INVOKE');
      assert.match(event['requestId'] as string, uuid);
      assert.equal(event['invokedFunctionArn'], 'arn:aws:lambda:us-east-1:123456789012:function:my-fn');
      assert.equal(typeof event['deadlineMs'], 'number');
      // The function timeout (2 s) from when the invoke began, whatever the machine's load made of the time since.
      const deadlineMs = event['deadlineMs'] as number;
      assert.ok(
        deadlineMs >= invokedAt + 2000 && deadlineMs <= Date.now() + 2000,
        `deadline ${deadlineMs - invokedAt} ms`,
      );
      const tracing = event['tracing'] as { type: string; value: string };
      assert.equal(tracing.type, 'X-Amzn-Trace-Id');
      assert.match(tracing.value, /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$/);
      assert.equal(invoke.headers['content-type'], 'application/json');
      // exit/error from Running: 202, verdict, the invoke fails.
      const exitError = await rawRequest(api, 'POST', '/2020-01-01/extension/exit/error', {
        'Lambda-Extension-Identifier': id,
        'Lambda-Extension-Function-Error-Type': 'Extension.Broken',
      });
      assert.equal(exitError.status, 202);
      const result = await invokeDone;
      assert.equal(result.status, 'failure');
      assert.ok(
        emulator.verdicts.some(
          (verdict) => verdict.kind === 'exit-error' && verdict.errorType === 'Extension.ExitError',
        ),
      );
    } finally {
      await emulator.close();
      await rm(layer, { recursive: true, force: true });
    }
  });
});
