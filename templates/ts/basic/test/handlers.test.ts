/**
 * Tests of this project's own handlers (src/handlers.ts); the lifecycle rules
 * themselves are tested in extension.test.ts.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { run, type Handlers, type RunOptions } from '../src/extension.js';
import { ExtensionsApiClient } from '../src/extensions-api.js';
import { events, handlers as projectHandlers } from '../src/handlers.js';
import { createLogger, type LogFields } from '../src/log.js';
import { FakeExtensionsApi } from '../test-support/fake-extensions-api.js';

async function start(t: TestContext, handlers: Handlers, options: Partial<RunOptions> = {}) {
  const api = await FakeExtensionsApi.start();
  const client = new ExtensionsApiClient(api.address);
  const lines: LogFields[] = [];
  const log = createLogger({ level: 'debug', base: { extension: 'my-ext' }, write: (line) => lines.push(JSON.parse(line) as LogFields) });
  t.after(async () => {
    client.close();
    await api.close();
  });
  const exitCode = run({ client, name: 'my-ext', version: '1.2.3', events, handlers, log, env: {}, ...options });
  return { api, exitCode, lines, messages: () => lines.map((line) => line['msg']) };
}

const inSeconds = (seconds: number): number => Date.now() + seconds * 1000;
const invokeEvent = (requestId: string, deadlineMs = inSeconds(3)) => ({
  eventType: 'INVOKE',
  deadlineMs,
  requestId,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
});
const shutdownEvent = (deadlineMs = inSeconds(2)) => ({ eventType: 'SHUTDOWN', deadlineMs, shutdownReason: 'spindown' });

test('the project registers for the events it has handlers for', () => {
  assert.ok(events.length > 0);
  assert.equal(new Set(events).size, events.length);
  for (const event of ['INVOKE', 'SHUTDOWN'] as const) {
    const handler = event === 'INVOKE' ? projectHandlers.invoke : projectHandlers.shutdown;
    assert.equal(typeof handler === 'function', events.includes(event), `${event} handler present iff registered`);
  }
});

test('the project handlers run through a whole lifecycle', async (t) => {
  const { api, exitCode } = await start(t, projectHandlers);
  if (events.includes('INVOKE')) api.push(invokeEvent('req-1'));
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  assert.equal(
    api.requests.some((request) => request.path.endsWith('/error')),
    false,
  );
});

test('the project setup rejects an invalid log level with Extension.ConfigInvalid', async (t) => {
  const { api, exitCode } = await start(t, projectHandlers, { env: { MY_EXT_LOG_LEVEL: 'loud' } });
  assert.equal(await exitCode, 1);
  assert.equal(api.requests.at(-1)?.headers['lambda-extension-function-error-type'], 'Extension.ConfigInvalid');
  assert.match(JSON.parse(api.requests.at(-1)?.body ?? '').errorMessage, /MY_EXT_LOG_LEVEL must be one of debug, info, warn, error/);
});

test('the project setup applies a valid log level', async (t) => {
  const { api, exitCode, messages } = await start(t, projectHandlers, { env: { MY_EXT_LOG_LEVEL: 'warn' } });
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  assert.deepEqual(messages(), ['registered']);
});
