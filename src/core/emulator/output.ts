import type { OutputReport, TimelineEntry, TimelineKind } from './types.js';

/**
 * Extension output is untrusted and unbounded: an extension may print
 * gigabytes, or one line that never ends. Everything here keeps memory
 * bounded whatever it prints: lines are cut while they stream, and the
 * timeline keeps its first and last entries with a count of what it left out.
 */

/** Bytes kept of one output line; Lambda itself splits log lines at 256 KB, and nobody reads more. */
export const maxOutputLineBytes = 16 * 1024;

/** What an output line says when it was cut. */
export function cutLineMarker(droppedBytes: number): string {
  return `… (line cut: ${droppedBytes} more bytes left out)`;
}

/**
 * Splits a byte stream into lines (LF, with a CR before it dropped) and never
 * holds more than `maxLineBytes` of a line: the rest is counted, not kept, so
 * a line with no newline cannot grow without bound.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private keptBytes = 0;
  private droppedBytes = 0;

  constructor(
    private readonly onLine: (line: string, droppedBytes: number) => void,
    private readonly maxLineBytes = maxOutputLineBytes,
  ) {}

  write(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.keep(chunk.subarray(start, end));
      if (newline === -1) break;
      this.emit();
      start = newline + 1;
    }
  }

  /** The last line, when the stream ended without a newline. */
  end(): void {
    if (this.keptBytes > 0 || this.droppedBytes > 0) this.emit();
  }

  private keep(piece: Buffer): void {
    const room = this.maxLineBytes - this.keptBytes;
    if (piece.length <= room) {
      // A copy: a subarray would pin the whole 64 KiB chunk it came from.
      if (piece.length > 0) this.parts.push(Buffer.from(piece));
      this.keptBytes += piece.length;
      return;
    }
    if (room > 0) this.parts.push(Buffer.from(piece.subarray(0, room)));
    this.keptBytes += Math.max(0, room);
    this.droppedBytes += piece.length - Math.max(0, room);
  }

  private emit(): void {
    let bytes = Buffer.concat(this.parts, this.keptBytes);
    const dropped = this.droppedBytes;
    if (dropped === 0 && bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, -1);
    this.parts = [];
    this.keptBytes = 0;
    this.droppedBytes = 0;
    this.onLine(bytes.toString('utf8'), dropped);
  }
}

export interface TimelineLimits {
  /** Entries kept from the start of the run. */
  headEntries: number;
  /** Entries kept from the end of the run. */
  tailEntries: number;
  /** Text bytes (UTF-16 code units, roughly) kept in each of head and tail. */
  bytesPerPart: number;
}

export const defaultTimelineLimits: TimelineLimits = {
  headEntries: 2_000,
  tailEntries: 2_000,
  bytesPerPart: 2 * 1024 * 1024,
};

const entrySize = (entry: TimelineEntry): number => entry.text.length + 200;

/**
 * The timeline of a run, bounded: the first entries, then the last ones in a
 * ring, and how many were left out between them. `entries()` puts a note
 * where the gap is, so a reader sees that lines are missing and how many.
 */
export class BoundedTimeline {
  private readonly head: TimelineEntry[] = [];
  private headBytes = 0;
  private headFull = false;
  private tail: TimelineEntry[] = [];
  private tailStart = 0;
  private tailBytes = 0;
  private leftOut = 0;
  private leftOutOutput = 0;
  private firstLeftOut: TimelineEntry | undefined;
  private lastLeftOut: TimelineEntry | undefined;

  constructor(private readonly limits: TimelineLimits = defaultTimelineLimits) {}

  /** Entries left out of the middle so far. */
  get entriesLeftOut(): number {
    return this.leftOut;
  }

  /** Of those, extension output lines. */
  get outputLinesLeftOut(): number {
    return this.leftOutOutput;
  }

