/**
 * The lifecycle of this project (src/handlers.ts) against the fake
 * Extensions API: the proxy starts before registering, init errors are
 * reported with their type, and SHUTDOWN closes the proxy.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { createProxyHandlers, events, startProxy } from '../src/handlers.js';
import { createLogger } from '../src/log.js';
import { shutdownEvent, start } from '../test-support/lifecycle.js';

const log = createLogger({ write: () => {} });
const runtimeApi = '127.0.0.1:1';

test('the project registers for SHUTDOWN only: the proxy sees invokes through the runtime', () => {
  assert.deepEqual(events, ['SHUTDOWN']);
});

test('the proxy listens before the extension registers, and SHUTDOWN closes it', async (t) => {
  const started = await startProxy({ name: 'my-ext', env: { AWS_LAMBDA_RUNTIME_API: runtimeApi }, log, port: 0 });
  assert.ok(started.proxy, started.error?.message);
  const port = started.proxy.port;
  const { api, exitCode, lines } = await start(t, createProxyHandlers(started));
  await api.waitFor('/event/next');
  const listening = lines.find((line) => line['msg'] === 'proxy listening');
  assert.equal(listening?.['address'], `127.0.0.1:${port}`);
  assert.equal(listening?.['wrapper'], '/opt/my-ext-wrapper');
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  await assert.rejects(
    new Promise((resolve, reject) => net.connect(port, '127.0.0.1').once('connect', resolve).once('error', reject)),
    'the port is closed after SHUTDOWN',
  );
});

test('on Lambda Managed Instances the project registers SHUTDOWN only, too', async (t) => {
  const started = await startProxy({ name: 'my-ext', env: { AWS_LAMBDA_RUNTIME_API: runtimeApi }, log, port: 0 });
  const { api, exitCode } = await start(t, createProxyHandlers(started), { env: { AWS_LAMBDA_MAX_CONCURRENCY: '8' } }, { managedInstances: true });
  api.push(shutdownEvent());
  assert.equal(await exitCode, 0);
  assert.deepEqual(JSON.parse(api.requests[0]?.body ?? ''), { events: ['SHUTDOWN'] });
});

test('a bad setting or a taken port is reported to Lambda as the init error', async (t) => {
  const taken = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => taken.once('listening', resolve));
  t.after(() => taken.close());
  const takenPort = String((taken.address() as net.AddressInfo).port);
  const cases = [
    { env: { MY_EXT_PORT: '9001' }, errorType: 'Extension.ConfigInvalid', message: /MY_EXT_PORT/ },
    { env: { MY_EXT_LOG_LEVEL: 'loud' }, errorType: 'Extension.ConfigInvalid', message: /MY_EXT_LOG_LEVEL/ },
    { env: { MY_EXT_PORT: takenPort }, errorType: 'Extension.ProxyListenFailed', message: /MY_EXT_PORT/ },
  ];
  for (const { env, errorType, message } of cases) {
    const started = await startProxy({ name: 'my-ext', env: { AWS_LAMBDA_RUNTIME_API: runtimeApi, ...env }, log });
    const { api, exitCode } = await start(t, createProxyHandlers(started));
    assert.equal(await exitCode, 1);
    const report = api.requests.at(-1);
    assert.equal(report?.path, '/init/error');
    assert.equal(report?.headers['lambda-extension-function-error-type'], errorType);
    assert.match(JSON.parse(report?.body ?? '').errorMessage, message);
  }
});
