import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { reportError } from '../../src/core/emulator/api/errors.js';
import { next } from '../../src/core/emulator/api/next.js';
import { maxExtensions, register } from '../../src/core/emulator/api/register.js';
import { route } from '../../src/core/emulator/api/server.js';
import { subscribeLogs, subscribeTelemetry } from '../../src/core/emulator/api/subscriptions.js';
import type { Agent } from '../../src/core/emulator/environment/agents.js';
import { Environment } from '../../src/core/emulator/environment/index.js';
import { resolveSettings } from '../../src/core/emulator/environment/settings.js';
import type { EmulatorOptions } from '../../src/core/emulator/types.js';

/**
 * The Extensions API's handlers, called in memory against an environment:
 * no process, no socket. A request is a stream with headers; a response
 * records what the handler wrote.
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

  end(text?: string): this {
    this.body = text ?? '';
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

  /** The handlers take a ServerResponse; they use only what this fake has. */
  get asServerResponse(): http.ServerResponse {
    return this as unknown as http.ServerResponse;
  }
}

function fakeRequest(
  headers: Record<string, string> = {},
  body = '',
  request: { method?: string; url?: string } = {},
): http.IncomingMessage {
  const stream = Readable.from(body === '' ? [] : [Buffer.from(body)]);
  const lowerCased = Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
  return Object.assign(stream, { headers: lowerCased, socket: { destroy: () => {} }, ...request }) as never;
}

function environmentFor(options: Partial<EmulatorOptions> = {}): Environment {
  const environment = new Environment(resolveSettings({ layerDirectory: '/nonexistent-layer', ...options }), () => {});
  environment.registrationOpen = true;
  environment.subscriptionsOpen = true;
  return environment;
}

async function registerAs(
  environment: Environment,
  name: string | undefined,
  body: unknown = { events: ['INVOKE', 'SHUTDOWN'] },
  extraHeaders: Record<string, string> = {},
): Promise<FakeResponse> {
  const response = new FakeResponse();
  const headers = { ...(name === undefined ? {} : { 'Lambda-Extension-Name': name }), ...extraHeaders };
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  await register(environment, fakeRequest(headers, text), response.asServerResponse);
  return response;
}

/** An external extension (a file of the layer) that has registered. */
async function registeredExternal(environment: Environment, name = 'ext', events = ['INVOKE', 'SHUTDOWN']) {
  const agent = environment.addExternal(name, `/opt/extensions/${name}`);
  const response = await registerAs(environment, name, { events });
  assert.equal(response.status, 200, response.body);
  return agent;
}

const notes = (environment: Environment): string[] =>
  environment.recorder
    .entries()
    .filter((entry) => entry.kind === 'note')
    .map((entry) => entry.text);

