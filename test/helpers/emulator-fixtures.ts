import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Emulator } from '../../src/core/emulator/index.js';

/**
 * Fixture extensions for the emulator tests: node scripts (the test machine
 * has node; /bin/sh cannot speak HTTP) whose behaviour is set by a JSON
 * object baked into the script.
 */
export interface FixtureBehaviour {
  /** Lambda-Extension-Name to send; default the file name. */
  registerAs?: string;
  events?: string[];
  acceptAccountId?: boolean;
  /** Before registering itself, register this internal extension (a name matching no file), ignoring the answer. */
  registerInternalFirst?: { name: string; events: string[] };
  /** When register is refused, exit with code 1 (default: keep sleeping). */
  exitOnRegisterFailure?: boolean;
  /** Write the process environment (one JSON object) to this file at start. */
  environmentFile?: string;
  /** Exit with `exitCode` (default 0) this long after registering, whatever it is doing. */
  exitAfterMs?: number;
  /** Never call register (sleeps instead). */
  neverRegister?: boolean;
  /** Report init/error after registering, then exit 1. */
  initError?: string;
  /** On the first INVOKE report exit/error, then exit 1. */
  exitError?: string;
  /** Exit with this code after that many INVOKE events. */
  exitAfterInvokes?: number;
  exitCode?: number;
  /** On INVOKE, never call next again. */
  hangOnInvoke?: boolean;
  /** Work this long after each INVOKE before calling next. */
  workMs?: number;
  /** On SHUTDOWN, keep running (and ignore SIGTERM). */
  ignoreShutdown?: boolean;
  /** Lines printed to stdout on each INVOKE. */
  printOnInvoke?: string[];
  /** Write every event received (one JSON line each) to this file. */
  eventsFile?: string;
  telemetry?: {
    port: number;
    /** Each received POST body is appended as one line. */
    file: string;
    types: string[];
    buffering?: { maxItems?: number; maxBytes?: number; timeoutMs?: number };
    schemaVersion?: string;
    /** The listener starts only this long after subscribing (it is "down" until then). */
    listenAfterMs?: number;
    /** The listener answers 503 for this long after it starts. */
    failForMs?: number;
    host?: string;
    /** The subscription's answer ({status, body}) is written here. */
    answerFile?: string;
  };
}

