import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { lambdaErrorType } from '../../src/core/emulator/api/runtime.js';
import { route } from '../../src/core/emulator/api/server.js';
import { Environment } from '../../src/core/emulator/environment/index.js';
import type { RuntimeInvocation } from '../../src/core/emulator/environment/runtime.js';
import { resolveSettings } from '../../src/core/emulator/environment/settings.js';
import type { EmulatorOptions } from '../../src/core/emulator/types.js';
import { maxInvokeResponseBytes } from '../../src/core/layer/limits.js';

/**
 * The Runtime API's route group (api/runtime.ts), called in memory through the router against an
 * environment with a runtime: no process, no socket. The answers are RIE's (rapi/handler/invocation*.go,
 * initerror.go, rendering/render_error.go).
 */

class FakeResponse extends EventEmitter {
  status: number | undefined;
  headers: Record<string, string> = {};
  body = '';
  headersSent = false;
  writableEnded = false;
  destroyed = false;

  writeHead(status: number, headers: Record<string, string>): this {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }

  end(content?: string | Buffer): this {
    this.body = content === undefined ? '' : content.toString();
    this.writableEnded = true;
    this.emit('finish');
    return this;
  }

  destroy(): this {
    this.destroyed = true;
    this.emit('close');
    return this;
  }

  json(): Record<string, unknown> {
    return JSON.parse(this.body) as Record<string, unknown>;
  }

  get asServerResponse(): http.ServerResponse {
    return this as unknown as http.ServerResponse;
  }
}

function fakeRequest(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body = '',
): http.IncomingMessage {
  const stream = Readable.from(body === '' ? [] : [Buffer.from(body)]);
  const lowerCased = Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
  return Object.assign(stream, { headers: lowerCased, method, url, complete: true, trailers: {} }) as never;
}

const runtimeCommand = { command: '/bin/true', args: [], env: {}, cwd: '/', description: 'test runtime' };

function environmentFor(options: Partial<EmulatorOptions> = {}): Environment {
  return new Environment(
    resolveSettings({ layerDirectory: '/nonexistent-layer', runtime: runtimeCommand, ...options }),
    () => {},
  );
}

async function call(
  environment: Environment,
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<FakeResponse> {
  const response = new FakeResponse();
  await route(environment, fakeRequest(method, url, headers, body), response.asServerResponse);
  return response;
}

const next = (environment: Environment) => call(environment, 'GET', '/2018-06-01/runtime/invocation/next');
const answer = (environment: Environment, id: string, kind: 'response' | 'error', body = '{}', headers = {}) =>
  call(environment, 'POST', `/2018-06-01/runtime/invocation/${id}/${kind}`, headers, body);

let counter = 0;
function invocation(overrides: Partial<RuntimeInvocation> = {}): RuntimeInvocation {
  counter += 1;
  return {
    requestId: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    event: { payload: '{"key":"value"}' },
    deadlineMs: 1_800_000_000_000,
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    traceId: 'Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=1',
    tenantId: undefined,
    ...overrides,
  };
}

/** A runtime past its Init, holding `item`. */
async function running(environment: Environment, item = invocation()): Promise<RuntimeInvocation> {
  const parked = await next(environment);
  assert.equal(parked.writableEnded, false, 'next parks until an invoke comes');
  environment.runtime!.enqueue(item);
  assert.equal(parked.status, 200);
  return item;
}

describe('GET /2018-06-01/runtime/invocation/next', () => {
  test('parks until an invoke comes, then renders it with the context headers', async () => {
    const environment = environmentFor();
    const runtime = environment.runtime!;
    const parked = await next(environment);
    assert.equal(parked.writableEnded, false);
    assert.equal(runtime.state, 'Ready');
    assert.ok(runtime.ready, 'the first next ends the runtime init');
    const item = invocation({
      event: {
        payload: '{"a":1}',
        clientContext: '{"custom":{"k":"é"}}',
        cognitoIdentity: '{"cognitoIdentityId":"i"}',
      },
      tenantId: 'tenant-1',
    });
    runtime.enqueue(item);
    assert.equal(parked.status, 200);
    assert.equal(parked.body, '{"a":1}');
    assert.deepEqual(parked.headers, {
      'Content-Type': 'application/json',
      'Content-Length': '7',
      'Lambda-Runtime-Aws-Request-Id': item.requestId,
      'Lambda-Runtime-Deadline-Ms': '1800000000000',
      'Lambda-Runtime-Invoked-Function-Arn': item.invokedFunctionArn,
      'Lambda-Runtime-Trace-Id': item.traceId,
      'Lambda-Runtime-Client-Context': '{"custom":{"k":"\\u00e9"}}',
      'Lambda-Runtime-Cognito-Identity': '{"cognitoIdentityId":"i"}',
      'Lambda-Runtime-Aws-Tenant-Id': 'tenant-1',
    });
    assert.equal(runtime.state, 'Running');
  });

  test('leaves out the client context and Cognito headers when the event has none', async () => {
    const environment = environmentFor();
    await next(environment);
    environment.runtime!.enqueue(invocation());
    const again = await next(environment);
    assert.equal(again.headers['Lambda-Runtime-Client-Context'], undefined);
    assert.equal(again.headers['Lambda-Runtime-Cognito-Identity'], undefined);
  });

  test('a second next while the runtime holds an invoke renders that invoke again, as RIE', async () => {
    const environment = environmentFor();
    const item = await running(environment);
    const again = await next(environment);
    assert.equal(again.headers['Lambda-Runtime-Aws-Request-Id'], item.requestId);
  });

  test('after init/error, next is refused: 403 InvalidStateTransition', async () => {
    const environment = environmentFor();
    await call(environment, 'POST', '/2018-06-01/runtime/init/error', {}, '{}');
    const refused = await next(environment);
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.json(), {
      errorMessage:
        'State transition from InitError to Ready failed for runtime. Error: State transition is not allowed',
      errorType: 'InvalidStateTransition',
    });
  });
});

