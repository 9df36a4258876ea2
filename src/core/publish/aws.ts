import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ErrorCode } from '../error-codes.js';
import { CliError, errorMessage } from '../errors.js';
import { loadPeerDependency } from '../peer-dependencies.js';
import { printableLine } from '../text.js';
import { checkRegion } from './names.js';

/*
 * The AWS SDK is tens of megabytes of modules: it is imported here, inside
 * functions, and nowhere else, so that only `ext publish` pays for loading it.
 */
export type LambdaSdk = typeof import('@aws-sdk/client-lambda');
export type S3Sdk = typeof import('@aws-sdk/client-s3');
export type StsSdk = typeof import('@aws-sdk/client-sts');

/**
 * On Node 20 the SDK warns, in nine lines, that its releases after January
 * 2027 will need Node 22. Node 20 is this toolkit's floor and the user cannot
 * act on it, so the SDK's own switch turns that one warning off; any other
 * warning still shows.
 */
function silenceNodeVersionWarning(): void {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
}

export const loadLambdaSdk = (): Promise<LambdaSdk> => {
  silenceNodeVersionWarning();
  return loadPeerDependency('@aws-sdk/client-lambda', 'ext publish', () => import('@aws-sdk/client-lambda'));
};
export const loadS3Sdk = (): Promise<S3Sdk> => {
  silenceNodeVersionWarning();
  return loadPeerDependency('@aws-sdk/client-s3', 'ext publish', () => import('@aws-sdk/client-s3'));
};
export const loadStsSdk = (): Promise<StsSdk> => {
  silenceNodeVersionWarning();
  return loadPeerDependency('@aws-sdk/client-sts', 'ext publish', () => import('@aws-sdk/client-sts'));
};

/**
 * Throttling (429, TooManyRequestsException, SlowDown) and transient network
 * errors are retried by the SDK itself, with exponential backoff and jitter.
 */
export const retryAttempts = 6;

export interface ClientSettings {
  region: string;
  endpointUrl?: string | undefined;
}

export function lambdaClient(sdk: LambdaSdk, settings: ClientSettings): LambdaClient {
  return new sdk.LambdaClient({
    region: settings.region,
    retryMode: 'standard',
    maxAttempts: retryAttempts,
    ...(settings.endpointUrl === undefined ? {} : { endpoint: settings.endpointUrl }),
  });
}

export function s3Client(sdk: S3Sdk, settings: ClientSettings): S3Client {
  return new sdk.S3Client({
    region: settings.region,
    retryMode: 'standard',
    maxAttempts: retryAttempts,
    // A local endpoint (an emulator, a proxy) has no per-bucket host names.
    ...(settings.endpointUrl === undefined ? {} : { endpoint: settings.endpointUrl, forcePathStyle: true }),
  });
}

const credentialsHint =
  'sign in with aws sso login (and set AWS_PROFILE), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary keys)';

/** Resolved once before any call, so that missing credentials are one line, not one per region. */
export async function requireCredentials(client: LambdaClient): Promise<void> {
  try {
    await client.config.credentials();
  } catch (error) {
    throw new CliError(`no usable AWS credentials: ${firstLine(errorMessage(error))}`, {
      code: 'E_AWS_CREDENTIALS',
      hint: credentialsHint,
    });
  }
}

/** Where the region came from when --region is not passed, as the error should name it. */
export function regionSource(environment: NodeJS.ProcessEnv = process.env): string {
  if (environment['AWS_REGION'] !== undefined) return 'AWS_REGION';
  const profile = environment['AWS_PROFILE'] ?? 'default';
  return `the region of AWS profile "${printableLine(profile, 60)}"`;
}

/**
 * The region the provider chain gives (AWS_REGION, the profile's region) when
 * --region is not passed, checked exactly like --region, with its source named.
 * AWS_REGION is read first, before the SDK is loaded, so a bad one costs nothing.
 */
export async function defaultRegion(loadSdk: () => Promise<LambdaSdk>): Promise<string> {
  const fromEnvironment = process.env['AWS_REGION'];
  if (fromEnvironment !== undefined) return checkRegion(fromEnvironment, 'AWS_REGION');
  let region: string | undefined;
  try {
    region = await new (await loadSdk()).LambdaClient({}).config.region();
  } catch (error) {
    // The SDK refuses a profile region that is not a host name; say which value, and where it came from.
    const refused = /region="([^"]*)"/.exec(errorMessage(error))?.[1];
    if (refused !== undefined) return checkRegion(refused, regionSource());
    region = undefined;
  }
  if (region === undefined || region === '') {
    throw new CliError('--region: no region given, and none is configured', {
      code: 'E_PUBLISH_REGION_MISSING',
      exitCode: 2,
      hint: 'pass --region us-east-1 (comma-separated for several), or set AWS_REGION or a region in your AWS profile',
    });
  }
  return checkRegion(region, regionSource());
}

