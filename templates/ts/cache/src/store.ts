/**
 * The cache: a least-recently-used map bounded in entries and in bytes,
 * whose entries expire, and Flights, which makes concurrent misses for one
 * key share a single fetch.
 */

/** What an entry costs beyond its key and value, so a flood of tiny values cannot grow the cache past its byte bound. */
export const entryOverhead = 128;

interface Entry {
  value: Buffer;
  expires: number;
  size: number;
}

/**
 * An expired entry is not served as fresh, but is kept until evicted or
 * replaced, so that a caller that allows it can serve it when the source is
 * unreachable. A Map keeps insertion order: re-inserting on every read makes
 * its first key the least recently used.
 */
export class Lru {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
    readonly now: () => number = Date.now,
  ) {}

  /** The value and whether it is still fresh; undefined when there is no entry. */
  get(key: string): { value: Buffer; fresh: boolean } | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return { value: entry.value, fresh: this.now() < entry.expires };
  }

  /**
   * Stores value until ttlMs has passed, evicting the least recently used
   * entries to stay within the bounds. A value too large to fit on its own, or
   * a TTL of 0, is not stored (and an older entry for the key is dropped, so
   * it is never served in its place).
   */
  put(key: string, value: Buffer, ttlMs: number): void {
    this.delete(key);
    const size = Buffer.byteLength(key) + value.length + entryOverhead;
    if (ttlMs <= 0 || this.maxEntries <= 0 || size > this.maxBytes) return;
    while (this.#entries.size >= this.maxEntries || this.#bytes + size > this.maxBytes) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    this.#entries.set(key, { value, expires: this.now() + ttlMs, size });
    this.#bytes += size;
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.size;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

/**
 * Concurrent calls for one key share a single run of fetch: a hundred
 * requests for a cold secret make one call to AWS, not a hundred. The run
 * does not depend on any caller: one that gives up stops waiting, the run
 * goes on for the others.
 */
export class Flights<T> {
  readonly #running = new Map<string, Promise<T>>();

  run(key: string, fetch: () => Promise<T>): { result: Promise<T>; shared: boolean } {
    const running = this.#running.get(key);
    if (running !== undefined) return { result: running, shared: true };
    const result = fetch().finally(() => this.#running.delete(key));
    this.#running.set(key, result);
    return { result, shared: false };
  }
}
