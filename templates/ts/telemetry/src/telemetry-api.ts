/**
 * The Telemetry API subscription (PUT /2022-07-01/telemetry). Lambda accepts
 * subscriptions during init only, and starts POSTing batches to the
 * destination as soon as it has accepted one, so the listener must already
 * be up. See https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html.
 */
import http from 'node:http';

/**
 * The schema subscribed with on standard (on-demand) functions, and the one
 * the records are known to follow there.
 */
export const schemaVersion = '2022-12-13';
/**
 * The only schema Lambda Managed Instances accept. Standard functions accept
 * it too, but 2022-12-13 stays the choice there until its records are known
 * to be the same.
 */
export const managedInstancesSchemaVersion = '2025-01-29';
export const telemetryTypes = ['platform', 'function', 'extension'] as const;

/** Lambda delivers a batch when any of the three limits is reached. */
export interface Buffering {
  maxItems: number;
  maxBytes: number;
  timeoutMs: number;
}

export interface Range {
  min: number;
  max: number;
}

/** The ranges Lambda accepts (the reference page swaps maxItems and timeoutMs; these are the consistent ones). */
export const bufferingRanges: Record<keyof Buffering, Range> = {
  maxItems: { min: 1000, max: 10000 },
  maxBytes: { min: 262144, max: 1048576 },
  timeoutMs: { min: 25, max: 30000 },
};

export interface Subscription {
  schemaVersion: string;
  types: string[];
  buffering: Buffering;
  destination: { protocol: 'HTTP'; URI: string };
}

/**
 * Subscribes to every record type, delivered to the listener on `port` at
 * `path`. The host is sandbox.localdomain, the name Lambda resolves inside
 * the execution environment, even though the listener binds all interfaces.
 */
export function subscriptionFor(port: number, path: string, buffering: Buffering, schema: string = schemaVersion): Subscription {
  return {
    schemaVersion: schema,
    types: [...telemetryTypes],
    buffering: { ...buffering },
    destination: { protocol: 'HTTP', URI: `http://sandbox.localdomain:${port}/${path.replace(/^\/+/, '')}` },
  };
}

/** A refusal from the Telemetry API. */
export class SubscribeError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    readonly errorMessage: string,
  ) {
    super(`telemetry API answered ${status}${errorType ? ` ${errorType}` : ''}${errorMessage ? `: ${errorMessage}` : ''}`);
    this.name = 'SubscribeError';
  }
}

export interface SubscribeOptions {
  /** host:port from AWS_LAMBDA_RUNTIME_API. */
  runtimeApi: string;
  identifier: string;
  subscription: Subscription;
  /** Unlike event/next this call must not wait indefinitely. Default 5 s. */
  timeoutMs?: number;
}

/**
 * Sends the subscription. Resolves to `delivering: false` on 202, which
 * means a local test environment that accepts the subscription but will
 * deliver nothing (the Runtime Interface Emulator, SAM).
 */
export function subscribe({ runtimeApi, identifier, subscription, timeoutMs = 5000 }: SubscribeOptions): Promise<{ delivering: boolean }> {
  const body = JSON.stringify(subscription);
  return new Promise((resolve, reject) => {
    const request = http.request(`http://${runtimeApi}/2022-07-01/telemetry`, {
      method: 'PUT',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        'Lambda-Extension-Identifier': identifier,
      },
    });
    request.on('error', (error) => reject(new Error(`subscribe to telemetry: ${error.message}`, { cause: error })));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status === 200) return resolve({ delivering: true });
        if (status === 202) return resolve({ delivering: false });
        const text = Buffer.concat(chunks).toString('utf8').trim();
        let errorType = '';
        let errorMessage = text;
        try {
          const parsed = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
          if (typeof parsed.errorType === 'string') errorType = parsed.errorType;
          if (typeof parsed.errorMessage === 'string') errorMessage = parsed.errorMessage;
        } catch {
          // Not JSON: keep the raw text.
        }
        reject(new SubscribeError(status, errorType, errorMessage.slice(0, 500)));
      });
    });
    request.end(body);
  });
}
