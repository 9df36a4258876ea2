import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  actionlint,
  cdkNodeModules,
  cfnLint,
  iacPython,
  parseTerraform,
  terraformBlocks,
} from '../helpers/infrastructure-tools.js';
import { buildZip } from '../helpers/zip-fixtures.js';
import { describeRun, run, runCreate, runExt, temporaryDirectory } from '../helpers/run-cli.js';
import { scaled } from '../helpers/time-scale.js';

/**
 * The IaC and CI the cache template gets: a policy for the function's role
 * that grants exactly ssm:GetParameter, secretsmanager:GetSecretValue and
 * kms:Decrypt on the ARNs the user lists, never a wildcard (SAM with
 * cfn-lint, Terraform parsed by python-hcl2, the CDK app compiled and run),
 * and a test workflow that starts moto for the project's own tests. Other
 * templates get none of it.
 */

const python = await iacPython();
const cdk = await cdkNodeModules();
const linter = await actionlint();

let workspace: { path: string; cleanup: () => Promise<void> };
before(async () => {
  workspace = await temporaryDirectory('cle-cache-iac-');
});
after(async () => workspace?.cleanup());

const cacheActions = ['ssm:GetParameter', 'secretsmanager:GetSecretValue', 'kms:Decrypt'];
const parameterArn = 'arn:aws:ssm:us-east-1:111122223333:parameter/app/db-url';
const secretArn = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf';
const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

async function create(name: string, args: string[]): Promise<string> {
  const directory = path.join(workspace.path, name);
  const created = await runCreate([directory, ...args, '--yes']);
  assert.equal(created.code, 0, describeRun(created));
  return directory;
}

describe('cache template: SAM', () => {
  it('a managed policy with exactly the three actions on the listed ARNs, a rule against *, and cfn-lint passes', async (t) => {
    const cache = await create('sam-cache', ['--lang', 'ts', '--template', 'cache', '--ci', 'none', '--iac', 'sam']);
    const basic = await create('sam-basic', ['--lang', 'ts', '--ci', 'none', '--iac', 'sam']);
    const text = await readFile(path.join(cache, 'infra', 'template.yaml'), 'utf8');
    const policy = text.slice(text.indexOf('  CacheReadPolicy:'), text.indexOf('\nOutputs:'));
    const actions = [...policy.matchAll(/^\s+Action: (\S+)$/gm)].map((match) => match[1]);
    assert.deepEqual(actions, cacheActions, 'the policy statements, and no other action');
    const resources = [...policy.matchAll(/^\s+Resource: (.+)$/gm)].map((match) => match[1]);
    assert.deepEqual(resources, ['!Ref CachedParameterArns', '!Ref CachedSecretArns', '!Ref CachedKeyArns']);
    assert.match(text, /Type: AWS::IAM::ManagedPolicy\n\s+Condition: ReadsAnything/);
    assert.match(text, /!Not \[!Contains \[!Ref CachedSecretArns, "\*"\]\]/, 'a rule refuses a wildcard');
    assert.match(text, /CacheReadPolicyArn:/);
    const plain = await readFile(path.join(basic, 'infra', 'template.yaml'), 'utf8');
    assert.doesNotMatch(plain, /Cached|CacheReadPolicy|ssm:|secretsmanager:|kms:/, 'other templates get none of it');
    assert.match(
      await readFile(path.join(cache, 'infra', 'README.md'), 'utf8'),
      /CachedSecretArns=arn:aws:secretsmanager/,
    );
    if ('skip' in python) return t.skip(python.skip);
    const linted = await cfnLint(
      python.python,
      path.join(cache, 'infra', 'template.yaml'),
      path.join(basic, 'infra', 'template.yaml'),
    );
    assert.equal(linted.code, 0, describeRun(linted));
  });
});

describe('cache template: ext add iac later', () => {
  it('reads "template" from lambda-extension.json and adds the same policy as create --iac', async () => {
    const cache = await create('added-cache', ['--lang', 'go', '--template', 'cache', '--ci', 'none', '--iac', 'none']);
    const config = JSON.parse(await readFile(path.join(cache, 'lambda-extension.json'), 'utf8')) as {
      template?: string;
    };
    assert.equal(config.template, 'cache', 'create records the template where ext add reads it');
    const added = await runExt(['add', 'iac', 'sam'], { cwd: cache });
    assert.equal(added.code, 0, describeRun(added));
    const text = await readFile(path.join(cache, 'infra', 'template.yaml'), 'utf8');
    const policy = text.slice(text.indexOf('  CacheReadPolicy:'), text.indexOf('\nOutputs:'));
    assert.deepEqual(
      [...policy.matchAll(/^\s+Action: (\S+)$/gm)].map((match) => match[1]),
      cacheActions,
    );
  });
});

