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
  send(batch: readonly QueuedRecord[], signal: AbortSignal): Promise<void>;
  close?(): void;
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
  // 401, 403 and 404 say the credential or the URL is wrong: the destination's failure, not the batch's.
  return status === 401 || status === 403 || status === 404 || status === 408 || status === 429 || status >= 500;
}

/**
 * POSTs each batch as a gzip-compressed JSON array in Lambda's envelope,
 * `[{"time":…,"type":…,"record":…},…]`, with `Content-Encoding: gzip`.
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

  async send(batch: readonly QueuedRecord[], signal: AbortSignal): Promise<void> {
    const body = await gzip(`[${batch.map((record) => record.json).join(',')}]`);
    const limit = AbortSignal.any([signal, AbortSignal.timeout(this.#timeoutMs)]);
    try {
      await this.#post(body, limit);
    } catch (error) {
      if (!(error instanceof StaleSocketError)) throw error;
      await this.#post(body, limit);
    }
  }

  close(): void {
    this.#agent.destroy();
  }

  #post(body: Buffer, signal: AbortSignal): Promise<void> {
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
          const message = `${this.#url.origin}${this.#url.pathname} answered ${status} ${answer.slice(0, 200).trim()}`.trim();
          // Any other 4xx says the batch itself is refused: sending it again
          // would only hold up the records behind it.
          if (status === 413) reject(new TooLargeError(message));
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
