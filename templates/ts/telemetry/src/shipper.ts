/**
 * Moves records from the queue to the sink, in batches, never past the
 * deadline it is given (the invoke's or the shutdown's, minus a margin).
 *
 * An invoke lasts until the extension calls next, so time spent here can be
 * billed. A per-invoke flush therefore makes one attempt per batch, and after
 * a failed send a circuit breaker stops contacting the destination for a
 * cool-down (1 s, doubling up to 30 s, reset by a success): while it is open,
 * flushes return at once and records wait in the bounded queue. Retries with
 * backoff happen only in the final flush (SHUTDOWN, or a signal), the last
 * chance to ship. A batch that cannot be sent goes back to the queue, which
 * keeps it unless it overflows, and goes out again as the same batch with the
 * same id (the sink's idempotency key) while it is still first in the queue.
 * A destination's Retry-After (429, 503) is the least pause.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from './log.js';
import type { BoundedQueue, QueuedRecord } from './queue.js';
import { PermanentError, RetryLaterError, TooLargeError, type Sink } from './sinks.js';

export interface RetryPolicy {
  /** Most sends per batch in the final flush, the first included. */
  attempts: number;
  /** Wait before the first retry; each later wait doubles up to `maxBackoffMs`. Waits are jittered by up to half. */
  firstBackoffMs: number;
  maxBackoffMs: number;
}

/** Four retries within about a second and a half, when the deadline allows it. */
export const defaultRetry: RetryPolicy = { attempts: 5, firstBackoffMs: 100, maxBackoffMs: 1000 };

export interface BreakerPolicy {
  /** Pause after the first failed send; each failed probe after a pause doubles it, up to `maxCooldownMs`. */
  firstCooldownMs: number;
  maxCooldownMs: number;
}

export const defaultBreaker: BreakerPolicy = { firstCooldownMs: 1000, maxCooldownMs: 30_000 };

/** Batch limits keep each request, and the memory to encode it, small. A single larger record still goes, alone. */
export const batchRecords = 1000;
export const batchBytes = 1024 * 1024;

export interface ShipperCounts {
  /** Records the sink accepted. */
  shipped: number;
  batches: number;
  /** Sends that failed, retried or not. */
  failedSends: number;
  /** Records in batches refused for good (PermanentError). */
  discarded: number;
  /** Per-invoke flushes that did not contact the destination because sends were paused. */
  pausedFlushes: number;
  /** The latest send failure. */
  lastError: string | undefined;
}

export interface FlushOptions {
  /** Epoch ms; no send or wait goes past it, so it also bounds each request. */
  deadline: number;
  /** Aborts the flush early (e.g. the event's own deadline signal). */
  signal?: AbortSignal;
  /** The last flush before exit: sends even while paused, with every retry the deadline allows. */
  final?: boolean;
}

/** When a per-invoke flush is worth a request: at least `minRecords` queued, or `maxWaitMs` since the last one. */
export interface BatchingPolicy {
  minRecords: number;
  maxWaitMs: number;
}

/** Send at every invoke that has records. */
export const defaultBatching: BatchingPolicy = { minRecords: 1, maxWaitMs: 10_000 };

export interface ShipperOptions {
  retry?: RetryPolicy;
  batching?: BatchingPolicy;
  breaker?: BreakerPolicy;
  /** Where the breaker's state changes are logged (once per change, never per record). */
  log?: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** Waits `ms` or until `signal` aborts; tests replace it. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** Makes batch ids; tests replace it. */
  newBatchId?: () => string;
}

/** Records not sent after a failure worth a pause; the first `length` of them were one batch, sent as `id`. */
interface Unsent {
  records: QueuedRecord[];
  id: string;
  length: number;
}

/** A batch sent and not confirmed, kept to be sent again under the same id. */
interface PendingBatch {
  id: string;
  first: QueuedRecord;
  length: number;
}

