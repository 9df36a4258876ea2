import http from 'node:http';
import { isLoopbackHost } from './loopback.js';
import type { TelemetrySubscriptionReport } from './types.js';

/**
 * Telemetry API subscriptions and their delivery, per docs/reference/extensions-api.md §6. Each
 * subscriber has its own queue; batches are POSTed as a JSON array of
 * `{time, type, record}`, one request in flight at a time so order holds.
 */

export const telemetrySchemaVersions = ['2022-07-01', '2022-12-13', '2025-01-29'] as const;
export const telemetryTypes = ['platform', 'function', 'extension'] as const;
export type TelemetryType = (typeof telemetryTypes)[number];

export interface Buffering {
  maxItems: number;
  maxBytes: number;
  timeoutMs: number;
}

/** docs/reference/extensions-api.md §6.2: the consistent defaults and ranges. */
const bufferingLimits: Record<keyof Buffering, { min: number; max: number; fallback: number }> = {
  maxItems: { min: 1000, max: 10000, fallback: 10000 },
  maxBytes: { min: 262144, max: 1048576, fallback: 262144 },
  timeoutMs: { min: 25, max: 30000, fallback: 1000 },
};

export interface TelemetryRequest {
  schemaVersion: string;
  types: TelemetryType[];
  buffering: Buffering;
  /** The URI as given. */
  uri: string;
  /** Where we really connect: `sandbox`/`sandbox.localdomain` mapped to loopback. */
  target: { host: string; port: number; path: string };
}

/**
 * Validates a subscription body. Returns the parsed request or the list of
 * problems joined the way Lambda joins them ("…; …").
 */
export function parseTelemetryRequest(
  body: string,
  reservedPorts: number[],
): { ok: true; request: TelemetryRequest } | { ok: false; message: string } {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch {
    return { ok: false, message: 'request body is not valid JSON' };
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, message: 'request body must be a JSON object' };
  }
  const value = input as Record<string, unknown>;
  const problems: string[] = [];

  const schemaVersion = value['schemaVersion'];
  if (typeof schemaVersion !== 'string' || !(telemetrySchemaVersions as readonly string[]).includes(schemaVersion)) {
    problems.push(`schemaVersion must be one of ${telemetrySchemaVersions.join(', ')}`);
  }

  const types = value['types'];
  if (!Array.isArray(types) || types.length === 0) {
    problems.push('types should not be empty');
  } else {
    for (const type of types) {
      if (typeof type !== 'string' || !(telemetryTypes as readonly string[]).includes(type)) {
        problems.push(`types: "${String(type)}" is not one of ${telemetryTypes.join(', ')}`);
      }
    }
  }

  const buffering: Buffering = {
    maxItems: bufferingLimits.maxItems.fallback,
    maxBytes: bufferingLimits.maxBytes.fallback,
    timeoutMs: bufferingLimits.timeoutMs.fallback,
  };
  const bufferingInput = value['buffering'];
  if (bufferingInput !== undefined && bufferingInput !== null) {
    if (typeof bufferingInput !== 'object' || Array.isArray(bufferingInput)) {
      problems.push('buffering must be an object');
    } else {
      for (const key of Object.keys(bufferingLimits) as (keyof Buffering)[]) {
        const given = (bufferingInput as Record<string, unknown>)[key];
        if (given === undefined) continue;
        const { min, max } = bufferingLimits[key];
        if (typeof given !== 'number' || !Number.isInteger(given) || given < min || given > max) {
          problems.push(`buffering.${key} must be an integer between ${min} and ${max}`);
        } else {
          buffering[key] = given;
        }
      }
    }
  }

  let target: TelemetryRequest['target'] | undefined;
  let uri = '';
  const destination = value['destination'];
  if (typeof destination !== 'object' || destination === null) {
    problems.push('destination is required');
  } else {
    const protocol = (destination as Record<string, unknown>)['protocol'];
    const givenUri = (destination as Record<string, unknown>)['URI'];
    if (protocol === 'TCP') {
      problems.push('destination protocol TCP is not supported by this emulator; use HTTP');
    } else if (protocol !== 'HTTP') {
      problems.push('destination protocol must be HTTP');
    } else if (typeof givenUri !== 'string') {
      problems.push('destination URI is required');
    } else {
      uri = givenUri;
      let parsed: URL | undefined;
      try {
        parsed = new URL(givenUri);
      } catch {
        problems.push(`destination URI "${givenUri}" is not a valid URI`);
      }
      if (parsed !== undefined) {
        if (parsed.protocol !== 'http:') problems.push('destination URI must use http://');
        if (parsed.port === '') problems.push('URI port is not provided');
        const port = Number(parsed.port);
        if (port === 9001 || reservedPorts.includes(port)) {
          problems.push(`URI port ${port} is reserved by Lambda`);
        }
        if (!isLoopbackHost(parsed.hostname)) {
          problems.push(
            `destination host "${parsed.hostname}" is outside the execution environment; use sandbox.localdomain`,
          );
        }
        target = { host: '127.0.0.1', port, path: `${parsed.pathname}${parsed.search}` || '/' };
      }
    }
  }

  if (problems.length > 0 || target === undefined) {
    return { ok: false, message: problems.join('; ') || 'invalid subscription' };
  }
  return {
    ok: true,
    request: { schemaVersion: schemaVersion as string, types: types as TelemetryType[], buffering, uri, target },
  };
}

