import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { goInstall } from './go-install.js';
import { freePort } from './emulator-fixtures.js';
import { scaled } from './time-scale.js';

/**
 * AWS's Runtime Interface Emulator, the reference our `ext dev` is checked
 * against. Installed with `go install` from the Go module proxy at a pinned
 * version into the tests' cache folder, once. Layers run under it in a
 * private mount namespace, so that their folder can be mounted at /opt
 * without touching the machine's own /opt or /var: beside a stand-in
 * runtime (runUnderRie), or beside a real function whose folder is mounted
 * at /var/task (runFunctionUnderRie, with what RIE does for it written
 * down above that function).
 */
export const rieModule = 'github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie';
export const rieVersion = 'v0.0.0-20261030222936-bef5c4ba774d';

export type RieAvailability = { binary: string } | { skip: string };

let availability: Promise<RieAvailability> | undefined;

/** The RIE binary, or one line saying why the conformance suite cannot run here. */
export function rieBinary(): Promise<RieAvailability> {
  availability ??= findOrInstall();
  return availability;
}

async function findOrInstall(): Promise<RieAvailability> {
  if (process.platform !== 'linux') return { skip: 'RIE and mount namespaces need Linux' };
  const unshare = spawnSync('unshare', [...namespaceFlags(), 'true'], { stdio: 'ignore' });
  if (unshare.error !== undefined || unshare.status !== 0) {
    return { skip: 'cannot create a private mount namespace here (unshare --mount failed)' };
  }
  return goInstall(rieModule, rieVersion, `rie-${rieVersion}`);
}

/** As root a plain mount namespace is enough; anyone else maps themselves to root inside a user namespace. */
function namespaceFlags(): string[] {
  const root = process.getuid?.() === 0;
  return [...(root ? [] : ['--map-root-user']), '--mount', '--propagation', 'private'];
}

/**
 * The smallest runtime that answers every invoke: it prints `functionLines`
 * lines (the function's own log output), then returns `{"ok":true}`.
 */
function runtimeSource(functionLines: number, runtimeNode?: string, durationMs = 0): string {
  return `#!${runtimeNode ?? '/usr/bin/env node'}
'use strict';
const http = require('node:http');
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true });
function call(method, route, body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host, port, path: route, method, agent }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ headers: response.headers, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}
async function serve() {
  for (;;) {
    const next = await call('GET', '/2018-06-01/runtime/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    for (let line = 0; line < ${functionLines}; line += 1) console.log('conformance function line ' + line + ' of ' + id);
    await new Promise((resolve) => setTimeout(resolve, ${durationMs}));
    await call('POST', '/2018-06-01/runtime/invocation/' + id + '/response', '{"ok":true}');
  }
}
// Managed instances run several invokes at once: one loop per slot.
const slots = Number(process.env.AWS_LAMBDA_MAX_CONCURRENCY || 1);
for (let slot = 0; slot < slots; slot += 1) serve().catch((error) => { console.error(error); process.exit(1); });
`;
}

/**
 * The same stand-in runtime in sh and curl: it starts in milliseconds where
 * node can take seconds on a loaded machine, and RIE's Init waits for it, so
 * timing-sensitive cases keep their phases apart.
 */
function shellRuntimeSource(durationMs: number): string {
  const seconds = `${Math.floor(durationMs / 1000)}.${String(durationMs % 1000).padStart(3, '0')}`;
  return `#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
serve() {
  headers=$(mktemp)
  while :; do
    curl -s -D "$headers" -o /dev/null "$api/invocation/next" || exit 1
    id=$(sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: *//p' "$headers" | tr -d '\r')
    echo "conformance function line 0 of $id"
    sleep ${seconds}
    curl -s -o /dev/null -X POST -d '{"ok":true}' "$api/invocation/$id/response"
  done
}
slots=\${AWS_LAMBDA_MAX_CONCURRENCY:-1}
while [ "$slots" -gt 0 ]; do serve & slots=$((slots - 1)); done
wait
`;
}

