import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * The local HTTP receiver `ext dev --sink` runs: the destination the
 * template's own http sink ships to. It takes what the templates send (a JSON
 * array of Lambda's `{time, type, record}` envelopes, gzip-compressed or not)
 * and hands each batch on with the moment it arrived. Anything else gets a
 * 400 and is counted, never thrown: the extension is under test, not us.
 */

/** One record as Lambda delivers it and the templates ship it. */
export interface ShippedEnvelope {
  time?: unknown;
  type?: unknown;
  record?: unknown;
}

/** A request body above this is refused (413): the templates' batches are far smaller. */
export const maxRequestBytes = 32 * 1024 * 1024;
/** Nor may a gzip body unpack to more than this. */
const maxUnpackedBytes = 128 * 1024 * 1024;

export interface SinkReceiver {
  /** `http://127.0.0.1:<port>/ingest` */
  readonly url: string;
  /** Requests that were not a JSON array (or too large). */
  readonly malformedRequests: number;
  close(): Promise<void>;
}

/** `onBatch` gets each accepted batch and `performance.now()` at its arrival, before the 200 goes out. */
export async function startSinkReceiver(
  onBatch: (envelopes: ShippedEnvelope[], receivedAtMs: number) => void,
): Promise<SinkReceiver> {
  let malformedRequests = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxRequestBytes && !refused) {
        refused = true;
        malformedRequests += 1;
        response.writeHead(413, { Connection: 'close' }).end();
        request.destroy();
      }
      if (!refused) chunks.push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      const receivedAtMs = performance.now();
      const envelopes = parseBatch(Buffer.concat(chunks), request.headers['content-encoding']);
      if (envelopes === undefined) {
        malformedRequests += 1;
        response.writeHead(400).end();
        return;
      }
      onBatch(envelopes, receivedAtMs);
      response.writeHead(200).end();
    });
    request.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ingest`,
    get malformedRequests() {
      return malformedRequests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The envelopes of one request body, or undefined when it is not a (gzipped) JSON array. */
export function parseBatch(body: Buffer, contentEncoding: string | undefined): ShippedEnvelope[] | undefined {
  try {
    const text =
      contentEncoding === 'gzip'
        ? gunzipSync(body, { maxOutputLength: maxUnpackedBytes }).toString('utf8')
        : body.toString('utf8');
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return undefined;
    return parsed.filter(
      (item): item is ShippedEnvelope => typeof item === 'object' && item !== null && !Array.isArray(item),
    );
  } catch {
    return undefined;
  }
}
