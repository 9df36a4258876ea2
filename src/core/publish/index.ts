import path from 'node:path';
import type { LambdaClient, Runtime } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Architecture } from '../layer/index.js';
import { CliError, usageError } from '../errors.js';
import type { ErrorCode } from '../error-codes.js';
import {
  AwsCallError,
  callerAccount,
  defaultRegion,
  callAws,
  describeAwsError,
  errorNameOf,
  lambdaClient,
  loadLambdaSdk,
  loadS3Sdk,
  loadStsSdk,
  requireCredentials,
  s3Client,
  type LambdaSdk,
  type S3Sdk,
} from './aws.js';
import {
  bucketFor,
  checkAudience,
  checkBucketTemplate,
  defaultLayerNameTemplate,
  grantsFor,
  layerNamesFor,
  parseRegions,
  type LayerAudience,
  type LayerGrant,
} from './names.js';
import { emptyMap, writePublishedMap, type PublishedMap } from './published-map.js';
import { displayPath, readVerifiedManifest, type VerifiedLayer } from './verified-layers.js';
import { zippedLimitBytes } from '../layer/index.js';

export { AwsCallError };
export { layerNameRule, type LayerAudience } from './names.js';
export type { PublishedMap, PublishedMapEntry } from './published-map.js';

/** Lambda takes a zip up to its direct-upload limit in the request; larger ones must come from S3. */
export const inlineZipLimitBytes = zippedLimitBytes;

export interface PublishOptions {
  projectDirectory: string;
  /** Where ext pack wrote the zips and manifest.json; relative to the project; default "dist". */
  outDirectory?: string;
  /** Default: the region the AWS provider chain gives (AWS_REGION, the profile). */
  regions?: string[];
  /** Default: every architecture in the manifest. */
  architectures?: Architecture[];
  /** `{name}` and `{arch}` are replaced; default "{name}-{arch}". */
  layerName?: string;
  /** Who may use the new versions; nobody but the owner account when undefined. */
  audience?: LayerAudience;
  /** Needed for zips over the direct-upload limit; `{region}` is replaced, as Lambda reads from a bucket in the layer's region. */
  s3Bucket?: string;
  compatibleRuntimes?: string[];
  /** The extension's version is appended unless the text already holds it. */
  description?: string;
  licenseInfo?: string;
  /** Publish even when the latest version already has these bytes. */
  force?: boolean;
  /** Call only read APIs and report what would be done. */
  dryRun?: boolean;
  /** Publish zips packed from older sources than the project's (refused otherwise). */
  allowStale?: boolean;
  /** Send every AWS call to this URL (a local emulator, a VPC endpoint). */
  endpointUrl?: string;
  /** Layers published at once; default 4. */
  concurrency?: number;
  /** Zips larger than this go through S3; default Lambda's direct-upload limit. Tests lower it to exercise the S3 path. */
  inlineZipLimitBytes?: number;
  onProgress?: (event: PublishProgress) => void;
}

export interface PublishProgress {
  region: string;
  architecture: Architecture;
  phase: 'check' | 'upload' | 'publish' | 'grant' | 'done' | 'failed';
}

export type PublishStatus = 'published' | 'skipped' | 'failed' | 'would-publish' | 'would-skip';

/** One architecture in one region. */
export interface PublishTarget {
  region: string;
  architecture: Architecture;
  layerName: string;
  status: PublishStatus;
  /** The layer version ARN: the new one, or the unchanged latest one when skipped. */
  arn?: string;
  version?: number;
  codeSha256: string;
  bytes: number;
  upload: 'inline' | 's3';
  /** s3://bucket/key the zip was staged at, for zips over the inline limit. */
  s3Uri?: string;
  /** Statement ids in place on the version (added now, or already there). */
  grants: string[];
  /** A failed target's stable code (src/core/error-codes.ts), what scripts branch on; the message is for people. */
  code?: ErrorCode;
  error?: string;
  hint?: string;
}

export interface PublishResult {
  name: string;
  version: string;
  dryRun: boolean;
  targets: PublishTarget[];
  /** region → architecture → layer version, as written to published.json. */
  map: PublishedMap;
  /** Relative to the project; undefined on a dry run, which writes nothing. */
  publishedFile?: string;
  publishedPath?: string;
  failed: number;
}