describe('cache template: Terraform', () => {
  it('an aws_iam_policy of the three actions on the listed ARNs, variables that refuse wildcards', async (t) => {
    const cache = await create('tf-cache', [
      '--lang',
      'go',
      '--template',
      'cache',
      '--ci',
      'none',
      '--iac',
      'terraform',
    ]);
    const text = await readFile(path.join(cache, 'infra', 'main.tf'), 'utf8');
    const actions = [...text.matchAll(/Action = "([^"]+)"/g)].map((match) => match[1]);
    assert.deepEqual(actions, cacheActions);
    assert.deepEqual(
      [...text.matchAll(/Resource = (\S+) \}/g)].map((match) => match[1]),
      ['var.cached_parameter_arns', 'var.cached_secret_arns', 'var.cached_key_arns'],
    );
    assert.equal(
      [...text.matchAll(/can\(regex\("\^arn:\[\^\*\?\]\+\$", arn\)\)/g)].length,
      3,
      'each list refuses a wildcard',
    );
    if ('skip' in python) return t.skip(python.skip);
    const document = await parseTerraform(python.python, path.join(cache, 'infra', 'main.tf'));
    assert.ok(terraformBlocks(document.resource).has('aws_iam_policy.cache_read'));
    const variables = (document.variable ?? []).flatMap((block) => Object.keys(block));
    for (const variable of ['cached_parameter_arns', 'cached_secret_arns', 'cached_key_arns'])
      assert.ok(variables.includes(variable), variable);
    const outputs = (document.output ?? []).flatMap((block) => Object.keys(block));
    assert.ok(outputs.includes('cache_read_policy_arn'));
  });
});

describe('cache template: CDK', { skip: 'skip' in cdk ? cdk.skip : false }, () => {
  it(
    'compiles, and synthesizes a policy of exactly the listed ARNs; a wildcard stops it',
    { timeout: scaled(600_000) },
    async () => {
      if ('skip' in cdk) return;
      const cache = await create('cdk-cache', ['--lang', 'ts', '--template', 'cache', '--ci', 'none', '--iac', 'cdk']);
      const infra = path.join(cache, 'infra');
      await symlink(cdk.nodeModules, path.join(infra, 'node_modules'));
      const compiled = await run(path.join(cdk.nodeModules, '.bin', 'tsc'), ['-p', infra], { timeoutMs: 300_000 });
      assert.equal(compiled.code, 0, describeRun(compiled));
      // The app's assets: the zips npm run pack would write.
      await mkdir(path.join(cache, 'dist'), { recursive: true });
      for (const architecture of ['x86_64', 'arm64']) {
        await writeFile(
          path.join(cache, 'dist', `cdk-cache-${architecture}.zip`),
          buildZip([{ name: 'extensions/cdk-cache', data: 'x', mode: 0o100755 }]),
        );
      }
      // The compiled app synthesizes on its own when CDK_OUTDIR is set, as the cdk CLI runs it (without the CLI's minutes).
      const synth = async (context: Record<string, string>, outdir: string) =>
        run(process.execPath, [path.join(infra, 'build', 'app.js')], {
          cwd: infra,
          env: { CDK_OUTDIR: path.join(workspace.path, outdir), CDK_CONTEXT_JSON: JSON.stringify(context) },
          timeoutMs: 300_000,
        });
      const synthesized = await synth(
        { cachedParameterArns: parameterArn, cachedSecretArns: secretArn, cachedKeyArns: keyArn },
        'cdk-out',
      );
      assert.equal(synthesized.code, 0, describeRun(synthesized));
      const template = JSON.parse(
        await readFile(path.join(workspace.path, 'cdk-out', 'cdk-cache-layer.template.json'), 'utf8'),
      ) as {
        Resources: Record<
          string,
          { Type: string; Properties: { PolicyDocument?: { Statement: { Action: string; Resource: string }[] } } }
        >;
      };
      const policies = Object.values(template.Resources).filter(
        (resource) => resource.Type === 'AWS::IAM::ManagedPolicy',
      );
      assert.equal(policies.length, 1);
      assert.deepEqual(
        policies[0]!.Properties.PolicyDocument!.Statement.map((statement) => [statement.Action, statement.Resource]),
        [
          ['ssm:GetParameter', parameterArn],
          ['secretsmanager:GetSecretValue', secretArn],
          ['kms:Decrypt', keyArn],
        ],
      );
      const refused = await synth(
        { cachedSecretArns: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:*' },
        'cdk-out-wildcard',
      );
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /is not a full ARN/);
    },
  );
});

describe('cache template: CI', () => {
  it('the test workflow starts moto for the project’s own tests; actionlint passes', async (t) => {
    for (const language of ['go', 'ts'] as const) {
      const cache = await create(`ci-cache-${language}`, ['--lang', language, '--template', 'cache', '--ci', 'github']);
      const workflow = await readFile(path.join(cache, '.github', 'workflows', 'test.yml'), 'utf8');
      assert.match(workflow, /pipx install 'moto\[server\]==\d+\.\d+\.\d+'/);
      assert.match(workflow, /- run: npm test\n\s+env:\n\s+MOTO_ENDPOINT_URL: http:\/\/127\.0\.0\.1:5000/);
      if ('skip' in linter) {
        t.diagnostic(linter.skip);
        continue;
      }
      const linted = await run(linter.binary, ['.github/workflows/test.yml', '.github/workflows/release.yml'], {
        cwd: cache,
      });
      assert.equal(linted.code, 0, describeRun(linted));
    }
  });
});
