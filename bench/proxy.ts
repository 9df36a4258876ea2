/**
 * The proxy template's cost per invoke: the same Node.js function (the
 * toolkit's runtime client and a handler that echoes its event) answers
 * invokes from a Runtime API stand-in in this process, once talking to it
 * directly and once through the generated extension's proxy. An invoke is
 * timed from the event leaving the stand-in to the response reaching it, so
 * the difference of the medians is what the proxy's two hops (the event in,
 * the response out) add. Batches alternate, direct then proxied, so that
 * drift in machine load hits both alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { median, timeCommand } from './measure.js';
import { absoluteRow, createBin, extBin, log, node, quick, root } from './rows.js';

/** The per-invoke budget of issue 33, in ms. */
const budgetMs = { go: 0.3, ts: 1 } as const;

async function proxyProject(workspace: string, language: 'go' | 'ts'): Promise<{ name: string; layer: string }> {
  const name = `bench-proxy-${language}`;
  const project = path.join(workspace, name);
  if (!existsSync(project)) {
    await timeCommand(node, [createBin, name, '--lang', language, '--template', 'proxy', '--yes'], { cwd: workspace });
    await timeCommand(node, [extBin, 'build', '--arch', 'x86_64'], { cwd: project });
  }
  return { name, layer: path.join(project, 'dist', 'x86_64') };
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Lambda's Extensions and Runtime APIs, as far as this bench needs them: the
 * extension registers and waits; the runtime gets one event at a time, and
 * each invoke's time is taken from handing the event out to the response.
 */
class RuntimeApiStandIn {
  readonly server: http.Server;
  registered: Promise<void>;
  #onRegistered = (): void => {};
  #parkedNext: http.ServerResponse | undefined;
  #pending: { id: string; resolve: (ms: number) => void; startedAt: number } | undefined;
  #count = 0;

  constructor() {
    this.registered = new Promise((resolve) => (this.#onRegistered = resolve));
    this.server = http.createServer((request, response) => this.#handle(request, response));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = request.url ?? '';
    if (url === '/2020-01-01/extension/register') {
      request.resume();
      response.writeHead(200, { 'lambda-extension-identifier': '00000000-0000-4000-8000-000000000000' });
      response.end('{"functionName":"bench","functionVersion":"$LATEST","handler":"index.handler"}');
      this.#onRegistered();
      return;
    }
    if (url === '/2020-01-01/extension/event/next') return; // parked until the bench ends
    if (url === '/2018-06-01/runtime/invocation/next') {
      this.#parkedNext = response;
      // A runtime stopped between batches leaves its call behind: never deliver to it.
      response.once('close', () => {
        if (this.#parkedNext === response) this.#parkedNext = undefined;
      });
      this.#deliver();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const finishedAt = performance.now();
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end('{"status":"OK"}');
      const pending = this.#pending;
      if (pending !== undefined && url.includes(`/${pending.id}/`)) {
        this.#pending = undefined;
        pending.resolve(finishedAt - pending.startedAt);
      }
    });
  }

  /** One invoke: resolves to its time in ms, once the runtime answers. */
  invoke(): Promise<number> {
    return new Promise((resolve) => {
      this.#count += 1;
      this.#pending = { id: `bench-${this.#count}`, resolve, startedAt: 0 };
      this.#deliver();
    });
  }

  #deliver(): void {
    const pending = this.#pending;
    const next = this.#parkedNext;
    if (pending === undefined || next === undefined || pending.startedAt !== 0 || next.socket?.destroyed !== false)
      return;
    this.#parkedNext = undefined;
    pending.startedAt = performance.now();
    next.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': pending.id,
      'lambda-runtime-deadline-ms': String(Date.now() + 60_000),
      'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:123456789012:function:bench',
    });
    next.end('{"key":"value"}');
  }
}

function startRuntime(taskRoot: string, runtimeApi: string): ChildProcess {
  return spawn(node, [path.join(root, 'build', 'src', 'runtime-client', 'node', 'index.js')], {
    env: {
      PATH: process.env['PATH'] ?? '',
      AWS_LAMBDA_RUNTIME_API: runtimeApi,
      _HANDLER: 'index.handler',
      LAMBDA_TASK_ROOT: taskRoot,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** The median added per invoke by the proxy of the `language` template. */
export async function proxyOverheadFigure(workspace: string, language: 'go' | 'ts'): Promise<void> {
  log(`${language} proxy template: time added per invoke`);
  const { name, layer } = await proxyProject(workspace, language);
  const taskRoot = path.join(workspace, 'bench-proxy-function');
  await mkdir(taskRoot, { recursive: true });
  await writeFile(path.join(taskRoot, 'index.mjs'), 'export const handler = async (event) => event;\n');
  const standIn = new RuntimeApiStandIn();
  const runtimeApi = await standIn.listen();
  const port = await freePort();
  const prefix = `${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_`;
  const extensionEnv = {
    PATH: process.env['PATH'] ?? '',
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    [`${prefix}PORT`]: String(port),
  };
  const extension =
    language === 'go'
      ? spawn(path.join(layer, 'extensions', name), [], { env: extensionEnv, stdio: ['ignore', 'ignore', 'inherit'] })
      : spawn(node, [path.join(layer, name, 'index.mjs')], {
          env: { ...extensionEnv, LAMBDA_EXTENSION_NAME: name },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
  try {
    await standIn.registered;
    const batch = async (address: string, invokes: number, keep: number[]): Promise<void> => {
      const runtime = startRuntime(taskRoot, address);
      try {
        // The first invokes warm the runtime's and the proxy's code and connections up.
        for (let index = 0; index < 20; index += 1) await standIn.invoke();
        for (let index = 0; index < invokes; index += 1) keep.push(await standIn.invoke());
      } finally {
        await stop(runtime);
      }
    };
    const direct: number[] = [];
    const proxied: number[] = [];
    const rounds = quick ? 2 : 5;
    const invokes = quick ? 100 : 300;
    for (let round = 0; round < rounds; round += 1) {
      await batch(runtimeApi, invokes, direct);
      await batch(`127.0.0.1:${port}`, invokes, proxied);
    }
    const added = median(proxied) - median(direct);
    absoluteRow(
      `proxy template (${language}): time added per invoke, median`,
      added,
      'ms',
      `≤ ${budgetMs[language]} ms`,
      added <= budgetMs[language],
      `${median(proxied).toFixed(3)} ms through the proxy vs ${median(direct).toFixed(3)} ms direct, ${direct.length} invokes each, the same Node.js function`,
    );
  } finally {
    await stop(extension);
    standIn.server.closeAllConnections();
    standIn.server.close();
  }
}
