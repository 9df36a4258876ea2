import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { repositoryRoot } from '../helpers/paths.js';
import { scaled } from '../helpers/time-scale.js';

/*
 * A small Runtime API (2018-06-01) for the Node runtime client's tests: invokes are queued and handed to `next`
 * calls, and each invoke resolves with what the runtime posted. It is not the emulator (that is tested against RIE
 * elsewhere): it records everything the client sends, so a test can look at the exact requests.
 */

export const runtimeClientEntry = path.join(repositoryRoot, 'build', 'src', 'runtime-client', 'node', 'index.js');

export interface Posted {
  kind: 'response' | 'error' | 'init-error';
  body: string;
  headers: http.IncomingHttpHeaders;
  /** Trailers of a streamed response. */
  trailers?: NodeJS.Dict<string>;
}

export interface InvokeOptions {
  requestId?: string;
  deadlineMs?: number;
  headers?: Record<string, string>;
}

interface Pending {
  requestId: string;
  payload: string;
  headers: Record<string, string>;
  resolve: (posted: Posted) => void;
}

export class FakeRuntimeApi {
  readonly server = http.createServer((request, response) => void this.handle(request, response));
  readonly initErrors: Posted[] = [];
  /** `next` calls waiting right now. */
  waitingNext = 0;
  private queue: Pending[] = [];
  private waiters: Array<(pending: Pending | undefined) => void> = [];
  private posted = new Map<string, Pending>();
  private counter = 0;
  private initErrorListeners: Array<(posted: Posted) => void> = [];

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  invoke(event: unknown, options: InvokeOptions = {}): Promise<Posted> {
    this.counter += 1;
    const requestId = options.requestId ?? `request-${this.counter}`;
    return new Promise((resolve) => {
      const pending: Pending = {
        requestId,
        payload: typeof event === 'string' ? event : JSON.stringify(event),
        headers: {
          'Lambda-Runtime-Aws-Request-Id': requestId,
          'Lambda-Runtime-Deadline-Ms': String(options.deadlineMs ?? Date.now() + 30_000),
          'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:123456789012:function:test-function',
          'Lambda-Runtime-Trace-Id': `Root=1-00000000-${String(this.counter).padStart(24, '0')};Sampled=0`,
          ...options.headers,
        },
        resolve,
      };
      this.dispatch(pending);
    });
  }

  /** To a waiting `next`, else to the queue. */
  private dispatch(pending: Pending): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(pending);
    else this.queue.push(pending);
  }

  nextInitError(): Promise<Posted> {
    const existing = this.initErrors[0];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => this.initErrorListeners.push(resolve));
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = request.url ?? '';
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (request.method === 'GET' && url === '/2018-06-01/runtime/invocation/next') {
      this.waitingNext += 1;
      const pending =
        this.queue.shift() ??
        (await new Promise<Pending | undefined>((resolve) => {
          this.waiters.push(resolve);
          // A client killed while it waits: its `next` takes no invoke.
          response.once('close', () => {
            const index = this.waiters.indexOf(resolve);
            if (index !== -1) this.waiters.splice(index, 1);
            resolve(undefined);
          });
        }));
      this.waitingNext -= 1;
      if (!pending) return;
      if (response.destroyed) {
        this.dispatch(pending);
        return;
      }
      this.posted.set(pending.requestId, pending);
      response.writeHead(200, { 'Content-Type': 'application/json', ...pending.headers });
      response.end(pending.payload);
      return;
    }
    if (request.method === 'POST' && url === '/2018-06-01/runtime/init/error') {
      const posted: Posted = { kind: 'init-error', body, headers: request.headers };
      this.initErrors.push(posted);
      for (const listener of this.initErrorListeners.splice(0)) listener(posted);
      response.writeHead(202, { 'Content-Type': 'application/json' }).end('{"status":"OK"}');
      return;
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    const pending = match && this.posted.get(decodeURIComponent(match[1]!));
    if (request.method === 'POST' && match && pending) {
      this.posted.delete(pending.requestId);
      const trailers = Object.keys(request.trailers).length > 0 ? { trailers: request.trailers } : {};
      pending.resolve({ kind: match[2] as 'response' | 'error', body, headers: request.headers, ...trailers });
      response.writeHead(202, { 'Content-Type': 'application/json' }).end('{"status":"OK"}');
      return;
    }
    response.writeHead(400, { 'Content-Type': 'application/json' });
    response.end('{"errorType":"InvalidStateTransition","errorMessage":"unknown request or state"}');
  }
}

export interface ClientProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** Starts the runtime client under `node` (default: this test's node) against `address`. */
export function startClient(
  address: string,
  taskRoot: string,
  handler: string,
  env: Record<string, string> = {},
  node = process.execPath,
): ClientProcess {
  const child = spawn(node, [runtimeClientEntry], {
    cwd: taskRoot,
    env: {
      PATH: process.env['PATH'] ?? '',
      AWS_LAMBDA_RUNTIME_API: address,
      LAMBDA_TASK_ROOT: taskRoot,
      _HANDLER: handler,
      AWS_LAMBDA_FUNCTION_NAME: 'test-function',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/test-function',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/07/[$LATEST]0123456789abcdef',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const killTimer = setTimeout(() => child.kill('SIGKILL'), scaled(60_000));
  void exited.then(() => clearTimeout(killTimer));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
