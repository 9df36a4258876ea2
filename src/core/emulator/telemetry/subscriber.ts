import http from 'node:http';
import type { TelemetrySubscriptionReport } from '../types.js';
import { categoryOf, type TelemetryEnvelope, type TelemetryRequest } from './subscription-request.js';

/**
 * Telemetry API subscriptions and their delivery, per docs/reference/extensions-api.md §6. Each
 * subscriber has its own queue; batches are POSTed as a JSON array of
 * `{time, type, record}`, one request in flight at a time so order holds.
 */

export interface Queued {
  envelope: TelemetryEnvelope;
  bytes: number;
}

const initialBackoffMs = 50;
const maximumBackoffMs = 1000;
const postTimeoutMs = 5000;

export class TelemetrySubscriber {
  readonly extension: string;
  readonly request: TelemetryRequest;
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private backoffMs = initialBackoffMs;
  private closed = false;
  /** While the environment is frozen nothing is sent: the listener could not answer. */
  private paused = false;
  private pendingDrop: { records: number; bytes: number } | undefined;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private activeRequest: http.ClientRequest | undefined;
  private retryWait: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  readonly stats = { deliveredBatches: 0, deliveredRecords: 0, failedAttempts: 0, droppedRecords: 0 };

  constructor(
    extension: string,
    request: TelemetryRequest,
    private readonly bufferLimitBytes: number,
    private readonly onDeliveryProblem: (message: string) => void,
  ) {
    this.extension = extension;
    this.request = request;
  }

  accepts(type: string): boolean {
    return this.request.types.includes(categoryOf(type));
  }

  push(envelope: TelemetryEnvelope, bytes = Buffer.byteLength(JSON.stringify(envelope)) + 1): void {
    if (this.closed) return;
    if (this.queuedBytes + bytes > this.bufferLimitBytes) {
      // Lambda drops what the consumer cannot keep up with and says so with platform.logsDropped.
      this.pendingDrop ??= { records: 0, bytes: 0 };
      this.pendingDrop.records += 1;
      this.pendingDrop.bytes += bytes;
      this.stats.droppedRecords += 1;
      return;
    }
    if (this.pendingDrop !== undefined) {
      const dropped = this.pendingDrop;
      this.pendingDrop = undefined;
      this.enqueue({
        time: new Date().toISOString(),
        type: 'platform.logsDropped',
        record: {
          droppedBytes: dropped.bytes,
          droppedRecords: dropped.records,
          reason: 'Some logs were dropped because the telemetry listener did not keep up (buffer full)',
        },
      });
    }
    this.enqueue(envelope, bytes);
  }

  private enqueue(envelope: TelemetryEnvelope, bytes = Buffer.byteLength(JSON.stringify(envelope)) + 1): void {
    this.queue.push({ envelope, bytes });
    this.queuedBytes += bytes;
    this.schedule();
  }

  get pendingRecords(): number {
    return this.queue.length;
  }

  private batchIsFull(): boolean {
    return this.queue.length >= this.request.buffering.maxItems || this.queuedBytes >= this.request.buffering.maxBytes;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    // A batch whose timeoutMs ran out during the freeze (no timer left) goes now, as Lambda's would at the thaw.
    if (this.timer === undefined) this.sendNow();
    else this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.paused || this.inFlight !== undefined || this.queue.length === 0) return;
    if (this.batchIsFull()) {
      this.sendNow();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.sendNow();
      }, this.request.buffering.timeoutMs);
    }
  }

  private sendNow(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.closed || this.paused || this.inFlight !== undefined || this.queue.length === 0) return;
    const batch = this.takeBatch();
    this.inFlight = this.deliver(batch).finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
  }

  /** Up to maxItems records and maxBytes bytes (always at least one record). */
  private takeBatch(): Queued[] {
    const { maxItems, maxBytes } = this.request.buffering;
    let count = 0;
    let bytes = 2;
    while (count < this.queue.length && count < maxItems) {
      const next = this.queue[count]!;
      if (count > 0 && bytes + next.bytes > maxBytes) break;
      bytes += next.bytes;
      count += 1;
    }
    return this.queue.slice(0, count);
  }

  private async deliver(batch: Queued[]): Promise<void> {
    const body = `[${batch.map((item) => JSON.stringify(item.envelope)).join(',')}]`;
    for (;;) {
      if (this.closed) return;
      const problem = await this.post(body);
      if (problem === undefined) {
        this.queue.splice(0, batch.length);
        this.queuedBytes -= batch.reduce((sum, item) => sum + item.bytes, 0);
        this.stats.deliveredBatches += 1;
        this.stats.deliveredRecords += batch.length;
        this.backoffMs = initialBackoffMs;
        return;
      }
      this.stats.failedAttempts += 1;
      if (this.stats.failedAttempts === 1 || this.stats.failedAttempts % 20 === 0) {
        this.onDeliveryProblem(`${problem}; retrying with backoff`);
      }
      await new Promise<void>((resolve) => {
        this.retryWait = { timer: setTimeout(resolve, this.backoffMs), resolve };
      });
      this.retryWait = undefined;
      this.backoffMs = Math.min(this.backoffMs * 2, maximumBackoffMs);
    }
  }

  private post(body: string): Promise<string | undefined> {
    const { host, port, path } = this.request.target;
    return new Promise((resolve) => {
      const request = http.request(
        {
          host,
          port,
          path,
          method: 'POST',
          agent: this.agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
          timeout: postTimeoutMs,
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            resolve(
              status >= 200 && status < 300 ? undefined : `telemetry listener ${this.request.uri} answered ${status}`,
            );
          });
          response.on('error', (error) => resolve(`telemetry listener ${this.request.uri}: ${error.message}`));
        },
      );
      this.activeRequest = request;
      request.on('timeout', () => request.destroy(new Error(`no answer within ${postTimeoutMs} ms`)));
      request.on('error', (error: NodeJS.ErrnoException) =>
        resolve(`telemetry listener ${this.request.uri} unreachable (${error.code ?? error.message})`),
      );
      request.end(body);
    });
  }

  /**
   * Sends everything queued now, ignoring timeoutMs (Lambda delivers the last
   * batch during Shutdown). Resolves when the queue is empty or at the deadline.
   */
  async flush(deadline: number): Promise<boolean> {
    while (!this.closed && (this.queue.length > 0 || this.inFlight !== undefined)) {
      if (Date.now() >= deadline) return false;
      if (this.inFlight === undefined) this.sendNow();
      const current = this.inFlight;
      if (current === undefined) break;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        current,
        new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
    }
    return this.queue.length === 0;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.activeRequest?.destroy();
    if (this.retryWait !== undefined) {
      clearTimeout(this.retryWait.timer);
      this.retryWait.resolve();
    }
    this.agent.destroy();
  }

  report(): TelemetrySubscriptionReport {
    return {
      extension: this.extension,
      api: 'telemetry',
      schemaVersion: this.request.schemaVersion,
      types: [...this.request.types],
      buffering: { ...this.request.buffering },
      destination: this.request.uri,
      ...this.stats,
      pendingRecords: this.queue.length,
    };
  }
}