export interface RieRunOptions {
  /** The layer folder (what becomes /opt). It is copied, so RIE's /opt/bootstrap can sit beside it. */
  layerDirectory: string;
  mode: 'on-demand' | 'managed-instances';
  invokes: number;
  /** AWS_LAMBDA_MAX_CONCURRENCY in managed-instances mode. Default 2. */
  concurrency?: number;
  functionLines?: number;
  env?: Record<string, string>;
  /** How long to wait for each invoke's answer before giving up on it. Default 15 s. */
  invokeTimeoutMs?: number;
  /** The node that runs the stand-in function runtime, by absolute path, so PATH may hold none. Default: PATH's. */
  runtimeNode?: string;
  /** How long the stand-in function works on each invoke (as `ext dev --function-duration`). Default 0. */
  functionDurationMs?: number;
  /** `sh`: the stand-in runtime in sh and curl (one function line per invoke). Default `node`. */
  runtime?: 'node' | 'sh';
}

export interface RieRun {
  /** Each invoke's HTTP status and body, or the error when RIE did not answer. */
  invokes: { status: number; body: string }[];
  /** Everything RIE and the processes it started printed. */
  log: string;
  exitCode: number | null;
  /** `Extension.*` error types RIE recorded. */
  extensionErrors: string[];
}

/** Runs a layer under RIE: starts it, invokes it `invokes` times, then stops it with SIGTERM as Lambda's shutdown. */
export async function runUnderRie(binary: string, options: RieRunOptions): Promise<RieRun> {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'cle-rie-'));
  try {
    const task = path.join(workspace, 'task');
    await mkdir(task, { mode: 0o755 });
    const bootstrap = path.join(task, 'bootstrap');
    await writeFile(
      bootstrap,
      options.runtime === 'sh'
        ? shellRuntimeSource(options.functionDurationMs ?? 0)
        : runtimeSource(options.functionLines ?? 1, options.runtimeNode, options.functionDurationMs ?? 0),
    );
    await chmod(bootstrap, 0o755);
    const managed = options.mode === 'managed-instances';
    const run = await runInNamespace(binary, {
      workspace,
      layerDirectory: options.layerDirectory,
      taskDirectory: task,
      // In managed-instances mode RIE finds /var/task/bootstrap itself (and takes no command).
      rieArguments: managed ? [] : ['/var/task/bootstrap'],
      env: {
        AWS_LAMBDA_FUNCTION_NAME: 'conformance',
        AWS_LAMBDA_FUNCTION_TIMEOUT: '10',
        ...(managed ? { AWS_LAMBDA_MAX_CONCURRENCY: String(options.concurrency ?? 2) } : {}),
        ...options.env,
      },
      requests: Array.from({ length: options.invokes }, () => ({ payload: '{}' })),
      invokeTimeoutMs: options.invokeTimeoutMs ?? 15_000,
    });
    return {
      invokes: run.invokes.map(({ status, body }) => ({ status, body })),
      log: run.log,
      exitCode: run.exitCode,
      extensionErrors: run.extensionErrors,
    };
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}