const grantedAction = 'lambda:GetLayerVersion';

/**
 * Publishes every packed architecture to every region as a layer version,
 * skipping those whose latest version already has the same bytes, and writes
 * `<out>/published.json`. Failures are per target: the result says which
 * failed, and the others still go out.
 */
export async function publish(options: PublishOptions): Promise<PublishResult> {
  const projectDirectory = path.resolve(options.projectDirectory);
  const outDirectory = path.resolve(projectDirectory, options.outDirectory ?? 'dist');
  const audience = options.audience === undefined ? undefined : checkAudience(options.audience);
  checkTextOptions(options);
  // Every argument is checked before the AWS SDK (tens of megabytes of modules) is loaded.
  const givenRegions =
    options.regions === undefined || options.regions.length === 0 ? undefined : parseRegions(options.regions);
  const manifest = await readVerifiedManifest(projectDirectory, outDirectory, options.architectures, {
    allowStale: options.allowStale === true,
  });
  const architectures = manifest.layers.map((layer) => layer.architecture);
  const layerNames = layerNamesFor(options.layerName ?? defaultLayerNameTemplate, manifest.name, architectures);
  const inlineLimit = options.inlineZipLimitBytes ?? inlineZipLimitBytes;
  const needsS3 = manifest.layers.some((layer) => layer.bytes.length > inlineLimit);

  const regions = givenRegions ?? [await defaultRegion(loadLambdaSdk)];
  const lambdaSdk = await loadLambdaSdk();
  if (needsS3) {
    const large = manifest.layers.find((layer) => layer.bytes.length > inlineLimit)!;
    if (options.s3Bucket === undefined) {
      throw usageError(
        'E_PUBLISH_BUCKET_REQUIRED',
        `--s3-bucket: ${large.zip} is ${large.bytes.length} bytes, over the ${inlineLimit} bytes Lambda accepts in a request, so it must be uploaded to S3 first`,
        'pass --s3-bucket BUCKET (a bucket in the layer region; use {region} in the name for several regions)',
      );
    }
    checkBucketTemplate(options.s3Bucket, regions);
  }
  const s3Sdk = needsS3 ? await loadS3Sdk() : undefined;
  const settings = (region: string) => ({ region, endpointUrl: options.endpointUrl });
  const lambdaClients = new Map(regions.map((region) => [region, lambdaClient(lambdaSdk, settings(region))]));
  const s3Clients = new Map(
    s3Sdk === undefined ? [] : regions.map((region) => [region, s3Client(s3Sdk, settings(region))]),
  );
  await requireCredentials(lambdaClients.get(regions[0]!)!);

  const grants = grantsFor(audience);
  const work = regions.flatMap((region) => manifest.layers.map((layer) => ({ region, layer })));
  const checkedBuckets = new Map<string, Promise<void>>();
  const failureCauses: CliError[] = [];
  const targets = await mapWithConcurrency(work, options.concurrency ?? 4, async ({ region, layer }) => {
    const context: TargetContext = {
      region,
      layer,
      layerName: layerNames.get(layer.architecture)!,
      lambda: lambdaClients.get(region)!,
      lambdaSdk,
      s3: s3Clients.get(region),
      s3Sdk,
      bucket: options.s3Bucket === undefined ? undefined : bucketFor(options.s3Bucket, region),
      checkedBuckets,
      inline: layer.bytes.length <= inlineLimit,
      grants,
      description: descriptionFor(options.description, manifest.name, manifest.version),
      options,
    };
    const report = (phase: PublishProgress['phase']): void =>
      options.onProgress?.({ region, architecture: layer.architecture, phase });
    try {
      const target = await publishTarget(context, report);
      report('done');
      return target;
    } catch (error) {
      report('failed');
      const failure = error instanceof CliError ? error : describeAwsError(error, 'ext publish', context.layerName);
      failureCauses.push(failure);
      return {
        ...baseTarget(context),
        status: 'failed' as const,
        code: failure.code,
        error: failure.message,
        ...(failure.hint === undefined ? {} : { hint: failure.hint }),
      };
    }
  });
  for (const client of [...lambdaClients.values(), ...s3Clients.values()]) client.destroy();

  const failures = targets.filter((target) => target.status === 'failed');
  // Expired credentials fail every call alike: one line says it better than one per region.
  if (
    failures.length === targets.length &&
    failureCauses.every((cause) => cause instanceof AwsCallError && cause.isCredentialProblem)
  ) {
    throw failureCauses[0]!;
  }
  // Ordinary objects for callers: the regions in them have been checked.
  const map = JSON.parse(JSON.stringify(mapOf(targets))) as PublishedMap;
  const result: PublishResult = {
    name: manifest.name,
    version: manifest.version,
    dryRun: options.dryRun === true,
    targets,
    map,
    failed: failures.length,
  };
  if (options.dryRun === true) return result;
  const publishedPath = path.join(outDirectory, 'published.json');
  // Whose layers these are, asked only when an earlier entry could be kept; unknown keeps none.
  const caller = async (): Promise<string | undefined> =>
    callerAccount(await loadStsSdk(), settings(regions[0]!)).catch(() => undefined);
  const written = await writePublishedMap(publishedPath, map, manifest.listedCodeSha256, caller);
  return {
    ...result,
    map: written,
    publishedPath,
    publishedFile: displayPath(projectDirectory, publishedPath),
  };
}

