/**
 * The Runtime API proxy (src/proxy.ts) between a runtime (these tests, as
 * plain HTTP calls) and a fake Runtime API: what goes through unchanged,
 * what the hooks may change, streams, and concurrent invocations.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test, type TestContext } from 'node:test';
import { createLogger } from '../src/log.js';
import { maxPayloadBytes, rejectedEventType, RuntimeApiProxy, type Hooks, type ProxyResponse } from '../src/proxy.js';
import { FakeRuntimeApi } from '../test-support/fake-runtime-api.js';

const nextPath = '/2018-06-01/runtime/invocation/next';
const answerPath = (id: string, kind: 'response' | 'error') => `/2018-06-01/runtime/invocation/${id}/${kind}`;

async function setUp(t: TestContext, events: string[], hooks: Hooks = {}, runtimeApi?: string) {
  const api = await FakeRuntimeApi.start(...events);
  const proxy = await RuntimeApiProxy.listen({ runtimeApi: runtimeApi ?? api.address, port: 0, hooks, log: createLogger({ write: () => {} }) });
  t.after(async () => {
    await proxy.close();
    await api.close();
  });
  return { api, proxy, base: `http://127.0.0.1:${proxy.port}` };
}

async function next(base: string): Promise<{ id: string; event: string }> {
  const response = await fetch(base + nextPath);
  const event = await response.text();
  assert.equal(response.status, 200, event);
  assert.ok(response.headers.get('lambda-runtime-invoked-function-arn'), "Lambda's headers reach the runtime");
  assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(event)));
  return { id: response.headers.get('lambda-runtime-aws-request-id') ?? '', event };
}

async function post(base: string, path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; answer: string }> {
  const response = await fetch(base + path, { method: 'POST', body, headers });
  return { status: response.status, answer: await response.text() };
}

test('an invocation goes through unchanged without hooks', async (t) => {
  const { api, proxy, base } = await setUp(t, ['{"hello":"world"}']);
  const { id, event } = await next(base);
  assert.deepEqual({ id, event }, { id: 'id-1', event: '{"hello":"world"}' });
  assert.equal(proxy.waiting, 1);
  const { status, answer } = await post(base, answerPath(id, 'response'), '{"ok":true}', { 'content-type': 'application/json' });
  assert.deepEqual({ status, answer }, { status: 202, answer: '{"status":"OK"}' }, "Lambda's answer reaches the runtime");
  assert.deepEqual(
    api.posts.map((recorded) => [recorded.path, recorded.body]),
    [[answerPath('id-1', 'response'), '{"ok":true}']],
  );
  assert.equal(proxy.waiting, 0);
});

test('the hooks change the event and the response', async (t) => {
  let seen: ProxyResponse | undefined;
  const { api, base } = await setUp(t, ['{"n":1}'], {
    onEvent(invocation, { signal }) {
      assert.equal(signal.aborted, false);
      invocation.event = Buffer.from('{"n":1,"enriched":true}');
    },
    async onResponse(invocation, response) {
      seen = response;
      response.body = Buffer.from(JSON.stringify({ ...JSON.parse(String(response.body)), requestId: invocation.requestId }));
    },
  });
  const { id, event } = await next(base);
  assert.equal(event, '{"n":1,"enriched":true}');
  await post(base, answerPath(id, 'response'), '{"ok":true}');
  assert.equal(api.posts[0]?.body, '{"ok":true,"requestId":"id-1"}');
  assert.equal(seen?.kind, 'success');
  assert.ok((seen?.durationMs ?? 0) > 0);
});

test('a rejected event fails its invocation, and the runtime gets the next one', async (t) => {
  const { api, base } = await setUp(t, ['{"bad":true}', '{"good":true}'], {
    onEvent(invocation) {
      if (String(invocation.event).includes('bad')) throw new Error('missing "good"');
    },
  });
  assert.deepEqual(await next(base), { id: 'id-2', event: '{"good":true}' });
  assert.equal(api.posts.length, 1);
  assert.equal(api.posts[0]?.path, answerPath('id-1', 'error'));
  assert.equal(api.posts[0]?.headers['lambda-runtime-function-error-type'], rejectedEventType);
  assert.deepEqual(JSON.parse(api.posts[0]?.body ?? ''), { errorMessage: 'missing "good"', errorType: rejectedEventType, stackTrace: [] });
});

test('a throwing onResponse fails one invocation, not the proxy', async (t) => {
  const { api, base } = await setUp(t, ['{}', '{}'], {
    onResponse() {
      throw new Error('bug in the hook');
    },
  });
  const { id } = await next(base);
  assert.equal((await post(base, answerPath(id, 'response'), '{}')).status, 202);
  assert.equal(api.posts[0]?.path, answerPath(id, 'error'));
  assert.match(api.posts[0]?.body ?? '', /bug in the hook/);
  assert.equal((await next(base)).id, 'id-2', 'the proxy still serves');
});

test('handler errors and init errors pass through unchanged', async (t) => {
  let seen: ProxyResponse | undefined;
  const { api, base } = await setUp(t, ['{}'], {
    onResponse(_invocation, response) {
      seen = response;
      throw new Error('a failure is never turned down');
    },
  });
  const { id } = await next(base);
  const failure = '{"errorMessage":"boom","errorType":"Error","stackTrace":["at handler"]}';
  const headers = { 'lambda-runtime-function-error-type': 'Error', 'content-type': 'application/json' };
  assert.equal((await post(base, answerPath(id, 'error'), failure, headers)).status, 202);
  await post(base, '/2018-06-01/runtime/init/error', '{"errorMessage":"no module"}', { 'lambda-runtime-function-error-type': 'Runtime.ImportModuleError' });
  assert.equal(api.posts.length, 2);
  assert.equal(api.posts[0]?.body, failure);
  assert.equal(api.posts[0]?.headers['lambda-runtime-function-error-type'], 'Error');
  assert.equal(api.posts[1]?.path, '/2018-06-01/runtime/init/error');
  assert.equal(api.posts[1]?.headers['lambda-runtime-function-error-type'], 'Runtime.ImportModuleError');
  assert.equal(seen?.kind, 'failure');
  assert.equal(seen?.errorType, 'Error');
});

test('a streamed response goes to Lambda chunk by chunk, trailers included', async (t) => {
  let seen: ProxyResponse | undefined;
  const { api, base } = await setUp(t, ['{}'], {
    onResponse(_invocation, response) {
      seen = response;
    },
  });
  const { id } = await next(base);
  const firstChunk = new Promise<string>((resolve) => (api.onFirstChunk = (chunk) => resolve(chunk.toString())));
  const url = new URL(base + answerPath(id, 'response'));
  const request = http.request(url, { method: 'POST', headers: { 'lambda-runtime-function-response-mode': 'streaming', trailer: 'Lambda-Runtime-Function-Error-Type' } });
  const answered = new Promise<number>((resolve, reject) => {
    request.once('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('error', reject);
  });
  request.write('first chunk;');
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('nothing before the stream ended: the proxy buffers it'), 10_000).unref());
  assert.equal(await Promise.race([firstChunk, timeout]), 'first chunk;');
  request.addTrailers({ 'Lambda-Runtime-Function-Error-Type': 'Runtime.StreamError' });
  request.end('second chunk');
  assert.equal(await answered, 202);
  assert.equal(api.posts[0]?.body, 'first chunk;second chunk');
  assert.equal(api.posts[0]?.trailers['lambda-runtime-function-error-type'], 'Runtime.StreamError');
  assert.equal(seen?.kind, 'streamed');
  assert.equal(seen?.body, undefined);
  assert.equal(seen?.bytes, 'first chunk;second chunk'.length);
});

test('concurrent invocations are matched by request id, not by order', async (t) => {
  const concurrency = 16;
  const seen = new Map<string, string>();
  const events = Array.from({ length: concurrency }, (_, index) => JSON.stringify({ n: index }));
  const { proxy, base } = await setUp(t, events, {
    onResponse(invocation, response) {
      seen.set(invocation.requestId, `${String(invocation.event)}->${String(response.body)}`);
    },
  });
  await Promise.all(
    events.map(async (_, index) => {
      const { id, event } = await next(base);
      await new Promise((resolve) => setTimeout(resolve, (concurrency - index) % 5));
      await post(base, answerPath(id, 'response'), event);
    }),
  );
  assert.equal(seen.size, concurrency);
  for (const [id, pair] of seen) {
    const [event, answer] = pair.split('->');
    assert.equal(answer, event, `${id} answered with another invocation's response`);
  }
  assert.equal(proxy.waiting, 0);
});

test("a response over Lambda's limit goes to Lambda unseen", async (t) => {
  let called = false;
  const { api, base } = await setUp(t, ['{}'], {
    onResponse() {
      called = true;
    },
  });
  const { id } = await next(base);
  const { status, answer } = await post(base, answerPath(id, 'response'), Buffer.alloc(maxPayloadBytes + 1, 'x'));
  assert.equal(status, 413);
  assert.match(answer, /Function\.ResponseSizeTooLarge/);
  assert.equal(called, false);
  assert.equal(api.posts[0]?.body.length, maxPayloadBytes + 1);
});

test('answers for request ids the proxy never handed out are left to Lambda', async (t) => {
  const { api, base } = await setUp(t, [], {
    onResponse() {
      throw new Error('never called');
    },
  });
  assert.equal((await post(base, answerPath('unknown', 'response'), '{}')).status, 202);
  assert.equal(api.posts.length, 1);
});

test('an unreachable Runtime API is a 502 for the runtime', async (t) => {
  const { base } = await setUp(t, [], {}, '127.0.0.1:1');
  const response = await fetch(base + nextPath);
  assert.equal(response.status, 502);
  assert.match(await response.text(), /Proxy\.Unreachable/);
});