/*
 * A real function under RIE (runFunctionUnderRie). What the pinned RIE does, read in its source
 * (github.com/aws/aws-lambda-runtime-interface-emulator at bef5c4ba774d, classic on-demand mode), and so what the
 * conformance tier holds `ext dev` to or lists as an agreed difference:
 *
 * - The runtime: with arguments, RIE execs them as the bootstrap in its own working directory; the last of two or
 *   more is also taken as the handler (`_HANDLER`). Without, it looks for /var/task/bootstrap, /opt/bootstrap,
 *   /var/runtime/bootstrap in that order, with /var/task as the working directory (internal/lambda/rie/run.go,
 *   getBootstrap; internal/lambda/rie/simple_bootstrap.go).
 * - The environment: every variable RIE itself was given reaches the runtime; `_HANDLER` comes from
 *   AWS_LAMBDA_FUNCTION_HANDLER, else `_HANDLER` (internal/lambda/rie/handlers.go, InitHandler;
 *   internal/lambda/rapidcore/env/environment.go, RuntimeExecEnv). LAMBDA_TASK_ROOT and AWS_EXECUTION_ENV are
 *   passed through only when set (rapidcore/env/constants.go, predefinedRuntimeEnvVarKeys): RIE sets neither.
 * - AWS_LAMBDA_EXEC_WRAPPER: RIE does nothing with it (no file of its source names it). In Lambda it is the managed
 *   runtime's own bootstrap script that execs `$AWS_LAMBDA_EXEC_WRAPPER <runtime command…>`, and provided.al2023
 *   ignores it. So the runner below starts a managed runtime through a /var/runtime/bootstrap script that does
 *   the same; a `provided` function's /var/task/bootstrap runs as it is.
 * - Runtime API headers: `Lambda-Runtime-Aws-Request-Id` is the invoke's X-Amzn-RequestId, else a random UUID;
 *   `Lambda-Runtime-Invoked-Function-Arn` is always `arn:aws:lambda:us-east-1:012345678912:function:<name>`
 *   (AWS_LAMBDA_FUNCTION_NAME, default test_function); `Lambda-Runtime-Trace-Id` never, even when the invoke
 *   carries X-Amzn-Trace-Id: the header comes from the tracer, a no-op in RIE (rapidcore/sandbox_builder.go,
 *   internal/lambda/telemetry/tracer.go, BuildTracingHeader); `Lambda-Runtime-Deadline-Ms` is the invoke's
 *   start plus AWS_LAMBDA_FUNCTION_TIMEOUT
 *   (default 300 s) in epoch ms (rie/handlers.go, InvokeHandler; internal/lambda/rapi/rendering/rendering.go,
 *   RenderRuntimeEvent; rapidcore/server.go, Invoke).
 * - The invoke's answer: the response body as the runtime posted it, status 200. RIE collects the answer through
 *   a ResponseWriterProxy whose Header() is a fresh map each call (rie/util.go), so no header the runtime or
 *   rapid sets reaches the caller: no X-Amz-Function-Error, and Content-Type is Go's sniffed `text/plain`.
 * - A function error (…/error): the error body as posted (`{errorMessage, errorType, stackTrace}` from the
 *   runtime client), status 200, and the environment is kept (rapi/handler/invocationerror.go;
 *   rapidcore/server.go, SendErrorResponse). Observed: no SHUTDOWN, the next invoke goes to the same runtime.
 * - A timeout: after AWS_LAMBDA_FUNCTION_TIMEOUT seconds RIE resets the environment (SHUTDOWN, reason
 *   `Timeout`, to the extensions) and answers 200 with the plain text `Task timed out after N.00 seconds`
 *   (rie/handlers.go, case ErrInvokeTimeout; rapidcore/server.go, Invoke); the next invoke runs a new Init.
 * - An Init error (the runtime posts /runtime/init/error and exits, as awslambdaric does on an import error):
 *   502 with the body the runtime posted; the extensions get SHUTDOWN `spindown` and every later invoke runs
 *   Init again inside the invoke ("suppressed init"), failing the same way and ending in SHUTDOWN
 *   `ReleaseFail` (rapidcore/server.go, Invoke: awaitInitialized, setCachedInitErrorResponse, Shutdown;
 *   rie/handlers.go, case ErrInitDoneFailed; rapi/handler/initerror.go).
 * - A response over the limit: interop.MaxPayloadSize is 6 MiB + 100 bytes (6,291,556; internal/lambda/interop/
 *   model.go). The runtime's POST gets 413 `{"errorMessage":"Exceeded maximum allowed payload size (6291556
 *   bytes).","errorType":"RequestEntityTooLarge"}` (rapi/rendering/render_error.go); the invoke gets 502
 *   `{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size exceeded maximum
 *   allowed payload size (6291556 bytes)."}` (interop/model.go, ErrorResponseTooLarge.AsErrorResponse;
 *   rapi/handler/invocationresponse.go; rie/handlers.go, case ErrInvokeDoneFailed), and the environment is
 *   reset (SHUTDOWN `ReleaseFail`; rapidcore/server.go, Invoke).
 * - The runtime exits in the middle of an invoke: 502 `{"errorType":"Runtime.ExitError","errorMessage":"RequestId:
 *   <id> Error: Runtime exited with error: exit status N"}`, SHUTDOWN `ReleaseFail`, a new Init at the next invoke
 *   (rapidcore/server.go, Invoke; interop/model.go, GetErrorResponseWithFormattedErrorMessage).
 * - A streamed response (`Lambda-Runtime-Function-Response-Mode: streaming`, chunked): accepted, and the invoke
 *   gets the assembled body, status 200 (rapi/handler/invocationresponse.go; rapidcore/server.go,
 *   sendResponseUnsafe reads the whole stream when the invoke is not a direct one, and RIE's never are).
 * - At the end, SIGTERM: SHUTDOWN `SandboxTerminated` to the extensions.
 * - In LMI mode (managedInstances below; internal/lambda-managed-instances/) much of this differs, as observed: the
 *   answer does carry headers (Content-Type `application/json`, Lambda-Runtime-Function-Response-Mode, and for a
 *   function error `Error-Type`, the runtime's type passed through GetValidRuntimeOrFunctionErrorType, so
 *   `Runtime.Unknown` for a `ConformanceError`); the ARN's account is 123456789012; the extensions run as a
 *   sandbox user, not root, and get SHUTDOWN `spindown` at the end.
 */

