import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import http from 'node:http';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Emulator } from '../../src/core/emulator/index.js';
import { parseTelemetryRequest } from '../../src/core/emulator/telemetry/index.js';
import { addFile, makeLayer, rawRequest, startIdleEmulator } from '../helpers/emulator-fixtures.js';

/**
 * Requests to the emulator come from untrusted extensions: a huge body gets
 * a 413 in the emulator's error model, is not read to its end, and the
 * emulator goes on serving; header values it keeps or prints are capped.
 */

interface Answer {
  status: number;
  body: string;
  /** Body bytes the client managed to send before the answer came. */
  sent: number;
}

/** Streams `totalBytes` of body (chunked, or with a Content-Length up front) and resolves with the answer. */
function streamBody(
  api: string,
  method: string,
  route: string,
  headers: Record<string, string>,
  totalBytes: number,
  declareLength: boolean,
): Promise<Answer> {
  const [host, port] = api.split(':');
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const request = http.request(
      {
        host,
        port: Number(port),
        path: route,
        method,
        agent: false,
        headers: { ...headers, ...(declareLength ? { 'Content-Length': String(totalBytes) } : {}) },
      },
      (response) => {
        answered = true;
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text, sent }));
        response.on('error', () => resolve({ status: response.statusCode ?? 0, body: text, sent }));
      },
    );
    // Once the server has answered and closed, writing fails: that is the point, not the test's failure.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (!answered && !request.destroyed && sent < totalBytes) {
        sent += chunk.length;
        if (!request.write(chunk)) {
          request.once('drain', pump);
          return;
        }
      }
      if (sent >= totalBytes) request.end();
    };
    pump();
  });
}

const hundredMegabytes = 100 * 1024 * 1024;

