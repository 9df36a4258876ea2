/**
 * Moves records from the queue to the sink, in batches, retrying failed
 * sends with backoff but never past the deadline it is given (the invoke's or
 * the shutdown's, minus a margin). A batch that cannot be sent in time goes
 * back to the queue, which keeps it unless it overflows.
 */
import type { BoundedQueue, QueuedRecord } from './queue.js';
import { PermanentError, type Sink } from './sinks.js';

export interface RetryPolicy {
  /** Most sends per batch in one flush, the first included. */
  attempts: number;
  /** Wait before the first retry; each later wait doubles up to `maxBackoffMs`. Waits are jittered by up to half. */
  firstBackoffMs: number;
  maxBackoffMs: number;
}

/** Four retries within about a second and a half, when the deadline allows it. */
export const defaultRetry: RetryPolicy = { attempts: 5, firstBackoffMs: 100, maxBackoffMs: 1000 };

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
  /** The latest send failure. */
  lastError: string | undefined;
}

export interface FlushOptions {
  /** Epoch ms; no send or wait goes past it. */
  deadline: number;
  /** Aborts the flush early (e.g. the event's own deadline signal). */
  signal?: AbortSignal;
  /** The last flush before exit: every retry the deadline allows, even while the destination is failing. */
  final?: boolean;
}

export interface ShipperOptions {
  retry?: RetryPolicy;
  /** Waits `ms` or until `signal` aborts; tests replace it. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

export class Shipper {
  readonly counts: ShipperCounts = { shipped: 0, batches: 0, failedSends: 0, discarded: 0, lastError: undefined };
  readonly #queue: BoundedQueue;
  readonly #sink: Sink;
  readonly #retry: RetryPolicy;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  // Set while the destination is down: a flush then tries each batch once, so
  // a dead destination does not hold every invoke for the whole backoff schedule.
  #failing = false;
  // Flushes never overlap: one cut off at its deadline may still be settling.
  #running: Promise<unknown> = Promise.resolve();

  constructor(queue: BoundedQueue, sink: Sink, options: ShipperOptions = {}) {
    this.#queue = queue;
    this.#sink = sink;
    this.#retry = options.retry ?? defaultRetry;
    this.#sleep = options.sleep ?? sleep;
    this.#random = options.random ?? Math.random;
  }

  get failing(): boolean {
    return this.#failing;
  }

  /**
   * Sends queued batches until the queue is empty, a batch cannot be
   * delivered, or the deadline comes. Resolves to true when the queue was
   * emptied. Never rejects: failures are counted.
   */
  flush(options: FlushOptions): Promise<boolean> {
    const run = this.#running.then(() => this.#flush(options));
    this.#running = run.catch(() => undefined);
    return run;
  }

  async #flush({ deadline, signal, final = false }: FlushOptions): Promise<boolean> {
    const remaining = deadline - Date.now();
    if (remaining <= 0 || signal?.aborted) return this.#queue.length === 0;
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(new Error('deadline reached')), remaining);
    const limit = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    try {
      for (;;) {
        if (limit.aborted) return false;
        const batch = this.#queue.take(batchRecords, batchBytes);
        if (batch.length === 0) return true;
        const attempts = this.#failing && !final ? 1 : Math.max(1, this.#retry.attempts);
        const outcome = await this.#send(batch, attempts, deadline, limit);
        if (outcome === 'sent') {
          this.#failing = false;
          this.counts.shipped += batch.length;
          this.counts.batches += 1;
        } else if (outcome === 'refused') {
          this.counts.discarded += batch.length;
        } else {
          this.#failing = true;
          this.#queue.requeue(batch);
          return false;
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async #send(batch: QueuedRecord[], attempts: number, deadline: number, signal: AbortSignal): Promise<'sent' | 'refused' | 'failed'> {
    let backoff = this.#retry.firstBackoffMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#sink.send(batch, signal);
        return 'sent';
      } catch (error) {
        this.counts.failedSends += 1;
        this.counts.lastError = error instanceof Error ? error.message : String(error);
        if (error instanceof PermanentError) return 'refused';
        if (attempt >= attempts || signal.aborted) return 'failed';
      }
      // Jitter spreads the retries of many execution environments: half the backoff plus up to half again.
      const wait = backoff / 2 + this.#random() * (backoff / 2);
      // Never start a wait that would end past the deadline.
      if (Date.now() + wait >= deadline) return 'failed';
      try {
        await this.#sleep(wait, signal);
      } catch {
        return 'failed';
      }
      backoff = Math.min(backoff * 2, this.#retry.maxBackoffMs);
    }
  }
}

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
