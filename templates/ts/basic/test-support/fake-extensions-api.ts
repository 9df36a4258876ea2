/**
 * A small in-process stand-in for the Lambda Extensions API, for tests.
 * It records every request, answers register/init-error/exit-error like the
 * platform (202 for errors) and the Telemetry API subscription (200), and
 * parks event/next until an event is queued. With `managedInstances` it
 * plays Lambda Managed Instances: register refuses every event but SHUTDOWN
 * (403 Extension.InvalidEventType) and the Telemetry API every schema but
 * 2025-01-29 (400).
 * (Kept outside test/ so that `node --test` does not run it as a test file.)
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const prefix = '/2020-01-01/extension';
export const telemetryPath = '/2022-07-01/telemetry';

export interface RecordedRequest {
  method: string;
  /** Path without the /2020-01-01/extension prefix, e.g. /event/next. */
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Sequence number of the TCP connection the request came on (1 for the first). */
  connection: number;
}

export interface CannedReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A canned reply, or a function that answers (or drops) the request itself. */
export type Responder = CannedReply | ((request: http.IncomingMessage, response: http.ServerResponse) => void);

export class FakeExtensionsApi {
  readonly requests: RecordedRequest[] = [];
  readonly identifier = randomUUID();
  /** Replies for /register, /init/error and /exit/error; replace an entry to inject a failure. */
  readonly replies = new Map<string, Responder>([
    [
      '/register',
      {
        status: 200,
        headers: { 'Lambda-Extension-Identifier': this.identifier },
        body: { functionName: 'test-function', functionVersion: '$LATEST', handler: 'index.handler', accountId: '123456789012' },
      },
    ],
    ['/init/error', { status: 202, body: { status: 'OK' } }],
    ['/exit/error', { status: 202, body: { status: 'OK' } }],
    // The Telemetry API lives on the same server, outside the extension prefix.
    [telemetryPath, { status: 200, body: 'OK' }],
  ]);
  /** Plays Lambda Managed Instances (see above). */
  managedInstances = false;
  readonly #queue: Responder[] = [];
  readonly #parked: Array<{ request: http.IncomingMessage; response: http.ServerResponse }> = [];
  readonly #server: http.Server;
  #connections = 0;
  #waiters: Array<() => void> = [];

  private constructor(server: http.Server) {
    this.#server = server;
  }

  static async start(options: { keepAliveTimeout?: number; managedInstances?: boolean } = {}): Promise<FakeExtensionsApi> {
    const server = http.createServer();
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    const api = new FakeExtensionsApi(server);
    api.managedInstances = options.managedInstances ?? false;
    server.on('connection', (socket) => {
      (socket as { connectionNumber?: number }).connectionNumber = ++api.#connections;
    });
    server.on('request', (request, response) => api.#handle(request, response));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return api;
  }

  /** host:port, the value for AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    const { address, port } = this.#server.address() as AddressInfo;
    return `${address}:${port}`;
  }

  get connections(): number {
    return this.#connections;
  }

  /** Queues what the next event/next call receives: an event object, a canned reply, or a custom responder. */
  push(reply: Record<string, unknown> | Responder): void {
    const normalised: Responder =
      typeof reply === 'function' || typeof reply['status'] === 'number' ? (reply as Responder) : { status: 200, body: reply };
    const parked = this.#parked.shift();
    if (parked) this.#answer(normalised, parked.request, parked.response);
    else this.#queue.push(normalised);
  }

  /** Resolves once `count` requests to `path` have arrived. */
  async waitFor(path: string, count = 1): Promise<void> {
    while (this.requests.filter((request) => request.path === path).length < count) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = (request.url ?? '').startsWith(prefix) ? (request.url ?? '').slice(prefix.length) : (request.url ?? '');
      const connection = (request.socket as { connectionNumber?: number }).connectionNumber ?? 0;
      this.requests.push({
        method: request.method ?? '',
        path,
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
        connection,
      });
      for (const wake of this.#waiters.splice(0)) wake();
      if (request.method === 'GET' && path === '/event/next') {
        const queued = this.#queue.shift();
        if (queued) this.#answer(queued, request, response);
        else this.#parked.push({ request, response });
        return;
      }
      const refusal = this.managedInstances ? managedInstancesRefusal(path, this.requests.at(-1)?.body ?? '') : undefined;
      if (refusal) {
        reply(response, refusal);
        return;
      }
      const responder = request.method === (path === telemetryPath ? 'PUT' : 'POST') ? this.replies.get(path) : undefined;
      this.#answer(
        responder ?? { status: 404, body: { errorType: 'NotFound', errorMessage: `no route for ${request.method} ${path}` } },
        request,
        response,
      );
    });
  }

  #answer(responder: Responder, request: http.IncomingMessage, response: http.ServerResponse): void {
    if (typeof responder === 'function') responder(request, response);
    else reply(response, responder);
  }
}

/** What Lambda Managed Instances answer to a registration or subscription they do not accept. */
function managedInstancesRefusal(path: string, body: string): CannedReply | undefined {
  let parsed: { events?: unknown; schemaVersion?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return undefined;
  }
  if (path === '/register' && Array.isArray(parsed.events)) {
    const refused = parsed.events.find((event) => event !== 'SHUTDOWN');
    if (refused !== undefined) {
      return {
        status: 403,
        body: { errorType: 'Extension.InvalidEventType', errorMessage: `${String(refused)} is not a valid event type for an external extension` },
      };
    }
  }
  if (path === telemetryPath && parsed.schemaVersion !== '2025-01-29') {
    return { status: 400, body: { errorType: 'ValidationError', errorMessage: 'schemaVersion must be 2025-01-29' } };
  }
  return undefined;
}

export function reply(response: http.ServerResponse, { status, body, headers = {} }: CannedReply): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  response.end(text);
}
