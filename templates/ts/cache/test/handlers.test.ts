/**
 * The project's handlers (src/handlers.ts) through the whole lifecycle that
 * src/extension.ts runs, against the fake Extensions API.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { AwsResponse } from '../src/aws.js';
import { createCacheHandlers, events } from '../src/handlers.js';
import { get, testToken } from '../test-support/http.js';
import { invokeEvent, shutdownEvent, start } from '../test-support/lifecycle.js';

const env = { PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '0', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_SESSION_TOKEN: testToken };
const aws = { call: async (): Promise<AwsResponse> => ({ status: 200, body: Buffer.from('{"Parameter":{"Name":"db","Value":"v"}}') }) };

async function waitFor<T>(find: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('timed out');
}

test('registers for INVOKE and SHUTDOWN', () => {
  assert.deepEqual(events, ['INVOKE', 'SHUTDOWN']);
});

test('serves on 127.0.0.1 from init, notes the invoke deadline and stops at SHUTDOWN', async (t) => {
  const handlers = createCacheHandlers({ aws });
  const { api, exitCode, lines } = await start(t, handlers, { env });
  const listening = await waitFor(() => lines.find((line) => line['msg'] === 'listening'));
  const address = String(listening['address']);
  assert.match(address, /^127\.0\.0\.1:\d+$/);
  // During init, before any event: the function's own init may ask.
  const answer = await get(`http://${address}`, '/systemsmanager/parameters/get?name=db');
  assert.equal(answer.status, 200);
  const deadline = Date.now() + 3000;
  api.push(invokeEvent('req-1', deadline));
  await waitFor(() => (handlers.server?.invokeDeadline === deadline ? true : undefined));
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  const totals = lines.find((line) => line['msg'] === 'cache totals');
  assert.equal(totals?.['misses'], 1);
  assert.equal(totals?.['awsCalls'], 1);
  const [host, port] = address.split(':');
  await assert.rejects(
    new Promise((resolve, reject) => net.connect(Number(port), host!).once('connect', resolve).once('error', reject)),
    'no longer listening after SHUTDOWN',
  );
});

test('on Lambda Managed Instances registers SHUTDOWN only and still serves', async (t) => {
  const handlers = createCacheHandlers({ aws });
  const { api, exitCode, lines } = await start(t, handlers, { env: { ...env, AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' } }, { managedInstances: true });
  await waitFor(() => lines.find((line) => line['msg'] === 'listening'));
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  assert.deepEqual(JSON.parse(api.requests[0]?.body ?? ''), { events: ['SHUTDOWN'] });
});

test('a bad setting or a taken port fails the init with init/error', async (t) => {
  const taken = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => taken.once('listening', resolve));
  t.after(() => taken.close());
  const port = String((taken.address() as net.AddressInfo).port);
  const cases: Array<[Record<string, string>, string]> = [
    [{ SSM_PARAMETER_STORE_TTL: 'forever' }, 'Extension.ConfigInvalid'],
    [{ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: port }, 'Extension.ListenFailed'],
  ];
  for (const [settings, errorType] of cases) {
    const { api, exitCode } = await start(t, createCacheHandlers({ aws }), { env: { ...env, ...settings } });
    assert.equal(await exitCode, 1);
    assert.equal(api.requests.at(-1)?.path, '/init/error');
    assert.equal(api.requests.at(-1)?.headers['lambda-extension-function-error-type'], errorType);
  }
});

test('without credentials (ext dev) it starts, and each request says what is missing', async (t) => {
  const handlers = createCacheHandlers();
  const { api, exitCode, lines } = await start(t, handlers, { env: { ...env, AWS_ACCESS_KEY_ID: '' } });
  const listening = await waitFor(() => lines.find((line) => line['msg'] === 'listening'));
  const answer = await get(`http://${String(listening['address'])}`, '/secretsmanager/get?secretId=db');
  assert.equal(answer.status, 500);
  assert.match(String(answer.body['message']), /AWS_ACCESS_KEY_ID/);
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
});
