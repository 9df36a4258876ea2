import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { FakeExtensionsApi } from '../test-support/fake-extensions-api.js';

/**
 * src/index.ts as Lambda runs it: a process of its own. An error that escapes
 * handler code is reported to exit/error before the process exits 1, and a
 * SIGTERM ends it with 0. Each run gets a free port for its proxy (MY_EXT_PORT),
 * so that test files, and projects, running at once never collide on the default.
 */
const entry = fileURLToPath(new URL('../src/index.js', import.meta.url));
const preload = new URL('../test-support/crash-preload.js', import.meta.url).href;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function runEntry(api: FakeExtensionsApi, env: Record<string, string>, nodeArgs: string[] = []) {
  const port = String(await freePort());
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    env: { PATH: process.env['PATH'] ?? '', AWS_LAMBDA_RUNTIME_API: api.address, LAMBDA_EXTENSION_NAME: 'my-ext', MY_EXT_PORT: port, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const exited = once(child, 'exit').then(([code]) => {
    clearTimeout(killer);
    return code as number | null;
  });
  return { child, exited, output: () => output };
}

for (const crash of ['throw', 'reject'] as const) {
  test(`a stray ${crash} after register is reported to exit/error, then the process exits 1`, async (t) => {
    const api = await FakeExtensionsApi.start();
    t.after(() => api.close());
    const { exited, output } = await runEntry(api, { TEST_CRASH: crash }, ['--import', preload]);
    assert.equal(await exited, 1, output());
    const report = api.requests.find((request) => request.path === '/exit/error');
    assert.ok(report, `no exit/error report; requests: ${api.requests.map((request) => request.path).join(', ')}\n${output()}`);
    assert.equal(report.headers['lambda-extension-identifier'], api.identifier);
    assert.equal(report.headers['lambda-extension-function-error-type'], 'Extension.UncaughtError');
    assert.match(JSON.parse(report.body).errorMessage, crash === 'throw' ? /a stray throw/ : /a stray rejection/);
    assert.match(output(), /"msg":"uncaught error"/);
  });
}

test('SIGTERM ends the process with 0 and nothing reported', async (t) => {
  const api = await FakeExtensionsApi.start();
  t.after(() => api.close());
  const { child, exited, output } = await runEntry(api, {});
  await api.waitFor('/event/next');
  child.kill('SIGTERM');
  assert.equal(await exited, 0, output());
  assert.equal(
    api.requests.some((request) => request.path.endsWith('/error')),
    false,
  );
});
