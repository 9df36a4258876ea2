/**
 * Tests of this project's own handlers (src/handlers.ts); the lifecycle rules
 * themselves are tested in extension.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { events, handlers as projectHandlers } from '../src/handlers.js';
import { invokeEvent, shutdownEvent, start } from '../test-support/lifecycle.js';

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

test('on Lambda Managed Instances the project registers for SHUTDOWN only, says so, and stops cleanly', async (t) => {
  const env = { AWS_LAMBDA_MAX_CONCURRENCY: '8' };
  const { api, exitCode, lines } = await start(t, projectHandlers, { env }, { managedInstances: true });
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  assert.deepEqual(JSON.parse(api.requests[0]?.body ?? ''), { events: ['SHUTDOWN'] });
  assert.equal(
    api.requests.some((request) => request.path.endsWith('/error')),
    false,
  );
  const managed = lines.find((line) => line['msg'] === 'managed instances: per-invoke work does not run here; registering SHUTDOWN only');
  assert.equal(managed?.['level'], 'info');
  assert.equal(managed?.['maxConcurrency'], '8');
  assert.deepEqual(lines.find((line) => line['msg'] === 'registered')?.['events'], ['SHUTDOWN']);
  assert.equal(lines.at(-1)?.['msg'], 'exiting');
});