interface TargetContext {
  region: string;
  layer: VerifiedLayer;
  layerName: string;
  lambda: LambdaClient;
  lambdaSdk: LambdaSdk;
  s3: S3Client | undefined;
  s3Sdk: S3Sdk | undefined;
  bucket: string | undefined;
  checkedBuckets: Map<string, Promise<void>>;
  inline: boolean;
  grants: LayerGrant[];
  description: string;
  options: PublishOptions;
}

function baseTarget(context: TargetContext): PublishTarget {
  return {
    region: context.region,
    architecture: context.layer.architecture,
    layerName: context.layerName,
    status: 'failed',
    codeSha256: context.layer.codeSha256,
    bytes: context.layer.bytes.length,
    upload: context.inline ? 'inline' : 's3',
    grants: [],
  };
}

async function publishTarget(
  context: TargetContext,
  report: (phase: PublishProgress['phase']) => void,
): Promise<PublishTarget> {
  const { layer, lambda, lambdaSdk: sdk, layerName, region, options } = context;
  const base = baseTarget(context);
  report('check');
  const latest = await latestVersion(context);
  if (latest !== undefined && options.force !== true) {
    const resource = latest.arn;
    const current = await callAws('lambda:GetLayerVersion', resource, () =>
      lambda.send(new sdk.GetLayerVersionCommand({ LayerName: layerName, VersionNumber: latest.version })),
    );
    if (current.Content?.CodeSha256 === layer.codeSha256) {
      const skipped = { ...base, arn: latest.arn, version: latest.version };
      if (options.dryRun === true)
        return { ...skipped, status: 'would-skip', grants: context.grants.map(statementIdOf) };
      report('grant');
      return { ...skipped, status: 'skipped', grants: await grantAll(context, latest.version, latest.arn) };
    }
  }
  let s3Uri: string | undefined;
  let content: { ZipFile: Uint8Array } | { S3Bucket: string; S3Key: string } = { ZipFile: layer.bytes };
  if (!context.inline) {
    const bucket = context.bucket!;
    const key = `create-lambda-extension/${layerName}/${layer.sha256}.zip`;
    s3Uri = `s3://${bucket}/${key}`;
    await checkBucketRegion(context, bucket);
    if (options.dryRun !== true) {
      report('upload');
      await uploadZip(context, bucket, key);
    }
    content = { S3Bucket: bucket, S3Key: key };
  }
  const withS3 = s3Uri === undefined ? {} : { s3Uri };
  if (options.dryRun === true) {
    return { ...base, ...withS3, status: 'would-publish', grants: context.grants.map(statementIdOf) };
  }
  report('publish');
  const layerResource = `arn:aws:lambda:${region}:<account>:layer:${layerName}`;
  const published = await callAws('lambda:PublishLayerVersion', layerResource, () =>
    lambda.send(
      new sdk.PublishLayerVersionCommand({
        LayerName: layerName,
        Description: context.description,
        Content: content,
        CompatibleArchitectures: layer.compatibleArchitectures,
        ...compatibleRuntimesFor(options.compatibleRuntimes, layer.compatibleRuntimes),
        ...(options.licenseInfo === undefined ? {} : { LicenseInfo: options.licenseInfo }),
      }),
    ),
  );
  const arn = published.LayerVersionArn;
  const version = published.Version;
  if (arn === undefined || version === undefined) {
    throw new CliError(`lambda:PublishLayerVersion on ${layerName} in ${region} answered without a version ARN`, {
      code: 'E_AWS_UNEXPECTED_ANSWER',
      hint: 'check the layer with aws lambda list-layer-versions, then run ext publish again',
    });
  }
  // Lambda hashes what it stored: a different hash means the bytes changed on the way.
  if (published.Content?.CodeSha256 !== layer.codeSha256) {
    throw new CliError(
      `${arn} was published, but Lambda reports CodeSha256 ${published.Content?.CodeSha256 ?? '(none)'} instead of ${layer.codeSha256}`,
      {
        code: 'E_PUBLISH_HASH_MISMATCH',
        hint: `delete it with aws lambda delete-layer-version --layer-name ${layerName} --version-number ${version} --region ${region}, then run ext publish --force`,
      },
    );
  }
  report('grant');
  const granted = await grantAll(context, version, arn);
  return { ...base, ...withS3, status: 'published', arn, version, grants: granted };
}

