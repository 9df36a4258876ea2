/**
 * A small in-process stand-in for Lambda's Runtime API, for the proxy's
 * tests: next hands out queued events (request ids id-1, id-2, ...), and
 * every POST is recorded with its headers, body and trailers.
 * (Kept outside test/ so that `node --test` does not run it as a test file.)
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedPost {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  trailers: NodeJS.Dict<string>;
}

export class FakeRuntimeApi {
  readonly posts: RecordedPost[] = [];
  /** When set, gets the first chunk of each streamed response as it arrives, before the stream ends. */
  onFirstChunk: ((chunk: Buffer) => void) | undefined;
  readonly #events: string[] = [];
  readonly #waiting: http.ServerResponse[] = [];
  readonly #server: http.Server;
  #handed = 0;

  private constructor() {
    this.#server = http.createServer((request, response) => this.#handle(request, response));
  }

  static async start(...events: string[]): Promise<FakeRuntimeApi> {
    const api = new FakeRuntimeApi();
    api.#server.listen(0, '127.0.0.1');
    await once(api.#server, 'listening');
    for (const event of events) api.push(event);
    return api;
  }

  /** host:port, as AWS_LAMBDA_RUNTIME_API holds it. */
  get address(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  push(event: string): void {
    const waiting = this.#waiting.shift();
    if (waiting) this.#deliver(waiting, event);
    else this.#events.push(event);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
  }

  #deliver(response: http.ServerResponse, event: string): void {
    this.#handed += 1;
    response.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': `id-${this.#handed}`,
      'lambda-runtime-deadline-ms': String(Date.now() + 60_000),
      'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:123456789012:function:f',
    });
    response.end(event);
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (request.method === 'GET' && request.url === '/2018-06-01/runtime/invocation/next') {
      const event = this.#events.shift();
      if (event !== undefined) this.#deliver(response, event);
      else this.#waiting.push(response);
      return;
    }
    const chunks: Buffer[] = [];
    let first = request.headers['lambda-runtime-function-response-mode'] === 'streaming';
    request.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        this.onFirstChunk?.(chunk);
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      this.posts.push({ path: request.url ?? '', headers: request.headers, body: body.toString(), trailers: { ...request.trailers } });
      if (body.length > 6_291_456) {
        response.writeHead(413, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ errorMessage: 'too large', errorType: 'Function.ResponseSizeTooLarge' }));
        return;
      }
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end('{"status":"OK"}');
    });
  }
}
