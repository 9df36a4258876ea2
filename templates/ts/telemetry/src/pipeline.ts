/**
 * The telemetry side of the extension: listener → bounded queue → shipper →
 * sink, plus the summary lines (one per invoke or timer round, never one
 * per record).
 */
import type { Config } from './config.js';
import { listenerPath, TelemetryListener, type ListenerCounts, type Resolve } from './listener.js';
import type { Logger } from './log.js';
import { BoundedQueue } from './queue.js';
import { Shipper, type ShipperOptions } from './shipper.js';
import { HttpSink, StdoutSink, type Sink } from './sinks.js';
import { managedInstancesSchemaVersion, schemaVersion, subscribe, subscriptionFor } from './telemetry-api.js';

/** How long SHUTDOWN waits, at least, for Lambda's last delivery, and how long the listener must then stay quiet. */
export const finalBatchMinWaitMs = 300;
export const finalBatchSlackMs = 200;
export const finalBatchQuietMs = 50;

/**
 * How long SHUTDOWN waits for Lambda's last delivery: the buffering timeout
 * plus a little (at least `finalBatchMinWaitMs`), but never more than half
 * the time left, so shipping keeps the other half.
 */
export function finalBatchWaitMs(bufferTimeoutMs: number, leftMs: number): number {
  return Math.max(0, Math.min(Math.max(bufferTimeoutMs + finalBatchSlackMs, finalBatchMinWaitMs), leftMs / 2));
}

export interface PipelineOptions {
  name: string;
  version: string;
  config: Config;
  log: Logger;
  /** host:port from AWS_LAMBDA_RUNTIME_API. */
  runtimeApi: string;
  identifier: string;
  /** Lambda Managed Instances accept only schema 2025-01-29. */
  managedInstances?: boolean;
  /** Replaces the sink chosen by `config.sink` (tests, or your own destination). */
  sink?: Sink;
  shipper?: ShipperOptions;
  /** How the listener resolves sandbox.localdomain (tests). */
  resolve?: Resolve;
}

interface Totals extends ListenerCounts {
  dropped: number;
  shipped: number;
  failedSends: number;
  discarded: number;
}

export function createSink({ name, version, config }: Pick<PipelineOptions, 'name' | 'version' | 'config'>): Sink {
  if (config.sink === 'http' && config.httpUrl !== undefined) {
    return new HttpSink({
      url: config.httpUrl,
      headers: config.httpHeaders,
      timeoutMs: config.httpTimeoutMs,
      userAgent: `${name}/${version}`,
    });
  }
  return new StdoutSink(name);
}

export class TelemetryPipeline {
  readonly queue: BoundedQueue;
  readonly listener: TelemetryListener;
  readonly shipper: Shipper;
  readonly sink: Sink;
  /** False when the Telemetry API answered 202: a local environment that delivers nothing. */
  delivering = false;
  port = 0;
  readonly #log: Logger;
  readonly #bufferTimeoutMs: number;
  #reported: Totals;
  #timer: NodeJS.Timeout | undefined;
  #timerStop: AbortController | undefined;
  #round: Promise<void> | undefined;

  private constructor(options: PipelineOptions) {
    this.#log = options.log;
    this.#bufferTimeoutMs = options.config.buffering.timeoutMs;
    this.sink = options.sink ?? createSink(options);
    this.queue = new BoundedQueue(options.config.queueMaxRecords, options.config.queueMaxBytes);
    this.listener = new TelemetryListener(this.queue, options.name);
    const batching = { minRecords: options.config.flushMinRecords, maxWaitMs: options.config.flushMaxWaitMs };
    this.shipper = new Shipper(this.queue, this.sink, { log: options.log, batching, ...options.shipper });
    this.#reported = this.#totals();
  }

  /**
   * Binds the listener, then subscribes: Lambda starts delivering as soon as
   * it has accepted the subscription, so the listener must already be up.
   */
  static async start(options: PipelineOptions): Promise<TelemetryPipeline> {
    const pipeline = new TelemetryPipeline(options);
    try {
      pipeline.port = await pipeline.listener.listen(options.config.port, options.resolve);
      const schema = options.managedInstances ? managedInstancesSchemaVersion : schemaVersion;
      const subscription = subscriptionFor(pipeline.port, listenerPath, options.config.buffering, schema);
      const { delivering } = await subscribe({ runtimeApi: options.runtimeApi, identifier: options.identifier, subscription });
      pipeline.delivering = delivering;
      options.log.info('subscribed to telemetry', {
        schemaVersion: subscription.schemaVersion,
        uri: subscription.destination.URI,
        listener: `${pipeline.listener.address ?? ''}:${pipeline.port}`,
        types: subscription.types,
        buffering: subscription.buffering,
        sink: pipeline.sink.kind,
      });
      if (!delivering) {
        options.log.warn('the Telemetry API answered 202: this is a local test environment that accepts the subscription but delivers nothing');
      }
      return pipeline;
    } catch (error) {
      await pipeline.close();
      throw error;
    }
  }

