/**
 * The HTTP server the function calls on 127.0.0.1: the token check, the
 * cache, one AWS call per key however many requests wait for it, and the
 * failure rules (see the README).
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isRetryable, MissingEnvironmentError, errorTypeOf, secretsManager, ssm, TransportError, type AwsResponse, type Fetcher, type Service } from './aws.js';
import { caching, type Config } from './config.js';
import type { Logger } from './log.js';
import { parameterInput, parameterKey, parametersPath, parseParameterQuery, parseSecretQuery, QueryError, secretInput, secretKey, secretsPath } from './query.js';
import { Flights, Lru } from './store.js';

/**
 * Must carry the function's AWS_SESSION_TOKEN, as with AWS's extension: only
 * code that can read the function's credentials may read its secrets through
 * the cache (a server-side request forgery in the function cannot add it).
 */
export const tokenHeader = 'x-aws-parameters-secrets-token';
/** Bounds a call made outside an invoke (the function's init, or Managed Instances) when no *_TIMEOUT_MILLIS is set: init lasts at most 10 s. */
export const initFetchTimeoutMs = 10_000;
/** Kept back from the invoke's deadline: the function needs time to use the answer, or an error. */
export const deadlineMarginMs = 100;

interface Lookup {
  key: string;
  service: Service;
  operation: string;
  input: unknown;
  ttlMs: number;
  timeoutMs: number;
}

export interface CacheServerOptions {
  config: Config;
  aws: Fetcher;
  /** AWS_SESSION_TOKEN; when empty every request is refused. */
  token: string;
  log: Logger;
  now?: () => number;
}

export class CacheServer {
  readonly config: Config;
  readonly cache: Lru | undefined;
  readonly counts = { hits: 0, misses: 0, stale: 0, awsCalls: 0, errors: 0, refused: 0 };
  /** The running invoke's deadline (epoch ms), from its INVOKE event; 0 before the first one and on Managed Instances. */
  invokeDeadline = 0;
  readonly #flights = new Flights<AwsResponse>();
  readonly #aws: Fetcher;
  readonly #token: Buffer;
  readonly #log: Logger;
  readonly #now: () => number;
  #server: http.Server | undefined;

  constructor({ config, aws, token, log, now = Date.now }: CacheServerOptions) {
    this.config = config;
    this.#aws = aws;
    this.#token = Buffer.from(token);
    this.#log = log;
    this.#now = now;
    if (caching(config)) this.cache = new Lru(config.cacheSize, config.cacheMaxBytes, now);
  }

  /** Listens on 127.0.0.1 only: the function reaches it, nothing outside the sandbox does. */
  async listen(port: number): Promise<AddressInfo> {
    const server = http.createServer((request, response) => {
      // One request's failure must not become an uncaught rejection, which would end the extension.
      this.handle(request, response).catch((error: unknown) => {
        this.#log.error('request failed', { error: error instanceof Error ? error.message : String(error) });
        if (!response.headersSent) writeJsonError(response, 500, 'InternalFailure', 'the cache failed on this request');
        else response.destroy();
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    return server.address() as AddressInfo;
  }

  /** Stops accepting requests and waits at most budgetMs for those in flight. */
  async close(budgetMs = 500): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), Math.max(0, budgetMs));
    await closed;
    clearTimeout(timer);
  }

  async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const started = this.#now();
    if (request.method !== 'GET') return this.#refuse(response, 405, 'MethodNotAllowed', 'use GET');
    // A forwarded request came from elsewhere through a proxy: refused, as AWS's Secrets Manager Agent does.
    if (request.headers['x-forwarded-for'] !== undefined) return this.#refuse(response, 400, 'ForwardedRequest', 'forwarded requests are refused');
    if (!this.#authorized(request)) {
      // 403, as AWS's extension and its Secrets Manager Agent answer.
      return this.#refuse(response, 403, 'AccessDeniedException', `X-Aws-Parameters-Secrets-Token is missing or is not the function's AWS_SESSION_TOKEN`);
    }
    const target = request.url ?? '/';
    const at = target.indexOf('?');
    const path = at < 0 ? target : target.slice(0, at);
    const rawQuery = at < 0 ? '' : target.slice(at + 1);
    let lookup: Lookup;
    try {
      if (path === parametersPath) {
        const query = parseParameterQuery(rawQuery);
        lookup = { key: parameterKey(query), service: ssm, operation: 'GetParameter', input: parameterInput(query), ttlMs: this.config.ssmTtlMs, timeoutMs: this.config.ssmTimeoutMs };
      } else if (path === secretsPath) {
        const query = parseSecretQuery(rawQuery);
        lookup = {
          key: secretKey(query),
          service: secretsManager,
          operation: 'GetSecretValue',
          input: secretInput(query),
          ttlMs: this.config.secretsTtlMs,
          timeoutMs: this.config.secretsTimeoutMs,
        };
      } else {
        return this.#refuse(response, 404, 'NotFound', `use ${parametersPath} or ${secretsPath}`);
      }
    } catch (error) {
      if (error instanceof QueryError) return this.#refuse(response, 400, 'ValidationException', error.message);
      throw error;
    }
    await this.#serve(request, response, lookup, started);
  }

