/**
 * The extension's settings, read from environment variables that carry the
 * extension's name as a prefix (my-ext reads MY_EXT_SINK): extensions share
 * the function's environment, so unprefixed names such as PORT or LOG_LEVEL
 * would be the function's settings, not ours.
 */
import v8 from 'node:v8';
import { defaultFlush, flushIntervalRange, parseFlush, type FlushStrategy } from './flush.js';
import { isLogLevel, logLevels, type LogLevel } from './log.js';
import { bufferingRanges, type Buffering, type Range } from './telemetry-api.js';

export type SinkKind = 'stdout' | 'http';

export interface Config {
  logLevel: LogLevel | undefined;
  /** Listener port; 0 picks a free one. */
  port: number;
  buffering: Buffering;
  queueMaxRecords: number;
  queueMaxBytes: number;
  sink: SinkKind;
  /** Set when `sink` is http. */
  httpUrl: string | undefined;
  httpHeaders: Record<string, string>;
  httpTimeoutMs: number;
  /** An invoke sends only when at least this many records are queued… */
  flushMinRecords: number;
  /** …or this long has passed since the last send. SHUTDOWN always sends. */
  flushMaxWaitMs: number;
  /** The adaptive strategy's timer, and continuous's age bound: a record waits at most this long for a full batch. */
  flushIntervalMs: number;
  /** When to ship (FLUSH; default `defaultFlush`, chosen at create): see src/flush.ts. */
  flush: FlushStrategy;
}

/** Port of the Runtime and Extensions API itself: Lambda reserves it. */
export const reservedPort = 9001;

export const defaults = {
  port: 0,
  // timeoutMs at Lambda's floor: the end strategy waits for platform.runtimeDone, which Lambda holds that long.
  buffering: { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 } satisfies Buffering,
  queueMaxRecords: 20_000,
  queueMaxBytes: 8 * 1024 * 1024,
  httpTimeoutMs: 2000,
  // Send at every invoke that has records: the lowest latency. Raise
  // FLUSH_MIN_RECORDS to save requests (and billed time) when the function logs little.
  flushMinRecords: 1,
  flushMaxWaitMs: 10_000,
  flushIntervalMs: 1000,
};

const ranges = {
  port: { min: 0, max: 65535 },
  queueMaxRecords: { min: 100, max: 1_000_000 },
  queueMaxBytes: { min: 1024 * 1024, max: 512 * 1024 * 1024 },
  httpTimeoutMs: { min: 100, max: 60_000 },
  flushMinRecords: { min: 1, max: 1000 },
  flushMaxWaitMs: { min: 0, max: 3_600_000 },
  flushIntervalMs: { min: 50, max: 600_000 },
} satisfies Record<string, Range>;