export interface TelemetryEnvelope {
  time: string;
  type: string;
  record: unknown;
}

/** Which subscription type a record belongs to. */
export function categoryOf(type: string): TelemetryType {
  if (type === 'function') return 'function';
  if (type === 'extension') return 'extension';
  return 'platform';
}

interface Queued {
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

/**
 * Fans records out to subscribers. Lambda delivers the Init phase's events
 * to extensions that subscribe during that phase (they subscribe after
 * platform.initStart has happened), so the hub keeps the environment's
 * history and replays it to each new subscriber. Subscriptions close with
 * Init, and so does the history (`endHistory`). Until then it holds at
 * most `historyLimitBytes`, the size of one subscriber's buffer: a replay
 * beyond that would be dropped by the subscriber anyway, and an extension
 * printing during Init would otherwise hold ext dev's memory.
 */
export class TelemetryHub {
  readonly subscribers: TelemetrySubscriber[] = [];
  private history: Queued[] | undefined = [];
  private historyBytes = 0;
  private historyFull = false;

  constructor(private readonly historyLimitBytes: number) {}

  publish(type: string, record: unknown, time = new Date()): void {
    const envelope: TelemetryEnvelope = { time: time.toISOString(), type, record };
    const keep = this.history !== undefined && !this.historyFull;
    const subscribers = this.subscribers.filter((subscriber) => subscriber.accepts(type));
    // Sized only when someone keeps it: a line nobody keeps costs no serialisation.
    if (!keep && subscribers.length === 0) return;
    const bytes = Buffer.byteLength(JSON.stringify(envelope)) + 1;
    if (keep) {
      if (this.historyBytes + bytes <= this.historyLimitBytes) {
        this.history!.push({ envelope, bytes });
        this.historyBytes += bytes;
      } else {
        // Full: the replay is the first records of the environment, as far as they fit.
        this.historyFull = true;
      }
    }
    for (const subscriber of subscribers) subscriber.push(envelope, bytes);
  }

  /** The environment is frozen: deliveries wait until `resume`. */
  pause(): void {
    for (const subscriber of this.subscribers) subscriber.pause();
  }

  resume(): void {
    for (const subscriber of this.subscribers) subscriber.resume();
  }

  /** No subscriber can come any more (Init has ended): the history is of no use. */
  endHistory(): void {
    this.history = undefined;
    this.historyBytes = 0;
  }

  /** A new subscriber replaces an earlier one of the same extension. */
  subscribe(subscriber: TelemetrySubscriber): void {
    const earlier = this.subscribers.findIndex((existing) => existing.extension === subscriber.extension);
    if (earlier >= 0) {
      this.subscribers[earlier]!.close();
      this.subscribers.splice(earlier, 1);
    }
    for (const { envelope, bytes } of this.history ?? []) {
      if (subscriber.accepts(envelope.type)) subscriber.push(envelope, bytes);
    }
    this.subscribers.push(subscriber);
  }

  /** A new execution environment (after a reset) starts with a clean history. */
  resetHistory(): void {
    this.history = [];
    this.historyBytes = 0;
    this.historyFull = false;
  }

  /** Resolves true when every subscriber has delivered everything, false at the deadline. */
  async flush(deadline: number): Promise<boolean> {
    const results = await Promise.all(this.subscribers.map((subscriber) => subscriber.flush(deadline)));
    return results.every(Boolean);
  }

  close(): void {
    for (const subscriber of this.subscribers) subscriber.close();
  }
}
