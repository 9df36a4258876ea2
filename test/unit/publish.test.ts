import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { beforeEach, describe, test } from 'node:test';
import {
  AddLayerVersionPermissionCommand,
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  LambdaClient,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  ResourceConflictException,
} from '@aws-sdk/client-lambda';
import { HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { CliError } from '../../src/core/errors.js';
import { withCode } from '../helpers/error-code.js';
import { publish, type PublishOptions } from '../../src/core/publish/index.js';
import { layerNamesFor, parseRegions } from '../../src/core/publish/names.js';
import { temporaryDirectory } from '../helpers/paths.js';
import { fakePackedProject, layerZip } from '../helpers/packed-project.js';
import { isolateAwsEnvironment } from '../helpers/aws-environment.js';

const lambda = mockClient(LambdaClient);
const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);
sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012' });

const codeSha256Of = (architecture: string, size: number): string =>
  createHash('sha256').update(layerZip(architecture, size)).digest('base64');

const sdkError = (name: string, message: string, status = 400): Error =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status, attempts: 1 } });

/** Lambda's answer to PublishLayerVersion, echoing the hash of what it was sent. */
/** A first publish as version 4, then AddLayerVersionPermission answering 409 while the policy holds `statements`. */
function conflictOnAddPermission(statements: Record<string, unknown>[]): void {
  lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
  lambda.on(PublishLayerVersionCommand).callsFake(publishedVersion('us-east-1', 4));
  lambda
    .on(AddLayerVersionPermissionCommand)
    .rejects(new ResourceConflictException({ message: 'The statement id (x) provided already exists', $metadata: {} }));
  lambda.on(GetLayerVersionPolicyCommand).resolves({ Policy: JSON.stringify({ Statement: statements }) });
}

function publishedVersion(region: string, version: number) {
  return (input: { LayerName: string; Content: { ZipFile?: Uint8Array } }) => ({
    LayerVersionArn: `arn:aws:lambda:${region}:123456789012:layer:${input.LayerName}:${version}`,
    Version: version,
    Content: {
      CodeSha256:
        input.Content.ZipFile === undefined
          ? codeSha256Of(input.LayerName.endsWith('arm64') ? 'arm64' : 'x86_64', 1000)
          : createHash('sha256').update(input.Content.ZipFile).digest('base64'),
    },
  });
}

isolateAwsEnvironment();

