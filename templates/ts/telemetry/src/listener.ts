/**
 * The HTTP listener Lambda POSTs telemetry batches to. It answers at once:
 * the records go into the bounded queue (which drops the oldest when full)
 * and nothing on this path waits for a sink or logs, since a log line here
 * would come back as a record of its own.
 */
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { queuedRecord, type BoundedQueue, type QueuedRecord } from './queue.js';

/** Where Lambda POSTs the batches. */
export const listenerPath = '/telemetry';

/** The host name Lambda gives the execution environment, and connects to with deliveries. */
export const sandboxHost = 'sandbox.localdomain';

/** Resolves a host name to one IPv4 address, or rejects. */
export type Resolve = (host: string) => Promise<string>;

/**
 * /etc/hosts first, read directly: a sandbox that lists the name answers at
 * once, and a machine without it does not wait on a DNS server only to learn
 * that `.localdomain` is unknown. Then the system's resolver.
 */
const resolveIPv4: Resolve = async (host) => {
  let hosts = '';
  try {
    hosts = readFileSync('/etc/hosts', 'utf8');
  } catch {
    // No hosts file: ask the resolver.
  }
  return hostsFileAddress(hosts, host) ?? (await lookup(host, { family: 4 })).address;
};

/** The first IPv4 address a hosts file gives `host`, if any. */
export function hostsFileAddress(hosts: string, host: string): string | undefined {
  for (const line of hosts.split('\n')) {
    const [address, ...names] = line.replace(/#.*$/, '').trim().split(/\s+/);
    if (address !== undefined && /^\d{1,3}(\.\d{1,3}){3}$/.test(address) && names.some((name) => name.toLowerCase() === host)) return address;
  }
  return undefined;
}

/**
 * The address to listen on: sandbox.localdomain's where that name resolves
 * (on Lambda, as its docs ask), else 127.0.0.1 (a laptop, `ext dev`, a test).
 * Never every interface: anyone who could reach the port could post forged
 * records, and this extension would ship them.
 */
export async function listenerAddress(resolve: Resolve = resolveIPv4, timeoutMs = 1000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timedOut = new Promise<undefined>((done) => {
      timer = setTimeout(() => done(undefined), timeoutMs);
    });
    return (await Promise.race([resolve(sandboxHost), timedOut])) ?? loopback;
  } catch {
    return loopback;
  } finally {
    clearTimeout(timer);
  }
}

export const loopback = '127.0.0.1';

/**
 * Bounds one delivery. Lambda sends at most about twice the subscription's
 * maxBytes (1 MiB at most) plus metadata; anything far larger is not Lambda.
 */
export const maxBatchBodyBytes = 8 * 1024 * 1024;

/**
 * Recognises this extension's own output when Lambda delivers it back as an
 * `extension` record. Lambda delivers everything an extension prints back to
 * it; shipping those lines by printing them would print them again, forever.
 * Every line this extension prints (log lines and the stdout sink's lines) is
 * a JSON object whose `extension` member is its name. The line is parsed, not
 * searched: `{"extension": "my-ext"}` is ours too, a line quoting ours is not.
 */
export function ownOutputFilter(name: string): (envelope: { type?: unknown; record?: unknown }) => boolean {
  const isOwnLine = (line: string): boolean => {
    const text = line.trim();
    if (!text.startsWith('{') || !text.includes('extension')) return false;
    try {
      const fields: unknown = JSON.parse(text);
      return typeof fields === 'object' && fields !== null && (fields as Record<string, unknown>)['extension'] === name;
    } catch {
      return false;
    }
  };
  return ({ type, record }) => {
    // An empty name would claim every record whose `extension` is empty, as in the Go template.
    if (type !== 'extension' || name === '') return false;
    if (typeof record === 'string') return isOwnLine(record);
    // With the JSON log format Lambda may hand the line over already parsed, or wrapped with its text in `message`.
    if (typeof record === 'object' && record !== null) {
      const fields = record as Record<string, unknown>;
      if ('extension' in fields) return fields['extension'] === name;
      return typeof fields['message'] === 'string' && isOwnLine(fields['message']);
    }
    return false;
  };
}

export interface ListenerCounts {
  /** Records queued. */
  received: number;
  /** `extension` records that were this extension's own output, left out. */
  ownLines: number;
  /** Deliveries refused because they were not a JSON array of records. */
  rejected: number;
  /**
   * Records Lambda itself dropped before delivering them, as its
   * `platform.logsDropped` records say (this extension fell behind, or the
   * subscription's buffer overflowed). Those records are shipped too.
   */
  droppedByLambda: number;
}

/** How many undelivered-to-a-waiter runtimeDone request IDs the listener keeps. */
const maxRuntimeDoneKept = 64;

export class TelemetryListener {
  readonly counts: ListenerCounts = { received: 0, ownLines: 0, rejected: 0, droppedByLambda: 0 };
  readonly #queue: BoundedQueue;
  readonly #isOwnOutput: (envelope: { type?: unknown; record?: unknown }) => boolean;
  readonly #server: http.Server;
  readonly #arrivalWaiters = new Set<() => void>();
  #arrivals = 0;
  /** Request IDs of the platform.runtimeDone records delivered and not yet waited for (see waitRuntimeDone). */
  readonly #runtimeDone = new Set<string>();
  readonly #runtimeDoneWaiters = new Set<() => void>();

