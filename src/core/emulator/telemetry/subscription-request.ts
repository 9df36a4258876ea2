import { isLoopbackHost } from '../loopback.js';

/**
 * A Telemetry API subscription request, checked as docs/reference/extensions-api.md §6 says.
 */

export const telemetrySchemaVersions = ['2022-07-01', '2022-12-13', '2025-01-29'] as const;
export const telemetryTypes = ['platform', 'function', 'extension'] as const;
export type TelemetryType = (typeof telemetryTypes)[number];

export interface Buffering {
  maxItems: number;
  maxBytes: number;
  timeoutMs: number;
}

/** docs/reference/extensions-api.md §6.2: the consistent defaults and ranges. */
const bufferingLimits: Record<keyof Buffering, { min: number; max: number; fallback: number }> = {
  maxItems: { min: 1000, max: 10000, fallback: 10000 },
  maxBytes: { min: 262144, max: 1048576, fallback: 262144 },
  timeoutMs: { min: 25, max: 30000, fallback: 1000 },
};

export interface TelemetryRequest {
  schemaVersion: string;
  types: TelemetryType[];
  buffering: Buffering;
  /** The URI as given. */
  uri: string;
  /** Where we really connect: `sandbox`/`sandbox.localdomain` mapped to loopback. */
  target: { host: string; port: number; path: string };
}

/** `buffering`, with the defaults for what it leaves out; problems go into `problems`. */
function parseBuffering(bufferingInput: unknown, problems: string[]): Buffering {
  const buffering: Buffering = {
    maxItems: bufferingLimits.maxItems.fallback,
    maxBytes: bufferingLimits.maxBytes.fallback,
    timeoutMs: bufferingLimits.timeoutMs.fallback,
  };
  if (bufferingInput !== undefined && bufferingInput !== null) {
    if (typeof bufferingInput !== 'object' || Array.isArray(bufferingInput)) {
      problems.push('buffering must be an object');
    } else {
      for (const key of Object.keys(bufferingLimits) as (keyof Buffering)[]) {
        const given = (bufferingInput as Record<string, unknown>)[key];
        if (given === undefined) continue;
        const { min, max } = bufferingLimits[key];
        if (typeof given !== 'number' || !Number.isInteger(given) || given < min || given > max) {
          problems.push(`buffering.${key} must be an integer between ${min} and ${max}`);
        } else {
          buffering[key] = given;
        }
      }
    }
  }
  return buffering;
}

/** Where the batches go: loopback only, never Lambda's own ports; problems go into `problems`. */
function parseDestination(
  destination: unknown,
  reservedPorts: number[],
  problems: string[],
): { target: TelemetryRequest['target'] | undefined; uri: string } {
  let target: TelemetryRequest['target'] | undefined;
  let uri = '';
  if (typeof destination !== 'object' || destination === null) {
    problems.push('destination is required');
  } else {
    const protocol = (destination as Record<string, unknown>)['protocol'];
    const givenUri = (destination as Record<string, unknown>)['URI'];
    if (protocol === 'TCP') {
      problems.push('destination protocol TCP is not supported by this emulator; use HTTP');
    } else if (protocol !== 'HTTP') {
      problems.push('destination protocol must be HTTP');
    } else if (typeof givenUri !== 'string') {
      problems.push('destination URI is required');
    } else {
      uri = givenUri;
      let parsed: URL | undefined;
      try {
        parsed = new URL(givenUri);
      } catch {
        problems.push(`destination URI "${givenUri}" is not a valid URI`);
      }
      if (parsed !== undefined) {
        if (parsed.protocol !== 'http:') problems.push('destination URI must use http://');
        if (parsed.port === '') problems.push('URI port is not provided');
        const port = Number(parsed.port);
        if (port === 9001 || reservedPorts.includes(port)) {
          problems.push(`URI port ${port} is reserved by Lambda`);
        }
        if (!isLoopbackHost(parsed.hostname)) {
          problems.push(
            `destination host "${parsed.hostname}" is outside the execution environment; use sandbox.localdomain`,
          );
        }
        target = { host: '127.0.0.1', port, path: `${parsed.pathname}${parsed.search}` || '/' };
      }
    }
  }
  return { target, uri };
}

/**
 * Validates a subscription body. Returns the parsed request or the list of
 * problems joined the way Lambda joins them ("…; …").
 */
export function parseTelemetryRequest(
  body: string,
  reservedPorts: number[],
): { ok: true; request: TelemetryRequest } | { ok: false; message: string } {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch {
    return { ok: false, message: 'request body is not valid JSON' };
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, message: 'request body must be a JSON object' };
  }
  const value = input as Record<string, unknown>;
  const problems: string[] = [];

  const schemaVersion = value['schemaVersion'];
  if (typeof schemaVersion !== 'string' || !(telemetrySchemaVersions as readonly string[]).includes(schemaVersion)) {
    problems.push(`schemaVersion must be one of ${telemetrySchemaVersions.join(', ')}`);
  }

  const types = value['types'];
  if (!Array.isArray(types) || types.length === 0) {
    problems.push('types should not be empty');
  } else {
    for (const type of types) {
      if (typeof type !== 'string' || !(telemetryTypes as readonly string[]).includes(type)) {
        problems.push(`types: "${String(type)}" is not one of ${telemetryTypes.join(', ')}`);
      }
    }
  }

  const buffering = parseBuffering(value['buffering'], problems);

  const { target, uri } = parseDestination(value['destination'], reservedPorts, problems);

  if (problems.length > 0 || target === undefined) {
    return { ok: false, message: problems.join('; ') || 'invalid subscription' };
  }
  return {
    ok: true,
    request: { schemaVersion: schemaVersion as string, types: types as TelemetryType[], buffering, uri, target },
  };
}

export interface TelemetryEnvelope {
  time: string;
  type: string;
  record: unknown;
}

/** Which subscription type a record belongs to. */
export function categoryOf(type: string): TelemetryType {
  if (type === 'function') return 'function';
  if (type === 'extension') return 'extension';
  return 'platform';
}