describe('publish (core, AWS SDK mocked)', () => {
  let project: string;
  beforeEach(async () => {
    lambda.reset();
    s3.reset();
    project = (await temporaryDirectory('publish-unit-')).path;
    await fakePackedProject(project, { x86_64: 1000, arm64: 1000 });
  });

  const run = (options: Partial<PublishOptions> = {}) =>
    publish({ projectDirectory: project, regions: ['us-east-1'], ...options });

  test('the latest version is found across pages, whatever order and page size the API uses', async () => {
    lambda.on(ListLayerVersionsCommand).callsFake((input: { Marker?: string }) =>
      input.Marker === undefined
        ? {
            LayerVersions: [3, 1].map((version) => ({ Version: version, LayerVersionArn: `arn:x:${version}` })),
            NextMarker: 'page-2',
          }
        : { LayerVersions: [7, 2].map((version) => ({ Version: version, LayerVersionArn: `arn:x:${version}` })) },
    );
    lambda.on(GetLayerVersionCommand).callsFake((input: { LayerName: string }) => ({
      Content: { CodeSha256: codeSha256Of(input.LayerName.endsWith('arm64') ? 'arm64' : 'x86_64', 1000) },
    }));
    const result = await run({ dryRun: true });
    assert.deepEqual(
      lambda.commandCalls(GetLayerVersionCommand).map((call) => call.args[0].input.VersionNumber),
      [7, 7],
    );
    assert.deepEqual(
      result.targets.map((target) => [target.status, target.version, target.arn]),
      [
        ['would-skip', 7, 'arn:x:7'],
        ['would-skip', 7, 'arn:x:7'],
      ],
    );
  });

  test('--dry-run calls only read APIs', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    const result = await run({ dryRun: true, audience: { kind: 'public' } });
    assert.equal(result.publishedFile, undefined);
    assert.equal(lambda.commandCalls(PublishLayerVersionCommand).length, 0);
    assert.equal(lambda.commandCalls(AddLayerVersionPermissionCommand).length, 0);
    assert.deepEqual(
      result.targets.map((target) => [target.status, target.grants]),
      [
        ['would-publish', ['create-lambda-extension-public']],
        ['would-publish', ['create-lambda-extension-public']],
      ],
    );
  });

  test('a zip over 50 MB without --s3-bucket is refused before any call, naming the flag', async () => {
    await fakePackedProject(project, { x86_64: 50 * 1024 * 1024 + 1 });
    await assert.rejects(run(), withCode('E_PUBLISH_BUCKET_REQUIRED', 2));
    assert.equal(lambda.calls().length, 0);
  });

  test('a zip of exactly 50 MB still goes inline', async () => {
    await fakePackedProject(project, { x86_64: 50 * 1024 * 1024 });
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    const result = await run({ dryRun: true });
    assert.equal(result.targets[0]?.upload, 'inline');
  });

  test('one bucket name for several regions is refused: the bucket must be in the layer region', async () => {
    await assert.rejects(
      run({ regions: ['us-east-1', 'eu-west-1'], s3Bucket: 'layers', inlineZipLimitBytes: 10 }),
      withCode('E_PUBLISH_BUCKET_INVALID', 2),
    );
  });

  test('a bucket in another region fails that target with the region named, before uploading', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    s3.on(HeadBucketCommand).resolves({ BucketRegion: 'eu-west-1' });
    const result = await run({ s3Bucket: 'layers', inlineZipLimitBytes: 10, architectures: ['arm64'] });
    assert.equal(result.failed, 1);
    assert.equal(result.targets[0]?.code, 'E_PUBLISH_BUCKET_WRONG_REGION', result.targets[0]?.error);
    assert.match(result.targets[0]?.error ?? '', /eu-west-1.*us-east-1/, 'both regions are named');
    assert.equal(s3.commandCalls(PutObjectCommand).length, 0);
    assert.equal(lambda.commandCalls(PublishLayerVersionCommand).length, 0);
  });

  test('a bucket in the right region gets the zip with its sha256, then Lambda reads it from there', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    lambda.on(PublishLayerVersionCommand).callsFake(publishedVersion('us-east-1', 1));
    s3.on(HeadBucketCommand).resolves({ BucketRegion: 'us-east-1' });
    s3.on(PutObjectCommand).resolves({});
    const result = await run({ s3Bucket: 'layers-{region}', inlineZipLimitBytes: 10, architectures: ['arm64'] });
    assert.equal(result.failed, 0, result.targets[0]?.error);
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    assert.equal(put.Bucket, 'layers-us-east-1');
    assert.equal(put.ChecksumSHA256, codeSha256Of('arm64', 1000));
    const published = lambda.commandCalls(PublishLayerVersionCommand)[0]!.args[0].input;
    assert.deepEqual(published.Content, { S3Bucket: 'layers-us-east-1', S3Key: put.Key });
    assert.deepEqual(published.CompatibleArchitectures, ['arm64']);
    assert.equal(published.Description, 'demo 1.2.3');
  });

  test('a 409 for a statement already there with the same grant is success', async () => {
    conflictOnAddPermission([
      {
        Sid: 'create-lambda-extension-account-111122223333',
        Principal: { AWS: 'arn:aws:iam::111122223333:root' },
        Action: 'lambda:GetLayerVersion',
      },
    ]);
    const result = await run({ audience: { kind: 'accounts', accounts: ['111122223333'] } });
    assert.equal(result.failed, 0, result.targets[0]?.error);
    assert.deepEqual(result.targets[0]?.grants, ['create-lambda-extension-account-111122223333']);
  });

  test('a 409 for a statement id that grants something else fails, with the command that removes it', async () => {
    conflictOnAddPermission([
      { Sid: 'create-lambda-extension-public', Principal: '999988887777', Action: 'lambda:GetLayerVersion' },
    ]);
    const result = await run({ audience: { kind: 'public' }, architectures: ['x86_64'] });
    assert.equal(result.failed, 1);
    assert.equal(result.targets[0]?.code, 'E_PUBLISH_PERMISSION_CONFLICT', result.targets[0]?.error);
    assert.match(result.targets[0]?.hint ?? '', /remove-layer-version-permission .*--version-number 4/);
  });

  test('AccessDenied names the IAM action that is missing', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    lambda
      .on(PublishLayerVersionCommand)
      .rejects(
        sdkError(
          'AccessDeniedException',
          'User: arn:aws:iam::1:user/ci is not authorized to perform: lambda:PublishLayerVersion on resource: arn:aws:lambda:us-east-1:1:layer:demo-x86_64',
          403,
        ),
      );
    const result = await run({ architectures: ['x86_64'] });
    assert.equal(result.failed, 1);
    assert.equal(result.targets[0]?.code, 'E_AWS_ACCESS_DENIED', result.targets[0]?.error);
    assert.match(result.targets[0]?.error ?? '', /lambda:PublishLayerVersion/);
    assert.match(result.targets[0]?.hint ?? '', /allow lambda:PublishLayerVersion/);
  });

  test('AccessDenied without the action in the message names the action of the call', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    lambda.on(PublishLayerVersionCommand).callsFake(publishedVersion('us-east-1', 1));
    lambda.on(AddLayerVersionPermissionCommand).rejects(sdkError('AccessDeniedException', 'Access denied', 403));
    const result = await run({ architectures: ['arm64'], audience: { kind: 'public' } });
    assert.match(
      result.targets[0]?.error ?? '',
      /may not call lambda:AddLayerVersionPermission on arn:aws:lambda:us-east-1:123456789012:layer:demo-arm64:1/,
    );
  });

  test('throttling that outlasts the retries fails only its target, and says so', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    lambda
      .on(PublishLayerVersionCommand)
      .callsFake(async (input: { LayerName: string; Content: { ZipFile?: Uint8Array } }) => {
        if (input.LayerName.endsWith('arm64')) {
          throw Object.assign(sdkError('TooManyRequestsException', 'Rate exceeded', 429), {
            $metadata: { httpStatusCode: 429, attempts: 6 },
          });
        }
        return publishedVersion('us-east-1', 1)(input);
      });
    const result = await run();
    assert.deepEqual(
      result.targets.map((target) => target.status),
      ['published', 'failed'],
    );
    assert.equal(result.targets[1]?.code, 'E_AWS_THROTTLED', result.targets[1]?.error);
    assert.equal(result.targets[0]?.code, undefined, 'a published target has no code');
    assert.equal(result.map['us-east-1']?.arm64?.status, 'failed');
    assert.equal(result.map['us-east-1']?.arm64?.code, 'E_AWS_THROTTLED', '--json and published.json carry it too');
    assert.equal(result.map['us-east-1']?.x86_64?.status, 'published');
  });

  test('a failure in one region does not hide the others', async () => {
    lambda.on(ListLayerVersionsCommand).callsFake(async (_input: unknown, getClient: () => LambdaClient) => {
      if ((await getClient().config.region()) === 'eu-west-1')
        throw sdkError('ServiceException', 'Lambda is down', 500);
      return { LayerVersions: [] };
    });
    lambda.on(PublishLayerVersionCommand).callsFake(publishedVersion('us-east-1', 1));
    const result = await run({ regions: ['us-east-1', 'eu-west-1'] });
    assert.equal(result.failed, 2);
    assert.deepEqual(
      result.targets.map((target) => `${target.region} ${target.architecture} ${target.status}`),
      ['us-east-1 x86_64 published', 'us-east-1 arm64 published', 'eu-west-1 x86_64 failed', 'eu-west-1 arm64 failed'],
    );
    assert.equal(result.targets[2]?.code, 'E_AWS_CALL_FAILED', result.targets[2]?.error);
    assert.match(result.targets[2]?.error ?? '', /lambda:ListLayerVersions .*Lambda is down/);
  });

  test('expired credentials are one error, not one per target', async () => {
    lambda
      .on(ListLayerVersionsCommand)
      .rejects(sdkError('ExpiredTokenException', 'The security token included in the request is expired', 403));
    await assert.rejects(run({ regions: ['us-east-1', 'eu-west-1'] }), (error: CliError) => {
      withCode('E_AWS_CREDENTIALS')(error);
      assert.match(error.hint ?? '', /aws sso login/);
      return true;
    });
  });

  test('a version whose stored hash is not ours is reported, not trusted', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    lambda.on(PublishLayerVersionCommand).resolves({
      LayerVersionArn: 'arn:aws:lambda:us-east-1:1:layer:demo-x86_64:1',
      Version: 1,
      Content: { CodeSha256: 'AAAA' },
    });
    const result = await run({ architectures: ['x86_64'] });
    assert.equal(result.targets[0]?.code, 'E_PUBLISH_HASH_MISMATCH', result.targets[0]?.error);
  });
});

