import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { maxRequestBytes, startSinkReceiver, type ShippedEnvelope } from '../../src/core/sink/receiver.js';

/** The receiver `ext dev --sink` runs: what the templates send is taken, anything else refused and counted. */
async function post(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<number> {
  try {
    const response = await fetch(url, { method: 'POST', body, headers });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0; // the receiver closed the connection (a body over the limit)
  }
}

test('takes gzip and plain JSON arrays, refuses the rest with 400, and a body over the limit with 413', async () => {
  const received: { envelopes: ShippedEnvelope[]; atMs: number }[] = [];
  const receiver = await startSinkReceiver((envelopes, atMs) => received.push({ envelopes, atMs }));
  try {
    assert.match(receiver.url, /^http:\/\/127\.0\.0\.1:\d+\/ingest$/u);
    const batch = [{ time: '2026-12-07T00:00:00.000Z', type: 'function', record: 'hello' }];
    const before = performance.now();
    assert.equal(await post(receiver.url, gzipSync(JSON.stringify(batch)), { 'Content-Encoding': 'gzip' }), 200);
    assert.equal(await post(receiver.url, Buffer.from(JSON.stringify(batch))), 200);
    assert.deepEqual(
      received.map((entry) => entry.envelopes),
      [batch, batch],
    );
    assert.ok(received.every((entry) => entry.atMs >= before && entry.atMs <= performance.now()));
    assert.equal(await post(receiver.url, Buffer.from('{"not":"an array"}')), 400);
    assert.equal(await post(receiver.url, Buffer.from('garbage'), { 'Content-Encoding': 'gzip' }), 400);
    const status = await post(receiver.url, Buffer.alloc(maxRequestBytes + 1024, 0x20));
    assert.ok(status === 413 || status === 0, `answered ${status}`);
    assert.equal(receiver.malformedRequests, 3);
    assert.equal(received.length, 2);
  } finally {
    await receiver.close();
  }
});
