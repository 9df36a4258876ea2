import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { AwsClient, errorTypeOf, MissingEnvironmentError, secretsManager, ssm, TransportError } from '../src/aws.js';

async function fakeEndpoint(t: TestContext, answer: (request: http.IncomingMessage, body: string) => { status: number; body: string }) {
  const seen: Array<{ headers: http.IncomingHttpHeaders; body: string; url: string | undefined }> = [];
  const server = http.createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    seen.push({ headers: request.headers, body, url: request.url });
    const reply = answer(request, body);
    response.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.1' }).end(reply.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const environment = (endpoint: string): NodeJS.ProcessEnv => ({
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_SESSION_TOKEN: 'session',
  AWS_ENDPOINT_URL: endpoint,
});
const soon = () => Date.now() + 5000;

test('signs with SigV4 and sends the JSON 1.1 protocol', async (t) => {
  const endpoint = await fakeEndpoint(t, () => ({ status: 200, body: '{"Parameter":{"Name":"db","Value":"v"}}' }));
  const client = new AwsClient(environment(endpoint.url));
  const answer = await client.call(ssm, 'GetParameter', { Name: 'db' }, soon());
  assert.equal(answer.status, 200);
  assert.equal(answer.body.toString(), '{"Parameter":{"Name":"db","Value":"v"}}');
  const [request] = endpoint.seen;
  assert.equal(request?.url, '/');
  assert.equal(request?.body, '{"Name":"db"}');
  assert.equal(request?.headers['x-amz-target'], 'AmazonSSM.GetParameter');
  assert.equal(request?.headers['content-type'], 'application/x-amz-json-1.1');
  assert.equal(request?.headers['x-amz-security-token'], 'session');
  assert.match(String(request?.headers['authorization']), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ssm\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/);
});

test('retries throttling, then answers', async (t) => {
  let calls = 0;
  const endpoint = await fakeEndpoint(t, () =>
    ++calls <= 2 ? { status: 400, body: '{"__type":"ThrottlingException","message":"Rate exceeded"}' } : { status: 200, body: '{"SecretString":"s"}' },
  );
  const client = new AwsClient(environment(endpoint.url), { attempts: 5, baseMs: 1, maxMs: 5 });
  const answer = await client.call(secretsManager, 'GetSecretValue', { SecretId: 'db' }, soon());
  assert.equal(answer.status, 200);
  assert.equal(calls, 3);
});

test('does not retry a definite answer', async (t) => {
  let calls = 0;
  const endpoint = await fakeEndpoint(t, () => (calls++, { status: 400, body: '{"__type":"ParameterNotFound","message":"not found"}' }));
  const answer = await new AwsClient(environment(endpoint.url)).call(ssm, 'GetParameter', { Name: 'missing' }, soon());
  assert.equal(errorTypeOf(answer), 'ParameterNotFound');
  assert.equal(calls, 1);
});

test('stops retrying at the deadline and answers with the last throttled answer', async (t) => {
  let calls = 0;
  const endpoint = await fakeEndpoint(t, () => (calls++, { status: 400, body: '{"__type":"com.amazonaws#ThrottlingException","message":"Rate exceeded"}' }));
  const client = new AwsClient(environment(endpoint.url), { attempts: 100, baseMs: 20, maxMs: 40 });
  const started = Date.now();
  const answer = await client.call(ssm, 'GetParameter', { Name: 'hot' }, started + 150);
  // The deadline ends the waits and the call in flight; the margin is for a loaded machine.
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms with a 150 ms deadline`);
  assert.equal(errorTypeOf(answer), 'ThrottlingException');
  assert.ok(calls >= 2 && calls < 100, `${calls} calls`);
});

test('an unreachable endpoint is a TransportError', async () => {
  const client = new AwsClient(environment('http://127.0.0.1:1'), { attempts: 2, baseMs: 1, maxMs: 2 });
  await assert.rejects(client.call(ssm, 'GetParameter', { Name: 'x' }, soon()), (error) => error instanceof TransportError && !error.timedOut);
});

test('endpoints and region come from the environment as the SDKs read them', () => {
  const client = new AwsClient({ AWS_REGION: 'cn-north-1', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:1/' });
  assert.deepEqual(client.endpoints, { ssm: 'http://127.0.0.1:1/', secretsmanager: 'https://secretsmanager.cn-north-1.amazonaws.com.cn/' });
  assert.throws(() => new AwsClient({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' }), (error) => error instanceof MissingEnvironmentError && /AWS_REGION/.test(error.message));
});
