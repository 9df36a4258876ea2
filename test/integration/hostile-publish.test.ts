import assert from 'node:assert/strict';
import { scaled } from '../helpers/time-scale.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, test } from 'node:test';
import { LambdaClient, ListLayerVersionsCommand, PublishLayerVersionCommand } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { printPublishResult } from '../../src/cli/publish-report.js';
import type { ErrorCode } from '../../src/core/error-codes.js';
import { CliError } from '../../src/core/errors.js';
import { withCode } from '../helpers/error-code.js';
import { publish, type PublishOptions, type PublishResult } from '../../src/core/publish/index.js';
import { sourcesDigest } from '../../src/core/source-digest.js';
import { temporaryDirectory } from '../helpers/run-cli.js';
import { buildZip, type RawZipEntry } from '../helpers/zip-fixtures.js';
import { isolateAwsEnvironment } from '../helpers/aws-environment.js';

/*
 * ext publish reads a manifest, zips and an earlier published.json that
 * anyone with write access to the repository (or a committed dist/) chose.
 */

const lambda = mockClient(LambdaClient);
const sts = mockClient(STSClient);
const account = '123456789012';

const goodEntries: RawZipEntry[] = [
  { name: 'extensions/', mode: 0o40755 },
  { name: 'extensions/demo', data: '#!/bin/sh\nexec sleep 1\n', mode: 0o100755 },
];

interface ManifestLayer {
  architecture: string;
  zip: string;
  sha256: string;
}

async function writeManifest(project: string, layers: ManifestLayer[], extra: Record<string, unknown> = {}) {
  await mkdir(path.join(project, 'dist'), { recursive: true });
  await writeFile(
    path.join(project, 'dist', 'manifest.json'),
    JSON.stringify({ name: 'demo', version: '1.2.3', timestamp: '1980-01-01T00:00:00.000Z', ...extra, layers }),
  );
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** dist/demo-x86_64.zip holding `entries`, listed in the manifest with its true hash. */
async function packedZip(project: string, entries = goodEntries, extra: Record<string, unknown> = {}) {
  const bytes = buildZip(entries);
  await mkdir(path.join(project, 'dist'), { recursive: true });
  await writeFile(path.join(project, 'dist', 'demo-x86_64.zip'), bytes);
  await writeManifest(project, [{ architecture: 'x86_64', zip: 'dist/demo-x86_64.zip', sha256: sha256(bytes) }], extra);
  return bytes;
}

isolateAwsEnvironment();

let project: string;
beforeEach(async () => {
  lambda.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: account });
  lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
  lambda.on(PublishLayerVersionCommand).callsFake((input: { LayerName: string; Content: { ZipFile: Uint8Array } }) => ({
    LayerVersionArn: `arn:aws:lambda:us-east-1:${account}:layer:${input.LayerName}:1`,
    Version: 1,
    Content: { CodeSha256: createHash('sha256').update(input.Content.ZipFile).digest('base64') },
  }));
  project = (await temporaryDirectory('publish-hostile-')).path;
  await writeFile(path.join(project, 'lambda-extension.json'), '{"name":"demo","language":"go"}');
});

const run = (options: Partial<PublishOptions> = {}) =>
  publish({ projectDirectory: project, regions: ['us-east-1'], ...options });

/** Refused with a CliError with one of `codes`, before any AWS call. */
async function refusedBeforeAws(options: Partial<PublishOptions>, ...codes: ErrorCode[]): Promise<void> {
  await assert.rejects(run(options), (error: unknown) => {
    assert.ok(error instanceof CliError, String(error));
    assert.ok(codes.includes(error.code), `${error.code} is not one of ${codes.join(', ')}: ${error.message}`);
    return true;
  });
  assert.equal(lambda.calls().length, 0, 'no Lambda call was made');
}

