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
  /** Every batch POSTed, gunzipped and parsed, in arrival order. */
  batches: ShippedRecord[][];
  records(): ShippedRecord[];
  /** Requests that were not a gzip-compressed JSON array. */
  malformed: string[];
  close(): Promise<void>;
}

export type SinkBehaviour =
  /** Answers 200 at once. */
  | 'healthy'
  /** Reads the request, then never answers until closed. */
  | 'hanging';

/**
 * A destination for the telemetry templates' http sink, on 127.0.0.1. It
 * records every batch, so tests can check that each record arrives exactly
 * once.
 */
export async function startTelemetrySink(behaviour: SinkBehaviour = 'healthy'): Promise<TelemetrySink> {
  const batches: ShippedRecord[][] = [];
  const malformed: string[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (behaviour === 'hanging') return; // the socket stays open until close()
      try {
        const body = Buffer.concat(chunks);
        const text =
          request.headers['content-encoding'] === 'gzip' ? gunzipSync(body).toString('utf8') : body.toString('utf8');
        const batch = JSON.parse(text) as unknown;
        if (!Array.isArray(batch)) throw new Error('not an array');
        if (request.headers['content-encoding'] !== 'gzip') throw new Error('not gzip');
        batches.push(batch as ShippedRecord[]);
        response.writeHead(200).end();
      } catch (error) {
        malformed.push(String(error));
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ingest`,
    batches,
    records: () => batches.flat(),
    malformed,
    close: () =>
      new Promise<void>((resolve) => {
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
