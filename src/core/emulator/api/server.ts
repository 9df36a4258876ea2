import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Agent } from '../environment/agents.js';
import type { Environment } from '../environment/index.js';
import { isLoopbackHost } from '../loopback.js';
import { reportError } from './errors.js';
import { capped, forbidden, maxHeaderValueLength, send } from './http.js';
import { next } from './next.js';
import { register } from './register.js';
import { routeRuntime, runtimeApiPrefix } from './runtime.js';
import { subscribeLogs, subscribeTelemetry } from './subscriptions.js';

/**
 * The HTTP side of the emulator (RIE's rapi/server.go and router.go): the
 * four `/2020-01-01/extension/*` routes, the Telemetry API, the Logs API,
 * and with a real runtime the Runtime API (`/2018-06-01/runtime/*`, api/runtime.ts). Each route's handler reads and changes the environment; none calls
 * the lifecycle.
 */

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a request may come from a web page rather than an extension. A
 * page the user visits can reach the emulator's port, and with DNS
 * rebinding it can even read the answers: browsers send Origin (and
 * Sec-Fetch-Site) and the page's own host name in Host, while an extension
 * sends neither header and a Host of loopback or sandbox.localdomain.
 * Undefined when the request is acceptable, else why not.
 */
export function browserRequestProblem(
  headers: http.IncomingHttpHeaders,
  runtimeApi: string | undefined,
): string | undefined {
  if (headers.origin !== undefined) return 'requests that carry an Origin header (browsers send it) are refused';
  if (headers['sec-fetch-site'] !== undefined) return 'requests from a browser (Sec-Fetch-Site) are refused';
  const host = headers.host;
  // HTTP/1.0 clients may send no Host; a browser always sends one.
  if (host === undefined || host === runtimeApi || isLoopbackHost(host.replace(/:\d{1,5}$/, ''))) return undefined;
  return `Host "${capped(host, 64)}" is not loopback; use the address in AWS_LAMBDA_RUNTIME_API`;
}

type AgentHandler = (
  environment: Environment,
  agent: Agent,
  request: http.IncomingMessage,
  response: http.ServerResponse,
) => Promise<void> | void;

interface Route {
  method: string;
  /** Routes that need `Lambda-Extension-Identifier` get the agent it names. */
  handle:
    | { agent: AgentHandler }
    | {
        plain: (
          environment: Environment,
          request: http.IncomingMessage,
          response: http.ServerResponse,
        ) => Promise<void>;
      };
}

const routes: Record<string, Route> = {
  '/2020-01-01/extension/register': { method: 'POST', handle: { plain: register } },
  '/2020-01-01/extension/event/next': {
    method: 'GET',
    handle: { agent: (environment, agent, _request, response) => next(environment, agent, response) },
  },
  '/2020-01-01/extension/init/error': {
    method: 'POST',
    handle: {
      agent: (environment, agent, request, response) => reportError(environment, agent, 'init', request, response),
    },
  },
  '/2020-01-01/extension/exit/error': {
    method: 'POST',
    handle: {
      agent: (environment, agent, request, response) => reportError(environment, agent, 'exit', request, response),
    },
  },
  '/2022-07-01/telemetry': { method: 'PUT', handle: { agent: subscribeTelemetry } },
  '/2020-08-15/logs': { method: 'PUT', handle: { agent: subscribeLogs } },
};