  #authorized(request: http.IncomingMessage): boolean {
    const given = request.headers[tokenHeader];
    if (typeof given !== 'string' || this.#token.length === 0) return false;
    const bytes = Buffer.from(given);
    return bytes.length === this.#token.length && timingSafeEqual(bytes, this.#token);
  }

  async #serve(request: http.IncomingMessage, response: http.ServerResponse, lookup: Lookup, started: number): Promise<void> {
    const cached = this.cache?.get(lookup.key);
    if (cached?.fresh) {
      this.counts.hits++;
      return this.#answer(response, lookup, 200, cached.value, 'hit', started);
    }
    this.counts.misses++;
    const gone = new Promise<'gone'>((resolve) => request.once('close', () => (response.writableEnded ? undefined : resolve('gone'))));
    let answer: AwsResponse | undefined;
    let failure: unknown;
    try {
      const outcome = await Promise.race([this.#flights.run(lookup.key, () => this.#fetch(lookup)).result, gone]);
      if (outcome === 'gone') return; // the function gave up; the fetch goes on for the others and the cache
      answer = outcome;
    } catch (error) {
      failure = error;
    }
    if (answer?.status === 200) return this.#answer(response, lookup, 200, answer.body, 'miss', started);
    // AWS could not answer, failed on its side, or throttled past the retries: a stale value may stand in, when the
    // settings allow it. A definite answer (not found, access denied) always goes to the function.
    if (this.config.staleOnError && (failure !== undefined || (answer !== undefined && isRetryable(answer)))) {
      const stale = this.cache?.get(lookup.key);
      if (stale !== undefined) {
        this.counts.stale++;
        this.#log.warn('serving a stale value: AWS did not answer', { service: lookup.service.signingName, error: failure instanceof Error ? failure.message : `status ${answer?.status}` });
        return this.#answer(response, lookup, 200, stale.value, 'stale', started);
      }
    }
    this.counts.errors++;
    if (answer !== undefined) return this.#answer(response, lookup, answer.status, answer.body, 'error', started);
    if (failure instanceof MissingEnvironmentError) return this.#answerError(response, lookup, 500, 'MissingConfiguration', failure.message, started);
    if (failure instanceof TransportError && failure.timedOut) return this.#answerError(response, lookup, 504, 'TimeoutError', failure.message, started);
    const message = failure instanceof Error ? failure.message : String(failure);
    return this.#answerError(response, lookup, 502, 'ConnectionError', message, started);
  }

  /** Calls AWS for one key, once however many requests wait for it. */
  async #fetch(lookup: Lookup): Promise<AwsResponse> {
    // Another flight may have filled the entry since this request looked.
    const cached = this.cache?.get(lookup.key);
    if (cached?.fresh) return { status: 200, body: cached.value };
    this.counts.awsCalls++;
    const answer = await this.#aws.call(lookup.service, lookup.operation, lookup.input, this.fetchDeadline(lookup.timeoutMs));
    if (answer.status === 200) this.cache?.put(lookup.key, answer.body, lookup.ttlMs);
    return answer;
  }

  /** The running invoke's deadline less a margin, the setting's timeout if that is sooner, or initFetchTimeoutMs outside an invoke. */
  fetchDeadline(timeoutMs: number): number {
    const now = this.#now();
    let deadline = now + initFetchTimeoutMs;
    if (this.invokeDeadline - deadlineMarginMs > now) deadline = this.invokeDeadline - deadlineMarginMs;
    if (timeoutMs > 0) deadline = Math.min(deadline, now + timeoutMs);
    return deadline;
  }

  #refuse(response: http.ServerResponse, status: number, errorType: string, message: string): void {
    this.counts.refused++;
    writeJsonError(response, status, errorType, message);
    this.#log.debug('refused', { status, errorType });
  }

  #answerError(response: http.ServerResponse, lookup: Lookup, status: number, errorType: string, message: string, started: number): void {
    writeJsonError(response, status, errorType, message);
    this.#logged(lookup, status, 'error', started, errorType);
  }

  #answer(response: http.ServerResponse, lookup: Lookup, status: number, body: Buffer, outcome: string, started: number): void {
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, 'x-cache': outcome });
    response.end(body);
    this.#logged(lookup, status, outcome, started, status === 200 ? '' : errorTypeOf({ status, body }));
  }

  /** One line per request, at debug (warn for a 5xx). It never holds a value: neither the body nor the query is logged. */
  #logged(lookup: Lookup, status: number, outcome: string, started: number, errorType: string): void {
    const fields = { service: lookup.service.signingName, status, cache: outcome, durationMs: this.#now() - started, ...(errorType === '' ? {} : { errorType }) };
    if (status >= 500) this.#log.warn('request', fields);
    else this.#log.debug('request', fields);
  }

  /** The shutdown line: what was served, and how. */
  logTotals(): void {
    this.#log.info('cache totals', { ...this.counts, ...(this.cache ? { entries: this.cache.size, bytes: this.cache.bytes } : {}) });
  }
}

function writeJsonError(response: http.ServerResponse, status: number, errorType: string, message: string): void {
  const body = JSON.stringify({ __type: errorType, message });
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
