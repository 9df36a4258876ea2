/**
 * A typed client for the AWS Lambda Extensions API (2020-01-01).
 *
 * Built on node:http rather than fetch: undici (behind fetch) aborts any
 * request whose response headers take longer than 300 s, and `event/next`
 * is a long poll that may legitimately block for hours while the execution
 * environment is frozen. AWS asks for no client timeout on that call.
 */
import http from 'node:http';

export type EventType = 'INVOKE' | 'SHUTDOWN';

export interface RegisterResponse {
  functionName: string;
  functionVersion: string;
  handler: string;
  /** Present when the platform honours `Lambda-Extension-Accept-Feature: accountId` (not in the emulators). */
  accountId?: string;
}

export interface Tracing {
  type: string;
  value: string;
}

export interface InvokeEvent {
  eventType: 'INVOKE';
  /** Epoch milliseconds at which the function times out. */
  deadlineMs: number;
  requestId: string;
  invokedFunctionArn: string;
  /** Missing when the invoke carried no X-Amzn-Trace-Id (e.g. under the Runtime Interface Emulator). */
  tracing?: Tracing;
  /** Set when the event had no valid deadlineMs: `deadlineMs` is then now + `fallbackDeadlineMs`. */
  deadlineMissing?: true;
}

export interface ShutdownEvent {
  eventType: 'SHUTDOWN';
  /** Epoch milliseconds by which the process must have exited. */
  deadlineMs: number;
  /** As sent; documented as SPINDOWN/TIMEOUT/FAILURE, observed lower case. Compare with `isShutdownReason`. */
  shutdownReason: string;
  /** Set when the event had no valid deadlineMs: `deadlineMs` is then now + `fallbackDeadlineMs`. */
  deadlineMissing?: true;
}

export type ExtensionEvent = InvokeEvent | ShutdownEvent;

/** Used for `deadlineMs` when an event carries none (or an unreadable one): the 2 s Lambda gives external extensions at SHUTDOWN. */
export const fallbackDeadlineMs = 2000;

export type ShutdownReason = 'spindown' | 'timeout' | 'failure';

/** Case-insensitive, because the documentation and the running platform disagree on the casing. */
export function isShutdownReason(event: ShutdownEvent, reason: ShutdownReason): boolean {
  return event.shutdownReason.toLowerCase() === reason;
}

/** A non-2xx answer from the API, or an answer the client cannot understand (status 2xx, errorType "InvalidResponse"). */
export class ExtensionsApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    readonly errorMessage: string,
    readonly path: string,
  ) {
    super(`${path} answered ${status} ${errorType}: ${errorMessage}`);
    this.name = 'ExtensionsApiError';
  }
}

/** event/next returned an event type this client does not know (e.g. one added to the API later). */
export class UnknownEventError extends ExtensionsApiError {
  constructor(
    path: string,
    status: number,
    readonly eventType: unknown,
  ) {
    super(status, 'InvalidResponse', `unknown eventType ${JSON.stringify(eventType)}`, path);
    this.name = 'UnknownEventError';
  }
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface RequestOptions {
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal | undefined;
}

/** What an aborted request rejects with, as node:http's own `signal` option would. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR', cause: signal.reason });
}

/** Thrown by `send` when a kept-alive socket was closed by the server just as we reused it. */
class StaleSocketError extends Error {}

export class ExtensionsApiClient {
  readonly baseUrl: string;
  // No `timeout` here or on any request: a socket timeout would cut the event/next long poll.
  readonly #agent = new http.Agent({ keepAlive: true });
  #identifier: string | undefined;

  constructor(runtimeApi: string | undefined = process.env.AWS_LAMBDA_RUNTIME_API) {
    if (!runtimeApi) {
      throw new Error('AWS_LAMBDA_RUNTIME_API is not set: run the extension inside Lambda or `npx ext dev`');
    }
    this.baseUrl = `http://${runtimeApi}/2020-01-01/extension`;
    // Parsed once: a URL string per request would be parsed again on every event.
    const { hostname, port, pathname } = new URL(this.baseUrl);
    this.#target = { hostname: hostname.replace(/^\[(.*)\]$/, '$1'), port, pathname };
  }

  readonly #target: { hostname: string; port: string; pathname: string };

  /** The Lambda-Extension-Identifier returned by `register`. */
  get identifier(): string | undefined {
    return this.#identifier;
  }