describe('register', () => {
  test('registers an external extension under its file name', async () => {
    const environment = environmentFor();
    const agent = environment.addExternal('ext', '/opt/extensions/ext');
    const response = await registerAs(environment, 'ext');
    assert.equal(response.status, 200);
    assert.match(response.headers['Lambda-Extension-Identifier'] ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(response.json(), {
      functionName: 'ext-dev-function',
      functionVersion: '$LATEST',
      handler: 'index.handler',
    });
    assert.equal(agent.id, response.headers['Lambda-Extension-Identifier']);
    assert.equal(agent.state, 'Registered');
    assert.deepEqual(agent.events, ['INVOKE', 'SHUTDOWN']);
  });

  test('answers the account id only to an extension that asks for the feature', async () => {
    const environment = environmentFor();
    environment.addExternal('ext', '/opt/extensions/ext');
    const response = await registerAs(
      environment,
      'ext',
      { events: [] },
      { 'Lambda-Extension-Accept-Feature': 'accountId' },
    );
    assert.equal(response.json()['accountId'], '123456789012');
  });

  test('a name that matches no file registers an internal extension, with a note', async () => {
    const environment = environmentFor();
    environment.addExternal('ext', '/opt/extensions/ext');
    const response = await registerAs(environment, 'other', { events: ['INVOKE'] });
    assert.equal(response.status, 200);
    const internal = environment.agents.find((agent) => agent.name === 'other');
    assert.equal(internal?.kind, 'internal');
    assert.ok(notes(environment).some((text) => text.includes('"other" registered as an internal extension')));
  });

  for (const [why, name, body, errorType] of [
    ['no name', undefined, { events: [] }, 'Extension.InvalidExtensionName'],
    ['a name longer than any file name', 'x'.repeat(300), { events: [] }, 'Extension.InvalidExtensionName'],
    ['a body that is not JSON', 'ext', '{', 'InvalidRequestFormat'],
    ['deprecated configurationKeys', 'ext', { configurationKeys: ['a'] }, 'InvalidRequestFormat'],
    ['an unknown event', 'ext', { events: ['INVOKE', 'BOOT'] }, 'Extension.InvalidEventType'],
    ['SHUTDOWN for an internal extension', 'internal', { events: ['SHUTDOWN'] }, 'Extension.InvalidEventType'],
  ] as const) {
    test(`refuses ${why} with 403 ${errorType}`, async () => {
      const environment = environmentFor();
      environment.addExternal('ext', '/opt/extensions/ext');
      const response = await registerAs(environment, name, body);
      assert.equal(response.status, 403);
      assert.equal(response.json()['errorType'], errorType);
      // A refused request is the extension's to recover from: no verdict.
      assert.equal(environment.verdictLog.all.length, 0);
    });
  }

  test('refuses a second register of the same file: its state is no longer Started', async () => {
    const environment = environmentFor();
    await registeredExternal(environment);
    const again = await registerAs(environment, 'ext');
    assert.equal(again.status, 403);
    assert.equal(again.json()['errorType'], 'Extension.InvalidExtensionState');
  });

  test('refuses once registration has closed', async () => {
    const environment = environmentFor();
    environment.addExternal('ext', '/opt/extensions/ext');
    environment.registrationOpen = false;
    const response = await registerAs(environment, 'ext');
    assert.equal(response.status, 403);
    assert.equal(response.json()['errorType'], 'Extension.RegistrationClosed');
  });

  test(`refuses the extension after the first ${maxExtensions}`, async () => {
    const environment = environmentFor();
    for (let index = 0; index < maxExtensions; index += 1) {
      assert.equal((await registerAs(environment, `internal-${index}`, { events: [] })).status, 200);
    }
    const response = await registerAs(environment, 'one-too-many', { events: [] });
    assert.equal(response.status, 403);
    assert.equal(response.json()['errorType'], 'Extension.TooManyExtensions');
  });

  test('on Managed Instances an external extension may register SHUTDOWN only', async () => {
    const environment = environmentFor({ managedInstances: { maxConcurrency: 2 } });
    environment.addExternal('ext', '/opt/extensions/ext');
    const refused = await registerAs(environment, 'ext', { events: ['INVOKE'] });
    assert.equal(refused.status, 403);
    assert.equal(refused.json()['errorType'], 'Extension.InvalidEventType');
    assert.equal((await registerAs(environment, 'ext', { events: ['SHUTDOWN'] })).status, 200);
  });
});

describe('event/next', () => {
  test('blocks until the lifecycle delivers an event, then answers it', async () => {
    const environment = environmentFor();
    const agent = await registeredExternal(environment);
    const response = new FakeResponse();
    next(environment, agent, response.asServerResponse);
    assert.equal(response.writableEnded, false, 'the call is parked');
    assert.equal(agent.state, 'Ready');
    environment.deliver(agent, { eventType: 'INVOKE', requestId: 'r1' });
    assert.equal(response.status, 200);
    assert.deepEqual(response.json(), { eventType: 'INVOKE', requestId: 'r1' });
    assert.ok(response.headers['Lambda-Extension-Event-Identifier']);
    assert.equal(agent.state, 'Running');
  });

  test('hands out SHUTDOWN, and an event delivered before the call at once', async () => {
    const environment = environmentFor();
    const agent = await registeredExternal(environment);
    environment.deliver(agent, { eventType: 'SHUTDOWN', shutdownReason: 'spindown' });
    assert.equal(agent.shutdownSent, true);
    const response = new FakeResponse();
    next(environment, agent, response.asServerResponse);
    assert.equal(response.status, 200);
    assert.equal(response.json()['eventType'], 'SHUTDOWN');
    assert.equal(agent.queuedEvent, undefined);
  });

  test('refuses a second call while one is parked (Ready to Ready is no transition)', async () => {
    const environment = environmentFor();
    const agent = await registeredExternal(environment);
    next(environment, agent, new FakeResponse().asServerResponse);
    const second = new FakeResponse();
    next(environment, agent, second.asServerResponse);
    assert.equal(second.status, 403);
    assert.equal(second.json()['errorType'], 'Extension.InvalidExtensionState');
    assert.ok(notes(environment).some((text) => text.includes('called event/next again')));
  });

  test('an event written into a dropped call is lost, as on Lambda', async () => {
    const environment = environmentFor();
    const agent = await registeredExternal(environment);
    const dropped = new FakeResponse();
    next(environment, agent, dropped.asServerResponse);
    dropped.destroy();
    assert.equal(agent.nextDropped, true);
    environment.deliver(agent, { eventType: 'INVOKE' });
    assert.deepEqual(agent.lostEvents, ['INVOKE']);
    assert.ok(notes(environment).some((text) => text.startsWith('INVOKE lost')));
  });
});

describe('init/error and exit/error', () => {
  test('the first init/error is a verdict and puts the extension in InitError', async () => {
    const environment = environmentFor();
    const agent = await registeredExternal(environment);
    const response = new FakeResponse();
    const request = fakeRequest(
      { 'Lambda-Extension-Function-Error-Type': 'Extension.Boom' },
      JSON.stringify({ errorMessage: 'cannot start' }),
    );
    await reportError(environment, agent, 'init', request, response.asServerResponse);
    assert.equal(response.status, 202);
    assert.equal(agent.state, 'InitError');
    assert.equal(agent.reportedErrorType, 'Extension.Boom');
    const [verdict] = environment.verdictLog.all;
    assert.equal(verdict?.kind, 'init-error');
    assert.equal(verdict?.errorType, 'Extension.InitError');
    assert.match(verdict?.message ?? '', /cannot start/);
  });

  test('exit/error needs the error type header, and a state that allows it', async () => {
    const environment = environmentFor();
    const agent = await registeredExternal(environment);
    const missing = new FakeResponse();
    await reportError(environment, agent, 'exit', fakeRequest({}, '{}'), missing.asServerResponse);
    assert.equal(missing.status, 403);
    assert.equal(missing.json()['errorType'], 'Extension.MissingHeader');

    const started: Agent = environment.addExternal('late', '/opt/extensions/late');
    const refused = new FakeResponse();
    const headers = { 'Lambda-Extension-Function-Error-Type': 'Extension.Late' };
    await reportError(environment, started, 'exit', fakeRequest(headers, ''), refused.asServerResponse);
    assert.equal(refused.status, 403);
    assert.equal(refused.json()['errorType'], 'Extension.InvalidExtensionState');
    assert.equal(environment.verdictLog.all.length, 0);
  });
});

describe('routing', () => {
  test('identifier checks, unknown paths and wrong methods answer in the error model', async () => {
    const environment = environmentFor();
    await registeredExternal(environment);
    const call = async (method: string, url: string, headers: Record<string, string> = {}) => {
      const response = new FakeResponse();
      await route(environment, fakeRequest(headers, '', { method, url }), response.asServerResponse);
      return response;
    };
    const nextPath = '/2020-01-01/extension/event/next';
    assert.equal((await call('GET', nextPath)).json()['errorType'], 'Extension.MissingExtensionIdentifier');
    assert.equal(
      (await call('GET', nextPath, { 'Lambda-Extension-Identifier': 'nope' })).json()['errorType'],
      'Extension.InvalidExtensionIdentifier',
    );
    const unknown = await call('GET', nextPath, {
      'Lambda-Extension-Identifier': '00000000-0000-4000-8000-000000000000',
    });
    assert.equal(unknown.json()['errorType'], 'Extension.UnknownExtensionIdentifier');
    assert.equal((await call('GET', '/2020-01-01/nowhere')).status, 404);
    const wrongMethod = await call('GET', '/2020-01-01/extension/register');
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers['Allow'], 'POST');
  });
});