/** What the caller of Invoke sends: the payload, and the invoke request's own headers (X-Amzn-Trace-Id, …). */
export interface RieInvokeRequest {
  payload: string;
  headers?: Record<string, string>;
}

/** What the caller of Invoke got from RIE. */
export interface RieInvoke {
  /** The HTTP status, or 0 when RIE did not answer (then `body` holds the error). */
  status: number;
  body: string;
  /** The response's headers, lower-case names (RIE sends no X-Amz-Function-Error: see above). */
  headers: Record<string, string>;
}

export interface RieFunctionOptions {
  /** The function's code, mounted at /var/task (not copied: Lambda's /var/task is the function's, read-only). */
  taskDirectory: string;
  /** The layer folder mounted at /opt (copied); none: an empty /opt. */
  layerDirectory?: string;
  /**
   * A managed runtime's command, as its bootstrap would exec it (absolute paths: `python3 -m awslambdaric
   * handler.handle`, `node …/runtime-client/node/index.js`); it runs from /var/runtime/bootstrap, which honours
   * AWS_LAMBDA_EXEC_WRAPPER as Lambda's managed runtimes do. None: a provided runtime, /var/task/bootstrap.
   */
  command?: string[];
  /** `_HANDLER`. */
  handler?: string;
  /** AWS_LAMBDA_EXEC_WRAPPER, as the function's configuration sets it (e.g. `/opt/wrapper`). */
  execWrapper?: string;
  /** AWS_EXECUTION_ENV, e.g. `AWS_Lambda_python3.11` (RIE sets none). */
  executionEnvironment?: string;
  /** The invokes, in order: a payload, or a payload with the invoke request's headers. */
  events: (string | RieInvokeRequest)[];
  /** AWS_LAMBDA_FUNCTION_TIMEOUT. Default 10. */
  timeoutSeconds?: number;
  /** AWS_LAMBDA_FUNCTION_NAME. Default `conformance`. */
  functionName?: string;
  /** More environment for RIE, the runtime and the extensions. */
  env?: Record<string, string>;
  /** How long to wait for each invoke's answer. Default 15 s, plus the function timeout. */
  invokeTimeoutMs?: number;
  /** Send the invokes over one kept-alive connection (the bench), rather than one connection each. */
  keepAlive?: boolean;
  /**
   * Lambda Managed Instances: RIE's LMI mode (AWS_LAMBDA_MAX_CONCURRENCY set; cmd/aws-lambda-rie/main.go), which
   * takes the bootstrap the same way (internal/lambda-managed-instances/aws-lambda-rie/internal/init.go,
   * getBootstrap). The invokes are still sent one after another.
   */
  managedInstances?: { concurrency: number };
}

export interface RieFunctionRun {
  invokes: RieInvoke[];
  /** Everything RIE, the runtime and the extensions printed. */
  log: string;
  exitCode: number | null;
  /** `Extension.*` error types RIE recorded. */
  extensionErrors: string[];
}

