import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  LambdaClient,
  ListLayerVersionsCommand,
} from '@aws-sdk/client-lambda';
import { CreateBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { PackManifest } from '../../src/core/pack/index.js';
import type { PublishedMap } from '../../src/core/publish/index.js';
import { runExt, temporaryDirectory, writeGoLayer, writeProject } from '../helpers/layer-fixtures.js';
import { buildZip } from '../helpers/zip-fixtures.js';
import { installMoto, motoEnvironment, startMoto, type MotoServer } from '../helpers/moto-server.js';

const regions = ['us-east-1', 'eu-west-1'];

const moto = await installMoto();
if ('skip' in moto) process.stdout.write(`# skipping the ext publish tests against moto: ${moto.skip}\n`);

describe('ext publish against moto', { skip: 'skip' in moto ? moto.skip : false }, () => {
  let server: MotoServer;
  /** A packed project, and the same project packed with other entry dates: same files, other bytes. */
  let packed: string;
  let repacked: string;
  let project: string;

  const publishArgs = (...args: string[]): string[] => [
    'publish',
    '--cwd',
    project,
    '--endpoint-url',
    server.endpoint,
    ...args,
  ];
  const ext = (args: string[]) => runExt(args, { env: motoEnvironment, timeoutMs: 120_000 });
  const lambda = (region: string) =>
    new LambdaClient({
      region,
      endpoint: server.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
  const readMap = async (): Promise<PublishedMap> =>
    JSON.parse(await readFile(path.join(project, 'dist', 'published.json'), 'utf8')) as PublishedMap;
  const manifest = async (directory = project): Promise<PackManifest> =>
    JSON.parse(await readFile(path.join(directory, 'dist', 'manifest.json'), 'utf8')) as PackManifest;

  before(async () => {
    if ('skip' in moto) return;
    const fixtures = await temporaryDirectory('publish-fixtures-');
    packed = path.join(fixtures, 'packed');
    await writeProject(packed, { name: 'demo', language: 'go' });
    await Promise.all([
      writeGoLayer(path.join(packed, 'dist', 'x86_64'), 'x86_64'),
      writeGoLayer(path.join(packed, 'dist', 'arm64'), 'arm64'),
    ]);
    repacked = path.join(fixtures, 'repacked');
    await cp(packed, repacked, { recursive: true });
    const [first, second] = await Promise.all([
      runExt(['pack', '--no-build', '--cwd', packed]),
      runExt(['pack', '--no-build', '--cwd', repacked], { env: { SOURCE_DATE_EPOCH: '1700000000' } }),
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    server = await startMoto(moto.python);
  });

  after(async () => {
    await server?.stop();
  });

  beforeEach(async () => {
    if ('skip' in moto) return;
    await server.reset();
    project = path.join(await temporaryDirectory('publish-'), 'project');
    await cp(packed, project, { recursive: true });
  });

  test('two regions × two architectures: four version-1 layers, their ARNs in dist/published.json and --json', async () => {
    const result = await ext(publishArgs('--region', regions.join(','), '--json'));
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as PublishedMap;
    assert.deepEqual(printed, await readMap());
    const { layers } = await manifest();
    assert.deepEqual(Object.keys(printed).sort(), [...regions].sort());
    for (const region of regions) {
      for (const layer of layers) {
        const entry = printed[region]?.[layer.architecture];
        assert.ok(entry !== undefined, `${region} ${layer.architecture} is in the map`);
        assert.equal(entry.status, 'published');
        assert.equal(entry.version, 1);
        assert.equal(entry.codeSha256, layer.codeSha256);
        assert.equal(entry.bytes, layer.zippedBytes);
        assert.match(entry.arn!, new RegExp(`^arn:aws:lambda:${region}:\\d{12}:layer:demo-${layer.architecture}:1$`));
        // What moto stored is what we hashed, with the architecture and the version in the description.
        const stored = await lambda(region).send(
          new GetLayerVersionCommand({ LayerName: `demo-${layer.architecture}`, VersionNumber: 1 }),
        );
        assert.equal(stored.Content?.CodeSha256, layer.codeSha256);
        assert.deepEqual(stored.CompatibleArchitectures, [layer.architecture]);
        assert.match(stored.Description ?? '', /1\.2\.3/);
      }
    }
  });

  test("a standalone manifest's compatibleRuntimes reach PublishLayerVersion; --compatible-runtimes overrides them", async () => {
    const manifestPath = path.join(project, 'dist', 'manifest.json');
    const written = await manifest();
    const al2023 = ['provided.al2023', 'python3.12', 'java21', 'nodejs22.x'];
    // What ext pack writes for a standalone layer; the zips' hashes do not cover the manifest.
    await writeFile(
      manifestPath,
      JSON.stringify({
        ...written,
        standalone: true,
        nodeVersion: '24.22.3',
        layers: written.layers.map((layer) => ({ ...layer, compatibleRuntimes: al2023 })),
      }),
    );
    const result = await ext(publishArgs('--region', 'us-east-1', '--arch', 'x86_64'));
    assert.equal(result.code, 0, result.stderr);
    const stored = await lambda('us-east-1').send(
      new GetLayerVersionCommand({ LayerName: 'demo-x86_64', VersionNumber: 1 }),
    );
    assert.deepEqual(stored.CompatibleRuntimes, al2023);
    const overridden = await ext(
      publishArgs('--region', 'us-east-1', '--arch', 'x86_64', '--force', '--compatible-runtimes', 'python3.13'),
    );
    assert.equal(overridden.code, 0, overridden.stderr);
    const second = await lambda('us-east-1').send(
      new GetLayerVersionCommand({ LayerName: 'demo-x86_64', VersionNumber: 2 }),
    );
    assert.deepEqual(second.CompatibleRuntimes, ['python3.13']);
  });

  test('a re-run publishes nothing: every target is skipped, with the same ARNs, in a table', async () => {
    const first = await ext(publishArgs('--region', regions.join(',')));
    assert.equal(first.code, 0, first.stderr);
    const firstMap = await readMap();
    const second = await ext(publishArgs('--region', regions.join(',')));
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^region\s+arch\s+status\s+version\s+size\s+layer version ARN$/m);
    for (const region of regions) {
      for (const architecture of ['x86_64', 'arm64'] as const) {
        assert.match(
          second.stdout,
          new RegExp(
            `^${region}\\s+${architecture}\\s+skipped\\s+1\\s+[\\d.]+ [KM]B\\s+arn:aws:lambda:${region}:\\d+:layer:demo-${architecture}:1$`,
            'm',
          ),
        );
        assert.equal((await readMap())[region]?.[architecture]?.status, 'skipped');
        assert.equal((await readMap())[region]?.[architecture]?.arn, firstMap[region]?.[architecture]?.arn);
      }
      const versions = await lambda(region).send(new ListLayerVersionsCommand({ LayerName: 'demo-arm64' }));
      assert.equal(versions.LayerVersions?.length, 1);
    }
  });

  test("a committed published.json with another account's ARN for these bytes is not carried over", async () => {
    const { layers } = await manifest();
    const foreign = Object.fromEntries(
      layers.map((layer) => [
        layer.architecture,
        {
          layerName: `demo-${layer.architecture}`,
          arn: `arn:aws:lambda:eu-west-1:999988887777:layer:demo-${layer.architecture}:7`,
          version: 7,
          codeSha256: layer.codeSha256,
          bytes: layer.zippedBytes,
          status: 'published',
        },
      ]),
    );
    // As if replayed from a repository that committed dist/: eu-west-1 is not published in this run.
    await writeFile(
      path.join(project, 'dist', 'published.json'),
      JSON.stringify({ 'eu-west-1': foreign, __proto__: foreign }),
    );
    const result = await ext(publishArgs('--region', 'us-east-1'));
    assert.equal(result.code, 0, result.stderr);
    const map = await readMap();
    assert.deepEqual(Object.keys(map), ['us-east-1']);
    assert.doesNotMatch(JSON.stringify(map), /999988887777/);
    // Our own earlier entries (moto's account, from sts:GetCallerIdentity) are kept on a later run elsewhere.
    const ownFirst = await ext(publishArgs('--region', 'eu-west-1'));
    assert.equal(ownFirst.code, 0, ownFirst.stderr);
    assert.deepEqual(Object.keys(await readMap()).sort(), ['eu-west-1', 'us-east-1']);
  });

  test('a source edited after ext pack: exit 1 naming ext pack; --allow-stale publishes', async () => {
    await writeFile(path.join(project, 'main.go'), 'package main\n\nfunc main() {}\n');
    const stale = await ext(publishArgs('--region', 'us-east-1'));
    assert.equal(stale.code, 1, stale.stderr);
    assert.match(
      stale.stderr,
      /^error\[E_PUBLISH_STALE\]: dist\/manifest\.json: the sources changed after ext pack .*run ext pack/m,
    );
    assert.equal(stale.stderr.trim().split('\n').length, 2, stale.stderr);
    const allowed = await ext(publishArgs('--region', 'us-east-1', '--allow-stale'));
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal((await readMap())['us-east-1']?.x86_64?.status, 'published');
  });

  test('a changed zip (repacked with other dates) is published as version 2', async () => {
    assert.equal((await ext(publishArgs('--region', 'us-east-1'))).code, 0);
    await cp(path.join(repacked, 'dist'), path.join(project, 'dist'), { recursive: true });
    const result = await ext(publishArgs('--region', 'us-east-1', '--json'));
    assert.equal(result.code, 0, result.stderr);
    const map = JSON.parse(result.stdout) as PublishedMap;
    const { layers } = await manifest(repacked);
    for (const layer of layers) {
      const entry = map['us-east-1']?.[layer.architecture];
      assert.equal(entry?.status, 'published');
      assert.equal(entry?.version, 2);
      assert.equal(entry?.codeSha256, layer.codeSha256);
      assert.match(entry?.arn ?? '', new RegExp(`:layer:demo-${layer.architecture}:2$`));
    }
  });

  test('--force publishes unchanged bytes as a new version', async () => {
    assert.equal((await ext(publishArgs('--region', 'us-east-1', '--arch', 'arm64'))).code, 0);
    const result = await ext(publishArgs('--region', 'us-east-1', '--arch', 'arm64', '--force', '--json'));
    assert.equal(result.code, 0, result.stderr);
    const entry = (JSON.parse(result.stdout) as PublishedMap)['us-east-1']?.arm64;
    assert.equal(entry?.status, 'published');
    assert.equal(entry?.version, 2);
  });

  test('--dry-run calls only read APIs: nothing is published, and no map is written', async () => {
    const result = await ext(publishArgs('--region', 'us-east-1', '--public', '--dry-run', '--json'));
    assert.equal(result.code, 0, result.stderr);
    const map = JSON.parse(result.stdout) as PublishedMap;
    assert.equal(map['us-east-1']?.x86_64?.status, 'would-publish');
    const versions = await lambda('us-east-1').send(new ListLayerVersionsCommand({ LayerName: 'demo-x86_64' }));
    assert.equal(versions.LayerVersions?.length ?? 0, 0);
    await assert.rejects(readFile(path.join(project, 'dist', 'published.json')), { code: 'ENOENT' });
  });

  test('--public, then --principal: both statements read back with GetLayerVersionPolicy', async () => {
    assert.equal((await ext(publishArgs('--region', 'eu-west-1', '--arch', 'x86_64', '--public'))).code, 0);
    const granted = await ext(publishArgs('--region', 'eu-west-1', '--arch', 'x86_64', '--principal', '111122223333'));
    assert.equal(granted.code, 0, granted.stderr);
    assert.match(granted.stdout, /granted create-lambda-extension-account-111122223333/);
    const { Policy } = await lambda('eu-west-1').send(
      new GetLayerVersionPolicyCommand({ LayerName: 'demo-x86_64', VersionNumber: 1 }),
    );
    const statements = (
      JSON.parse(Policy ?? '{}') as { Statement: { Sid: string; Principal: unknown; Action: unknown }[] }
    ).Statement;
    const publicStatement = statements.find((statement) => statement.Sid === 'create-lambda-extension-public');
    const accountStatement = statements.find(
      (statement) => statement.Sid === 'create-lambda-extension-account-111122223333',
    );
    assert.ok(publicStatement !== undefined, Policy);
    assert.ok(accountStatement !== undefined, Policy);
    assert.match(JSON.stringify(publicStatement.Principal), /\*/);
    assert.match(JSON.stringify(accountStatement.Principal), /111122223333/);
    assert.match(JSON.stringify(accountStatement.Action), /lambda:GetLayerVersion/);
  });

  test('a zip that changed after ext pack is refused, and nothing is published', async () => {
    const zip = path.join(project, 'dist', 'demo-arm64.zip');
    const bytes = await readFile(zip);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(zip, bytes);
    const result = await ext(publishArgs('--region', 'us-east-1'));
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^error\[E_PUBLISH_ZIP_CHANGED\]: dist\/demo-arm64\.zip: its sha256 is not the one in dist\/manifest\.json/m,
    );
    assert.match(result.stderr, /^hint: run ext pack/m);
    const versions = await lambda('us-east-1').send(new ListLayerVersionsCommand({ LayerName: 'demo-x86_64' }));
    assert.equal(versions.LayerVersions?.length ?? 0, 0);
  });

  test('zips over the inline limit go through a bucket per region ({region}); a missing bucket fails only its region', async () => {
    // The 50 MB limit is lowered through the core's test-only option; the CLI has no flag for it.
    const { publish } = await import('../../src/core/publish/index.js');
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'layers-us-east-1' }));
    const saved = { ...process.env };
    Object.assign(process.env, motoEnvironment);
    delete process.env['AWS_PROFILE'];
    try {
      const result = await publish({
        projectDirectory: project,
        regions,
        s3Bucket: 'layers-{region}',
        endpointUrl: server.endpoint,
        inlineZipLimitBytes: 1024,
      });
      const { layers } = await manifest();
      assert.equal(result.failed, 2);
      for (const layer of layers) {
        const published = result.map['us-east-1']?.[layer.architecture];
        assert.equal(published?.status, 'published');
        const target = result.targets.find(
          (entry) => entry.region === 'us-east-1' && entry.architecture === layer.architecture,
        );
        assert.equal(target?.upload, 's3');
        const key = `create-lambda-extension/demo-${layer.architecture}/${layer.sha256}.zip`;
        assert.equal(target?.s3Uri, `s3://layers-us-east-1/${key}`);
        const object = await s3.send(new HeadObjectCommand({ Bucket: 'layers-us-east-1', Key: key }));
        assert.equal(object.ContentLength, layer.zippedBytes);
        const stored = await lambda('us-east-1').send(
          new GetLayerVersionCommand({ LayerName: `demo-${layer.architecture}`, VersionNumber: 1 }),
        );
        assert.equal(stored.Content?.CodeSha256, layer.codeSha256);
        const failed = result.map['eu-west-1']?.[layer.architecture];
        assert.equal(failed?.status, 'failed');
        assert.equal(failed?.code, 'E_PUBLISH_BUCKET_NOT_FOUND', failed?.error);
        assert.match(failed?.error ?? '', /^--s3-bucket: .*layers-eu-west-1/);
      }
      const written = await readMap();
      assert.equal(written['eu-west-1']?.arm64?.status, 'failed');
      assert.equal(written['us-east-1']?.arm64?.status, 'published');
    } finally {
      for (const key of Object.keys(motoEnvironment)) delete process.env[key];
      Object.assign(process.env, saved);
      s3.destroy();
    }
  });
});