const headerName = /^[A-Za-z0-9!#$%&'*+.^_|~-]+$/;

/** Thrown with every problem at once, each naming its variable, so one failed init shows them all. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'ConfigError';
  }
}

/**
 * A queued record takes roughly three times its JSON size in node's heap
 * (the string, the object around it, and the copies made to batch and
 * compress it), and the heap needs room for everything else: so the queue may
 * hold at most a quarter of the heap limit. Beyond that a dead destination
 * would end in a V8 out-of-memory abort, which Lambda reports as
 * Extension.Crash.
 */
export const heapPerQueuedByte = 4;

export interface LoadConfigOptions {
  /** The heap limit in bytes; defaults to this process's (set by --max-old-space-size in nodeOptions). */
  heapLimitBytes?: number;
}

export function loadConfig(prefix: string, env: NodeJS.ProcessEnv, options: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const read = (key: string): string | undefined => {
    const value = env[prefix + key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (key: string, fallback: number, range: Range): number => {
    const value = read(key);
    if (value === undefined) return fallback;
    const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number) || number < range.min || number > range.max) {
      problems.push(`${prefix}${key}="${value}": want a whole number from ${range.min} to ${range.max}`);
      return fallback;
    }
    return number;
  };

  let logLevel: LogLevel | undefined;
  const level = read('LOG_LEVEL');
  if (level !== undefined) {
    if (isLogLevel(level)) logLevel = level;
    else problems.push(`${prefix}LOG_LEVEL="${level}": use ${logLevels.join(', ')}`);
  }

  const port = integer('PORT', defaults.port, ranges.port);
  if (port === reservedPort) {
    problems.push(`${prefix}PORT="${port}": port ${reservedPort} is reserved by Lambda for its own APIs; choose another`);
  }
  const buffering: Buffering = {
    maxItems: integer('BUFFER_MAX_ITEMS', defaults.buffering.maxItems, bufferingRanges.maxItems),
    maxBytes: integer('BUFFER_MAX_BYTES', defaults.buffering.maxBytes, bufferingRanges.maxBytes),
    timeoutMs: integer('BUFFER_TIMEOUT_MS', defaults.buffering.timeoutMs, bufferingRanges.timeoutMs),
  };
  const queueMaxRecords = integer('QUEUE_MAX_RECORDS', defaults.queueMaxRecords, ranges.queueMaxRecords);
  const queueMaxBytes = integer('QUEUE_MAX_BYTES', defaults.queueMaxBytes, ranges.queueMaxBytes);
  const heapLimitBytes = options.heapLimitBytes ?? v8.getHeapStatistics().heap_size_limit;
  const queueBytesAllowed = Math.floor(heapLimitBytes / heapPerQueuedByte);
  if (queueMaxBytes > queueBytesAllowed) {
    const setting = read('QUEUE_MAX_BYTES') === undefined ? `${prefix}QUEUE_MAX_BYTES (default ${queueMaxBytes})` : `${prefix}QUEUE_MAX_BYTES="${queueMaxBytes}"`;
    problems.push(
      `${setting}: a full queue takes about ${heapPerQueuedByte - 1}x its size in node's heap, and the heap limit is ${mebibytes(heapLimitBytes)} MiB, ` +
        `so the queue may hold at most ${queueBytesAllowed} bytes; raise --max-old-space-size in nodeOptions in lambda-extension.json, or lower ${prefix}QUEUE_MAX_BYTES`,
    );
  }

  let sink: SinkKind = 'stdout';
  const sinkName = read('SINK')?.toLowerCase();
  if (sinkName === 'http' || sinkName === 'stdout') sink = sinkName;
  else if (sinkName !== undefined) problems.push(`${prefix}SINK="${read('SINK')}": use stdout or http`);

  const httpTimeoutMs = integer('HTTP_TIMEOUT_MS', defaults.httpTimeoutMs, ranges.httpTimeoutMs);
  let httpHeaders: Record<string, string> = {};
  const headers = read('HTTP_HEADERS');
  if (headers !== undefined) {
    const parsed = parseHeaders(headers);
    // The value may hold a secret: never repeat it.
    if (parsed === undefined) {
      problems.push(`${prefix}HTTP_HEADERS: want Name=value pairs separated by commas, such as "Authorization=Bearer abc,X-Team=obs"`);
    } else {
      httpHeaders = parsed;
    }
  }
  let httpUrl: string | undefined;
  if (sink === 'http') {
    httpUrl = read('HTTP_URL');
    if (httpUrl === undefined) {
      problems.push(`${prefix}HTTP_URL is not set: the http sink needs the URL to POST batches to`);
    } else if (!isHttpUrl(httpUrl)) {
      problems.push(`${prefix}HTTP_URL="${httpUrl}": want an http:// or https:// URL`);
    }
  }

  const flushMinRecords = integer('FLUSH_MIN_RECORDS', defaults.flushMinRecords, ranges.flushMinRecords);
  const flushMaxWaitMs = integer('FLUSH_MAX_WAIT_MS', defaults.flushMaxWaitMs, ranges.flushMaxWaitMs);
  const flushIntervalMs = integer('FLUSH_INTERVAL_MS', defaults.flushIntervalMs, ranges.flushIntervalMs);
  const flushText = read('FLUSH') ?? defaultFlush;
  const flush = parseFlush(flushText) ?? { mode: 'adaptive' };
  if (parseFlush(flushText) === undefined) {
    problems.push(`${prefix}FLUSH="${flushText}": use end, periodic:<ms> (${flushIntervalRange.min} to ${flushIntervalRange.max}), continuous or adaptive`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { logLevel, port, buffering, queueMaxRecords, queueMaxBytes, sink, httpUrl, httpHeaders, httpTimeoutMs, flushMinRecords, flushMaxWaitMs, flushIntervalMs, flush };
}

function mebibytes(bytes: number): string {
  return String(Math.round((bytes / 1024 / 1024) * 10) / 10);
}

/** Reads "Name=value,Other-Name=value"; undefined when malformed. */
export function parseHeaders(value: string): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  for (const pair of value.split(',')) {
    if (pair.trim() === '') continue;
    const equals = pair.indexOf('=');
    const name = equals < 0 ? '' : pair.slice(0, equals).trim();
    if (!headerName.test(name)) return undefined;
    const headerValue = pair.slice(equals + 1).trim();
    // node refuses such a value on every request (ERR_INVALID_CHAR); refuse it once, at init, instead.
    if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(headerValue)) return undefined;
    headers[name.toLowerCase()] = headerValue;
  }
  return headers;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}