export class Shipper {
  readonly counts: ShipperCounts = { shipped: 0, batches: 0, failedSends: 0, discarded: 0, pausedFlushes: 0, lastError: undefined };
  readonly #queue: BoundedQueue;
  readonly #sink: Sink;
  readonly #retry: RetryPolicy;
  readonly #breaker: BreakerPolicy;
  readonly #batching: BatchingPolicy;
  #lastRound: number;
  readonly #log: Pick<Logger, 'warn' | 'info' | 'debug'> | undefined;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #newBatchId: () => string;
  #pending: PendingBatch | undefined;
  // The least pause the destination asked for with its last failure (Retry-After).
  #retryAfterMs = 0;
  // The breaker: set after a failed send; no per-invoke flush contacts the
  // destination before #pausedUntil. #cooldownMs is the next pause's length.
  #failing = false;
  #failingSince = 0;
  #pausedUntil = 0;
  #cooldownMs: number;
  // Flushes never overlap: one cut off at its deadline may still be settling.
  #running: Promise<unknown> = Promise.resolve();

  constructor(queue: BoundedQueue, sink: Sink, options: ShipperOptions = {}) {
    this.#queue = queue;
    this.#sink = sink;
    this.#retry = options.retry ?? defaultRetry;
    this.#breaker = options.breaker ?? defaultBreaker;
    this.#log = options.log;
    this.#sleep = options.sleep ?? sleep;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#newBatchId = options.newBatchId ?? randomUUID;
    this.#cooldownMs = this.#breaker.firstCooldownMs;
    this.#batching = options.batching ?? defaultBatching;
    this.#lastRound = this.#now();
  }

  /** True from a failed send until the next successful one. */
  get failing(): boolean {
    return this.#failing;
  }

  /** True while per-invoke flushes leave the destination alone. */
  get paused(): boolean {
    return this.#failing && this.#now() < this.#pausedUntil;
  }

  /**
   * A per-invoke flush makes one round: what was queued when it started, in
   * as few batches as the batch limits allow (one request for a usual
   * invoke's logs), one attempt each, none while sends are paused, and none
   * while fewer than `batching.minRecords` are queued and
   * `batching.maxWaitMs` has not passed. Records arriving meanwhile wait for
   * the next invoke, so a round never chases its own tail, and a log-heavy
   * function's backlog still leaves at every invoke instead of piling up
   * until the queue drops it. A final flush sends batches until the queue is empty, with
   * every retry the deadline allows. Resolves to true when the queue was
   * emptied. Never rejects: failures are counted.
   */
  flush(options: FlushOptions): Promise<boolean> {
    const run = this.#running.then(() => this.#flush(options));
    this.#running = run.catch(() => undefined);
    return run;
  }

  async #flush({ deadline, signal, final = false }: FlushOptions): Promise<boolean> {
    if (this.#queue.length === 0) return true;
    if (!final && this.paused) {
      this.counts.pausedFlushes += 1;
      return false;
    }
    if (!final && this.#queue.length < this.#batching.minRecords && this.#now() - this.#lastRound < this.#batching.maxWaitMs) {
      return false;
    }
    const remaining = deadline - this.#now();
    if (remaining <= 0 || signal?.aborted) return false;
    // Aborting at the deadline caps every request at the time left, below the sink's own timeout when that is longer.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(new Error('stopped at the deadline')), Math.min(remaining, maxTimerMs));
    // A listener removed in `finally`, not AbortSignal.any: a long-lived signal (the timer's) must hold nothing per round.
    const cut = (): void => stop.abort(signal?.reason);
    signal?.addEventListener('abort', cut, { once: true });
    const limit = stop.signal;
    let round = final ? Number.POSITIVE_INFINITY : this.#queue.length;
    try {
      for (;;) {
        if (limit.aborted) return false;
        if (round <= 0) return this.#queue.length === 0;
        const { batch, id } = this.#take(round);
        if (batch.length === 0) return true;
        round -= batch.length;
        this.#lastRound = this.#now();
        const attempts = final ? Math.max(1, this.#retry.attempts) : 1;
        const unsent = await this.#deliver(batch, id, attempts, deadline, limit);
        if (unsent.records.length > 0) {
          this.#queue.requeue(unsent.records);
          this.#pending = { id: unsent.id, first: unsent.records[0]!, length: unsent.length };
          this.#pause();
          return false;
        }
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cut);
    }
  }

  /** The next batch: the one that failed last, whole and under its id, while it is still first in the queue. */
  #take(round: number): { batch: QueuedRecord[]; id: string } {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined && this.#queue.peek() === pending.first) {
      const batch = this.#queue.take(pending.length, Number.POSITIVE_INFINITY);
      if (batch.length === pending.length) return { batch, id: pending.id };
      this.#queue.requeue(batch);
    }
    return { batch: this.#queue.take(Math.min(batchRecords, round), batchBytes), id: this.#newBatchId() };
  }

