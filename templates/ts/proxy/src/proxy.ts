/**
 * A Lambda Runtime API proxy: the function's runtime talks to it instead of
 * to Lambda (the wrapper script points the runtime's AWS_LAMBDA_RUNTIME_API
 * here), and it forwards every call to the real Runtime API, with two hooks on
 * the way: onEvent before the handler sees an event, onResponse after it
 * answers (src/hooks.ts).
 *
 * Under Lambda Managed Instances the runtime has several next calls out at
 * once; invocations are matched to their answers by request id, never by order.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log.js';

/** Lambda's limit on a synchronous event and response (6 MB): a bigger answer is forwarded unseen, and Lambda refuses it. */
export const maxPayloadBytes = 6_291_456;

const apiPrefix = '/2018-06-01/runtime';
const nextPath = `${apiPrefix}/invocation/next`;
const invocationPrefix = `${apiPrefix}/invocation/`;
const answerPath = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;
export const rejectedEventType = 'Proxy.EventRejected';
export const rejectedResponseType = 'Proxy.ResponseRejected';
const unreachableBody = JSON.stringify({ errorMessage: 'the proxy could not reach the Runtime API', errorType: 'Proxy.Unreachable' });

/** One event on its way to the handler. onEvent may replace `event`; the rest is Lambda's. */
export interface Invocation {
  readonly requestId: string;
  /** Epoch milliseconds at which the function times out (Lambda-Runtime-Deadline-Ms). */
  readonly deadlineMs: number;
  /** Lambda's headers for the event (lambda-runtime-*), as the runtime will see them. */
  readonly headers: Readonly<http.IncomingHttpHeaders>;
  /** The payload as Lambda sent it (JSON, at most 6 MB). */
  event: Buffer;
  /** performance.now() when the proxy got the event. */
  readonly receivedAt: number;
}

/**
 * How the handler answered: `success` (a response in one piece, in `body`),
 * `failure` (the runtime's error report, `body` and `errorType`) or
 * `streamed` (sent to Lambda chunk by chunk as the handler wrote it: done,
 * no `body`).
 */
export type ResponseKind = 'success' | 'failure' | 'streamed';

export interface ProxyResponse {
  readonly kind: ResponseKind;
  /** onResponse may replace the body of a success or a failure. */
  body?: Buffer;
  readonly errorType?: string;
  /** What went to Lambda; for a stream, what went through. */
  bytes: number;
  /** From the event reaching the proxy to the answer reaching it. */
  readonly durationMs: number;
}

export interface HookContext {
  /** Aborts at the function's deadline. */
  readonly signal: AbortSignal;
}

/** The user's code (src/hooks.ts). Both run on the invocation's critical path: their time is billed. */
export interface Hooks {
  /** Before the handler sees the event. A throw rejects it: the invocation fails with Proxy.EventRejected and the runtime gets the next event. */
  onEvent?(invocation: Invocation, context: HookContext): void | Promise<void>;
  /** After the handler answered, before Lambda hears of it. A throw turns a success into a failure Proxy.ResponseRejected; a failure or a stream goes on unchanged. */
  onResponse?(invocation: Invocation, response: ProxyResponse, context: HookContext): void | Promise<void>;
}

export interface ProxyOptions {
  /** host:port of the real Runtime API: the AWS_LAMBDA_RUNTIME_API the extension sees. */
  runtimeApi: string;
  /** The loopback port to listen on; 0 picks a free one (tests). */
  port: number;
  hooks?: Hooks;
  log: Logger;
}

/** Headers of one connection, never forwarded. */
const hopHeaders = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'content-length', 'host']);

function forwardedHeaders(headers: http.IncomingHttpHeaders, keepTrailer: boolean): http.OutgoingHttpHeaders {
  const result: http.OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || hopHeaders.has(key) || (key === 'trailer' && !keepTrailer)) continue;
    result[key] = value;
  }
  return result;
}

class TooLargeError extends Error {
  constructor(readonly head: Buffer[]) {
    super("larger than Lambda's payload limit");
  }
}

/** Reads a whole body of at most `limit` bytes; over it, rejects with what it read, the stream paused. */
function readBody(stream: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      if (length > limit) {
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.pause();
        reject(new TooLargeError(chunks));
      }
    };
    const onEnd = (): void => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', reject);
  });
}

/** A signal that aborts at `deadlineMs`, made only if a hook asks for it: a timer per invoke otherwise. */
function hookContext(deadlineMs: number): HookContext {
  let signal: AbortSignal | undefined;
  return {
    get signal() {
      signal ??= AbortSignal.timeout(Math.max(0, deadlineMs - Date.now()));
      return signal;
    },
  };
}

export class RuntimeApiProxy {
  readonly #server: http.Server;
  readonly #agent: http.Agent;
  readonly #upstream: { host: string; port: number };
  readonly #hooks: Hooks;
  readonly #log: Logger;
  readonly #invocations = new Map<string, Invocation>();