describe('telemetry and logs subscriptions', () => {
  const subscription = (port: number, schemaVersion = '2022-12-13') =>
    JSON.stringify({
      schemaVersion,
      types: ['platform', 'function'],
      destination: { protocol: 'HTTP', URI: `http://sandbox.localdomain:${port}/telemetry` },
    });

  async function subscribe(environment: Environment, agent: Agent, body: string): Promise<FakeResponse> {
    const response = new FakeResponse();
    await subscribeTelemetry(environment, agent, fakeRequest({}, body), response.asServerResponse);
    // Nothing is delivered in these tests: the subscriber's first batch waits for its buffering timeout.
    environment.hub.close();
    return response;
  }

  test('accepts a subscription during Init: "OK", a timeline line and a subscriber', async () => {
    const environment = environmentFor();
    const agent = await registeredExternal(environment);
    const response = await subscribe(environment, agent, subscription(4243));
    assert.equal(response.status, 200);
    assert.equal(response.body, '"OK"');
    assert.equal(environment.allSubscribers.length, 1);
    assert.deepEqual(environment.allSubscribers[0]?.request.types, ['platform', 'function']);
    assert.ok(
      environment.recorder
        .entries()
        .some((entry) => entry.text.startsWith('TELEMETRY Name: ext State: Subscribed Types: [platform, function]')),
    );
  });

  test('refuses after Init, an invalid body, a reserved port and the wrong schema on Managed Instances', async () => {
    const environment = environmentFor();
    environment.port = 9100;
    const agent = await registeredExternal(environment);
    const reserved = await subscribe(environment, agent, subscription(9100));
    assert.equal(reserved.status, 400);
    assert.match(String(reserved.json()['errorMessage']), /reserved/);
    const invalid = await subscribe(environment, agent, '{"types": []}');
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json()['errorType'], 'ValidationError');
    environment.subscriptionsOpen = false;
    const closed = await subscribe(environment, agent, subscription(4243));
    assert.equal(closed.status, 403);
    assert.equal(closed.json()['errorType'], 'Telemetry.SubscriptionClosed');

    const managed = environmentFor({ managedInstances: { maxConcurrency: 2 } });
    const lmiAgent = await registeredExternal(managed, 'lmi', ['SHUTDOWN']);
    const wrongSchema = await subscribe(managed, lmiAgent, subscription(4243));
    assert.equal(wrongSchema.status, 400);
    assert.match(String(wrongSchema.json()['errorMessage']), /2025-01-29/);
    assert.equal(environment.allSubscribers.length + managed.allSubscribers.length, 0);
  });

  test('the Logs API answers 202 and delivers nothing; on Managed Instances it does not exist', async () => {
    const environment = environmentFor();
    const agent = await registeredExternal(environment);
    const response = new FakeResponse();
    await subscribeLogs(environment, agent, fakeRequest({}, '{}'), response.asServerResponse);
    assert.equal(response.status, 202);
    assert.equal(environment.logsApiCalls, 1);

    const managed = environmentFor({ managedInstances: { maxConcurrency: 1 } });
    const lmiAgent = await registeredExternal(managed, 'lmi', ['SHUTDOWN']);
    const missing = new FakeResponse();
    await subscribeLogs(managed, lmiAgent, fakeRequest({}, '{}'), missing.asServerResponse);
    assert.equal(missing.status, 404);
  });
});
