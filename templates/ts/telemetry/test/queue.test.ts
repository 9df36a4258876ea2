import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedQueue, queuedRecord } from '../src/queue.js';
import { records } from '../test-support/telemetry.js';

const texts = (batch: { json: string }[]) => batch.map((record) => (JSON.parse(record.json) as { record: string }).record);

test('a record is kept as its serialised envelope, with its byte size', () => {
  const record = queuedRecord({ time: 't', type: 'function', record: 'héllo' });
  assert.equal(record.json, '{"time":"t","type":"function","record":"héllo"}');
  assert.equal(record.type, 'function');
  assert.equal(record.bytes, Buffer.byteLength(record.json));
  assert.equal(queuedRecord({ time: 't', type: 'platform.start' }).json, '{"time":"t","type":"platform.start","record":null}');
});

test('over the record limit, the oldest records are dropped and counted', () => {
  const queue = new BoundedQueue(3, 1_000_000);
  queue.push(records(5));
  assert.equal(queue.length, 3);
  assert.deepEqual(texts(queue.take(10, 1_000_000)), ['line 2', 'line 3', 'line 4']);
  assert.equal(queue.dropped.records, 2);
  assert.equal(queue.length, 0);
  assert.equal(queue.bytes, 0);
});

test('over the byte limit, the oldest records are dropped until it holds', () => {
  const batch = records(10);
  const size = batch[0]!.bytes;
  const queue = new BoundedQueue(1000, size * 4);
  queue.push(batch);
  assert.equal(queue.length, 4);
  assert.equal(queue.bytes, size * 4);
  assert.deepEqual(queue.dropped, { records: 6, bytes: size * 6 });
  assert.deepEqual(texts(queue.take(100, 1_000_000)), ['line 6', 'line 7', 'line 8', 'line 9']);
});

test('a record larger than the whole queue is dropped on its own, leaving the rest', () => {
  const queue = new BoundedQueue(100, 200);
  queue.push(records(1));
  queue.push([queuedRecord({ time: 't', type: 'function', record: 'x'.repeat(500) })]);
  assert.equal(queue.length, 1);
  assert.equal(queue.dropped.records, 1);
});

test('take respects both batch limits, but always takes at least one record', () => {
  const queue = new BoundedQueue(100, 1_000_000);
  const batch = records(10);
  const size = batch[0]!.bytes;
  queue.push(batch);
  assert.equal(queue.take(3, 1_000_000).length, 3);
  assert.equal(queue.take(100, size * 2 + 1).length, 2);
  assert.equal(queue.take(100, 1).length, 1, 'a record larger than the batch limit still goes, alone');
  assert.equal(queue.length, 4);
  assert.equal(queue.bytes, size * 4);
});

test('requeue puts a batch back in front; if that overflows, the oldest go first', () => {
  const queue = new BoundedQueue(5, 1_000_000);
  queue.push(records(4));
  const batch = queue.take(3, 1_000_000);
  queue.push(records(3, (index) => `new ${index}`));
  queue.requeue(batch);
  assert.deepEqual(texts(queue.take(100, 1_000_000)), ['line 2', 'line 3', 'new 0', 'new 1', 'new 2']);
  assert.equal(queue.dropped.records, 2);
});

test('the queue never exceeds its limits over many pushes and takes (checked against a plain model)', () => {
  const queue = new BoundedQueue(50, 5_000);
  const model: string[] = [];
  let counter = 0;
  let dropped = 0;
  for (let round = 0; round < 2_000; round += 1) {
    const count = (round * 7) % 23;
    const pushed = records(count, () => `r${counter++}${'x'.repeat(counter % 40)}`);
    queue.push(pushed);
    for (const record of pushed) model.push(record.json);
    let bytes = model.reduce((sum, json) => sum + Buffer.byteLength(json), 0);
    while (model.length > 50 || bytes > 5_000) {
      bytes -= Buffer.byteLength(model.shift()!);
      dropped += 1;
    }
    assert.ok(queue.length <= 50 && queue.bytes <= 5_000);
    if (round % 3 === 0) {
      const taken = queue.take(7, 1_000);
      assert.deepEqual(
        taken.map((record) => record.json),
        model.splice(0, taken.length),
      );
    }
  }
  assert.equal(queue.length, model.length);
  assert.equal(queue.dropped.records, dropped);
});