  private constructor(options: ProxyOptions) {
    const separator = options.runtimeApi.lastIndexOf(':');
    this.#upstream = {
      host: options.runtimeApi.slice(0, separator).replace(/^\[|\]$/g, ''),
      port: Number(options.runtimeApi.slice(separator + 1)),
    };
    this.#hooks = options.hooks ?? {};
    this.#log = options.log;
    // Keep-alive, no socket timeout: next blocks until an event comes, hours
    // apart in a frozen environment. No limit on sockets: one per concurrent
    // invoke under Managed Instances. Never an HTTP_PROXY: this is loopback.
    this.#agent = new http.Agent({ keepAlive: true });
    this.#server = http.createServer(
      // requestTimeout 0: a streamed response may take as long as the function runs.
      { requestTimeout: 0, keepAliveTimeout: 60_000 },
      (request, response) => this.#route(request, response),
    );
  }

  /** Listens on 127.0.0.1:port. Resolves once listening, so the caller can register with Lambda knowing the port is taken. */
  static async listen(options: ProxyOptions): Promise<RuntimeApiProxy> {
    const proxy = new RuntimeApiProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(options.port, '127.0.0.1', () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Invocations handed to the runtime and not answered yet. */
  get waiting(): number {
    return this.#invocations.size;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    this.#agent.destroy();
    await closed;
  }

  #route(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = request.url ?? '';
    const failed = (error: unknown): void => this.#unreachable(request, response, error);
    if (request.method === 'GET' && url === nextPath) {
      this.#next(request, response).catch(failed);
      return;
    }
    const answer = request.method === 'POST' ? answerPath.exec(url) : null;
    if (answer !== null) {
      this.#answer(request, response, decodeURIComponent(answer[1]!), answer[2] === 'error').catch(failed);
      return;
    }
    // init/error and anything Lambda adds later: passed through as they are.
    this.#forward(request, response, { stream: request });
  }

  /** Fetches an event for the runtime and runs onEvent on it; a rejected event is failed on the handler's behalf and the next one fetched. */
  async #next(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    for (;;) {
      const upstream = await this.#send('GET', nextPath, forwardedHeaders(request.headers, false), undefined, response);
      const event = await readBody(upstream, maxPayloadBytes);
      const requestId = upstream.headers['lambda-runtime-aws-request-id'];
      if (upstream.statusCode !== 200 || typeof requestId !== 'string') {
        // Lambda's own error: the runtime decides what to do with it.
        response.writeHead(upstream.statusCode ?? 502, forwardedHeaders(upstream.headers, false));
        response.end(event);
        return;
      }
      const deadline = Number(upstream.headers['lambda-runtime-deadline-ms']);
      const invocation: Invocation = {
        requestId,
        // No deadline from Lambda: hooks still get a bounded signal.
        deadlineMs: Number.isFinite(deadline) && deadline > 0 ? deadline : Date.now() + 15 * 60_000,
        headers: upstream.headers,
        event,
        receivedAt: performance.now(),
      };
      try {
        await this.#hooks.onEvent?.(invocation, hookContext(invocation.deadlineMs));
      } catch (error) {
        this.#log.warn('event rejected', { requestId, error: String(error) });
        await this.#reject(requestId, rejectedEventType, error);
        continue;
      }
      this.#remember(invocation);
      const headers = forwardedHeaders(upstream.headers, false);
      headers['content-length'] = invocation.event.length;
      response.writeHead(200, headers);
      response.end(invocation.event);
      return;
    }
  }

  /** Forwards a response or an error, running onResponse on it. */
  async #answer(request: http.IncomingMessage, response: http.ServerResponse, requestId: string, failure: boolean): Promise<void> {
    const invocation = this.#invocations.get(requestId);
    this.#invocations.delete(requestId);
    if (invocation === undefined) {
      // Not handed out by this proxy (or answered already): Lambda says what is wrong.
      this.#forward(request, response, { stream: request });
      return;
    }
    const mode = request.headers['lambda-runtime-function-response-mode'];
    if (!failure && typeof mode === 'string' && mode.toLowerCase() === 'streaming') {
      let bytes = 0;
      request.on('data', (chunk: Buffer) => (bytes += chunk.length));
      await this.#forward(request, response, { stream: request });
      const answered: ProxyResponse = { kind: 'streamed', bytes, durationMs: performance.now() - invocation.receivedAt };
      await this.#onResponse(invocation, answered);
      this.#logInvocation(invocation, answered);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(request, maxPayloadBytes);
    } catch (error) {
      if (!(error instanceof TooLargeError)) throw error;
      // Over Lambda's limit: forwarded unseen, as it came, and Lambda refuses it.
      this.#forward(request, response, { stream: request, head: error.head });
      return;
    }
    const errorType = request.headers['lambda-runtime-function-error-type'];
    const answered: ProxyResponse = {
      kind: failure ? 'failure' : 'success',
      body,
      ...(typeof errorType === 'string' ? { errorType } : {}),
      bytes: body.length,
      durationMs: performance.now() - invocation.receivedAt,
    };
    const rejection = await this.#onResponse(invocation, answered);
    if (rejection !== undefined && !failure) {
      this.#log.warn('response rejected', { requestId, error: String(rejection) });
      const { status, answer } = await this.#reject(requestId, rejectedResponseType, rejection);
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(answer);
      return;
    }
    const forwarded = answered.body ?? Buffer.alloc(0);
    answered.bytes = forwarded.length;
    await this.#forward(request, response, { body: forwarded });
    this.#logInvocation(invocation, answered);
  }

  /** Runs onResponse; returns what it threw (a panic in user code fails one invocation, never the proxy). */
  async #onResponse(invocation: Invocation, answered: ProxyResponse): Promise<unknown> {
    if (this.#hooks.onResponse === undefined) return undefined;
    try {
      await this.#hooks.onResponse(invocation, answered, hookContext(invocation.deadlineMs));
      return undefined;
    } catch (error) {
      if (answered.kind !== 'success') {
        this.#log.warn(`onResponse threw for a ${answered.kind}; passed through unchanged`, { requestId: invocation.requestId, error: String(error) });
      }
      return error ?? new Error('onResponse threw');
    }
  }

  /** One line per invocation at debug level: at info it would be a CloudWatch bill for lines rarely read. */
  #logInvocation(invocation: Invocation, answered: ProxyResponse): void {
    if (this.#log.level !== 'debug') return;
    this.#log.debug('invocation', {
      requestId: invocation.requestId,
      kind: answered.kind,
      errorType: answered.errorType,
      bytes: answered.bytes,
      durationMs: Math.round(answered.durationMs * 1000) / 1000,
    });
  }

  /** Fails an invocation on the handler's behalf; returns Lambda's answer. */
  async #reject(requestId: string, errorType: string, cause: unknown): Promise<{ status: number; answer: Buffer | string }> {
    const body = Buffer.from(JSON.stringify({ errorMessage: cause instanceof Error ? cause.message : String(cause), errorType, stackTrace: [] }));
    const headers = { 'content-type': 'application/json', 'content-length': body.length, 'lambda-runtime-function-error-type': errorType };
    try {
      const upstream = await this.#send('POST', `${invocationPrefix}${encodeURIComponent(requestId)}/error`, headers, body);
      return { status: upstream.statusCode ?? 502, answer: await readBody(upstream, 64 * 1024) };
    } catch (error) {
      this.#log.error('could not report a rejected invocation', { requestId, error: String(error) });
      return { status: 502, answer: unreachableBody };
    }
  }

  /** Sends the runtime's request to Lambda, with `body` or as a stream (chunked, trailers kept), and Lambda's answer back as it comes. */
  #forward(request: http.IncomingMessage, response: http.ServerResponse, source: { body: Buffer } | { stream: http.IncomingMessage; head?: Buffer[] }): Promise<void> {
    return new Promise((resolve) => {
      const streamed = 'stream' in source;
      const headers = forwardedHeaders(request.headers, streamed);
      const known = request.headers['content-length'];
      if (!streamed) headers['content-length'] = source.body.length;
      else if (source.head === undefined && known !== undefined) headers['content-length'] = known;
      const upstream = http.request({ ...this.#upstream, agent: this.#agent, method: request.method, path: request.url, headers });
      upstream.once('response', (answer) => {
        response.writeHead(answer.statusCode ?? 502, forwardedHeaders(answer.headers, false));
        answer.pipe(response);
        answer.once('end', resolve);
        answer.once('error', () => resolve());
      });
      upstream.once('error', (error) => {
        this.#unreachable(request, response, error);
        resolve();
      });
      if (!streamed) {
        upstream.end(source.body);
        return;
      }
      for (const chunk of source.head ?? []) upstream.write(chunk);
      source.stream.pipe(upstream, { end: false });
      source.stream.once('end', () => {
        // A streamed response reports a late error in trailers; they are known only now.
        if (Object.keys(source.stream.trailers).length > 0) upstream.addTrailers(source.stream.trailers);
        upstream.end();
      });
      source.stream.resume();
    });
  }

  #send(method: string, path: string, headers: http.OutgoingHttpHeaders, body?: Buffer, caller?: http.ServerResponse): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const upstream = http.request({ ...this.#upstream, agent: this.#agent, method, path, headers }, resolve);
      upstream.once('error', reject);
      // The runtime gave up waiting (it was stopped) before it got its answer: stop waiting for Lambda too.
      caller?.once('close', () => {
        if (!caller.writableFinished) upstream.destroy();
      });
      upstream.end(body);
    });
  }

  #remember(invocation: Invocation): void {
    // Answers that never came (a runtime that crashed) would pile up: past 1024, the expired go.
    if (this.#invocations.size >= 1024) {
      const now = Date.now();
      for (const [id, waiting] of this.#invocations) if (waiting.deadlineMs < now) this.#invocations.delete(id);
    }
    this.#invocations.set(invocation.requestId, invocation);
  }

  #unreachable(request: http.IncomingMessage, response: http.ServerResponse, error: unknown): void {
    if (request.socket.destroyed || response.headersSent) {
      response.destroy();
      return;
    }
    this.#log.warn('runtime API call failed', { path: request.url, error: String(error) });
    response.writeHead(502, { 'content-type': 'application/json' });
    response.end(unreachableBody);
  }
}