describe('ext publish: manifest paths', () => {
  test('a zip outside dist/ is refused, though its sha256 matches', async () => {
    const bytes = buildZip(goodEntries);
    await writeFile(path.join(project, 'outside.zip'), bytes);
    await writeManifest(project, [{ architecture: 'x86_64', zip: 'outside.zip', sha256: sha256(bytes) }]);
    await refusedBeforeAws({}, 'E_PUBLISH_ZIP_OUTSIDE_OUT');
  });

  test('a symbolic link in dist/ to a file elsewhere is refused', async () => {
    const bytes = buildZip(goodEntries);
    await writeFile(path.join(project, 'elsewhere.zip'), bytes);
    await mkdir(path.join(project, 'dist'));
    await symlink(path.join(project, 'elsewhere.zip'), path.join(project, 'dist', 'demo-x86_64.zip'));
    await writeManifest(project, [{ architecture: 'x86_64', zip: 'dist/demo-x86_64.zip', sha256: sha256(bytes) }]);
    await refusedBeforeAws({}, 'E_PUBLISH_ZIP_OUTSIDE_OUT');
  });

  test('/dev/zero linked from dist/ is refused without reading it', async () => {
    await mkdir(path.join(project, 'dist'));
    await symlink('/dev/zero', path.join(project, 'dist', 'demo-x86_64.zip'));
    await writeManifest(project, [{ architecture: 'x86_64', zip: 'dist/demo-x86_64.zip', sha256: '0'.repeat(64) }]);
    await refusedBeforeAws({}, 'E_PUBLISH_ZIP_OUTSIDE_OUT', 'E_PUBLISH_ZIP_UNREADABLE');
  });

  test('a FIFO in dist/ is refused, not waited on', { timeout: scaled(60_000) }, async () => {
    await mkdir(path.join(project, 'dist'));
    execFileSync('mkfifo', [path.join(project, 'dist', 'demo-x86_64.zip')]);
    await writeManifest(project, [{ architecture: 'x86_64', zip: 'dist/demo-x86_64.zip', sha256: '0'.repeat(64) }]);
    await refusedBeforeAws({}, 'E_PUBLISH_ZIP_UNREADABLE');
  });

  test('a FIFO as dist/manifest.json is refused, not waited on', { timeout: scaled(60_000) }, async () => {
    await mkdir(path.join(project, 'dist'));
    execFileSync('mkfifo', [path.join(project, 'dist', 'manifest.json')]);
    await refusedBeforeAws({}, 'E_PUBLISH_MANIFEST_INVALID');
  });

  test('a zip that ext inspect finds errors in is refused before upload, though its sha256 matches', async () => {
    // No extensions/ folder: Lambda would start nothing from this layer.
    await packedZip(project, [{ name: 'bin/demo', data: '#!/bin/sh\n', mode: 0o100755 }]);
    await refusedBeforeAws({}, 'E_PUBLISH_ZIP_INVALID');
  });

  test('a zip that climbs out of /opt is refused before upload', async () => {
    await packedZip(project, [...goodEntries, { name: '../../etc/evil', data: 'x' }]);
    await refusedBeforeAws({}, 'E_PUBLISH_ZIP_INVALID');
  });
});

describe('ext publish: an earlier published.json', () => {
  test("another account's ARN for the same bytes is not carried into the new map", async () => {
    const bytes = await packedZip(project);
    const codeSha256 = createHash('sha256').update(bytes).digest('base64');
    const foreign = {
      layerName: 'demo-x86_64',
      arn: 'arn:aws:lambda:eu-west-1:999988887777:layer:demo-x86_64:9',
      version: 9,
      codeSha256,
      bytes: bytes.length,
      status: 'published',
    };
    await writeFile(
      path.join(project, 'dist', 'published.json'),
      `{"eu-west-1": {"x86_64": ${JSON.stringify(foreign)}}, "__proto__": {"x86_64": ${JSON.stringify(foreign)}}}`,
    );
    const result = await run();
    assert.equal(result.failed, 0, result.targets[0]?.error);
    const written = JSON.parse(await readFile(path.join(project, 'dist', 'published.json'), 'utf8')) as unknown;
    assert.deepEqual(Object.keys(written as object), ['us-east-1']);
    assert.doesNotMatch(JSON.stringify(written), /999988887777/);
    assert.equal(({} as Record<string, unknown>)['x86_64'], undefined);
  });
});