describe('publish: names', () => {
  test('layer names default to <name>-<arch> and are checked against Lambda rules', () => {
    assert.deepEqual(
      [...layerNamesFor('{name}-{arch}', 'demo', ['x86_64', 'arm64'])],
      [
        ['x86_64', 'demo-x86_64'],
        ['arm64', 'demo-arm64'],
      ],
    );
    assert.throws(
      () => layerNamesFor('{name}-{arch}', 'my.ext', ['arm64']),
      (error: CliError) => {
        withCode('E_PUBLISH_LAYER_NAME_INVALID', 2)(error);
        assert.match(error.hint ?? '', /--layer-name my-ext-\{arch\}/);
        return true;
      },
    );
    assert.throws(() => layerNamesFor('x'.repeat(141), 'demo', ['arm64']), withCode('E_PUBLISH_LAYER_NAME_INVALID'));
    assert.throws(() => layerNamesFor('shared', 'demo', ['x86_64', 'arm64']), withCode('E_PUBLISH_LAYER_NAME_INVALID'));
  });

  test('regions are checked and deduplicated', () => {
    assert.deepEqual(parseRegions(['us-east-1,eu-west-1', 'us-east-1']), ['us-east-1', 'eu-west-1']);
    assert.deepEqual(parseRegions(['us-gov-west-1']), ['us-gov-west-1']);
    assert.throws(() => parseRegions(['US_EAST']), withCode('E_PUBLISH_REGION_INVALID', 2));
  });
});
