/**
 * Calls the two AWS operations the cache needs, SSM GetParameter and Secrets
 * Manager GetSecretValue, over AWS's JSON 1.1 protocol, with requests signed
 * by the AWS SDK's own SigV4 signer (@smithy/signature-v4). It hands back
 * AWS's answer as AWS sent it (status and body), so the extension answers
 * with exactly the JSON the API returns, errors included.
 *
 * Why not @aws-sdk/client-ssm and client-secrets-manager: bundled and
 * minified they are 663 kB and add about twice the start time of the signer
 * (144 kB); see the README. The cache passes AWS's JSON through and never
 * needs the SDK's types.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

export interface Service {
  /** The service name in the SigV4 scope. */
  signingName: string;
  /** The host's first label: ssm.us-east-1.amazonaws.com. */
  endpointPrefix: string;
  /** The service's own AWS_ENDPOINT_URL_<ID> variable, read before AWS_ENDPOINT_URL (as the SDKs do). */
  endpointVariable: string;
  /** Goes before the operation in X-Amz-Target. */
  targetPrefix: string;
}

export const ssm: Service = { signingName: 'ssm', endpointPrefix: 'ssm', endpointVariable: 'AWS_ENDPOINT_URL_SSM', targetPrefix: 'AmazonSSM' };
export const secretsManager: Service = {
  signingName: 'secretsmanager',
  endpointPrefix: 'secretsmanager',
  endpointVariable: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  targetPrefix: 'secretsmanager',
};

/** A secret is at most 64 KiB and a parameter 8 KiB: 1 MiB is room for any answer, and bounds what a broken endpoint can make us buffer. */
export const maxResponseBytes = 1 << 20;

/** AWS's answer: any status, and its body. */
export interface AwsResponse {
  status: number;
  body: Buffer;
}

/** The error's type from an error body ("__type", whose value may carry a namespace before a '#'), or "". */
export function errorTypeOf(response: AwsResponse): string {
  if (response.status < 300) return '';
  try {
    const type = (JSON.parse(response.body.toString('utf8')) as { __type?: unknown }).__type;
    return typeof type === 'string' ? type.slice(type.lastIndexOf('#') + 1) : '';
  } catch {
    return '';
  }
}

const throttlingTypes = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ThrottledException',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
]);

/** AWS asked to slow down, or failed on its side: worth another try, unlike a missing parameter or a denied key. */
export function isRetryable(response: AwsResponse): boolean {
  return response.status === 429 || response.status >= 500 || throttlingTypes.has(errorTypeOf(response));
}

/** Backoff for throttled and failed calls: exponential from baseMs, capped at maxMs per wait, full jitter, at most `attempts` calls. */
export interface Retry {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

/** Four more tries within about 1.5 s, or fewer when the deadline is nearer. */
export const defaultRetry: Retry = { attempts: 5, baseMs: 50, maxMs: 800 };

/** The region or the credentials are not in the environment. Lambda always sets them; a local run (ext dev) may not. */
export class MissingEnvironmentError extends Error {
  override name = 'MissingEnvironmentError';
}

/** AWS could not be reached, or did not answer in time (`timedOut`). */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Fetcher {
  /** AWS's answer, whatever its status, after retrying throttling while `deadline` (epoch ms) allows; throws TransportError without one. */
  call(service: Service, operation: string, input: unknown, deadline: number): Promise<AwsResponse>;
}

export class AwsClient implements Fetcher {
  readonly region: string;
  readonly endpoints: Record<string, string>;
  readonly #signers = new Map<string, SignatureV4>();
  readonly #retry: Retry;