/** A project whose dist/ has two tiny layer zips and their manifest: enough for everything before the upload. */
async function fakePackedProject(): Promise<string> {
  const project = path.join(await temporaryDirectory('publish-fake-'), 'project');
  await writeProject(project);
  await mkdir(path.join(project, 'dist'), { recursive: true });
  const zip = (architecture: string) =>
    buildZip([
      { name: 'extensions/', mode: 0o40755 },
      { name: 'extensions/demo', data: `#!/bin/sh\n# ${architecture}\nexec sleep 1\n`, mode: 0o100755 },
    ]);
  const zips = { x86_64: zip('x86_64'), arm64: zip('arm64') };
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  await writeFile(
    path.join(project, 'dist', 'manifest.json'),
    JSON.stringify({
      name: 'demo',
      version: '1.2.3',
      timestamp: '1980-01-01T00:00:00.000Z',
      layers: Object.entries(zips).map(([architecture, bytes]) => ({
        architecture,
        zip: `dist/demo-${architecture}.zip`,
        sha256: sha256(bytes),
      })),
    }),
  );
  for (const [architecture, bytes] of Object.entries(zips))
    await writeFile(path.join(project, 'dist', `demo-${architecture}.zip`), bytes);
  return project;
}

describe('ext publish: refusals before any AWS call', () => {
  test('no project: exit 1, naming lambda-extension.json and --cwd, not ext pack', async () => {
    const empty = await temporaryDirectory('publish-empty-');
    const result = await runExt(['publish', '--cwd', empty, '--region', 'us-east-1'], { env: motoEnvironment });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^error\[E_PUBLISH_NOT_A_PROJECT\]: .*: no lambda-extension\.json here, so this is not an extension project$/m,
    );
    assert.match(result.stderr, /^hint: .*--cwd/m);
  });

  test('no manifest: exit 1, naming the file and ext pack', async () => {
    const project = await temporaryDirectory('publish-empty-');
    await writeProject(project);
    const result = await runExt(['publish', '--cwd', project, '--region', 'us-east-1'], { env: motoEnvironment });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^error\[E_PUBLISH_MANIFEST_MISSING\]: dist\/manifest\.json: not found, so there is nothing verified to publish$/m,
    );
    assert.match(result.stderr, /^hint: run ext pack/m);
  });

  test('--public with --principal, a bad account id, a bad region, one layer name for two architectures: exit 2', async () => {
    const project = await fakePackedProject();
    const cases: [string[], RegExp][] = [
      [
        ['--public', '--principal', '111122223333'],
        /^error\[E_USAGE_CONFLICTING_FLAGS\]: --public and --principal cannot be used together/m,
      ],
      [
        ['--principal', 'arn:aws:iam::111122223333:root'],
        /^error\[E_PUBLISH_PRINCIPAL_INVALID\]: --principal: "arn:aws:iam::111122223333:root" is not an AWS account id$/m,
      ],
      [
        ['--region', 'Virginia'],
        /^error\[E_PUBLISH_REGION_INVALID\]: --region: "Virginia" is not an AWS region name$/m,
      ],
      [
        ['--layer-name', 'shared'],
        /^error\[E_PUBLISH_LAYER_NAME_INVALID\]: --layer-name: "shared" would put x86_64 and arm64 into one layer/m,
      ],
      [
        ['--organization', 'acme'],
        /^error\[E_PUBLISH_PRINCIPAL_INVALID\]: --organization: "acme" is not an AWS Organizations id$/m,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runExt(['publish', '--cwd', project, '--region', 'us-east-1', ...args], {
        env: motoEnvironment,
      });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  test('an unreachable endpoint: exit 1, and the JSON map says which targets failed', async () => {
    const project = await fakePackedProject();
    const result = await runExt(
      ['publish', '--cwd', project, '--region', 'us-east-1', '--endpoint-url', 'http://127.0.0.1:9', '--json'],
      { env: motoEnvironment, timeoutMs: 60_000 },
    );
    assert.equal(result.code, 1, result.stderr);
    const map = JSON.parse(result.stdout) as PublishedMap;
    for (const architecture of ['x86_64', 'arm64'] as const) {
      assert.equal(map['us-east-1']?.[architecture]?.status, 'failed');
      assert.equal(
        map['us-east-1']?.[architecture]?.code,
        'E_AWS_UNREACHABLE',
        map['us-east-1']?.[architecture]?.error,
      );
    }
    assert.deepEqual(JSON.parse(await readFile(path.join(project, 'dist', 'published.json'), 'utf8')), map);
    assert.match(result.stderr, /^error\[E_PUBLISH_TARGETS_FAILED\]: .*: us-east-1 x86_64, us-east-1 arm64$/m);
  });

  test('ext --help lists publish', async () => {
    const result = await runExt(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^ {2}ext publish +Publish the packed zips as Lambda layer versions/m);
  });
});