  /** Registers under `name`, which must equal the file name in /opt/extensions. */
  async register(name: string, events: readonly EventType[], signal?: AbortSignal): Promise<RegisterResponse> {
    const reply = await this.#call('POST', '/register', {
      headers: { 'Lambda-Extension-Name': name, 'Lambda-Extension-Accept-Feature': 'accountId' },
      body: { events },
      signal,
    });
    const identifier = reply.headers['lambda-extension-identifier'];
    if (typeof identifier !== 'string' || identifier === '') {
      throw invalidResponse('/register', reply.status, 'no Lambda-Extension-Identifier header');
    }
    const body = parseObject('/register', reply);
    this.#identifier = identifier;
    const response: RegisterResponse = {
      functionName: stringField(body, 'functionName'),
      functionVersion: stringField(body, 'functionVersion'),
      handler: stringField(body, 'handler'),
    };
    if (typeof body['accountId'] === 'string') response.accountId = body['accountId'];
    return response;
  }

  /**
   * Tells Lambda this extension has finished the current phase, then blocks
   * until the next event. Abort `signal` to give up waiting.
   */
  async next(signal?: AbortSignal): Promise<ExtensionEvent> {
    const path = '/event/next';
    const reply = await this.#call('GET', path, { headers: this.#identified(), signal });
    return decodeEvent(reply.body, reply.status);
  }

  /** Reports a failure during setup (after `register`). The extension should exit afterwards. */
  async initError(errorType: string, error: unknown): Promise<void> {
    await this.#reportError('/init/error', errorType, error);
  }

  /** Reports a failure after setup. The extension should exit afterwards. */
  async exitError(errorType: string, error: unknown): Promise<void> {
    await this.#reportError('/exit/error', errorType, error);
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.#agent.destroy();
  }

  async #reportError(path: string, errorType: string, error: unknown): Promise<void> {
    const body = {
      errorType,
      errorMessage: error instanceof Error ? error.message : String(error),
      stackTrace: error instanceof Error && error.stack ? error.stack.split('\n') : [],
    };
    await this.#call('POST', path, {
      headers: { ...this.#identified(), 'Lambda-Extension-Function-Error-Type': errorType },
      body,
    });
  }

  #identified(): Record<string, string> {
    if (this.#identifier === undefined) throw new Error('call register() before any other Extensions API call');
    return { 'Lambda-Extension-Identifier': this.#identifier };
  }

  /** Sends a request and turns any non-2xx answer into an ExtensionsApiError. */
  async #call(method: string, path: string, options: RequestOptions): Promise<Reply> {
    let reply: Reply;
    try {
      reply = await this.#send(method, path, options);
    } catch (error) {
      // The documented way to survive a keep-alive race: retry once on a fresh socket.
      if (!(error instanceof StaleSocketError)) throw error;
      reply = await this.#send(method, path, options);
    }
    if (reply.status >= 200 && reply.status < 300) return reply;
    let errorType = 'UnknownError';
    let errorMessage = reply.body.trim() || http.STATUS_CODES[reply.status] || 'no body';
    try {
      const body: unknown = JSON.parse(reply.body);
      if (isObject(body)) {
        if (typeof body['errorType'] === 'string') errorType = body['errorType'];
        if (typeof body['errorMessage'] === 'string') errorMessage = body['errorMessage'];
      }
    } catch {
      // Not JSON (e.g. the empty 404 when extensions are disabled): keep the raw text.
    }
    throw new ExtensionsApiError(reply.status, errorType, errorMessage, path);
  }

  #send(method: string, path: string, { headers = {}, body, signal }: RequestOptions): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const request = http.request({
        hostname: this.#target.hostname,
        port: this.#target.port,
        path: `${this.#target.pathname}${path}`,
        method,
        agent: this.#agent,
        // 0 disables the socket timeout; the long poll must be able to wait indefinitely.
        timeout: 0,
        headers: payload === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
      });
      // Listened to here rather than given to http as its `signal` option, which costs more per request.
      const abort = (): void => void request.destroy(abortError(signal!));
      signal?.addEventListener('abort', abort, { once: true });
      request.on('close', () => signal?.removeEventListener('abort', abort));
      request.on('error', (error: NodeJS.ErrnoException) => {
        const stale = request.reusedSocket && error.code === 'ECONNRESET' && !signal?.aborted;
        reject(stale ? new StaleSocketError(error.message, { cause: error }) : error);
      });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      });
      request.end(payload);
    });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseObject(path: string, reply: Reply): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(reply.body);
  } catch {
    throw invalidResponse(path, reply.status, `body is not JSON: ${reply.body.slice(0, 200)}`);
  }
  if (!isObject(body)) throw invalidResponse(path, reply.status, 'body is not a JSON object');
  return body;
}

/** Missing or non-string fields read as '': they are informative, never worth crashing for. */
function stringField(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  return typeof value === 'string' ? value : '';
}

function invalidResponse(path: string, status: number, message: string): ExtensionsApiError {
  return new ExtensionsApiError(status, 'InvalidResponse', message, path);
}

/**
 * Decodes an event/next body. Throws ExtensionsApiError (InvalidResponse) for
 * a body that is not a JSON object, UnknownEventError for an event type it
 * does not know; anything else decodes, with a fallback deadline if needed.
 */
export function decodeEvent(text: string, status = 200): ExtensionEvent {
  const path = '/event/next';
  const body = parseObject(path, { status, headers: {}, body: text });
  const sent = typeof body['deadlineMs'] === 'string' && body['deadlineMs'] !== '' ? Number(body['deadlineMs']) : body['deadlineMs'];
  const valid = typeof sent === 'number' && Number.isFinite(sent);
  // A missing deadline must not end the extension (exiting before SHUTDOWN is a crash):
  // the work gets the shortest budget Lambda ever gives, and the event says so.
  const deadlineMs = valid ? sent : Date.now() + fallbackDeadlineMs;
  const missing = valid ? {} : { deadlineMissing: true as const };
  switch (body['eventType']) {
    case 'INVOKE': {
      const event: InvokeEvent = {
        eventType: 'INVOKE',
        deadlineMs,
        requestId: stringField(body, 'requestId'),
        invokedFunctionArn: stringField(body, 'invokedFunctionArn'),
        ...missing,
      };
      const tracing = body['tracing'];
      if (isObject(tracing) && typeof tracing['type'] === 'string' && typeof tracing['value'] === 'string') {
        event.tracing = { type: tracing['type'], value: tracing['value'] };
      }
      return event;
    }
    case 'SHUTDOWN':
      return { eventType: 'SHUTDOWN', deadlineMs, shutdownReason: stringField(body, 'shutdownReason'), ...missing };
    default:
      // The loop in src/extension.ts logs a warning and polls again, as for any event it does not know.
      throw new UnknownEventError(path, status, body['eventType']);
  }
}
