import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { lambdaNodeVersions, nodeBinary, nodeCacheDirectory } from '../helpers/node-versions.js';
import { temporaryFolders } from '../helpers/paths.js';
import { testAll } from '../helpers/tiers.js';
import { scaled } from '../helpers/time-scale.js';
import { FakeRuntimeApi, startClient, type ClientProcess } from './node-runtime-client-api.js';

/*
 * Our Node.js runtime client (src/runtime-client/node), run as `ext dev --function` runs it: a real node process
 * against a real HTTP Runtime API, with handler files on disk. What it posts is compared with what Lambda's
 * Node.js runtime posts (docs/reference/node-runtime-client.md).
 */

const folder = temporaryFolders();

async function taskRoot(files: Record<string, string>): Promise<string> {
  const root = await folder('cle-node-rc-');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
  return root;
}

const clients: ClientProcess[] = [];
after(() => Promise.all(clients.map((client) => client.stop())));

/** Each test gets its own API: a client left waiting in `next` must not take another test's invoke. */
async function withApi<T>(run: (api: FakeRuntimeApi, address: string) => Promise<T>): Promise<T> {
  const own = new FakeRuntimeApi();
  const ownAddress = await own.listen();
  try {
    return await run(own, ownAddress);
  } finally {
    await own.close();
  }
}

async function startOn(
  ownAddress: string,
  files: Record<string, string>,
  handler: string,
  env: Record<string, string> = {},
): Promise<ClientProcess> {
  const root = await taskRoot(files);
  const client = startClient(ownAddress, root, handler, env);
  clients.push(client);
  return client;
}

const parse = (text: string) => JSON.parse(text) as Record<string, unknown>;