  /** Ships what is queued, within the deadline. */
  flush(deadline: number, signal?: AbortSignal, final = false): Promise<boolean> {
    return this.shipper.flush({ deadline, final, ...(signal ? { signal } : {}) });
  }

  /**
   * Ships every `intervalMs`, in one round as an invoke does, for the
   * periodic strategy (and adaptive's busy phase, src/flush.ts); each round
   * may take `roundMs`.
   */
  startTimer(intervalMs: number, roundMs: number): void {
    const stop = new AbortController();
    this.#timerStop = stop;
    const tick = (): void => {
      this.#round = this.flush(Date.now() + roundMs, stop.signal).then(
        () => {
          if (!stop.signal.aborted) this.summarize();
        },
        () => undefined,
      );
      void this.#round.then(() => {
        if (!stop.signal.aborted) this.#timer = setTimeout(tick, intervalMs);
      });
    };
    this.#timer = setTimeout(tick, intervalMs);
  }

  /** Stops the timer, cutting a round in progress short, so that the final flush never runs beside it. */
  async stopTimer(): Promise<void> {
    this.#timerStop?.abort();
    clearTimeout(this.#timer);
    await this.#round;
  }

  /**
   * Gives Lambda a moment to deliver the last batch, which it sends during
   * Shutdown. Returns once a delivery has come and the listener has been
   * quiet for a while, after `finalBatchWaitMs` (from the buffering timeout), or at the deadline.
   */
  async awaitFinalBatch(deadline: number): Promise<void> {
    if (!this.delivering) return;
    const now = Date.now();
    const waitUntil = Math.min(deadline, now + finalBatchWaitMs(this.#bufferTimeoutMs, deadline - now));
    if (!(await this.listener.nextArrival(waitUntil - Date.now()))) return;
    while (Date.now() < waitUntil) {
      if (!(await this.listener.nextArrival(Math.min(finalBatchQuietMs, waitUntil - Date.now())))) return;
    }
  }

  /**
   * One line per invoke (or timer round, without `requestId`): a warning
   * when records were dropped, sends failed or batches were refused since the
   * last line, a debug line otherwise.
   */
  summarize(requestId?: string): void {
    const now = this.#totals();
    const since = {
      received: now.received - this.#reported.received,
      rejected: now.rejected - this.#reported.rejected,
      dropped: now.dropped - this.#reported.dropped,
      shipped: now.shipped - this.#reported.shipped,
      failedSends: now.failedSends - this.#reported.failedSends,
      discarded: now.discarded - this.#reported.discarded,
      droppedByLambda: now.droppedByLambda - this.#reported.droppedByLambda,
    };
    this.#reported = now;
    const fields: Record<string, unknown> = {
      ...(requestId === undefined ? {} : { requestId }),
      received: since.received,
      shipped: since.shipped,
      queued: this.queue.length,
      queuedBytes: this.queue.bytes,
    };
    if (since.dropped > 0 || since.failedSends > 0 || since.discarded > 0 || since.rejected > 0 || since.droppedByLambda > 0) {
      Object.assign(fields, {
        dropped: since.dropped,
        failedSends: since.failedSends,
        discarded: since.discarded,
        rejectedBatches: since.rejected,
        droppedByLambda: since.droppedByLambda,
        droppedTotal: now.dropped,
        failedSendsTotal: now.failedSends,
      });
      if (since.failedSends > 0) fields['lastError'] = this.shipper.counts.lastError;
      this.#log.warn('telemetry', fields);
    } else {
      this.#log.debug('telemetry', fields);
    }
  }

  /** The totals, once, at the end; records still queued then are lost. */
  finalReport(): void {
    const now = this.#totals();
    const lost = this.queue.length;
    const fields: Record<string, unknown> = {
      received: now.received,
      shipped: now.shipped,
      dropped: now.dropped,
      droppedByLambda: now.droppedByLambda,
      discarded: now.discarded,
      lost,
      failedSends: now.failedSends,
      rejectedBatches: now.rejected,
      ownLinesSkipped: now.ownLines,
    };
    if (now.failedSends > 0) fields['lastError'] = this.shipper.counts.lastError;
    if (now.dropped > 0 || now.discarded > 0 || lost > 0 || now.droppedByLambda > 0) this.#log.warn('telemetry totals', fields);
    else this.#log.info('telemetry totals', fields);
  }

  async close(): Promise<void> {
    await this.stopTimer();
    this.sink.close?.();
    await this.listener.close();
  }

  #totals(): Totals {
    const { shipped, failedSends, discarded } = this.shipper.counts;
    return { ...this.listener.counts, dropped: this.queue.dropped.records, shipped, failedSends, discarded };
  }
}
