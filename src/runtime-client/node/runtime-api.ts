import http from 'node:http';
import type { ErrorBody } from './errors.js';

/*
 * The runtime's side of Lambda's Runtime API (2018-06-01): `next`, `…/response`, `…/error`, `/init/error`.
 * One keep-alive agent, so an invoke costs no new connection; `next` has no timeout: it blocks until an invoke comes.
 */

export interface Invocation {
  /** The event, as JSON text. */
  body: string;
  /** The invoke's headers, lower-case names. */
  headers: http.IncomingHttpHeaders;
}

export interface RuntimeApiResponse {
  status: number;
  body: string;
}

const prefix = '/2018-06-01/runtime';
const userAgent = 'create-lambda-extension-node-runtime-client';

export class RuntimeApiClient {
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly hostname: string;
  private readonly port: number;

  constructor(address: string) {
    const separator = address.lastIndexOf(':');
    this.hostname = separator === -1 ? address : address.slice(0, separator);
    this.port = separator === -1 ? 80 : Number(address.slice(separator + 1));
    // `[::1]:9001`: http.request wants the address without its brackets.
    if (this.hostname.startsWith('[') && this.hostname.endsWith(']')) this.hostname = this.hostname.slice(1, -1);
  }

  async nextInvocation(): Promise<Invocation> {
    const response = await this.request('GET', `${prefix}/invocation/next`);
    if (response.status !== 200) {
      throw new Error(`GET ${prefix}/invocation/next answered ${response.status}: ${response.body.trim()}`);
    }
    return { body: response.body, headers: response.headers };
  }

  async postResponse(requestId: string, payload: string): Promise<RuntimeApiResponse> {
    const path = `${prefix}/invocation/${encodeURIComponent(requestId)}/response`;
    return this.request('POST', path, payload, { 'Content-Type': 'application/json' });
  }

  async postError(requestId: string, error: ErrorBody): Promise<RuntimeApiResponse> {
    const path = `${prefix}/invocation/${encodeURIComponent(requestId)}/error`;
    return this.request('POST', path, JSON.stringify(error), errorHeaders(error));
  }

  async postInitError(error: ErrorBody): Promise<RuntimeApiResponse> {
    return this.request('POST', `${prefix}/init/error`, JSON.stringify(error), errorHeaders(error));
  }

  /** For a streamed response: the request is the caller's to write and end; resolves with the API's answer. */
  openStream(
    requestId: string,
    headers: http.OutgoingHttpHeaders,
  ): { request: http.ClientRequest; done: Promise<RuntimeApiResponse> } {
    let request!: http.ClientRequest;
    const done = new Promise<RuntimeApiResponse>((resolve, reject) => {
      request = http.request(
        {
          hostname: this.hostname,
          port: this.port,
          method: 'POST',
          path: `${prefix}/invocation/${encodeURIComponent(requestId)}/response`,
          agent: this.agent,
          headers: { 'User-Agent': userAgent, ...headers },
        },
        (response) => void collect(response).then(resolve, reject),
      );
      request.on('error', reject);
    });
    return { request, done };
  }

  private request(
    method: string,
    path: string,
    body?: string,
    headers: http.OutgoingHttpHeaders = {},
  ): Promise<RuntimeApiResponse & { headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(body, 'utf8');
      const request = http.request(
        {
          hostname: this.hostname,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            'User-Agent': userAgent,
            ...(data ? { 'Content-Length': data.length } : {}),
            ...headers,
          },
        },
        (response) => void collect(response).then(resolve, reject),
      );
      request.on('error', reject);
      request.end(data);
    });
  }
}

function errorHeaders(error: ErrorBody): http.OutgoingHttpHeaders {
  return {
    'Content-Type': 'application/json',
    // A header value cannot hold control characters; the body keeps the type as it is.
    'Lambda-Runtime-Function-Error-Type': error.errorType.replace(/[^\x20-\x7E]/g, ''),
  };
}

function collect(response: http.IncomingMessage): Promise<RuntimeApiResponse & { headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('error', reject);
    response.on('end', () =>
      resolve({
        status: response.statusCode ?? 0,
        body: Buffer.concat(chunks).toString('utf8'),
        headers: response.headers,
      }),
    );
  });
}