describe('node runtime client: handlers', { timeout: scaled(120_000) }, () => {
  it('runs an ESM async handler after its top-level await, with the context Lambda gives', async () => {
    await withApi(async (own, ownAddress) => {
      const client = await startOn(
        ownAddress,
        {
          'index.mjs': [
            'const ready = await new Promise((resolve) => setTimeout(() => resolve("loaded"), 50));',
            'export const handler = async (event, context) => ({',
            '  event, ready, traceId: process.env._X_AMZN_TRACE_ID,',
            '  remaining: context.getRemainingTimeInMillis(),',
            '  context: { ...context, remainingType: typeof context.getRemainingTimeInMillis },',
            '});',
          ].join('\n'),
        },
        'index.handler',
      );
      const posted = await own.invoke(
        { hello: 'world' },
        {
          requestId: 'id-esm',
          deadlineMs: Date.now() + 10_000,
          headers: {
            'Lambda-Runtime-Client-Context': JSON.stringify({ client: { app_title: 'app' }, custom: { a: 1 } }),
            'Lambda-Runtime-Cognito-Identity': JSON.stringify({
              cognitoIdentityId: 'id',
              cognitoIdentityPoolId: 'pool',
            }),
          },
        },
      );
      assert.equal(posted.kind, 'response', client.stderr());
      assert.equal(posted.headers['content-type'], 'application/json');
      const body = parse(posted.body);
      assert.deepEqual(body['event'], { hello: 'world' });
      assert.equal(body['ready'], 'loaded');
      assert.match(String(body['traceId']), /^Root=1-/);
      const remaining = body['remaining'] as number;
      assert.ok(remaining > 0 && remaining <= 10_000, `remaining ${remaining}`);
      assert.deepEqual(body['context'], {
        callbackWaitsForEmptyEventLoop: true,
        functionVersion: '$LATEST',
        functionName: 'test-function',
        memoryLimitInMB: '128',
        logGroupName: '/aws/lambda/test-function',
        logStreamName: '2026/12/07/[$LATEST]0123456789abcdef',
        clientContext: { client: { app_title: 'app' }, custom: { a: 1 } },
        identity: { cognitoIdentityId: 'id', cognitoIdentityPoolId: 'pool' },
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-function',
        awsRequestId: 'id-esm',
        remainingType: 'function',
      });
      // The loop goes on: a second invoke on the same process.
      const second = await own.invoke([1, 2]);
      assert.deepEqual(parse(second.body)['event'], [1, 2]);
    });
  });

  it('loads .js as CommonJS without "type": "module", and as ESM in a module package (nested folder)', async () => {
    await withApi(async (own, ownAddress) => {
      const files = {
        'cjs/app.js': 'exports.handler = async () => typeof require;',
        'esm/package.json': '{"type":"module"}',
        'esm/lib/app.js': 'export const handler = async () => typeof require;',
        'both/app.cjs': 'module.exports = { nested: { deep: { handler: async () => "cjs " + typeof module } } };',
      };
      for (const [handler, expected] of [
        ['cjs/app.handler', 'function'],
        ['esm/lib/app.handler', 'undefined'],
        ['both/app.nested.deep.handler', 'cjs object'],
      ] as const) {
        const client = await startOn(ownAddress, files, handler);
        const posted = await own.invoke({});
        assert.equal(posted.kind, 'response', `${handler}: ${client.stdout()}${client.stderr()}`);
        assert.equal(JSON.parse(posted.body), expected, handler);
        await client.stop();
      }
    });
  });

  it('answers a callback handler when the event loop empties, or at once without waiting', async () => {
    await withApi(async (own, ownAddress) => {
      const client = await startOn(
        ownAddress,
        {
          'index.js': [
            'let timerFired = 0;',
            'exports.handler = function (event, context, callback) {',
            '  context.callbackWaitsForEmptyEventLoop = event.wait;',
            '  setTimeout(() => { timerFired += 1; console.log("timer", event.n, "fired"); }, event.delayMs);',
            '  callback(null, { timerFiredBefore: timerFired });',
            '};',
          ].join('\n'),
        },
        'index.handler',
      );
      // Waiting: the timer of this invoke fires before the response goes.
      const waited = await own.invoke({ n: 1, wait: true, delayMs: 200 });
      assert.equal(waited.kind, 'response', client.stderr());
      assert.match(client.stdout(), /timer 1 fired/);
      // Not waiting: the answer goes long before this invoke's timer.
      const immediate = await own.invoke({ n: 2, wait: false, delayMs: scaled(10_000) });
      assert.doesNotMatch(client.stdout(), /timer 2 fired/);
      assert.deepEqual(parse(waited.body), { timerFiredBefore: 0 });
      assert.deepEqual(parse(immediate.body), { timerFiredBefore: 1 });
      const third = await own.invoke({ n: 3, wait: false, delayMs: 1 });
      assert.equal(third.kind, 'response');
    });
  });

  it('answers null for a sync handler that returns without a callback, as Lambda does', async () => {
    await withApi(async (own, ownAddress) => {
      await startOn(ownAddress, { 'index.js': 'exports.handler = (event) => "ignored";' }, 'index.handler');
      const posted = await own.invoke({});
      assert.equal(posted.kind, 'response');
      assert.equal(posted.body, 'null');
    });
  });

  it('context.succeed / fail / done answer like the callback', async () => {
    await withApi(async (own, ownAddress) => {
      await startOn(
        ownAddress,
        {
          'index.js':
            'exports.handler = (event, context) => { if (event.ok) context.succeed("fine"); else context.fail(new Error("nope")); };',
        },
        'index.handler',
      );
      assert.equal((await own.invoke({ ok: true })).body, '"fine"');
      const failed = await own.invoke({ ok: false });
      assert.equal(failed.kind, 'error');
      assert.equal(parse(failed.body)['errorMessage'], 'nope');
    });
  });
});

