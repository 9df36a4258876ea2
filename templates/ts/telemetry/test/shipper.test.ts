import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedQueue } from '../src/queue.js';
import { batchRecords, Shipper, type RetryPolicy } from '../src/shipper.js';
import { PermanentError } from '../src/sinks.js';
import { RecordingSink, records } from '../test-support/telemetry.js';

const retry: RetryPolicy = { attempts: 5, firstBackoffMs: 100, maxBackoffMs: 300 };

function setup(count = 3) {
  const queue = new BoundedQueue(100_000, 100_000_000);
  queue.push(records(count));
  const sink = new RecordingSink();
  const waits: number[] = [];
  const shipper = new Shipper(queue, sink, {
    retry,
    random: () => 1, // no jitter: each wait is the full backoff
    sleep: async (ms) => void waits.push(ms),
  });
  return { queue, sink, shipper, waits };
}

const inMs = (ms: number): number => Date.now() + ms;

test('ships everything queued, in batches, and counts it', async () => {
  const { queue, sink, shipper } = setup(2 * batchRecords + 5);
  assert.equal(await shipper.flush({ deadline: inMs(5000) }), true);
  assert.deepEqual(
    sink.batches.map((batch) => batch.length),
    [batchRecords, batchRecords, 5],
  );
  assert.equal(sink.shipped[0]?.record, 'line 0');
  assert.equal(queue.length, 0);
  assert.equal(shipper.counts.shipped, 2 * batchRecords + 5);
  assert.equal(shipper.counts.batches, 3);
});

test('retries failed sends with doubling backoff up to the limit, then succeeds', async () => {
  const { sink, shipper, waits } = setup();
  sink.fail = (call) => {
    if (call <= 4) throw new Error(`boom ${call}`);
  };
  assert.equal(await shipper.flush({ deadline: inMs(5000) }), true);
  assert.deepEqual(waits, [100, 200, 300, 300]);
  assert.equal(sink.calls, 5);
  assert.equal(shipper.counts.failedSends, 4);
  assert.equal(shipper.counts.lastError, 'boom 4');
  assert.equal(shipper.counts.shipped, 3);
  assert.equal(shipper.failing, false);
});

test('after the last attempt the batch goes back to the queue, in order', async () => {
  const { queue, sink, shipper } = setup();
  sink.fail = () => {
    throw new Error('down');
  };
  assert.equal(await shipper.flush({ deadline: inMs(5000) }), false);
  assert.equal(sink.calls, retry.attempts);
  assert.equal(queue.length, 3);
  assert.equal(JSON.parse(queue.take(1, 1e9)[0]!.json).record, 'line 0');
  assert.equal(shipper.failing, true);
});

test('while the destination is failing a flush tries once; a final flush retries; success clears it', async () => {
  const { sink, shipper } = setup();
  sink.fail = () => {
    throw new Error('down');
  };
  await shipper.flush({ deadline: inMs(5000) });
  sink.calls = 0;
  await shipper.flush({ deadline: inMs(5000) });
  assert.equal(sink.calls, 1, 'one attempt per invoke while failing');
  sink.calls = 0;
  await shipper.flush({ deadline: inMs(5000), final: true });
  assert.equal(sink.calls, retry.attempts, 'the final flush uses every attempt');
  sink.fail = undefined;
  assert.equal(await shipper.flush({ deadline: inMs(5000) }), true);
  assert.equal(shipper.failing, false);
});

test('never starts a backoff wait that would end past the deadline', async () => {
  const { sink, shipper, waits } = setup();
  sink.fail = () => {
    throw new Error('down');
  };
  // The sleeps are instant: a 100 ms wait fits before the deadline, a 200 ms one does not.
  assert.equal(await shipper.flush({ deadline: Date.now() + 150 }), false);
  assert.deepEqual(waits, [100]);
  assert.equal(sink.calls, 2);
});

test('a send still running at the deadline is aborted and the flush returns in time', async () => {
  const queue = new BoundedQueue(100, 1e6);
  queue.push(records(2));
  const sink = new RecordingSink();
  let abortedAt = 0;
  sink.fail = (_call, signal) =>
    new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => {
        abortedAt = Date.now();
        reject(signal.reason);
      });
    });
  const shipper = new Shipper(queue, sink, { retry });
  const started = Date.now();
  assert.equal(await shipper.flush({ deadline: started + 150 }), false);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 140 && elapsed < 400, `returned after ${elapsed} ms`);
  assert.ok(abortedAt > 0);
  assert.equal(queue.length, 2, 'the batch is kept for later');
  assert.match(shipper.counts.lastError ?? '', /deadline/);
});

test('the caller signal stops a flush, and flushes never overlap', async () => {
  const queue = new BoundedQueue(100, 1e6);
  queue.push(records(2));
  const sink = new RecordingSink();
  let active = 0;
  let overlapped = false;
  sink.fail = (_call, signal) =>
    new Promise<void>((resolve, reject) => {
      active += 1;
      if (active > 1) overlapped = true;
      const timer = setTimeout(() => {
        active -= 1;
        resolve();
      }, 50);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        setTimeout(() => {
          active -= 1;
          reject(signal.reason);
        }, 20); // settles a little after the abort
      });
    });
  const shipper = new Shipper(queue, sink, { retry });
  const controller = new AbortController();
  const first = shipper.flush({ deadline: inMs(5000), signal: controller.signal });
  setTimeout(() => controller.abort(), 10);
  const second = shipper.flush({ deadline: inMs(5000) });
  assert.equal(await first, false);
  assert.equal(await second, true);
  assert.equal(overlapped, false);
  assert.equal(shipper.counts.shipped, 2);
});

test('a permanent refusal discards the batch, counts it, and moves on to the next', async () => {
  const { queue, sink, shipper } = setup(batchRecords + 1);
  sink.fail = (call) => {
    if (call === 1) throw new PermanentError('400 bad batch');
  };
  assert.equal(await shipper.flush({ deadline: inMs(5000) }), true);
  assert.equal(shipper.counts.discarded, batchRecords);
  assert.equal(shipper.counts.shipped, 1);
  assert.equal(shipper.counts.failedSends, 1);
  assert.equal(queue.length, 0);
});

test('a deadline already past does nothing', async () => {
  const { sink, shipper } = setup();
  assert.equal(await shipper.flush({ deadline: Date.now() - 1 }), false);
  assert.equal(sink.calls, 0);
});