  constructor(queue: BoundedQueue, name: string) {
    this.#queue = queue;
    this.#isOwnOutput = ownOutputFilter(name);
    this.#server = http.createServer((request, response) => this.#handle(request, response));
    // Lambda keeps its connection open between deliveries; the environment
    // may be frozen meanwhile, so do not time idle sockets out early.
    this.#server.keepAliveTimeout = 60_000;
  }

  /** Deliveries accepted so far; compare two readings to see whether one came in between. */
  get arrivals(): number {
    return this.#arrivals;
  }

  /**
   * Binds `port` (0: a free one, so that two extensions never collide) on
   * `listenerAddress()`, falling back to 127.0.0.1 when that address is not
   * this machine's; resolves to the bound port.
   */
  async listen(port: number, resolve?: Resolve): Promise<number> {
    const address = await listenerAddress(resolve);
    try {
      await this.#bind(port, address);
    } catch (error) {
      if (address === loopback || (error as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw error;
      await this.#bind(port, loopback);
    }
    return (this.#server.address() as AddressInfo).port;
  }

  /** The address bound, once listening. */
  get address(): string | undefined {
    const bound = this.#server.address();
    return bound !== null && typeof bound === 'object' ? bound.address : undefined;
  }

  #bind(port: number, host: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => reject(error);
      this.#server.once('error', failed);
      this.#server.listen(port, host, () => {
        this.#server.off('error', failed);
        resolve();
      });
    });
  }

  /** Resolves at the next accepted delivery, or with false after `timeoutMs` or once `signal` aborts. */
  nextArrival(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (arrived: boolean): void => {
        clearTimeout(timer);
        this.#arrivalWaiters.delete(wake);
        signal?.removeEventListener('abort', quit);
        resolve(arrived);
      };
      const wake = (): void => done(true);
      const quit = (): void => done(false);
      const timer = setTimeout(quit, Math.max(0, timeoutMs));
      if (signal?.aborted) return quit();
      signal?.addEventListener('abort', quit, { once: true });
      this.#arrivalWaiters.add(wake);
    });
  }

  /**
   * Resolves true once Lambda has delivered platform.runtimeDone for
   * `requestId`: that invoke's function code has ended, and its log lines are
   * in. False at `deadline` (epoch ms) or once `signal` aborts.
   */
  waitRuntimeDone(requestId: string, deadline: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#runtimeDone.delete(requestId)) done(true);
      };
      const done = (seen: boolean): void => {
        clearTimeout(timer);
        this.#runtimeDoneWaiters.delete(check);
        signal?.removeEventListener('abort', quit);
        resolve(seen);
      };
      const quit = (): void => done(false);
      const timer = setTimeout(quit, Math.max(0, deadline - Date.now()));
      if (signal?.aborted) return quit();
      signal?.addEventListener('abort', quit, { once: true });
      this.#runtimeDoneWaiters.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (request.method !== 'POST' && request.method !== 'PUT') {
      request.resume();
      response.writeHead(405, { Allow: 'POST, PUT' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBatchBodyBytes) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    request.on('end', () => {
      if (tooLarge) {
        this.counts.rejected += 1;
        response.writeHead(413, { Connection: 'close' }).end();
        return;
      }
      const runtimeDone: string[] = [];
      const records = this.#decode(Buffer.concat(chunks, size).toString('utf8'), runtimeDone);
      if (records === undefined) {
        // Lambda retries failed deliveries; a malformed one would fail again,
        // so it is refused with a 4xx and counted, never logged from here.
        this.counts.rejected += 1;
        response.writeHead(400).end();
        return;
      }
      this.#queue.push(records);
      this.counts.received += records.length;
      this.#arrivals += 1;
      response.writeHead(200).end();
      for (const wake of [...this.#arrivalWaiters]) wake();
      if (runtimeDone.length > 0) {
        // IDs nobody waits for (invokes that do not wait, under periodic) are forgotten.
        if (this.#runtimeDone.size + runtimeDone.length > maxRuntimeDoneKept) this.#runtimeDone.clear();
        for (const id of runtimeDone) this.#runtimeDone.add(id);
        for (const check of [...this.#runtimeDoneWaiters]) check();
      }
    });
    request.on('error', () => {
      // The peer went away mid-request; Lambda will retry the delivery.
    });
  }

  #decode(body: string, runtimeDone: string[]): QueuedRecord[] | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
    if (!Array.isArray(parsed)) return undefined;
    const records: QueuedRecord[] = [];
    let droppedByLambda = 0;
    for (const envelope of parsed as unknown[]) {
      if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) return undefined;
      const fields = envelope as { time?: unknown; type?: unknown; record?: unknown };
      if (this.#isOwnOutput(fields)) {
        this.counts.ownLines += 1;
        continue;
      }
      if (fields.type === 'platform.logsDropped') droppedByLambda += droppedRecordsOf(fields.record);
      if (fields.type === 'platform.runtimeDone') {
        const requestId = (fields.record as { requestId?: unknown } | null)?.requestId;
        if (typeof requestId === 'string') runtimeDone.push(requestId);
      }
      records.push(queuedRecord(fields));
    }
    // Counted once the delivery is accepted, so a refused one (which Lambda retries) never counts twice.
    this.counts.droppedByLambda += droppedByLambda;
    return records;
  }
}

/** `droppedRecords` of a platform.logsDropped record: a count, or 0 when missing or not a count. */
function droppedRecordsOf(record: unknown): number {
  if (typeof record !== 'object' || record === null) return 0;
  const count = (record as Record<string, unknown>)['droppedRecords'];
  return typeof count === 'number' && Number.isSafeInteger(count) && count > 0 ? count : 0;
}
