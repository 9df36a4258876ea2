import type { TimelineEntry } from '../emulator/index.js';
import { distribution, type Distribution } from './statistics.js';
import type { ShippedEnvelope } from './receiver.js';

/**
 * When each function log line was produced, and when the sink received it.
 * The emulator's timeline says when a line was produced (its `function-log`
 * entry is written as the line goes to the Telemetry API); the receiver says
 * when a `function` record arrived. A record is matched to a production by
 * its text (the request id is part of it when the runtime writes one): the
 * k-th arrival of a text is its k-th production, since the Telemetry API and
 * the templates keep the order of records.
 */
export class DeliveryTracker {
  /** Per record text: the production times not yet matched, oldest first from `next`. */
  private readonly waiting = new Map<string, { times: number[]; requestIds: (string | undefined)[]; next: number }>();
  private readonly delays: number[] = [];
  /** Each received line's request id, beside its delay in `delays`. */
  private readonly requestIds: (string | undefined)[] = [];
  linesProduced = 0;
  batches = 0;
  /** `function` records received that no production matches (duplicates, or lines the extension made up). */
  unexpectedRecords = 0;

  produced(record: unknown, atMs: number, requestId?: string): void {
    const key = recordKey(record);
    const entry = this.waiting.get(key);
    if (entry === undefined) this.waiting.set(key, { times: [atMs], requestIds: [requestId], next: 0 });
    else {
      entry.times.push(atMs);
      entry.requestIds.push(requestId);
    }
    this.linesProduced += 1;
  }

  /** One timeline entry: counts it when it is a function log line. */
  observe(entry: TimelineEntry, atMs: number): void {
    if (entry.kind === 'function-log') this.produced(functionRecordOf(entry), atMs, entry.requestId);
  }

  received(envelopes: readonly ShippedEnvelope[], atMs: number): void {
    this.batches += 1;
    for (const envelope of envelopes) {
      if (envelope.type !== 'function') continue;
      const key = recordKey(envelope.record);
      const entry = this.waiting.get(key);
      if (entry === undefined || entry.next >= entry.times.length) {
        this.unexpectedRecords += 1;
        continue;
      }
      this.delays.push(Math.max(0, atMs - entry.times[entry.next]!));
      this.requestIds.push(entry.requestIds[entry.next]);
      entry.next += 1;
      if (entry.next === entry.times.length) this.waiting.delete(key);
    }
  }

  get linesReceived(): number {
    return this.delays.length;
  }

  /** Each received line's delay, with the request id of the invoke that printed it. */
  deliveries(): { requestId: string | undefined; delayMs: number }[] {
    return this.delays.map((delayMs, index) => ({ requestId: this.requestIds[index], delayMs }));
  }

  /** p50, p99 and max of the delay from production to arrival, over the lines received. */
  deliveryDelay(): Distribution | undefined {
    return distribution(this.delays);
  }
}

function recordKey(record: unknown): string {
  return typeof record === 'string' ? `s${record}` : `j${JSON.stringify(record) ?? ''}`;
}

/**
 * The `function` record a `function-log` entry stands for: its `data.record`
 * when the emulator gives it, else the line as the timeline writes it,
 * `<time>\t<request id>\t<level>\t<line>`, without its prefix.
 */
export function functionRecordOf(entry: TimelineEntry): unknown {
  if (entry.data !== undefined && 'record' in entry.data) return entry.data['record'];
  const prefixed = /^[^\t]*\t[^\t]*\t[^\t]*\t/u.exec(entry.text);
  return prefixed === null ? entry.text : entry.text.slice(prefixed[0].length);
}
