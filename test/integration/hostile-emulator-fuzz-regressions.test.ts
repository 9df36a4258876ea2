import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Emulator } from '../../src/core/emulator/index.js';
import { rawRequest, startIdleEmulator } from '../helpers/emulator-fixtures.js';

/** Raw bytes to the API; resolves with everything the emulator sent back once the connection closes. */
function sendRaw(api: string, bytes: string): Promise<string> {
  const [host, port] = api.split(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port) }, () => socket.end(bytes));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
}

/** Cases the emulator-api fuzz target (test/fuzz) found, kept as plain tests. */
describe('emulator requests found by fuzzing', () => {
  let emulator: Emulator;
  let api: string;
  let close: () => Promise<void>;

  before(async () => {
    ({ emulator, api, close } = await startIdleEmulator());
  });

  after(() => close());

  test('a request Node cannot parse gets a JSON 400 in the error model, not a bare 400', async () => {
    for (const request of [
      '0 /2020-01-01/extension/register HTTP/1.1\r\n\r\n',
      'GET / HTTP/1.1\r\nBad Header\r\n\r\n',
    ]) {
      const answer = await sendRaw(api, request);
      assert.match(answer, /^HTTP\/1\.1 400 /);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      assert.equal(body['errorType'], 'InvalidRequestFormat');
      assert.equal(typeof body['errorMessage'], 'string');
    }
  });

  test('a request without Host is answered by the routes, in the error model', async () => {
    const answer = await sendRaw(api, 'GET /2020-01-01/extension/event/next HTTP/1.1\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 403 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    assert.equal(body['errorType'], 'Extension.MissingExtensionIdentifier');
  });

  test('an Expect other than 100-continue gets 417 in the error model, not a bare 417', async () => {
    const answer = await sendRaw(
      api,
      'GET /2020-01-01/extension/register HTTP/1.1\r\nHost: x\r\nExpect: \r\nContent-Length: 2\r\n\r\n{}',
    );
    assert.match(answer, /^HTTP\/1\.1 417 /);
    assert.match(answer, /Content-Length: \d+/i);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    assert.equal(body['errorType'], 'ExpectationFailed');
  });

  test('a client that closes before its body ends is no internal error, and serving goes on', async () => {
    await sendRaw(
      api,
      'POST /2020-01-01/extension/register HTTP/1.1\r\nLambda-Extension-Name: x\r\nContent-Length: 100\r\n\r\n{}',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(!emulator.timeline.some((entry) => /internal error/.test(entry.text)), 'an internal error was noted');
    const answer = await rawRequest(api, 'GET', '/2020-01-01/extension/event/next', {});
    assert.equal(answer.status, 403);
  });
});