/**
 * The highest version number, read from every page: the API's MaxItems and
 * filters are not trusted to hand back the latest one first.
 */
async function latestVersion(context: TargetContext): Promise<{ version: number; arn: string } | undefined> {
  let latest: { version: number; arn: string } | undefined;
  let marker: string | undefined;
  const seenMarkers = new Set<string>();
  do {
    const page = await listPage(context, marker);
    for (const entry of page.LayerVersions ?? []) {
      if (entry.Version === undefined || entry.LayerVersionArn === undefined) continue;
      if (latest === undefined || entry.Version > latest.version)
        latest = { version: entry.Version, arn: entry.LayerVersionArn };
    }
    marker = page.NextMarker;
    // A marker seen before would loop forever.
    if (marker !== undefined && seenMarkers.has(marker)) break;
    if (marker !== undefined) seenMarkers.add(marker);
  } while (marker !== undefined);
  return latest;
}

async function listPage(context: TargetContext, marker: string | undefined) {
  const { lambda, lambdaSdk: sdk, layerName, region } = context;
  try {
    return await lambda.send(
      new sdk.ListLayerVersionsCommand({ LayerName: layerName, ...(marker === undefined ? {} : { Marker: marker }) }),
    );
  } catch (error) {
    // A layer that was never published has no versions.
    if (errorNameOf(error) === 'ResourceNotFoundException') return { LayerVersions: [], NextMarker: undefined };
    throw describeAwsError(error, 'lambda:ListLayerVersions', `arn:aws:lambda:${region}:<account>:layer:${layerName}`);
  }
}

/** Lambda reads the zip from a bucket in the layer's region; say so before uploading anything. */
function checkBucketRegion(context: TargetContext, bucket: string): Promise<void> {
  const key = `${context.region}\n${bucket}`;
  let check = context.checkedBuckets.get(key);
  if (check === undefined) {
    check = (async () => {
      const { s3, s3Sdk: sdk, region } = context;
      let bucketRegion: string | undefined;
      try {
        const answer = await s3!.send(new sdk!.HeadBucketCommand({ Bucket: bucket }));
        bucketRegion = answer.BucketRegion;
      } catch (error) {
        const name = errorNameOf(error);
        const headerRegion = (error as { $response?: { headers?: Record<string, string> } }).$response?.headers?.[
          'x-amz-bucket-region'
        ];
        if (name === 'NotFound' || name === 'NoSuchBucket') {
          throw new CliError(`--s3-bucket: bucket ${bucket} does not exist`, {
            code: 'E_PUBLISH_BUCKET_NOT_FOUND',
            hint: `create it in ${region} (aws s3 mb s3://${bucket} --region ${region}), or pass another --s3-bucket`,
          });
        }
        if (headerRegion === undefined || headerRegion === region) {
          throw describeAwsError(error, 's3:ListBucket', `arn:aws:s3:::${bucket}`);
        }
        bucketRegion = headerRegion;
      }
      if (bucketRegion !== undefined && bucketRegion !== region) {
        throw new CliError(
          `--s3-bucket: bucket ${bucket} is in ${bucketRegion}, but Lambda only reads layer zips from a bucket in the layer's region (${region})`,
          {
            code: 'E_PUBLISH_BUCKET_WRONG_REGION',
            hint: 'create a bucket per region and put {region} in --s3-bucket, e.g. --s3-bucket my-layers-{region}',
          },
        );
      }
    })();
    context.checkedBuckets.set(key, check);
  }
  return check;
}