/**
 * Runs a real function (and optionally a layer) under RIE: one RIE start, the events invoked one after another,
 * then SIGTERM as Lambda's shutdown. The function's folder is /var/task, the layer /opt, in a private mount and
 * PID namespace, so the machine's own /opt and /var are untouched and nothing outlives the run.
 */
export async function runFunctionUnderRie(binary: string, options: RieFunctionOptions): Promise<RieFunctionRun> {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'cle-rie-function-'));
  try {
    let runtimeDirectory: string | undefined;
    if (options.command !== undefined) {
      runtimeDirectory = path.join(workspace, 'runtime');
      await mkdir(runtimeDirectory, { mode: 0o755 });
      const command = options.command.map(quote).join(' ');
      // As the bootstrap scripts of Lambda's managed runtimes: the wrapper, when set, is given the whole command.
      await writeFile(
        path.join(runtimeDirectory, 'bootstrap'),
        [
          '#!/bin/sh',
          `if [ -n "\${AWS_LAMBDA_EXEC_WRAPPER:-}" ]; then exec "$AWS_LAMBDA_EXEC_WRAPPER" ${command}; fi`,
          `exec ${command}`,
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
    }
    const timeoutSeconds = options.timeoutSeconds ?? 10;
    return await runInNamespace(binary, {
      workspace,
      ...(options.layerDirectory === undefined ? {} : { layerDirectory: options.layerDirectory }),
      taskDirectory: options.taskDirectory,
      ...(runtimeDirectory === undefined ? {} : { runtimeDirectory }),
      // One argument: the bootstrap, run in /var/task (the script cds there), with no handler taken from it.
      rieArguments: runtimeDirectory === undefined ? ['/var/task/bootstrap'] : ['/var/runtime/bootstrap'],
      env: {
        AWS_LAMBDA_FUNCTION_NAME: options.functionName ?? 'conformance',
        AWS_LAMBDA_FUNCTION_TIMEOUT: String(timeoutSeconds),
        LAMBDA_TASK_ROOT: '/var/task',
        ...(runtimeDirectory === undefined ? {} : { LAMBDA_RUNTIME_DIR: '/var/runtime' }),
        ...(options.handler === undefined ? {} : { _HANDLER: options.handler }),
        ...(options.execWrapper === undefined ? {} : { AWS_LAMBDA_EXEC_WRAPPER: options.execWrapper }),
        ...(options.executionEnvironment === undefined ? {} : { AWS_EXECUTION_ENV: options.executionEnvironment }),
        ...(options.managedInstances === undefined
          ? {}
          : { AWS_LAMBDA_MAX_CONCURRENCY: String(options.managedInstances.concurrency) }),
        ...options.env,
      },
      requests: options.events.map((event) => (typeof event === 'string' ? { payload: event } : event)),
      invokeTimeoutMs: (options.invokeTimeoutMs ?? 15_000) + timeoutSeconds * 1000,
      keepAlive: options.keepAlive ?? false,
    });
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}

interface NamespaceRun {
  workspace: string;
  layerDirectory?: string;
  taskDirectory: string;
  runtimeDirectory?: string;
  rieArguments: string[];
  env: Record<string, string>;
  requests: RieInvokeRequest[];
  invokeTimeoutMs: number;
  keepAlive?: boolean;
}

/**
 * runInNamespaceOnce, again with fresh ports when RIE could not bind its own: a port free when freePort saw
 * it can be taken by a concurrent test before RIE listens, on a busy machine. RIE then exits before starting
 * anything, so a second start changes nothing else.
 */
async function runInNamespace(binary: string, run: NamespaceRun): Promise<RieFunctionRun> {
  for (let attempt = 1; ; attempt += 1) {
    const result = await runInNamespaceOnce(binary, run);
    if (attempt === 3 || !/could not start .*bind: address already in use/u.test(result.log)) return result;
    await rm(path.join(run.workspace, 'opt'), { recursive: true, force: true });
  }
}

/** Starts RIE in its own mount and PID namespace, sends the invokes one by one, then stops it. */
async function runInNamespaceOnce(binary: string, run: NamespaceRun): Promise<RieFunctionRun> {
  const opt = path.join(run.workspace, 'opt');
  if (run.layerDirectory === undefined) await mkdir(opt);
  else await cp(run.layerDirectory, opt, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  // Lambda's /opt and /var/task are readable by the sandbox user, which in managed-instances
  // mode RIE runs the extensions as; a private temp folder would be a LaunchError.
  await chmod(opt, 0o755);
  const [invokePort, apiPort] = [await freePort(), await freePort()];
  // /var/task must exist for the managed-instances runtime lookup; a tmpfs on /var inside the
  // namespace gives it one without touching the machine's /var.
  const script = [
    'set -e',
    `mount --bind ${quote(opt)} /opt`,
    'mount -t tmpfs tmpfs /var',
    'mkdir -p /var/task /var/runtime',
    `mount --bind ${quote(run.taskDirectory)} /var/task`,
    ...(run.runtimeDirectory === undefined ? [] : [`mount --bind ${quote(run.runtimeDirectory)} /var/runtime`]),
    // With a bootstrap argument RIE runs it in its own working directory (rie/run.go, getBootstrap).
    'cd /var/task',
    `exec ${quote(binary)} --runtime-interface-emulator-address 127.0.0.1:${invokePort} --runtime-api-address 127.0.0.1:${apiPort} ${run.rieArguments.map(quote).join(' ')}`,
  ].join('\n');
  // A PID namespace of its own, with RIE as its init: when RIE ends, every process it started
  // (and anything they forked) ends with it, so concurrent runs leave nothing behind.
  const child = spawn(
    'unshare',
    [...namespaceFlags(), '--pid', '--fork', '--kill-child', '--mount-proc', 'sh', '-c', script],
    { env: { ...process.env, ...run.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));

  const invokes: RieInvoke[] = [];
  const agent = run.keepAlive === true ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
  for (const request of run.requests) {
    if (!running) break;
    invokes.push(await invoke(invokePort, request, run.invokeTimeoutMs, () => running, agent));
  }
  if (agent !== false) agent.destroy();
  // unshare does not pass signals on: SIGTERM goes to RIE itself, the namespace's init.
  terminate(child.pid);
  const killer = setTimeout(() => child.kill('SIGKILL'), scaled(10_000));
  const exitCode = await exited;
  clearTimeout(killer);
  const extensionErrors = [...new Set(log.match(/Extension\.[A-Za-z]+/gu) ?? [])].sort();
  return { invokes, log, exitCode, extensionErrors };
}

/** One invoke through RIE's invoke endpoint; retries the connection while RIE starts. */
async function invoke(
  port: number,
  request: RieInvokeRequest,
  timeoutMs: number,
  alive: () => boolean,
  agent: http.Agent | false,
): Promise<RieInvoke> {
  const deadline = Date.now() + scaled(timeoutMs);
  for (;;) {
    try {
      return await post(port, request, deadline - Date.now(), agent);
    } catch (error) {
      const refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      if (!refused || !alive() || Date.now() > deadline) return { status: 0, body: String(error), headers: {} };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function post(
  port: number,
  invokeRequest: RieInvokeRequest,
  timeoutMs: number,
  agent: http.Agent | false,
): Promise<RieInvoke> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/2015-03-31/functions/function/invocations',
        agent,
        headers: invokeRequest.headers ?? {},
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers });
        });
      },
    );
    request.setTimeout(Math.max(timeoutMs, 1), () => request.destroy(new Error('invoke timed out')));
    request.on('error', reject);
    request.end(invokeRequest.payload);
  });
}

/** Sends SIGTERM to the process `unshare --fork` started (RIE, once the script has exec'd it). */
function terminate(unsharePid: number | undefined): void {
  if (unsharePid === undefined) return;
  let children: string;
  try {
    children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8');
  } catch {
    return; // already gone
  }
  for (const pid of children.trim().split(/\s+/u).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGTERM');
    } catch {
      // exited meanwhile
    }
  }
}

function quote(text: string): string {
  return `'${text.replace(/'/gu, `'\\''`)}'`;
}
