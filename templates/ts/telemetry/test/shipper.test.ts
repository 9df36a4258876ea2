import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedQueue } from '../src/queue.js';
import { batchRecords, defaultBreaker, Shipper, type BreakerPolicy, type RetryPolicy } from '../src/shipper.js';
import { PermanentError, RetryLaterError, TooLargeError } from '../src/sinks.js';
import { getEventListeners } from 'node:events';
import { captureLog, RecordingSink, records } from '../test-support/telemetry.js';

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

test('a final flush ships everything queued, in batches, and counts it', async () => {
  const { queue, sink, shipper } = setup(2 * batchRecords + 5);
  assert.equal(await shipper.flush({ deadline: inMs(5000), final: true }), true);
  assert.deepEqual(
    sink.batches.map((batch) => batch.length),
    [batchRecords, batchRecords, 5],
  );
  assert.equal(sink.shipped[0]?.record, 'line 0');
  assert.equal(queue.length, 0);
  assert.equal(shipper.counts.shipped, 2 * batchRecords + 5);
  assert.equal(shipper.counts.batches, 3);
});

test('the final flush retries failed sends with doubling backoff up to the limit, then succeeds', async () => {
  const { sink, shipper, waits } = setup();
  sink.fail = (call) => {
    if (call <= 4) throw new Error(`boom ${call}`);
  };
  assert.equal(await shipper.flush({ deadline: inMs(5000), final: true }), true);
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
  assert.equal(await shipper.flush({ deadline: inMs(5000), final: true }), false);
  assert.equal(sink.calls, retry.attempts);
  assert.equal(queue.length, 3);
  assert.equal(JSON.parse(queue.take(1, 1e9)[0]!.json).record, 'line 0');
  assert.equal(shipper.failing, true);
});

test('a per-invoke flush makes one attempt, with no backoff, even when the destination has just failed', async () => {
  const { queue, sink, shipper, waits } = setup();
  sink.fail = () => {
    throw new Error('down');
  };
  assert.equal(await shipper.flush({ deadline: inMs(5000) }), false);
  assert.equal(sink.calls, 1);
  assert.deepEqual(waits, []);
  assert.equal(queue.length, 3, 'the batch is kept');
  assert.equal(shipper.failing, true);
});

/** A shipper on a hand-driven clock, with a failing sink. */
function breakerSetup(breaker: BreakerPolicy = defaultBreaker) {
  const queue = new BoundedQueue(1000, 1e6);
  queue.push(records(3));
  const sink = new RecordingSink();
  sink.fail = () => {
    throw new Error('down');
  };
  let now = 1_000_000;
  const { log, lines } = captureLog('debug');
  const shipper = new Shipper(queue, sink, { retry, breaker, log, now: () => now, sleep: async () => undefined, random: () => 1 });
  const flush = (final = false) => shipper.flush({ deadline: now + 5000, final });
  const advance = (ms: number) => {
    now += ms;
  };
  return { queue, sink, shipper, lines, flush, advance };
}

test('after a failed send the breaker leaves the destination alone for a doubling cool-down, capped', async () => {
  const { sink, shipper, flush, advance } = breakerSetup();
  await flush();
  assert.equal(sink.calls, 1);
  // Cool-downs 1 s, 2 s, 4 s, 8 s, 16 s, then 30 s for good: probe just before and just after each.
  for (const cooldownMs of [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]) {
    const calls: number = sink.calls;
    advance(cooldownMs - 1);
    assert.equal(shipper.paused, true);
    assert.equal(await flush(), false);
    assert.equal(sink.calls, calls, `no send ${cooldownMs - 1} ms into a ${cooldownMs} ms pause`);
    advance(1);
    assert.equal(shipper.paused, false);
    assert.equal(await flush(), false);
    assert.equal(sink.calls, calls + 1, `one probe after ${cooldownMs} ms`);
  }
  assert.equal(shipper.counts.pausedFlushes, 7);
});

test('a success closes the breaker and resets the cool-down; the change is logged once each way', async () => {
  const { queue, sink, shipper, lines, flush, advance } = breakerSetup();
  await flush();
  advance(1000);
  await flush(); // a failed probe: the next pause is 2 s
  advance(2000);
  sink.fail = undefined;
  assert.equal(await flush(), true);
  assert.equal(shipper.failing, false);
  assert.equal(queue.length, 0);
  queue.push(records(1));
  sink.fail = () => {
    throw new Error('down again');
  };
  await flush();
  advance(999);
  const calls: number = sink.calls;
  await flush();
  assert.equal(sink.calls, calls, 'paused again');
  advance(1);
  await flush();
  assert.equal(sink.calls, calls + 1, 'after 1 s: the cool-down started over');

  const changes = lines.filter((line) => /^destination/.test(String(line['msg'])));
  assert.deepEqual(
    changes.map((line) => [line['level'], line['msg']]),
    [
      ['warn', 'destination failing, pausing sends for 1 s'],
      ['debug', 'destination still failing, pausing sends for 2 s'],
      ['info', 'destination back'],
      ['warn', 'destination failing, pausing sends for 1 s'],
      ['debug', 'destination still failing, pausing sends for 2 s'],
    ],
  );
  assert.equal(changes[0]?.['lastError'], 'down');
  assert.equal(changes[2]?.['failingForMs'], 3000);
});

