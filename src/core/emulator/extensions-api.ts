import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { maximumExtensions } from '../layer/index.js';
import { isLoopbackHost } from './loopback.js';
import { parseTelemetryRequest, type TelemetryRequest } from './telemetry.js';
import type { ExtensionEventType, ExtensionState, Phase, Verdict } from './types.js';

/**
 * The HTTP side of the emulator: the four `/2020-01-01/extension/*` routes,
 * the Telemetry API and the Logs API, with RIE's error model (docs/reference/extensions-api.md §2.5:
 * almost everything is 403 plus an `errorType`).
 */

export const maxExtensions = maximumExtensions;
/** Refused registrations noted in the timeline, at most. */
export const maxRefusalNotes = 100;

export interface Agent {
  name: string;
  kind: 'external' | 'internal';
  file?: string;
  id?: string;
  state: ExtensionState;
  events: ExtensionEventType[];
  child?: ChildProcess;
  pid?: number;
  /** The parked `event/next` request, waiting for an event. */
  pendingNext?: http.ServerResponse;
  /**
   * The parked call was dropped by the client (a client timeout). Lambda does not notice: it still
   * counts the extension as waiting and writes the next event into the dead call, where it is lost.
   */
  nextDropped?: boolean;
  /** Events lost that way, in order (e.g. INVOKE, SHUTDOWN). */
  lostEvents?: string[];
  /** An event to hand out on the next `event/next` call. */
  queuedEvent?: Record<string, unknown>;
  /** When the extension last called `event/next` (epoch ms). */
  lastNextAt?: number;
  reportedErrorType?: string;
  exited: boolean;
  exitCode?: number | null;
  signal?: string | null;
  exitedAt?: number;
  /** Set when the emulator itself kills the process. */
  killedBy?: 'not-subscribed' | 'deadline' | 'cleanup';
  shutdownSent: boolean;
  /** Which execution environment (1, 2, … after resets) the extension belongs to. */
  environment: number;
}

export interface ApiHost {
  phase(): Phase | 'idle';
  registrationOpen(): boolean;
  subscriptionsOpen(): boolean;
  changed(): void;
  verdict(verdict: Omit<Verdict, 'phase'>): void;
  note(text: string, extension?: string): void;
  subscribeTelemetry(agent: Agent, request: TelemetryRequest): void;
  /** Lambda Managed Instances: SHUTDOWN-only registration, schema 2025-01-29 only, no Logs API. */
  managedInstances(): boolean;
  logsApiCalled(agent: Agent): void;
  functionMetadata(): { functionName: string; functionVersion: string; handler: string; accountId: string };
  reservedPorts(): number[];
  environment(): number;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const validEvents: readonly string[] = ['INVOKE', 'SHUTDOWN'];
/** The one schema RIE's LMI subscription schema accepts (…/telemetry/schema/telemetry-subscription-schema.json). */
export const managedInstancesTelemetrySchemaVersion = '2025-01-29';
const maxBodyBytes = 1024 * 1024;
/** What RIE's LMI mode takes for an extension's own error type (unanchored, as there). */
const extensionErrorTypePattern = /Extension\.[A-Z][a-zA-Z]+/u;

function send(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent || response.writableEnded) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  response.end(text);
}

function forbidden(response: http.ServerResponse, errorType: string, errorMessage: string): void {
  send(response, 403, { errorMessage, errorType });
}

/**
 * The request body, or undefined once it has answered 413: a body over
 * `maxBodyBytes` is not read further, and the connection closes after the
 * answer (the rest of the body would otherwise have to be read to reuse it).
 */
function readBody(request: http.IncomingMessage, response: http.ServerResponse): Promise<string | undefined> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    tooLarge(request, response);
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        request.off('data', onData);
        chunks.length = 0;
        tooLarge(request, response);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function tooLarge(request: http.IncomingMessage, response: http.ServerResponse): void {
  request.pause();
  send(
    response,
    413,
    {
      errorMessage: `request body larger than ${maxBodyBytes} bytes; the emulator reads no more of it`,
      errorType: 'RequestEntityTooLarge',
    },
    { Connection: 'close' },
  );
  // Once the answer is out, drop the connection rather than read the rest of the body.
  response.once('finish', () => request.socket.destroy());
}