/** RIE's identifier middleware, then the registry lookup: the agent, or undefined once it answered. */
export function agentOf(
  environment: Environment,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Agent | undefined {
  const identifier = request.headers['lambda-extension-identifier'];
  let refusal: [string, string] | undefined;
  let agent: Agent | undefined;
  if (typeof identifier !== 'string' || identifier === '') {
    refusal = ['Extension.MissingExtensionIdentifier', 'Missing Lambda-Extension-Identifier header'];
  } else if (!uuidPattern.test(identifier)) {
    refusal = ['Extension.InvalidExtensionIdentifier', 'Invalid Lambda-Extension-Identifier'];
  } else {
    agent = environment.agents.find((candidate) => candidate.id === identifier.toLowerCase());
    if (agent === undefined) refusal = ['Extension.UnknownExtensionIdentifier', `Unknown extension ${identifier}`];
  }
  if (refusal === undefined) return agent;
  request.resume();
  forbidden(response, ...refusal);
  return undefined;
}

/** Routes a request to its handler, in RIE's error model for what matches no route. */
export async function route(
  environment: Environment,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const url = (request.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
  const method = request.method ?? 'GET';
  const runtime = environment.runtime;
  if (
    runtime !== undefined &&
    url.startsWith(runtimeApiPrefix) &&
    (await routeRuntime(runtime, url, method, request, response))
  )
    return;
  const found = routes[url];
  if (found === undefined) {
    request.resume();
    send(response, 404, { errorMessage: `Not found: ${capped(url, maxHeaderValueLength)}`, errorType: 'NotFound' });
    return;
  }
  if (found.method !== method) {
    request.resume();
    const errorMessage = `Method ${capped(method, maxHeaderValueLength)} not allowed on ${url}`;
    send(response, 405, { errorMessage, errorType: 'MethodNotAllowed' }, { Allow: found.method });
    return;
  }
  if ('plain' in found.handle) {
    await found.handle.plain(environment, request, response);
    return;
  }
  const agent = agentOf(environment, request, response);
  if (agent !== undefined) await found.handle.agent(environment, agent, request, response);
}

export class ExtensionsApiServer {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  /** `host:port` as listened on: the Host an extension sends when it uses AWS_LAMBDA_RUNTIME_API as given. */
  private address: string | undefined;
  private browserRefusals = 0;

  constructor(private readonly environment: Environment) {
    // Node would answer a request without Host with a bare 400 before any handler ran; RIE's clients
    // always send one, and the routes answer the rest in the error model.
    this.server = http.createServer({ requireHostHeader: false }, (request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        // The client closed the connection before its body ended: nobody is left to answer, and nothing broke.
        if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') {
          response.destroy();
          return;
        }
        this.environment.note(
          `internal error while serving ${request.method} ${capped(request.url ?? '', maxHeaderValueLength)}: ${String(error)}`,
        );
        send(response, 500, { errorMessage: 'Internal Server Error', errorType: 'InternalServerError' });
      });
    });
    this.server.on('clientError', answerUnparsable);
    // Node answers an Expect other than 100-continue with a bare 417; answer it in the error model instead.
    this.server.on('checkExpectation', (request: http.IncomingMessage, response: http.ServerResponse) => {
      request.resume();
      const errorMessage = 'Expectation Failed: only "Expect: 100-continue" is supported';
      send(response, 417, { errorMessage, errorType: 'ExpectationFailed' }, { Connection: 'close' });
    });
    // event/next is a long poll with no client timeout: the server must not time it out either.
    this.server.requestTimeout = 0;
    this.server.timeout = 0;
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(hostName: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, hostName, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const listening = (this.server.address() as AddressInfo).port;
    this.address = `${hostName}:${listening}`;
    return listening;
  }

  async close(): Promise<void> {
    for (const agent of this.environment.agents) this.environment.releasePending(agent);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const browser = browserRequestProblem(request.headers, this.address);
    if (browser !== undefined) {
      request.resume();
      this.browserRefusals += 1;
      if (this.browserRefusals === 1)
        this.environment.note(`refused a request to ${capped(request.url ?? '', 128)}: ${browser}`);
      forbidden(response, 'ForbiddenRequestSource', browser);
      return;
    }
    await route(this.environment, request, response);
  }
}

/** Node answers a request it cannot parse with a bare 400 and no body; extensions get the error model too. */
function answerUnparsable(error: NodeJS.ErrnoException, socket: Socket): void {
  // As Node's own handler: once an answer to this connection has started, a second one would corrupt it.
  const answering = (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || answering?.headersSent === true) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const text = JSON.stringify({
    errorMessage: tooLarge ? 'Request header fields too large' : 'Bad Request: the request is not valid HTTP/1.1',
    errorType: tooLarge ? 'RequestHeaderFieldsTooLarge' : 'InvalidRequestFormat',
  });
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}