describe('ext publish: regions from the environment', () => {
  test('AWS_REGION=constructor is refused like --region, naming AWS_REGION', async () => {
    await packedZip(project);
    process.env['AWS_REGION'] = 'constructor';
    try {
      await assert.rejects(run({ regions: [] }), (error: CliError) => {
        withCode('E_PUBLISH_REGION_INVALID', 2)(error);
        assert.match(error.message, /^AWS_REGION: /, 'names where the region came from');
        return true;
      });
    } finally {
      delete process.env['AWS_REGION'];
    }
    assert.equal(lambda.calls().length, 0);
  });

  test("a profile's invalid region is named as such, not reported as no region", async () => {
    await packedZip(project);
    const config = path.join(project, 'aws-config');
    await writeFile(config, '[profile hostile]\nregion = evil!region\n');
    Object.assign(process.env, { AWS_CONFIG_FILE: config, AWS_PROFILE: 'hostile' });
    try {
      await assert.rejects(run({ regions: [] }), (error: CliError) => {
        withCode('E_PUBLISH_REGION_INVALID', 2)(error);
        assert.match(error.message, /^the region of AWS profile "hostile": /, 'names where the region came from');
        return true;
      });
      // Another file: the SDK caches what it read.
      const second = path.join(project, 'aws-config-2');
      await writeFile(second, '[profile other]\nregion = constructor\n');
      Object.assign(process.env, { AWS_CONFIG_FILE: second, AWS_PROFILE: 'other' });
      await assert.rejects(run({ regions: [] }), (error: CliError) => {
        withCode('E_PUBLISH_REGION_INVALID', 2)(error);
        assert.match(error.message, /profile "other"/);
        return true;
      });
    } finally {
      process.env['AWS_CONFIG_FILE'] = '/nonexistent';
      delete process.env['AWS_PROFILE'];
    }
    assert.equal(lambda.calls().length, 0);
  });
});

describe('ext publish: stale zips', () => {
  test('sources edited after ext pack are refused, naming ext pack; allowStale publishes anyway', async () => {
    await writeFile(path.join(project, 'main.go'), 'package main\n');
    await packedZip(project, goodEntries, { sourcesSha256: await sourcesDigest(project, path.join(project, 'dist')) });
    // Unchanged sources: published.
    assert.equal((await run({ dryRun: true })).failed, 0);
    await writeFile(path.join(project, 'main.go'), 'package main\n\nfunc init() {}\n');
    lambda.resetHistory();
    await refusedBeforeAws({ dryRun: true }, 'E_PUBLISH_STALE');
    const result = await run({ dryRun: true, allowStale: true });
    assert.equal(result.targets[0]?.status, 'would-publish');
  });

  test('editing a test file does not make the zips stale', async () => {
    await writeFile(path.join(project, 'main.go'), 'package main\n');
    await writeFile(path.join(project, 'main_test.go'), 'package main\n');
    await packedZip(project, goodEntries, { sourcesSha256: await sourcesDigest(project, path.join(project, 'dist')) });
    await writeFile(path.join(project, 'main_test.go'), 'package main\n\n// more tests\n');
    assert.equal((await run({ dryRun: true })).failed, 0);
  });
});

describe('ext publish: outside a project', () => {
  test('a folder with no lambda-extension.json says so, not "run ext pack"', async () => {
    const empty = (await temporaryDirectory('publish-empty-')).path;
    await assert.rejects(publish({ projectDirectory: empty, regions: ['us-east-1'] }), (error: CliError) => {
      withCode('E_PUBLISH_NOT_A_PROJECT')(error);
      assert.match(error.hint ?? '', /--cwd/);
      assert.doesNotMatch(error.hint ?? '', /ext pack/);
      return true;
    });
  });
});

describe('ext publish: terminal output', () => {
  test("the manifest's name and version are printed escaped", () => {
    const result: PublishResult = {
      name: 'demo\x1b]0;pwned\x07',
      version: '1.2.3\x1b[2J\r\u202e',
      dryRun: true,
      targets: [],
      map: {},
      failed: 0,
    };
    let printed = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string) => {
      printed += chunk;
      return true;
    };
    try {
      printPublishResult(result, false);
    } finally {
      process.stdout.write = write;
    }
    assert.match(printed, /demo\\x1b\]0;pwned\\x07 1\.2\.3\\x1b\[2J\\x0d\\u202e/);
    for (const raw of ['\x1b]', '\x07', '\x1b[2J', '\r', '\u202e'])
      assert.ok(!printed.includes(raw), JSON.stringify(raw));
  });
});
