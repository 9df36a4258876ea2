import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { listFiles } from '../../src/core/fs-utils.js';
import { describeRun, repositoryRoot, runExt, temporaryDirectory } from '../helpers/run-cli.js';
import { buildZip } from '../helpers/zip-fixtures.js';

/*
 * The AWS SDK is thousands of modules: only `ext publish` may load it. The
 * bundle must reach it through dynamic imports alone, and a run of
 * `ext --help` must not have loaded any of it.
 */

const bundleDirectory = path.join(repositoryRoot, 'build', 'cli');

test('the bundled bins import the AWS SDK only dynamically, from the publish core alone', async () => {
  // Each bin's chunks sit in a folder of their own (build/cli/ext/, build/cli/create/).
  // index.mjs and index/ are the library API's bundle, not a bin's.
  const files = (await listFiles(bundleDirectory)).filter(
    (file) => file.endsWith('.mjs') && !/^index(\.mjs$|\/)/.test(file),
  );
  assert.ok(
    files.some((file) => file.startsWith('ext/')),
    files.join(' '),
  );
  const dynamic: string[] = [];
  for (const file of files) {
    const source = await readFile(path.join(bundleDirectory, file), 'utf8');
    assert.doesNotMatch(source, /(?:from\s*|import\s*)["']@aws-sdk\//, `${file} imports the AWS SDK statically`);
    assert.doesNotMatch(source, /require\(["']@aws-sdk\//, `${file} requires the AWS SDK`);
    if (/import\(["']@aws-sdk\/client-lambda["']\)/.test(source)) dynamic.push(file);
  }
  assert.equal(dynamic.length, 1, `one chunk loads the SDK: ${dynamic.join(', ')}`);
  assert.match(dynamic[0]!, /^ext\/publish-/);
  // And ext.mjs itself holds no trace of the SDK.
  assert.doesNotMatch(await readFile(path.join(bundleDirectory, 'ext.mjs'), 'utf8'), /aws-sdk/);
});

test('ext --help and ext publish --help load no AWS SDK module; a real publish run does', async () => {
  const directory = (await temporaryDirectory('publish-lazy-')).path;
  // The SDK is CommonJS: every module of it that Node loads shows in require.cache.
  const probe = path.join(directory, 'probe.cjs');
  await writeFile(
    probe,
    "process.on('exit', () => process.stderr.write(`aws-sdk modules loaded: ${Object.keys(require.cache).filter((file) => file.includes('@aws-sdk')).length}\\n`));\n",
  );
  const loaded = (stderr: string): number => Number(/aws-sdk modules loaded: (\d+)/.exec(stderr)?.[1] ?? 'NaN');
  const env = { NODE_OPTIONS: `--require ${probe}` };
  for (const args of [['--help'], ['publish', '--help'], ['pack', '--help']]) {
    const result = await runExt(args, { env });
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(loaded(result.stderr), 0, `ext ${args.join(' ')} loaded the SDK`);
  }
  // The control: with a packed project and no credentials, publish loads the SDK, then stops on them.
  const project = path.join(directory, 'project');
  // A real layer zip: publish runs ext inspect's checks on it before anything else.
  const zip = buildZip([
    { name: 'extensions/', mode: 0o40755 },
    { name: 'extensions/demo', data: '#!/bin/sh\nexec sleep 1\n', mode: 0o100755 },
  ]);
  await import('node:fs/promises').then(({ mkdir }) => mkdir(path.join(project, 'dist'), { recursive: true }));
  await writeFile(path.join(project, 'dist', 'demo-arm64.zip'), zip);
  const { createHash } = await import('node:crypto');
  const digest = createHash('sha256').update(zip).digest();
  await writeFile(
    path.join(project, 'dist', 'manifest.json'),
    JSON.stringify({
      name: 'demo',
      version: '1.0.0',
      timestamp: '1980-01-01T00:00:00.000Z',
      layers: [
        {
          architecture: 'arm64',
          zip: 'dist/demo-arm64.zip',
          sha256: digest.toString('hex'),
          codeSha256: digest.toString('base64'),
        },
      ],
    }),
  );
  const result = await runExt(['publish', '--cwd', project, '--region', 'us-east-1', '--dry-run'], {
    env: {
      ...env,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_CONFIG_FILE: path.join(directory, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(directory, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
      NODE_NO_WARNINGS: '1',
    },
  });
  assert.equal(result.code, 1, describeRun(result));
  assert.match(result.stderr, /^error\[E_AWS_CREDENTIALS\]: no usable AWS credentials: /m);
  assert.match(result.stderr, /^hint: sign in with aws sso login/m);
  assert.ok(loaded(result.stderr) > 0, describeRun(result));
});

test("the AWS SDK's Node-version warning is never printed, neither on an argument error nor once the SDK loads", async () => {
  const directory = (await temporaryDirectory('publish-warning-')).path;
  const project = path.join(directory, 'project');
  await import('node:fs/promises').then(({ mkdir }) => mkdir(path.join(project, 'dist'), { recursive: true }));
  const zip = buildZip([
    { name: 'extensions/', mode: 0o40755 },
    { name: 'extensions/demo', data: '#!/bin/sh\nexec sleep 1\n', mode: 0o100755 },
  ]);
  await writeFile(path.join(project, 'dist', 'demo-arm64.zip'), zip);
  const { createHash } = await import('node:crypto');
  const digest = createHash('sha256').update(zip).digest();
  const layer = { architecture: 'arm64', zip: 'dist/demo-arm64.zip', sha256: digest.toString('hex') };
  await writeFile(
    path.join(project, 'dist', 'manifest.json'),
    JSON.stringify({ name: 'demo', version: '1.0.0', timestamp: '1980-01-01T00:00:00.000Z', layers: [layer] }),
  );
  const env = {
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_REGION: undefined,
    AWS_CONFIG_FILE: path.join(directory, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(directory, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
    NODE_NO_WARNINGS: undefined,
    NODE_OPTIONS: undefined,
  };
  for (const args of [
    ['--region', 'not a region'],
    [], // no region configured: found with the SDK loaded
    ['--region', 'us-east-1', '--dry-run'], // stops on the missing credentials, SDK loaded
  ]) {
    const result = await runExt(['publish', '--cwd', project, ...args], { env });
    assert.notEqual(result.code, 0, describeRun(result));
    assert.doesNotMatch(result.stderr, /NodeVersionSupportWarning|Warning:/, describeRun(result));
    assert.equal(result.stderr.trim().split('\n').length, 2, `one error line and one hint: ${describeRun(result)}`);
  }
});