test('the final flush sends and retries even while paused', async () => {
  const { sink, shipper, flush } = breakerSetup();
  await flush();
  assert.equal(shipper.paused, true);
  const calls: number = sink.calls;
  await flush(true);
  assert.equal(sink.calls, calls + retry.attempts);
  sink.fail = undefined;
  assert.equal(await flush(true), true);
  assert.equal(shipper.failing, false);
});

test('a refused batch does not open the breaker: the destination answered', async () => {
  const { sink, shipper, flush } = breakerSetup();
  sink.fail = () => {
    throw new PermanentError('400');
  };
  assert.equal(await flush(), true);
  assert.equal(shipper.failing, false);
  assert.equal(shipper.counts.discarded, 3);
});

test('never starts a backoff wait that would end past the deadline', async () => {
  const { sink, shipper, waits } = setup();
  sink.fail = () => {
    throw new Error('down');
  };
  // The sleeps are instant: a 100 ms wait fits before the deadline, a 200 ms one does not.
  assert.equal(await shipper.flush({ deadline: Date.now() + 150, final: true }), false);
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
  assert.ok(elapsed >= 140 && elapsed < 3000, `returned after ${elapsed} ms`);
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
  // The stopped send counts as a failure and pauses per-invoke flushes; a final one still goes.
  const second = shipper.flush({ deadline: inMs(5000), final: true });
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
  assert.equal(await shipper.flush({ deadline: inMs(5000), final: true }), true);
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

test('a per-invoke flush makes one round: what was queued at its start, in as few batches as the limits allow', async () => {
  const { queue, sink, shipper } = setup(2 * batchRecords + 5);
  assert.equal(await shipper.flush({ deadline: inMs(5000) }), true);
  assert.deepEqual(
    sink.batches.map((batch) => batch.length),
    [batchRecords, batchRecords, 5],
    'a log-heavy invoke’s backlog leaves now, not when the queue overflows',
  );
  assert.equal(queue.length, 0);

  const small = setup(10);
  small.sink.fail = () => void small.queue.push(records(5)); // delivered while the request is in flight
  assert.equal(await small.shipper.flush({ deadline: inMs(5000) }), false);
  assert.equal(small.sink.calls, 1);
  assert.equal(small.sink.shipped.length, 10);
  assert.equal(small.queue.length, 5);
});

test('below the minimum batch, a per-invoke flush waits until the maximum wait has passed; a final one always sends', async () => {
  const queue = new BoundedQueue(100_000, 100_000_000);
  queue.push(records(3));
  const sink = new RecordingSink();
  let now = 1_000_000;
  const shipper = new Shipper(queue, sink, { retry, now: () => now, batching: { minRecords: 10, maxWaitMs: 5000 } });
  // The deadline on the same hand-driven clock as the shipper.
  const deadline = (): number => now + 5000;
  await shipper.flush({ deadline: deadline() });
  assert.equal(sink.calls, 0, '3 of 10 records: wait');
  queue.push(records(7));
  await shipper.flush({ deadline: deadline() });
  assert.equal(sink.calls, 1, '10 records: send');
  queue.push(records(1));
  now += 4000;
  await shipper.flush({ deadline: deadline() });
  assert.equal(sink.calls, 1, '4 s after the last send: still waiting');
  now += 1000;
  await shipper.flush({ deadline: deadline() });
  assert.equal(sink.calls, 2, '5 s after the last send: send');
  queue.push(records(1));
  await shipper.flush({ deadline: deadline(), final: true });
  assert.equal(sink.calls, 3, 'the final flush always sends');
});

test('a 413 halves the batch; a single record still refused is discarded and counted', async () => {
  const { queue, sink, shipper } = setup(4);
  const sizes: number[] = [];
  const send = sink.send.bind(sink);
  sink.send = async (batch, signal, batchId) => {
    sizes.push(batch.length);
    if (batch.length > 2 || batch.some((record) => JSON.parse(record.json).record === 'line 3')) throw new TooLargeError('413');
    return send(batch, signal, batchId);
  };
  assert.equal(await shipper.flush({ deadline: inMs(5000) }), true);
  assert.deepEqual(sizes, [4, 2, 2, 1, 1]);
  assert.equal(shipper.counts.shipped, 3);
  assert.equal(shipper.counts.discarded, 1);
  assert.equal(shipper.failing, false);
  assert.equal(queue.length, 0);
});

test('Retry-After is the least pause: longer than the cool-down, it wins; shorter, the cool-down does', async () => {
  for (const [retryAfterMs, pauseMs] of [
    [5000, 5000],
    [200, 1000],
  ]) {
    const { sink, shipper, flush, advance } = breakerSetup();
    sink.fail = () => {
      throw new RetryLaterError('429', retryAfterMs!);
    };
    await flush();
    advance(pauseMs! - 1);
    assert.equal(shipper.paused, true, `Retry-After ${retryAfterMs} ms: paused ${pauseMs! - 1} ms on`);
    advance(1);
    assert.equal(shipper.paused, false, `Retry-After ${retryAfterMs} ms: the pause ends after ${pauseMs} ms`);
  }
});

test('a batch sent again keeps its id (the idempotency key), across retries and invokes; new batches get new ids', async () => {
  const queue = new BoundedQueue(1000, 1e6);
  queue.push(records(3));
  const sink = new RecordingSink();
  sink.fail = () => {
    throw new Error('down');
  };
  let id = 0;
  const counted = new Shipper(queue, sink, { retry, now: () => 0, sleep: async () => undefined, random: () => 1, newBatchId: () => `b${++id}` });
  await counted.flush({ deadline: Date.now() + 5000 });
  await counted.flush({ deadline: Date.now() + 5000, final: true });
  sink.fail = undefined;
  queue.push(records(2));
  assert.equal(await counted.flush({ deadline: Date.now() + 5000, final: true }), true);
  assert.deepEqual(sink.ids, ['b1', 'b1', 'b1', 'b1', 'b1', 'b1', 'b1', 'b2'], 'the 3 failed records go as b1 until sent; the 2 later ones as b2');
  assert.deepEqual(
    sink.batches.map((batch) => batch.length),
    [3, 2],
  );
});

test('a batch no longer first in the queue (dropped by an overflow) goes out under a new id', async () => {
  const queue = new BoundedQueue(4, 1e6);
  queue.push(records(3));
  const sink = new RecordingSink();
  sink.fail = () => {
    throw new Error('down');
  };
  let id = 0;
  const shipper = new Shipper(queue, sink, { retry, now: () => 0, newBatchId: () => `b${++id}` });
  await shipper.flush({ deadline: Date.now() + 5000 });
  queue.push(records(2, (index) => `later ${index}`)); // 5 records in a queue of 4: 'line 0' goes
  sink.fail = undefined;
  await shipper.flush({ deadline: Date.now() + 5000, final: true });
  assert.deepEqual(sink.ids, ['b1', 'b2']);
  assert.deepEqual(
    sink.shipped.map((record) => record.record),
    ['line 1', 'line 2', 'later 0', 'later 1'],
  );
});

/** What an abort signal holds for others: its abort listeners and, where node keeps them, the signals that depend on it. */
function heldBy(signal: AbortSignal): number {
  let held = getEventListeners(signal, 'abort').length;
  for (const key of Object.getOwnPropertySymbols(signal)) {
    const value: unknown = (signal as unknown as Record<symbol, unknown>)[key];
    if (value instanceof Set) held += value.size;
  }
  return held;
}

test('many rounds under one long-lived signal (timer mode) leave nothing on it: no per-round cost that grows', async () => {
  const queue = new BoundedQueue(100_000, 100_000_000);
  const sink = new RecordingSink();
  const shipper = new Shipper(queue, sink, { retry });
  const lifetime = new AbortController();
  const before = heldBy(lifetime.signal);
  // Each signal combined with the long-lived one by AbortSignal.any stays registered on it until a
  // garbage collection (on node 22, flushes slowed down 50 times after 10,000 rounds): count them.
  const any = AbortSignal.any.bind(AbortSignal);
  let combined = 0;
  AbortSignal.any = (signals: Iterable<AbortSignal>) => {
    const list = [...signals];
    if (list.includes(lifetime.signal)) combined += 1;
    return any(list);
  };
  try {
    for (let round = 0; round < 500; round += 1) {
      queue.push(records(1));
      await shipper.flush({ deadline: Date.now() + 5000, signal: lifetime.signal });
    }
  } finally {
    AbortSignal.any = any;
  }
  assert.equal(sink.calls, 500);
  assert.equal(combined, 0, 'signals combined with the long-lived one');
  assert.ok(heldBy(lifetime.signal) <= before, `the signal holds ${heldBy(lifetime.signal)} things after 500 rounds, ${before} before`);
  // The link still works: aborting the lifetime signal stops a flush in progress.
  queue.push(records(1));
  sink.fail = (_call, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('cut'))));
  const flushing = shipper.flush({ deadline: Date.now() + 60_000, signal: lifetime.signal });
  lifetime.abort();
  assert.equal(await flushing, false);
});