describe('node runtime client: errors', { timeout: scaled(120_000) }, () => {
  const initErrorCases = [
    {
      name: 'a missing export',
      files: { 'index.mjs': 'export const other = 1;' },
      handler: 'index.handler',
      errorType: 'Runtime.HandlerNotFound',
      message: /^index\.handler is undefined or not exported$/,
    },
    {
      name: 'an export that is not a function',
      files: { 'index.mjs': 'export const handler = 1;' },
      handler: 'index.handler',
      errorType: 'Runtime.HandlerNotFound',
      message: /^index\.handler is not a function$/,
    },
    {
      name: 'a missing file',
      files: {},
      handler: 'index.handler',
      errorType: 'Runtime.ImportModuleError',
      message: /^Error: Cannot find module 'index'/,
    },
    {
      name: 'a missing package imported by ESM',
      files: { 'index.mjs': 'import "no-such-package";\nexport const handler = async () => 1;' },
      handler: 'index.handler',
      errorType: 'Runtime.ImportModuleError',
      message: /Cannot find package 'no-such-package'/,
    },
    {
      name: 'a syntax error (CommonJS)',
      files: { 'index.js': 'exports.handler = async () => {;' },
      handler: 'index.handler',
      errorType: 'Runtime.UserCodeSyntaxError',
      message: /^SyntaxError: /,
    },
    {
      name: 'a syntax error (ESM)',
      files: { 'index.mjs': 'export const handler = async () => {;' },
      handler: 'index.handler',
      errorType: 'Runtime.UserCodeSyntaxError',
      message: /^SyntaxError: /,
    },
    {
      name: 'a handler without an export name',
      files: { 'index.mjs': '' },
      handler: 'index',
      errorType: 'Runtime.MalformedHandlerName',
      message: /^Bad handler$/,
    },
    {
      name: 'a handler that climbs out of the task root',
      files: {},
      handler: '../index.handler',
      errorType: 'Runtime.MalformedHandlerName',
      message: /is not a valid handler name/,
    },
    {
      name: 'a throw at module load',
      files: { 'index.mjs': 'throw new RangeError("bad config");' },
      handler: 'index.handler',
      errorType: 'RangeError',
      message: /^bad config$/,
    },
    {
      name: 'a callback handler on nodejs24.x',
      files: { 'index.js': 'exports.handler = (event, context, callback) => callback(null, 1);' },
      handler: 'index.handler',
      env: { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' },
      errorType: 'Runtime.CallbackHandlerDeprecated',
      message: /removed support for callback-based function handlers/,
    },
  ];

  for (const testCase of initErrorCases) {
    it(`posts ${testCase.errorType} to /init/error and exits 129 for ${testCase.name}`, async () => {
      await withApi(async (own, ownAddress) => {
        const client = await startOn(ownAddress, testCase.files, testCase.handler, testCase.env ?? {});
        const posted = await own.nextInitError();
        const exit = await client.exited;
        const body = parse(posted.body);
        assert.equal(body['errorType'], testCase.errorType, posted.body);
        assert.match(String(body['errorMessage']), testCase.message);
        assert.ok(Array.isArray(body['trace']), 'trace is the stack, line by line');
        assert.equal(posted.headers['lambda-runtime-function-error-type'], testCase.errorType);
        assert.equal(exit.code, 129);
        // Lambda's log line: `<time>\tundefined\tERROR\tUncaught Exception \t{"errorType":…}`.
        assert.match(
          client.stdout(),
          new RegExp(
            `\\tundefined\\tERROR\\t(Uncaught Exception|Init Error) \\t\\{"errorType":"${testCase.errorType.replace('.', '\\.')}"`,
          ),
        );
      });
    });
  }

  it('posts a thrown error with its name, message and stack, and goes on to the next invoke', async () => {
    await withApi(async (own, ownAddress) => {
      const client = await startOn(
        ownAddress,
        {
          'index.mjs': [
            'class OrderError extends Error { constructor(m) { super(m); this.name = "OrderError"; } }',
            'export const handler = async (event) => {',
            '  if (event.kind === "custom") throw new OrderError("order 42 is gone");',
            '  if (event.kind === "type") return null.x;',
            '  if (event.kind === "string") throw "just a string";',
            '  return "ok";',
            '};',
          ].join('\n'),
        },
        'index.handler',
      );
      const custom = await own.invoke({ kind: 'custom' });
      assert.equal(custom.kind, 'error', client.stderr());
      assert.equal(custom.headers['lambda-runtime-function-error-type'], 'OrderError');
      const body = parse(custom.body);
      assert.equal(body['errorType'], 'OrderError');
      assert.equal(body['errorMessage'], 'order 42 is gone');
      const trace = body['trace'] as string[];
      assert.equal(trace[0], 'OrderError: order 42 is gone');
      assert.match(trace[1] ?? '', /index\.mjs:3/);

      const typeError = parse((await own.invoke({ kind: 'type' })).body);
      assert.equal(typeError['errorType'], 'TypeError');
      const text = await own.invoke({ kind: 'string' });
      assert.deepEqual(parse(text.body), { errorType: 'string', errorMessage: 'just a string', trace: [] });
      assert.equal((await own.invoke({ kind: 'fine' })).body, '"ok"');
      assert.match(
        client.stdout(),
        /\trequest-\d+\tERROR\tInvoke Error \t\{"errorType":"OrderError","errorMessage":"order 42 is gone"/,
      );
    });
  });

  it('reports an uncaught exception against the invoke and exits 129; an unhandled rejection exits 128', async () => {
    await withApi(async (own, ownAddress) => {
      const files = {
        'index.mjs': [
          'export const handler = async (event) => {',
          '  if (event.throwLater) setTimeout(() => { throw new Error("from a timer"); }, 10);',
          '  if (event.rejectLater) Promise.reject(new Error("nobody awaits me"));',
          '  await new Promise((resolve) => setTimeout(resolve, 1000));',
          '  return "late";',
          '};',
        ].join('\n'),
      };
      const thrower = await startOn(ownAddress, files, 'index.handler');
      const thrown = await own.invoke({ throwLater: true });
      assert.equal(thrown.kind, 'error');
      assert.equal(parse(thrown.body)['errorMessage'], 'from a timer');
      assert.equal((await thrower.exited).code, 129);

      const rejecter = await startOn(ownAddress, files, 'index.handler');
      const rejected = await own.invoke({ rejectLater: true });
      assert.equal(parse(rejected.body)['errorType'], 'Runtime.UnhandledPromiseRejection');
      assert.equal(parse(rejected.body)['errorMessage'], 'Error: nobody awaits me');
      assert.equal((await rejecter.exited).code, 128);
    });
  });

  it('fails an async handler whose promise never settles with Runtime.NodeJsExit', async () => {
    await withApi(async (own, ownAddress) => {
      await startOn(
        ownAddress,
        { 'index.mjs': 'export const handler = async () => new Promise(() => {});' },
        'index.handler',
      );
      const posted = await own.invoke({});
      assert.equal(posted.kind, 'error');
      assert.equal(parse(posted.body)['errorType'], 'Runtime.NodeJsExit');
    });
  });

  it('posts an error for a response that cannot be serialised', async () => {
    await withApi(async (own, ownAddress) => {
      await startOn(
        ownAddress,
        { 'index.mjs': 'export const handler = async () => { const a = {}; a.a = a; return a; };' },
        'index.handler',
      );
      const posted = await own.invoke({});
      assert.equal(posted.kind, 'error');
      assert.equal(parse(posted.body)['errorMessage'], 'Unable to stringify response body');
    });
  });
});

describe('node runtime client: logs', { timeout: scaled(120_000) }, () => {
  const logging = {
    'index.mjs': [
      'console.log("at init");',
      'export const handler = async () => {',
      '  console.log("two\\nlines", { a: 1 });',
      '  console.debug("debug detail");',
      '  console.warn("careful");',
      '  console.error(new Error("logged error"));',
      '  return 1;',
      '};',
    ].join('\n'),
  };

  it('writes TEXT lines: time, request id, level, message (newlines as \\r)', async () => {
    await withApi(async (own, ownAddress) => {
      const client = await startOn(ownAddress, logging, 'index.handler');
      await own.invoke({}, { requestId: 'text-1' });
      const lines = client.stdout().trimEnd().split('\n');
      assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tundefined\tINFO\tat init$/);
      assert.match(lines[1]!, /^\S+Z\ttext-1\tINFO\ttwo\rlines \{ a: 1 \}$/);
      assert.match(lines[2]!, /^\S+Z\ttext-1\tDEBUG\tdebug detail$/);
      assert.match(lines[3]!, /^\S+Z\ttext-1\tWARN\tcareful$/);
      assert.match(lines[4]!, /^\S+Z\ttext-1\tERROR\tError: logged error\r {4}at /);
      assert.equal(lines.length, 5);
    });
  });

  it('writes JSON records with AWS_LAMBDA_LOG_FORMAT=JSON, filtered by AWS_LAMBDA_LOG_LEVEL', async () => {
    await withApi(async (own, ownAddress) => {
      const client = await startOn(ownAddress, logging, 'index.handler', {
        AWS_LAMBDA_LOG_FORMAT: 'JSON',
        AWS_LAMBDA_LOG_LEVEL: 'INFO',
      });
      await own.invoke({}, { requestId: 'json-1' });
      const records = client
        .stdout()
        .trimEnd()
        .split('\n')
        .map((line) => parse(line));
      assert.deepEqual(
        records.map((record) => [record['level'], record['requestId'], record['message']]),
        [
          ['INFO', undefined, 'at init'],
          ['INFO', 'json-1', 'two\nlines { a: 1 }'],
          ['WARN', 'json-1', 'careful'],
          ['ERROR', 'json-1', records[3]!['message']],
        ],
      );
      assert.match(String(records[0]!['timestamp']), /^\d{4}-\d\d-\d\dT.*Z$/);
      const logged = records[3]!['message'] as Record<string, unknown>;
      assert.equal(logged['errorType'], 'Error');
      assert.equal(logged['errorMessage'], 'logged error');
      assert.ok(Array.isArray(logged['stackTrace']));
    });
  });
});

describe('node runtime client: Managed Instances', { timeout: scaled(120_000) }, () => {
  it('keeps AWS_LAMBDA_MAX_CONCURRENCY invokes in flight, each logging its own request id', async () => {
    await withApi(async (own, ownAddress) => {
      const client = await startOn(
        ownAddress,
        {
          'index.mjs': [
            'let started = 0;',
            'export const handler = async (event, context) => {',
            '  started += 1;',
            '  // Each invoke waits until all three have started: only concurrent invokes get past this.',
            '  const until = Date.now() + event.patienceMs;',
            '  while (started < 3 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));',
            '  console.log("done", event.n);',
            '  return { n: event.n, id: context.awsRequestId, sawAll: started >= 3 };',
            '};',
          ].join('\n'),
        },
        'index.handler',
        { AWS_LAMBDA_MAX_CONCURRENCY: '3' },
      );
      // Three loops: three `next` calls wait before any invoke comes.
      while (own.waitingNext < 3 && client.child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
      assert.equal(own.waitingNext, 3, client.stderr());
      const answers = await Promise.all(
        [0, 1, 2].map((n) => own.invoke({ n, patienceMs: scaled(5000) }, { requestId: `mi-${n}` })),
      );
      assert.deepEqual(
        answers.map((answer) => parse(answer.body)),
        [0, 1, 2].map((n) => ({ n, id: `mi-${n}`, sawAll: true })),
      );
      for (const n of [0, 1, 2]) assert.match(client.stdout(), new RegExp(`\\tmi-${n}\\tINFO\\tdone ${n}\\n`));
    });
  });
});

describe('node runtime client: response streaming', { timeout: scaled(120_000) }, () => {
  it('streams a streamifyResponse handler chunked, with the streaming response mode', async () => {
    await withApi(async (own, ownAddress) => {
      const client = await startOn(
        ownAddress,
        {
          'index.mjs': [
            'export const handler = awslambda.streamifyResponse(async (event, responseStream) => {',
            '  responseStream.setContentType("text/plain");',
            '  responseStream.write("hello ");',
            '  await new Promise((resolve) => setTimeout(resolve, 20));',
            '  responseStream.end("stream");',
            '});',
          ].join('\n'),
        },
        'index.handler',
      );
      const posted = await own.invoke({});
      assert.equal(posted.kind, 'response', client.stderr());
      assert.equal(posted.body, 'hello stream');
      assert.equal(posted.headers['lambda-runtime-function-response-mode'], 'streaming');
      assert.equal(posted.headers['transfer-encoding'], 'chunked');
      assert.equal(posted.headers['content-type'], 'text/plain');
    });
  });
});

describe('node runtime client: on the Node.js versions Lambda runs', { timeout: scaled(120_000) }, () => {
  for (const version of lambdaNodeVersions) {
    const cached = existsSync(path.join(nodeCacheDirectory(), `node-${version}`, '.installed'));
    const skip = cached || testAll ? false : `node ${version} is not in the tests' cache yet: runs in npm run test:all`;
    it(`runs ESM, CommonJS and callback handlers under node ${version}`, { skip }, async (t) => {
      const result = await nodeBinary(version);
      if ('skip' in result) return t.skip(result.skip);
      await withApi(async (own, ownAddress) => {
        const runtimeName = version.startsWith('24') ? 'nodejs24.x' : 'nodejs22.x';
        const files = {
          'esm.mjs': 'await null;\nexport const handler = async (event) => ({ esm: event, node: process.version });',
          'cjs.js': 'exports.handler = async (event) => ({ cjs: event });',
          'callback.js': 'exports.handler = (event, context, callback) => callback(null, { callback: event });',
        };
        const run = async (handler: string) => {
          const root = await taskRoot(files);
          const client = startClient(
            ownAddress,
            root,
            handler,
            { AWS_EXECUTION_ENV: `AWS_Lambda_${runtimeName}` },
            result.binary.node,
          );
          clients.push(client);
          return client;
        };
        const esm = await run('esm.handler');
        assert.deepEqual(parse((await own.invoke(1)).body), { esm: 1, node: `v${version}` }, esm.stderr());
        await esm.stop();
        const cjs = await run('cjs.handler');
        assert.deepEqual(parse((await own.invoke(2)).body), { cjs: 2 });
        await cjs.stop();
        const callback = await run('callback.handler');
        if (runtimeName === 'nodejs24.x') {
          assert.equal(parse((await own.nextInitError()).body)['errorType'], 'Runtime.CallbackHandlerDeprecated');
          assert.equal((await callback.exited).code, 129);
        } else {
          assert.deepEqual(parse((await own.invoke(3)).body), { callback: 3 });
        }
      });
    });
  }
});

describe('node runtime client: response streaming errors', { timeout: scaled(120_000) }, () => {
  it('posts an error before the first byte to …/error, and after it in the trailers', async () => {
    await withApi(async (own, ownAddress) => {
      const client = await startOn(
        ownAddress,
        {
          'index.mjs': [
            'export const handler = awslambda.streamifyResponse(async (event, responseStream) => {',
            '  if (event.late) { responseStream.write("partial"); await new Promise((r) => setTimeout(r, 20)); }',
            '  throw new TypeError("stream broke");',
            '});',
          ].join('\n'),
        },
        'index.handler',
      );
      const early = await own.invoke({ late: false });
      assert.equal(early.kind, 'error', client.stderr());
      assert.equal(parse(early.body)['errorType'], 'TypeError');
      const late = await own.invoke({ late: true });
      assert.equal(late.kind, 'response');
      assert.equal(late.body, 'partial');
      assert.equal(late.trailers?.['lambda-runtime-function-error-type'], 'TypeError');
      const trailerBody = parse(
        Buffer.from(late.trailers?.['lambda-runtime-function-error-body'] ?? '', 'base64').toString(),
      );
      assert.equal(trailerBody['errorMessage'], 'stream broke');
    });
  });
});

describe('node runtime client: the Runtime API goes away', { timeout: scaled(120_000) }, () => {
  it('ends quietly when its waiting next is dropped, as when Lambda stops the environment', async () => {
    const own = new FakeRuntimeApi();
    const ownAddress = await own.listen();
    const client = await startOn(ownAddress, { 'index.mjs': 'export const handler = async () => 1;' }, 'index.handler');
    assert.equal((await own.invoke({})).kind, 'response');
    while (own.waitingNext < 1 && client.child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    await own.close();
    const exit = await client.exited;
    assert.equal(exit.code, 0);
    assert.doesNotMatch(client.stdout(), /Uncaught Exception|Unexpected Top Level Error/);
  });
});
