import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A Telemetry API subscriber that records what Lambda delivers, batch by
 * batch, as it arrives: a SHUTDOWN-only extension (as Managed Instances
 * allow) that subscribes with the given buffering and forwards each batch it
 * receives, untouched, to a collector in the test process. The same layer
 * runs under RIE's LMI mode and under ext dev, so that what each delivered
 * can be compared. The collector also hears how the subscription was answered.
 */

export interface RecordedBatch {
  /** Date.now() in the extension when the batch arrived. */
  arrivedMs: number;
  records: { time: string; type: string; record: unknown }[];
}

export interface Recording {
  subscription: { status: number; body: string } | undefined;
  batches: RecordedBatch[];
}

const recorderSource = `#!/usr/bin/env node
'use strict';
const http = require('node:http');
const path = require('node:path');
const [apiHost, apiPort] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const name = path.basename(__filename);
const collector = new URL(process.env.RECORDER_COLLECTOR);
const port = Number(process.env.RECORDER_PORT);
const buffering = process.env.RECORDER_BUFFERING ? JSON.parse(process.env.RECORDER_BUFFERING) : undefined;
const settleMs = Number(process.env.RECORDER_SETTLE_MS || 1000);
function call(options, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(options, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}
const api = (method, route, headers, body) => call({ host: apiHost, port: apiPort, path: route, method, headers }, body);
let forwarding = Promise.resolve();
function collect(message) {
  const body = JSON.stringify(message);
  forwarding = forwarding.then(() =>
    call({ host: collector.hostname, port: collector.port, path: '/', method: 'POST', headers: { 'Content-Type': 'application/json' } }, body).catch(() => undefined),
  );
  return forwarding;
}
const server = http.createServer((request, response) => {
  let text = '';
  request.on('data', (chunk) => (text += chunk));
  request.on('end', () => {
    collect({ kind: 'batch', arrivedMs: Date.now(), body: text });
    response.end('OK');
  });
});
server.listen(port, '0.0.0.0', async () => {
  const registered = await api('POST', '/2020-01-01/extension/register', { 'Lambda-Extension-Name': name }, JSON.stringify({ events: ['SHUTDOWN'] }));
  const id = registered.headers['lambda-extension-identifier'];
  const subscription = {
    schemaVersion: '2025-01-29',
    types: ['platform', 'function', 'extension'],
    destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain:' + port + '/' },
    ...(buffering === undefined ? {} : { buffering }),
  };
  const answer = await api('PUT', '/2022-07-01/telemetry', { 'Lambda-Extension-Identifier': id, 'Content-Type': 'application/json' }, JSON.stringify(subscription));
  await collect({ kind: 'subscription', status: answer.status, body: answer.body });
  console.log('recorder subscribed: ' + answer.status);
  for (;;) {
    const next = await api('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': id });
    const event = JSON.parse(next.body);
    if (event.eventType === 'SHUTDOWN') {
      // The last batches come during Shutdown: wait for them, within the deadline.
      const waitMs = Math.max(0, Math.min(settleMs, event.deadlineMs - Date.now() - 200));
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      await forwarding;
      process.exit(0);
    }
  }
});
`;

/** A layer folder holding the recorder as extensions/<name>. */
export async function recorderLayer(name = 'recorder'): Promise<string> {
  const layer = await mkdtemp(path.join(os.tmpdir(), 'cle-recorder-'));
  await mkdir(path.join(layer, 'extensions'));
  const file = path.join(layer, 'extensions', name);
  await writeFile(file, recorderSource);
  await chmod(file, 0o755);
  return layer;
}

export interface Collector {
  url: string;
  recording: Recording;
  close(): Promise<void>;
}

/** Where the recorder sends what it received; one collector per run. */
export async function startCollector(): Promise<Collector> {
  const recording: Recording = { subscription: undefined, batches: [] };
  const server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const message = JSON.parse(text) as { kind: string; status?: number; body: string; arrivedMs?: number };
      if (message.kind === 'subscription') {
        recording.subscription = { status: message.status ?? 0, body: message.body };
      } else {
        recording.batches.push({
          arrivedMs: message.arrivedMs ?? 0,
          records: JSON.parse(message.body) as RecordedBatch['records'],
        });
      }
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    recording,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Per record type, the sorted field names of its record, and of its `metrics` when it has some. */
export function fieldsByType(batches: readonly RecordedBatch[]): Map<string, string[]> {
  const fields = new Map<string, Set<string>>();
  for (const record of batches.flatMap((batch) => batch.records)) {
    const set = fields.get(record.type) ?? new Set<string>();
    fields.set(record.type, set);
    if (typeof record.record !== 'object' || record.record === null) {
      set.add(`(${typeof record.record})`);
      continue;
    }
    for (const [key, value] of Object.entries(record.record)) {
      set.add(key);
      if (key === 'metrics' && typeof value === 'object' && value !== null) {
        for (const metric of Object.keys(value)) set.add(`metrics.${metric}`);
      }
    }
  }
  return new Map(
    [...fields].sort(([left], [right]) => left.localeCompare(right)).map(([type, set]) => [type, [...set].sort()]),
  );
}