async function uploadZip(context: TargetContext, bucket: string, key: string): Promise<void> {
  const { s3, s3Sdk: sdk, layer } = context;
  await callAws('s3:PutObject', `arn:aws:s3:::${bucket}/${key}`, () =>
    s3!.send(
      new sdk!.PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: layer.bytes,
        ContentType: 'application/zip',
        // S3 refuses the upload unless the bytes it received have this hash.
        ChecksumSHA256: layer.codeSha256,
      }),
    ),
  );
}

async function grantAll(context: TargetContext, version: number, arn: string): Promise<string[]> {
  const granted: string[] = [];
  for (const grant of context.grants) {
    await grantOne(context, grant, version, arn);
    granted.push(grant.statementId);
  }
  return granted;
}

/**
 * The statement id is derived from the grantee, so a re-run asks for the same
 * statement and Lambda answers 409: that is success once the policy shows the
 * statement grants what we asked.
 */
async function grantOne(context: TargetContext, grant: LayerGrant, version: number, arn: string): Promise<void> {
  const { lambda, lambdaSdk: sdk, layerName } = context;
  const resource = arn;
  try {
    await lambda.send(
      new sdk.AddLayerVersionPermissionCommand({
        LayerName: layerName,
        VersionNumber: version,
        StatementId: grant.statementId,
        Action: grantedAction,
        Principal: grant.principal,
        ...(grant.organizationId === undefined ? {} : { OrganizationId: grant.organizationId }),
      }),
    );
    return;
  } catch (error) {
    if (errorNameOf(error) !== 'ResourceConflictException')
      throw describeAwsError(error, 'lambda:AddLayerVersionPermission', resource);
  }
  let policy: string | undefined;
  try {
    policy = (await lambda.send(new sdk.GetLayerVersionPolicyCommand({ LayerName: layerName, VersionNumber: version })))
      .Policy;
  } catch (error) {
    throw describeAwsError(error, 'lambda:GetLayerVersionPolicy', resource);
  }
  const statement = statementsOf(policy).find((entry) => entry.Sid === grant.statementId);
  if (statement === undefined) {
    throw new CliError(
      `lambda:AddLayerVersionPermission on ${arn} answered that statement ${grant.statementId} exists, but the policy does not show it`,
      {
        code: 'E_AWS_UNEXPECTED_ANSWER',
        hint: 'another change to the layer may be in progress; run ext publish again',
      },
    );
  }
  if (!statementMatches(statement, grant)) {
    throw new CliError(
      `${arn} already has a statement ${grant.statementId} that grants something else (${JSON.stringify(statement.Principal)}${statement.Condition === undefined ? '' : `, ${JSON.stringify(statement.Condition)}`})`,
      {
        code: 'E_PUBLISH_PERMISSION_CONFLICT',
        hint: `remove it with aws lambda remove-layer-version-permission --layer-name ${layerName} --version-number ${version} --statement-id ${grant.statementId} --region ${context.region}, then run ext publish again`,
      },
    );
  }
}

interface PolicyStatement {
  Sid?: string;
  Principal?: unknown;
  Action?: unknown;
  Condition?: unknown;
}

function statementsOf(policy: string | undefined): PolicyStatement[] {
  if (policy === undefined) return [];
  try {
    const parsed = JSON.parse(policy) as { Statement?: PolicyStatement | PolicyStatement[] };
    const statements = parsed.Statement;
    return statements === undefined ? [] : Array.isArray(statements) ? statements : [statements];
  } catch {
    return [];
  }
}