/** Longest header value (extension name, error type) the emulator keeps; Lambda's own names are far shorter. */
export const maxHeaderValueLength = 256;
/** Longest error message borrowed from an init/error or exit/error body. */
const maxErrorMessageLength = 1024;

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

function capped(text: string, maximumLength: number): string {
  return text.length > maximumLength
    ? `${text.slice(0, maximumLength)}… (${text.length - maximumLength} more characters)`
    : text;
}

export class ExtensionsApi {
  readonly agents: Agent[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();
  /** `host:port` as listened on: the Host an extension sends when it uses AWS_LAMBDA_RUNTIME_API as given. */
  private address: string | undefined;
  private browserRefusals = 0;
  logsApiCalls = 0;
  private refusalNotes = 0;

  constructor(private readonly host: ApiHost) {
    // Node would answer a request without Host with a bare 400 before any handler ran; RIE's clients
    // always send one, and the routes below answer the rest in the error model.
    this.server = http.createServer({ requireHostHeader: false }, (request, response) => {
      this.route(request, response).catch((error: unknown) => {
        // The client closed the connection before its body ended: nobody is left to answer, and nothing broke.
        if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') {
          response.destroy();
          return;
        }
        this.host.note(
          `internal error while serving ${request.method} ${capped(request.url ?? '', maxHeaderValueLength)}: ${String(error)}`,
        );
        send(response, 500, { errorMessage: 'Internal Server Error', errorType: 'InternalServerError' });
      });
    });
    // Node answers a request it cannot parse with a bare 400 and no body; extensions get the error model too.
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: import('node:net').Socket) => {
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
    });
    // Node answers an Expect other than 100-continue with a bare 417; answer it in the error model instead.
    this.server.on('checkExpectation', (request: http.IncomingMessage, response: http.ServerResponse) => {
      request.resume();
      send(
        response,
        417,
        {
          errorMessage: 'Expectation Failed: only "Expect: 100-continue" is supported',
          errorType: 'ExpectationFailed',
        },
        { Connection: 'close' },
      );
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
    for (const agent of this.agents) this.releasePending(agent);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Ends a parked next call, e.g. when its process is gone. */
  releasePending(agent: Agent): void {
    const pending = agent.pendingNext;
    agent.pendingNext = undefined;
    agent.nextDropped = false;
    if (pending !== undefined && !pending.writableEnded) pending.destroy();
  }

  addExternal(name: string, file: string, environment: number): Agent {
    const agent: Agent = {
      name,
      kind: 'external',
      file,
      state: 'Started',
      events: [],
      exited: false,
      shutdownSent: false,
      environment,
    };
    this.agents.push(agent);
    return agent;
  }

  /** Hands an event to the extension now if it is waiting in next, otherwise on its next call. */
  deliver(agent: Agent, event: Record<string, unknown>): void {
    if (event['eventType'] === 'SHUTDOWN') agent.shutdownSent = true;
    agent.state = 'Running';
    const pending = agent.pendingNext;
    if (agent.nextDropped === true) {
      // As RIE: the event goes into the call the client already dropped, and is lost.
      agent.pendingNext = undefined;
      agent.nextDropped = false;
      const eventType = String(event['eventType']);
      (agent.lostEvents ??= []).push(eventType);
      this.host.note(
        `${eventType} lost: Lambda wrote it into the event/next call ${agent.name} had already dropped (a client timeout on event/next; event/next must have none)`,
        agent.name,
      );
    } else if (pending !== undefined && !pending.writableEnded && !pending.destroyed) {
      agent.pendingNext = undefined;
      this.writeEvent(pending, event);
    } else {
      agent.pendingNext = undefined;
      agent.queuedEvent = event;
    }
    this.host.changed();
  }

  private writeEvent(response: http.ServerResponse, event: Record<string, unknown>): void {
    send(response, 200, event, { 'Lambda-Extension-Event-Identifier': randomUUID() });
  }

  private async route(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const browser = browserRequestProblem(request.headers, this.address);
    if (browser !== undefined) {
      request.resume();
      this.browserRefusals += 1;
      if (this.browserRefusals === 1)
        this.host.note(`refused a request to ${capped(request.url ?? '', 128)}: ${browser}`);
      forbidden(response, 'ForbiddenRequestSource', browser);
      return;
    }
    const url = (request.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    const method = request.method ?? 'GET';
    const routes: Record<string, { method: string; handle: () => Promise<void> | void }> = {
      '/2020-01-01/extension/register': { method: 'POST', handle: () => this.register(request, response) },
      '/2020-01-01/extension/event/next': {
        method: 'GET',
        handle: () => this.withAgent(request, response, (agent) => this.next(agent, response)),
      },
      '/2020-01-01/extension/init/error': {
        method: 'POST',
        handle: () => this.withAgent(request, response, (agent) => this.reportError(agent, 'init', request, response)),
      },
      '/2020-01-01/extension/exit/error': {
        method: 'POST',
        handle: () => this.withAgent(request, response, (agent) => this.reportError(agent, 'exit', request, response)),
      },
      '/2022-07-01/telemetry': {
        method: 'PUT',
        handle: () => this.withAgent(request, response, (agent) => this.subscribeTelemetry(agent, request, response)),
      },
      '/2020-08-15/logs': {
        method: 'PUT',
        handle: () => this.withAgent(request, response, (agent) => this.subscribeLogs(agent, request, response)),
      },
    };
    const route = routes[url];
    if (route === undefined) {
      request.resume();
      send(response, 404, { errorMessage: `Not found: ${capped(url, maxHeaderValueLength)}`, errorType: 'NotFound' });
      return;
    }
    if (route.method !== method) {
      request.resume();
      send(
        response,
        405,
        {
          errorMessage: `Method ${capped(method, maxHeaderValueLength)} not allowed on ${url}`,
          errorType: 'MethodNotAllowed',
        },
        { Allow: route.method },
      );
      return;
    }
    await route.handle();
  }

  /** RIE's identifier middleware, then the registry lookup. */
  private async withAgent(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    handle: (agent: Agent) => Promise<void> | void,
  ): Promise<void> {
    const identifier = request.headers['lambda-extension-identifier'];
    if (typeof identifier !== 'string' || identifier === '') {
      request.resume();
      forbidden(response, 'Extension.MissingExtensionIdentifier', 'Missing Lambda-Extension-Identifier header');
      return;
    }
    if (!uuidPattern.test(identifier)) {
      request.resume();
      forbidden(response, 'Extension.InvalidExtensionIdentifier', 'Invalid Lambda-Extension-Identifier');
      return;
    }
    const agent = this.agents.find((candidate) => candidate.id === identifier.toLowerCase());
    if (agent === undefined) {
      request.resume();
      forbidden(response, 'Extension.UnknownExtensionIdentifier', `Unknown extension ${identifier}`);
      return;
    }
    await handle(agent);
  }

  private async register(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const body = await readBody(request, response);
    if (body === undefined) return;
    const name = request.headers['lambda-extension-name'];
    if (typeof name !== 'string' || name === '') {
      forbidden(response, 'Extension.InvalidExtensionName', 'Empty extension name');
      return;
    }
    if (name.length > maxHeaderValueLength) {
      // A file name has at most 255 bytes, so no extension file can match a longer name.
      forbidden(
        response,
        'Extension.InvalidExtensionName',
        `Extension name longer than ${maxHeaderValueLength} characters`,
      );
      return;
    }
    const features = String(request.headers['lambda-extension-accept-feature'] ?? '')
      .split(',')
      .map((feature) => feature.trim());

    let events: string[] = [];
    try {
      const parsed = JSON.parse(body) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('the body must be a JSON object');
      const record = parsed as Record<string, unknown>;
      if (Array.isArray(record['configurationKeys']) && record['configurationKeys'].length > 0) {
        throw new Error('configurationKeys are deprecated; use environment variables instead');
      }
      if (record['events'] !== undefined && record['events'] !== null) {
        if (!Array.isArray(record['events']) || record['events'].some((event) => typeof event !== 'string')) {
          throw new Error('events must be an array of strings');
        }
        events = record['events'] as string[];
      }
    } catch (error) {
      forbidden(
        response,
        'InvalidRequestFormat',
        error instanceof SyntaxError ? `invalid JSON: ${error.message}` : (error as Error).message,
      );
      return;
    }

    const external = this.agents.find((agent) => agent.kind === 'external' && agent.name === name);
    if (this.host.managedInstances() && this.refusedOnManagedInstances(name, external, events, response)) return;
    for (const event of events) {
      const invalid = !validEvents.includes(event);
      const internalShutdown = external === undefined && event === 'SHUTDOWN';
      if (invalid || internalShutdown) {
        const shown = capped(event, maxHeaderValueLength);
        const message = invalid
          ? `${shown}: ErrorInvalidEventType`
          : `${shown}: ShutdownEventNotSupportedForInternalExtension`;
        // A refused request is the extension's to recover from (RIE records no error): a note, not a verdict.
        this.refusalNote(
          invalid
            ? `register refused (403 Extension.InvalidEventType): it asked for event "${shown}"; the only events are INVOKE and SHUTDOWN`
            : `register refused (403 Extension.InvalidEventType): "${name}" matches no file in extensions/, so Lambda registers it as an internal extension, and internal extensions cannot receive SHUTDOWN`,
          name,
        );
        forbidden(response, 'Extension.InvalidEventType', message);
        return;
      }
    }
    const registered = this.agents.filter((agent) => agent.id !== undefined).length;
    let agent: Agent;
    if (external !== undefined) {
      if (external.state !== 'Started') {
        forbidden(
          response,
          'Extension.InvalidExtensionState',
          `State transition from ${external.state} to Registered failed for extension ${name}. Error: State transition is not allowed`,
        );
        return;
      }
      if (!this.host.registrationOpen()) {
        forbidden(response, 'Extension.RegistrationClosed', 'Extension registration closed already');
        return;
      }
      if (registered >= maxExtensions) {
        this.registrationRefused(name, `Extension limit (${maxExtensions}) reached`);
        forbidden(response, 'Extension.TooManyExtensions', `Extension limit (${maxExtensions}) reached`);
        return;
      }
      agent = external;
    } else {
      if (!this.host.registrationOpen()) {
        forbidden(response, 'Extension.RegistrationClosed', 'Extension registration closed already');
        return;
      }
      if (this.agents.some((candidate) => candidate.kind === 'internal' && candidate.name === name)) {
        forbidden(response, 'Extension.InvalidExtensionState', 'Extension with this name already registered');
        return;
      }
      if (registered >= maxExtensions) {
        this.registrationRefused(name, `Extension limit (${maxExtensions}) reached`);
        forbidden(response, 'Extension.TooManyExtensions', `Extension limit (${maxExtensions}) reached`);
        return;
      }
      agent = {
        name,
        kind: 'internal',
        state: 'Started',
        events: [],
        exited: false,
        shutdownSent: false,
        environment: this.host.environment(),
      };
      this.agents.push(agent);
      const files = this.agents.filter((candidate) => candidate.kind === 'external').map((candidate) => candidate.name);
      this.host.note(
        `"${name}" registered as an internal extension: no file extensions/${name} exists` +
          (files.length > 0 ? ` (files: ${files.join(', ')}); Lambda-Extension-Name must be the file name` : ''),
        name,
      );
    }
    agent.id = randomUUID();
    agent.state = 'Registered';
    agent.events = events as ExtensionEventType[];
    const metadata = this.host.functionMetadata();
    send(
      response,
      200,
      {
        functionName: metadata.functionName,
        functionVersion: metadata.functionVersion,
        handler: metadata.handler,
        ...(features.includes('accountId') ? { accountId: metadata.accountId } : {}),
      },
      { 'Lambda-Extension-Identifier': agent.id },
    );
    this.host.changed();
  }

  /**
   * RIE's LMI registration rules: an external extension may register
   * SHUTDOWN only (core/externalagent.go ValidateExternalAgentEvent), an
   * internal one no event at all (rapi/handler/agentregister.go). True when
   * it answered the refusal.
   */
  private refusedOnManagedInstances(
    name: string,
    external: Agent | undefined,
    events: string[],
    response: http.ServerResponse,
  ): boolean {
    if (external === undefined) {
      if (events.length === 0) return false;
      this.refusalNote(
        `register refused (403 Extension.InvalidEventType): "${name}" matches no file in extensions/, so Lambda registers it as an internal extension, and on Managed Instances internal extensions cannot register any event`,
        name,
      );
      forbidden(response, 'Extension.InvalidEventType', 'No events allowed for internal extensions');
      return true;
    }
    const refused = events.find((event) => event !== 'SHUTDOWN');
    if (refused === undefined) return false;
    const shown = capped(refused, maxHeaderValueLength);
    this.refusalNote(
      `register refused (403 Extension.InvalidEventType): it asked for event "${shown}"; on Managed Instances an external extension may register SHUTDOWN only (no INVOKE: do per-invoke work on a timer, or read the Telemetry API)`,
      name,
    );
    forbidden(response, 'Extension.InvalidEventType', `${shown}: ErrorInvalidEventType`);
    return true;
  }

  private registrationRefused(name: string, message: string): void {
    this.refusalNote(`register refused (403 Extension.TooManyExtensions): ${message}`, name);
  }

  /** A note on a refused register; a looping extension could make millions, so the first `maxRefusalNotes` only. */
  private refusalNote(text: string, name: string): void {
    this.refusalNotes += 1;
    if (this.refusalNotes <= maxRefusalNotes) this.host.note(text, name);
    else if (this.refusalNotes === maxRefusalNotes + 1) {
      this.host.note(`more than ${maxRefusalNotes} refused registrations; later ones are not noted`);
    }
  }

  private next(agent: Agent, response: http.ServerResponse): void {
    if (agent.state === 'Registered' || agent.state === 'Running') {
      agent.state = 'Ready';
    } else {
      // RIE: Ready -> Ready is not a transition, and terminal states accept nothing.
      forbidden(
        response,
        'Extension.InvalidExtensionState',
        `State transition from ${agent.state} to Ready failed for extension ${agent.id}. Error: State transition is not allowed`,
      );
      if (agent.state === 'Ready') {
        this.host.note(
          `${agent.name} called event/next again while its earlier call was still pending; the earlier call was probably dropped by a client timeout (event/next must have none)`,
          agent.name,
        );
      }
      return;
    }
    agent.lastNextAt = Date.now();
    const queued = agent.queuedEvent;
    if (queued !== undefined) {
      agent.queuedEvent = undefined;
      agent.state = 'Running';
      this.writeEvent(response, queued);
    } else {
      agent.pendingNext = response;
      response.on('close', () => {
        if (agent.pendingNext === response && !response.writableEnded) {
          // The extension stays Ready, as on Lambda: its next event will be written into this dead call.
          agent.nextDropped = true;
          if (!agent.exited && this.host.phase() !== 'shutdown') {
            this.host.note(
              `${agent.name} dropped its pending event/next call (client timeout or closed connection); Lambda still counts it as waiting there, so its next event will be lost`,
              agent.name,
            );
          }
        }
      });
    }
    this.host.changed();
  }

  private async reportError(
    agent: Agent,
    kind: 'init' | 'exit',
    request: http.IncomingMessage,
    response: http.ServerResponse,
  ): Promise<void> {
    const body = await readBody(request, response);
    if (body === undefined) return;
    const header = request.headers['lambda-extension-function-error-type'];
    if (typeof header !== 'string' || header === '') {
      forbidden(response, 'Extension.MissingHeader', 'Missing Lambda-Extension-Function-Error-Type header');
      return;
    }
    const errorType = capped(header, maxHeaderValueLength);
    const allowed: ExtensionState[] =
      kind === 'init' ? ['Registered', 'InitError'] : ['Registered', 'Ready', 'Running', 'ExitError'];
    if (!allowed.includes(agent.state)) {
      const target = kind === 'init' ? 'InitError' : 'ExitError';
      forbidden(
        response,
        'Extension.InvalidExtensionState',
        `State transition from ${agent.state} to ${target} failed for extension ${agent.id}. Error: State transition is not allowed`,
      );
      return;
    }
    const first = agent.state !== 'InitError' && agent.state !== 'ExitError';
    agent.state = kind === 'init' ? 'InitError' : 'ExitError';
    // A parked next stays parked and unanswered, as in RIE; the process is killed at Shutdown.
    if (first) {
      agent.reportedErrorType = errorType;
      let detail = '';
      try {
        const parsed = JSON.parse(body) as { errorMessage?: unknown };
        if (typeof parsed.errorMessage === 'string') detail = `: ${capped(parsed.errorMessage, maxErrorMessageLength)}`;
      } catch {
        // The body is optional and RIE ignores it; we only borrow its message when it parses.
      }
      const generic = kind === 'init' ? 'Extension.InitError' : 'Extension.ExitError';
      this.host.verdict({
        kind: kind === 'init' ? 'init-error' : 'exit-error',
        // RIE's LMI mode keeps the extension's own Extension.* type (GetValidExtensionErrorType in
        // internal/lambda-managed-instances/rapid/model/error_types.go); on demand it is always the generic one.
        errorType: this.host.managedInstances() && extensionErrorTypePattern.test(errorType) ? errorType : generic,
        extension: agent.name,
        message: `${agent.name} reported ${kind}/error ${errorType}${detail}`,
      });
    }
    send(response, 202, { status: 'OK' });
    this.host.changed();
  }

  private async subscribeTelemetry(
    agent: Agent,
    request: http.IncomingMessage,
    response: http.ServerResponse,
  ): Promise<void> {
    const body = await readBody(request, response);
    if (body === undefined) return;
    if (!this.host.subscriptionsOpen()) {
      forbidden(
        response,
        'Telemetry.SubscriptionClosed',
        'Telemetry API subscriptions are only accepted during the Init phase',
      );
      return;
    }
    const schemaProblem = this.host.managedInstances() ? managedInstancesSchemaProblem(body) : undefined;
    if (schemaProblem !== undefined) {
      send(response, 400, { errorType: 'ValidationError', errorMessage: schemaProblem });
      return;
    }
    const parsed = parseTelemetryRequest(body, this.host.reservedPorts());
    if (!parsed.ok) {
      send(response, 400, { errorType: 'ValidationError', errorMessage: parsed.message });
      return;
    }
    this.host.subscribeTelemetry(agent, parsed.request);
    // The Telemetry API answers the JSON string "OK" (as RIE and the Telemetry API reference).
    send(response, 200, '"OK"', { 'Content-Type': 'application/json' });
  }

  /**
   * On Managed Instances there is no Logs API: 404, as RIE's LMI mode.
   * Otherwise our choice for the Logs API: answer 202, which the docs define as the
   * answer of a local testing environment (RIE answers the same), and
   * deliver nothing. The Telemetry API supersedes it and is fully emulated;
   * a timeline note tells the user so.
   */
  private async subscribeLogs(
    agent: Agent,
    request: http.IncomingMessage,
    response: http.ServerResponse,
  ): Promise<void> {
    if ((await readBody(request, response)) === undefined) return;
    this.logsApiCalls += 1;
    this.host.logsApiCalled(agent);
    if (this.host.managedInstances()) {
      // RIE's LMI server mounts no Logs API route (rapi/server.go), so its router (chi) answers this.
      send(response, 404, '404 page not found\n');
      return;
    }
    send(response, 202, {
      errorType: 'Logs.NotSupported',
      errorMessage:
        'Logs API is not supported by this local environment; subscribe to the Telemetry API (/2022-07-01/telemetry) instead',
    });
  }
}

/**
 * RIE's LMI mode checks a subscription against a JSON schema whose
 * `schemaVersion` enum holds 2025-01-29 only, and answers 400 ValidationError
 * with the validator's words. Ours name the same place and rule; RIE's body
 * quotes the value unescaped (invalid JSON), ours is valid JSON.
 */
function managedInstancesSchemaProblem(body: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined; // parseTelemetryRequest reports malformed JSON
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const schemaVersion = (value as Record<string, unknown>)['schemaVersion'];
  if (schemaVersion === managedInstancesTelemetrySchemaVersion) return undefined;
  const given = typeof schemaVersion === 'string' ? `"${capped(schemaVersion, 64)}"` : String(schemaVersion);
  return schemaVersion === undefined
    ? "schema validation error: jsonschema: '' does not validate with telemetry-subscription-schema.json#/required: missing properties: 'schemaVersion'"
    : `schema validation error: jsonschema: '/schemaVersion' does not validate with telemetry-subscription-schema.json#/properties/schemaVersion/enum: value must be "${managedInstancesTelemetrySchemaVersion}" (got ${given}; Managed Instances accept schemaVersion ${managedInstancesTelemetrySchemaVersion} only)`;
}