  /**
   * Reads the region, the credentials and the endpoints from the environment
   * as the SDKs do: AWS_REGION (or AWS_DEFAULT_REGION); AWS_ACCESS_KEY_ID,
   * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which Lambda sets for the
   * function's role; AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_SECRETS_MANAGER
   * or AWS_ENDPOINT_URL to call another endpoint (a test server, a VPC endpoint).
   */
  constructor(env: NodeJS.ProcessEnv, retry: Retry = defaultRetry) {
    const region = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'];
    if (!region) {
      throw new MissingEnvironmentError('AWS_REGION is not set (Lambda sets it; elsewhere set it to the region of the parameters and secrets)');
    }
    const accessKeyId = env['AWS_ACCESS_KEY_ID'];
    const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
    if (!accessKeyId || !secretAccessKey) {
      throw new MissingEnvironmentError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the function's role)");
    }
    const credentials = { accessKeyId, secretAccessKey, ...(env['AWS_SESSION_TOKEN'] ? { sessionToken: env['AWS_SESSION_TOKEN'] } : {}) };
    this.region = region;
    this.#retry = retry;
    this.endpoints = {};
    for (const service of [ssm, secretsManager]) {
      const endpoint =
        env[service.endpointVariable] || env['AWS_ENDPOINT_URL'] || `https://${service.endpointPrefix}.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
      if (!/^https?:\/\//.test(endpoint)) throw new Error(`${service.endpointVariable}="${endpoint}": want an http:// or https:// URL`);
      this.endpoints[service.signingName] = endpoint.replace(/\/+$/, '') + '/';
      this.#signers.set(service.signingName, new SignatureV4({ service: service.signingName, region, credentials, sha256: Hash.bind(null, 'sha256') }));
    }
  }

  async call(service: Service, operation: string, input: unknown, deadline: number): Promise<AwsResponse> {
    const body = JSON.stringify(input);
    let lastAnswer: AwsResponse | undefined;
    for (let attempt = 1; ; attempt++) {
      let response: AwsResponse | undefined;
      let failure: TransportError | undefined;
      try {
        response = await this.#send(service, operation, body, deadline);
        lastAnswer = response;
      } catch (error) {
        failure = error instanceof TransportError ? error : new TransportError(String(error), false, { cause: error });
        // Out of time: AWS's last answer (a throttling) says more than the timeout.
        if (failure.timedOut) {
          if (lastAnswer !== undefined) return lastAnswer;
          throw failure;
        }
      }
      if (response !== undefined && !isRetryable(response)) return response;
      const wait = Math.random() * Math.min(this.#retry.maxMs, this.#retry.baseMs * 2 ** (attempt - 1));
      // The last answer (or failure) stands when another try could not finish in time.
      if (attempt >= this.#retry.attempts || Date.now() + wait >= deadline) {
        if (lastAnswer !== undefined) return lastAnswer;
        throw failure!;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async #send(service: Service, operation: string, body: string, deadline: number): Promise<AwsResponse> {
    const url = new URL(this.endpoints[service.signingName]!);
    const signer = this.#signers.get(service.signingName)!;
    const request = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `${service.targetPrefix}.${operation}`,
      },
      body,
    });
    const left = deadline - Date.now();
    if (left <= 0) throw new TransportError(`${service.signingName} did not answer before the deadline`, true);
    let response: Response;
    try {
      // fetch sets Host from the URL itself (the same value that was signed) and refuses it as a header.
      const { host: _host, ...headers } = request.headers;
      response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(left) });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new TransportError(timedOut ? `${service.signingName} did not answer before the deadline` : `${service.signingName} could not be reached: ${reason}`, timedOut, {
        cause: error,
      });
    }
    const chunks: Buffer[] = [];
    let length = 0;
    try {
      for await (const chunk of response.body ?? []) {
        length += (chunk as Uint8Array).length;
        if (length > maxResponseBytes) throw new TransportError(`${service.signingName} ${operation}: answer over ${maxResponseBytes} bytes`, false);
        chunks.push(Buffer.from(chunk as Uint8Array));
      }
    } catch (error) {
      if (error instanceof TransportError) throw error;
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new TransportError(`${service.signingName} ${operation}: the answer broke off`, timedOut, { cause: error });
    }
    return { status: response.status, body: Buffer.concat(chunks) };
  }
}