/** Lambda writes an account as "123456789012", {"AWS": "123456789012"} or {"AWS": "arn:aws:iam::123456789012:root"}. */
function principalOf(principal: unknown): string | undefined {
  const value = typeof principal === 'object' && principal !== null ? (principal as { AWS?: unknown }).AWS : principal;
  if (typeof value !== 'string') return undefined;
  return /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(value)?.[1] ?? value;
}

function statementMatches(statement: PolicyStatement, grant: LayerGrant): boolean {
  if (principalOf(statement.Principal) !== grant.principal) return false;
  const organization = JSON.stringify(statement.Condition ?? {}).match(/"(o-[a-z0-9]+)"/)?.[1];
  return organization === grant.organizationId;
}

function statementIdOf(grant: LayerGrant): string {
  return grant.statementId;
}

const descriptionLimit = 256;

function descriptionFor(description: string | undefined, name: string, version: string): string {
  const text = description ?? name;
  return text.includes(version) ? text : `${text} ${version}`;
}

function checkTextOptions(options: PublishOptions): void {
  if (options.description !== undefined && options.description.length > descriptionLimit - 20) {
    throw usageError(
      'E_PUBLISH_METADATA_INVALID',
      `--description: ${options.description.length} characters is too long; Lambda keeps ${descriptionLimit}, and the extension's version is appended`,
      `pass at most ${descriptionLimit - 20} characters`,
    );
  }
  if (options.licenseInfo !== undefined && options.licenseInfo.length > 512) {
    throw usageError(
      'E_PUBLISH_METADATA_INVALID',
      `--license-info: ${options.licenseInfo.length} characters is too long; Lambda keeps 512`,
      'pass an SPDX identifier (e.g. MIT), a URL, or a short license text',
    );
  }
  const runtimes = options.compatibleRuntimes ?? [];
  if (runtimes.length > 15) {
    throw usageError(
      'E_PUBLISH_METADATA_INVALID',
      `--compatible-runtimes: ${runtimes.length} runtimes given; Lambda takes at most 15`,
      'list fewer runtimes, or none: an extension layer works with any runtime',
    );
  }
  const badRuntime = runtimes.find((runtime) => !/^[a-z][a-z0-9.]*$/.test(runtime));
  if (badRuntime !== undefined) {
    throw usageError(
      'E_PUBLISH_METADATA_INVALID',
      `--compatible-runtimes: "${badRuntime}" is not a Lambda runtime identifier`,
      'pass identifiers such as nodejs22.x,python3.13,provided.al2023',
    );
  }
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
    throw usageError(
      'E_USAGE_BAD_VALUE',
      `concurrency: ${options.concurrency} is not a positive whole number`,
      'pass 1 or more',
    );
  }
}

function mapOf(targets: PublishTarget[]): PublishedMap {
  const map = emptyMap();
  for (const target of targets) {
    const region = (map[target.region] ??= Object.create(null) as PublishedMap[string]);
    region[target.architecture] = {
      layerName: target.layerName,
      ...(target.arn === undefined ? {} : { arn: target.arn }),
      ...(target.version === undefined ? {} : { version: target.version }),
      codeSha256: target.codeSha256,
      bytes: target.bytes,
      status: target.status,
      ...(target.code === undefined ? {} : { code: target.code }),
      ...(target.error === undefined ? {} : { error: target.error }),
    };
  }
  return map;
}

/** Runs `work` with at most `limit` items in flight; results keep the input order. */
async function mapWithConcurrency<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * --compatible-runtimes wins; else a standalone layer's manifest list (the
 * Amazon Linux 2023 runtimes its node runs on); else none. Lambda takes 15 at most.
 */
export function compatibleRuntimesFor(
  given: readonly string[] | undefined,
  fromManifest: readonly string[] | undefined,
): { CompatibleRuntimes?: Runtime[] } {
  const chosen = given !== undefined && given.length > 0 ? given : fromManifest;
  if (chosen === undefined || chosen.length === 0) return {};
  return { CompatibleRuntimes: chosen.slice(0, 15) as Runtime[] };
}
