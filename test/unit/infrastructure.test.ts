import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from '../../src/core/errors.js';
import { parseCiProvider, parseIacKind } from '../../src/core/infrastructure/choices.js';
import { cdkVersions, pinnedActions } from '../../src/core/infrastructure/pinned-actions.js';
import {
  deployCommandOf,
  infrastructureContext,
  sharedTemplateFiles,
  stackNameOf,
} from '../../src/core/infrastructure/templates.js';
import { projectPathOf } from '../../src/core/templates/index.js';

describe('infrastructure choices', () => {
  it('parses --ci and --iac case-insensitively and refuses anything else, naming the flag', () => {
    assert.equal(parseCiProvider('GitHub'), 'github');
    assert.equal(parseIacKind(' terraform '), 'terraform');
    assert.throws(
      () => parseCiProvider('gitlab'),
      (error: CliError) => {
        assert.equal(error.exitCode, 2);
        assert.equal(error.code, 'E_ADD_KIND_UNKNOWN');
        assert.ok(error.message.startsWith('--ci: '), 'names the flag');
        assert.match(error.hint ?? '', /--ci github or --ci none/);
        return true;
      },
    );
    assert.throws(
      () => parseIacKind('pulumi', '<kind>', ['sam', 'cdk', 'terraform']),
      (error: CliError) => {
        assert.equal(error.code, 'E_ADD_KIND_UNKNOWN');
        assert.ok(error.message.startsWith('<kind>: '), 'names the positional');
        assert.equal(error.hint, 'use one of: sam, cdk, terraform');
        return true;
      },
    );
    assert.throws(
      () => parseCiProvider('none', '<provider>', ['github']),
      (error: CliError) =>
        error.code === 'E_ADD_KIND_UNKNOWN' && error.message.startsWith('<provider>: ') && error.hint === 'use github',
    );
  });
});

describe('infrastructure templates', () => {
  it('stack names keep to letters, digits and hyphens, starting with a letter', () => {
    assert.equal(stackNameOf('my-ext'), 'my-ext-layer');
    assert.equal(stackNameOf('my_ext.v2'), 'my-ext-v2-layer');
    assert.equal(stackNameOf('1password'), 'password-layer');
    assert.equal(stackNameOf('9'), 'extension-layer');
    assert.match(stackNameOf('a..b__c'), /^[A-Za-z][A-Za-z0-9-]*$/);
  });

  it('gives one deploy command per kind, each packing first', () => {
    for (const kind of ['sam', 'cdk', 'terraform'] as const)
      assert.match(deployCommandOf(kind, 'x'), /^npm run pack && /);
    assert.equal(deployCommandOf('none', 'x'), '');
  });

  it('describes only the architectures asked for, in order', () => {
    const context = infrastructureContext({
      name: 'x',
      language: 'go',
      architectures: ['arm64'],
      ci: 'none',
      iac: 'sam',
    });
    assert.deepEqual(
      context.architectureDetails.map((detail) => [detail.name, detail.logicalId, detail.cdkConstant]),
      [['arm64', 'Arm64', 'ARM_64']],
    );
    assert.equal(context.hasIac, true);
    assert.equal(context.ciGithub, false);
  });

  it('pins every action to a 40-hex commit with a vX.Y.Z tag, and the CDK to exact versions', () => {
    for (const { sha, version } of Object.values(pinnedActions)) {
      assert.match(sha, /^[0-9a-f]{40}$/);
      assert.match(version, /^v\d+\.\d+\.\d+$/);
    }
    for (const version of Object.values(cdkVersions)) assert.match(version, /^\d+\.\d+\.\d+$/);
  });

  it('lists the files of the chosen CI and IaC only, and the CDK go.mod only for Go', async () => {
    const paths = async (language: 'go' | 'ts', ci: 'github' | 'none', iac: 'sam' | 'cdk' | 'terraform' | 'none') =>
      (await sharedTemplateFiles({ language, ci, iac })).map((file) => projectPathOf(file.relative)).sort();
    assert.deepEqual(await paths('go', 'none', 'none'), []);
    assert.deepEqual(await paths('ts', 'github', 'none'), [
      '.github/publish.json',
      '.github/workflows/release.yml',
      '.github/workflows/test.yml',
    ]);
    assert.deepEqual(await paths('go', 'none', 'sam'), ['infra/README.md', 'infra/template.yaml']);
    assert.ok((await paths('go', 'none', 'cdk')).includes('infra/go.mod'));
    assert.ok(!(await paths('ts', 'none', 'cdk')).includes('infra/go.mod'));
    assert.deepEqual(await paths('ts', 'none', 'terraform'), ['infra/.gitignore', 'infra/README.md', 'infra/main.tf']);
  });
});
