/**
 * The hooks as generated leave every event and response as they are:
 * change these tests when you change src/hooks.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onEvent, onResponse } from '../src/hooks.js';
import type { Invocation, ProxyResponse } from '../src/proxy.js';

const context = { signal: new AbortController().signal };
const invocation = (): Invocation => ({ requestId: 'id-1', deadlineMs: Date.now() + 1000, headers: {}, event: Buffer.from('{"key":"value"}'), receivedAt: 0 });

test('onEvent passes events through', async () => {
  const current = invocation();
  await onEvent(current, context);
  assert.equal(String(current.event), '{"key":"value"}');
});

test('onResponse passes answers through', async () => {
  const responses: ProxyResponse[] = [
    { kind: 'success', body: Buffer.from('{"ok":true}'), bytes: 11, durationMs: 1 },
    { kind: 'failure', body: Buffer.from('{"errorMessage":"boom"}'), errorType: 'Error', bytes: 23, durationMs: 1 },
    { kind: 'streamed', bytes: 42, durationMs: 1 },
  ];
  for (const response of responses) {
    const before = response.body === undefined ? undefined : String(response.body);
    await onResponse(invocation(), response, context);
    assert.equal(response.body === undefined ? undefined : String(response.body), before, response.kind);
  }
});
