import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One record as the telemetry templates ship it (Lambda's envelope). */
export interface ShippedRecord {
  time: string;
  type: string;
  record: unknown;
}

export interface TelemetrySink {
  url: string;
  /** Every batch accepted, gunzipped and parsed, in arrival order. */
  batches: ShippedRecord[][];
  records(): ShippedRecord[];
  /** Requests that were not a gzip-compressed JSON array. */
  malformed: string[];
  /** Requests received, answered or not. */
  readonly requests: number;
  close(): Promise<void>;
}

export interface SinkBehaviour {
  /** Answer this late (slower than a deadline); a batch counts as accepted only once answered. */
  delayMs?: number;
  /** Read each request, then never answer until closed. */
  hang?: boolean;
}

/**
 * A destination for the telemetry templates' http sink (Go and TypeScript),
 * on 127.0.0.1. It records every batch, so tests can check that each record
 * arrives exactly once.
 */
export async function startTelemetrySink(behaviour: SinkBehaviour = {}): Promise<TelemetrySink> {
  const batches: ShippedRecord[][] = [];
  const malformed: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let requests = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests += 1;
      if (behaviour.hang === true) return; // the socket stays open until close()
      let batch: ShippedRecord[];
      try {
        if (request.headers['content-encoding'] !== 'gzip') throw new Error('not gzip');
        const parsed = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as unknown;
        if (!Array.isArray(parsed)) throw new Error('not an array');
        batch = parsed as ShippedRecord[];
      } catch (error) {
        malformed.push(String(error));
        response.writeHead(400).end();
        return;
      }
      const answer = (): void => {
        // A client that gave up (deadline) did not get its batch accepted.
        if (request.socket.destroyed) return;
        batches.push(batch);
        response.writeHead(200).end();
      };
      if (behaviour.delayMs === undefined) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, behaviour.delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ingest`,
    batches,
    records: () => batches.flat(),
    malformed,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL where nothing listens: a port that was free a moment ago. */
export async function deadSinkUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/ingest`;
}
