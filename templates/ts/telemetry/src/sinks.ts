/**
 * Where records go. A sink sends one batch per call; the Shipper
 * (src/shipper.ts) decides about retries, deadlines and counting. To ship
 * somewhere else, implement `Sink` and choose it in `createSink`.
 */
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { QueuedRecord } from './queue.js';

const gzip = promisify(gzipCallback);

export interface Sink {
  /** For log lines, e.g. `stdout` or `http`. */
  readonly kind: string;
  /**
   * Sends one batch. Must settle soon after `signal` aborts (the invoke's
   * deadline). Throw a `PermanentError` for failures a retry cannot fix;
   * anything else is retried.
   */
  send(batch: readonly QueuedRecord[], signal: AbortSignal, batchId: string): Promise<void>;
  close?(): void;
}

/**
 * The destination asked to be left alone for a while (429 or 503 with
 * Retry-After): the shipper pauses at least `retryAfterMs`.
 */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

/** A Retry-After longer than this is taken as this: a misconfigured destination must not silence the extension for hours. */
export const maxRetryAfterMs = 5 * 60_000;

/** Reads Retry-After (seconds, or an HTTP date) as milliseconds from `now`, capped at `maxRetryAfterMs`; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  const text = value?.trim();
  if (text === undefined || text === '') return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, ms), maxRetryAfterMs);
}

/** A failure that retrying cannot fix (e.g. a 400 answer): the batch is discarded and counted instead of blocking the queue. */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** The destination refused the batch for its size (413): the shipper halves it; a single record still refused is discarded and counted. */
export class TooLargeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TooLargeError';
  }
}

/**
 * Writes each record as one JSON line:
 *
 *     {"extension":"<name>","time":"…","type":"platform.report","record":{…}}
 *
 * Lambda sends those lines to CloudWatch Logs, and back to this extension as
 * `extension` records. The leading "extension" member is how the listener
 * recognises and leaves them out, so nothing is ever printed twice.
 */
export class StdoutSink implements Sink {
  readonly kind = 'stdout';
  readonly #prefix: string;
  readonly #write: (text: string, done: (error?: Error | null) => void) => void;

  constructor(name: string, write?: (text: string, done: (error?: Error | null) => void) => void) {
    this.#prefix = `{"extension":${JSON.stringify(name)},`;
    this.#write = write ?? ((text, done) => void process.stdout.write(text, done));
  }

  /** The whole batch in one write, after the previous one has been taken by the OS (no unbounded buffering in node). */
  send(batch: readonly QueuedRecord[], signal: AbortSignal): Promise<void> {
    let text = '';
    // The envelope is `{"time":…}`: splice the marker in after its brace.
    for (const record of batch) text += `${this.#prefix}${record.json.slice(1)}\n`;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      this.#write(text, (error) => (error ? reject(error) : resolve()));
    });
  }
}

export interface HttpSinkOptions {
  url: string;
  /** Extra request headers, e.g. authorization. */
  headers?: Record<string, string>;
  /** Limit per request, within the deadline. */
  timeoutMs: number;
  userAgent: string;
}

/** Statuses worth another try: the request was fine, the destination was not. */
export function isRetryableStatus(status: number): boolean {
  // 401, 403 and 404 say the credential or the URL is wrong, and a 3xx that the URL
  // moved (redirects are not followed): the destination's failure, not the batch's.
  return (status >= 300 && status < 400) || status === 401 || status === 403 || status === 404 || status === 408 || status === 429 || status >= 500;
}

/**
 * POSTs each batch as a gzip-compressed JSON array in Lambda's envelope,
 * `[{"time":…,"type":…,"record":…},…]`, with `Content-Encoding: gzip` and an
 * `Idempotency-Key` that stays the same when the same batch is sent again
 * (a request cut off by a freeze or a timeout may have arrived), so the
 * destination can drop the copy. Redirects are never followed: a 3xx keeps
 * the batch and pauses sends, like a wrong URL, and the error names the Location.
 */
export class HttpSink implements Sink {
  readonly kind = 'http';
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  // The environment is frozen between invokes and the other end closes idle
  // sockets meanwhile; a reused socket that turns out dead is retried once at no cost.
  readonly #agent: http.Agent;

  constructor({ url, headers = {}, timeoutMs, userAgent }: HttpSinkOptions) {
    this.#url = new URL(url);
    this.#headers = headers;
    this.#timeoutMs = timeoutMs;
    this.#userAgent = userAgent;
    const agentOptions = { keepAlive: true, maxSockets: 2 };
    this.#agent = this.#url.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  async send(batch: readonly QueuedRecord[], signal: AbortSignal, batchId: string): Promise<void> {
    const body = await gzip(`[${batch.map((record) => record.json).join(',')}]`);
    // A timer and a listener removed at the end: nothing is left on `signal` per request.
    const limit = new AbortController();
    const timer = setTimeout(() => limit.abort(new DOMException('request timed out', 'TimeoutError')), this.#timeoutMs);
    const cut = (): void => limit.abort(signal.reason);
    if (signal.aborted) cut();
    else signal.addEventListener('abort', cut, { once: true });
    try {
      try {
        await this.#post(body, batchId, limit.signal);
      } catch (error) {
        if (!(error instanceof StaleSocketError)) throw error;
        await this.#post(body, batchId, limit.signal);
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', cut);
    }
  }

  close(): void {
    this.#agent.destroy();
  }

  #post(body: Buffer, batchId: string, signal: AbortSignal): Promise<void> {
    const transport = this.#url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(abortReason(signal));
      const request = transport.request(this.#url, {
        method: 'POST',
        agent: this.#agent,
        signal,
        headers: {
          ...this.#headers,
          'Content-Type': 'application/json',
          'Content-Encoding': 'gzip',
          'Content-Length': body.length,
          'User-Agent': this.#userAgent,
          'Idempotency-Key': batchId,
        },
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (signal.aborted) return reject(abortReason(signal));
        if (request.reusedSocket && error.code === 'ECONNRESET') return reject(new StaleSocketError(error.message));
        reject(new Error(`${this.#url.origin}: ${error.code ?? error.message}`, { cause: error }));
      });
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        let answer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (answer.length < 512) answer += chunk;
        });
        response.on('error', (error) => reject(signal.aborted ? abortReason(signal) : error));
        response.on('end', () => {
          if (status >= 200 && status < 300) return resolve();
          const where = `${this.#url.origin}${this.#url.pathname}`;
          const redirect = status >= 300 && status < 400;
          const message = redirect
            ? `${where} answered ${status}, redirecting to ${response.headers.location ?? '(no Location)'}: redirects are not followed; set the URL to the final one`
            : `${where} answered ${status} ${answer.slice(0, 200).trim()}`.trim();
          const wait = status === 429 || status === 503 ? retryAfterMs(response.headers['retry-after']) : undefined;
          // Any other 4xx says the batch itself is refused: sending it again
          // would only hold up the records behind it.
          if (status === 413) reject(new TooLargeError(message));
          else if (wait !== undefined) reject(new RetryLaterError(message, wait));
          else reject(isRetryableStatus(status) ? new Error(message) : new PermanentError(message));
        });
      });
      request.end(body);
    });
  }
}

class StaleSocketError extends Error {}

/** A readable reason: "deadline" or "timeout" rather than a bare AbortError. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return new Error('request timed out', { cause: reason });
  if (reason instanceof Error) return reason;
  return new Error('stopped at the deadline');
}