describe('POST /2018-06-01/runtime/invocation/{id}/response', () => {
  test('202 {"status":"OK"}; the invoke has its response and the runtime waits for its next next', async () => {
    const environment = environmentFor();
    const item = await running(environment);
    const accepted = await answer(environment, item.requestId, 'response', '{"ok":true}');
    assert.equal(accepted.status, 202);
    assert.deepEqual(accepted.json(), { status: 'OK' });
    assert.equal(item.answer?.kind, 'response');
    assert.equal(item.answer?.payload, '{"ok":true}');
    assert.equal(item.answer?.bytes, 11);
    assert.equal(environment.runtime!.state, 'RuntimeResponseSentState');
    await next(environment);
    assert.equal(environment.runtime!.state, 'Ready');
  });

  test('a request id other than the current invoke: 400 InvalidRequestID, also before any invoke', async () => {
    const environment = environmentFor();
    const early = await answer(environment, 'nope', 'response');
    assert.equal(early.status, 400);
    assert.deepEqual(early.json(), { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
    await running(environment);
    const wrong = await answer(environment, 'not-the-current-one', 'error');
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json()['errorType'], 'InvalidRequestID');
  });

  test('a second answer to the same invoke: 403 InvalidStateTransition, and the first one stands', async () => {
    const environment = environmentFor();
    const item = await running(environment);
    await answer(environment, item.requestId, 'response', '"first"');
    const second = await answer(environment, item.requestId, 'response', '"second"');
    assert.equal(second.status, 403);
    assert.deepEqual(second.json(), {
      errorMessage:
        'State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State transition is not allowed',
      errorType: 'InvalidStateTransition',
    });
    assert.equal(item.answer?.payload, '"first"');
  });

  test(`over ${maxInvokeResponseBytes} bytes: 413 as RIE, and the invoke fails with Function.ResponseSizeTooLarge`, async () => {
    const environment = environmentFor();
    const item = await running(environment);
    const size = maxInvokeResponseBytes + 1;
    const tooLarge = await answer(environment, item.requestId, 'response', 'x'.repeat(size));
    assert.equal(tooLarge.status, 413);
    assert.deepEqual(tooLarge.json(), {
      errorMessage: `Exceeded maximum allowed payload size (${maxInvokeResponseBytes} bytes).`,
      errorType: 'RequestEntityTooLarge',
    });
    assert.equal(item.answer?.kind, 'error');
    assert.equal(item.answer?.errorType, 'Function.ResponseSizeTooLarge');
    assert.deepEqual(JSON.parse(item.answer?.payload ?? ''), {
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: `Response payload size exceeded maximum allowed payload size (${maxInvokeResponseBytes} bytes).`,
    });
  });

  test('exactly the limit is accepted', async () => {
    const environment = environmentFor();
    const item = await running(environment);
    const accepted = await answer(environment, item.requestId, 'response', 'x'.repeat(maxInvokeResponseBytes));
    assert.equal(accepted.status, 202);
    assert.equal(item.answer?.kind, 'response');
  });

  test('a streamed response is assembled; an unknown response mode is refused', async () => {
    const environment = environmentFor();
    const item = await running(environment);
    const streamed = await answer(environment, item.requestId, 'response', 'chunk1chunk2', {
      'Lambda-Runtime-Function-Response-Mode': 'streaming',
      'Transfer-Encoding': 'chunked',
    });
    assert.equal(streamed.status, 202);
    assert.equal(item.answer?.payload, 'chunk1chunk2');
    assert.equal(item.answer?.streamed, true);

    const other = environmentFor();
    const second = await running(other);
    const refused = await answer(other, second.requestId, 'response', '{}', {
      'Lambda-Runtime-Function-Response-Mode': 'buffered-please',
    });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.json(), {
      errorMessage: 'Invalid function response mode',
      errorType: 'InvalidFunctionResponseMode',
    });
    assert.equal(second.answer?.errorType, 'Runtime.InvalidResponseModeHeader');
  });
});

