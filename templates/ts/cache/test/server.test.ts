import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MissingEnvironmentError, TransportError, type AwsResponse, type Fetcher } from '../src/aws.js';
import { loadConfig } from '../src/config.js';
import { createLogger, type LogFields } from '../src/log.js';
import { CacheServer, initFetchTimeoutMs, deadlineMarginMs } from '../src/server.js';
import { get, testClock, testToken } from '../test-support/http.js';

/** A stand-in for AWS that counts calls and answers as `answer` says. */
function fakeAws(answer: (deadline: number) => Promise<AwsResponse>): Fetcher & { calls: number } {
  const fake = {
    calls: 0,
    call: (_service: unknown, _operation: string, _input: unknown, deadline: number) => {
      fake.calls++;
      return answer(deadline);
    },
  };
  return fake;
}

const answering = (status: number, body: string) => fakeAws(async () => ({ status, body: Buffer.from(body) }));

async function serve(t: TestContext, aws: Fetcher, env: NodeJS.ProcessEnv = {}, options: { now?: () => number; token?: string } = {}) {
  const lines: LogFields[] = [];
  const log = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line) as LogFields) });
  const server = new CacheServer({ config: loadConfig('MY_EXT_', env), aws, token: options.token ?? testToken, log, ...(options.now ? { now: options.now } : {}) });
  const address = await server.listen(0);
  t.after(() => server.close(0));
  return { server, base: `http://127.0.0.1:${address.port}`, lines };
}

test('listens on 127.0.0.1 only', async (t) => {
  const server = new CacheServer({ config: loadConfig('MY_EXT_', {}), aws: answering(200, '{}'), token: testToken, log: createLogger({ write: () => {} }) });
  const address = await server.listen(0);
  t.after(() => server.close(0));
  assert.equal(address.address, '127.0.0.1');
});

test('the token is required and checked, and refused requests never reach AWS', async (t) => {
  const aws = answering(200, '{"Parameter":{"Value":"v"}}');
  const { base } = await serve(t, aws);
  for (const token of ['', 'wrong', `${testToken}x`, testToken.toUpperCase()]) {
    const answer = await get(base, '/systemsmanager/parameters/get?name=db', token);
    assert.equal(answer.status, 403, `token "${token}"`);
    assert.equal(answer.body['__type'], 'AccessDeniedException');
    assert.ok(!answer.text.includes(testToken));
  }
  assert.equal(aws.calls, 0);
  const unset = await serve(t, aws, {}, { token: '' });
  assert.equal((await get(unset.base, '/systemsmanager/parameters/get?name=db', '')).status, 403, 'no AWS_SESSION_TOKEN: everything is refused');
});

test('refuses what is not a query', async (t) => {
  const { base } = await serve(t, answering(200, '{}'));
  const cases: Array<[string, number]> = [
    ['/', 404],
    ['/secretsmanager/get', 400],
    ['/systemsmanager/parameters/get?name=a&version=x', 400],
    ['/systemsmanager/parameters/get?name=a&name=b', 400],
    ['/secretsmanager/get?secretId=a&versionId', 200],
  ];
  for (const [target, status] of cases) assert.equal((await get(base, target)).status, status, target);
  const post = await fetch(`${base}/secretsmanager/get?secretId=a`, { method: 'POST', headers: { 'X-Aws-Parameters-Secrets-Token': testToken } });
  assert.equal(post.status, 405);
  const forwarded = await fetch(`${base}/secretsmanager/get?secretId=a`, { headers: { 'X-Aws-Parameters-Secrets-Token': testToken, 'X-Forwarded-For': '203.0.113.7' } });
  assert.equal(forwarded.status, 400);
});

test('caches until the TTL, then calls again; decryption is another entry', async (t) => {
  const clock = testClock();
  const aws = answering(200, '{"Parameter":{"Name":"db","Value":"v"}}');
  const { base } = await serve(t, aws, { SSM_PARAMETER_STORE_TTL: '60' }, { now: clock.now });
  const outcomes = [];
  for (const step of [0, 59_000, 2000]) {
    clock.advance(step);
    const answer = await get(base, '/systemsmanager/parameters/get?name=db');
    assert.equal(answer.text, '{"Parameter":{"Name":"db","Value":"v"}}');
    outcomes.push(answer.cache);
  }
  assert.deepEqual(outcomes, ['miss', 'hit', 'miss']);
  assert.equal(aws.calls, 2);
  await get(base, '/systemsmanager/parameters/get?name=db&withDecryption=true');
  assert.equal(aws.calls, 3);
});