  add(entry: TimelineEntry): void {
    const size = entrySize(entry);
    if (!this.headFull) {
      if (this.head.length < this.limits.headEntries && this.headBytes + size <= this.limits.bytesPerPart) {
        this.head.push(entry);
        this.headBytes += size;
        return;
      }
      this.headFull = true;
    }
    this.tail.push(entry);
    this.tailBytes += size;
    while (
      this.tail.length - this.tailStart > this.limits.tailEntries ||
      (this.tailBytes > this.limits.bytesPerPart && this.tail.length - this.tailStart > 1)
    ) {
      const dropped = this.tail[this.tailStart]!;
      this.tail[this.tailStart] = undefined as unknown as TimelineEntry;
      this.tailStart += 1;
      this.tailBytes -= entrySize(dropped);
      this.leftOut += 1;
      if (dropped.kind === 'output') this.leftOutOutput += 1;
      this.firstLeftOut ??= dropped;
      this.lastLeftOut = dropped;
    }
    // Compact now and then rather than shift() each time, which is linear in the ring's length.
    if (this.tailStart > this.limits.tailEntries) {
      this.tail = this.tail.slice(this.tailStart);
      this.tailStart = 0;
    }
  }

  entries(): TimelineEntry[] {
    const tail = this.tail.slice(this.tailStart);
    if (this.leftOut === 0) return [...this.head, ...tail];
    const first = this.firstLeftOut!;
    const last = this.lastLeftOut!;
    const marker: TimelineEntry = {
      elapsedMs: first.elapsedMs,
      time: first.time,
      kind: 'note',
      text:
        `… ${this.leftOut} timeline entries left out (${this.leftOutOutput} of them extension output lines), ` +
        `from +${first.elapsedMs} ms to +${last.elapsedMs} ms; the timeline keeps the first ${this.head.length} and the last ${tail.length}`,
      data: { entriesLeftOut: this.leftOut, outputLinesLeftOut: this.leftOutOutput },
    };
    return [...this.head, marker, ...tail];
  }
}

export interface EntryDetails {
  extension?: string | undefined;
  requestId?: string;
  stream?: 'stdout' | 'stderr';
  data?: Record<string, unknown>;
}

/**
 * What a run records: timeline entries (bounded) and how much output the
 * extensions printed. `onEntry` sees every entry as it happens, including
 * the ones the bounded timeline later leaves out.
 */
export class RunRecorder {
  private readonly startedAt = Date.now();
  private readonly timeline = new BoundedTimeline();

  /** Milliseconds since the run started, on the timeline's clock: now, or at a `Date.now()` taken earlier. */
  elapsedMs(at = Date.now()): number {
    return at - this.startedAt;
  }
  private readonly stats = { lines: 0, bytes: 0, linesCut: 0 };

  constructor(private readonly onEntry: (entry: TimelineEntry) => void) {}

  record(kind: TimelineKind, text: string, details: EntryDetails = {}): TimelineEntry {
    const now = Date.now();
    const entry: TimelineEntry = {
      elapsedMs: now - this.startedAt,
      time: new Date(now).toISOString(),
      kind,
      text,
      ...(details.extension === undefined ? {} : { extension: details.extension }),
      ...(details.requestId === undefined ? {} : { requestId: details.requestId }),
      ...(details.stream === undefined ? {} : { stream: details.stream }),
      ...(details.data === undefined ? {} : { data: details.data }),
    };
    this.timeline.add(entry);
    this.onEntry(entry);
    return entry;
  }

  /** Records one output line (as cut by LineSplitter) and returns it as shown, with the cut marker. */
  output(extension: string, stream: 'stdout' | 'stderr', kept: string, droppedBytes: number): string {
    this.stats.lines += 1;
    this.stats.bytes += Buffer.byteLength(kept) + droppedBytes;
    let line = kept;
    if (droppedBytes > 0) {
      this.stats.linesCut += 1;
      line = `${kept}${cutLineMarker(droppedBytes)}`;
    }
    this.record('output', `[${extension}] ${line}`, {
      extension,
      stream,
      ...(droppedBytes > 0 ? { data: { cutBytes: droppedBytes } } : {}),
    });
    return line;
  }

  entries(): TimelineEntry[] {
    return this.timeline.entries();
  }

  outputReport(): OutputReport {
    return {
      ...this.stats,
      maxLineBytes: maxOutputLineBytes,
      timelineEntriesLeftOut: this.timeline.entriesLeftOut,
      outputLinesLeftOut: this.timeline.outputLinesLeftOut,
    };
  }
}