describe('POST /2018-06-01/runtime/invocation/{id}/error', () => {
  test('202; the invoke gets the body, named by its errorType', async () => {
    const environment = environmentFor();
    const item = await running(environment);
    const body = JSON.stringify({ errorMessage: 'boom', errorType: 'TypeError', stackTrace: ['at handler'] });
    const accepted = await answer(environment, item.requestId, 'error', body, {
      'Lambda-Runtime-Function-Error-Type': 'Runtime.UnhandledError',
    });
    assert.equal(accepted.status, 202);
    assert.deepEqual(item.answer, {
      ...item.answer,
      kind: 'error',
      payload: body,
      errorType: 'TypeError',
      errorMessage: 'boom',
    });
  });

  test('a body without errorType is named by the header, as Lambda keeps it', async () => {
    const environment = environmentFor();
    const item = await running(environment);
    await answer(environment, item.requestId, 'error', 'not json', { 'Lambda-Runtime-Function-Error-Type': 'Oops' });
    assert.equal(item.answer?.errorType, 'Runtime.Unknown');
    assert.equal(item.answer?.payload, 'not json');
  });

  test('Lambda keeps Runtime.* and Function.* error types, others become Runtime.Unknown or Function.Unknown', () => {
    assert.equal(lambdaErrorType('Runtime.ImportModuleError'), 'Runtime.ImportModuleError');
    assert.equal(lambdaErrorType('Function.Whatever'), 'Function.Whatever');
    assert.equal(lambdaErrorType('Function.x'), 'Function.Unknown');
    assert.equal(lambdaErrorType('Unhandled'), 'Runtime.Unknown');
    assert.equal(lambdaErrorType(undefined), 'Runtime.Unknown');
  });
});

describe('POST /2018-06-01/runtime/init/error', () => {
  test('202 while the runtime starts; its error is the Init failure', async () => {
    const environment = environmentFor();
    const body = JSON.stringify({ errorMessage: 'No module named x', errorType: 'Runtime.ImportModuleError' });
    const accepted = await call(
      environment,
      'POST',
      '/2018-06-01/runtime/init/error',
      { 'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError' },
      body,
    );
    assert.equal(accepted.status, 202);
    assert.equal(environment.runtime!.state, 'InitError');
    assert.equal(environment.runtime!.initError?.errorType, 'Runtime.ImportModuleError');
    assert.equal(environment.runtime!.initError?.payload, body);
  });

  test('after the runtime is ready: 403 InvalidStateTransition', async () => {
    const environment = environmentFor();
    await next(environment);
    const refused = await call(environment, 'POST', '/2018-06-01/runtime/init/error', {}, '{}');
    assert.equal(refused.status, 403);
    assert.equal(
      refused.json()['errorMessage'],
      'State transition from Ready to InitError failed for runtime. Error: State transition is not allowed',
    );
  });
});

describe('the route group', () => {
  test('without a runtime the Runtime API does not exist: 404 as any unknown path', async () => {
    const environment = new Environment(resolveSettings({ layerDirectory: '/nonexistent-layer' }), () => {});
    const response = await next(environment);
    assert.equal(response.status, 404);
  });

  test('a wrong method: 405 naming the allowed one', async () => {
    const environment = environmentFor();
    const response = await call(environment, 'POST', '/2018-06-01/runtime/invocation/next');
    assert.equal(response.status, 405);
    assert.equal(response.headers['Allow'], 'GET');
    const other = await call(environment, 'GET', '/2018-06-01/runtime/invocation/abc/response');
    assert.equal(other.headers['Allow'], 'POST');
  });

  test('Managed Instances: several next calls wait at once, each takes one invoke, answers come in any order', async () => {
    const environment = environmentFor({ managedInstances: { maxConcurrency: 3 } });
    const runtime = environment.runtime!;
    const calls = await Promise.all([next(environment), next(environment), next(environment)]);
    const items = [invocation(), invocation(), invocation()];
    for (const item of items) runtime.enqueue(item);
    const handed = calls.map((parked) => parked.headers['Lambda-Runtime-Aws-Request-Id']);
    assert.deepEqual(new Set(handed), new Set(items.map((item) => item.requestId)));
    assert.equal(runtime.active.size, 3);
    for (const item of [items[2]!, items[0]!, items[1]!]) {
      const accepted = await answer(environment, item.requestId, 'response', `"${item.requestId}"`);
      assert.equal(accepted.status, 202);
      assert.equal(item.answer?.payload, `"${item.requestId}"`);
    }
    assert.equal(runtime.active.size, 0);
    const late = await answer(environment, items[0]!.requestId, 'response');
    assert.equal(late.status, 400);
  });

  test("Managed Instances: an answer for an invoke that timed out gets 410 InvokeTimeout, as RIE's LMI mode", async () => {
    const environment = environmentFor({ managedInstances: { maxConcurrency: 2 } });
    const item = invocation();
    const parked = next(environment);
    environment.runtime!.enqueue(item);
    await parked;
    environment.runtime!.forget(item.requestId);
    const late = await answer(environment, item.requestId, 'response');
    assert.equal(late.status, 410);
    assert.deepEqual(late.json(), { errorMessage: 'Invoke timeout', errorType: 'InvokeTimeout' });
  });
});
