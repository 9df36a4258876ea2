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
 * without touching the machine's own /opt or /var.
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
    const opt = path.join(workspace, 'opt');
    await cp(options.layerDirectory, opt, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    // Lambda's /opt and /var/task are readable by the sandbox user, which in managed-instances
    // mode RIE runs the extensions as; a private temp folder would be a LaunchError.
    await chmod(opt, 0o755);
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
    const [invokePort, apiPort] = [await freePort(), await freePort()];
    const managed = options.mode === 'managed-instances';
    // /var/task must exist for the managed-instances runtime lookup; a tmpfs on /var inside the
    // namespace gives it one without touching the machine's /var.
    const script = [
      'set -e',
      `mount --bind ${quote(opt)} /opt`,
      'mount -t tmpfs tmpfs /var',
      'mkdir -p /var/task',
      `mount --bind ${quote(task)} /var/task`,
      `exec ${quote(binary)} --runtime-interface-emulator-address 127.0.0.1:${invokePort} --runtime-api-address 127.0.0.1:${apiPort} ${managed ? '' : '/var/task/bootstrap'}`,
    ].join('\n');
    // A PID namespace of its own, with RIE as its init: when RIE ends, every process it started
    // (and anything they forked) ends with it, so concurrent runs leave nothing behind.
    const child = spawn(
      'unshare',
      [...namespaceFlags(), '--pid', '--fork', '--kill-child', '--mount-proc', 'sh', '-c', script],
      {
        env: {
          ...process.env,
          AWS_LAMBDA_FUNCTION_NAME: 'conformance',
          AWS_LAMBDA_FUNCTION_TIMEOUT: '10',
          ...(managed ? { AWS_LAMBDA_MAX_CONCURRENCY: String(options.concurrency ?? 2) } : {}),
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let running = true;
    void exited.then(() => (running = false));

    const invokes: { status: number; body: string }[] = [];
    for (let index = 0; index < options.invokes && running; index += 1) {
      invokes.push(await invoke(invokePort, options.invokeTimeoutMs ?? 15_000, () => running));
    }
    // unshare does not pass signals on: SIGTERM goes to RIE itself, the namespace's init.
    terminate(child.pid);
    const killer = setTimeout(() => child.kill('SIGKILL'), scaled(10_000));
    const exitCode = await exited;
    clearTimeout(killer);
    const extensionErrors = [...new Set(log.match(/Extension\.[A-Za-z]+/gu) ?? [])].sort();
    return { invokes, log, exitCode, extensionErrors };
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}

/** One invoke through RIE's invoke endpoint; retries the connection while RIE starts. */
async function invoke(
  port: number,
  timeoutMs: number,
  alive: () => boolean,
): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + scaled(timeoutMs);
  for (;;) {
    try {
      return await post(port, deadline - Date.now());
    } catch (error) {
      const refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      if (!refused || !alive() || Date.now() > deadline) return { status: 0, body: String(error) };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function post(port: number, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/2015-03-31/functions/function/invocations', agent: false },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.setTimeout(Math.max(timeoutMs, 1), () => request.destroy(new Error('invoke timed out')));
    request.on('error', reject);
    request.end('{}');
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