test('nothing is cached when caching is off', async (t) => {
  const aws = answering(200, '{"SecretString":"s"}');
  const { base } = await serve(t, aws, { PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: 'false' });
  await get(base, '/secretsmanager/get?secretId=db');
  await get(base, '/secretsmanager/get?secretId=db');
  assert.equal(aws.calls, 2);
});

test('AWS’s errors pass through with their status and type, and are not cached', async (t) => {
  const body = '{"__type":"ParameterNotFound","message":"Parameter /x not found."}';
  const aws = answering(400, body);
  const { base } = await serve(t, aws);
  for (let i = 0; i < 2; i++) {
    const answer = await get(base, '/systemsmanager/parameters/get?name=/x');
    assert.equal(answer.status, 400);
    assert.equal(answer.text, body);
  }
  assert.equal(aws.calls, 2);
});

test('unreachable AWS is 502 ConnectionError, a missed deadline 504 TimeoutError, missing credentials 500', async (t) => {
  const refused = await serve(t, fakeAws(() => Promise.reject(new TransportError('secretsmanager could not be reached: connect ECONNREFUSED', false))));
  let answer = await get(refused.base, '/secretsmanager/get?secretId=db');
  assert.equal(answer.status, 502);
  assert.equal(answer.body['__type'], 'ConnectionError');
  const slow = await serve(t, fakeAws(() => Promise.reject(new TransportError('secretsmanager did not answer before the deadline', true))));
  answer = await get(slow.base, '/secretsmanager/get?secretId=db');
  assert.equal(answer.status, 504);
  assert.equal(answer.body['__type'], 'TimeoutError');
  const unset = await serve(t, fakeAws(() => Promise.reject(new MissingEnvironmentError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set'))));
  answer = await get(unset.base, '/secretsmanager/get?secretId=db');
  assert.equal(answer.status, 500);
  assert.match(String(answer.body['message']), /AWS_ACCESS_KEY_ID/);
});

for (const stale of [false, true]) {
  test(`stale on error is a setting: ${stale ? 'on, the stale value is served' : 'off (the default), the error is'}`, async (t) => {
    const clock = testClock();
    let down = false;
    const aws = fakeAws(async () => {
      if (down) throw new TransportError('connection refused', false);
      return { status: 200, body: Buffer.from('{"SecretString":"s"}') };
    });
    const { base } = await serve(t, aws, { SECRETS_MANAGER_TTL: '10', ...(stale ? { MY_EXT_STALE_ON_ERROR: 'true' } : {}) }, { now: clock.now });
    await get(base, '/secretsmanager/get?secretId=db');
    clock.advance(11_000);
    down = true;
    const answer = await get(base, '/secretsmanager/get?secretId=db');
    if (stale) {
      assert.equal(answer.status, 200);
      assert.equal(answer.cache, 'stale');
      assert.equal(answer.text, '{"SecretString":"s"}');
    } else assert.equal(answer.status, 502);
  });
}

test('a hundred concurrent misses for one key make one call', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const aws = fakeAws(async () => {
    await gate;
    return { status: 200, body: Buffer.from('{"SecretString":"s"}') };
  });
  const { base } = await serve(t, aws);
  const answers = Array.from({ length: 100 }, () => get(base, '/secretsmanager/get?secretId=cold'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  const statuses = (await Promise.all(answers)).map((answer) => answer.status);
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.equal(aws.calls, 1);
});

test('the fetch deadline follows the invoke', () => {
  const clock = testClock();
  const server = new CacheServer({ config: loadConfig('MY_EXT_', {}), aws: answering(200, '{}'), token: testToken, log: createLogger({ write: () => {} }), now: clock.now });
  assert.equal(server.fetchDeadline(0), clock.now() + initFetchTimeoutMs);
  server.invokeDeadline = clock.now() + 3000;
  assert.equal(server.fetchDeadline(0), clock.now() + 3000 - deadlineMarginMs);
  assert.equal(server.fetchDeadline(1000), clock.now() + 1000);
});

test('no log line holds a value or the token', async (t) => {
  const { base, server, lines } = await serve(t, answering(200, '{"SecretString":"hunter2"}'));
  await get(base, '/secretsmanager/get?secretId=db');
  await get(base, '/secretsmanager/get?secretId=db');
  await get(base, '/secretsmanager/get?secretId=db', 'wrong');
  server.logTotals();
  const text = JSON.stringify(lines);
  assert.ok(!text.includes('hunter2') && !text.includes(testToken), text);
  assert.ok(lines.some((line) => line['cache'] === 'hit'));
  assert.deepEqual(lines.at(-1), { level: 'info', msg: 'cache totals', hits: 1, misses: 1, stale: 0, awsCalls: 1, errors: 0, refused: 1, entries: 1, bytes: lines.at(-1)?.['bytes'] });
});
