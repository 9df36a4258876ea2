import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryOverhead, Flights, Lru } from '../src/store.js';
import { testClock } from '../test-support/http.js';

test('an entry is fresh until its TTL, then stale but kept', () => {
  const clock = testClock();
  const cache = new Lru(10, 1 << 20, clock.now);
  cache.put('k', Buffer.from('v1'), 60_000);
  assert.deepEqual(cache.get('k'), { value: Buffer.from('v1'), fresh: true });
  clock.advance(60_000);
  assert.deepEqual(cache.get('k'), { value: Buffer.from('v1'), fresh: false });
});

test('the cache stays within its entries and bytes, evicting the least recently used', () => {
  const cache = new Lru(3, 1 << 20);
  for (const key of ['a', 'b', 'c']) cache.put(key, Buffer.from(key), 60_000);
  cache.get('a');
  cache.put('d', Buffer.from('d'), 60_000);
  assert.equal(cache.get('b'), undefined, 'b, the least recently used, was evicted');
  assert.ok(cache.get('a'));
  assert.equal(cache.size, 3);

  const limit = 3 * (entryOverhead + 1 + 100);
  const small = new Lru(100, limit);
  for (const key of ['a', 'b', 'c', 'd']) small.put(key, Buffer.alloc(100), 60_000);
  assert.equal(small.size, 3);
  assert.ok(small.bytes <= limit);
  small.put('huge', Buffer.alloc(10_000), 60_000);
  assert.equal(small.get('huge'), undefined, 'larger than the whole cache: not stored');
  small.put('a', Buffer.from('x'), 0);
  assert.equal(small.get('a'), undefined, 'a TTL of 0 stores nothing and drops the old entry');
});

test('a hundred concurrent runs for one key share one fetch', async () => {
  const flights = new Flights<string>();
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const results = Array.from({ length: 100 }, () =>
    flights.run('k', async () => {
      runs++;
      await gate;
      return 'value';
    }).result,
  );
  release();
  assert.deepEqual(new Set(await Promise.all(results)), new Set(['value']));
  assert.equal(runs, 1);
  // Once it is done, the next run fetches again.
  await flights.run('k', async () => `${++runs}`).result;
  assert.equal(runs, 2);
});