export const fixtureSource = (behaviour: FixtureBehaviour): string => `#!/usr/bin/env node
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const config = ${JSON.stringify(behaviour)};
const api = process.env.AWS_LAMBDA_RUNTIME_API;
const [host, port] = api.split(':');
const name = config.registerAs || path.basename(__filename);
const agent = new http.Agent({ keepAlive: true });
function call(method, route, headers, body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host, port, path: route, method, headers, agent }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}
const sleepForever = () => setInterval(() => {}, 1 << 30);
async function main() {
  if (config.environmentFile) fs.writeFileSync(config.environmentFile, JSON.stringify(process.env));
  if (config.neverRegister) return sleepForever();
  if (config.registerInternalFirst) {
    const internal = config.registerInternalFirst;
    await call('POST', '/2020-01-01/extension/register', { 'Lambda-Extension-Name': internal.name }, JSON.stringify({ events: internal.events }));
  }
  const headers = { 'Lambda-Extension-Name': name, 'Content-Type': 'application/json' };
  if (config.acceptAccountId) headers['Lambda-Extension-Accept-Feature'] = 'accountId';
  const registered = await call('POST', '/2020-01-01/extension/register', headers, JSON.stringify({ events: config.events || ['INVOKE', 'SHUTDOWN'] }));
  if (registered.status !== 200) {
    console.error('register failed', registered.status, registered.body);
    if (config.exitOnRegisterFailure) process.exit(1);
    return sleepForever();
  }
  const id = registered.headers['lambda-extension-identifier'];
  if (config.exitAfterMs !== undefined) setTimeout(() => process.exit(config.exitCode || 0), config.exitAfterMs);
  if (config.initError) {
    await call('POST', '/2020-01-01/extension/init/error', { 'Lambda-Extension-Identifier': id, 'Lambda-Extension-Function-Error-Type': config.initError }, JSON.stringify({ errorMessage: 'cannot start', errorType: config.initError }));
    process.exit(1);
  }
  if (config.telemetry) await subscribe(id);
  let invokes = 0;
  for (;;) {
    const next = await call('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': id });
    if (next.status !== 200) {
      console.error('next failed', next.status, next.body);
      return sleepForever();
    }
    const event = JSON.parse(next.body);
    if (config.eventsFile) fs.appendFileSync(config.eventsFile, JSON.stringify({ event, eventIdentifier: next.headers['lambda-extension-event-identifier'], registerBody: JSON.parse(registered.body) }) + '\\n');
    if (event.eventType === 'SHUTDOWN') {
      if (config.ignoreShutdown) {
        process.on('SIGTERM', () => {});
        return sleepForever();
      }
      process.exit(0);
    }
    invokes += 1;
    for (const line of config.printOnInvoke || []) console.log(line);
    if (config.exitError) {
      await call('POST', '/2020-01-01/extension/exit/error', { 'Lambda-Extension-Identifier': id, 'Lambda-Extension-Function-Error-Type': config.exitError }, '{}');
      process.exit(1);
    }
    if (config.exitAfterInvokes !== undefined && invokes >= config.exitAfterInvokes) process.exit(config.exitCode || 0);
    if (config.hangOnInvoke) return sleepForever();
    if (config.workMs) await new Promise((resolve) => setTimeout(resolve, config.workMs));
  }
}
async function subscribe(id) {
  const t = config.telemetry;
  const started = Date.now() + (t.listenAfterMs || 0);
  const server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => (text += chunk));
    request.on('end', () => {
      if (t.failForMs && Date.now() - started < t.failForMs) {
        response.writeHead(503);
        return response.end();
      }
      fs.appendFileSync(t.file, text.replace(/\\n/g, ' ') + '\\n');
      response.writeHead(200);
      response.end();
    });
  });
  const listen = () => server.listen(t.port, '0.0.0.0');
  if (t.listenAfterMs) setTimeout(listen, t.listenAfterMs); else await new Promise((resolve) => server.listen(t.port, '0.0.0.0', resolve));
  const body = { schemaVersion: t.schemaVersion || '2022-12-13', types: t.types, destination: { protocol: 'HTTP', URI: 'http://' + (t.host || 'sandbox.localdomain') + ':' + t.port + '/telemetry' } };
  if (t.buffering) body.buffering = t.buffering;
  const answer = await call('PUT', '/2022-07-01/telemetry', { 'Lambda-Extension-Identifier': id, 'Content-Type': 'application/json' }, JSON.stringify(body));
  if (answer.status !== 200) console.error('subscribe failed', answer.status, answer.body);
  if (t.answerFile) fs.writeFileSync(t.answerFile, JSON.stringify({ status: answer.status, body: answer.body }));
}
main().catch((error) => { console.error(error); sleepForever(); });
`;

export async function makeLayer(): Promise<string> {
  const layer = await mkdtemp(path.join(os.tmpdir(), 'ext-dev-test-'));
  await mkdir(path.join(layer, 'extensions'));
  return layer;
}

/**
 * An emulator held in Init for about 8 s (a long simulated runtime init) with one extension that only sleeps:
 * registration and subscriptions stay open, so that a test can send the API whatever it likes.
 */
export async function startIdleEmulator(): Promise<{ emulator: Emulator; api: string; close: () => Promise<void> }> {
  const layer = await makeLayer();
  await addFile(layer, 'sleeper', '#!/bin/sh\nexec sleep 30\n', 0o755);
  const emulator = new Emulator({ layerDirectory: layer, function: { initDurationMs: 8_000 }, initTimeoutMs: 9_000 });
  const api = await emulator.listen();
  void emulator.start();
  return {
    emulator,
    api,
    close: async () => {
      await emulator.close();
      await rm(layer, { recursive: true, force: true });
    },
  };
}

export async function addNodeExtension(
  layer: string,
  fileName: string,
  behaviour: FixtureBehaviour = {},
): Promise<string> {
  return addFile(layer, fileName, fixtureSource(behaviour), 0o755);
}

export async function addFile(
  layer: string,
  fileName: string,
  content: string | Buffer,
  mode: number,
): Promise<string> {
  const file = path.join(layer, 'extensions', fileName);
  await writeFile(file, content, { mode });
  await chmod(file, mode);
  return file;
}

/** A free TCP port (for fixture telemetry listeners). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = http.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: () => Record<string, unknown>;
}

/** A raw HTTP call against the emulator's API (no client library, no timeout). */
export function rawRequest(
  runtimeApi: string,
  method: string,
  route: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawResponse> {
  const [host, port] = runtimeApi.split(':');
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host, port: Number(port), path: route, method, headers, agent: false },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