  /**
   * Sends `batch` as `id`; resolves to the records not sent after a failure
   * worth a pause (none otherwise). A batch refused for its size is halved and each
   * half sent; a single record still refused is discarded and counted.
   */
  async #deliver(batch: QueuedRecord[], id: string, attempts: number, deadline: number, signal: AbortSignal): Promise<Unsent> {
    const outcome = await this.#send(batch, id, attempts, deadline, signal);
    if (outcome === 'sent') {
      this.#recovered();
      this.counts.shipped += batch.length;
      this.counts.batches += 1;
      return { records: [], id, length: 0 };
    }
    if (outcome === 'too large' && batch.length > 1) {
      this.#recovered();
      const half = Math.ceil(batch.length / 2);
      const first = await this.#deliver(batch.slice(0, half), this.#newBatchId(), attempts, deadline, signal);
      // The first half failed: it goes out again under its own id, the second half behind it.
      if (first.records.length > 0) return { ...first, records: [...first.records, ...batch.slice(half)] };
      return this.#deliver(batch.slice(half), this.#newBatchId(), attempts, deadline, signal);
    }
    if (outcome === 'refused' || outcome === 'too large') {
      // The destination answered: it is up, it refused these records only.
      this.#recovered();
      this.counts.discarded += batch.length;
      return { records: [], id, length: 0 };
    }
    return { records: batch, id, length: batch.length };
  }

  async #send(batch: QueuedRecord[], id: string, attempts: number, deadline: number, signal: AbortSignal): Promise<'sent' | 'refused' | 'too large' | 'failed'> {
    let backoff = this.#retry.firstBackoffMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#sink.send(batch, signal, id);
        return 'sent';
      } catch (error) {
        this.counts.failedSends += 1;
        this.counts.lastError = error instanceof Error ? error.message : String(error);
        this.#retryAfterMs = error instanceof RetryLaterError ? error.retryAfterMs : 0;
        if (error instanceof PermanentError) return 'refused';
        if (error instanceof TooLargeError) return 'too large';
        if (attempt >= attempts || signal.aborted) return 'failed';
      }
      // Jitter spreads the retries of many execution environments: half the backoff plus up to half again.
      const wait = backoff / 2 + this.#random() * (backoff / 2);
      // Never start a wait that would end past the deadline.
      if (this.#now() + wait >= deadline) return 'failed';
      try {
        await this.#sleep(wait, signal);
      } catch {
        return 'failed';
      }
      backoff = Math.min(backoff * 2, this.#retry.maxBackoffMs);
    }
  }

  /** Opens the breaker for the current cool-down and doubles the next one. */
  #pause(): void {
    const pauseMs = Math.max(this.#cooldownMs, this.#retryAfterMs);
    this.#pausedUntil = this.#now() + pauseMs;
    this.#cooldownMs = Math.min(pauseMs * 2, this.#breaker.maxCooldownMs);
    const fields = { pauseMs, lastError: this.counts.lastError };
    // Warn once when the destination goes down; the longer pauses after failed probes are detail.
    if (this.#failing) {
      this.#log?.debug(`destination still failing, pausing sends for ${pauseMs / 1000} s`, fields);
    } else {
      this.#failing = true;
      this.#failingSince = this.#now();
      this.#log?.warn(`destination failing, pausing sends for ${pauseMs / 1000} s`, fields);
    }
  }

  #recovered(): void {
    this.#cooldownMs = this.#breaker.firstCooldownMs;
    this.#pausedUntil = 0;
    if (!this.#failing) return;
    this.#failing = false;
    this.#log?.info('destination back', { failingForMs: this.#now() - this.#failingSince });
  }
}

/** setTimeout's limit (about 24.8 days); a longer delay would fire at once. */
const maxTimerMs = 2 ** 31 - 1;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    const aborted = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', aborted, { once: true });
  });
}
