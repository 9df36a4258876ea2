/**
 * Against moto's server, a local implementation of SSM and Secrets Manager,
 * when MOTO_ENDPOINT_URL gives its URL:
 *
 *   pip install 'moto[server]' && python -m moto.server -p 5000 &
 *   MOTO_ENDPOINT_URL=http://127.0.0.1:5000 npm test
 *
 * Each test uses names of its own, so runs can share one moto.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { AwsClient, secretsManager, ssm, type Service } from '../src/aws.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { CacheServer } from '../src/server.js';
import { get, testClock, testToken } from '../test-support/http.js';

const motoEndpoint = process.env['MOTO_ENDPOINT_URL'];
const skip = motoEndpoint ? false : 'MOTO_ENDPOINT_URL is not set: start moto’s server and set it to run these tests';

const motoEnv = (endpoint: string): NodeJS.ProcessEnv => ({
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_SESSION_TOKEN: testToken,
  AWS_ENDPOINT_URL: endpoint,
});

/** Stands between the cache and moto: counts calls per X-Amz-Target; close() makes moto unreachable, as if it had stopped. */
async function countingProxy(t: TestContext, target: string) {
  const upstream = new URL(target);
  const calls = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const operation = String(request.headers['x-amz-target']);
    calls.set(operation, (calls.get(operation) ?? 0) + 1);
    const forward = http.request({ host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  t.after(() => (server.listening ? close() : undefined));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: (operation: string) => calls.get(operation) ?? 0, close };
}

async function fixture(t: TestContext) {
  const seed = new AwsClient(motoEnv(motoEndpoint!));
  const call = async (service: Service, operation: string, input: unknown): Promise<Record<string, unknown>> => {
    const answer = await seed.call(service, operation, input, Date.now() + 10_000);
    assert.equal(answer.status, 200, `${operation}: ${answer.body.toString()}`);
    return JSON.parse(answer.body.toString()) as Record<string, unknown>;
  };
  const prefix = `/cache-test/${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const put = (name: string, Type: string, Value: string) => call(ssm, 'PutParameter', { Name: prefix + name, Type, Value, Overwrite: true });
  await put('/plain', 'String', 'first');
  await put('/plain', 'String', 'second');
  await call(ssm, 'LabelParameterVersion', { Name: `${prefix}/plain`, ParameterVersion: 1, Labels: ['prod'] });
  await put('/list', 'StringList', 'a,b,c');
  await put('/secure', 'SecureString', 's3cret');
  const versions: Record<string, string> = {};
  versions['old-password'] = String((await call(secretsManager, 'CreateSecret', { Name: `${prefix}/db`, SecretString: 'old-password' }))['VersionId']);
  versions['new-password'] = String((await call(secretsManager, 'PutSecretValue', { SecretId: `${prefix}/db`, SecretString: 'new-password' }))['VersionId']);
  await call(secretsManager, 'PutSecretValue', { SecretId: `${prefix}/db`, SecretString: 'next-password', VersionStages: ['STAGING'] });
  await call(secretsManager, 'CreateSecret', { Name: `${prefix}/key`, SecretBinary: Buffer.from([0, 1, 2, 0xff]).toString('base64') });

  const proxy = await countingProxy(t, motoEndpoint!);
  const clock = testClock(Date.now());
  const serve = async (env: NodeJS.ProcessEnv = {}) => {
    const server = new CacheServer({ config: loadConfig('MY_EXT_', env), aws: new AwsClient(motoEnv(proxy.url)), token: testToken, log: createLogger({ write: () => {} }), now: clock.now });
    const address = await server.listen(0);
    t.after(() => server.close(0));
    return `http://127.0.0.1:${address.port}`;
  };
  return { prefix, call, versions, proxy, clock, serve, seed };
}

const parameterOf = (body: Record<string, unknown>) => body['Parameter'] as Record<string, unknown>;

test('parameters: String, StringList, SecureString, versions and labels, as GetParameter answers', { skip }, async (t) => {
  const { prefix, serve } = await fixture(t);
  const base = await serve();
  const cases: Array<[Record<string, string>, string, string, number]> = [
    [{ name: `${prefix}/plain` }, 'String', 'second', 2],
    [{ name: `${prefix}/plain`, version: '1' }, 'String', 'first', 1],
    [{ name: `${prefix}/plain`, label: 'prod' }, 'String', 'first', 1],
    [{ name: `${prefix}/list` }, 'StringList', 'a,b,c', 1],
    [{ name: `${prefix}/secure`, withDecryption: 'true' }, 'SecureString', 's3cret', 1],
  ];
  for (const [query, type, value, version] of cases) {
    const answer = await get(base, `/systemsmanager/parameters/get?${new URLSearchParams(query).toString()}`);
    assert.equal(answer.status, 200, JSON.stringify(query));
    const parameter = parameterOf(answer.body);
    assert.deepEqual([parameter['Type'], parameter['Value'], parameter['Version']], [type, value, version], JSON.stringify(query));
  }
  const encrypted = await get(base, `/systemsmanager/parameters/get?${new URLSearchParams({ name: `${prefix}/secure` }).toString()}`);
  assert.notEqual(parameterOf(encrypted.body)['Value'], 's3cret', 'withDecryption=false keeps the value encrypted');
  const missing = await get(base, `/systemsmanager/parameters/get?${new URLSearchParams({ name: `${prefix}/missing` }).toString()}`);
  assert.equal(missing.status, 400);
  assert.equal(missing.body['__type'], 'ParameterNotFound');
});

