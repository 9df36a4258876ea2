/**
 * Helpers for the telemetry tests: a sink that records what it is given, a
 * way to play Lambda and POST a batch to the listener, and a destination
 * server for the http sink.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createLogger, type LogFields, type Logger } from '../src/log.js';
import { queuedRecord, type QueuedRecord } from '../src/queue.js';
import type { Sink } from '../src/sinks.js';

export interface Envelope {
  time: string;
  type: string;
  record: unknown;
}

export function envelope(type: string, record: unknown, time = '2024-01-01T00:00:00.000Z'): Envelope {
  return { time, type, record };
}

export const functionLine = (text: string): Envelope => envelope('function', text);

export function records(count: number, text = (index: number) => `line ${index}`): QueuedRecord[] {
  return Array.from({ length: count }, (_, index) => queuedRecord(functionLine(text(index))));
}

/** Records every batch; `fail` decides per call whether (and how) to fail instead. */
export class RecordingSink implements Sink {
  readonly kind = 'recording';
  readonly batches: Envelope[][] = [];
  /** The batch id of every call, failed or not. */
  readonly ids: string[] = [];
  calls = 0;
  fail: ((call: number, signal: AbortSignal) => Promise<void> | void) | undefined;

  async send(batch: readonly QueuedRecord[], signal: AbortSignal, batchId: string): Promise<void> {
    this.calls += 1;
    this.ids.push(batchId);
    await this.fail?.(this.calls, signal);
    this.batches.push(batch.map((record) => JSON.parse(record.json) as Envelope));
  }

  get shipped(): Envelope[] {
    return this.batches.flat();
  }
}

export function captureLog(level: Logger['level'] = 'debug', name = 'my-ext') {
  const lines: LogFields[] = [];
  const log = createLogger({ level, base: { extension: name }, write: (line) => lines.push(JSON.parse(line) as LogFields) });
  return { log, lines };
}

/** POSTs a body to the listener the way Lambda does (the emulator's Managed Instances mode POSTs to `/`). */
export async function deliver(port: number, body: unknown, method = 'POST', path = '/telemetry'): Promise<{ status: number; ms: number }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const started = performance.now();
  const request = http.request({ host: '127.0.0.1', port, path, method, headers: { 'Content-Type': 'application/json' } });
  request.end(text);
  const [response] = (await once(request, 'response')) as [http.IncomingMessage];
  response.resume();
  await once(response, 'end');
  return { status: response.statusCode ?? 0, ms: performance.now() - started };
}

export interface Destination {
  url: string;
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer; json: unknown }>;
  close(): Promise<void>;
}

/** A destination for the http sink; `answer` chooses each reply (default 200), or leaves it hanging. */
export async function startDestination(
  answer: (call: number) => { status: number; delayMs?: number; headers?: Record<string, string> } | 'hang' = () => ({ status: 200 }),
): Promise<Destination> {
  const requests: Destination['requests'] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      let json: unknown;
      try {
        json = JSON.parse((request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'));
      } catch {
        json = undefined;
      }
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body, json });
      const reply = answer(requests.length);
      if (reply === 'hang') return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        response.writeHead(reply.status, reply.headers).end('answer');
      }, reply.delayMs ?? 0);
      timers.add(timer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`,
    requests,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