/**
 * The 12-digit account the credentials belong to (sts:GetCallerIdentity,
 * which needs no permission). An earlier published.json entry is trusted only
 * when its ARN is this account's.
 */
export async function callerAccount(sdk: StsSdk, settings: ClientSettings): Promise<string> {
  const client = new sdk.STSClient({
    region: settings.region,
    retryMode: 'standard',
    maxAttempts: retryAttempts,
    ...(settings.endpointUrl === undefined ? {} : { endpoint: settings.endpointUrl }),
  });
  try {
    const identity = await callAws('sts:GetCallerIdentity', '*', () =>
      client.send(new sdk.GetCallerIdentityCommand({})),
    );
    const account = identity.Account;
    if (account === undefined || !/^\d{12}$/.test(account)) {
      throw new CliError(
        `sts:GetCallerIdentity answered without a 12-digit account (${JSON.stringify(printableLine(String(account), 40))})`,
        {
          code: 'E_AWS_UNEXPECTED_ANSWER',
          hint: 'check --endpoint-url and the credentials, then run ext publish again',
        },
      );
    }
    return account;
  } finally {
    client.destroy();
  }
}

const credentialErrorNames = new Set([
  'CredentialsProviderError',
  'ExpiredTokenException',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
]);
const throttlingErrorNames = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'SlowDown',
  'RequestLimitExceeded',
]);
const accessDeniedErrorNames = new Set(['AccessDeniedException', 'AccessDenied', 'Forbidden']);

/** A failed AWS call, said as what the user should do about it. */
export class AwsCallError extends CliError {
  readonly errorName: string;
  readonly isCredentialProblem: boolean;

  constructor(
    message: string,
    options: { code: ErrorCode; hint: string; errorName: string; isCredentialProblem?: boolean },
  ) {
    super(message, { code: options.code, hint: options.hint });
    this.name = 'AwsCallError';
    this.errorName = options.errorName;
    this.isCredentialProblem = options.isCredentialProblem ?? false;
  }
}

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/**
 * `action` is the IAM action the call needs (lambda:PublishLayerVersion): an
 * access-denied answer names it, so the fix is one line in a policy.
 */
export function describeAwsError(error: unknown, action: string, resource: string): AwsCallError {
  if (error instanceof AwsCallError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = shape.name ?? 'Error';
  const message = firstLine(shape.message ?? errorMessage(error));
  const status = shape.$metadata?.httpStatusCode;
  if (credentialErrorNames.has(name) || /security token|session.*expired|token.*expired/i.test(message)) {
    return new AwsCallError(`AWS credentials rejected (${name}): ${message}`, {
      code: 'E_AWS_CREDENTIALS',
      hint: `refresh them: ${credentialsHint}`,
      errorName: name,
      isCredentialProblem: true,
    });
  }
  if (accessDeniedErrorNames.has(name) || status === 403) {
    // Lambda's message names the action it checked ("not authorized to perform: X"); prefer it when present.
    const named = /perform: ([a-z0-9-]+:[A-Za-z0-9]+)/.exec(message)?.[1];
    const s3Read = /\bS3\b/.test(message) && action === 'lambda:PublishLayerVersion';
    const missing = named ?? (s3Read ? 's3:GetObject' : action);
    return new AwsCallError(`access denied: the credentials may not call ${missing} on ${resource}`, {
      code: 'E_AWS_ACCESS_DENIED',
      hint: `allow ${missing} on ${resource} in the caller's IAM policy (docs/guides/publishing.md#credentials-and-the-iam-policy has the whole least-privilege policy)`,
      errorName: name,
    });
  }
  if (throttlingErrorNames.has(name) || status === 429) {
    const attempts = shape.$metadata?.attempts ?? retryAttempts;
    return new AwsCallError(`throttled by AWS on ${action} after ${attempts} attempts: ${message}`, {
      code: 'E_AWS_THROTTLED',
      hint: 'run ext publish again in a minute; layers already published are skipped',
      errorName: name,
    });
  }
  if (typeof shape.code === 'string' && /^E[A-Z]+$/.test(shape.code)) {
    return new AwsCallError(`cannot reach AWS for ${action} (${shape.code}): ${message}`, {
      code: 'E_AWS_UNREACHABLE',
      hint: 'check the network, a proxy, or --endpoint-url',
      errorName: shape.code,
    });
  }
  return new AwsCallError(`${action} failed on ${resource} (${name}): ${message}`, {
    code: 'E_AWS_CALL_FAILED',
    hint: 'see the message from AWS above; fix it and run ext publish again (finished layers are skipped)',
    errorName: name,
  });
}

/** Runs one AWS call; a failure becomes an AwsCallError that names the IAM action the call needs. */
export async function callAws<T>(action: string, resource: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw describeAwsError(error, action, resource);
  }
}

export function errorNameOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape).name : undefined;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}
