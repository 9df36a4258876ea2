/**
 * Received records wait here until a sink ships them. The queue is bounded
 * by a number of records and by their total size: when a push would exceed
 * either, the oldest records are dropped and counted, so a dead destination
 * costs data, never memory.
 */

/** One record as Lambda delivered it, kept serialised: that is the form every sink ships. */
export interface QueuedRecord {
  /** The envelope's `type`, e.g. `platform.report` or `function`. */
  type: string;
  /** The whole envelope, `{"time":…,"type":…,"record":…}`, as one line of JSON. */
  json: string;
  /** Size of `json` in bytes; the byte limits count in it. */
  bytes: number;
}

export function queuedRecord(envelope: { time?: unknown; type?: unknown; record?: unknown }): QueuedRecord {
  const json = JSON.stringify({ time: envelope.time, type: envelope.type, record: envelope.record ?? null });
  return { type: typeof envelope.type === 'string' ? envelope.type : '', json, bytes: Buffer.byteLength(json) };
}

export interface DropCount {
  records: number;
  bytes: number;
}

export class BoundedQueue {
  readonly maxRecords: number;
  readonly maxBytes: number;
  // Oldest first; records[0, head) are already taken or dropped.
  #records: Array<QueuedRecord | undefined> = [];
  #head = 0;
  #bytes = 0;
  #dropped: DropCount = { records: 0, bytes: 0 };

  constructor(maxRecords: number, maxBytes: number) {
    if (!(maxRecords >= 1 && maxBytes >= 1)) throw new RangeError('queue limits must be at least 1');
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
  }

  get length(): number {
    return this.#records.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Records (and bytes) dropped since the queue was made. */
  get dropped(): DropCount {
    return { ...this.#dropped };
  }

  /** Appends records, dropping the oldest ones (queued or new) that do not fit. Never waits. */
  push(records: Iterable<QueuedRecord>): void {
    for (const record of records) {
      if (record.bytes > this.maxBytes) {
        // It would push out everything else and still not fit.
        this.#countDrop(record);
        continue;
      }
      this.#records.push(record);
      this.#bytes += record.bytes;
    }
    this.#trim();
  }

  /** The oldest record, left in place. */
  peek(): QueuedRecord | undefined {
    return this.#records[this.#head];
  }

  /**
   * Removes and returns the oldest records: at most `maxRecords` of them and
   * no more than `maxBytes` in total, unless the first record alone is larger.
   */
  take(maxRecords: number, maxBytes: number): QueuedRecord[] {
    const batch: QueuedRecord[] = [];
    let size = 0;
    while (this.#head < this.#records.length && batch.length < maxRecords) {
      const next = this.#records[this.#head]!;
      if (batch.length > 0 && size + next.bytes > maxBytes) break;
      batch.push(next);
      size += next.bytes;
      this.#records[this.#head++] = undefined;
    }
    this.#bytes -= size;
    this.#compact();
    return batch;
  }

  /**
   * Puts a batch that could not be shipped back in front, so it goes first
   * next time. If the queue filled up meanwhile, the oldest records, the
   * batch's own first, are dropped.
   */
  requeue(batch: readonly QueuedRecord[]): void {
    if (batch.length === 0) return;
    this.#records = [...batch, ...this.#records.slice(this.#head)];
    this.#head = 0;
    for (const record of batch) this.#bytes += record.bytes;
    this.#trim();
  }

  /** Drops the oldest records until both limits hold. */
  #trim(): void {
    while (this.length > this.maxRecords || this.#bytes > this.maxBytes) {
      const oldest = this.#records[this.#head]!;
      this.#records[this.#head++] = undefined;
      this.#bytes -= oldest.bytes;
      this.#countDrop(oldest);
    }
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#records.length) {
      this.#records = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head > this.#records.length / 2) {
      // Keep the array proportional to what is queued, without shifting on every take.
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
  }

  #countDrop(record: QueuedRecord): void {
    this.#dropped.records += 1;
    this.#dropped.bytes += record.bytes;
  }
}