test('secrets: string, binary, stages and version ids, as GetSecretValue answers', { skip }, async (t) => {
  const { prefix, serve, versions, seed } = await fixture(t);
  const base = await serve();
  const cases: Array<[Record<string, string>, string]> = [
    [{}, 'new-password'],
    [{ versionStage: 'AWSCURRENT' }, 'new-password'],
    [{ versionStage: 'AWSPREVIOUS' }, 'old-password'],
    [{ versionStage: 'STAGING' }, 'next-password'],
    [{ versionId: versions['old-password']! }, 'old-password'],
  ];
  for (const [query, want] of cases) {
    const answer = await get(base, `/secretsmanager/get?${new URLSearchParams({ secretId: `${prefix}/db`, ...query }).toString()}`);
    assert.equal(answer.status, 200, JSON.stringify(query));
    assert.equal(answer.body['SecretString'], want, JSON.stringify(query));
    assert.equal(answer.body['Name'], `${prefix}/db`);
  }
  const binary = await get(base, `/secretsmanager/get?${new URLSearchParams({ secretId: `${prefix}/key` }).toString()}`);
  assert.deepEqual([...Buffer.from(String(binary.body['SecretBinary']), 'base64')], [0, 1, 2, 0xff]);
  // The status is moto's (404 here; AWS answers 400): passed through as given.
  const direct = await seed.call(secretsManager, 'GetSecretValue', { SecretId: `${prefix}/missing` }, Date.now() + 5000);
  const missing = await get(base, `/secretsmanager/get?${new URLSearchParams({ secretId: `${prefix}/missing` }).toString()}`);
  assert.equal(missing.status, direct.status);
  assert.equal(missing.body['__type'], 'ResourceNotFoundException');
});

test('no token, or a wrong one: 403, and moto never hears of it', { skip }, async (t) => {
  const { prefix, serve, proxy } = await fixture(t);
  const base = await serve();
  for (const token of ['', 'wrong']) {
    assert.equal((await get(base, `/secretsmanager/get?secretId=${encodeURIComponent(`${prefix}/db`)}`, token)).status, 403);
  }
  assert.equal(proxy.count('secretsmanager.GetSecretValue'), 0);
});

test('TTL expiry: the cached value until the TTL, the new one after', { skip }, async (t) => {
  const { prefix, serve, proxy, clock, call } = await fixture(t);
  const base = await serve({ SSM_PARAMETER_STORE_TTL: '30' });
  const target = `/systemsmanager/parameters/get?name=${encodeURIComponent(`${prefix}/plain`)}`;
  const first = await get(base, target);
  await call(ssm, 'PutParameter', { Name: `${prefix}/plain`, Type: 'String', Value: 'third', Overwrite: true });
  const cached = await get(base, target);
  assert.equal(cached.cache, 'hit');
  assert.equal(parameterOf(cached.body)['Value'], parameterOf(first.body)['Value']);
  clock.advance(31_000);
  const fresh = await get(base, target);
  assert.equal(fresh.cache, 'miss');
  assert.equal(parameterOf(fresh.body)['Value'], 'third');
  assert.equal(proxy.count('AmazonSSM.GetParameter'), 2);
});

test('100 concurrent requests for one cold key make one call to moto', { skip }, async (t) => {
  const { prefix, serve, proxy } = await fixture(t);
  const base = await serve();
  const answers = await Promise.all(Array.from({ length: 100 }, () => get(base, `/secretsmanager/get?secretId=${encodeURIComponent(`${prefix}/db`)}`)));
  assert.deepEqual(new Set(answers.map((answer) => answer.body['SecretString'])), new Set(['new-password']));
  assert.equal(proxy.count('secretsmanager.GetSecretValue'), 1);
});

for (const stale of [false, true]) {
  test(`moto stopped mid-run, stale on error ${stale ? 'on: the stale value' : 'off: 502 ConnectionError'}`, { skip }, async (t) => {
    const { prefix, serve, proxy, clock } = await fixture(t);
    const base = await serve({ SECRETS_MANAGER_TTL: '10', SECRETS_MANAGER_TIMEOUT_MILLIS: '2000', ...(stale ? { MY_EXT_STALE_ON_ERROR: 'true' } : {}) });
    const target = `/secretsmanager/get?secretId=${encodeURIComponent(`${prefix}/db`)}`;
    assert.equal((await get(base, target)).status, 200);
    await proxy.close();
    clock.advance(11_000);
    const answer = await get(base, target);
    if (stale) {
      assert.equal(answer.status, 200);
      assert.equal(answer.cache, 'stale');
      assert.equal(answer.body['SecretString'], 'new-password');
    } else {
      assert.equal(answer.status, 502);
      assert.equal(answer.body['__type'], 'ConnectionError');
    }
    const cold = await get(base, `/secretsmanager/get?secretId=${encodeURIComponent(`${prefix}/key`)}`);
    assert.equal(cold.status, 502, 'a key never fetched has nothing to fall back on');
  });
}