describe('request bodies and headers', () => {
  let layer: string;
  let emulator: Emulator;
  let api: string;
  let id: string;

  before(async () => {
    layer = await makeLayer();
    await addFile(layer, 'sleeper', '#!/bin/sh\nexec sleep 30\n', 0o755);
    // A long simulated runtime init keeps registration and subscriptions open for the whole test.
    emulator = new Emulator({ layerDirectory: layer, function: { initDurationMs: 8_000 }, initTimeoutMs: 9_000 });
    api = await emulator.listen();
    void emulator.start();
    while (!emulator.extensions.some((extension) => extension.pid !== undefined)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const registered = await rawRequest(
      api,
      'POST',
      '/2020-01-01/extension/register',
      { 'Lambda-Extension-Name': 'sleeper' },
      JSON.stringify({ events: ['INVOKE', 'SHUTDOWN'] }),
    );
    assert.equal(registered.status, 200, registered.body);
    id = registered.headers['lambda-extension-identifier'] as string;
  });

  after(async () => {
    await emulator.close();
    await rm(layer, { recursive: true, force: true });
  });

  const routes = (): [string, string, Record<string, string>][] => [
    ['POST', '/2020-01-01/extension/register', { 'Lambda-Extension-Name': 'big' }],
    [
      'POST',
      '/2020-01-01/extension/init/error',
      { 'Lambda-Extension-Identifier': id, 'Lambda-Extension-Function-Error-Type': 'Big.Error' },
    ],
    [
      'POST',
      '/2020-01-01/extension/exit/error',
      { 'Lambda-Extension-Identifier': id, 'Lambda-Extension-Function-Error-Type': 'Big.Error' },
    ],
    ['PUT', '/2022-07-01/telemetry', { 'Lambda-Extension-Identifier': id }],
    ['PUT', '/2020-08-15/logs', { 'Lambda-Extension-Identifier': id }],
  ];

  for (const declareLength of [false, true]) {
    test(
      `a 100 MB body (${declareLength ? 'Content-Length' : 'chunked'}) gets 413 on every route, unread, and serving goes on`,
      { timeout: scaled(30_000) },
      async () => {
        for (const [method, route, headers] of routes()) {
          const answer = await streamBody(api, method, route, headers, hundredMegabytes, declareLength);
          assert.equal(answer.status, 413, `${method} ${route}: ${answer.body}`);
          const body = JSON.parse(answer.body) as Record<string, unknown>;
          assert.equal(body['errorType'], 'RequestEntityTooLarge');
          assert.match(String(body['errorMessage']), /larger than 1048576 bytes/);
          assert.ok(
            answer.sent < hundredMegabytes / 2,
            `${route}: the client sent ${answer.sent} bytes before the answer`,
          );
        }
        // Nothing changed state, and the emulator still answers.
        assert.equal(emulator.verdicts.length, 0);
        const logs = await rawRequest(api, 'PUT', '/2020-08-15/logs', { 'Lambda-Extension-Identifier': id }, '{}');
        assert.equal(logs.status, 202, logs.body);
        assert.ok(!emulator.timeline.some((entry) => /internal error/.test(entry.text)), 'no internal error');
      },
    );
  }

  test(
    'an extension looping on bad register calls cannot grow the timeline without bound',
    { timeout: scaled(20_000) },
    async () => {
      for (let index = 0; index < 300; index += 1) {
        const answer = await rawRequest(
          api,
          'POST',
          '/2020-01-01/extension/register',
          { 'Lambda-Extension-Name': `loop-${index}` },
          JSON.stringify({ events: [`BOGUS-${index}`] }),
        );
        assert.equal(answer.status, 403);
      }
      // A refused request is a note, not a verdict (RIE records no error); the notes are capped.
      assert.equal(emulator.verdicts.length, 0);
      const refusals = emulator.timeline.filter((entry) => /register refused/.test(entry.text));
      assert.equal(refusals.length, 100);
      assert.ok(emulator.timeline.some((entry) => /later ones are not noted/.test(entry.text)));
    },
  );

  test(
    'a huge extension name is refused, and a huge error type is stored cut',
    { timeout: scaled(10_000) },
    async () => {
      const long = await rawRequest(
        api,
        'POST',
        '/2020-01-01/extension/register',
        { 'Lambda-Extension-Name': 'n'.repeat(10_000) },
        '{}',
      );
      assert.equal(long.status, 403, long.body);
      assert.equal(long.json()['errorType'], 'Extension.InvalidExtensionName');
      const error = await rawRequest(
        api,
        'POST',
        '/2020-01-01/extension/init/error',
        { 'Lambda-Extension-Identifier': id, 'Lambda-Extension-Function-Error-Type': 'E'.repeat(10_000) },
        JSON.stringify({ errorMessage: 'm'.repeat(500_000) }),
      );
      assert.equal(error.status, 202, error.body);
      const verdict = emulator.verdicts.find((candidate) => candidate.kind === 'init-error');
      assert.ok(verdict !== undefined);
      assert.ok(verdict.message.length < 3_000, `verdict message of ${verdict.message.length} characters`);
      const reported = emulator.report().extensions.find((extension) => extension.name === 'sleeper');
      assert.ok((reported?.reportedErrorType?.length ?? 0) < 400);
    },
  );
});

describe('requests from a web page (DNS rebinding)', () => {
  let emulator: Emulator;
  let api: string;
  let close: () => Promise<void>;

  before(async () => {
    ({ emulator, api, close } = await startIdleEmulator());
  });

  after(() => close());

  const register = (name: string, headers: Record<string, string>) =>
    rawRequest(
      api,
      'POST',
      '/2020-01-01/extension/register',
      { 'Lambda-Extension-Name': name, ...headers },
      JSON.stringify({ events: ['INVOKE'] }),
    );

  test('a foreign Host, an Origin or a Sec-Fetch-Site header gets 403 and registers nothing', async () => {
    const port = api.split(':')[1]!;
    for (const headers of <Record<string, string>[]>[
      { Host: `rebound.example:${port}` },
      { Host: `192.168.1.10:${port}` },
      { Host: `127.0.0.1.evil.example:${port}` },
      { Origin: 'http://rebound.example' },
      { Origin: 'null' },
      { 'Sec-Fetch-Site': 'cross-site' },
    ]) {
      const answer = await register('browser', headers);
      assert.equal(answer.status, 403, `${JSON.stringify(headers)}: ${answer.body}`);
      assert.equal(answer.json()['errorType'], 'ForbiddenRequestSource');
    }
    assert.ok(!emulator.extensions.some((extension) => extension.name === 'browser'), 'nothing registered');
    assert.equal(emulator.verdicts.length, 0, 'no verdict: the run is not failed by a web page');
    assert.equal(emulator.timeline.filter((entry) => /refused a request/.test(entry.text)).length, 1);
  });

  test('loopback hosts and the runtime API address are served', async () => {
    const port = api.split(':')[1]!;
    for (const [index, host] of [
      api,
      `localhost:${port}`,
      `127.1.2.3:${port}`,
      `[::1]:${port}`,
      'sandbox.localdomain',
    ].map((value, position) => [position, value] as const)) {
      const answer = await register(`internal-${index}`, { Host: host });
      assert.equal(answer.status, 200, `${host}: ${answer.body}`);
    }
  });
});

test('a telemetry destination outside loopback and sandbox.localdomain is refused', () => {
  const subscription = (host: string) =>
    JSON.stringify({
      schemaVersion: '2022-12-13',
      types: ['platform'],
      destination: { protocol: 'HTTP', URI: `http://${host}:4243/path` },
    });
  for (const host of [
    '0.0.0.0',
    '10.0.0.1',
    '169.254.169.254',
    'rebound.example',
    '127.0.0.1.nip.io',
    '[::ffff:a00:1]',
  ]) {
    const parsed = parseTelemetryRequest(subscription(host), []);
    assert.equal(parsed.ok, false, host);
  }
  for (const host of ['sandbox.localdomain', 'sandbox', 'localhost', '127.0.0.1', '127.0.0.2', '[::1]']) {
    assert.equal(parseTelemetryRequest(subscription(host), []).ok, true, host);
  }
});
